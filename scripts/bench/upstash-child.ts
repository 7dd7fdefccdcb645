/**
 * Runs the local Upstash server in a child process for the benchmark, so its answers are not
 * delayed by the event loop that drives the load; the parent controls it over IPC.
 */
import { z } from 'zod';
import { billedCommands, commandstatsReader } from '../lib/billed-commands';
import { startUpstashLocal } from '../upstash-local';

/** Messages the parent sends; each gets one reply with the same `id`. */
export const controlMessage = z.discriminatedUnion('op', [
  z.object({ id: z.number(), op: z.literal('setDelay'), ms: z.number().min(0).max(1000) }),
  z.object({ id: z.number(), op: z.literal('stats') }),
  z.object({ id: z.number(), op: z.literal('resetStats') }),
]);
export type ControlMessage = z.infer<typeof controlMessage>;

async function main(): Promise<void> {
  const options = z
    .object({ redisPort: z.coerce.number().int().positive(), token: z.string().min(1) })
    .parse({ redisPort: process.env.BENCH_REDIS_PORT, token: process.env.BENCH_UPSTASH_TOKEN });
  const server = await startUpstashLocal(options);
  // Billed commands come from redis-server itself: every command a script ran is counted there.
  const commandstats = await commandstatsReader(options.redisPort);
  process.on('message', (raw: unknown) => {
    const parsed = controlMessage.safeParse(raw);
    if (!parsed.success) return;
    const m = parsed.data;
    void (async () => {
      if (m.op === 'setDelay') server.setDelay(m.ms);
      if (m.op === 'resetStats') {
        server.resetStats();
        await commandstats.reset();
      }
      const calls = await commandstats.read();
      process.send?.({
        id: m.id,
        stats: { ...server.stats(), billed: billedCommands(calls), calls },
      });
    })();
  });
  // The parent going away (even killed) closes the IPC channel: stop with it.
  process.on('disconnect', () => {
    void server.stop().finally(() => process.exit(0));
  });
  process.send?.({ ready: server.url });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
