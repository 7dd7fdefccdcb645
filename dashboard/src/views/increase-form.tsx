/** "Request a temporary increase": sends the reason (and optionally a limit and an end) to operators. */
import { useState } from 'preact/hooks';
import type { ApiClient } from '../api/client';
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

/** The form; shows a clear confirmation or the API's reason for refusing. */
export function IncreaseForm({ client }: { client: ApiClient }) {
  const [reason, setReason] = useState('');
  const [limit, setLimit] = useState('');
  const [per, setPer] = useState('1m');
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
            <label for="increase-limit">Limit you need (optional)</label>
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
            <label for="increase-window">Per</label>
            <select
              id="increase-window"
              value={per}
              onChange={(e) => setPer(e.currentTarget.value)}
            >
              {WINDOWS.map((w) => (
                <option key={w.value} value={w.value}>
                  {w.label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="increase-until">Until (optional)</label>
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
