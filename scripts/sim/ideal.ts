/**
 * How few wrong decisions a limiter that decides at once could make on the scenario's trace: an
 * ideal limiter that answers every request on arrival, with no latency, knowing every decision
 * taken anywhere `delay` ms after it (no lease, no object, no store, no isolates: knowledge for
 * free, only late, by the pair of locations). It allows a request
 * when what it knows of each window has room, so it never rejects wrongly; it overshoots when
 * requests at two locations take the window's last units less than `delay` apart.
 *
 * It is no proof of a bound for every design (one that rejects on a guess trades overshoot for
 * false rejections), but it answers what issue 11's 0.01% asks of the geography: what is left
 * wrong when the only thing missing is the time news takes between locations. Judged with the
 * same `DecisionLog` as every row of the simulation, on the same arrivals (`traceOf`).
 */
import { Geography } from './geography';
import { DecisionLog, type Judgement } from './judge';
import { Rng } from './rng';
import type { Scenario } from './scenario';
import { startOf } from './simulate';
import { identities, type SimIdentity, scheduleTraffic } from './traffic';
import { VirtualTime } from './virtual-time';

/** One arrival of the trace. */
export interface Arrival {
  readonly at: number;
  readonly identity: number;
  readonly location: number;
}

/** The scenario's arrivals, in time order, the same as every simulated row receives. */
export interface Trace {
  readonly people: readonly SimIdentity[];
  readonly arrivals: readonly Arrival[];
  /** Base round trip between two locations, ms (what the simulation jitters per call). */
  readonly roundTripMs: (from: number, to: number) => number;
}

/**
 * The arrivals of `scenario` as `simulate` schedules them: the same seed, drawn in the same order
 * (the geography's stream first, then the traffic's), on a clock nothing else uses.
 */
export async function traceOf(scenario: Scenario): Promise<Trace> {
  const start = startOf(scenario);
  // No promise runs between arrivals: one drain per simulated second is plenty.
  const vt = new VirtualTime(start, 1_000);
  const root = new Rng(scenario.seed);
  const geo = new Geography(scenario.locations, scenario.rtt, vt, root.fork());
  const trafficRng = root.fork();
  const people = identities(scenario, trafficRng.fork());
  const arrivals: Arrival[] = [];
  scheduleTraffic(scenario, people, vt, start, trafficRng.fork(), (identity, location) => {
    arrivals.push({ at: vt.now, identity, location });
  });
  await vt.run(start + scenario.durationMs);
  return { people, arrivals, roundTripMs: (from, to) => geo.baseRoundTrip(from, to) };
}

/** How late a decision at `from` is known at `to`, ms (`from === to`: within one location). */
export type NewsDelay = (from: number, to: number) => number;

/** Allowed instants of one identity, all locations together and per location (time order). */
interface History {
  readonly all: number[];
  readonly byLocation: Map<number, number[]>;
}

/** How many of the sorted `times` are at or before `t`. */
function countUpTo(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((times[mid] ?? 0) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Whether the ideal limiter at `location` and `t` knows of room in a window of `limit` over
 * `windowMs`: each decision counted once `delay` from its location has passed.
 */
function knowsRoom(
  history: History,
  location: number,
  t: number,
  windowMs: number,
  limit: number,
  delay: NewsDelay,
): boolean {
  let known = 0;
  for (const [from, times] of history.byLocation) {
    const upTo = t - delay(from, location);
    known += Math.max(0, countUpTo(times, upTo) - countUpTo(times, t - windowMs));
    if (known >= limit) return false;
  }
  return true;
}

/** The ideal limiter's judgement per identity on `trace`, with news between locations `delay` late. */
export function judgeIdeal(trace: Trace, delay: NewsDelay): Judgement[] {
  const histories: History[] = trace.people.map(() => ({ all: [], byLocation: new Map() }));
  const logs = trace.people.map((p) => new DecisionLog(p.windows));
  for (const { at, identity, location } of trace.arrivals) {
    const who = trace.people[identity];
    const history = histories[identity];
    const log = logs[identity];
    if (!who || !history || !log) continue;
    // What it knows is never more than what happened: with room in every window in truth there
    // is nothing to work out (the big customer's 1.8 million requests take this way).
    const allowed = who.windows.every((w) => {
      const inWindow = history.all.length - countUpTo(history.all, at - w.windowMs);
      return inWindow < w.limit || knowsRoom(history, location, at, w.windowMs, w.limit, delay);
    });
    log.add(at, allowed, 'ideal');
    if (!allowed) continue;
    history.all.push(at);
    let own = history.byLocation.get(location);
    if (!own) {
      own = [];
      history.byLocation.set(location, own);
    }
    own.push(at);
  }
  return logs.map((log) => log.judge());
}

/** One ideal row: the news delay it assumed and what it got wrong, overall and per tier. */
export interface IdealRow {
  readonly delay: string;
  readonly requests: number;
  readonly overshootPct: number;
  readonly wrongPct: number;
  /** Overshooting requests per tier. */
  readonly overshootByTier: Record<string, number>;
  readonly attackerMaxOverLimit: number;
}

/** The ideal limiter's row for `delay`, named `name`. */
export function idealRow(trace: Trace, name: string, delay: NewsDelay): IdealRow {
  const judgements = judgeIdeal(trace, delay);
  const overshootByTier: Record<string, number> = {};
  let overshoot = 0;
  let requests = 0;
  let attackerMaxOverLimit = 0;
  judgements.forEach((j, i) => {
    const tier = trace.people[i]?.tier ?? 'unknown';
    overshoot += j.overshoot;
    requests += j.decisions;
    overshootByTier[tier] = (overshootByTier[tier] ?? 0) + j.overshoot;
    if (tier === 'attacker') attackerMaxOverLimit = j.maxOverLimit;
  });
  const pct = (n: number) => (requests > 0 ? (100 * n) / requests : 0);
  return {
    delay: name,
    requests,
    overshootPct: pct(overshoot),
    // It never rejects a request there was room for (see the module comment).
    wrongPct: pct(overshoot),
    overshootByTier,
    attackerMaxOverLimit,
  };
}

/**
 * The ideal rows `npm run sim` prints: news a one-way trip late between every pair of locations
 * (half the pair's base round trip: a direct line, no detour through an object; half the local
 * round trip within one location), and at fixed delays from 1 ms to 40 ms.
 */
export function idealRows(
  trace: Trace,
  fixedMs: readonly number[] = [1, 5, 10, 20, 40],
): IdealRow[] {
  return [
    idealRow(trace, 'one way', (a, b) => trace.roundTripMs(a, b) / 2),
    ...fixedMs.map((ms) => idealRow(trace, `${ms} ms`, () => ms)),
  ];
}
