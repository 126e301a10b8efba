import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import '../src/index.js';
import { primitives } from '../src/prim/primitive.js';
import { hasCpuKernel } from '../src/backends/cpu/index.js';

/**
 * The architecture of STYLE.md, checked by reading the import graph of src/ (a regex over the
 * import/export lines of every file):
 *
 *     core ← backends ← {prim, interp, ops, transforms} ← {random, tree, io, jit} ← {nn, summary, optim} ← {data, cases, cli}
 *
 * Imports only point down (or sideways within a layer, without cycles). The one accepted cycle is
 * inside the kernel {prim, interp, ops, transforms}: primitive rules are written with ops (STYLE
 * rule 2, so every derivative is differentiable again) and call `bind` from interp; ops bind
 * primitives; interp/linear.ts accumulates cotangents with ops; transforms build bases with ops.
 * Those cycles are *call-time* only: no module uses a binding of a cycle peer while loading, which
 * the last law checks by loading every file of a cycle as the entry point in a fresh module graph.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

/** Layer of each top-level directory of src/ (a new directory must be placed here). */
const LAYER: Record<string, number> = {
  core: 0,
  backends: 1,
  prim: 2,
  interp: 2,
  ops: 2,
  transforms: 2,
  random: 3,
  tree: 3,
  io: 3,
  jit: 3,
  nn: 4,
  summary: 4,
  optim: 4,
  data: 5,
  cases: 5,
  cli: 5,
};
const KERNEL = new Set(['prim', 'interp', 'ops', 'transforms']);
/** The accepted edges inside the kernel, with the reason for each (anything else is a violation). */
const KERNEL_EDGES: Record<string, string> = {
  'prim→interp': 'rules apply primitives with bind/bind1',
  'prim→ops': 'rules are written with ops, so derivatives are differentiable to any order (accepted call-time cycle)',
  'interp→prim': 'vmap moves batch axes with transposeP',
  'interp→ops': 'the linear trace accumulates cotangents with add and makes zeros with full (call-time)',
  'ops→prim': 'ops bind primitives',
  'ops→interp': 'ops call bind1',
  'transforms→interp': 'transforms open traces',
  'transforms→ops': 'jacobians build basis tensors with ops',
  'transforms→prim': 'transforms may bind primitives directly',
  'ops→transforms': 'STYLE orders transforms ← ops: composite ops may use transforms',
};
const HIGH = ['nn', 'summary', 'optim', 'data', 'cli', 'cases'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

interface Edge {
  readonly from: string;
  readonly to: string; // absolute path of a src file, or a package name
  readonly typeOnly: boolean;
  readonly dynamic: boolean;
}

/** Import edges of one file: static imports/exports (type-only marked) and dynamic import('…'). */
function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const out: Edge[] = [];
  const add = (spec: string, typeOnly: boolean, dynamic: boolean) => {
    if (!spec.startsWith('.')) return out.push({ from: file, to: spec, typeOnly, dynamic });
    const base = resolve(dirname(file), spec);
    const cands = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
    const hit = cands.find((c) => existsSync(c) && statSync(c).isFile());
    assert.ok(hit, `${relative(ROOT, file)}: cannot resolve import '${spec}'`);
    out.push({ from: file, to: hit!, typeOnly, dynamic });
  };
  const stat = /^\s*(import|export)\s+(type\s+)?([^'";]*?\bfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(stat)) {
    const clause = m[3] ?? '';
    if (m[1] === 'export' && !clause) continue; // `export type X = '…'` and the like
    add(m[4]!, Boolean(m[2]), false);
  }
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) add(m[1]!, false, true);
  return out;
}

const files = tsFiles(SRC);
const edges = files.flatMap(importsOf);
const topOf = (abs: string): string => relative(SRC, abs).split(/[\\/]/)[0]!;
const isSrc = (to: string) => to.startsWith(SRC);
const show = (e: Edge) => `${relative(ROOT, e.from)} → ${isSrc(e.to) ? relative(ROOT, e.to) : e.to}`;
const crossDir = edges.filter((e) => isSrc(e.to) && topOf(e.from) !== 'index.ts' && topOf(e.from) !== topOf(e.to));

test('the import graph was read: every src file parsed, edges found', () => {
  assert.ok(files.length > 30, `only ${files.length} files under src/`);
  assert.ok(edges.length > files.length, `only ${edges.length} import edges`);
  assert.ok(edges.some((e) => e.from.endsWith(join('prim', 'elementwise.ts')) && e.to.endsWith(join('ops', 'arith.ts'))), 'prim/elementwise → ops/arith found');
});

test('every top-level directory of src/ has a place in the layer order', () => {
  const dirs = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  const unplaced = dirs.filter((d) => !(d in LAYER));
  assert.deepEqual(unplaced, [], `give these directories a layer in laws/architecture.test.ts: ${unplaced.join(', ')}`);
});

test('src/core imports nothing outside src/core (and no dev-only package)', () => {
  const bad = edges.filter((e) => topOf(e.from) === 'core' && (isSrc(e.to) ? topOf(e.to) !== 'core' : !allowedPackage(e.to)));
  assert.deepEqual(bad.map(show), []);
});

test('src/backends imports only core and backends', () => {
  const bad = edges.filter((e) => topOf(e.from) === 'backends' && isSrc(e.to) && !['core', 'backends'].includes(topOf(e.to)));
  assert.deepEqual(bad.map(show), []);
});

test('nothing in core/backends/prim/interp/transforms/ops imports summary, optim, nn, data, cli or cases', () => {
  const bad = crossDir.filter((e) => (LAYER[topOf(e.from)] ?? 99) <= 2 && HIGH.includes(topOf(e.to)));
  assert.deepEqual(bad.map(show), []);
});

test('imports point down the layers; inside the kernel only the documented edges; no cycles between directories of one layer', () => {
  const up = crossDir.filter((e) => (LAYER[topOf(e.from)] ?? 99) < (LAYER[topOf(e.to)] ?? 99));
  assert.deepEqual(up.map(show), [], 'imports from a lower layer into a higher one');
  const kernel = crossDir.filter((e) => KERNEL.has(topOf(e.from)) && KERNEL.has(topOf(e.to)));
  const undocumented = kernel.filter((e) => !(`${topOf(e.from)}→${topOf(e.to)}` in KERNEL_EDGES));
  assert.deepEqual(undocumented.map(show), [], 'kernel edges not in KERNEL_EDGES (prim and interp must not import transforms)');
  // sideways edges within one non-kernel layer must not form a cycle between directories
  const side = new Map<string, Set<string>>();
  for (const e of crossDir) {
    const a = topOf(e.from);
    const b = topOf(e.to);
    if (LAYER[a] === LAYER[b] && !KERNEL.has(a)) (side.get(a) ?? side.set(a, new Set()).get(a)!).add(b);
  }
  const cycle = findCycle(side);
  assert.equal(cycle, null, `directory cycle within a layer: ${cycle?.join(' → ')}`);
});

test('src/summary reaches the machinery only through the public transforms: it imports core, ops, transforms and itself, no interp/ module', () => {
  // the summaries are compositions of transforms (STYLE rule 4); what they need from the
  // interpreters (symbolic-zero tangents, shared evaluations) is a public transform
  const allowed = new Set(['core', 'ops', 'transforms', 'summary']);
  const bad = edges.filter((e) => topOf(e.from) === 'summary' && isSrc(e.to) && !allowed.has(topOf(e.to)));
  assert.deepEqual(bad.map(show), []);
  assert.ok(edges.some((e) => e.from.endsWith(join('summary', 'summary.ts')) && topOf(e.to) === 'transforms'), 'summary/summary.ts → transforms found');
});

test('src/ imports no package outside package.json dependencies (dev-only packages stay in laws/)', () => {
  const bad = edges.filter((e) => !isSrc(e.to) && !allowedPackage(e.to));
  assert.deepEqual(bad.map(show), []);
});

test('every module in an import cycle loads as the entry point (the cycles are call-time only)', async () => {
  // runtime edges only: type-only imports vanish at compile time, dynamic ones run later
  const graph = new Map<string, Set<string>>();
  for (const e of edges) if (isSrc(e.to) && !e.typeOnly && !e.dynamic) (graph.get(e.from) ?? graph.set(e.from, new Set()).get(e.from)!).add(e.to);
  const inCycle = stronglyConnected(graph).filter((c) => c.length > 1).flat().filter((f) => topOf(f) !== 'cli');
  assert.ok(inCycle.some((f) => f.endsWith(join('prim', 'elementwise.ts'))), 'the prim ↔ ops cycle was found');
  const failures: string[] = [];
  for (const f of inCycle.sort()) {
    try {
      await tsImport(pathToFileURL(f).href, import.meta.url); // a fresh module graph per call
    } catch (e) {
      failures.push(`${relative(ROOT, f)}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  }
  assert.deepEqual(failures, [], 'modules that fail when imported first (a load-time use of a cycle peer)');
});

test('every registered primitive has abstractEval, jvp and vmap rules, a transpose rule or null, and a CPU kernel', () => {
  const prims = [...primitives().values()];
  assert.ok(prims.length >= 40, `only ${prims.length} primitives registered`);
  const problems: string[] = [];
  for (const p of prims) {
    if (typeof p.abstractEval !== 'function') problems.push(`${p.name}: no abstractEval`);
    if (typeof p.jvp !== 'function') problems.push(`${p.name}: no jvp rule`);
    if (typeof p.vmap !== 'function') problems.push(`${p.name}: no vmap rule`);
    if (p.transpose !== null && typeof p.transpose !== 'function') problems.push(`${p.name}: transpose is neither a rule nor null`);
    if (!hasCpuKernel(p.name)) problems.push(`${p.name}: no CPU kernel`);
  }
  assert.deepEqual(problems, []);
});

// ---- helpers ------------------------------------------------------------------------------------

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
/** A Node built-in, a dependency, or a peer dependency (the optional ones are loaded lazily, with an error naming the package when absent). */
function allowedPackage(spec: string): boolean {
  if (spec.startsWith('node:')) return true;
  const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
  return name in (pkg.dependencies ?? {}) || name in (pkg.peerDependencies ?? {});
}

/** A cycle in a small directed graph, or null. */
function findCycle(g: ReadonlyMap<string, ReadonlySet<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (v: string): string[] | null => {
    if (state.get(v) === 'open') return [...path.slice(path.indexOf(v)), v];
    if (state.get(v) === 'done') return null;
    state.set(v, 'open');
    path.push(v);
    for (const w of g.get(v) ?? []) {
      const c = visit(w);
      if (c) return c;
    }
    path.pop();
    state.set(v, 'done');
    return null;
  };
  for (const v of g.keys()) {
    const c = visit(v);
    if (c) return c;
  }
  return null;
}

/** Strongly connected components (Tarjan, iterative enough for a few hundred files). */
function stronglyConnected(g: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      out.push(comp);
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) strong(v);
  return out;
}
