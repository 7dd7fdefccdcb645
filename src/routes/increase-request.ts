/** `POST <prefix>/usage/increase-request`: a customer asks operators for a temporary increase. */
import { Hono } from 'hono';
import { dashboardCors } from '../http/cors';
import { docsUrlOf, type EdgeContext, type EdgeEnv } from '../http/edge-env';
import { INCREASE_REQUEST_MAX_BODY_BYTES, jsonBodyLimit } from '../http/json-body-limit';
import { fail, problems } from '../http/problem';
import { rateLimitHeaders } from '../http/rate-limit-headers';
import { increaseRequestSchema } from '../http/request-schemas';
import { requireCaller } from '../http/require-caller';
import { jsonBody } from '../http/validate';
import { decide } from '../limiter/decide';
import { customerIdentity } from '../limiter/keys';
import { limitsOf } from '../policy/limits-of';
import { log } from '../telemetry/log';

/** Longest increase a customer can ask for; operators can still grant anything. */
const MAX_REQUEST_AHEAD_MS = 90 * 86_400_000;

/** The body schema at `now`: `until` must be in the future and at most 90 days ahead. */
function increaseRequestAt(now: number) {
  return increaseRequestSchema.superRefine(({ until }, ctx) => {
    if (until === undefined) return;
    const at = Date.parse(until);
    const message =
      at <= now
        ? 'must be in the future'
        : at > now + MAX_REQUEST_AHEAD_MS
          ? 'must be at most 90 days ahead'
          : undefined;
    if (message) ctx.addIssue({ code: 'custom', path: ['until'], message });
  });
}

/**
 * A few requests per customer per hour: enough to ask and correct, too few to flood the alert
 * channel operators read.
 */
const REQUESTS_PER_HOUR = 5;

/**
 * Builds the route (mounted at `<prefix>/usage/increase-request`): CORS for the dashboard, the
 * POST handler, and 405 for every other method.
 */
export function increaseRequestRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.use('*', dashboardCors());
  app.use('*', jsonBodyLimit(INCREASE_REQUEST_MAX_BODY_BYTES));
  app.post('/', increaseRequest);
  app.all('*', () =>
    fail(problems.methodNotAllowed('Send POST with a JSON body { reason, limits?, until? }.'), {
      Allow: 'POST',
    }),
  );
  return app;
}

/**
 * Handles an increase request: authenticates the API key, validates the body, and reports it to
 * operators (a log line and an `increase-request` alert). Answers 202, since a person decides.
 */
async function increaseRequest(c: EdgeContext): Promise<Response> {
  const { services } = c.var;
  const { clock } = services;
  const caller = await requireCaller(c);
  if (caller.kind !== 'customer') {
    fail(problems.increaseNeedsKey(docsUrlOf(c)), { 'WWW-Authenticate': 'Bearer realm="api"' });
  }
  const { customerId } = caller;
  const body = await jsonBody(c, increaseRequestAt(clock.now()));

  const guard = await decide({
    store: services.counters,
    identity: customerIdentity(customerId),
    policy: {
      failMode: 'open',
      windows: limitsOf([{ limit: REQUESTS_PER_HOUR, window: '1h' }], 'increase-requests'),
    },
    clock,
  });
  if (guard.outcome === 'rejected') {
    fail(
      problems.quotaExceeded(guard, docsUrlOf(c), `increase requests of customer ${customerId}`),
      rateLimitHeaders(guard),
    );
  }

  const { reason, limits, until } = body;
  const wanted = limits?.map((l) => `${l.limit}/${l.window}`) ?? [];
  log('increase-request', { customerId, reason, limits: wanted, until: until ?? null }, 'warn');
  const message =
    `Customer ${customerId} asks for a limit increase` +
    (wanted.length ? ` to ${wanted.join(', ')}` : '') +
    (until ? ` until ${until}` : '') +
    `: ${reason}`;
  c.executionCtx.waitUntil(
    services.alert({ kind: 'increase-request', customerId, message }).catch((error: unknown) => {
      log('alert-delivery-failed', { kind: 'increase-request', message: String(error) }, 'error');
    }),
  );
  return c.json({ received: true }, 202);
}
