/** `npm run sim -- --top-wrong N`: whose wrong decisions they are. */
import { describe, expect, it } from 'vitest';
import { DecisionLog, type Judgement } from '../../scripts/sim/judge';
import { topWrong, topWrongLines } from '../../scripts/sim/top-wrong';

/** A judgement with the given counts (every other field empty). */
function judged(
  overshoot: number,
  falseRejections: number,
  causes: [string, number, number][] = [],
): Judgement {
  return {
    decisions: 100,
    overshoot,
    falseRejections,
    maxOverLimit: overshoot,
    during: { decisions: 0, wrong: 0 },
    byCause: new Map(
      causes.map(([cause, o, f]) => [
        cause,
        { overshoot: o, falseRejections: f, contested: 0, overshootAfterLoss: 0 },
      ]),
    ),
    allowed: 50,
    exactAllowed: 50 - overshoot + falseRejections,
  };
}

describe('topWrong', () => {
  const people = ['a', 'b', 'c', 'd'].map((key) => ({ key, tier: 'free' }));

  it('ranks by false rejections and by overshoot, most first, ties by name, none left out', () => {
    const top = topWrong(people, [judged(5, 0), judged(0, 7), judged(2, 7), judged(0, 0)], 2);
    expect(top.falseRejections.map((w) => w.identity)).toEqual(['b', 'c']);
    expect(top.overshoot.map((w) => w.identity)).toEqual(['a', 'c']);
    // An identity with none of a kind is not ranked for it, however short the list.
    expect(topWrong(people, [judged(5, 0), judged(0, 0), judged(0, 0), judged(0, 0)], 3)).toEqual({
      falseRejections: [],
      overshoot: [expect.objectContaining({ identity: 'a', overshoot: 5 })],
    });
  });

  it('keeps only the causes of wrong decisions, as overshoot + false rejections', () => {
    const [w] = topWrong(
      people.slice(0, 1),
      [
        judged(1, 3, [
          ['L1 block', 0, 3],
          ['first-contact', 1, 0],
          ['lease', 0, 0],
        ]),
      ],
      1,
    ).falseRejections;
    expect(w?.causes).toEqual({ 'L1 block': [0, 3], 'first-contact': [1, 0] });
    const lines = topWrongLines(
      'fast',
      { falseRejections: w ? [w] : [], overshoot: [] },
      (h, rows) => [h.join('|'), ...rows.map((r) => r.join('|'))].join('\n'),
    );
    expect(lines).toContain('a|free|100|1 + 3|50 / 52|L1 block 0+3, first-contact 1+0');
  });

  it('ranks what the judge counted for a real log', () => {
    // Limit 1 a minute: allowed at 0 and 10 (overshoot), rejected at 70 s with room (false rejection).
    const log = new DecisionLog([{ id: 'minute', limit: 1, windowMs: 60_000, window: '1m' }]);
    log.add(0, true, 'lease');
    log.add(10, true, 'first-contact');
    log.add(70_000, false, 'L1 block');
    const top = topWrong([{ key: 'ip:x', tier: 'anonymous' }], [log.judge()], 5);
    expect(top.overshoot[0]).toMatchObject({ identity: 'ip:x', overshoot: 1, falseRejections: 1 });
    expect(top.overshoot[0]?.causes).toEqual({ 'first-contact': [1, 0], 'L1 block': [0, 1] });
  });
});
