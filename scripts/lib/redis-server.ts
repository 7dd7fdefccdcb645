/** Starts a throwaway redis-server on a free local port for tests, benchmarks and the dev stack. */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './free-port';
import { connectResp } from './resp-client';

/** A running redis-server. */
export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Shuts the server down and removes its temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'redis-server was not found on PATH. Install it with `apt-get install -y redis-server` ' +
  '(Debian/Ubuntu) or `brew install redis` (macOS), then retry.';

const STARTUP_TIMEOUT_MS = 10_000;

/** Finds an executable on PATH, the way a shell would, so a missing binary gets a helpful error. */
async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory; keep looking.
    }
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills servers a crashed or interrupted test run never stopped, so no redis outlives us. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

async function waitForPing(child: ChildProcess, port: number, output: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited during startup:\n${output()}`);
    }
    try {
      const client = await connectResp({ port });
      try {
        const reply = await client.send(['PING']);
        if (reply === 'PONG') return;
      } finally {
        await client.close();
      }
    } catch {
      // Not listening yet.
    }
    await sleep(25);
  }
  throw new Error(`redis-server did not answer PING within ${STARTUP_TIMEOUT_MS} ms:\n${output()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function launch(binary: string, port: number): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'edgelimit-redis-'));
  // No persistence: each run starts empty and leaves nothing behind but the temp dir we remove.
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  installExitHook();
  let log = '';
  const collect = (chunk: Buffer) => {
    // Keep only the tail: it holds the reason when startup fails.
    log = (log + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.once('exit', () => running.delete(child));

  try {
    await waitForPing(child, port, () => log);
  } catch (error) {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => {
      stopping ??= (async () => {
        await stopChild(child);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/**
 * Spawns `redis-server` on 127.0.0.1 without persistence and waits until it answers PING.
 *
 * @param opts.port - a fixed port; by default a free one is picked (and retried if taken meanwhile)
 * @throws if `redis-server` is not on PATH, with install instructions
 * @example
 * const redis = await startRedisServer();
 * // ... use redis.port ...
 * await redis.stop();
 */
export async function startRedisServer(opts: { port?: number } = {}): Promise<RedisServer> {
  const binary = await findOnPath('redis-server');
  if (binary === undefined) throw new Error(INSTALL_HINT);
  if (opts.port !== undefined) return launch(binary, opts.port);

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(binary, await freePort());
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
