/**
 * Windows the origin charges, in every store: a request needs one unit of room and records none;
 * a forced charge may go past the limit, and the retry time then accounts for the debt.
 */
import { describe, expect, it } from 'vitest';
import type { WindowSpec } from '../../../src/limiter/contract';
import { uniqueId } from '../../support/customers';
import { PINNED_T0 } from '../../support/pinned-time';
import { STORES } from '../../support/stores';

const T = PINNED_T0;
const tokens: WindowSpec = { id: 'minute-tokens', limit: 1000, windowMs: 60_000 };
const charged: WindowSpec = { ...tokens, charge: 'origin' };
const requests: WindowSpec = { id: 'minute', limit: 100, windowMs: 60_000 };

for (const [mode, makeStore] of Object.entries(STORES)) {
  describe(`origin-charged windows in the ${mode} store`, () => {
    it('puts a window in debt and promises exactly the instant it has room again', async () => {
      const store = makeStore();
      const identity = `c:${uniqueId(`charge-${mode}`)}`;
      const check = (now: number) =>
        store.check({ identity, windows: [requests, charged], now, consume: false });
      const charge = (now: number, units: number) =>
        store.check({ identity, windows: [tokens], now, cost: units, consume: 'force' });

      // The request itself records nothing in the tokens window.
      const up = await store.check({ identity, windows: [requests, charged], now: T });
      expect(up.windows.map((w) => w.used)).toEqual([1, 0]);
      expect((await charge(T, 700)).windows[0]).toMatchObject({ used: 700, remaining: 300 });
      expect((await charge(T + 10_000, 700)).windows[0]).toMatchObject({
        used: 1400,
        remaining: 0,
      });

      const refused = await check(T + 11_000);
      expect(refused.allowed).toBe(false);
      const retryAt = refused.windows[1]?.retryAt ?? 0;
      // The first 700 leave the window at T + 60 s: 700 of 1000 then, room for a request.
      expect(retryAt).toBe(T + 60_000);
      expect((await check(retryAt - 1)).allowed).toBe(false);
      expect((await check(retryAt)).allowed).toBe(true);
    });
  });
}
