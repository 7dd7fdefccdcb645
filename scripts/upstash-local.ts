/** A local server that speaks the Upstash Redis REST protocol in front of a real redis-server. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedisServer } from './lib/redis-server';
import {
  connectResp,
  isBuffer,
  type RespArg,
  type RespClient,
  RespError,
  type RespValue,
} from './lib/resp-client';

/** Options for {@link startUpstashLocal}. */
export interface UpstashLocalOptions {
  /** Port of the redis-server to forward commands to (on 127.0.0.1). */
  redisPort: number;
  /** The bearer token clients must present. */
  token: string;
  /** HTTP port; 0 or omitted picks a free one. */
  port?: number;
  /** Interface to listen on; defaults to 127.0.0.1. */
  host?: string;
  /** Artificial latency added before answering each request, to simulate network RTT. */
  delayMs?: number;
}

/** Counters a benchmark reads to report Redis commands per HTTP request. */
export interface UpstashLocalStats {
  /** Redis commands sent on behalf of clients (a pipeline of 3 counts 3; MULTI/EXEC wrappers don't). */
  commands: number;
  /** HTTP requests received, including rejected ones. */
  requests: number;
}

/** A running local Upstash REST server. */
export interface UpstashLocal {
  url: string;
  port: number;
  stop(): Promise<void>;
  stats(): UpstashLocalStats;
  resetStats(): void;
  setDelay(ms: number): void;
}

/** Larger bodies are refused, like Upstash's max request size, instead of buffering without bound. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** An expected failure that the handler turns into `{"error": ...}` with this status. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Commands that would block the shared connection, or change its state for every later client
 * (database, protocol, subscriptions, transactions outside /multi-exec), or kill the server.
 */
const UNSUPPORTED = new Set([
  'AUTH',
  'BLMOVE',
  'BLMPOP',
  'BLPOP',
  'BRPOP',
  'BRPOPLPUSH',
  'BZMPOP',
  'BZPOPMAX',
  'BZPOPMIN',
  'CLIENT',
  'DISCARD',
  'EXEC',
  'HELLO',
  'MONITOR',
  'MULTI',
  'PSUBSCRIBE',
  'PSYNC',
  'PUNSUBSCRIBE',
  'QUIT',
  'REPLCONF',
  'RESET',
  'SELECT',
  'SHUTDOWN',
  'SSUBSCRIBE',
  'SUBSCRIBE',
  'SUNSUBSCRIBE',
  'SYNC',
  'UNSUBSCRIBE',
  'UNWATCH',
  'WAIT',
  'WAITAOF',
  'WATCH',
]);

/** Shebang flags stock Redis 7 understands; Upstash adds others (allow-key-locking) it rejects. */
const REDIS_SCRIPT_FLAGS = new Set([
  'no-writes',
  'allow-oom',
  'allow-stale',
  'no-cluster',
  'allow-cross-slot-keys',
]);

const sha1 = (text: string): string => createHash('sha1').update(text, 'utf8').digest('hex');

/**
 * Rewrites a Lua script's `#!lua` shebang so stock Redis accepts it: flags Redis does not know and
 * options such as `name=` are dropped. If no flag survives, the shebang line is blanked rather than
 * removed so Lua error line numbers still match the original. Scripts without a shebang, or whose
 * shebang needs no change, are returned as is.
 *
 * @example
 * rewriteShebang('#!lua flags=allow-key-locking,no-writes\nreturn 1');
 * // '#!lua flags=no-writes\nreturn 1'
 */
export function rewriteShebang(script: string): string {
  if (!script.startsWith('#!')) return script;
  const newline = script.indexOf('\n');
  const firstLine = newline === -1 ? script : script.slice(0, newline);
  const rest = newline === -1 ? '' : script.slice(newline);
  const [engine, ...options] = firstLine.slice(2).trim().split(/\s+/);
  // Another engine is an error Redis should report itself.
  if (engine !== 'lua') return script;

  const kept: string[] = [];
  let changed = false;
  for (const option of options) {
    if (!option.startsWith('flags=')) {
      changed = true;
      continue;
    }
    for (const flag of option.slice('flags='.length).split(',')) {
      if (REDIS_SCRIPT_FLAGS.has(flag) || flag === '') kept.push(flag);
      else changed = true;
    }
  }
  if (!changed) return script;
  const flags = kept.filter((f) => f !== '');
  return flags.length > 0 ? `#!lua flags=${flags.join(',')}${rest}` : rest;
}

/** A command ready for redis, plus how to map its reply back to what the client expects. */
interface Prepared {
  args: RespArg[];
  finish?: (reply: RespValue) => RespValue;
}

/**
 * Tracks scripts whose text we rewrote. Clients compute SHA-1 over the text they hold, so the sha
 * they send to EVALSHA is the original's, while redis cached the rewritten text under another sha.
 */
class ScriptRegistry {
  private readonly toRedis = new Map<string, string>();

  /** Rewrites a script and remembers the sha mapping; returns the text to send and the client's sha. */
  register(script: RespArg): { text: RespArg; originalSha: string } {
    const original = isBuffer(script) ? script.toString('utf8') : String(script);
    const originalSha = sha1(original);
    const rewritten = rewriteShebang(original);
    if (rewritten === original) return { text: script, originalSha };
    this.toRedis.set(originalSha, sha1(rewritten));
    return { text: rewritten, originalSha };
  }

  /** Unknown shas pass through untouched so redis answers NOSCRIPT in its own words. */
  translate(sha: RespArg): RespArg {
    const key = (isBuffer(sha) ? sha.toString('utf8') : String(sha)).toLowerCase();
    return this.toRedis.get(key) ?? sha;
  }

  clear(): void {
    this.toRedis.clear();
  }
}

const upper = (arg: RespArg | undefined): string =>
  arg === undefined ? '' : (isBuffer(arg) ? arg.toString('utf8') : String(arg)).toUpperCase();

/** Validates a command and applies the Lua translations; throws HttpError for refused commands. */
function prepare(command: RespArg[], scripts: ScriptRegistry): Prepared {
  const name = upper(command[0]);
  const args = [...command];
  const isStreamBlock =
    (name === 'XREAD' || name === 'XREADGROUP') && command.some((a) => upper(a) === 'BLOCK');
  if (UNSUPPORTED.has(name) || isStreamBlock) {
    throw new HttpError(400, `ERR command not supported: ${name.toLowerCase()}`);
  }

  if ((name === 'EVAL' || name === 'EVAL_RO') && args[1] !== undefined) {
    args[1] = scripts.register(args[1]).text;
    return { args };
  }
  if ((name === 'EVALSHA' || name === 'EVALSHA_RO') && args[1] !== undefined) {
    args[1] = scripts.translate(args[1]);
    return { args };
  }
  if (name === 'SCRIPT') {
    const sub = upper(args[1]);
    if (sub === 'LOAD' && args[2] !== undefined) {
      const { text, originalSha } = scripts.register(args[2]);
      args[2] = text;
      return {
        args,
        finish: (reply) => (reply instanceof RespError ? reply : Buffer.from(originalSha)),
      };
    }
    if (sub === 'EXISTS') {
      return { args: args.map((a, i) => (i >= 2 ? scripts.translate(a) : a)) };
    }
    if (sub === 'FLUSH') scripts.clear();
  }
  return { args };
}

/** Redis replies to Upstash JSON: bulk strings as UTF-8 text, or base64 when asked to. */
function toJson(value: RespValue, base64: boolean, topLevel: boolean): unknown {
  if (value === null) return null;
  if (isBuffer(value)) return base64 ? value.toString('base64') : value.toString('utf8');
  if (typeof value === 'string') {
    // Upstash leaves the top-level "OK" status readable; @upstash/redis relies on that.
    if (!base64 || (topLevel && value === 'OK')) return value;
    return Buffer.from(value, 'utf8').toString('base64');
  }
  if (typeof value === 'number') return value;
  // Only RESP3 has booleans; answer as RESP2 would.
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof RespError) return toJson(value.message, base64, false);
  if (Array.isArray(value)) return value.map((item) => toJson(item, base64, false));
  return value.entries.flatMap(([k, v]) => [toJson(k, base64, false), toJson(v, base64, false)]);
}

function toItem(reply: RespValue, base64: boolean): { result: unknown } | { error: string } {
  if (reply instanceof RespError) return { error: reply.message };
  return { result: toJson(reply, base64, true) };
}

/** Checks one JSON command: a non-empty array of strings, numbers or booleans. */
function parseCommand(value: unknown, what: string): RespArg[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, `ERR ${what} must be a non-empty JSON array, like ["SET","k","v"]`);
  }
  return value.map((arg, i) => {
    if (typeof arg === 'string') return arg;
    if (typeof arg === 'number' || typeof arg === 'boolean') return String(arg);
    throw new HttpError(
      400,
      `ERR ${what}: argument ${i} must be a string or a number, got ${arg === null ? 'null' : typeof arg}`,
    );
  });
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new HttpError(400, 'ERR empty request body, expected a JSON array');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HttpError(400, `ERR failed to parse JSON request body: ${reason}`);
  }
}

function parseCommandList(body: Buffer, endpoint: string): RespArg[][] {
  const value = parseJson(body);
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(
      400,
      `ERR ${endpoint} body must be a non-empty JSON array of commands, like [["INCR","k"]]`,
    );
  }
  return value.map((command, i) => parseCommand(command, `${endpoint} command ${i}`));
}

/** The `/set/foo/bar?EX=100` form: path segments, then a POST body, then query pairs. */
function parsePathCommand(url: URL, body: Buffer): RespArg[] {
  let segments: string[];
  try {
    segments = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  } catch {
    throw new HttpError(400, 'ERR malformed percent-encoding in request path');
  }
  const args: RespArg[] = [...segments];
  if (body.length > 0) args.push(body);
  for (const [key, value] of url.searchParams) {
    if (key === '_token') continue;
    args.push(key);
    if (value !== '') args.push(value);
  }
  return args;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size <= MAX_BODY_BYTES) chunks.push(buf);
  }
  if (size > MAX_BODY_BYTES) throw new HttpError(413, 'ERR max request size exceeded');
  return Buffer.concat(chunks);
}

function tokenFrom(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1] ?? url.searchParams.get('_token') ?? undefined;
}

/** Compares digests so the check takes the same time whatever the length or prefix of a guess. */
function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Lazily (re)opens a RESP connection, so a restarted redis-server does not wedge the server. */
function lazyConnection(port: number): { get(): Promise<RespClient>; close(): Promise<void> } {
  let client: RespClient | undefined;
  let connecting: Promise<RespClient> | undefined;
  return {
    get: () => {
      if (client && !client.closed) return Promise.resolve(client);
      connecting ??= connectResp({ port }).then(
        (c) => {
          client = c;
          connecting = undefined;
          return c;
        },
        (error: unknown) => {
          connecting = undefined;
          throw error;
        },
      );
      return connecting;
    },
    close: async () => {
      await client?.close();
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function checkDelay(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`delayMs must be a number >= 0, got ${ms}`);
  return ms;
}

/**
 * Starts an HTTP server that answers the Upstash Redis REST protocol (`POST /` with a JSON command,
 * `/pipeline`, `/multi-exec`, `/<cmd>/<arg>...`, bearer or `_token` auth, `Upstash-Encoding: base64`)
 * by forwarding to a real redis-server. Lua shebang flags that only Upstash knows are stripped.
 *
 * @example
 * const redis = await startRedisServer();
 * const upstash = await startUpstashLocal({ redisPort: redis.port, token: 'secret' });
 * const client = new Redis({ url: upstash.url, token: 'secret' });
 */
export async function startUpstashLocal(opts: UpstashLocalOptions): Promise<UpstashLocal> {
  if (opts.token === '') throw new Error('token must not be empty');
  let delayMs = checkDelay(opts.delayMs ?? 0);
  const counters: UpstashLocalStats = { commands: 0, requests: 0 };
  const scripts = new ScriptRegistry();
  // Plain commands and pipelines share one pipelined connection; replies come back in order.
  const shared = lazyConnection(opts.redisPort);
  // Transactions get their own connection so no other client's command lands inside MULTI/EXEC.
  const transactions = lazyConnection(opts.redisPort);

  const runOne = async (command: RespArg[], base64: boolean): Promise<[number, unknown]> => {
    const prepared = prepare(command, scripts);
    const conn = await shared.get();
    counters.commands += 1;
    const raw = await conn.send(prepared.args);
    const reply = prepared.finish ? prepared.finish(raw) : raw;
    if (reply instanceof RespError) return [400, { error: reply.message }];
    return [200, { result: toJson(reply, base64, true) }];
  };

  const runPipeline = async (commands: RespArg[][], base64: boolean): Promise<unknown> => {
    const prepared = commands.map((c) => prepare(c, scripts));
    const conn = await shared.get();
    counters.commands += prepared.length;
    const replies = await conn.sendMany(prepared.map((p) => p.args));
    return replies.map((raw, i) => toItem(prepared[i]?.finish?.(raw) ?? raw, base64));
  };

  const runTransaction = async (
    commands: RespArg[][],
    base64: boolean,
  ): Promise<[number, unknown]> => {
    const prepared = commands.map((c) => prepare(c, scripts));
    const conn = await transactions.get();
    counters.commands += prepared.length;
    // One write holds MULTI, the commands and EXEC, so even concurrent requests cannot interleave.
    const replies = await conn.sendMany([['MULTI'], ...prepared.map((p) => p.args), ['EXEC']]);
    const exec = replies.at(-1);
    if (Array.isArray(exec)) {
      return [200, exec.map((raw, i) => toItem(prepared[i]?.finish?.(raw) ?? raw, base64))];
    }
    const queueError = replies.slice(1, -1).find((r) => r instanceof RespError);
    const execError = exec instanceof RespError ? exec.message : 'ERR transaction aborted';
    const detail = queueError instanceof RespError ? ` (${queueError.message})` : '';
    return [400, { error: `${execError}${detail}` }];
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    counters.requests += 1;
    if (delayMs > 0) await sleep(delayMs);
    const url = new URL(req.url ?? '/', 'http://upstash.local');
    const method = req.method ?? 'GET';
    if (!['GET', 'HEAD', 'POST', 'PUT'].includes(method)) {
      throw new HttpError(405, 'ERR method not allowed; use GET, HEAD, POST or PUT');
    }
    const token = tokenFrom(req, url);
    if (token === undefined || !sameToken(token, opts.token))
      throw new HttpError(401, 'Unauthorized');
    const format = req.headers['upstash-response-format'];
    if (typeof format === 'string' && format.toLowerCase() !== 'json') {
      throw new HttpError(400, `ERR unsupported Upstash-Response-Format: ${format}`);
    }
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    const body = await readBody(req);

    if (url.pathname === '/pipeline') {
      send(res, 200, await runPipeline(parseCommandList(body, 'pipeline'), base64));
      return;
    }
    if (url.pathname === '/multi-exec') {
      const [status, payload] = await runTransaction(parseCommandList(body, 'multi-exec'), base64);
      send(res, status, payload);
      return;
    }
    const command =
      url.pathname === '/'
        ? parseCommand(parseJson(body), 'request body')
        : parsePathCommand(url, body);
    const [status, payload] = await runOne(command, base64);
    send(res, status, payload);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) {
        send(res, error.status, { error: error.message });
        return;
      }
      // Redis unreachable or a bug: still answer in Upstash's shape so clients show the message.
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) send(res, 500, { error: `ERR ${message}` });
      else res.destroy();
    });
  });

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  const { port } = address;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    stop: () => {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Clients keep connections alive; without this close() would wait for them to time out.
        server.closeAllConnections();
        await closed;
        await Promise.all([shared.close(), transactions.close()]);
      })();
      return stopping;
    },
    stats: () => ({ ...counters }),
    resetStats: () => {
      counters.commands = 0;
      counters.requests = 0;
    },
    setDelay: (ms) => {
      delayMs = checkDelay(ms);
    },
  };
}

const USAGE = `Usage: tsx scripts/upstash-local.ts [--redis-port 6379] [--port 8079] [--host 127.0.0.1]
                                    [--token TOKEN] [--delay-ms 0]
Without --redis-port a private redis-server is started; without --token a random one is printed.`;

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'redis-port': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string' },
      'delay-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  let redisPort = intOption(values['redis-port'], 'redis-port');
  const ownRedis = redisPort === undefined ? await startRedisServer() : undefined;
  redisPort ??= ownRedis?.port ?? 6379;
  const token = values.token ?? randomBytes(18).toString('base64url');
  const server = await startUpstashLocal({
    redisPort,
    token,
    port: intOption(values.port, 'port') ?? 8079,
    host: values.host,
    delayMs: intOption(values['delay-ms'], 'delay-ms'),
  });
  console.log(`Upstash REST API on ${server.url} -> redis 127.0.0.1:${redisPort}`);
  console.log(`UPSTASH_REDIS_REST_URL=${server.url}`);
  console.log(`UPSTASH_REDIS_REST_TOKEN=${token}`);

  const shutdown = async () => {
    await server.stop();
    await ownRedis?.stop();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

function invokedDirectly(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
