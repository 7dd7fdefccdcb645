/** Worker entry: the fetch and scheduled handlers and the Durable Object classes. */
import { createApp } from './app';
import type { Bindings } from './env';
import { runScheduledChecks } from './telemetry/scheduled-checks';

export { LimiterObject } from './objects/limiter-object';
export { UsageObject } from './objects/usage-object';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  async scheduled(controller, env) {
    await runScheduledChecks(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<Bindings>;
