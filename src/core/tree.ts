import { ShapeError } from './errors.js';
import { Tensor } from './tensor.js';

/**
 * Trees of tensors (JAX's pytrees): tensors at the leaves, arrays and plain records as nodes.
 * Other values (numbers, strings, booleans, null, undefined) are static: part of the structure.
 *
 * This is the one module of tree structure: flatten/unflatten, leaves and paths, comparing
 * structures (with errors that name both trees and the first differing path), map and zip, and
 * masked trees. It sits in core because the interpreters and transforms flatten their arguments;
 * tree arithmetic, which needs ops, is in `src/tree/math.ts`, and `src/tree/index.ts` is the
 * public `tree` namespace over both.
 */
export type Tree = Tensor | readonly Tree[] | { readonly [k: string]: Tree } | number | string | boolean | null | undefined;

/** The structure of a tree without its tensors. */
export type TreeDef =
  | { readonly kind: 'leaf' }
  | { readonly kind: 'static'; readonly value: unknown }
  | { readonly kind: 'array'; readonly children: readonly TreeDef[] }
  | { readonly kind: 'record'; readonly keys: readonly string[]; readonly children: readonly TreeDef[] };

/** A plain record (`{…}`, or one made with a null prototype): a tree node, unlike class instances. */
export const isPlainObject = (x: unknown): x is Record<string, unknown> => {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
};

/** A leaf's path: keys and indices joined by dots (`layers.0.weight`). */
const joinPath = (path: string, k: string | number) => (path ? `${path}.${k}` : String(k));

// flatten, unflatten and map are written without closures made per call: they run on every
// transform and every optimizer update, and V8 drops the optimized code of a closure no live
// function object holds at each full collection (forced every ~20 eager steps by the cpu-wasm
// heap), then compiles it again on the second core.

/** The structure of every leaf (immutable, so one object serves all). */
const LEAF: TreeDef = { kind: 'leaf' };

/** Leaves (tensors, in depth-first key order) and the structure to rebuild the tree. */
export function flatten(t: unknown): { leaves: Tensor[]; def: TreeDef } {
  const leaves: Tensor[] = [];
  const def = flattenInto(t, leaves);
  return { leaves, def };
}

function flattenInto(x: unknown, leaves: Tensor[]): TreeDef {
  if (x instanceof Tensor) {
    leaves.push(x);
    return LEAF;
  }
  if (Array.isArray(x)) {
    const children: TreeDef[] = new Array(x.length);
    for (let i = 0; i < x.length; i++) children[i] = flattenInto(x[i], leaves);
    return { kind: 'array', children };
  }
  if (isPlainObject(x)) {
    const keys = Object.keys(x);
    const children: TreeDef[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) children[i] = flattenInto(x[keys[i]!], leaves);
    return { kind: 'record', keys, children };
  }
  if (x === null || x === undefined || typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean') return { kind: 'static', value: x };
  throw new TypeError(`tree: unsupported node ${Object.prototype.toString.call(x)} (expected a Tensor, an array or a plain record)`);
}

/** Rebuilds a tree from its structure and leaves. */
export function unflatten<T = Tree>(def: TreeDef, leaves: readonly unknown[]): T {
  const at = { i: 0 };
  const out = build(def, leaves, at);
  if (at.i !== leaves.length) throw new ShapeError(`tree.unflatten: ${leaves.length} leaves for a structure of ${at.i}`);
  return out as T;
}

function build(d: TreeDef, leaves: readonly unknown[], at: { i: number }): unknown {
  switch (d.kind) {
    case 'leaf':
      if (at.i >= leaves.length) throw new ShapeError(`tree.unflatten: too few leaves (${leaves.length})`);
      return leaves[at.i++];
    case 'static':
      return d.value;
    case 'array': {
      const out: unknown[] = new Array(d.children.length);
      for (let j = 0; j < d.children.length; j++) out[j] = build(d.children[j]!, leaves, at);
      return out;
    }
    case 'record': {
      const out: Record<string, unknown> = {};
      for (let j = 0; j < d.keys.length; j++) {
        const k = d.keys[j]!;
        const v = build(d.children[j]!, leaves, at);
        // an own key '__proto__' (a record parsed from JSON) stays a key, as Object.fromEntries keeps it
        if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
        else out[k] = v;
      }
      return out;
    }
  }
}

/** Number of tensor leaves in a structure. */
export const numLeaves = (d: TreeDef): number =>
  d.kind === 'leaf' ? 1 : d.kind === 'static' ? 0 : d.children.reduce((n, c) => n + numLeaves(c), 0);

/** Renders a structure for error messages. */
export function showDef(d: TreeDef): string {
  switch (d.kind) {
    case 'leaf':
      return '*';
    case 'static':
      return JSON.stringify(d.value) ?? 'undefined';
    case 'array':
      return `[${d.children.map(showDef).join(', ')}]`;
    case 'record':
      return `{${d.keys.map((k, i) => `${k}: ${showDef(d.children[i]!)}`).join(', ')}}`;
  }
}

/** Leaves with their path names (`layers.0.weight`), in flatten order. */
export function leavesWithPaths(t: unknown): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  const go = (x: unknown, path: string) => {
    if (x instanceof Tensor) out.push([path, x]);
    else if (Array.isArray(x)) x.forEach((c, i) => go(c, joinPath(path, i)));
    else if (isPlainObject(x)) for (const k of Object.keys(x)) go(x[k], joinPath(path, k));
  };
  go(t, '');
  return out;
}

/**
 * The tensor leaves of a tree, depth first (arrays in order, records in key order).
 *
 *     leaves({ w: a, b: [c, d] })  // [a, c, d]
 */
export const leaves = (t: unknown): Tensor[] => flatten(t).leaves;

/** The structure of a tree (its {@link TreeDef}): everything but the tensors. */
export const structure = (t: unknown): TreeDef => flatten(t).def;

/**
 * The path of every leaf, in {@link leaves} order: keys and indices joined by dots.
 *
 *     paths({ layers: [{ weight: w, bias: b }] })  // ['layers.0.weight', 'layers.0.bias']
 */
export const paths = (t: unknown): string[] => leavesWithPaths(t).map(([p]) => p);

// ---- comparing structures -------------------------------------------------------------------

/** What a structure node is, for error messages. */
function describe(d: TreeDef): string {
  switch (d.kind) {
    case 'leaf':
      return 'a tensor';
    case 'static':
      return d.value === undefined ? 'nothing' : `the static value ${JSON.stringify(d.value)}`;
    case 'array':
      return `an array of ${d.children.length}`;
    case 'record': {
      const ks = d.keys.length > 8 ? [...d.keys.slice(0, 8), '…'] : d.keys;
      return `a record {${ks.join(', ')}}`;
    }
  }
}

const isZero = (d: TreeDef) => d.kind === 'static' && (d.value === null || d.value === undefined);

/** Options of {@link firstDifference} and {@link checkSameStructure}. */
export interface CompareOptions {
  /**
   * `null` or `undefined` in the second structure stands for any subtree of the first (a symbolic
   * zero tangent, a masked leaf); against a static value it must still be that value.
   */
  readonly zeros?: boolean;
}

interface Difference {
  /** Keys and indices from the root to the first node where the structures differ (innermost last). */
  readonly path: (string | number)[];
  readonly a: TreeDef;
  readonly b: TreeDef;
}

/** The first node where `a` and `b` differ (its path is built only on failure: sameDef stays cheap). */
function difference(a: TreeDef, b: TreeDef, zeros: boolean): Difference | null {
  if (zeros && isZero(b) && a.kind !== 'static') return null;
  const here = { path: [], a, b };
  if (a.kind !== b.kind) return here;
  if (a.kind === 'leaf') return null;
  if (a.kind === 'static') return Object.is(a.value, (b as typeof a).value) ? null : here;
  const bc = b as typeof a;
  if (a.children.length !== bc.children.length) return here;
  if (a.kind === 'record' && a.keys.some((k, i) => k !== (bc as typeof a).keys[i])) return here;
  for (let i = 0; i < a.children.length; i++) {
    const d = difference(a.children[i]!, bc.children[i]!, zeros);
    if (d) {
      d.path.unshift(a.kind === 'record' ? a.keys[i]! : i);
      return d;
    }
  }
  return null;
}

/** The first place where two structures differ, as "at 'path': X vs Y", or null if they agree. */
export function firstDifference(a: TreeDef, b: TreeDef, opts: CompareOptions = {}): string | null {
  const d = difference(a, b, opts.zeros === true);
  return d && `at ${d.path.length ? `'${d.path.join('.')}'` : 'the root'}: ${describe(d.a)} vs ${describe(d.b)}`;
}

/** Structural equality of two tree definitions. */
export const sameDef = (a: TreeDef, b: TreeDef): boolean => difference(a, b, false) === null;

const ORDINALS = ['first', 'second', 'third', 'fourth', 'fifth'];
/** "the first tree", "the second tree" … "tree 6". */
const nthTree = (i: number) => (i < ORDINALS.length ? `the ${ORDINALS[i]} tree` : `tree ${i + 1}`);
const clip = (s: string, n = 240) => (s.length > n ? `${s.slice(0, n)}…` : s);

/**
 * Throws a ShapeError unless every structure `defs[i]` equals `defs[0]`, naming the caller `op`,
 * both trees (`names[i]`, default "the first tree", "the second tree"…), the first path where they
 * differ and both structures:
 *
 *     applyUpdates: the structure of the updates differs from that of the params at 'b': nothing vs a tensor (the params: {a: *, b: *}; the updates: {a: *})
 */
export function checkSameStructure(op: string, defs: readonly TreeDef[], names: readonly string[] = [], opts: CompareOptions = {}): void {
  const name = (i: number) => names[i] ?? nthTree(i);
  for (let i = 1; i < defs.length; i++) {
    const where = firstDifference(defs[0]!, defs[i]!, opts);
    if (where === null) continue;
    throw new ShapeError(
      `${op}: the structure of ${name(i)} differs from that of ${name(0)} ${where} (${name(0)}: ${clip(showDef(defs[0]!))}; ${name(i)}: ${clip(showDef(defs[i]!))})`,
    );
  }
}

// ---- mapping --------------------------------------------------------------------------------

type LeafFn = (leaf: Tensor, ...rest: Tensor[]) => Tensor;

/**
 * `map(f, t, ...rest)`: the tree of `t`'s structure whose leaf i is `f(t_i, rest[0]_i, …)`. Every
 * tree in `rest` must have `t`'s structure (else a ShapeError naming both, see
 * {@link checkSameStructure}); `map(op, f, t, ...rest)` names the caller `op` in that error. The
 * result has the type of `t`: `f` is expected to keep each leaf's dtype (use `tree.cast` to change
 * dtypes).
 *
 *     const step = map((p, g) => sub(p, mul(g, 0.1)), params, grads);  // same type as params
 *     map('scaleByAdam', (m, g) => add(mul(m, b1), mul(g, 1 - b1)), mu, grads);
 */
export function map<T>(f: LeafFn, t: T, ...rest: readonly NoInfer<T>[]): T;
export function map<T>(op: string, f: LeafFn, t: T, ...rest: readonly NoInfer<T>[]): T;
export function map<T>(...args: unknown[]): T {
  const [op, f, t, ...rest] = (typeof args[0] === 'string' ? args : ['tree.map', ...args]) as [string, LeafFn, T, ...unknown[]];
  const { leaves: ls, def } = flatten(t);
  const others: Tensor[][] = [];
  const defs = [def];
  for (const r of rest) {
    const o = flatten(r);
    others.push(o.leaves);
    defs.push(o.def);
  }
  checkSameStructure(op, defs);
  const out: Tensor[] = new Array(ls.length);
  for (let i = 0; i < ls.length; i++) {
    if (others.length === 0) out[i] = f(ls[i]!);
    else if (others.length === 1) out[i] = f(ls[i]!, others[0]![i]!);
    else {
      const args: Tensor[] = [];
      for (const o of others) args.push(o[i]!);
      out[i] = f(ls[i]!, ...args);
    }
  }
  return unflatten<T>(def, out);
}

/** Like {@link map} (with the caller's name `op`), but `f` also gets the leaf's index in flatten order. */
export function mapIndexed<T>(op: string, f: (i: number, ...leaves: Tensor[]) => Tensor, t: T, ...rest: readonly NoInfer<T>[]): T {
  let i = 0;
  return map(op, (...ls: Tensor[]) => f(i++, ...ls), t, ...rest);
}

/**
 * `zip(t, ...rest)`: the leaves of trees of one structure, grouped by position: entry i is
 * `[t_i, rest[0]_i, …]`, in {@link leaves} order (a ShapeError if the structures differ).
 * `zip(a, b).map(([x]) => x)` is `leaves(a)`, and `unflatten(structure(a), zip(a, b).map(g))` is
 * `map((x, y) => g([x, y]), a, b)`.
 *
 *     for (const [p, g] of zip(params, grads)) console.log(p.shape, g.shape);
 */
export function zip(t: unknown, ...rest: readonly unknown[]): Tensor[][] {
  const all = [t, ...rest].map((r) => flatten(r));
  checkSameStructure('tree.zip', all.map((o) => o.def));
  return all[0]!.leaves.map((_, i) => all.map((o) => o.leaves[i]!));
}

// ---- masked trees -------------------------------------------------------------------------------
//
// A *masked* tree is a tree with the leaves that a transformation must not see replaced by `null`
// (optax's MaskedNode): `null` is a static node, so a masked tree keeps the paths of the leaves it
// holds, and `map` over two masked trees with the same mask lines up.

/** How leaves are picked: a function of the leaf's path (`layers.0.weight`) and value, or a tree of annotations. */
export type LeafSelector<V> = ((path: string, leaf: Tensor) => V) | unknown;

/**
 * One annotation per tensor leaf of `tree`, in flatten order. `ann` is either a function
 * `(path, leaf) → V`, or a tree with the structure of `tree` holding a `V` (tested by `isV`) where
 * `tree` has a tensor. An annotation tree may also hold a `V` where `tree` has a whole subtree:
 * it then applies to every leaf below (`{encoder: 'frozen', decoder: 'adam'}`). `op` names the
 * caller and `what` the annotations ('mask', 'labels') in errors.
 */
export function leafAnnotations<V>(op: string, tree: unknown, ann: LeafSelector<V>, isV: (x: unknown) => x is V, what: string): V[] {
  if (typeof ann === 'function')
    return leavesWithPaths(tree).map(([p, x]) => {
      const v = (ann as (path: string, leaf: Tensor) => V)(p, x);
      if (!isV(v)) throw new TypeError(`${op}: the ${what} function returned ${String(v)} for leaf '${p}'`);
      return v;
    });
  const out: V[] = [];
  const go = (x: unknown, a: unknown, path: string) => {
    if (isV(a)) {
      for (let k = leaves(x).length; k > 0; k--) out.push(a);
      return;
    }
    const at = path || '(root)';
    const has = (there: string) => new ShapeError(`${op}: the ${what} tree has ${describeValue(a)} at '${at}' where the parameters have ${there}`);
    if (x instanceof Tensor) throw has('a tensor');
    if (Array.isArray(x)) {
      if (!Array.isArray(a) || a.length !== x.length) throw has(`an array of ${x.length}`);
      x.forEach((c, i) => go(c, a[i], joinPath(path, i)));
      return;
    }
    if (isPlainObject(x)) {
      if (!isPlainObject(a)) throw has('a record');
      const extra = Object.keys(a).filter((k) => !(k in x));
      if (extra.length) throw new ShapeError(`${op}: the ${what} tree has keys ${extra.join(', ')} at '${at}' that the parameters lack`);
      for (const k of Object.keys(x)) go(x[k], a[k], joinPath(path, k));
    }
    // static parameter nodes (numbers, null…) hold no leaf: nothing to annotate
  };
  go(tree, ann, '');
  return out;
}

/** What an annotation value is, for error messages. */
const describeValue = (a: unknown): string => {
  try {
    return describe(flatten(a).def);
  } catch {
    return Object.prototype.toString.call(a);
  }
};

/**
 * The tree with the leaves whose `keep` flag is false replaced by `null` (a masked tree).
 * `keep` is indexed in flatten order.
 */
export function maskLeaves<T>(tree: T, keep: readonly boolean[]): T {
  const { leaves: ls, def } = flatten(tree);
  if (keep.length !== ls.length) throw new ShapeError(`maskLeaves: ${keep.length} flags for ${ls.length} leaves`);
  // replace dropped leaf nodes by static nulls in the structure itself
  let i = 0;
  const go = (d: TreeDef): TreeDef => {
    switch (d.kind) {
      case 'leaf':
        return keep[i++] ? d : { kind: 'static', value: null };
      case 'static':
        return d;
      case 'array':
        return { kind: 'array', children: d.children.map(go) };
      case 'record':
        return { kind: 'record', keys: d.keys, children: d.children.map(go) };
    }
  };
  return unflatten<T>(go(def), ls.filter((_, k) => keep[k]));
}

/**
 * Merges the leaves of a masked tree (as returned by a transformation that saw `maskLeaves(tree,
 * keep)`) back into `tree`: leaves with `keep` true come from `masked`, the others from `tree`.
 */
export function mergeMasked<T>(op: string, tree: T, keep: readonly boolean[], masked: unknown): T {
  const kept = leaves(masked);
  const nKeep = keep.filter(Boolean).length;
  if (kept.length !== nKeep) throw new ShapeError(`${op}: the inner transformation returned ${kept.length} leaves for ${nKeep} selected ones`);
  let j = 0;
  return mapIndexed(op, (i, x) => (keep[i] ? kept[j++]! : x), tree);
}
