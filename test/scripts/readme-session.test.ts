/**
 * The README's quick-start curl session, run as written (only the port changed) against the dev
 * stack (`wrangler dev` with a fresh state), checking that each command prints what its comment
 * says; and every `npm run` script the docs name exists.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevStack, startDevStack } from '../../scripts/lib/dev-stack';
import { freePort } from '../../scripts/lib/free-port';

const ROOT = join(import.meta.dirname, '..', '..');

function bash(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', script], { timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

/** The shell block under "See 200s turn into a 429", split into its blank-line separated steps. */
async function readmeSession(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### See 200s turn into a 429'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  expect(block, 'the README session block').toBeDefined();
  return (block ?? '').split(/\n\s*\n/).map((s) => s.trim());
}

/** Polls `read` until `done` holds (usage arrives from waitUntil batches), at most 40 tries. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 40 && !done(value); i++) {
    await new Promise((r) => setTimeout(r, 250));
    value = await read();
  }
  return value;
}

function header(response: string, name: string): string | undefined {
  const line = response
    .split(/\r?\n/)
    .find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

function jsonBody(response: string): Record<string, unknown> {
  return JSON.parse(response.slice(response.indexOf('{'))) as Record<string, unknown>;
}

describe("the README's curl session against npm run dev", () => {
  let stack: DevStack;

  beforeAll(async () => {
    stack = await startDevStack({
      workerPort: await freePort(),
      dashboardPort: false,
      log: () => {},
    });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('prints what each comment says', async () => {
    const steps = await readmeSession();
    expect(steps).toHaveLength(7);
    const run = (i: number) =>
      bash((steps[i] ?? '').replaceAll('http://127.0.0.1:8787', stack.workerUrl));

    // 1. Ten 200s, then a 429.
    expect(steps[0]).toMatch(/^# Eleven searches on the free tier: ten 200s, then a 429/);
    expect((await run(0)).trim().split(/\s+/)).toEqual([...Array(10).fill('200'), '429']);

    // 2. The 429 in full, whose documentation link resolves to the worker's own page.
    const rejected = await run(1);
    expect(rejected).toMatch(/^HTTP\/1\.1 429/);
    expect(Number(header(rejected, 'Retry-After'))).toBeGreaterThan(0);
    expect(header(rejected, 'X-RateLimit-Limit')).toBe('10');
    expect(header(rejected, 'X-RateLimit-Remaining')).toBe('0');
    expect(header(rejected, 'Content-Type')).toBe('application/problem+json');
    const problem = jsonBody(rejected);
    expect(problem['violated-policies']).toEqual(['search:minute']);
    expect(problem.documentation).toBe(`${stack.workerUrl}/_edgelimit/docs/rate-limits`);
    expect(steps[1]).toContain('http://127.0.0.1:8787/_edgelimit/docs/rate-limits');
    const page = await fetch(String(problem.documentation));
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('When you get a 429: wait and retry');

    // 3. Other endpoints: 200 with 89 left of the minute.
    expect(steps[2]).toContain('X-RateLimit-Remaining: 89');
    const items = await run(2);
    expect(items).toMatch(/^HTTP\/1\.1 200/);
    expect(header(items, 'X-RateLimit-Remaining')).toBe('89');

    // 4. /rate_limit: the windows and what is left, as the comment shows.
    const limits = JSON.parse(await run(3)) as {
      customerId: string;
      tier: string;
      windows: { id: string; limit: number; remaining: number }[];
    };
    expect(limits).toMatchObject({ customerId: 'demo-free', tier: 'free' });
    expect(limits.windows.map((w) => [w.id, w.limit, w.remaining])).toEqual([
      ['minute', 100, 89],
      ['day', 1000, 989],
      ['search:minute', 10, 0],
    ]);

    // 5. Usage: 60 minute points, the totals and per-rule counts the comment shows.
    type Usage = {
      series: { t: string; allowed: number; rejected: number }[];
      byRule: { rule: string; allowed: number; rejected: number }[];
      totals: { allowed: number; rejected: number };
      recentRejections: { path: string }[];
    };
    const settled = await until(
      async () => JSON.parse(await run(4)) as Usage,
      (u) => u.totals.allowed === 11 && u.totals.rejected === 2,
    );
    expect(steps[4]).toContain('"totals":{"allowed":11,"rejected":2}');
    expect(settled.series).toHaveLength(60);
    expect(settled.totals).toEqual({ allowed: 11, rejected: 2 });
    expect(settled.series.reduce((n, p) => n + p.allowed, 0)).toBe(11);
    expect(settled.byRule).toEqual(
      expect.arrayContaining([
        { rule: 'search', allowed: 10, rejected: 2 },
        { rule: 'default', allowed: 1, rejected: 0 },
      ]),
    );
    expect(settled.recentRejections[0]?.path).toBe('/v1/search');

    // 6. Bypass, then a wrong token: 401, never a bypass.
    const [bypassed, wrong] = (await run(5)).split(/(?=HTTP\/1\.1 )/);
    expect(bypassed).toMatch(/^HTTP\/1\.1 200/);
    expect(header(bypassed ?? '', 'X-Edgelimit-Status')).toBe('bypassed');
    expect(wrong).toMatch(/^HTTP\/1\.1 401/);

    // 7. Fleet health: the counts the comment shows, the wrong token counted apart.
    type Metrics = { totals: Record<string, number> };
    const fleet = await until(
      async () => JSON.parse(await run(6)) as Metrics,
      (m) => m.totals.checks === 15,
    );
    expect(steps[6]).toContain(
      '"totals":{"checks":15,"allowed":11,"rejected":2,"bypassed":1,\n# "unauthenticated":1',
    );
    expect(fleet.totals).toMatchObject({
      checks: 15,
      allowed: 11,
      rejected: 2,
      bypassed: 1,
      unauthenticated: 1,
    });
  }, 120_000);

  it('gives each demo key the limits the demo table lists', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const rows: [string, string, [string, number, string][]][] = [
      [
        'demo-free-key',
        '100/min, 1,000/day; `POST /v1/search` 10/min',
        [
          ['minute', 100, '1m'],
          ['day', 1000, '1d'],
          ['search:minute', 10, '1m'],
        ],
      ],
      [
        'demo-pro-key',
        '1,000/min, no daily cap; `POST /v1/search` 100/min',
        [
          ['minute', 1000, '1m'],
          ['search:minute', 100, '1m'],
        ],
      ],
      [
        'demo-enterprise-key',
        '50 per 10 s, 100,000/day; `POST /v1/search` 3 per 5 s',
        [
          ['10s', 50, '10s'],
          ['day', 100_000, '1d'],
          ['search:5s', 3, '5s'],
        ],
      ],
    ];
    for (const [key, text, windows] of rows) {
      expect(readme).toContain(`| \`${key}\``);
      expect(readme).toContain(text);
      const res = await fetch(`${stack.workerUrl}/_edgelimit/rate_limit`, {
        headers: { 'X-API-Key': key },
      });
      const body = (await res.json()) as {
        windows: { id: string; limit: number; window: string }[];
      };
      expect(body.windows.map((w) => [w.id, w.limit, w.window])).toEqual(windows);
    }
  });
});

describe('npm scripts named in the docs', () => {
  it('all exist in package.json', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const docs = ['README.md', ...(await readdir(join(ROOT, 'docs'))).map((f) => `docs/${f}`)];
    const named = new Set<string>();
    for (const file of docs.filter((f) => f.endsWith('.md'))) {
      const text = await readFile(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/npm run ([a-z][a-z0-9:-]*)/g)) named.add(m[1] ?? '');
    }
    expect(named.size).toBeGreaterThan(3);
    for (const name of named) expect(Object.keys(pkg.scripts), `npm run ${name}`).toContain(name);
    // Images the docs show exist.
    for (const file of docs.filter((f) => f.endsWith('.md'))) {
      const text = await readFile(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/!\[[^\]]*\]\(([^)]+\.png)\)/g)) {
        const path = join(ROOT, file.includes('/') ? 'docs' : '', m[1] ?? '');
        await expect(readFile(path), `${file}: ${m[1]}`).resolves.toBeDefined();
      }
    }
    // Scripts a fresh machine cannot run by name (tsx is not on the PATH outside npm run).
    for (const file of docs.filter((f) => f.endsWith('.md'))) {
      const text = await readFile(join(ROOT, file), 'utf8');
      expect(text, file).not.toMatch(/^`?tsx scripts\//m);
    }
  });
});
