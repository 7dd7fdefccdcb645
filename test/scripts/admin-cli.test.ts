/** The admin CLI as a person runs it: a child process against a real `wrangler dev` worker. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/free-port';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');
const TOKEN = 'cli-test-admin-token';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tsx scripts/admin.ts ...args` with only the given EDGELIMIT_* variables set. */
function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const childEnv = { ...process.env };
  for (const name of Object.keys(childEnv)) {
    if (name.startsWith('EDGELIMIT_')) delete childEnv[name];
  }
  Object.assign(childEnv, env);
  return new Promise((resolve) => {
    execFile(
      TSX,
      ['scripts/admin.ts', ...args],
      { cwd: ROOT, env: childEnv, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The column a header starts at must be where every cell of that column starts. */
function expectAligned(output: string, header: string, cell: string): void {
  const lines = output.split('\n');
  const head = lines.find((l) => l.includes(header) && l === l.toUpperCase());
  const row = lines.find((l) => l.includes(cell) && l !== head);
  expect(head, `a header line with ${header}`).toBeDefined();
  expect(row, `a row with ${cell}`).toBeDefined();
  expect(row?.indexOf(cell)).toBe(head?.indexOf(header));
}

describe('admin CLI without a worker', () => {
  it('lists every command in --help and exits 0', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    for (const command of [
      'keys create',
      'keys list',
      'keys revoke',
      'customers list',
      'customers show',
      'customers set',
      'customers remove-limits',
      'customers delete',
      'overrides add',
      'overrides list',
      'overrides end',
      'policy show',
      'policy set',
    ]) {
      expect(run.stdout).toContain(command);
    }
  });

  it('explains each command with --help, including value syntaxes', async () => {
    const set = await cli(['customers', 'set', '--help']);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('Usage: npm run admin -- customers set <id> [options]');
    expect(set.stdout).toContain('<id>:<METHOD>:<path>:<limits>[:shadow]');
    const add = await cli(['overrides', 'add', '--help']);
    expect(add.stdout).toContain('--until <ISO|+2h|+3d>');
  });

  it('exits 2 with a message on bad arguments, before calling any API', async () => {
    const cases: [string[], string][] = [
      [['keys', 'create'], 'missing <customerId>'],
      [['keys', 'create', 'acme', '--tier', 'gold'], '--tier "gold": must be one of free, pro'],
      [['customers', 'set', 'acme', '--limit', '5/1y'], '--limit "5/1y"'],
      [['customers', 'set', 'acme', '--endpoint', 'search:/v1/search'], '--endpoint'],
      [['overrides', 'add', 'acme', '--limit', '5/1m', '--reason', 'x'], '--until is required'],
      [
        ['overrides', 'add', 'acme', '--limit', '5/1m', '--until', 'soon', '--reason', 'x'],
        '--until "soon"',
      ],
      [['customers', 'show', 'acme', '--bogus'], 'unknown option --bogus'],
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['policy', 'set', '/nonexistent/policy.json'], 'cannot read /nonexistent/policy.json'],
      [['--url', 'https://api.example.com', 'customers', 'show', 'acme'], 'no admin token'],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toContain(message);
      expect(run.stdout).toBe('');
    }
  });

  it('exits 1 when the worker cannot be reached', async () => {
    const port = await freePort();
    const run = await cli(['policy', 'show', '--url', `http://127.0.0.1:${port}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('could not reach');
  });
});

describe('admin CLI against wrangler dev', () => {
  let worker: ChildProcess | undefined;
  let stateDir = '';
  let url = '';
  let workerLog = '';
  const admin = (args: readonly string[]) =>
    cli(args, { EDGELIMIT_URL: url, EDGELIMIT_ADMIN_TOKEN: TOKEN });

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'edgelimit-cli-'));
    const port = await freePort();
    const inspector = await freePort();
    url = `http://127.0.0.1:${port}`;
    worker = spawn(
      WRANGLER,
      [
        'dev',
        '--port',
        String(port),
        '--ip',
        '127.0.0.1',
        '--inspector-port',
        String(inspector),
        '--var',
        `ADMIN_TOKEN:${TOKEN}`,
        '--var',
        'SEED_DEMO:true',
        '--var',
        'ORIGIN_URL:demo',
        '--var',
        'LIMITER_STORE:durable-object',
        '--var',
        'CONFIG_TTL_MS:0',
        '--persist-to',
        join(stateDir, 'state'),
        '--show-interactive-dev-session=false',
      ],
      {
        cwd: ROOT,
        detached: true,
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: 'false',
          WRANGLER_SEND_ERROR_REPORTS: 'false',
          WRANGLER_HIDE_BANNER: 'true',
          CLOUDFLARE_CF_FETCH_ENABLED: 'false',
          CI: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    worker.stdout?.on('data', (chunk: Buffer) => {
      workerLog += chunk.toString();
    });
    worker.stderr?.on('data', (chunk: Buffer) => {
      workerLog += chunk.toString();
    });
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        const res = await fetch(`${url}/_edgelimit/health`);
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline || worker.exitCode !== null) {
        throw new Error(`wrangler dev did not become healthy:\n${workerLog.slice(-2000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }, 120_000);

  afterAll(async () => {
    const pid = worker?.pid;
    if (pid !== undefined && worker?.exitCode === null) {
      const exited = new Promise((resolve) => worker?.once('exit', resolve));
      // wrangler runs workerd as a child: end the whole group we started, and only it.
      process.kill(-pid, 'SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (worker?.exitCode === null) process.kill(-pid, 'SIGKILL');
    }
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  }, 20_000);

  it('creates a key, sets limits and an endpoint rule, and shows them in aligned tables', async () => {
    const created = await admin(['keys', 'create', 'cli-acme', '--tier', 'enterprise']);
    expect(created.code, created.stderr).toBe(0);
    const key = /^key\s+(el_\S+)$/m.exec(created.stdout)?.[1];
    expect(key).toBeDefined();
    expect(created.stdout).toMatch(/^tier {6}enterprise$/m);

    const set = await admin([
      'customers',
      'set',
      'cli-acme',
      '--limit',
      '3/5s',
      '--limit',
      '10000/1d',
      '--endpoint',
      'search:POST:/v1/search:10/1m',
      '--endpoint',
      'items:GET:/v1/items/:id:5/1m:shadow',
      '--fail-closed',
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^limits {5}3\/5s, 10000\/1d \(custom\)$/m);
    expect(set.stdout).toMatch(/^fail mode {2}closed$/m);
    const ownRules = set.stdout.slice(set.stdout.indexOf("Customer's own endpoint rules"));
    expectAligned(ownRules, 'PATH', '/v1/items/:id');
    expectAligned(ownRules, 'LIMITS', '10/1m');
    expectAligned(ownRules, 'MODE', 'shadow');

    const show = await admin(['customers', 'show', 'cli-acme']);
    expect(show.code).toBe(0);
    expect(show.stdout).toBe(set.stdout);
    expect(show.stdout.split('\n').every((l) => l === l.trimEnd())).toBe(true);
    // The effective policy: every window the worker applies, and where it comes from.
    const effective = show.stdout.slice(show.stdout.indexOf('Effective limits'));
    const rows = effective.split('\n\n')[0]?.split('\n').slice(2) ?? [];
    expect(rows.map((r) => r.split(/\s{2,}/))).toEqual([
      ['3/5s', 'all requests', 'enforce', 'customer record'],
      ['10000/1d', 'all requests', 'enforce', 'customer record'],
      ['10/1m', 'POST /v1/search', 'enforce', 'customer rule "search" (replaces the policy rule)'],
      ['5/1m', 'GET /v1/items/:id', 'shadow', 'customer rule "items"'],
    ]);

    const res = await fetch(`${url}/v1/things`, { headers: { 'X-API-Key': key ?? '' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('X-RateLimit-Limit')).toBe('3');
  });

  it('adds an override that the worker applies at once, and lists it', async () => {
    const added = await admin([
      'overrides',
      'add',
      'cli-acme',
      '--limit',
      '500/5s',
      '--until',
      '+2h',
      '--reason',
      'launch day',
    ]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^limits {4}500\/5s$/m);
    expect(added.stdout).toMatch(/^until {5}\S+Z \(in 2h\)$/m);

    const listed = await admin(['overrides', 'list', 'cli-acme']);
    expect(listed.code).toBe(0);
    expectAligned(listed.stdout, 'STATUS', 'in force');
    expectAligned(listed.stdout, 'REASON', 'launch day');

    const json = await admin(['customers', 'show', 'cli-acme', '--json']);
    const parsed = JSON.parse(json.stdout) as { activeOverride: { reason: string } | null };
    expect(parsed.activeOverride?.reason).toBe('launch day');

    const created = await admin(['keys', 'create', 'cli-acme', '--json']);
    const { key } = JSON.parse(created.stdout) as { key: string };
    const res = await fetch(`${url}/v1/things`, { headers: { 'X-API-Key': key } });
    expect(res.headers.get('X-RateLimit-Limit')).toBe('500');
  });

  it('ends the override in force early: the worker applies the usual limits again', async () => {
    const ended = await admin(['overrides', 'end', 'cli-acme']);
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stdout).toMatch(/^ended {9}500\/5s \(launch day\)$/m);
    expect(ended.stdout).toMatch(/^now in force {2}none/m);
    const listed = await admin(['overrides', 'list', 'cli-acme']);
    expectAligned(listed.stdout, 'STATUS', 'expired');
    const created = await admin(['keys', 'create', 'cli-acme', '--json']);
    const { key } = JSON.parse(created.stdout) as { key: string };
    const res = await fetch(`${url}/v1/things`, { headers: { 'X-API-Key': key } });
    expect(res.headers.get('X-RateLimit-Limit')).toBe('3');
    const again = await admin(['overrides', 'end', 'cli-acme']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no override in force');
  });

  it('says unlimited explicitly with --unlimited, which --limit and remove-limits undo', async () => {
    const set = await admin([
      'customers',
      'set',
      'cli-free',
      '--tier',
      'enterprise',
      '--unlimited',
    ]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^limits {5}unlimited \(no tier or custom limit/m);
    const both = await admin(['customers', 'set', 'cli-free', '--unlimited', '--limit', '5/1m']);
    expect(both.code).toBe(2);
    const limited = await admin(['customers', 'set', 'cli-free', '--limit', '5/1m']);
    expect(limited.code, limited.stderr).toBe(0);
    expect(limited.stdout).toMatch(/^limits {5}5\/1m \(custom\)$/m);
  });

  it('drops custom limits but keeps the tier with remove-limits', async () => {
    const run = await admin(['customers', 'remove-limits', 'cli-acme']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^tier {7}enterprise$/m);
    expect(run.stdout).toMatch(/^limits {5}10000\/1m \(enterprise tier default\)$/m);
  });

  it('exits 1 and prints the problem detail naming the bad field', async () => {
    const badId = await admin(['customers', 'show', 'bad id!']);
    expect(badId.code).toBe(1);
    expect(badId.stderr).toContain('400 Invalid request: id: must be 1-64');

    const missing = await admin(['customers', 'show', 'nobody-here']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('404');

    const file = join(stateDir, 'policy.json');
    await writeFile(file, JSON.stringify({ tiers: { free: [{ limit: 0, window: '1m' }] } }));
    const badPolicy = await admin(['policy', 'set', file]);
    expect(badPolicy.code).toBe(1);
    expect(badPolicy.stderr).toContain('tiers.free.0.limit');

    const wrongToken = await cli(['policy', 'show'], {
      EDGELIMIT_URL: url,
      EDGELIMIT_ADMIN_TOKEN: 'x',
    });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toContain('401');
  });

  it('lists keys and customers, and revokes a key by the id or the prefix it printed', async () => {
    const first = await admin(['keys', 'create', 'cli-listed', '--tier', 'pro']);
    const second = await admin(['keys', 'create', 'cli-listed']);
    const keyOf = (out: string) => /^key\s+(\S+)$/m.exec(out)?.[1] ?? '';
    const idOf = (out: string) => /^id\s+([0-9a-f]{12})$/m.exec(out)?.[1] ?? '';
    const prefixOf = (out: string) => /^prefix\s+(\S+)$/m.exec(out)?.[1] ?? '';
    expect(idOf(first.stdout)).toMatch(/^[0-9a-f]{12}$/);

    const keys = await admin(['keys', 'list', '--customer', 'cli-listed']);
    expect(keys.code, keys.stderr).toBe(0);
    expectAligned(keys.stdout, 'ID', idOf(first.stdout));
    expectAligned(keys.stdout, 'PREFIX', prefixOf(second.stdout));
    expectAligned(keys.stdout, 'STATUS', 'active');
    expect(keys.stdout).not.toContain(keyOf(first.stdout));
    expect(keys.stdout.trim().split('\n')).toHaveLength(3);
    const all = await admin(['keys', 'list']);
    expect(all.stdout).toContain('demo-free-');

    const customers = await admin(['customers', 'list']);
    expect(customers.code, customers.stderr).toBe(0);
    expectAligned(customers.stdout, 'ID', 'cli-listed');
    expect(customers.stdout).toMatch(/^cli-listed\s+pro\s+tier default\s+0\s+-/m);
    expect(customers.stdout).toMatch(/^demo-enterprise\s+enterprise\s+50\/10s, 100000\/1d/m);

    const byId = await admin(['keys', 'revoke', idOf(first.stdout)]);
    expect(byId.code, byId.stderr).toBe(0);
    expect(byId.stdout).toMatch(/^customer {2}cli-listed$/m);
    const byPrefix = await admin(['keys', 'revoke', prefixOf(second.stdout)]);
    expect(byPrefix.code, byPrefix.stderr).toBe(0);
    for (const out of [first.stdout, second.stdout]) {
      const res = await fetch(`${url}/v1/things`, { headers: { 'X-API-Key': keyOf(out) } });
      expect(res.status).toBe(401);
    }
    const listed = await admin(['keys', 'list', '--customer', 'cli-listed']);
    expect(listed.stdout.match(/revoked/g)).toHaveLength(2);
    const unknown = await admin(['keys', 'revoke', '000000000000']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No API key with id 000000000000');
  });

  it('revokes a key and deletes a customer', async () => {
    const created = await admin(['keys', 'create', 'cli-gone', '--json']);
    const { key } = JSON.parse(created.stdout) as { key: string };
    const revoked = await admin(['keys', 'revoke', key]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^customer {2}cli-gone$/m);
    const res = await fetch(`${url}/v1/things`, { headers: { 'X-API-Key': key } });
    expect(res.status).toBe(401);

    const deleted = await admin(['customers', 'delete', 'cli-gone']);
    expect(deleted.code).toBe(0);
    expect((await admin(['customers', 'show', 'cli-gone'])).code).toBe(1);
  });
});
