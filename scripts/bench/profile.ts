/**
 * `tsx scripts/bench/profile.ts [--seconds 4] [--side limited,bypassed] [--store hybrid]`: CPU
 * profiles of workerd under the throughput phase's load (16 in flight, 127.0.0.1 only), one per
 * side, so the time a limited request spends beyond a bypassed one can be read function by
 * function. Writes `bench-results/profile-<side>.cpuprofile` (open in Chrome devtools) and prints
 * the top functions by self time, and the inclusive time of the worker's own entry points.
 * Bounded: one worker, a few seconds per side.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BENCH_SERVICE_TOKEN,
  bundleWorkers,
  createCustomer,
  parseRttMs,
  ROOT,
  type StoreMode,
  startEdgelimit,
  startRedisStack,
} from './harness';
import { cpuMs, workerdPids } from './proc-cpu';
import { HUGE_LIMIT } from './profiles';
import { IP, PATH } from './targets';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** A tiny CDP client over the inspector's WebSocket. */
async function connect(url: string) {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot open ${url}`)), { once: true });
  });
  let next = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) {
      waiting.get(message.id)?.(message.result);
      waiting.delete(message.id);
    }
  });
  return {
    send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      const id = next++;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise<T>((resolve) => waiting.set(id, resolve as (r: unknown) => void));
    },
    close: () => ws.close(),
  };
}

/**
 * Self and inclusive time per function (name + location), in µs per request: the samples' time
 * deltas, so a coarser sampling than asked for does not skew the figures. `(idle)` is the
 * isolate's thread waiting.
 */
function summarize(profile: CpuProfile, top: number, requests: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Time of each node: the delta after each of its samples.
  const timeOf = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    timeOf.set(id, (timeOf.get(id) ?? 0) + (deltas[i + 1] ?? 0));
  }
  for (const n of profile.nodes) n.hitCount = timeOf.get(n.id) ?? 0;
  const total = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const idle = profile.nodes
    .filter((n) => n.callFrame.functionName === '(idle)')
    .reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const label = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop() ?? ''}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (!hits) continue;
    self.set(label(n), (self.get(label(n)) ?? 0) + hits);
    // Inclusive: every distinct function on the stack of this node gets the hits once.
    const onStack = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (node) onStack.add(label(node));
    }
    for (const l of onStack) inclusive.set(l, (inclusive.get(l) ?? 0) + hits);
  }
  const pct = (n: number) =>
    `${((100 * n) / total).toFixed(1).padStart(5)}% ${(n / requests).toFixed(1).padStart(6)} µs/req`;
  const lines = [
    `profiled ${(total / 1000).toFixed(0)} ms, busy ${((total - idle) / 1000).toFixed(0)} ms, ` +
      `${requests} requests: ${((total - idle) / requests).toFixed(1)} µs busy per request`,
    'self:',
  ];
  for (const [l, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${pct(n)}  ${l}`);
  }
  lines.push('inclusive (worker bundle functions):');
  for (const [l, n] of [...inclusive]
    .filter(([l]) => l.includes('edgelimit.mjs'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top * 2)) {
    lines.push(`  ${pct(n)}  ${l}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '4' },
      side: { type: 'string', default: 'bypassed,limited' },
      store: { type: 'string', default: 'hybrid' },
      consistency: { type: 'string', default: 'fast' },
      port: { type: 'string', default: '9431' },
      top: { type: 'string', default: '30' },
      /** Instead of profiling: alternate sides for this many rounds, report workerd CPU per request. */
      cpu: { type: 'string', default: '0' },
      /**
       * Send the load from inside the isolate (`loop-entry.ts`, 16 lanes, no pause), so the
       * profile holds the worker's own work only.
       */
      'in-isolate': { type: 'boolean', default: false },
      /** ms the local Upstash server adds per HTTP request (the bench's RTT). */
      rtt: { type: 'string', default: '0' },
    },
  });
  const rttMs = parseRttMs(values.rtt);
  const seconds = Math.min(20, Number(values.seconds));
  const port = Number(values.port);
  const inIsolate = values['in-isolate'];
  const bundles = await bundleWorkers(
    inIsolate ? 'scripts/bench/loop-entry.ts' : 'scripts/bench/counting-entry.ts',
  );
  const stack = await startRedisStack();
  const inspect = Number(values.cpu) > 0 ? undefined : port;
  const started = await startEdgelimit(
    values.store as StoreMode,
    bundles.edgelimit,
    stack,
    {},
    inspect,
  );
  try {
    if (!started.available) throw new Error(started.reason);
    const worker = started.worker;
    await stack.setDelay(rttMs);
    const key = await createCustomer(worker, 'profile-fast', {
      tier: 'enterprise',
      limits: [{ limit: HUGE_LIMIT, window: '1m' }],
      consistency: values.consistency,
    });
    if (!key) throw new Error('admin API refused the customer');
    const specs = {
      limited: { headers: { ...IP, 'X-API-Key': key } },
      bypassed: { headers: { ...IP, 'X-Service-Token': BENCH_SERVICE_TOKEN } },
    } as const;
    const load = async (side: keyof typeof specs, ms: number) => {
      const end = performance.now() + ms;
      let n = 0;
      if (inIsolate) {
        const query = `n=2000&c=16&wait=0&path=${encodeURIComponent(PATH)}`;
        while (performance.now() < end) {
          await worker.fetchJson(`/__bench/loop?${query}`, specs[side]);
          n += 2000;
        }
        return n;
      }
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (performance.now() < end) {
            await worker.fetch(PATH, specs[side]);
            n++;
          }
        }),
      );
      return n;
    };
    // Warm the JIT, the caches and the lease.
    await load('limited', 1500);
    await load('bypassed', 1500);
    const rounds = Number(values.cpu);
    if (rounds > 0) {
      const [pid] = await workerdPids();
      if (pid === undefined) throw new Error('no workerd child found');
      const sums = { limited: { n: 0, cpu: 0, ms: 0 }, bypassed: { n: 0, cpu: 0, ms: 0 } };
      for (let r = 0; r < rounds; r++) {
        for (const side of (r % 2
          ? ['limited', 'bypassed']
          : ['bypassed', 'limited']) as (keyof typeof specs)[]) {
          const c0 = await cpuMs(pid);
          const u0 = process.cpuUsage();
          const t0 = performance.now();
          const n = await load(side, seconds * 1000);
          const ms = performance.now() - t0;
          const cpu = (await cpuMs(pid)) - c0;
          const u = process.cpuUsage(u0);
          const nodeUs = (u.user + u.system) / n;
          sums[side].n += n;
          sums[side].cpu += cpu;
          sums[side].ms += ms;
          console.log(
            `round ${r} ${side.padEnd(8)} ${((1000 * n) / ms).toFixed(0).padStart(5)} rps, ` +
              `workerd ${((1000 * cpu) / n).toFixed(0).padStart(5)} µs CPU/req, ` +
              `node (client) ${nodeUs.toFixed(0).padStart(5)} µs CPU/req`,
          );
        }
      }
      const per = (s: { n: number; cpu: number; ms: number }) => ({
        rps: (1000 * s.n) / s.ms,
        cpuUs: (1000 * s.cpu) / s.n,
      });
      const l = per(sums.limited);
      const b = per(sums.bypassed);
      console.log(
        `total: limited ${l.rps.toFixed(0)} rps ${l.cpuUs.toFixed(0)} µs/req; bypassed ` +
          `${b.rps.toFixed(0)} rps ${b.cpuUs.toFixed(0)} µs/req; rps ratio ${(l.rps / b.rps).toFixed(3)}, ` +
          `CPU ratio (bypassed/limited) ${(b.cpuUs / l.cpuUs).toFixed(3)}`,
      );
      return;
    }
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
      webSocketDebuggerUrl?: string;
      title?: string;
      id?: string;
    }[];
    const target = targets.find((t) => (t.id ?? t.title ?? '').includes('edgelimit')) ?? targets[0];
    const wsUrl =
      target?.webSocketDebuggerUrl ??
      `ws://127.0.0.1:${port}/${target?.id ?? 'core:user:edgelimit-hybrid'}`;
    console.error(`inspector targets: ${targets.map((t) => t.id ?? t.title).join(', ')}`);
    const cdp = await connect(wsUrl);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    await mkdir(join(ROOT, 'bench-results'), { recursive: true });
    for (const side of values.side.split(',') as (keyof typeof specs)[]) {
      await cdp.send('Profiler.start');
      const requests = await load(side, seconds * 1000);
      const rps = requests / seconds;
      const { profile } = await cdp.send<{ profile: CpuProfile }>('Profiler.stop');
      await writeFile(
        join(ROOT, 'bench-results', `profile-${side}.cpuprofile`),
        JSON.stringify(profile),
      );
      console.log(
        `\n== ${side}: ${rps.toFixed(0)} rps while profiling\n${summarize(profile, Number(values.top), requests)}`,
      );
    }
    cdp.close();
  } finally {
    if (started.available) await started.worker.dispose();
    await stack.stop();
    await bundles.cleanup();
  }
}

await main();
