/** The bench tools' `--rtt` option (`scripts/bench/loop.ts`, `profile.ts`). */
import { describe, expect, it } from 'vitest';
import { MAX_RTT_MS, parseRttMs } from '../../scripts/bench/harness';

describe('parseRttMs', () => {
  it("takes whole ms from 0 to the local Upstash server's most", () => {
    expect(parseRttMs('0')).toBe(0);
    expect(parseRttMs('10')).toBe(10);
    expect(parseRttMs(String(MAX_RTT_MS))).toBe(MAX_RTT_MS);
  });

  it('names the option and the value for anything else', () => {
    for (const bad of ['', ' ', 'abc', '-1', '2.5', '1001', 'Infinity']) {
      expect(() => parseRttMs(bad)).toThrow(
        `--rtt: expected whole ms from 0 to 1000, got ${JSON.stringify(bad)}`,
      );
    }
  });
});
