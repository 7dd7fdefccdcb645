/**
 * Calls the origin within a time budget and turns its failures into values: an origin that
 * refuses, resets or never answers is a 502 or 504 the caller can read, never the limiter's 500.
 */
import type { Origin } from './forward';
import { type Problem, problemResponse } from './problem';

/** Why the origin gave no response. */
export interface OriginFailure {
  /** `unreachable`: the connection failed (refused, reset, DNS); `timeout`: no headers in time. */
  readonly kind: 'unreachable' | 'timeout';
  readonly message: string;
}

/** The origin's response, or why there is none. */
export type OriginResult =
  | { readonly ok: true; readonly response: Response }
  | { readonly ok: false; readonly failure: OriginFailure };

/**
 * Forwards `request` to `origin`, giving it `timeoutMs` to send its response headers. The body is
 * then streamed with no deadline (a long download is not cut off); only waiting for the first
 * byte of the answer is bounded.
 */
export async function callOrigin(
  origin: Origin,
  request: Request,
  timeoutMs: number,
): Promise<OriginResult> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const timeout = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(new Error('origin timeout')));
  });
  try {
    const forwarded = new Request(request, { signal: controller.signal });
    const response = await Promise.race([origin(forwarded), timeout]);
    return { ok: true, response };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return timedOut
      ? {
          ok: false,
          failure: { kind: 'timeout', message: `no response headers within ${timeoutMs} ms` },
        }
      : { ok: false, failure: { kind: 'unreachable', message } };
  } finally {
    clearTimeout(timer);
  }
}

/** The 502 (unreachable) or 504 (timeout) problem answered in place of the origin's response. */
export function originFailureResponse(
  failure: OriginFailure,
  docsUrl: string,
  headers: Record<string, string>,
): Response {
  const problem: Problem =
    failure.kind === 'timeout'
      ? {
          type: `${docsUrl}#origin-timeout`,
          title: 'Origin timeout',
          status: 504,
          detail: `The origin did not answer in time (${failure.message}). The request was counted.`,
          code: 'origin-timeout',
          documentation: docsUrl,
        }
      : {
          type: `${docsUrl}#origin-unreachable`,
          title: 'Origin unreachable',
          status: 502,
          detail: `The origin could not be reached (${failure.message}). The request was counted.`,
          code: 'origin-unreachable',
          documentation: docsUrl,
        };
  return problemResponse(problem, headers);
}
