/**
 * Waits, if need be, for the next aligned period (a UTC minute or hour) so that at least `leftMs`
 * of the current one is left: for tests whose assertions read a calendar bucket (a chart's current
 * minute, an alert deduplicated per hour-aligned window) and must not straddle its edge.
 */
export async function untilPeriodHasLeft(periodMs: number, leftMs: number): Promise<void> {
  const left = periodMs - (Date.now() % periodMs);
  if (left < leftMs) await new Promise((done) => setTimeout(done, left + 250));
}
