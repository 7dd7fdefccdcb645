/** The sliding window script's KEYS/ARGV for one request, and its reply validated into an outcome. */
import type { ScriptCall } from '../../algorithm';
import {
  type CheckOutcome,
  type CheckRequest,
  StoreError,
  type WindowState,
  windowState,
} from '../../contract';
import { bucketWidth } from './arithmetic';
import { windowKey } from './keys';

/**
 * KEYS (one hash per window) and ARGV (`now, cost, mode`, then limit, ms, width and "charged by
 * the origin" per window).
 */
export function scriptCall(request: CheckRequest): ScriptCall {
  const mode = request.consume === false ? '0' : request.consume === 'force' ? '2' : '1';
  return {
    keys: request.windows.map((w) => windowKey(request.identity, w)),
    args: [
      String(request.now ?? 0),
      String(request.cost ?? 1),
      mode,
      ...request.windows.flatMap((w) => [
        String(w.limit),
        String(w.windowMs),
        String(bucketWidth(w.windowMs, w.limit)),
        w.charge === 'origin' ? '1' : '0',
      ]),
    ],
  };
}

/**
 * Validates the script's reply: `[allowed, now, (used, retryAt, resetAt) x windows]`, all
 * integers. Anything else is a malformed reply, never a decision.
 */
export function parseReply(reply: unknown, request: CheckRequest): CheckOutcome {
  const n = request.windows.length;
  if (!Array.isArray(reply) || reply.length !== 2 + 3 * n) {
    throw new StoreError(
      'redis',
      'malformed-reply',
      `expected an array of ${2 + 3 * n} integers, got ${describe(reply)}`,
    );
  }
  const ints = reply.map((value, i) => {
    const num = typeof value === 'string' ? Number(value) : value;
    if (typeof num !== 'number' || !Number.isSafeInteger(num)) {
      throw new StoreError(
        'redis',
        'malformed-reply',
        `element ${i} is not an integer: ${describe(value)}`,
      );
    }
    return num;
  });
  const [allowedFlag = 0, now = 0] = ints;
  if (allowedFlag !== 0 && allowedFlag !== 1) {
    throw new StoreError(
      'redis',
      'malformed-reply',
      `allowed flag must be 0 or 1, got ${allowedFlag}`,
    );
  }
  const windows: WindowState[] = request.windows.map((spec, i) => {
    const retry = ints[3 + 3 * i] ?? now;
    return windowState(
      spec,
      ints[2 + 3 * i] ?? 0,
      retry === -1 ? Number.POSITIVE_INFINITY : retry,
      ints[4 + 3 * i] ?? now,
    );
  });
  return { allowed: allowedFlag === 1, now, windows };
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
