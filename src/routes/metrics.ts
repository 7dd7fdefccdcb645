/** `GET <prefix>/admin/metrics`: fleet health for operators (admin token), per the usage API contract. */
import { Hono } from 'hono';
import type { Bindings } from '../env';
import { getServices } from '../services';
import { usageStub } from '../telemetry/embedded-usage';
import { spanOf } from '../telemetry/usage-source';
import { refuseNonAdmin } from './admin-auth';
import { dashboardCors, iso, parseQuery, sourceFailed, spanQuerySchema } from './usage';

type Env = { Bindings: Bindings };

/** Query of `GET /admin/metrics`. */
export const metricsQuery = spanQuerySchema(['1h', '24h', '7d', '30d'], '1h');

/** Builds the metrics route (mounted at `<prefix>/admin/metrics`). */
export function metricsRoutes(): Hono<Env> {
  const app = new Hono<Env>();
  app.use('*', dashboardCors());

  app.get('/admin/metrics', async (c) => {
    const refused = await refuseNonAdmin(c.env, c.req.raw.headers);
    if (refused) return refused;
    const services = getServices(c.env);
    const query = parseQuery(c, metricsQuery);
    if (!query.ok) return query.response;
    const { range, resolution } = query.value;
    const now = services.clock.now();
    const span = spanOf(range, resolution, now);
    const stub = usageStub(c.env.USAGE);
    try {
      const [fleet, alerts, recorded, writeBehind] = await Promise.all([
        services.usage.fleetMetrics(span),
        stub.recentAlerts(50),
        stub.breaker(now),
        stub.writeBehindFailures(span.from, span.to),
      ]);
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
        topLimited: fleet.topLimited,
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
      });
    } catch (error) {
      return sourceFailed(services.usage.name, error);
    }
  });

  return app;
}
