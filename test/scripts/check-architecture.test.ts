/** The architecture check of `npm run lint`: it fails on what it must, and today's src/ passes it. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findViolations, folderGraph, readImports } from '../../scripts/architecture/import-graph';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

describe('the architecture check', () => {
  it('finds a folder cycle, naming the folders on it', () => {
    const violations = findViolations([
      { from: 'policy/resolve', to: 'telemetry/log' },
      { from: 'telemetry/log', to: 'identity/identify' },
      { from: 'identity/identify', to: 'policy/records' },
    ]);
    expect(violations.map((v) => v.rule)).toEqual(['folder-cycle']);
    expect(violations[0]?.message).toBe(
      'folder cycle: identity -> policy -> telemetry -> identity',
    );
  });

  it('refuses a route importing a route, and the limiter importing a store', () => {
    const rules = findViolations([
      { from: 'routes/usage', to: 'routes/proxy' },
      { from: 'limiter/decide', to: 'store/counter-store' },
    ]).map((v) => v.rule);
    expect(rules).toEqual(['route-imports-route', 'forbidden-arrow']);
  });

  it('passes on src/ as it is, with arrows one way into the limiter', () => {
    const imports = readImports(SRC);
    expect(findViolations(imports)).toEqual([]);
    const graph = folderGraph(imports);
    expect(graph.get('limiter')).toEqual(['clock.ts', 'deadline.ts']);
    expect(graph.get('store')).not.toContain('objects');
    expect(graph.get('routes')).not.toContain('store');
  });
});
