/** `npm run example`: the limiter at :8787 and the example Hono Worker at :8790 that calls it over RPC. */
import { parseArgs } from 'node:util';
import { stopOnSignals } from './lib/dev-stack';
import { startExampleStack } from './lib/example-stack';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8787' },
    'example-port': { type: 'string', default: '8790' },
    verbose: { type: 'boolean', default: false },
  },
});

try {
  const stack = await startExampleStack({
    workerPort: Number(values.port),
    examplePort: Number(values['example-port']),
    verbose: values.verbose,
  });
  const e = stack.exampleUrl;
  console.log(`
The example Worker is running, rate limited by edgelimit through a service binding.
  Try:  curl -i ${e}/v1/hello -H 'X-API-Key: demo-free-key'
        for i in $(seq 11); do curl -s -o /dev/null -w '%{http_code} ' -X POST ${e}/v1/search -H 'X-API-Key: demo-free-key'; done
        curl -i ${e}/v1/hello -H 'X-API-Key: not-a-real-key'
  The same limiter as a proxy: ${stack.workerUrl}
Press Ctrl+C to stop.`);
  stopOnSignals(() => stack.stop());
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
