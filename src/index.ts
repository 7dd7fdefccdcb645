/** Worker entry: the fetch and scheduled handlers and the Durable Object classes. */
import { createApp } from './app';
import type { Bindings } from './env';

export { LimiterObject } from './store/limiter-object';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  async scheduled() {},
} satisfies ExportedHandler<Bindings>;
