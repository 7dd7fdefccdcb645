/** The dashboard's JavaScript stays small: built with Vite, gzipped, under 150 kB in total. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../../scripts/lib/dashboard-server';

/** The budget from the dashboard issue. */
const BUDGET_BYTES = 150 * 1024;

describe('dashboard bundle', () => {
  let outDir: string | undefined;
  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('builds, and its JavaScript is under 150 kB gzipped', async () => {
    // A private output directory, so a parallel test serving dashboard/dist is not disturbed.
    outDir = await mkdtemp(join(tmpdir(), 'edgelimit-dashboard-size-'));
    await buildDashboard({ outDir });
    const assets = join(outDir, 'assets');
    const scripts = (await readdir(assets)).filter((f) => f.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(0);
    let gzipped = 0;
    for (const file of scripts) {
      gzipped += gzipSync(await readFile(join(assets, file)), { level: 9 }).length;
    }
    console.log(
      `dashboard JS: ${scripts.length} file(s), ${(gzipped / 1024).toFixed(1)} kB gzipped`,
    );
    expect(gzipped).toBeLessThan(BUDGET_BYTES);
    // The page itself references the built script (a build that emits nothing usable fails here).
    const html = await readFile(join(outDir, 'index.html'), 'utf8');
    expect(html).toMatch(/<script type="module"[^>]+src="\.\/assets\/[^"]+\.js"/);
  });
});
