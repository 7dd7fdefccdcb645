/** `npm run dev`: the worker at :8787 in front of the demo origin, the dashboard at :8788. */
import { parseArgs } from 'node:util';
import { startDevStack } from './lib/dev-stack';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: process.env.LIMITER_STORE ?? 'durable-object' },
    port: { type: 'string', default: '8787' },
    'dashboard-port': { type: 'string', default: '8788' },
    'no-dashboard': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
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
  });
  const w = stack.workerUrl;
  console.log(`
edgelimit is running.
  Try:  curl -i ${w}/v1/hello -H 'X-API-Key: demo-free-key'
        curl -i ${w}/_edgelimit/rate_limit -H 'X-API-Key: demo-free-key'
  Demo keys: demo-free-key, demo-pro-key, demo-enterprise-key, demo-ai-key
  Service token: demo-service-token   Admin token: demo-admin-token
Press Ctrl+C to stop.`);
  const shutdown = async () => {
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGHUP', shutdown);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
