import { describe, expect, it } from 'vitest';
import { DEFAULT_RTT, Geography } from '../../scripts/sim/geography';
import { Rng } from '../../scripts/sim/rng';
import { VirtualTime } from '../../scripts/sim/virtual-time';

const geography = () => new Geography(3, DEFAULT_RTT, new VirtualTime(0), new Rng(7));

describe('Geography round trips', () => {
  it("draws an identity's jitter from its own stream: other identities' calls do not move it", () => {
    const alone = geography();
    const mine = [1, 2, 3].map(() => alone.roundTrip(0, 1, 'c:mine'));
    const busy = geography();
    for (let i = 0; i < 5; i++) busy.roundTrip(0, 2, 'c:big');
    busy.roundTrip(1, 2);
    const first = busy.roundTrip(0, 1, 'c:mine');
    for (let i = 0; i < 3; i++) busy.roundTrip(0, 1, 'c:big');
    expect([first, busy.roundTrip(0, 1, 'c:mine'), busy.roundTrip(0, 1, 'c:mine')]).toEqual(mine);
    // Jittered around the pair's base, and not the same draw for every identity.
    expect(new Set(mine).size).toBe(3);
    expect(alone.roundTrip(0, 1, 'c:other')).not.toBe(mine[0]);
  });

  it('keeps the shared stream for calls made for no identity', () => {
    const a = geography();
    const b = geography();
    b.roundTrip(0, 1, 'c:someone');
    expect(b.roundTrip(0, 1)).toBe(a.roundTrip(0, 1));
  });
});

describe('Rng.derive', () => {
  it('gives a key the same stream whatever was drawn or derived before, and draws nothing', () => {
    const a = new Rng(11);
    const b = new Rng(11);
    b.next();
    b.derive('x').next();
    expect(b.derive('k').next()).toBe(a.derive('k').next());
    expect(a.derive('k').next()).not.toBe(a.derive('l').next());
    expect(new Rng(12).derive('k').next()).not.toBe(a.derive('k').next());
    // Deriving took nothing from the parent's own sequence.
    const c = new Rng(11);
    c.next();
    expect(b.next()).toBe(c.next());
  });
});
