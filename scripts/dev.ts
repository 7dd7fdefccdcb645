/** `npm run dev`: the worker at :8787 in front of the demo origin, the dashboard at :8788. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startDevStack, stopOnSignals } from './lib/dev-stack';

/** wrangler's own default, so `wrangler kv key put --local ...` reaches the running stack. */
const DEFAULT_PERSIST = resolve(import.meta.dirname, '../.wrangler/state');

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: process.env.LIMITER_STORE ?? 'durable-object' },
    port: { type: 'string', default: '8787' },
    'dashboard-port': { type: 'string', default: '8788' },
    'no-dashboard': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    fresh: { type: 'boolean', default: false },
    'persist-to': { type: 'string', default: DEFAULT_PERSIST },
  },
});

const store = values.store;
if (store !== 'durable-object' && store !== 'redis' && store !== 'hybrid') {
  console.error(`--store must be durable-object, redis or hybrid (got "${store}")`);
  process.exit(2);
}

try {
  const stack = await startDevStack({
    store,
    workerPort: Number(values.port),
    dashboardPort: values['no-dashboard'] ? false : Number(values['dashboard-port']),
    verbose: values.verbose,
    // --fresh: an empty temporary state, removed on exit; the saved state is left untouched.
    ...(values.fresh ? {} : { persistDir: resolve(values['persist-to']) }),
    ...(values.quiet ? {} : { requestLog: (line: string) => console.log(line) }),
  });
  const w = stack.workerUrl;
  console.log(`
edgelimit is running.
  Try:  curl -i ${w}/v1/hello -H 'X-API-Key: demo-free-key'
        curl -i ${w}/_edgelimit/rate_limit -H 'X-API-Key: demo-free-key'
  Demo keys: demo-free-key, demo-pro-key, demo-enterprise-key, demo-ai-key
  Service token: demo-service-token   Admin token: demo-admin-token
  State: ${values.fresh ? 'fresh (temporary, gone on exit)' : `${resolve(values['persist-to'])} (kept across restarts; --fresh starts empty)`}
Press Ctrl+C to stop.${values.quiet || values.verbose ? '' : ' One line per request follows (--quiet to silence).'}`);
  stopOnSignals(() => stack.stop());
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
