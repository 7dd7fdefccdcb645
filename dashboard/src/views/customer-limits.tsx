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

/** Tier windows first, then endpoint rules, each shortest window first, concurrency last. */
function ordered(windows: readonly LimitWindow[]): LimitWindow[] {
  const slots = (w: LimitWindow) => Number(w.kind === 'concurrency');
  return [...windows].sort(
    (a, b) =>
      Number(Boolean(a.rule)) - Number(Boolean(b.rule)) ||
      slots(a) - slots(b) ||
      a.windowMs - b.windowMs,
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A concurrency limit: how many requests are in flight now, of how many at once. */
function ConcurrencyCard({ window: w }: { window: LimitWindow }) {
  const inFlight = w.used ?? w.limit - w.remaining;
  const state = headroom(w.remaining, w.limit);
  return (
    <li class={`limit-card is-${state}`} data-testid="concurrency-card">
      <h3>
        Requests in flight at once
        {w.rule ? <span class="badge">Endpoint rule: {w.rule}</span> : null}
      </h3>
      <p class="limit-remaining">
        <strong title={formatExact(inFlight)}>{formatAmount(inFlight)}</strong>
        <span> in flight now, of {formatAmount(w.limit)} at once</span>
      </p>
      <div class="bar" aria-hidden="true">
        <div
          class="bar-fill"
          style={{ width: `${remainingFraction(w.remaining, w.limit) * 100}%` }}
        />
      </div>
      <p class="limit-meta">
        <span>A slot frees as soon as one of your requests finishes.</span>
      </p>
      {state !== 'ok' ? <p class={`limit-flag is-${state}`}>{HEADROOM_TEXT[state]}</p> : null}
    </li>
  );
}

/** One window: "42 of 100 left", a bar, and "resets in 18 s"; in its unit when not requests. */
function LimitCard({ window: w, now }: { window: LimitWindow; now: number }) {
  if (w.kind === 'concurrency') return <ConcurrencyCard window={w} />;
  const state = headroom(w.remaining, w.limit);
  const used = w.used ?? w.limit - w.remaining;
  // Units are requests unless the window names its own ("tokens"): said only then.
  const unit = w.unit ? ` ${w.unit}` : '';
  return (
    <li class={`limit-card is-${state}`} data-testid="limit-card">
      <h3>
        {capitalize(formatWindow(w.window))}
        {w.rule ? <span class="badge">Endpoint rule: {w.rule}</span> : null}
        {w.shadow ? <span class="badge">Trial: not enforced</span> : null}
        {w.charge === 'origin' ? (
          <span class="badge">Charged by the API after each response</span>
        ) : null}
        {w.cost !== undefined && w.cost !== 1 ? (
          <span class="badge">Each request costs {formatExact(w.cost)}</span>
        ) : null}
      </h3>
      <p class="limit-remaining">
        <strong title={formatExact(w.remaining)}>{formatAmount(w.remaining)}</strong>
        <span>
          {' '}
          of {formatAmount(w.limit)}
          {unit} left
        </span>
      </p>
      <div class="bar" aria-hidden="true">
        <div
          class="bar-fill"
          style={{ width: `${remainingFraction(w.remaining, w.limit) * 100}%` }}
        />
      </div>
      <p class="limit-meta">
        <span>
          {formatExact(used)}
          {unit} used
        </span>
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
