/**
 * Runs the limiter (the dev stack, no dashboard) and the example Hono Worker in
 * `examples/hono-app/`, which reaches the limiter's `RateLimiter` entrypoint through its service
 * binding. Used by `npm run example` and by the example's test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { endsWithThisProcess, QUIET_ENV, startDevStack, stopProcess } from './dev-stack';

/** Options of {@link startExampleStack}. */
export interface ExampleStackOptions {
  /** Limiter (proxy) port; default 8787. */
  readonly workerPort?: number;
  /** Example Worker port; default 8790. */
  readonly examplePort?: number;
  readonly log?: (line: string) => void;
  readonly verbose?: boolean;
}

/** Both Workers, running. */
export interface ExampleStack {
  /** The limiter in front of the demo origin (the proxy way in). */
  readonly workerUrl: string;
  /** The example Worker, limited over RPC. */
  readonly exampleUrl: string;
  stop(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * Starts both Workers. A private dev registry (WRANGLER_REGISTRY_PATH) pairs the example with
 * this limiter, never with another `edgelimit` a parallel `wrangler dev` registered.
 * @example
 * const stack = await startExampleStack();
 * await fetch(`${stack.exampleUrl}/v1/hello`, { headers: { 'X-API-Key': 'demo-free-key' } });
 * await stack.stop();
 */
export async function startExampleStack(options: ExampleStackOptions = {}): Promise<ExampleStack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const examplePort = options.examplePort ?? 8790;
  const registry = await mkdtemp(join(tmpdir(), 'edgelimit-registry-'));
  const previous = process.env.WRANGLER_REGISTRY_PATH;
  process.env.WRANGLER_REGISTRY_PATH = registry;
  const stops: (() => Promise<void>)[] = [() => rm(registry, { recursive: true, force: true })];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    const limiter = await startDevStack({
      workerPort: options.workerPort ?? 8787,
      dashboardPort: false,
      log,
      ...(options.verbose !== undefined ? { verbose: options.verbose } : {}),
    });
    stops.push(() => limiter.stop());
    const example = spawnExample(examplePort, registry, options.verbose ?? false);
    stops.push(() => stopProcess(example));
    const exampleUrl = `http://127.0.0.1:${examplePort}`;
    await waitForExample(exampleUrl, example);
    log(`example: ${exampleUrl} (examples/hono-app, limited through the RateLimiter binding)`);
    return { workerUrl: limiter.workerUrl, exampleUrl, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  } finally {
    if (previous === undefined) delete process.env.WRANGLER_REGISTRY_PATH;
    else process.env.WRANGLER_REGISTRY_PATH = previous;
  }
}

function spawnExample(port: number, registry: string, verbose: boolean): ChildProcess {
  const args = ['dev', '-c', 'examples/hono-app/wrangler.toml', '--port', String(port)];
  args.push('--ip', '127.0.0.1', '--inspector-port', '0');
  const child = spawn(join(ROOT, 'node_modules/.bin/wrangler'), args, {
    cwd: ROOT,
    env: {
      ...process.env,
      WRANGLER_REGISTRY_PATH: registry,
      ...QUIET_ENV,
    },
    stdio: ['ignore', verbose ? 'inherit' : 'pipe', verbose ? 'inherit' : 'pipe'],
    // Its own process group, so stopping it stops its workerd children too.
    detached: true,
  });
  endsWithThisProcess(child);
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  (child as ChildProcess & { recentOutput?: () => string }).recentOutput = () => output;
  return child;
}

/** Waits until the example answers through the limiter (a demo key gets its 200). */
async function waitForExample(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  const recent = () =>
    (child as ChildProcess & { recentOutput?: () => string }).recentOutput?.() ?? '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`the example's wrangler dev exited with ${child.exitCode}:\n${recent()}`);
    }
    try {
      // Service tokens bypass limiting, so waiting costs no demo customer any quota.
      const res = await fetch(`${url}/ready`, {
        headers: { 'X-Service-Token': 'demo-service-token' },
      });
      if (res.headers.get('x-edgelimit-status') === 'bypassed') return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the example did not answer through the limiter within 60 s:\n${recent()}`);
}
