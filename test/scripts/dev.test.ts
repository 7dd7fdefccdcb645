/**
 * `npm run dev` as a person runs it (`tsx scripts/dev.ts`, a real `wrangler dev`): state kept across
 * restarts, `--fresh`, the documented `wrangler kv ... --local` command reaching the stack, and one
 * compact line per request unless `--quiet`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDecision, lineSplitter, parseDecision } from '../../scripts/lib/decision-line';
import { freePort } from '../../scripts/lib/free-port';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');
const ADMIN = { Authorization: 'Bearer demo-admin-token', 'Content-Type': 'application/json' };

interface Dev {
  readonly url: string;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves once `text` has been printed (or rejects when the process exits first). */
  printed(text: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `tsx scripts/dev.ts --no-dashboard ...args` on a free port and waits until it runs. */
async function dev(args: readonly string[]): Promise<Dev> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    TSX,
    ['scripts/dev.ts', '--no-dashboard', '--port', String(port), ...args],
    { cwd: ROOT, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let out = '';
  const waiters: { text: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (out.includes(w.text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.once('exit', (code) => {
    for (const w of waiters.splice(0)) {
      w.reject(new Error(`dev exited with ${code} before printing "${w.text}":\n${out}`));
    }
  });
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      waiters.push({ text, resolve, reject });
      check();
    });
  await printed('edgelimit is running.');
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    printed,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGINT');
      await exited;
    },
  };
}

function wranglerKv(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      WRANGLER,
      ['kv', 'key', ...args],
      {
        cwd: ROOT,
        timeout: 60_000,
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: 'false',
          CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        },
      },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error}\n${stderr}`)) : resolve(stdout),
    );
  });
}

async function tierOf(url: string, key: string): Promise<string> {
  const res = await fetch(`${url}/_edgelimit/rate_limit`, { headers: { 'X-API-Key': key } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { tier: string }).tier;
}

describe('npm run dev', () => {
  let state: string;
  let running: Dev | undefined;

  beforeAll(async () => {
    state = await mkdtemp(join(tmpdir(), 'edgelimit-dev-state-'));
  });
  afterAll(async () => {
    await running?.stop();
    await rm(state, { recursive: true, force: true });
  });

  it('keeps keys and KV edits across a restart, logs one line per request, and --fresh starts empty', async () => {
    running = await dev(['--persist-to', state]);
    const first = running;
    expect(first.output()).toContain(`State: ${state} (kept across restarts`);

    // The documented local KV edit (docs/cli.md) reaches the running stack.
    await wranglerKv([
      'put',
      '--local',
      '--persist-to',
      state,
      '--binding',
      'CONFIG',
      'customer:demo-free',
      '{"tier":"pro"}',
    ]);
    expect(await tierOf(first.url, 'demo-free-key')).toBe('pro');

    const created = await fetch(`${first.url}/_edgelimit/admin/keys`, {
      method: 'POST',
      headers: ADMIN,
      body: JSON.stringify({ customerId: 'kept-across-restarts', tier: 'pro' }),
    });
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: string };

    // One compact line per request: method, path, caller, outcome, what is left.
    expect((await fetch(`${first.url}/v1/items`, { headers: { 'X-API-Key': key } })).status).toBe(
      200,
    );
    await first.printed('GET /v1/items  kept-across-restarts  200 allowed  minute 999/1000 left');
    await fetch(`${first.url}/v1/items`, { headers: { 'X-API-Key': 'no-such-key-1' } });
    await first.printed('GET /v1/items  unauthenticated 127.0.0.1  401 unauthenticated');
    await first.stop();

    // Restart on the same state, quietly: the key and the KV edit are still there.
    running = await dev(['--persist-to', state, '--quiet']);
    const second = running;
    const again = await fetch(`${second.url}/v1/items`, { headers: { 'X-API-Key': key } });
    expect(again.status).toBe(200);
    expect(await tierOf(second.url, 'demo-free-key')).toBe('pro');
    await second.stop();
    expect(second.output()).not.toContain('GET /v1/items');

    // --fresh: nothing made before exists (the demo keys are seeded again).
    running = await dev(['--persist-to', state, '--fresh']);
    const fresh = running;
    expect(fresh.output()).toContain('State: fresh');
    expect((await fetch(`${fresh.url}/v1/items`, { headers: { 'X-API-Key': key } })).status).toBe(
      401,
    );
    expect(await tierOf(fresh.url, 'demo-free-key')).toBe('free');
    await fresh.stop();

    // --fresh never touched the saved state.
    running = await dev(['--persist-to', state, '--quiet']);
    expect((await fetch(`${running.url}/v1/items`, { headers: { 'X-API-Key': key } })).status).toBe(
      200,
    );
    await running.stop();
  }, 240_000);
});

describe('the request line', () => {
  it('formats a decision the worker logged, and ignores every other line', () => {
    const lines: string[] = [];
    const feed = lineSplitter((line) => {
      const d = parseDecision(line);
      if (d) lines.push(formatDecision({ ...d, time: 'T' }));
    });
    feed('[wrangler:info] Ready on http://127.0.0.1:8787\n{"level":"info","event":"deci');
    feed(
      'sion","time":"2026-01-01T00:00:00Z","method":"POST","path":"/v1/search","caller":"demo-free","tier":"free","status":429,"outcome":"rejected","window":"search:minute","remaining":0,"limit":10}\n',
    );
    feed('{"level":"warn","event":"auth-failure","code":"unknown-api-key"}\nnot json {\n');
    expect(lines).toEqual(['T  POST /v1/search  demo-free  429 rejected  search:minute 0/10 left']);
  });
});
