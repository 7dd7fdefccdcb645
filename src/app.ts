/**
 * Builds the Hono app: the reserved prefix routed by `getPath` to sub-apps composed with
 * `app.route()`, every other path limited and forwarded; one services middleware, one error
 * handler.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { getPath } from 'hono/utils/url';
import { ensureDemoData } from './demo-seed';
import { type Bindings, readSettings, SettingsError } from './env';
import { DOCS_PAGE_PATH, renderDocsPage } from './http/docs-page';
import { docsUrlOf, type EdgeEnv, withServices } from './http/edge-env';
import { fail, problemResponse, problems } from './http/problem';
import { adminRoutes } from './routes/admin';
import { increaseRequestRoutes } from './routes/increase-request';
import { metricsRoutes } from './routes/metrics';
import { openApiDocument } from './routes/openapi';
import { proxy } from './routes/proxy';
import { rateLimitStatusRoutes } from './routes/rate-limit-status';
import { usageRoutes } from './routes/usage';
import { usageStub } from './telemetry/embedded-usage';
import { log } from './telemetry/log';

/** Where `getPath` puts the reserved prefix's paths and every other path, for the router only. */
const RESERVED = '/reserved';
const PROXIED = '/proxied';

/**
 * The path the router sees: `<prefix>/rest` becomes `/reserved/rest`, any other path `/proxied/path`,
 * so no request outside the prefix can reach a reserved route whatever its path. Settings that do
 * not parse route to the proxy, whose first middleware throws the SettingsError for the handler.
 */
export function routedPath(request: Request, env: Bindings | undefined): string {
  const decoded = getPath(request);
  let prefix: string;
  try {
    if (!env) return PROXIED + decoded;
    prefix = readSettings(env).prefix;
  } catch {
    return PROXIED + decoded;
  }
  const raw = new URL(request.url).pathname;
  if (raw !== prefix && !raw.startsWith(`${prefix}/`)) return PROXIED + decoded;
  return RESERVED + (decoded.slice(prefix.length) || '/');
}

/**
 * Creates the worker's app. Everything the worker answers itself lives under the reserved prefix
 * (`/_edgelimit` by default); every other path is limited and forwarded to the origin.
 */
export function createApp(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>({
    getPath: (request, options) => routedPath(request, options?.env),
  });

  app.use('*', async (c, next) => {
    const settings = readSettings(c.env);
    if (settings.seedDemo) await ensureDemoData(c.env);
    await next();
  });
  app.use('*', withServices());

  app.route(RESERVED, reservedRoutes());
  app.all(`${PROXIED}/*`, proxy);

  app.onError((error) => {
    if (error instanceof HTTPException) return error.getResponse();
    if (error instanceof SettingsError) {
      log('config-error', { message: error.message }, 'error');
      return problemResponse(problems.misconfigured(error.message));
    }
    log(
      'internal-error',
      { message: error instanceof Error ? error.message : String(error) },
      'error',
    );
    return problemResponse(problems.internal());
  });

  return app;
}

/** Everything under the reserved prefix; the metrics route goes ahead of the admin API's auth. */
function reservedRoutes(): Hono<EdgeEnv> {
  const reserved = new Hono<EdgeEnv>();
  reserved.all('/health', (c) => health(c.env));
  reserved.get('/openapi.json', (c) =>
    c.json(openApiDocument(c.var.services.settings.prefix, docsUrlOf(c))),
  );
  // The page every problem body links to (unless DOCS_URL points elsewhere); GET answers HEAD.
  reserved.get(DOCS_PAGE_PATH, async (c) => {
    const { config, settings } = c.var.services;
    const page = renderDocsPage(await config.policy(), settings.prefix, new URL(c.req.url).origin);
    return c.html(page, 200, { 'Cache-Control': 'public, max-age=300' });
  });
  reserved.route('/usage/increase-request', increaseRequestRoutes());
  reserved.route('/usage', usageRoutes());
  reserved.route('/rate_limit', rateLimitStatusRoutes());
  reserved.route('/admin/metrics', metricsRoutes());
  reserved.route('/admin', adminRoutes());
  reserved.all('*', (c) =>
    fail(
      problems.notFound(
        `No route ${c.req.method} ${new URL(c.req.url).pathname} under ${c.var.services.settings.prefix}.`,
      ),
    ),
  );
  return reserved;
}

/**
 * `GET <prefix>/health`: always 200 while the worker runs. In hybrid mode it also says whether
 * write-behind to Redis failed in the last five minutes (`ok: false` then): the objects keep
 * deciding, but Redis lags them, which a health check must not hide.
 */
async function health(env: Bindings): Promise<Response> {
  const { storeMode } = readSettings(env);
  if (storeMode !== 'hybrid') return Response.json({ ok: true, store: storeMode });
  const now = Date.now();
  const minute = Math.floor(now / 60_000) * 60_000;
  const failed = await usageStub(env.USAGE)
    .writeBehindFailures(minute - 4 * 60_000, minute)
    .catch(() => undefined);
  const writeBehind = failed
    ? { failuresLast5m: failed.failures, lastError: failed.lastError }
    : { failuresLast5m: null, lastError: 'the usage object did not answer' };
  return Response.json({ ok: failed?.failures === 0, store: storeMode, writeBehind });
}
