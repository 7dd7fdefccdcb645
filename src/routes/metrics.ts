/** `GET <prefix>/admin/metrics`: fleet health for operators (admin token), see docs/usage-api.md. */
import { Hono } from 'hono';
import { requireAdmin } from '../http/admin-auth';
import { dashboardCors } from '../http/cors';
import type { EdgeEnv } from '../http/edge-env';
import { metricsQuery } from '../http/request-schemas';
import { failUsageSource, iso } from '../http/span-query';
import type { Metrics } from '../http/usage-api';
import { queryOf } from '../http/validate';
import { usageStub } from '../telemetry/embedded-usage';
import { spanOf } from '../telemetry/usage-source';

/** Builds the metrics route (mounted at `<prefix>/admin/metrics`, ahead of the admin API). */
export function metricsRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  // CORS first: a preflight is answered before any token is asked for.
  app.use('/', dashboardCors());
  app.use('/', requireAdmin());

  app.get('/', async (c) => {
    const { services } = c.var;
    const { range, resolution } = queryOf(c, metricsQuery);
    const now = services.clock.now();
    const span = spanOf(range, resolution, now);
    const stub = usageStub(c.env.USAGE);
    const [fleet, alerts, recorded, writeBehind] = await Promise.all([
      services.usage.fleetMetrics(span),
      stub.recentAlerts(50),
      stub.breaker(now),
      stub.writeBehindFailures(span.from, span.to),
    ]).catch((error: unknown) => failUsageSource(services.usage.name, error));
    // This isolate's own breaker is the freshest view; the recorded one covers the fleet.
    const local = services.storeHealth.breaker();
    const breaker = local.state !== 'closed' ? local : recorded;
    return c.json({
      range,
      resolution,
      from: iso(span.from),
      to: iso(span.to),
      series: fleet.series.map((p) => ({ ...p, t: iso(p.t) })),
      totals: fleet.totals,
      topLimited: [...fleet.topLimited],
      breaker: {
        state: breaker.state,
        since: breaker.since === null ? null : iso(breaker.since),
      },
      writeBehind: {
        failures: writeBehind.failures,
        lastAt: writeBehind.lastAt === null ? null : iso(writeBehind.lastAt),
        lastError: writeBehind.lastError,
      },
      recentAlerts: alerts.map((a) => ({
        time: iso(a.time),
        kind: a.kind,
        ...(a.customerId ? { customerId: a.customerId } : {}),
        message: a.message,
        severity: a.severity,
      })),
      source: services.usage.name,
    } satisfies Metrics);
  });

  return app;
}
