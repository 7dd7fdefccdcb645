/** The one table of pinned Lua scripts: every hash recomputed, every script run on real Redis. */
import { describe, expect, it } from 'vitest';
import type { PinnedScript } from '../../../src/limiter/algorithm';
import { ALGORITHMS, PINNED_SCRIPTS } from '../../../src/limiter/algorithms/registry';
import { runScript } from '../../../src/store/run-script';
import { EPOCH } from '../../support/arbitraries';
import { uniqueId } from '../../support/customers';
import { testRedis } from '../../support/redis';

const NOW = EPOCH;

/**
 * What each pinned script must do, by name: a script added to the table without a behaviour here
 * fails the loop below.
 */
const BEHAVIOURS: Record<string, (pinned: PinnedScript) => Promise<void>> = {
  'sliding-window': async (pinned) => {
    const algorithm = ALGORITHMS['sliding-window'];
    const request = {
      identity: `c:${uniqueId('pinned')}`,
      // A few seconds: the key expires on Redis's own clock, not the pinned one.
      windows: [{ id: 'w', limit: 2, windowMs: 5_000 }],
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
  concurrency: async () => {
    const algorithm = ALGORITHMS.concurrency;
    const windows = [
      { id: 'concurrency', kind: 'concurrency' as const, limit: 2, windowMs: 60_000 },
      { id: 'w', limit: 10, windowMs: 5_000 },
    ];
    const identity = `c:${uniqueId('slots')}`;
    const allowed = [];
    for (let token = 1; token <= 3; token++) {
      const request = { identity, windows, now: NOW, slotToken: token };
      const call = algorithm.scriptCall(request);
      expect(call.script?.name).toBe('concurrency');
      const reply = await runScript(
        testRedis(),
        call.script ?? algorithm.script,
        call.keys,
        call.args,
      );
      allowed.push(algorithm.parseReply(reply, request).allowed);
    }
    expect(allowed).toEqual([true, true, false]);
    // The refusal for concurrency consumed no window: two units, not three.
    const peek = { identity, windows, now: NOW, consume: false };
    const call = algorithm.scriptCall(peek);
    const reply = await runScript(
      testRedis(),
      call.script ?? algorithm.script,
      call.keys,
      call.args,
    );
    expect(algorithm.parseReply(reply, peek).windows.map((w) => w.used)).toEqual([2, 2]);
  },
  'concurrency release': async (pinned) => {
    const algorithm = ALGORITHMS.concurrency;
    const spec = { id: 'concurrency', kind: 'concurrency' as const, limit: 1, windowMs: 60_000 };
    const identity = `c:${uniqueId('release')}`;
    const key = algorithm.key(identity, spec);
    await testRedis().hset(key, { '7': NOW + 60_000, '8': NOW + 60_000 });
    const call = algorithm.slots?.call({ identity, windows: [spec], slotToken: 7 });
    expect(call).toBeDefined();
    if (call) await runScript(testRedis(), pinned, call.keys, call.args);
    expect((await testRedis().hkeys(key)).map(String)).toEqual(['8']);
  },
};

describe('pinned scripts', () => {
  it('lists every script of every algorithm once, each under its own name', () => {
    const all = Object.values(ALGORITHMS).flatMap((a) => [a.script, ...(a.calls ?? [])]);
    expect(PINNED_SCRIPTS.length).toBe(new Set(all.map((p) => p.sha1)).size);
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
