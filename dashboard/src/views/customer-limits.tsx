/** The customer's limits right now: one card per window with what is used, and when quota is back. */
import type { LimitWindow, RateLimitStatus } from '../api/schemas';
import {
  formatAmount,
  formatDateTime,
  formatExact,
  formatFullBack,
  formatLimit,
  formatNextAllowed,
  formatUntil,
  formatWindow,
  headroom,
  timeZoneLabel,
  usedFraction,
} from '../format';

const HEADROOM_TEXT = { ok: '', low: 'Near the limit', exhausted: 'Limit reached' } as const;

/** Tier windows first, then endpoint rules, each shortest window first. */
function ordered(windows: readonly LimitWindow[]): LimitWindow[] {
  return [...windows].sort(
    (a, b) => Number(Boolean(a.rule)) - Number(Boolean(b.rule)) || a.windowMs - b.windowMs,
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * A card's title: tier windows by their limit ("100 per minute"), endpoint rules by the request
 * they limit ("POST /v1/search · 10 per minute").
 */
export function limitTitle(w: LimitWindow): string {
  const limit = `${formatAmount(w.limit)} ${formatWindow(w.window)}`;
  if (!w.rule) return capitalize(limit);
  const endpoint = w.method && w.path ? `${w.method === '*' ? 'Any' : w.method} ${w.path}` : w.rule;
  return `${endpoint} · ${limit}`;
}

/** One window: a bar filling towards the limit, what is left, and when quota comes back. */
function LimitCard({ window: w, now }: { window: LimitWindow; now: number }) {
  const state = headroom(w.remaining, w.limit);
  const used = Math.max(0, w.limit - w.remaining);
  const nextAllowedAt = Date.parse(w.nextAllowedAt ?? w.resetAt);
  const fullAt = w.fullAt ? Date.parse(w.fullAt) : now + w.windowMs;
  return (
    <li class={`limit-card is-${state}`} data-testid="limit-card">
      <h3>
        <span class="limit-title">{limitTitle(w)}</span>
        <span class="badge">{w.rule ? 'Endpoint limit' : 'All requests'}</span>
        {w.shadow ? <span class="badge">Trial: not enforced</span> : null}
      </h3>
      <p class="limit-remaining">
        <strong title={formatExact(used)}>{formatAmount(used)}</strong>
        <span> of {formatAmount(w.limit)} used</span>
        <span class="limit-left"> · {formatAmount(w.remaining)} left</span>
      </p>
      <div class="bar" aria-hidden="true">
        <div class="bar-fill" style={{ width: `${usedFraction(used, w.limit) * 100}%` }} />
      </div>
      <p class="limit-next" data-testid="limit-next">
        {formatNextAllowed(w.remaining, nextAllowedAt, now)}
      </p>
      <p class="limit-full" data-testid="limit-full">
        {formatFullBack(w.limit, used, fullAt, now)}
      </p>
      {state !== 'ok' ? <p class={`limit-flag is-${state}`}>{HEADROOM_TEXT[state]}</p> : null}
    </li>
  );
}

/** All windows that apply to the caller, plus any temporary increase and when it ends. */
export function CustomerLimits({ status, now }: { status: RateLimitStatus; now: number }) {
  const override = status.override;
  return (
    <section class="panel" aria-labelledby="limits-title">
      <h2 id="limits-title">Your limits right now</h2>
      <p class="hint">
        Limits are sliding windows: each request counts for one window from when it was made, so
        quota comes back gradually as old requests age out.
      </p>
      {override ? (
        <p class="override" data-testid="override">
          <strong>Temporary increase:</strong>{' '}
          {override.limits.map((l) => formatLimit(l.limit, l.window)).join(', ')} until{' '}
          {formatDateTime(Date.parse(override.expiresAt))} {timeZoneLabel(now)} (
          {formatUntil(Date.parse(override.expiresAt), now)})
          {override.reason ? ` · ${override.reason}` : ''}
        </p>
      ) : null}
      {status.windows.length === 0 ? (
        <p class="state state-empty">No limits apply to this key.</p>
      ) : (
        <ul class="limit-grid">
          {ordered(status.windows).map((w) => (
            <LimitCard key={`${w.rule ?? ''}:${w.id}`} window={w} now={now} />
          ))}
        </ul>
      )}
    </section>
  );
}
