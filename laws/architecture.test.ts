import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../src/index.js';
import { primitives } from '../src/prim/primitive.js';
import { hasCpuKernel } from '../src/backends/cpu/index.js';

/**
 * The architecture of STYLE.md, checked by reading the import graph of src/ (a regex over the
 * import/export lines of every file):
 *
 *     core ← backends ← prim ← interp ← transforms ← ops ← {random, tree, io, jit} ← {nn, summary, optim} ← {data, cases, cli}
 *
 * Imports only point down the layers (or sideways within one), and the graph has no cycle at all:
 * neither between files (type-only imports included) nor between directories. The primitives'
 * rules are written with the strict wrappers defined beside each primitive in prim/ (as JAX's lax),
 * never with ops/, which adds broadcasting and conveniences on top; bind and the trace levels live
 * in prim/ too, so the interpreters (interp/) only consume primitive records.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

/** Layer of each top-level directory of src/ (a new directory must be placed here). */
const LAYER: Record<string, number> = {
  core: 0,
  backends: 1,
  prim: 2,
  interp: 3,
  transforms: 4,
  ops: 5,
  random: 6,
  tree: 6,
  io: 6,
  jit: 6,
  nn: 7,
  summary: 7,
  optim: 7,
  data: 8,
  cases: 8,
  cli: 8,
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
  assert.ok(edges.some((e) => e.from.endsWith(join('ops', 'arith.ts')) && e.to.endsWith(join('prim', 'elementwise.ts'))), 'ops/arith → prim/elementwise found');
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
  const bad = crossDir.filter((e) => (LAYER[topOf(e.from)] ?? 99) <= LAYER.ops! && HIGH.includes(topOf(e.to)));
  assert.deepEqual(bad.map(show), []);
});

test('imports point down the layers (prim never imports interp, transforms or ops), and no directory cycle', () => {
  const up = crossDir.filter((e) => (LAYER[topOf(e.from)] ?? 99) < (LAYER[topOf(e.to)] ?? 99));
  assert.deepEqual(up.map(show), [], 'imports from a lower layer into a higher one');
  const dirs = new Map<string, Set<string>>();
  for (const e of crossDir) (dirs.get(topOf(e.from)) ?? dirs.set(topOf(e.from), new Set()).get(topOf(e.from))!).add(topOf(e.to));
  const cycle = findCycle(dirs);
  assert.equal(cycle, null, `directory cycle: ${cycle?.join(' → ')}`);
});

test('the import graph of src/ has no cycle: no file imports itself through others (type-only imports included)', () => {
  const graph = new Map<string, Set<string>>();
  for (const e of edges) if (isSrc(e.to)) (graph.get(e.from) ?? graph.set(e.from, new Set()).get(e.from)!).add(e.to);
  const cycle = findCycle(graph);
  assert.equal(cycle, null, `import cycle: ${cycle?.map((f) => relative(ROOT, f)).join(' → ')}`);
  // the check sees a cycle when there is one
  const probe = new Map(graph);
  probe.set(join(SRC, 'prim', 'elementwise.ts'), new Set([...(graph.get(join(SRC, 'prim', 'elementwise.ts')) ?? []), join(SRC, 'ops', 'arith.ts')]));
  assert.ok(findCycle(probe)?.some((f) => f.endsWith(join('ops', 'arith.ts'))), 'an added edge prim/elementwise → ops/arith is reported as a cycle');
});

test('the rules of the primitives never call ops/: prim/ imports only core, backends and prim', () => {
  const bad = edges.filter((e) => topOf(e.from) === 'prim' && isSrc(e.to) && !['core', 'backends', 'prim'].includes(topOf(e.to)));
  assert.deepEqual(bad.map(show), []);
});

test('kernels are registered by their backend: prim/ reaches backends/ only through the registry and the dispatch counter', () => {
  const allowed = new Set(['registry.ts', 'dispatch-count.ts', 'backend.ts'].map((f) => join(SRC, 'backends', f)));
  const bad = edges.filter((e) => topOf(e.from) === 'prim' && isSrc(e.to) && topOf(e.to) === 'backends' && !allowed.has(e.to));
  assert.deepEqual(bad.map(show), []);
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

test('every registered primitive has abstractEval, jvp and vmap rules, a transpose rule exactly when it is linear, a CPU kernel, and facts that agree', () => {
  const prims = [...primitives().values()];
  assert.ok(prims.length >= 40, `only ${prims.length} primitives registered`);
  const problems: string[] = [];
  for (const p of prims) {
    if (typeof p.abstractEval !== 'function') problems.push(`${p.name}: no abstractEval`);
    if (typeof p.jvp !== 'function') problems.push(`${p.name}: no jvp rule`);
    if (typeof p.vmap !== 'function') problems.push(`${p.name}: no vmap rule`);
    if (p.linear !== (typeof p.transpose === 'function') || (!p.linear && p.transpose !== null)) problems.push(`${p.name}: linear is ${p.linear} but transpose is ${typeof p.transpose}`);
    if (p.linear && p.zeroDerivative) problems.push(`${p.name}: both linear and of zero derivative`);
    if (!['elementwise', 'view', 'reduce', 'none'].includes(p.fusion.role)) problems.push(`${p.name}: fusion role ${p.fusion.role}`);
    if (p.fusion.role === 'elementwise' && typeof p.fusion.scalar !== 'function') problems.push(`${p.name}: elementwise without a scalar expression`);
    if (!hasCpuKernel(p)) problems.push(`${p.name}: no CPU kernel`);
  }
  assert.deepEqual(problems, []);
  // the facts are declared where they hold: spot checks against the maths
  const facts = (n: string) => {
    const p = primitives().get(n)!;
    return [p.linear, p.zeroDerivative, p.fusion.role];
  };
  assert.deepEqual(facts('neg'), [true, false, 'elementwise']);
  assert.deepEqual(facts('exp'), [false, false, 'elementwise']);
  assert.deepEqual(facts('lt'), [false, true, 'elementwise']);
  assert.deepEqual(facts('reshape'), [true, false, 'view']);
  assert.deepEqual(facts('stop_gradient'), [false, true, 'view']);
  assert.deepEqual(facts('reduce_sum'), [true, false, 'reduce']);
  assert.deepEqual(facts('reduce_max'), [false, false, 'reduce']);
  assert.deepEqual(facts('argmax'), [false, true, 'none']);
  assert.deepEqual(facts('matmul'), [true, false, 'none']);
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
