/** The customer's limits right now: one card per window with what is left and a live reset countdown. */
import type { LimitWindow, RateLimitStatus } from '../api/schemas';
import {
  formatAmount,
  formatDateTime,
  formatExact,
  formatLimit,
  formatLimitReset,
  formatUntil,
  formatWindow,
  headroom,
  remainingFraction,
} from '../format';

const HEADROOM_TEXT = { ok: '', low: 'Running low', exhausted: 'Limit reached' } as const;

/** Tier windows first, then endpoint rules, each shortest window first. */
function ordered(windows: readonly LimitWindow[]): LimitWindow[] {
  return [...windows].sort(
    (a, b) => Number(Boolean(a.rule)) - Number(Boolean(b.rule)) || a.windowMs - b.windowMs,
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** One window: "42 of 100 left", a bar, and "resets in 18 s". */
function LimitCard({ window: w, now }: { window: LimitWindow; now: number }) {
  const state = headroom(w.remaining, w.limit);
  const used = w.limit - w.remaining;
  return (
    <li class={`limit-card is-${state}`} data-testid="limit-card">
      <h3>
        {capitalize(formatWindow(w.window))}
        {w.rule ? <span class="badge">Endpoint rule: {w.rule}</span> : null}
        {w.shadow ? <span class="badge">Trial: not enforced</span> : null}
      </h3>
      <p class="limit-remaining">
        <strong title={formatExact(w.remaining)}>{formatAmount(w.remaining)}</strong>
        <span> of {formatAmount(w.limit)} left</span>
      </p>
      <div class="bar" aria-hidden="true">
        <div
          class="bar-fill"
          style={{ width: `${remainingFraction(w.remaining, w.limit) * 100}%` }}
        />
      </div>
      <p class="limit-meta">
        <span>{formatExact(used)} used</span>
        <span class="limit-reset">{formatLimitReset(used, Date.parse(w.resetAt), now)}</span>
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
      {override ? (
        <p class="override" data-testid="override">
          <strong>Temporary increase:</strong>{' '}
          {override.limits.map((l) => formatLimit(l.limit, l.window)).join(', ')} until{' '}
          {formatDateTime(Date.parse(override.expiresAt))} (
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
