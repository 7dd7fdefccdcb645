/** Reads the folder import graph of `src/` and finds what breaks its one-way arrows (pure rules). */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** One import of one source file, resolved to a path under `src/` (no extension). */
export interface FileImport {
  readonly from: string;
  readonly to: string;
}

/** A rule the import graph breaks, worded for the lint output. */
export interface Violation {
  readonly rule: 'folder-cycle' | 'route-imports-route' | 'forbidden-arrow';
  readonly message: string;
}

/**
 * Arrows that must never exist, on top of "no cycle": the limiter contract knows nothing of
 * where counts are kept, how policies are written or who asks.
 */
export const FORBIDDEN: readonly (readonly [from: string, to: string])[] = [
  ['limiter', 'store'],
  ['limiter', 'policy'],
  ['limiter', 'routes'],
  ['limiter', 'objects'],
  ['store', 'objects'],
  ['store', 'policy'],
  ['store', 'routes'],
  ['policy', 'routes'],
  ['policy', 'store'],
];

const IMPORT =
  /(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every relative import of every `.ts`/`.tsx` file below `srcDir`, as paths relative to it. */
export function readImports(srcDir: string): FileImport[] {
  const root = resolve(srcDir);
  const out: FileImport[] = [];
  for (const file of listSources(root)) {
    const text = readFileSync(file, 'utf8');
    const from = stripExtension(relative(root, file));
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2];
      if (!spec?.startsWith('.')) continue;
      const to = stripExtension(relative(root, resolve(dirname(file), spec)));
      if (!to.startsWith('..')) out.push({ from, to });
    }
  }
  return out;
}

/** The node a file belongs to: its top folder under `src/`, or the file itself at the top. */
export function nodeOf(path: string): string {
  const cut = path.indexOf('/');
  return cut < 0 ? `${path}.ts` : path.slice(0, cut);
}

/** Folder graph: node -> nodes it imports (self-imports left out), both sorted. */
export function folderGraph(imports: readonly FileImport[]): Map<string, string[]> {
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of imports) {
    const a = nodeOf(from);
    const b = nodeOf(to);
    if (!graph.has(a)) graph.set(a, new Set());
    if (!graph.has(b)) graph.set(b, new Set());
    if (a !== b) graph.get(a)?.add(b);
  }
  return new Map(
    [...graph].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, [...v].sort()]),
  );
}

/** Every broken rule: folder cycles, a route importing a route, a forbidden arrow. */
export function findViolations(imports: readonly FileImport[]): Violation[] {
  const violations: Violation[] = [];
  for (const { from, to } of imports) {
    if (from.startsWith('routes/') && to.startsWith('routes/')) {
      violations.push({
        rule: 'route-imports-route',
        message: `src/${from} imports src/${to}: a route may not use another route; move the shared part below routes/`,
      });
    }
  }
  const graph = folderGraph(imports);
  for (const [from, tos] of graph) {
    for (const to of tos) {
      if (FORBIDDEN.some(([a, b]) => a === from && b === to)) {
        const files = imports.filter((i) => nodeOf(i.from) === from && nodeOf(i.to) === to);
        violations.push({
          rule: 'forbidden-arrow',
          message: `${from}/ may not import ${to}/ (${files.map((f) => `src/${f.from} -> src/${f.to}`).join(', ')})`,
        });
      }
    }
  }
  for (const cycle of findCycles(graph)) {
    violations.push({ rule: 'folder-cycle', message: `folder cycle: ${cycle.join(' -> ')}` });
  }
  return violations;
}

/** One cycle per strongly connected component with more than one node, as a closed path. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(to) ?? 0));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(to) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      for (;;) {
        const top = stack.pop();
        if (top === undefined) break;
        onStack.delete(top);
        component.push(top);
        if (top === node) break;
      }
      if (component.length > 1) components.push(component);
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return components.map((component) => closedPath(graph, component));
}

/** A path through `component` that starts and ends at the same node. */
function closedPath(graph: ReadonlyMap<string, readonly string[]>, component: string[]): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0] ?? '';
  // Breadth-first from `start` back to itself, inside the component: the shortest cycle through it.
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const node = queue.shift() ?? '';
    for (const to of graph.get(node) ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let at = node; at !== start; at = previous.get(at) ?? start) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(to)) {
        previous.set(to, node);
        queue.push(to);
      }
    }
  }
  return [...component, start];
}

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(path));
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function stripExtension(path: string): string {
  return path.replace(/\\/g, '/').replace(/\.tsx?$/, '');
}
