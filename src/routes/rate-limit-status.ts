/**
 * `GET <prefix>/rate_limit`: every window that applies to the caller now, read without consuming
 * anything (see docs/usage-api.md). CORS is open to the configured dashboard origins only.
 */
import { Hono } from 'hono';
import { windowsFor } from '../http/caller-policy';
import { dashboardCors } from '../http/cors';
import { docsUrlOf, type EdgeEnv } from '../http/edge-env';
import { fail, problems } from '../http/problem';
import { requireCaller } from '../http/require-caller';
import { limitReserved } from '../http/side-limit';
import { iso } from '../http/span-query';
import type { RateLimitStatus } from '../http/usage-api';
import { nextQuotaAt } from '../limiter/blocking-window';
import { type CheckOutcome, isConcurrency } from '../limiter/contract';
import { customerIdentity, ipIdentity } from '../limiter/keys';
import { log } from '../telemetry/log';

/** Builds the status route (mounted at `<prefix>/rate_limit`). */
export function rateLimitStatusRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.use('/', dashboardCors());

  app.get('/', async (c) => {
    const { services } = c.var;
    const who = await requireCaller(c);
    await limitReserved(services, who, docsUrlOf(c));
    if (who.kind === 'service') {
      return c.json({
        customerId: null,
        tier: 'internal',
        windows: [],
        override: null,
        limited: false,
      } satisfies RateLimitStatus);
    }
    const { windows, tier, override, rules, unlimited, costs, consistency } = await windowsFor(
      services,
      who,
    );
    const identity =
      who.kind === 'customer' ? customerIdentity(who.customerId) : ipIdentity(who.ip);
    let outcome: CheckOutcome | undefined;
    if (windows.length) {
      try {
        // consume: false reads every window without recording: asking never costs quota.
        // The store chain carries the time budget already (src/store/compose.ts). `fast` tells
        // the store where the identity is counted: a hot one's shards (shard-store.ts).
        outcome = await services.counters.check({
          identity,
          windows,
          consume: false,
          ...(consistency === 'fast' ? { fast: true } : {}),
        });
      } catch (error) {
        log('store-error', { where: 'rate_limit', message: String(error) }, 'error');
        fail(
          problems.storeUnavailable(
            docsUrlOf(c),
            'The current counts could not be read. Retry shortly.',
          ),
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
          kind: isConcurrency(w) ? ('concurrency' as const) : ('window' as const),
          used: merged.used,
          ...(w.unit ? { unit: w.unit } : {}),
          ...(w.charge ? { charge: w.charge } : {}),
          ...(w.rule && (costs[w.rule] ?? 1) !== 1 ? { cost: costs[w.rule] } : {}),
        };
      }),
      override: override
        ? { limits: override.limits, expiresAt: override.expiresAt, reason: override.reason }
        : null,
    } satisfies RateLimitStatus);
  });

  return app;
}
