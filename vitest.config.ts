/** Two test projects: the worker inside workerd, and Node-side scripts (local Upstash, CLI, dashboard). */
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['./test/global-setup.ts'],
    projects: [
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ADMIN_TOKEN: 'test-admin-token',
                SERVICE_TOKENS: 'test-service-token,second-service-token',
                UPSTASH_REDIS_REST_URL: inject('upstashUrl'),
                UPSTASH_REDIS_REST_TOKEN: inject('upstashToken'),
                LIMITER_STORE: 'durable-object',
                // Most tests assert exact counts request by request; the default (`fast`) has its
                // own tests (testWorker({ CONSISTENCY: 'fast' }), test/store/lease-store.test.ts).
                CONSISTENCY: 'exact',
                // testWorker waits for waitUntil, where this timer waits out a lease's ttl; its
                // own tests turn it on (test/store/return-timer.test.ts).
                LEASE_RETURN_TIMER: 'false',
                ORIGIN_URL: 'demo',
                SEED_DEMO: 'true',
              },
            },
          })),
        ],
        test: {
          name: 'worker',
          include: ['test/**/*.test.ts'],
          exclude: [
            'test/scripts/**',
            'test/dashboard/**',
            'test/node/**',
            'test/**/*.node.test.ts',
          ],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'node',
          environment: 'node',
          include: [
            'test/scripts/**/*.test.ts',
            'test/dashboard/**/*.test.ts',
            'test/node/**/*.test.ts',
            // Plain modules the Workers runtime must not be needed for, tested next to their folder.
            'test/**/*.node.test.ts',
          ],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
