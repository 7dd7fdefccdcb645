/**
 * The built-in demo origin: echoes what it received; `?status=NNN` picks the status,
 * `?delay=<ms>` answers that much later (at most {@link MAX_DEMO_DELAY_MS}), `?charge=<n>` answers
 * with `X-Edgelimit-Charge: n` (sent as given, so a malformed charge can be tried too).
 */
import { sleep } from '../deadline';
import type { Origin } from './forward';
import { CHARGE_HEADER } from './origin-charge';

/** The longest `?delay=` the demo origin waits: slow enough to try concurrency limits. */
export const MAX_DEMO_DELAY_MS = 10_000;

/** `?delay=` as whole milliseconds within 0..MAX_DEMO_DELAY_MS; anything else is no delay. */
export function demoDelay(value: string | null): number {
  const ms = Number(value ?? '0');
  if (!Number.isFinite(ms) || ms <= 0) return 0;
  return Math.min(MAX_DEMO_DELAY_MS, Math.floor(ms));
}

/** Answers any path with JSON echoing `method`, `path`, `query` and the request `headers`. */
export const demoOrigin: Origin = async (request) => {
  const url = new URL(request.url);
  const delay = demoDelay(url.searchParams.get('delay'));
  if (delay > 0) await sleep(delay);
  const charge = url.searchParams.get('charge');
  const requested = Number(url.searchParams.get('status') ?? '200');
  const status =
    Number.isInteger(requested) && requested >= 200 && requested <= 599 ? requested : 200;
  const body = {
    origin: 'edgelimit demo origin',
    method: request.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: Object.fromEntries(request.headers),
  };
  return new Response(
    status === 204 || status === 205 || status === 304 ? null : JSON.stringify(body, null, 2),
    {
      status,
      headers: {
        'Content-Type': 'application/json',
        ...(charge !== null ? { [CHARGE_HEADER]: charge.slice(0, 40) } : {}),
      },
    },
  );
};
