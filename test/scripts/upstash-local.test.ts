/** The local Upstash REST server, driven by the real @upstash/redis and @upstash/ratelimit clients. */
import { createHash, randomUUID } from 'node:crypto';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { beforeEach, describe, expect, it } from 'vitest';
import { startRedisServer } from '../../scripts/lib/redis-server';
import { connectResp, RespError } from '../../scripts/lib/resp-client';
import { rewriteShebang, startUpstashLocal } from '../../scripts/upstash-local';
import { useUpstashStack } from '../support/upstash-stack';

const TOKEN = 'local-test-token';
const sha1 = (text: string) => createHash('sha1').update(text, 'utf8').digest('hex');

const stack = useUpstashStack(TOKEN);

beforeEach(() => {
  stack.upstash.setDelay(0);
});

/** A client like the worker's: auto-pipelining and base64 responses are the library defaults. */
function client(overrides: { token?: string; automaticDeserialization?: boolean } = {}): Redis {
  return new Redis({
    url: stack.upstash.url,
    token: overrides.token ?? TOKEN,
    automaticDeserialization: overrides.automaticDeserialization ?? true,
    retry: false,
  });
}

/** A unique key prefix per test, so tests never see each other's data. */
const key = (name: string) => `test:${randomUUID()}:${name}`;

/** Raw HTTP, for what the client library hides: status codes and exact bodies. */
async function call(
  path: string,
  init: {
    body?: string | Uint8Array;
    token?: string | null;
    headers?: Record<string, string>;
  } = {},
): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? TOKEN}`;
  const res = await fetch(`${stack.upstash.url}${path}`, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers,
    body: init.body,
  });
  return { status: res.status, json: await res.json() };
}

describe('rewriteShebang', () => {
  it('drops flags stock Redis does not know and keeps the ones it does', () => {
    expect(rewriteShebang('#!lua flags=allow-key-locking,no-writes\nreturn 1')).toBe(
      '#!lua flags=no-writes\nreturn 1',
    );
  });

  it('blanks the shebang line when no flag survives, keeping line numbers', () => {
    expect(rewriteShebang('#!lua flags=allow-key-locking\nreturn 1')).toBe('\nreturn 1');
    expect(rewriteShebang('#!lua name=lib\nreturn 1')).toBe('\nreturn 1');
  });

  it('leaves scripts without a shebang or with a valid one untouched', () => {
    expect(rewriteShebang('return 1')).toBe('return 1');
    expect(rewriteShebang('#!lua flags=no-writes\nreturn 1')).toBe(
      '#!lua flags=no-writes\nreturn 1',
    );
  });
});

describe('startRedisServer', () => {
  it('explains how to install redis-server when it is not on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const failure = startRedisServer();
      await expect(failure).rejects.toThrow(/apt-get install -y redis-server/);
      await expect(failure).rejects.toThrow(/brew install redis/);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('connectResp', () => {
  it('pipelines commands and returns errors, nulls, bytes and arrays as values', async () => {
    const resp = await connectResp({ port: stack.redisServer.port });
    try {
      const k = key('resp');
      const replies = await resp.sendMany([
        ['SET', k, Buffer.from([0, 255])],
        ['GET', k],
        ['INCR', k],
        ['GET', key('none')],
        ['RPUSH', `${k}:l`, 'a', 1],
        ['LRANGE', `${k}:l`, 0, -1],
      ]);
      expect(replies[0]).toBe('OK');
      expect(replies[1]).toEqual(Buffer.from([0, 255]));
      expect(replies[2]).toBeInstanceOf(RespError);
      expect(replies.slice(3)).toEqual([null, 2, [Buffer.from('a'), Buffer.from('1')]]);
    } finally {
      await resp.close();
    }
    expect(resp.closed).toBe(true);
    await expect(resp.send(['PING'])).rejects.toThrow(/closed/);
  });

  it('decodes RESP3 maps after HELLO 3', async () => {
    const resp = await connectResp({ port: stack.redisServer.port, protocol: 3 });
    try {
      const k = key('resp3');
      await resp.send(['HSET', k, 'f', 'v']);
      expect(await resp.send(['HGETALL', k])).toEqual({
        kind: 'map',
        entries: [[Buffer.from('f'), Buffer.from('v')]],
      });
      expect(await resp.send(['GET', key('none')])).toBeNull();
    } finally {
      await resp.close();
    }
  });
});

describe('startUpstashLocal with @upstash/redis', () => {
  it('sets, gets and increments values', async () => {
    const redis = client();
    const k = key('counter');
    expect(await redis.set(k, 'hello')).toBe('OK');
    expect(await redis.get(k)).toBe('hello');
    const n = key('n');
    expect(await redis.incr(n)).toBe(1);
    expect(await redis.incrby(n, 41)).toBe(42);
    expect(await redis.get(n)).toBe(42);
    expect(await redis.get(key('missing'))).toBeNull();
  });

  it('applies expiries', async () => {
    const redis = client();
    const k = key('ttl');
    await redis.set(k, 'v', { ex: 100 });
    const ttl = await redis.ttl(k);
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await redis.expire(k, 5)).toBe(1);
    expect(await redis.ttl(k)).toBeLessThanOrEqual(5);
  });

  it('handles hashes', async () => {
    const redis = client();
    const k = key('hash');
    expect(await redis.hset(k, { name: 'ada', visits: 3 })).toBe(2);
    expect(await redis.hincrby(k, 'visits', 2)).toBe(5);
    expect(await redis.hgetall(k)).toEqual({ name: 'ada', visits: 5 });
  });

  it('handles sorted sets with scores', async () => {
    const redis = client();
    const k = key('zset');
    await redis.zadd(k, { score: 2, member: 'b' }, { score: 1, member: 'a' });
    expect(await redis.zrange(k, 0, -1)).toEqual(['a', 'b']);
    expect(await redis.zrange(k, 0, -1, { withScores: true })).toEqual(['a', 1, 'b', 2]);
    expect(await redis.zscore(k, 'b')).toBe(2);
    expect(await redis.zcard(k)).toBe(2);
  });

  it('runs pipelines in order', async () => {
    const redis = client();
    const k = key('p');
    const results = await redis.pipeline().set(k, 1).incr(k).get(k).exec();
    expect(results).toEqual(['OK', 2, 2]);
  });

  it('runs transactions with redis.multi()', async () => {
    const redis = client();
    const k = key('m');
    const results = await redis.multi().set(k, 10).incrby(k, 5).get(k).exec();
    expect(results).toEqual(['OK', 15, 15]);
  });

  it('round-trips control characters, unicode and base64-looking text under base64 encoding', async () => {
    const redis = client({ automaticDeserialization: false });
    const values = ['\u0000\u0001\u007f\t\r\n', 'héllo wörld ✓ 🚀 日本語', 'OK', 'YmFy', ''];
    for (const value of values) {
      const k = key('text');
      await redis.set(k, value);
      expect(await redis.get(k)).toBe(value);
      expect(await redis.mget(k, key('none'))).toEqual([value, null]);
    }
  });

  it('returns the exact bytes of a binary value when asked for base64', async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const k = key('bin');
    const base64 = { 'upstash-encoding': 'base64' };
    // Upstash leaves the "OK" status readable even under base64; other strings are encoded.
    expect(
      (await call(`/set/${encodeURIComponent(k)}`, { body: bytes, headers: base64 })).json,
    ).toEqual({ result: 'OK' });
    const got = await call(`/get/${encodeURIComponent(k)}`, { headers: base64 });
    expect(got.json).toEqual({ result: Buffer.from(bytes).toString('base64') });
    expect((await call('/ping', { headers: base64 })).json).toEqual({
      result: Buffer.from('PONG').toString('base64'),
    });
  });

  it('answers the path form and accepts the token as a _token query parameter', async () => {
    const k = encodeURIComponent(key('path'));
    expect(await call(`/set/${k}/bar?EX=60&_token=${TOKEN}`, { token: null })).toEqual({
      status: 200,
      json: { result: 'OK' },
    });
    expect(await call(`/get/${k}?_token=${TOKEN}`, { token: null })).toEqual({
      status: 200,
      json: { result: 'bar' },
    });
    // Redis rounds a TTL to the second: 59 once more than half a second passed since the SET.
    expect([59, 60]).toContain(((await call(`/ttl/${k}`)).json as { result: number }).result);
  });

  it('rejects a wrong or missing token with 401', async () => {
    await expect(client({ token: 'wrong' }).get(key('x'))).rejects.toThrow(/Unauthorized/);
    expect(await call('/', { body: '["PING"]', token: 'wrong' })).toEqual({
      status: 401,
      json: { error: 'Unauthorized' },
    });
    expect(await call('/', { body: '["PING"]', token: null })).toEqual({
      status: 401,
      json: { error: 'Unauthorized' },
    });
  });

  it('rejects a malformed or non-array body with 400 and a message', async () => {
    const broken = await call('/', { body: '["SET", "k"' });
    expect(broken.status).toBe(400);
    expect(broken.json).toEqual({ error: expect.stringMatching(/failed to parse JSON/) });

    const object = await call('/', { body: '{"cmd":"GET"}' });
    expect(object.status).toBe(400);
    expect(object.json).toEqual({ error: expect.stringMatching(/non-empty JSON array/) });

    const pipeline = await call('/pipeline', { body: '["GET","k"]' });
    expect(pipeline.status).toBe(400);
    expect(pipeline.json).toEqual({ error: expect.stringMatching(/pipeline command 0/) });
  });

  it('surfaces Redis errors with the Redis message', async () => {
    const redis = client();
    const k = key('str');
    await redis.set(k, 'not a number');
    await expect(redis.incr(k)).rejects.toThrow(/ERR value is not an integer or out of range/);
    expect(await call('/', { body: JSON.stringify(['INCR', k]) })).toEqual({
      status: 400,
      json: { error: 'ERR value is not an integer or out of range' },
    });
  });

  it('reports per-command errors inside a pipeline and a transaction', async () => {
    const k = key('mixed');
    const body = JSON.stringify([
      ['SET', k, 'x'],
      ['INCR', k],
      ['GET', k],
    ]);
    const expected = [
      { result: 'OK' },
      { error: 'ERR value is not an integer or out of range' },
      { result: 'x' },
    ];
    expect(await call('/pipeline', { body })).toEqual({ status: 200, json: expected });
    expect(await call('/multi-exec', { body })).toEqual({ status: 200, json: expected });
  });

  it('answers 400 when a transaction is aborted before EXEC', async () => {
    const k = key('abort');
    const res = await call('/multi-exec', {
      body: JSON.stringify([
        ['SET', k, '1'],
        ['SET', k],
      ]),
    });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: expect.stringMatching(/^EXECABORT/) });
    expect((await call(`/get/${encodeURIComponent(k)}`)).json).toEqual({ result: null });
  });

  it('never interleaves concurrent transactions', async () => {
    const k = key('atomic');
    const body = JSON.stringify([
      ['INCR', k],
      ['GET', k],
    ]);
    const noise = JSON.stringify([
      ['INCR', k],
      ['INCR', k],
    ]);
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call(i % 2 ? '/multi-exec' : '/pipeline', { body: i % 2 ? body : noise }),
      ),
    );
    const transactions = responses.filter((_, i) => i % 2 === 1);
    for (const { status, json } of transactions) {
      expect(status).toBe(200);
      const [incr, get] = json as [{ result: number }, { result: string }];
      expect(String(incr.result)).toBe(get.result);
    }
  });

  it('refuses blocking and connection-state commands', async () => {
    for (const command of [['SUBSCRIBE', 'c'], ['BLPOP', 'l', 0], ['SELECT', 1], ['MULTI']]) {
      const res = await call('/', { body: JSON.stringify(command) });
      expect(res.status).toBe(400);
      expect(res.json).toEqual({ error: expect.stringMatching(/command not supported/) });
    }
  });

  describe('Lua scripts with Upstash shebang flags', () => {
    const source = `#!lua flags=allow-key-locking
local key = KEYS[1]
return redis.call('INCRBY', key, ARGV[1])`;

    it('runs EVAL and then EVALSHA with the sha of the original text', async () => {
      const redis = client();
      const k = key('lua');
      const script = redis.createScript<number>(source);
      expect(await script.eval([k], ['2'])).toBe(2);
      expect(await script.evalsha([k], ['3'])).toBe(5);
      expect(await redis.evalsha(sha1(source), [k], ['1'])).toBe(6);
    });

    it('returns the original sha from SCRIPT LOAD and knows it in SCRIPT EXISTS', async () => {
      const redis = client();
      const text = `${source}\n-- ${randomUUID()}`;
      expect(await redis.scriptExists(sha1(text))).toEqual([0]);
      expect(await redis.scriptLoad(text)).toBe(sha1(text));
      expect(await redis.scriptExists(sha1(text))).toEqual([1]);
      expect(await redis.evalsha(sha1(text), [key('loaded')], ['7'])).toBe(7);
    });

    it('falls back from NOSCRIPT to EVAL in script.exec()', async () => {
      const redis = client();
      const script = redis.createScript<number>(`${source}\n-- ${randomUUID()}`);
      const k = key('exec');
      expect(await script.exec([k], ['4'])).toBe(4);
      expect(await script.exec([k], ['4'])).toBe(8);
    });

    it('answers NOSCRIPT for an unknown sha', async () => {
      const unknown = 'f'.repeat(40);
      await expect(client().evalsha(unknown, [], [])).rejects.toThrow(/NOSCRIPT/);
      const res = await call('/', { body: JSON.stringify(['EVALSHA', unknown, 0]) });
      expect(res.status).toBe(400);
      expect(res.json).toEqual({ error: expect.stringMatching(/^NOSCRIPT/) });
    });

    it('keeps flags Redis knows, such as no-writes', async () => {
      const readOnly = `#!lua flags=no-writes,allow-key-locking
return redis.call('SET', KEYS[1], 'x')`;
      await expect(client().eval(readOnly, [key('ro')], [])).rejects.toThrow(
        /Write commands are not allowed from read-only scripts/,
      );
    });
  });

  it('delays each answer by the configured latency', async () => {
    const slow = await startUpstashLocal({
      redisPort: stack.redisServer.port,
      token: TOKEN,
      delayMs: 60,
    });
    try {
      const started = performance.now();
      const res = await fetch(slow.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: '["PING"]',
      });
      expect(await res.json()).toEqual({ result: 'PONG' });
      // Node may fire a timer up to 1 ms early relative to performance.now().
      expect(performance.now() - started).toBeGreaterThanOrEqual(59);
    } finally {
      await slow.stop();
    }

    stack.upstash.setDelay(80);
    const started = performance.now();
    expect(await client().ping()).toBe('PONG');
    expect(performance.now() - started).toBeGreaterThanOrEqual(79);
    expect(() => stack.upstash.setDelay(-1)).toThrow(/delayMs/);
  });

  it('counts Redis commands and HTTP requests', async () => {
    const redis = client();
    const k = key('stats');
    stack.upstash.resetStats();
    expect(stack.upstash.stats()).toEqual({ commands: 0, requests: 0 });
    await redis.pipeline().set(k, 1).incr(k).get(k).exec();
    expect(stack.upstash.stats()).toEqual({ commands: 3, requests: 1 });
    await redis.eval('return 1', [], []);
    expect(stack.upstash.stats()).toEqual({ commands: 4, requests: 2 });
    await redis.multi().incr(k).incr(k).exec();
    expect(stack.upstash.stats()).toEqual({ commands: 6, requests: 3 });
  });

  it('serves @upstash/ratelimit sliding windows end to end', async () => {
    const ratelimit = new Ratelimit({
      redis: client(),
      limiter: Ratelimit.slidingWindow(5, '10 s'),
      prefix: key('ratelimit'),
      // Every call must reach Redis, and a slow answer must not count as a pass.
      ephemeralCache: false,
      timeout: 0,
      analytics: false,
    });
    const outcomes: boolean[] = [];
    const remaining: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await ratelimit.limit('user-1');
      await res.pending;
      outcomes.push(res.success);
      remaining.push(res.remaining);
    }
    expect(outcomes).toEqual([true, true, true, true, true, false]);
    expect(remaining).toEqual([4, 3, 2, 1, 0, 0]);
    expect((await ratelimit.limit('user-2')).success).toBe(true);
  });
});
