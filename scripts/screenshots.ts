/**
 * `npm run screenshots`: runs the dashboard end-to-end test (real wrangler dev, real headless
 * Chromium, real traffic) and copies two of the screenshots it takes into docs/images/, where the
 * README shows them. Nothing is drawn by hand.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const FROM = join(ROOT, 'test-results/screenshots');
const TO = join(ROOT, 'docs/images');
/** Screenshot of the e2e run -> file in docs/images. */
const SHOTS = {
  'customer-desktop.png': 'dashboard-customer.png',
  'operator-desktop.png': 'dashboard-operator.png',
} as const;

const run = spawnSync(
  join(ROOT, 'node_modules/.bin/vitest'),
  ['run', '--project', 'node', 'test/dashboard/dashboard.e2e.test.ts'],
  { cwd: ROOT, stdio: 'inherit' },
);
if (run.status !== 0) {
  console.error('The end-to-end test failed; docs/images was left as it was.');
  process.exit(run.status ?? 1);
}
await mkdir(TO, { recursive: true });
for (const [from, to] of Object.entries(SHOTS)) {
  await copyFile(join(FROM, from), join(TO, to));
  console.log(`docs/images/${to}`);
}
