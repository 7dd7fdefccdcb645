/** The local dashboard server: static files, the generated /config.json, and nothing outside dist. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardServer, startDashboardServer } from '../../scripts/lib/dashboard-server';

/** A raw GET, so paths like `/../x` reach the server unnormalised (fetch would clean them up). */
function rawGet(url: string, path: string, method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (done, fail) => {
      const { hostname, port } = new URL(url);
      const req = request({ hostname, port, path, method }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', fail);
      req.end();
    },
  );
}

describe('startDashboardServer', () => {
  let root: string;
  let dist: string;
  let server: DashboardServer;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'edgelimit-dash-server-'));
    dist = join(root, 'dist');
    await mkdir(join(dist, 'assets'), { recursive: true });
    await writeFile(join(dist, 'index.html'), '<!doctype html><title>app</title>');
    await writeFile(join(dist, 'assets', 'index-abc.js'), 'console.log(1);');
    await writeFile(join(root, 'secret.txt'), 'outside dist');
    await symlink(join(root, 'secret.txt'), join(dist, 'link.txt'));
    server = await startDashboardServer({ port: 0, apiBase: 'http://127.0.0.1:9999/', dir: dist });
  });

  afterAll(async () => {
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves /config.json with the API base, uncached', async () => {
    const res = await fetch(`${server.url}/config.json`);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ apiBase: 'http://127.0.0.1:9999' });
  });

  it('serves index.html for / and for client-side routes, revalidated on every load', async () => {
    for (const path of ['/', '/operator']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<title>app</title>');
    }
  });

  it('serves hashed assets with their type and a long cache life', async () => {
    const res = await fetch(`${server.url}/assets/index-abc.js`);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(await res.text()).toBe('console.log(1);');
  });

  it('answers 404 for missing files with an extension instead of the app', async () => {
    expect((await fetch(`${server.url}/assets/missing.js`)).status).toBe(404);
  });

  it('never serves files outside the directory, by .. or by symlink', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const res = await rawGet(server.url, path);
      expect(res.body, path).not.toContain('outside dist');
    }
    const linked = await rawGet(server.url, '/link.txt');
    expect(linked.status).toBe(404);
    expect(linked.body).not.toContain('outside dist');
  });

  it('refuses methods other than GET and HEAD', async () => {
    expect((await rawGet(server.url, '/', 'POST')).status).toBe(405);
    const head = await rawGet(server.url, '/config.json', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('refuses to start without a build', async () => {
    await expect(
      startDashboardServer({ port: 0, apiBase: 'http://127.0.0.1:1', dir: join(root, 'nope') }),
    ).rejects.toThrow(/buildDashboard/);
  });
});
