/**
 * The customer-facing usage API (see the usage API contract): `GET <prefix>/usage`, the caller's
 * own history, and `GET <prefix>/rate_limit`, every window that applies to the caller now, read
 * without consuming anything. CORS is open to the configured dashboard origins only.
 */
import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';
import { z } from 'zod';
import { type Bindings, readSettings } from '../env';
import { docsUrlFor } from '../http/docs-page';
import { problemResponse } from '../http/problem';
import { nextQuotaAt } from '../http/rate-limit-headers';
import { type Caller, identify } from '../identity/identify';
import { customerIdentity, ipIdentity } from '../limiter/keys';
import type { ResolvedWindow } from '../policy/resolve-policy';
import { getServices, type Services } from '../services';
import { log } from '../telemetry/log';
import {
  MAX_POINTS,
  pointsOf,
  RANGES,
  type RangeName,
  RESOLUTIONS,
  type Resolution,
  spanOf,
  UsageSourceError,
} from '../telemetry/usage-source';
import { policyFor } from './proxy';
import { refuseUnidentified } from './refuse-unidentified';
import { checkSideWindow } from './side-limit';

type Env = { Bindings: Bindings };
type Ctx = Context<Env>;

const RANGE_NAMES = Object.keys(RANGES) as [RangeName, ...RangeName[]];
const RESOLUTION_NAMES = Object.keys(RESOLUTIONS) as [Resolution, ...Resolution[]];

/** The resolution used when a query names none: the finest that stays readable. */
export const DEFAULT_RESOLUTION: Record<RangeName, Resolution> = {
  '1h': 'minute',
  '24h': 'hour',
  '7d': 'hour',
  '30d': 'day',
};

/**
 * Builds a schema for `range` and `resolution` query parameters: unknown values and more than
 * {@link MAX_POINTS} points are refused, naming the parameter.
 */
export function spanQuerySchema(ranges: readonly RangeName[], defaultRange: RangeName) {
  return z
    .object({
      // An enum of exactly the allowed ranges, so the OpenAPI document lists no others.
      range: z
        .enum(RANGE_NAMES.filter((r) => ranges.includes(r)) as [RangeName, ...RangeName[]], {
          error: `must be one of ${ranges.join(', ')}`,
        })
        .default(defaultRange),
      resolution: z.enum(RESOLUTION_NAMES).optional(),
    })
    .transform((q) => ({ range: q.range, resolution: q.resolution ?? DEFAULT_RESOLUTION[q.range] }))
    .refine((q) => pointsOf(q.range, q.resolution) <= MAX_POINTS, {
      path: ['resolution'],
      message: `too fine for the range: at most ${MAX_POINTS} points`,
    });
}

/** Query of `GET /usage`. */
export const usageQuery = spanQuerySchema(RANGE_NAMES, '24h');

/** Parses the query string, or answers 400 naming every bad parameter. */
export function parseQuery<T>(
  c: Ctx,
  schema: z.ZodType<T>,
): { ok: true; value: T } | { ok: false; response: Response } {
  const parsed = schema.safeParse(c.req.query());
  if (parsed.success) return { ok: true, value: parsed.data };
  const errors = parsed.error.issues.map((i) => ({
    field: i.path.length ? i.path.join('.') : '(query)',
    message: i.message,
  }));
  return {
    ok: false,
    response: problemResponse({
      type: 'about:blank',
      title: 'Invalid request',
      status: 400,
      detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
      errors,
    }),
  };
}

/** CORS for the dashboard: only the DASHBOARD_ORIGIN list (or any origin with `*`). */
export function dashboardCors() {
  return cors({
    origin: (origin, c: Context<Env>) => {
      const allowed = readSettings(c.env).dashboardOrigins;
      if (allowed.includes('*')) return '*';
      return allowed.includes(origin) ? origin : null;
    },
    allowHeaders: ['Authorization', 'X-API-Key', 'Content-Type'],
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    exposeHeaders: [
      'RateLimit',
      'RateLimit-Policy',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
    ],
    maxAge: 600,
  });
}

/** Builds the usage routes (mounted at `<prefix>/usage` and `<prefix>/rate_limit`). */
export function usageRoutes(): Hono<Env> {
  const app = new Hono<Env>();
  app.use('*', dashboardCors());

  app.get('/usage', async (c) => {
    const services = getServices(c.env);
    const caller = await authenticate(c, services, true);
    if (!caller.ok) return caller.response;
    const limited = await limitReserved(services, caller.value);
    if (limited) return limited;
    if (caller.value.kind !== 'customer')
      return unauthorized(services, c.req.url, 'Send your API key.');
    const query = parseQuery(c, usageQuery);
    if (!query.ok) return query.response;
    const { range, resolution } = query.value;
    const span = spanOf(range, resolution, services.clock.now());
    const path = new URL(c.req.url).pathname;
    const policy = await policyFor(services, caller.value, 'GET', path);
    try {
      const usage = await services.usage.customerUsage(caller.value.customerId, span);
      return c.json({
        customerId: caller.value.customerId,
        tier: policy.tier,
        range: { from: iso(span.from), to: iso(span.to) },
        resolution,
        series: usage.series.map((p) => ({
          t: iso(p.t),
          allowed: p.allowed,
          rejected: p.rejected,
        })),
        byRule: usage.byRule,
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
      });
    } catch (error) {
      return sourceFailed(services.usage.name, error);
    }
  });

  app.get('/rate_limit', async (c) => {
    const services = getServices(c.env);
    const caller = await authenticate(c, services, false);
    if (!caller.ok) return caller.response;
    const limited = await limitReserved(services, caller.value);
    if (limited) return limited;
    const who = caller.value;
    if (who.kind === 'service') {
      return c.json({
        customerId: null,
        tier: 'internal',
        windows: [],
        override: null,
        limited: false,
      });
    }
    const { windows, tier, override, unlimited, rules } = await windowsFor(services, who);
    const identity =
      who.kind === 'customer' ? customerIdentity(who.customerId) : ipIdentity(who.ip);
    let outcome: Awaited<ReturnType<Services['counters']['check']>> | undefined;
    if (windows.length) {
      try {
        // consume: false reads every window without recording: asking never costs quota.
        // The store chain carries the time budget already (src/store/compose.ts).
        outcome = await services.counters.check({ identity, windows, consume: false });
      } catch (error) {
        log('store-error', { where: 'rate_limit', message: String(error) }, 'error');
        return problemResponse(
          {
            type: `${docsUrlFor(services.settings, c.req.url)}#store-unavailable`,
            title: 'Rate limit store unavailable',
            status: 503,
            detail: 'The current counts could not be read. Retry shortly.',
          },
          { 'Retry-After': '1' },
        );
      }
    }
    const now = outcome?.now ?? services.clock.now();
    return c.json({
      customerId: who.kind === 'customer' ? who.customerId : null,
      tier,
      ...(unlimited ? { unlimited: true } : {}),
      windows: windows.map((w, i) => {
        const state = outcome?.windows[i];
        const merged = {
          ...w,
          used: state?.used ?? 0,
          remaining: state?.remaining ?? w.limit,
          retryAt: state?.retryAt ?? now,
          resetAt: state?.resetAt ?? now,
        };
        const used = state?.used ?? 0;
        // Stores that cannot tell when the newest counted unit leaves give the bound: a unit
        // counted now leaves one window from now.
        const fullAt = used > 0 ? (state?.fullAt ?? now + w.windowMs) : now;
        const nextAllowedAt = merged.remaining > 0 ? now : nextQuotaAt(merged, now);
        const up = (ms: number) => iso(Math.ceil(ms / 1000) * 1000);
        return {
          id: w.id,
          limit: w.limit,
          remaining: merged.remaining,
          window: w.window,
          windowMs: w.windowMs,
          resetAt: up(nextQuotaAt(merged, now)),
          nextAllowedAt: up(nextAllowedAt),
          fullAt: up(fullAt),
          method: rules.get(w.rule ?? '')?.method ?? null,
          path: rules.get(w.rule ?? '')?.path ?? null,
          rule: w.rule ?? null,
          ...(w.shadow ? { shadow: true } : {}),
        };
      }),
      override: override
        ? { limits: override.limits, expiresAt: override.expiresAt, reason: override.reason }
        : null,
    });
  });

  return app;
}

/**
 * Counts a call to the read endpoints in the caller's own `reserved` window (services are never
 * limited); resolves to the 429 once it is full.
 */
async function limitReserved(services: Services, caller: Caller): Promise<Response | undefined> {
  if (caller.kind === 'service') return undefined;
  const [identity, subject] =
    caller.kind === 'customer'
      ? [customerIdentity(caller.customerId), `customer ${caller.customerId}`]
      : [ipIdentity(caller.ip), `client ${caller.ip}`];
  return (await checkSideWindow(services, 'reserved', identity, subject)).refused;
}

/**
 * Every window that applies to the caller, regardless of path: the tier's (or customer's) own
 * windows plus the windows of every endpoint rule for their tier or customer record.
 */
async function windowsFor(services: Services, caller: Exclude<Caller, { kind: 'service' }>) {
  const base = await policyFor(services, caller, 'GET', `${services.settings.prefix}/rate_limit`);
  const windows: ResolvedWindow[] = base.windows.filter((w) => !w.rule);
  const config = await services.config.policy();
  const customer =
    caller.kind === 'customer' ? await services.config.customer(caller.customerId) : null;
  const rules = new Map<string, { method: string; path: string }>();
  for (const r of config.endpoints) if (r.limits[base.tier]?.length) rules.set(r.id, r);
  for (const r of customer?.endpoints ?? []) rules.set(r.id, r);
  for (const [id, rule] of rules) {
    // Resolve the rule through the same path as real traffic, with a path its pattern matches.
    const method = rule.method === '*' ? 'GET' : rule.method;
    const policy = await policyFor(services, caller, method, examplePath(rule.path));
    for (const w of policy.windows) {
      if (w.rule === id && !windows.some((x) => x.id === w.id)) windows.push(w);
    }
  }
  return {
    windows,
    tier: base.tier,
    override: base.override,
    unlimited: base.unlimited === true,
    rules,
  };
}

/** A concrete path matched by an endpoint pattern (`:id`, `*` and `**` become one segment). */
export function examplePath(pattern: string): string {
  return pattern
    .split('/')
    .map((s) => (s === '*' || s === '**' || s.startsWith(':') ? 'x' : s))
    .join('/');
}

/**
 * Identifies the caller. A bad key answers 401 and counts against key guessing like the proxied
 * path does, so the usage API is no faster way to guess keys.
 */
async function authenticate(
  c: Ctx,
  services: Services,
  requireKey: boolean,
): Promise<{ ok: true; value: Caller } | { ok: false; response: Response }> {
  const identity = await identify(c.req.raw.headers, services);
  if (identity.ok) {
    if (requireKey && identity.caller.kind !== 'customer') {
      return {
        ok: false,
        response: unauthorized(
          services,
          c.req.url,
          'This endpoint needs your API key (Authorization: Bearer <key> or X-API-Key).',
        ),
      };
    }
    return { ok: true, value: identity.caller };
  }
  const { response } = await refuseUnidentified(services, identity.failure, c.req.url);
  return { ok: false, response };
}

function unauthorized(
  services: Services,
  requestUrl: string,
  detail: string,
  code = 'api-key-required',
  headers: Record<string, string> = {},
): Response {
  return problemResponse(
    {
      type: `${docsUrlFor(services.settings, requestUrl)}#${code}`,
      title: 'Invalid API key',
      status: 401,
      detail,
      code,
      documentation: docsUrlFor(services.settings, requestUrl),
    },
    { ...headers, 'WWW-Authenticate': 'Bearer realm="api"' },
  );
}

/** The usage source failed: 502, logged. */
export function sourceFailed(source: string, error: unknown): Response {
  const message = error instanceof UsageSourceError ? error.message : String(error);
  log('internal-error', { where: 'usage-source', source, message }, 'error');
  return problemResponse({
    type: 'about:blank',
    title: 'Usage history unavailable',
    status: 502,
    detail: `The ${source} usage source could not answer. Retry shortly.`,
  });
}

/** ISO 8601 of epoch ms. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
