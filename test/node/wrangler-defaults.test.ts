/** What a plain `wrangler deploy` ships: production-safe defaults, demo only in the dev stack. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { DEMO_VARS } from '../../scripts/lib/dev-stack';

const ROOT = join(import.meta.dirname, '..', '..');

describe('wrangler.toml defaults', () => {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, 'wrangler.toml'));
  const vars = (workerOptions.bindings ?? {}) as Record<string, unknown>;

  it('never answer production traffic with the echo origin or seed demo keys', () => {
    expect(vars.ORIGIN_URL).toBe('');
    expect(vars.SEED_DEMO).toBe('false');
    expect(vars.ADMIN_TOKEN).toBeUndefined();
    expect(vars.SERVICE_TOKENS).toBeUndefined();
  });

  it('give a new deployment fast consistency (decisions from leases, no round trip per request)', () => {
    expect(vars.CONSISTENCY).toBe('fast');
  });

  it('leave the demo origin and demo data to the local dev stack', () => {
    expect(DEMO_VARS).toMatchObject({ ORIGIN_URL: 'demo', SEED_DEMO: 'true' });
  });
});
