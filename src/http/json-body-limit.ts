/** Refuses request bodies past a size with a 413 problem, before they are read whole. */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { problemResponse } from './problem';

/** Largest admin API body (a whole policy with its endpoint rules fits many times over). */
export const ADMIN_MAX_BODY_BYTES = 256 * 1024;
/** Largest increase-request body (a reason of 1,000 characters and a few limits). */
export const INCREASE_REQUEST_MAX_BODY_BYTES = 16 * 1024;

/**
 * Hono's `bodyLimit` with a problem+json 413: a declared `Content-Length` past `maxBytes` is
 * refused without reading a byte; a body without one is counted as it streams and refused as
 * soon as it passes the bound, so nothing larger is ever buffered.
 * @example app.use('*', jsonBodyLimit(ADMIN_MAX_BODY_BYTES));
 */
export function jsonBodyLimit(maxBytes: number): MiddlewareHandler {
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
  }
  return bodyLimit({
    maxSize: maxBytes,
    onError: () =>
      problemResponse({
        type: 'about:blank',
        title: 'Payload too large',
        status: 413,
        detail: `The request body is larger than ${maxBytes} bytes.`,
      }),
  });
}
