/** Tokens naming the slots one request holds in its concurrency limits. */

/**
 * A random positive safe integer (52 bits): a cell name in the Durable Object and a hash field
 * in Redis, unique enough that two requests in flight never share one.
 */
export function newSlotToken(): number {
  const [hi = 0, lo = 0] = crypto.getRandomValues(new Uint32Array(2));
  return (hi & 0xf_ffff) * 2 ** 32 + lo + 1;
}
