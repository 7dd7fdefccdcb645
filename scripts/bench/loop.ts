/**
 * `tsx scripts/bench/loop.ts [--n 4000] [--rounds 6] [--lanes 16] [--wait 1] [--rtt 0] [--limit N]`: workerd CPU per
 * request of the hybrid worker's own fetch handler, limited (`fast` customer, allowed) against
 * bypassed (service token), without the HTTP client or Miniflare's entry worker: the loop runs
 * inside the isolate (`loop-entry.ts`) and the CPU time is read from /proc around it, so other
 * processes on the machine distort it far less than rates. Sides alternate ABBA per round.
 * 127.0.0.1 only, bounded (at most 50,000 requests per loop).
 */
import { parseArgs } from 'node:util';
import {
  BENCH_SERVICE_TOKEN,
  bundleWorkers,
  createCustomer,
  parseRttMs,
  type StoreMode,
  startEdgelimit,
  startRedisStack,
} from './harness';
import { cpuMs, workerdPids } from './proc-cpu';
import { HUGE_LIMIT } from './profiles';
import { IP, PATH } from './targets';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '4000' },
      rounds: { type: 'string', default: '6' },
      lanes: { type: 'string', default: '16' },
      /** ms each lane waits between requests, so the clock (and the lease's rate) moves. */
      wait: { type: 'string', default: '1' },
      store: { type: 'string', default: 'hybrid' },
      consistency: { type: 'string', default: 'fast' },
      /** ms the local Upstash server adds per HTTP request (the bench's RTT). */
      rtt: { type: 'string', default: '0' },
      /** The limited customer's limit per minute (the default, 1e9, is sharded 16 ways). */
      limit: { type: 'string', default: String(HUGE_LIMIT) },
    },
  });
  const rttMs = parseRttMs(values.rtt);
  const bundles = await bundleWorkers('scripts/bench/loop-entry.ts');
  const stack = await startRedisStack();
  const started = await startEdgelimit(values.store as StoreMode, bundles.edgelimit, stack);
  try {
    if (!started.available) throw new Error(started.reason);
    const worker = started.worker;
    await stack.setDelay(rttMs);
    const key = await createCustomer(worker, 'loop-fast', {
      tier: 'enterprise',
      limits: [{ limit: Number(values.limit), window: '1m' }],
      consistency: values.consistency,
    });
    if (!key) throw new Error('admin API refused the customer');
    const headers = {
      limited: { ...IP, 'X-API-Key': key },
      bypassed: { ...IP, 'X-Service-Token': BENCH_SERVICE_TOKEN },
    } as const;
    const [pid] = await workerdPids();
    if (pid === undefined) throw new Error('no workerd child found');
    const loop = async (side: keyof typeof headers, n: number) => {
      const query = `n=${n}&c=${values.lanes}&wait=${values.wait}&path=${encodeURIComponent(PATH)}`;
      const c0 = await cpuMs(pid);
      const { status, body } = await worker.fetchJson(`/__bench/loop?${query}`, {
        headers: headers[side],
      });
      const cpu = (await cpuMs(pid)) - c0;
      const statuses = (body as { statuses?: Record<string, number> } | undefined)?.statuses;
      if (status !== 200 || statuses?.['200'] !== n) {
        throw new Error(`${side} loop: ${status} ${JSON.stringify(body)}`);
      }
      return (1000 * cpu) / n;
    };
    const n = Number(values.n);
    // Warm the JIT, the caches and the lease.
    await loop('limited', Math.min(n, 2000));
    await loop('bypassed', Math.min(n, 2000));
    const sums = { limited: [] as number[], bypassed: [] as number[] };
    for (let r = 0; r < Number(values.rounds); r++) {
      const order: (keyof typeof headers)[] =
        r % 2 ? ['limited', 'bypassed'] : ['bypassed', 'limited'];
      const line: string[] = [];
      for (const side of order) {
        const us = await loop(side, n);
        sums[side].push(us);
        line.push(`${side} ${us.toFixed(0).padStart(4)} µs`);
      }
      console.log(`round ${r}: ${line.join(', ')}`);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const l = sums.limited;
    const b = sums.bypassed;
    console.log(
      `workerd CPU per request: limited mean ${mean(l).toFixed(1)} median ${median(l).toFixed(1)} µs, ` +
        `bypassed mean ${mean(b).toFixed(1)} median ${median(b).toFixed(1)} µs; ` +
        `difference mean ${(mean(l) - mean(b)).toFixed(1)} µs`,
    );
  } finally {
    if (started.available) await started.worker.dispose();
    await stack.stop();
    await bundles.cleanup();
  }
}

await main();
