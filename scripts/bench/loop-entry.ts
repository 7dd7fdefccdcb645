/**
 * Bench-only entry for `scripts/bench/loop.ts`: the counting entry, plus `GET /__bench/loop`,
 * which sends `n` requests (`c` at a time, `wait` ms apart per lane) through the worker's own
 * fetch handler inside the isolate, with the headers of the loop request. No HTTP client and no
 * Miniflare entry worker in between, so the workerd CPU time around one loop is the worker's.
 */
import counting, { LimiterObject, UsageObject } from './counting-entry';

export { LimiterObject, UsageObject };

/** Most requests one loop sends. */
const MAX_N = 50_000;

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname !== '/__bench/loop') return counting.fetch(request, env, ctx);
    const n = Math.min(MAX_N, Number(url.searchParams.get('n') ?? '1000'));
    const lanes = Math.max(1, Number(url.searchParams.get('c') ?? '1'));
    const wait = Number(url.searchParams.get('wait') ?? '0');
    const target = `${url.origin}${url.searchParams.get('path') ?? '/v1/items'}`;
    const statuses: Record<string, number> = {};
    let sent = 0;
    const lane = async () => {
      while (sent < n) {
        sent++;
        const response = await counting.fetch(
          new Request(target, { headers: request.headers }),
          env,
          ctx,
        );
        await response.arrayBuffer();
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        if (wait > 0) await scheduler.wait(wait);
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    return Response.json({ n: sent, statuses });
  },
} satisfies ExportedHandler<Env>;
