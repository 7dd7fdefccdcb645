/** Turns the increase form's raw fields into a request body, or a message saying what to fix (pure). */
import type { IncreaseRequest } from './api/schemas';

/**
 * Builds the request body from the form's raw strings; returns an error message instead when the
 * input cannot be sent.
 */
export function buildIncreaseRequest(
  fields: { reason: string; limit: string; window: string; until: string },
  now: number,
): IncreaseRequest | string {
  const reason = fields.reason.trim();
  if (reason.length < 5) return 'Tell us briefly why you need more (at least a few words).';
  if (reason.length > 1000) return 'Please keep the reason under 1,000 characters.';
  const request: { -readonly [K in keyof IncreaseRequest]: IncreaseRequest[K] } = { reason };
  if (fields.limit.trim()) {
    const limit = Number(fields.limit);
    if (!Number.isInteger(limit) || limit <= 0) return 'The limit must be a whole number above 0.';
    request.limits = [{ limit, window: fields.window }];
  }
  if (fields.until) {
    const until = Date.parse(fields.until);
    if (Number.isNaN(until)) return 'The end date is not a valid date.';
    if (until <= now) return 'The end date must be in the future.';
    request.until = new Date(until).toISOString();
  }
  return request;
}
