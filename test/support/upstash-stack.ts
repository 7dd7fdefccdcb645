/** Node-side tests: a throwaway redis-server and the local Upstash server, for one test file. */
import { afterAll, beforeAll } from 'vitest';
import { type RedisServer, startRedisServer } from '../../scripts/lib/redis-server';
import { startUpstashLocal, type UpstashLocal } from '../../scripts/upstash-local';

/** The running pair; read it inside tests (it is set in `beforeAll`). */
export interface UpstashStack {
  readonly redisServer: RedisServer;
  readonly upstash: UpstashLocal;
}

/**
 * Starts redis-server and the local Upstash server with `token` before the file's tests and
 * stops both after them.
 * @example const stack = useUpstashStack('t'); it('…', () => stack.upstash.url);
 */
export function useUpstashStack(token: string): UpstashStack {
  const stack = {} as { redisServer: RedisServer; upstash: UpstashLocal };
  beforeAll(async () => {
    stack.redisServer = await startRedisServer();
    stack.upstash = await startUpstashLocal({ redisPort: stack.redisServer.port, token });
  });
  afterAll(async () => {
    await stack.upstash?.stop();
    await stack.redisServer?.stop();
  });
  return stack;
}
