/** Worker entry: the fetch and scheduled handlers, the Durable Object classes and the RPC entrypoint. */
import { createApp } from './app';
import type { Bindings } from './env';
import { runScheduledChecks } from './telemetry/scheduled-checks';

export { LimiterObject } from './objects/limiter-object';
export { UsageObject } from './objects/usage-object';
export { RateLimiter } from './rpc/rate-limiter';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  async scheduled(controller, env) {
    await runScheduledChecks(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<Bindings>;
