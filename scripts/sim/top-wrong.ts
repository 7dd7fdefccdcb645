/**
 * The identities a run decided most wrongly (`npm run sim -- --top-wrong N`): per identity, its
 * requests, overshoot, false rejections, what it was allowed against an exact limiter deciding
 * its arrivals alone, and the causes (`causes.ts`). The by-tier and by-cause tables say how much
 * is wrong; this says whose it is: a few saturated heads, or many identities near their limit.
 */
import type { Judgement } from './judge';

/** One identity's wrong decisions. */
export interface IdentityWrong {
  readonly identity: string;
  readonly tier: string;
  readonly requests: number;
  readonly overshoot: number;
  readonly falseRejections: number;
  readonly allowed: number;
  /** What an exact sliding log deciding the same arrivals alone allows. */
  readonly exactAllowed: number;
  /** Overshoot + false rejections per cause, wrong ones only. */
  readonly causes: Readonly<Record<string, readonly [number, number]>>;
}

/** The `n` identities with the most false rejections, and the `n` with the most overshoot. */
export interface TopWrong {
  readonly falseRejections: readonly IdentityWrong[];
  readonly overshoot: readonly IdentityWrong[];
}

/**
 * Ranks identities (`people[i]` judged as `judged[i]`) by false rejections and by overshoot,
 * most first (ties by name, so a run reads the same every time); identities with none are left out.
 */
export function topWrong(
  people: readonly { readonly key: string; readonly tier: string }[],
  judged: readonly Judgement[],
  n: number,
): TopWrong {
  const all: IdentityWrong[] = judged.map((j, i) => ({
    identity: people[i]?.key ?? `#${i}`,
    tier: people[i]?.tier ?? '',
    requests: j.decisions,
    overshoot: j.overshoot,
    falseRejections: j.falseRejections,
    allowed: j.allowed,
    exactAllowed: j.exactAllowed,
    causes: Object.fromEntries(
      [...j.byCause]
        .filter(([, c]) => c.overshoot + c.falseRejections > 0)
        .map(([cause, c]) => [cause, [c.overshoot, c.falseRejections] as const]),
    ),
  }));
  const by = (count: (w: IdentityWrong) => number) =>
    all
      .filter((w) => count(w) > 0)
      .sort((a, b) => count(b) - count(a) || a.identity.localeCompare(b.identity))
      .slice(0, Math.max(0, n));
  return { falseRejections: by((w) => w.falseRejections), overshoot: by((w) => w.overshoot) };
}

/** The two rankings as tables (`table` as `run.ts` draws them). */
export function topWrongLines(
  consistency: string,
  top: TopWrong,
  table: (headers: string[], rows: string[][]) => string,
): string {
  const rows = (list: readonly IdentityWrong[]) =>
    list.map((w) => [
      w.identity,
      w.tier,
      String(w.requests),
      `${w.overshoot} + ${w.falseRejections}`,
      `${w.allowed} / ${w.exactAllowed}`,
      Object.entries(w.causes)
        .map(([cause, [o, f]]) => `${cause} ${o}+${f}`)
        .join(', '),
    ]);
  const headers = [
    'identity',
    'tier',
    'requests',
    'wrong (over + false rej.)',
    'allowed / exact',
    'by cause',
  ];
  return [
    `${consistency}: identities with the most false rejections`,
    table(headers, rows(top.falseRejections)),
    '',
    `${consistency}: identities with the most overshoot`,
    table(headers, rows(top.overshoot)),
  ].join('\n');
}
