/**
 * The simulation checked against reality: one scenario at 0 ms round trips runs through the
 * simulator (virtual time, simulated objects and Redis) and through the worker's own composed
 * store in workerd (the real LimiterObject over RPC, its SQLite storage, the local Upstash
 * server), on the same trace; the decisions agree request for request, in both consistency modes.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { AGREEMENT_SCENARIO } from '../../scripts/sim/scenario';
import { hybridSettings } from '../../scripts/sim/settings';
import { type Consistency, simulate } from '../../scripts/sim/simulate';
import { manualClock } from '../../src/clock';
import type { Bindings } from '../../src/env';
import type { CheckRequest, CounterStore } from '../../src/limiter/contract';
import { decide } from '../../src/limiter/decide';
import { composeStore } from '../../src/store/compose';
import { uniqueId } from '../support/customers';

describe('the simulator against the worker in workerd (0 ms round trips)', () => {
  for (const consistency of ['exact', 'fast'] satisfies Consistency[]) {
    it(`decides the same trace identically, request for request (${consistency})`, async () => {
      const { trace } = await simulate(AGREEMENT_SCENARIO, consistency, {
        trace: true,
        pinNow: true,
      });
      const outcomes = new Set(trace.map((d) => d.outcome));
      // A trace that only allows (or only rejects) would prove nothing.
      expect(outcomes).toEqual(new Set(['allowed', 'rejected']));
      expect(trace.length).toBeGreaterThan(200);

      const clock = manualClock();
      const run = uniqueId('agree');
      // One isolate per location, as in the simulation: each has its own L1, breaker, leases.
      const stores = new Map<number, CounterStore>();
      const settling: (() => Promise<void>)[] = [];
      const storeAt = (location: number): CounterStore => {
        let store = stores.get(location);
        if (!store) {
          const composed = composeStore(
            env as Bindings,
            hybridSettings(AGREEMENT_SCENARIO, {
              url: inject('upstashUrl'),
              token: inject('upstashToken'),
            }),
            clock,
          );
          settling.push(composed.settled);
          store = {
            name: composed.store.name,
            check: (r: CheckRequest) => composed.store.check({ ...r, now: clock.now() }),
          };
          stores.set(location, store);
        }
        return store;
      };
      const disagreements: string[] = [];
      for (const [i, simulated] of trace.entries()) {
        // At 0 ms round trips a background lease renewal lands before the next request in the
        // simulation; in workerd it takes real time, so let it land first.
        await Promise.all(settling.map((settled) => settled()));
        clock.set(simulated.at);
        const decision = await decide({
          store: storeAt(simulated.location),
          identity: `${simulated.identity}-${run}`,
          policy: {
            windows: simulated.windows,
            failMode: 'open',
            ...(consistency === 'fast' ? { consistency: 'fast' as const } : {}),
          },
          clock,
        });
        const real = `${decision.outcome} ${decision.windows.map((w) => w.remaining).join('/')}${decision.error ? ` (${decision.error.message})` : ''}`;
        const sim = `${simulated.outcome} ${simulated.remaining.join('/')}`;
        if (real !== sim)
          disagreements.push(
            `#${i} ${simulated.identity} @${simulated.at}: sim ${sim}, workerd ${real}`,
          );
      }
      expect(disagreements.slice(0, 10)).toEqual([]);
    });
  }
});
