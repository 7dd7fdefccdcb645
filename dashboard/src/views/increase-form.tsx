/** "Request a temporary increase": sends the reason (and optionally a limit and an end) to operators. */
import { useState } from 'preact/hooks';
import type { ApiClient } from '../api/client';
import type { RateLimitStatus } from '../api/schemas';
import { formatAmount, formatWindow, timeZoneLabel } from '../format';
import { buildIncreaseRequest } from '../increase-request';

type Sending =
  | { state: 'idle' }
  | { state: 'sending' }
  | { state: 'sent' }
  | { state: 'failed'; message: string };

const WINDOWS = [
  { value: '1m', label: 'per minute' },
  { value: '1h', label: 'per hour' },
  { value: '1d', label: 'per day' },
] as const;

/**
 * The limits an increase can be about: the caller's own plan windows with what they are now
 * (an increase raises a plan window; endpoint limits are set by operators), else the usual ones.
 */
export function increaseOptions(status: RateLimitStatus | undefined) {
  const own = (status?.windows ?? []).filter((w) => !w.rule && !w.shadow);
  if (own.length === 0) return WINDOWS.map((w) => ({ ...w }));
  return own.map((w) => ({
    value: w.window,
    label: `${formatWindow(w.window)} (now ${formatAmount(w.limit)} ${formatWindow(w.window)})`,
  }));
}

/** The form; shows a clear confirmation or the API's reason for refusing. */
export function IncreaseForm({
  client,
  status,
}: {
  client: ApiClient;
  status?: RateLimitStatus | undefined;
}) {
  const options = increaseOptions(status);
  const [reason, setReason] = useState('');
  const [limit, setLimit] = useState('');
  const [chosen, setPer] = useState<string | undefined>();
  const per =
    chosen && options.some((o) => o.value === chosen) ? chosen : (options[0]?.value ?? '1m');
  const zone = timeZoneLabel(Date.now());
  const [until, setUntil] = useState('');
  const [sending, setSending] = useState<Sending>({ state: 'idle' });

  const submit = async (event: Event) => {
    event.preventDefault();
    const request = buildIncreaseRequest({ reason, limit, window: per, until }, Date.now());
    if (typeof request === 'string') {
      setSending({ state: 'failed', message: request });
      return;
    }
    setSending({ state: 'sending' });
    try {
      await client.requestIncrease(request);
      setSending({ state: 'sent' });
      setReason('');
      setLimit('');
      setUntil('');
    } catch (error) {
      setSending({
        state: 'failed',
        message: `Your request was not sent: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  };

  return (
    <section class="panel" aria-labelledby="increase-title">
      <h2 id="increase-title">Request a temporary increase</h2>
      <p class="hint">
        Expecting a launch or a migration? Tell us what you need; an operator reviews every request.
        A granted increase shows under “Your limits right now” with its end date.
      </p>
      <form class="increase-form" onSubmit={submit} noValidate>
        <label for="increase-reason">Why do you need more?</label>
        <textarea
          id="increase-reason"
          rows={3}
          maxLength={1000}
          required
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
        <div class="form-row">
          <div>
            <label for="increase-limit">New limit you need (optional)</label>
            <input
              id="increase-limit"
              type="number"
              inputMode="numeric"
              min={1}
              step={1}
              value={limit}
              onInput={(e) => setLimit(e.currentTarget.value)}
            />
          </div>
          <div>
            <label for="increase-window">For the limit</label>
            <select
              id="increase-window"
              value={per}
              onChange={(e) => setPer(e.currentTarget.value)}
            >
              {options.map((w) => (
                <option key={w.value} value={w.value}>
                  {w.label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="increase-until">Until (optional, your time: {zone})</label>
            <input
              id="increase-until"
              type="datetime-local"
              value={until}
              onInput={(e) => setUntil(e.currentTarget.value)}
            />
          </div>
        </div>
        <button type="submit" class="button" disabled={sending.state === 'sending'}>
          {sending.state === 'sending' ? 'Sending…' : 'Send request'}
        </button>
        <div aria-live="polite" data-testid="increase-result">
          {sending.state === 'sent' ? (
            <p class="success">
              Request sent. An operator has been notified and will get back to you.
            </p>
          ) : null}
          {sending.state === 'failed' ? <p class="field-error">{sending.message}</p> : null}
        </div>
      </form>
    </section>
  );
}
