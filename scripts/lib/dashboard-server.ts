/** Builds the dashboard with Vite and serves dashboard/dist locally, with a generated /config.json. */
import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
/** The dashboard's sources and its build output. */
export const DASHBOARD_DIR = join(ROOT, 'dashboard');
export const DASHBOARD_DIST = join(DASHBOARD_DIR, 'dist');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Newest modification time under a directory (recursively), in ms; 0 when it does not exist. */
async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(path);
  const times = await Promise.all(entries.map((entry) => newestMtime(join(path, entry))));
  return Math.max(info.mtimeMs, ...times);
}

/** Whether dist/index.html is newer than every source file of the dashboard. */
async function isUpToDate(): Promise<boolean> {
  const built = await stat(join(DASHBOARD_DIST, 'index.html')).catch(() => undefined);
  if (!built) return false;
  const sources = await Promise.all(
    ['src', 'index.html', 'vite.config.ts', 'public'].map((p) =>
      newestMtime(join(DASHBOARD_DIR, p)),
    ),
  );
  return Math.max(...sources) < built.mtimeMs;
}

/**
 * Builds the dashboard into dashboard/dist with Vite's JavaScript API, unless the build is newer
 * than every source file (pass `force` to rebuild anyway, say after changing VITE_EDGELIMIT_API).
 * `outDir` builds somewhere else (always a fresh build), leaving dashboard/dist alone.
 * @example await buildDashboard(); // then serve dashboard/dist or `wrangler pages deploy dashboard/dist`
 */
export async function buildDashboard(
  opts: { force?: boolean; outDir?: string } = {},
): Promise<void> {
  if (!opts.force && !opts.outDir && (await isUpToDate())) return;
  // Imported lazily: Vite is only needed when a build actually runs.
  const { build } = await import('vite');
  await build({
    root: DASHBOARD_DIR,
    configFile: join(DASHBOARD_DIR, 'vite.config.ts'),
    logLevel: 'warn',
    ...(opts.outDir ? { build: { outDir: opts.outDir, emptyOutDir: true } } : {}),
  });
}

/** Options of {@link startDashboardServer}. */
export interface DashboardServerOptions {
  /** Default 8788; 0 picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1: the local server is never exposed to the network. */
  readonly host?: string;
  /** The worker's URL, served to the app as `/config.json`. */
  readonly apiBase: string;
  /** Directory to serve; default dashboard/dist. */
  readonly dir?: string;
}

/** A running dashboard server. */
export interface DashboardServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Closes the server (and any open connections). Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Serves the built dashboard (run {@link buildDashboard} first) and `/config.json` =
 * `{ "apiBase": opts.apiBase }`. Unknown paths without an extension get index.html, like Pages.
 * @example
 * const server = await startDashboardServer({ apiBase: 'http://127.0.0.1:8787' });
 * console.log(server.url); // http://127.0.0.1:8788
 * await server.stop();
 */
export async function startDashboardServer(opts: DashboardServerOptions): Promise<DashboardServer> {
  const apiBase = new URL(opts.apiBase).toString().replace(/\/+$/, '');
  const host = opts.host ?? '127.0.0.1';
  const dir = await realpath(opts.dir ?? DASHBOARD_DIST).catch(() => undefined);
  if (!dir || !(await stat(join(dir, 'index.html')).catch(() => undefined))) {
    throw new Error(
      `No dashboard build in ${opts.dir ?? DASHBOARD_DIST}; run buildDashboard() first.`,
    );
  }
  const config = JSON.stringify({ apiBase });

  const server = createServer((req, res) => {
    handle(req, res, dir, config).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`dashboard server error: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8788, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 8788);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${port}`,
    stop() {
      stopped ??= new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  dir: string,
  config: string,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Method not allowed');
    return;
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  } catch {
    send(res, req, 400, CONTENT_TYPES['.txt'], 'no-store', 'Bad request path');
    return;
  }
  if (pathname === '/config.json') {
    send(res, req, 200, CONTENT_TYPES['.json'], 'no-store', config);
    return;
  }
  const file = await resolveFile(dir, pathname);
  if (!file) {
    send(res, req, 404, CONTENT_TYPES['.txt'], 'no-store', 'Not found');
    return;
  }
  const type = CONTENT_TYPES[extname(file.path)] ?? 'application/octet-stream';
  // Hashed assets never change; index.html must be revalidated so a new build shows at once.
  const cache = file.path.includes(`${sep}assets${sep}`)
    ? 'public, max-age=31536000, immutable'
    : 'no-cache';
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': file.size,
    'Cache-Control': cache,
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file.path).pipe(res);
}

/** Maps a URL path to a file inside `dir`; never outside it (no `..` escapes, no symlink escapes). */
async function resolveFile(
  dir: string,
  pathname: string,
): Promise<{ path: string; size: number } | undefined> {
  const wanted = resolve(dir, `.${pathname}`);
  const candidates = pathname.endsWith('/') ? [join(wanted, 'index.html')] : [wanted];
  // Client-side routes (no extension) fall back to the app, as Pages does for SPAs.
  if (!extname(pathname)) candidates.push(join(dir, 'index.html'));
  for (const candidate of candidates) {
    const real = await realpath(candidate).catch(() => undefined);
    if (!real) continue;
    const rel = relative(dir, real);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) continue;
    const info = await stat(real).catch(() => undefined);
    if (info?.isFile()) return { path: real, size: info.size };
  }
  return undefined;
}

function send(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  type: string | undefined,
  cache: string,
  body: string,
): void {
  res.writeHead(status, {
    'Content-Type': type ?? 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': cache,
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
