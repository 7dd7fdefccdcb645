/**
 * Virtual time for the simulation: a queue of events by instant, and the timers the project's
 * own code sets (`withDeadline` budgets) moved onto it, so a 50 ms budget is 50 virtual ms.
 */

interface Event {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** A handle of a scheduled event. */
export interface Scheduled {
  cancel(): void;
}

/** The simulated clock and its event queue (a binary heap by instant, then insertion order). */
export class VirtualTime {
  now: number;
  private readonly heap: Event[] = [];
  private seq = 0;
  /** Events run so far. */
  events = 0;

  /**
   * @param quantumMs - events less than this apart run before one shared drain of promise
   *   continuations (a macrotask costs microseconds; this is what keeps a run within minutes).
   *   0 = every event gets its own drain, strictly in order (the agreement test).
   */
  constructor(
    start: number,
    private readonly quantumMs = 0,
  ) {
    this.now = start;
  }

  /** Runs `fn` at `at` (not before now). */
  at(at: number, fn: () => void): Scheduled {
    const event: Event = { at: Math.max(at, this.now), seq: this.seq++, fn, cancelled: false };
    this.push(event);
    return {
      cancel: () => {
        event.cancelled = true;
      },
    };
  }

  /** Resolves `ms` virtual milliseconds from now. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.at(this.now + ms, resolve));
  }

  /**
   * Runs events in order until the queue is empty or the next one is after `until`. After each
   * event every promise continuation it caused runs (Node drains microtasks before the next
   * macrotask), so async code behaves as it would at that instant.
   */
  async run(until: number): Promise<void> {
    const realSetTimeout = globalThis.setTimeout;
    const realClearTimeout = globalThis.clearTimeout;
    const virtualSetTimeout = (fn: () => void, ms?: number) => this.at(this.now + (ms ?? 0), fn);
    const virtualClearTimeout = (handle?: Scheduled) => handle?.cancel?.();
    Object.assign(globalThis, {
      setTimeout: virtualSetTimeout,
      clearTimeout: virtualClearTimeout,
    });
    try {
      for (;;) {
        const first = this.heap[0];
        if (!first || first.at > until) break;
        const horizon = first.at + this.quantumMs;
        let ran = false;
        for (;;) {
          const event = this.heap[0];
          if (!event || event.at > until || (ran && event.at >= horizon)) break;
          this.pop();
          if (event.cancelled) continue;
          this.now = event.at;
          this.events++;
          event.fn();
          ran = true;
          if (this.quantumMs === 0) break;
        }
        if (ran) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      this.now = Math.max(this.now, until);
    } finally {
      Object.assign(globalThis, { setTimeout: realSetTimeout, clearTimeout: realClearTimeout });
    }
  }

  private less(a: Event, b: Event): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(event: Event): void {
    const h = this.heap;
    h.push(event);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent];
      if (!p || !this.less(event, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = event;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (!last || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best = last;
      const left = h[l];
      const right = h[r];
      if (left && this.less(left, best)) {
        m = l;
        best = left;
      }
      if (right && this.less(right, best)) m = r;
      if (m === i) break;
      h[i] = h[m] as Event;
      i = m;
    }
    h[i] = last;
  }
}
