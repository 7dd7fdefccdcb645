/**
 * `GET <prefix>/usage`: the calling customer's own history (see docs/usage-api.md). CORS is open
 * to the configured dashboard origins only.
 */
import { Hono } from 'hono';
import { policyFor } from '../http/caller-policy';
import { dashboardCors } from '../http/cors';
import { docsUrlOf, type EdgeEnv } from '../http/edge-env';
import { usageQuery } from '../http/request-schemas';
import { requireCustomer } from '../http/require-caller';
import { limitReserved } from '../http/side-limit';
import { failUsageSource, iso } from '../http/span-query';
import type { Usage } from '../http/usage-api';
import { queryOf } from '../http/validate';
import { spanOf } from '../telemetry/usage-source';

/** Builds the usage route (mounted at `<prefix>/usage`). */
export function usageRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.use('/', dashboardCors());

  app.get('/', async (c) => {
    const { services } = c.var;
    const caller = await requireCustomer(c);
    await limitReserved(services, caller, docsUrlOf(c));
    const { range, resolution } = queryOf(c, usageQuery);
    const span = spanOf(range, resolution, services.clock.now());
    const path = new URL(c.req.url).pathname;
    const policy = await policyFor(services, caller, 'GET', path);
    const usage = await services.usage
      .customerUsage(caller.customerId, span)
      .catch((error: unknown) => failUsageSource(services.usage.name, error));
    return c.json({
      customerId: caller.customerId,
      tier: policy.tier,
      range: { from: iso(span.from), to: iso(span.to) },
      resolution,
      series: usage.series.map((p) => ({ t: iso(p.t), allowed: p.allowed, rejected: p.rejected })),
      byRule: [...usage.byRule],
      totals: usage.totals,
      recentRejections: usage.recentRejections.slice(0, 20).map((r) => ({
        time: iso(r.time),
        method: r.method,
        path: r.path,
        window: r.window,
      })),
      rejectionGroups: usage.rejectionGroups.map((g) => ({
        ...g,
        first: iso(g.first),
        last: iso(g.last),
      })),
      source: services.usage.name,
    } satisfies Usage);
  });

  return app;
}
