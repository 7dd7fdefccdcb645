/** `POST <prefix>/usage/increase-request`: a customer asks operators for a temporary increase. */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { Bindings } from '../env';
import { docsUrlFor } from '../http/docs-page';
import { INCREASE_REQUEST_MAX_BODY_BYTES, jsonBodyLimit } from '../http/json-body-limit';
import { problemResponse, quotaExceeded } from '../http/problem';
import { rateLimitHeaders } from '../http/rate-limit-headers';
import { identify } from '../identity/identify';
import { decide } from '../limiter/decide';
import { customerIdentity } from '../limiter/keys';
import { limitListSchema } from '../policy/limit-spec';
import { limitsOf } from '../policy/limits-of';
import { describeIssues } from '../policy/records';
import { getServices } from '../services';
import { log } from '../telemetry/log';
import { refuseUnidentified } from './refuse-unidentified';
import { dashboardCors } from './usage';

type Env = { Bindings: Bindings };
type Ctx = Context<Env>;

/** Longest increase a customer can ask for; operators can still grant anything. */
const MAX_REQUEST_AHEAD_MS = 90 * 86_400_000;

/** Body of an increase request (the usage API contract). */
export const increaseRequestSchema = z.strictObject({
  reason: z.string().trim().min(1, 'must say why').max(1000),
  limits: limitListSchema.optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});
export type IncreaseRequest = z.infer<typeof increaseRequestSchema>;

/**
 * A few requests per customer per hour: enough to ask and correct, too few to flood the alert
 * channel operators read.
 */
const REQUESTS_PER_HOUR = 5;

/**
 * Builds the route (mounted at `<prefix>/usage/increase-request`): CORS for the dashboard, the
 * POST handler, and 405 for every other method.
 */
export function increaseRequestRoutes(): Hono<Env> {
  const app = new Hono<Env>();
  app.use('*', dashboardCors());
  app.use('*', jsonBodyLimit(INCREASE_REQUEST_MAX_BODY_BYTES));
  app.post('*', increaseRequest);
  app.all('*', () =>
    problemResponse(
      {
        type: 'about:blank',
        title: 'Method not allowed',
        status: 405,
        detail: 'Send POST with a JSON body { reason, limits?, until? }.',
      },
      { Allow: 'POST' },
    ),
  );
  return app;
}

/**
 * Handles an increase request: authenticates the API key, validates the body, and reports it to
 * operators (a log line and an `increase-request` alert). Answers 202, since a person decides.
 */
async function increaseRequest(c: Ctx): Promise<Response> {
  const services = getServices(c.env);
  const { settings, clock } = services;
  const identity = await identify(c.req.raw.headers, services);
  if (!identity.ok) {
    return (await refuseUnidentified(services, identity.failure, c.req.url)).response;
  }
  if (identity.caller.kind !== 'customer') {
    return problemResponse(
      {
        type: `${docsUrlFor(settings, c.req.url)}#increase-requests`,
        title: 'API key required',
        status: 401,
        detail:
          'Send the API key of the customer asking: Authorization: Bearer <key> or X-API-Key.',
      },
      { 'WWW-Authenticate': 'Bearer realm="api"' },
    );
  }
  const { customerId } = identity.caller;

  const body = await readBody(c.req.raw, clock.now());
  if (!body.ok) {
    return problemResponse({
      type: 'about:blank',
      title: 'Invalid request',
      status: 400,
      detail: body.detail,
      errors: body.errors,
    });
  }

  const guard = await decide({
    store: services.counters,
    identity: customerIdentity(customerId),
    policy: {
      tier: 'anonymous',
      failMode: 'open',
      windows: limitsOf([{ limit: REQUESTS_PER_HOUR, window: '1h' }], 'increase-requests'),
    },
    clock,
  });
  if (guard.outcome === 'rejected') {
    return problemResponse(
      quotaExceeded(
        guard,
        docsUrlFor(settings, c.req.url),
        `increase requests of customer ${customerId}`,
      ),
      rateLimitHeaders(guard),
    );
  }

  const { reason, limits, until } = body.value;
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

type Body =
  | { ok: true; value: IncreaseRequest }
  | { ok: false; detail: string; errors: { field: string; message: string }[] };

async function readBody(request: Request, now: number): Promise<Body> {
  let raw: unknown;
  try {
    raw = await request.json();
  } catch {
    const errors = [{ field: '(body)', message: 'must be a JSON object' }];
    return { ok: false, detail: '(body): must be a JSON object', errors };
  }
  const parsed = increaseRequestSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      detail: describeIssues(parsed.error),
      errors: parsed.error.issues.map((i) => ({
        field: i.path.length ? i.path.join('.') : '(body)',
        message: i.message,
      })),
    };
  }
  const { until } = parsed.data;
  if (until !== undefined) {
    const at = Date.parse(until);
    const message =
      at <= now
        ? 'must be in the future'
        : at > now + MAX_REQUEST_AHEAD_MS
          ? 'must be at most 90 days ahead'
          : undefined;
    if (message) {
      return { ok: false, detail: `until: ${message}`, errors: [{ field: 'until', message }] };
    }
  }
  return { ok: true, value: parsed.data };
}
