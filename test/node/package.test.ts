/**
 * `npm pack` yields a package that installs (offline: it has no dependencies) into a fresh
 * project, where `edgelimit/client` and `edgelimit/hono` resolve in Node and type-check in tsc.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const TSC = join(ROOT, 'node_modules/.bin/tsc');

let dir: string;
let project: string;
let files: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgelimit-pack-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}` },
  });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  if (!packed) throw new Error(`npm pack printed no package: ${stdout}`);
  files = packed.files.map((f) => f.path);
  project = join(dir, 'consumer');
  await mkdir(project);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  await run(
    'npm',
    [
      'install',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      join(dir, packed.filename),
    ],
    { cwd: project },
  );
  // Hono is an optional peer: a Hono app brings its own. Borrow ours for the type-check.
  await symlink(join(ROOT, 'node_modules/hono'), join(project, 'node_modules/hono'), 'dir');
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships built JS and .d.ts for both entry points, and none of the worker', () => {
    for (const entry of ['client', 'hono']) {
      expect(files).toContain(`dist/${entry}.js`);
      expect(files).toContain(`dist/${entry}.d.ts`);
    }
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
  });

  it('installs with no dependencies of its own', async () => {
    const manifest = JSON.parse(
      await readFile(join(project, 'node_modules/edgelimit/package.json'), 'utf8'),
    ) as { dependencies?: object };
    expect(manifest.dependencies ?? {}).toEqual({});
  });

  it('resolves both subpaths at runtime in Node', async () => {
    const script = `
      import { withRateLimits } from 'edgelimit/client';
      import { rateLimit } from 'edgelimit/hono';
      const stub = async () => new Response('ok', { headers: {
        'RateLimit-Policy': '"minute";q=10;w=60', RateLimit: '"minute";r=9;t=60' } });
      const api = withRateLimits(stub);
      await api('https://api.example.test/v1');
      const [w] = api.quota();
      console.log(JSON.stringify({ id: w.id, remaining: w.remaining, limit: w.limit,
        middleware: typeof rateLimit({ binding: () => ({}) }) }));
    `;
    await writeFile(join(project, 'runtime.mjs'), script);
    const { stdout } = await run(process.execPath, ['runtime.mjs'], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({
      id: 'minute',
      remaining: 9,
      limit: 10,
      middleware: 'function',
    });
  });

  it('type-checks a consumer of both subpaths, and rejects a wrong one', async () => {
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'DOM'],
          types: [],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        include: ['consumer.ts'],
      }),
    );
    const consumer = `
      import { type RateLimitedFetch, withRateLimits, type WindowQuota } from 'edgelimit/client';
      import { type RateLimiterBinding, rateLimit } from 'edgelimit/hono';
      import { Hono } from 'hono';

      const api: RateLimitedFetch = withRateLimits(fetch, { pace: true, maxRetries: 3, maxWaitMs: 10_000 });
      const windows: WindowQuota[] = api.quota('https://api.example.com');
      type AppEnv = { Bindings: { EDGELIMIT: RateLimiterBinding } };
      const app = new Hono<AppEnv>();
      app.use('*', rateLimit<AppEnv>({ binding: (c) => c.env.EDGELIMIT }));
      app.get('/', (c) => c.json({ caller: c.var.edgelimit.caller ?? null, windows: windows.length }));
      export default app;
    `;
    await writeFile(join(project, 'consumer.ts'), consumer);
    await run(TSC, ['-p', project], { cwd: project });

    await writeFile(
      join(project, 'consumer.ts'),
      `${consumer}\nwithRateLimits(fetch, { maxRetries: 'many' });\n`,
    );
    const failed = await run(TSC, ['-p', project], { cwd: project }).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? 'failed',
    );
    // Only the appended line is wrong: the types are real, not `any`.
    expect(failed).toMatch(
      /^consumer\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/,
    );
  });
});
