/** The one table of pinned Lua scripts: every hash recomputed, every script run on real Redis. */
import { describe, expect, it } from 'vitest';
import type { PinnedScript } from '../../../src/limiter/algorithm';
import { ALGORITHMS, PINNED_SCRIPTS } from '../../../src/limiter/algorithms/registry';
import { runScript } from '../../../src/store/run-script';
import { uniqueId } from '../../support/customers';
import { testRedis } from '../../support/redis';

const NOW = 1_700_000_000_000;

/**
 * What each pinned script must do, by name: a script added to the table without a behaviour here
 * fails the loop below.
 */
const BEHAVIOURS: Record<string, (pinned: PinnedScript) => Promise<void>> = {
  'sliding-window': async (pinned) => {
    const algorithm = ALGORITHMS['sliding-window'];
    const request = {
      identity: `c:${uniqueId('pinned')}`,
      windows: [{ id: 'w', limit: 2, windowMs: 1_000 }],
      now: NOW,
    };
    const { keys, args } = algorithm.scriptCall(request);
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await runScript(testRedis(), pinned, keys, args));
    expect(replies.map((r) => algorithm.parseReply(r, request).allowed)).toEqual([
      true,
      true,
      false,
    ]);
  },
  'sliding-window merge': async (pinned) => {
    const algorithm = ALGORITHMS['sliding-window'];
    const key = algorithm.key(`c:${uniqueId('merge')}`, { id: 'w', limit: 5, windowMs: 1_000 });
    const pending = new Map([[key, { windowMs: 1_000, deltas: new Map([[NOW, 3]]) }]]);
    const { keys, args } = algorithm.mergeCall(pending);
    await runScript(testRedis(), pinned, keys, args);
    await runScript(testRedis(), pinned, keys, args);
    const redis = testRedis();
    expect(Number(await redis.hget(key, String(NOW)))).toBe(6);
    expect(await redis.pttl(key)).toBeGreaterThan(0);
  },
};

describe('pinned scripts', () => {
  it('lists every algorithm script once, each under its own name', () => {
    expect(PINNED_SCRIPTS.length).toBe(2 * Object.keys(ALGORITHMS).length);
    expect(new Set(PINNED_SCRIPTS.map((p) => p.name)).size).toBe(PINNED_SCRIPTS.length);
  });

  for (const pinned of PINNED_SCRIPTS) {
    describe(pinned.name, () => {
      it('pins the SHA-1 of its text, which is also the SHA Redis computes', async () => {
        const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(pinned.script));
        const hex = [...new Uint8Array(digest)]
          .map((b) => b.toString(16).padStart(2, '0'))
          .join('');
        expect(hex).toBe(pinned.sha1);
        expect(await testRedis().scriptLoad(pinned.script)).toBe(pinned.sha1);
      });

      it('does what it is for on real Redis', async () => {
        const behaviour = BEHAVIOURS[pinned.name];
        expect(behaviour, `no behaviour test for pinned script "${pinned.name}"`).toBeDefined();
        await behaviour?.(pinned);
      });
    });
  }
});
