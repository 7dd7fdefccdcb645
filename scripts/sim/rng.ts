/** Seeded randomness for the simulation: one generator, and the distributions the model draws from. */

/** A deterministic generator of uniform numbers in [0, 1) (mulberry32). */
export class Rng {
  private state: number;
  /** The state it started from (see {@link Rng.derive}). */
  private readonly origin: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
    this.origin = this.state;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Lognormal with the given median and log-space sigma. */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(Math.max(1 - this.next(), 1e-12));
  }

  /** A generator of its own, derived from this one (streams that must not shift each other). */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 2 ** 32));
  }

  /**
   * A generator of its own for `key`, from this one's seed and the key alone: it draws nothing
   * from this one, and the same key always gets the same stream, however many were derived
   * before it or in what order.
   */
  derive(key: string): Rng {
    // FNV-1a over the key's UTF-16 code units, mixed with the seed.
    let h = 0x811c9dc5 ^ this.origin;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return new Rng(Math.imul(h ^ (h >>> 16), 0x85ebca6b));
  }
}

/** Log-space sigma of a lognormal whose p99 is `p99` when its median is `median`. */
export function sigmaForP99(median: number, p99: number): number {
  return Math.log(p99 / median) / 2.3263;
}

/** Samples ranks 0..n-1 with P(k) proportional to 1/(k+1)^s (Zipf). */
export class Zipf {
  private readonly cdf: Float64Array;

  constructor(n: number, s: number) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      sum += 1 / (k + 1) ** s;
      this.cdf[k] = sum;
    }
    for (let k = 0; k < n; k++) this.cdf[k] = (this.cdf[k] ?? 0) / sum;
  }

  /** Share of all draws that rank `k` gets. */
  share(k: number): number {
    return (this.cdf[k] ?? 1) - (k > 0 ? (this.cdf[k - 1] ?? 0) : 0);
  }

  sample(rng: Rng): number {
    const u = rng.next();
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cdf[mid] ?? 1) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
