/** Worker entry: the fetch and scheduled handlers, the Durable Object classes and the RPC entrypoint. */
import { createApp } from './app';
import type { Bindings } from './env';
import { runScheduledChecks } from './telemetry/scheduled-checks';

export { RateLimiter } from './rpc/rate-limiter';
export { LimiterObject } from './store/limiter-object';
export { UsageObject } from './telemetry/usage-object';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  async scheduled(controller, env) {
    await runScheduledChecks(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<Bindings>;
