/**
 * Where things are and how long messages take: locations, a base round trip per pair of
 * locations drawn once from a lognormal (default median 40 ms, p99 about 200 ms), jitter per
 * call, and one location for Upstash. Calls are two one-way halves of one sampled round trip.
 * A call made for an identity draws its jitter from that identity's own stream, so that a
 * change to how often one identity calls (a design change under measurement) does not move the
 * round trips of every other identity's calls after it.
 */
import { Rng, sigmaForP99 } from './rng';
import type { VirtualTime } from './virtual-time';

/** Round trips between locations, ms. */
export interface RttModel {
  readonly medianMs: number;
  readonly p99Ms: number;
  /** Within one location (isolate to an object placed there). */
  readonly localMedianMs: number;
  /** Log-space sigma of the per-call jitter around a pair's base round trip. */
  readonly jitterSigma: number;
}

/** The network between the simulated locations. */
export class Geography {
  private readonly base: Float64Array;
  private readonly sigma: number;
  /** Extra latency and failure per target location (Redis slow or down). */
  readonly upstash: number;
  /** Jitter streams per identity (see the module comment). */
  private readonly streams = new Map<string, Rng>();

  constructor(
    readonly locations: number,
    private readonly rtt: RttModel,
    private readonly vt: VirtualTime,
    private readonly rng: Rng,
  ) {
    this.sigma = rtt.medianMs > 0 ? sigmaForP99(rtt.medianMs, rtt.p99Ms) : 0;
    this.base = new Float64Array(locations * locations);
    for (let i = 0; i < locations; i++) {
      for (let j = i; j < locations; j++) {
        const ms =
          i === j
            ? rtt.localMedianMs
            : rtt.medianMs > 0
              ? rng.lognormal(rtt.medianMs, this.sigma)
              : 0;
        this.base[i * locations + j] = ms;
        this.base[j * locations + i] = ms;
      }
    }
    // Upstash sits in one region: the location with the median distance to the others.
    this.upstash = 0;
  }

  /** The pair's base round trip, ms, before per-call jitter. */
  baseRoundTrip(from: number, to: number): number {
    return this.base[from * this.locations + to] ?? 0;
  }

  /**
   * One round trip between two locations, ms (0 when the model has no latency); its jitter from
   * `stream`'s own generator when given, else the shared one.
   */
  roundTrip(from: number, to: number, stream?: string): number {
    const base = this.baseRoundTrip(from, to);
    if (base === 0) return 0;
    if (this.rtt.jitterSigma <= 0) return base;
    return this.jitterOf(stream).lognormal(base, this.rtt.jitterSigma);
  }

  /**
   * Calls `handler` at `to` from `from`: half a round trip there, the handler, half back.
   * `extraMs` is added on the way there (a slow store); `stream` names whose call it is (its
   * identity), for the jitter.
   */
  async call<T>(
    from: number,
    to: number,
    handler: () => Promise<T>,
    extraMs = 0,
    stream?: string,
  ): Promise<T> {
    const rtt = this.roundTrip(from, to, stream);
    await this.delay(rtt / 2 + extraMs);
    let result: T;
    try {
      result = await handler();
    } catch (error) {
      await this.delay(rtt / 2);
      throw error;
    }
    await this.delay(rtt / 2);
    return result;
  }

  private jitterOf(stream: string | undefined): Rng {
    if (stream === undefined) return this.rng;
    let rng = this.streams.get(stream);
    if (!rng) {
      rng = this.rng.derive(stream);
      this.streams.set(stream, rng);
    }
    return rng;
  }

  private delay(ms: number): Promise<void> {
    return ms > 0 ? this.vt.sleep(ms) : Promise.resolve();
  }
}

/** Default round trips of the issue: lognormal, median 40 ms, p99 about 200 ms. */
export const DEFAULT_RTT: RttModel = {
  medianMs: 40,
  p99Ms: 200,
  localMedianMs: 1,
  jitterSigma: 0.15,
};

export { Rng };
