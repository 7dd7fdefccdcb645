/**
 * `npm run lint` step: fails when `src/` has a folder import cycle, a route importing a route, or
 * an arrow docs/architecture.md forbids. `--graph` prints the folder graph instead.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findViolations, folderGraph, readImports } from './architecture/import-graph';

const srcDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const imports = readImports(srcDir);

if (process.argv.includes('--graph')) {
  for (const [from, tos] of folderGraph(imports)) {
    console.log(`${from.padEnd(16)} -> ${tos.join(', ') || '(nothing)'}`);
  }
} else {
  const violations = findViolations(imports);
  for (const v of violations) console.error(`architecture: ${v.rule}: ${v.message}`);
  if (violations.length) {
    console.error(`architecture: ${violations.length} problem(s); see docs/architecture.md`);
    process.exit(1);
  }
  console.log(`architecture: ${imports.length} imports, no cycle, no route -> route import`);
}
