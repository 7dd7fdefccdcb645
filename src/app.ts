/** Builds the Hono app: middleware order, the error handler and the routes. */
import { Hono } from 'hono';
import { ensureDemoData } from './demo-seed';
import { type Bindings, readSettings, SettingsError } from './env';
import { DOCS_PAGE_PATH, docsUrlFor, renderDocsPage } from './http/docs-page';
import { problemResponse } from './http/problem';
import { adminRoutes } from './routes/admin';
import { increaseRequestRoutes } from './routes/increase-request';
import { metricsRoutes } from './routes/metrics';
import { openApiDocument } from './routes/openapi';
import { proxy } from './routes/proxy';
import { usageRoutes } from './routes/usage';
import { getServices } from './services';
import { usageStub } from './telemetry/embedded-usage';
import { log } from './telemetry/log';

type Env = { Bindings: Bindings };

/**
 * Creates the worker's app. Everything the worker answers itself lives under the reserved prefix
 * (`/_edgelimit` by default); every other path is limited and forwarded to the origin.
 */
export function createApp(): Hono<Env> {
  const app = new Hono<Env>();
  const admin = adminRoutes();
  const usage = usageRoutes();
  const increaseRequests = increaseRequestRoutes();
  const metrics = metricsRoutes();

  app.use('*', async (c, next) => {
    const settings = readSettings(c.env);
    if (settings.seedDemo) await ensureDemoData(c.env);
    await next();
  });

  app.all('*', async (c) => {
    const { prefix } = readSettings(c.env);
    const path = new URL(c.req.url).pathname;
    if (path === prefix || path.startsWith(`${prefix}/`)) {
      const rest = path.slice(prefix.length) || '/';
      if (rest === '/health') return health(c.env);
      if (rest === DOCS_PAGE_PATH && (c.req.method === 'GET' || c.req.method === 'HEAD')) {
        // The page every problem body links to (unless DOCS_URL points elsewhere).
        const policy = await getServices(c.env).config.policy();
        return c.html(renderDocsPage(policy, prefix, new URL(c.req.url).origin), 200, {
          'Cache-Control': 'public, max-age=300',
        });
      }
      if (rest === '/openapi.json' && c.req.method === 'GET') {
        return c.json(openApiDocument(prefix, docsUrlFor(readSettings(c.env), c.req.url)));
      }
      if (rest === '/usage/increase-request') {
        return increaseRequests.fetch(c.req.raw, c.env, c.executionCtx);
      }
      const observability =
        rest === '/usage' || rest === '/rate_limit'
          ? usage
          : rest === '/admin/metrics'
            ? metrics
            : undefined;
      if (observability) {
        const url = new URL(c.req.url);
        url.pathname = rest;
        return observability.fetch(new Request(url, c.req.raw), c.env, c.executionCtx);
      }
      if (rest === '/admin' || rest.startsWith('/admin/')) {
        const url = new URL(c.req.url);
        url.pathname = rest.slice('/admin'.length) || '/';
        return admin.fetch(new Request(url, c.req.raw), c.env, c.executionCtx);
      }
      return problemResponse({
        type: 'about:blank',
        title: 'Not found',
        status: 404,
        detail: `No route ${c.req.method} ${path} under ${prefix}.`,
      });
    }
    return proxy(c);
  });

  app.onError((error) => {
    if (error instanceof SettingsError) {
      log('config-error', { message: error.message }, 'error');
      return problemResponse({
        type: 'about:blank',
        title: 'Rate limiter misconfigured',
        status: 500,
        detail: error.message,
      });
    }
    log(
      'internal-error',
      { message: error instanceof Error ? error.message : String(error) },
      'error',
    );
    return problemResponse({
      type: 'about:blank',
      title: 'Internal error',
      status: 500,
      detail: 'The rate limiter failed unexpectedly; the incident was logged.',
    });
  });

  return app;
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
