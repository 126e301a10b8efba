import { ShapeError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { flatten, leavesWithPaths, sameDef, showDef, unflatten } from '../core/tree.js';

/**
 * Small tree helpers for the optimizers, on top of `core/tree` (flatten/unflatten). They are local
 * to `optim/` so that the optimizer algebra does not wait on a general tree module.
 *
 * A convention used throughout `optim/`: a *masked* tree is the parameter tree with the leaves
 * that a transformation must not see replaced by `null`. `null` is a static node for `core/tree`,
 * so a masked tree keeps the paths of the leaves it holds, and `treeMap` over two masked trees
 * with the same mask lines up (optax's `MaskedNode`).
 */

/** Flattened leaves of a tree (tensors only), depth-first. */
export const treeLeaves = (t: unknown): Tensor[] => flatten(t).leaves;

/**
 * `treeMap(f, a, b, …)`: a tree of the structure of `a` whose leaves are `f(aᵢ, bᵢ, …)`.
 * All trees must have the same structure; `op` names the caller in the error.
 *
 *     treeMap((x, y) => add(x, y), {w: w1}, {w: w2})   // {w: w1 + w2}
 */
export function treeMap<T>(op: string, f: (...leaves: Tensor[]) => Tensor, tree: T, ...rest: readonly unknown[]): T {
  const { leaves, def } = flatten(tree);
  const others = rest.map((r, k) => {
    const fr = flatten(r);
    if (!sameDef(def, fr.def))
      throw new ShapeError(`${op}: tree ${k + 2} has structure ${showDef(fr.def)}, expected ${showDef(def)} (that of the first tree)`);
    return fr.leaves;
  });
  return unflatten<T>(def, leaves.map((x, i) => f(x, ...others.map((o) => o[i]!))));
}

/** Like {@link treeMap}, but `f` also gets the leaf's index in flatten order. */
export function treeMapIndexed<T>(op: string, f: (i: number, ...leaves: Tensor[]) => Tensor, tree: T, ...rest: readonly unknown[]): T {
  let i = 0;
  return treeMap(op, (...ls) => f(i++, ...ls), tree, ...rest);
}

/** Checks that two trees have the same structure; throws naming `op` and both structures. */
export function checkSameStructure(op: string, a: unknown, b: unknown, what: [string, string] = ['updates', 'params']): void {
  const da = flatten(a).def;
  const db = flatten(b).def;
  if (!sameDef(da, db)) throw new ShapeError(`${op}: ${what[0]} have structure ${showDef(da)} but ${what[1]} have ${showDef(db)}`);
}

/** How a transformation picks leaves: a function of the leaf's path (`layers.0.weight`) and value, or a tree of annotations. */
export type LeafSelector<V> = ((path: string, leaf: Tensor) => V) | unknown;

/**
 * One annotation per tensor leaf of `tree`, in flatten order. `ann` is either a function
 * `(path, leaf) → V`, or a tree with the structure of `tree` holding a `V` (tested by `isV`) where
 * `tree` has a tensor. An annotation tree may also hold a `V` where `tree` has a whole subtree:
 * it then applies to every leaf below (`{encoder: 'frozen', decoder: 'adam'}`).
 */
export function leafAnnotations<V>(op: string, tree: unknown, ann: LeafSelector<V>, isV: (x: unknown) => x is V, what: string): V[] {
  if (typeof ann === 'function') return leavesWithPaths(tree).map(([p, x]) => {
    const v = (ann as (path: string, leaf: Tensor) => V)(p, x);
    if (!isV(v)) throw new TypeError(`${op}: the ${what} function returned ${String(v)} for leaf '${p}'`);
    return v;
  });
  const out: V[] = [];
  const go = (x: unknown, a: unknown, path: string) => {
    if (isV(a)) {
      for (let k = treeLeaves(x).length; k > 0; k--) out.push(a);
      return;
    }
    const at = path || '(root)';
    if (x instanceof Tensor) throw new ShapeError(`${op}: the ${what} tree has ${describe(a)} at '${at}' where the parameters have a tensor`);
    if (Array.isArray(x)) {
      if (!Array.isArray(a) || a.length !== x.length)
        throw new ShapeError(`${op}: the ${what} tree has ${describe(a)} at '${at}' where the parameters have an array of ${x.length}`);
      x.forEach((c, i) => go(c, a[i], path ? `${path}.${i}` : String(i)));
      return;
    }
    if (typeof x === 'object' && x !== null) {
      if (typeof a !== 'object' || a === null || Array.isArray(a))
        throw new ShapeError(`${op}: the ${what} tree has ${describe(a)} at '${at}' where the parameters have a record`);
      const keys = Object.keys(x);
      const extra = Object.keys(a).filter((k) => !(k in x));
      if (extra.length) throw new ShapeError(`${op}: the ${what} tree has keys ${extra.join(', ')} at '${at}' that the parameters lack`);
      for (const k of keys) go((x as Record<string, unknown>)[k], (a as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    }
    // static parameter nodes (numbers, null…) hold no leaf: nothing to annotate
  };
  go(tree, ann, '');
  return out;
}

const describe = (a: unknown): string => (a === undefined ? 'nothing' : Array.isArray(a) ? `an array of ${a.length}` : a instanceof Tensor ? 'a tensor' : typeof a === 'object' && a !== null ? 'a record' : JSON.stringify(a));

/**
 * The tree with the leaves whose `keep` flag is false replaced by `null` (a masked tree).
 * `keep` is indexed in flatten order.
 */
export function maskLeaves<T>(tree: T, keep: readonly boolean[]): T {
  const { leaves, def } = flatten(tree);
  if (keep.length !== leaves.length) throw new ShapeError(`maskLeaves: ${keep.length} flags for ${leaves.length} leaves`);
  // Replace dropped leaf nodes by static nulls in the structure itself.
  let i = 0;
  type Def = ReturnType<typeof flatten>['def'];
  const go = (d: Def): Def => {
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
  const masked = go(def);
  return unflatten<T>(masked, leaves.filter((_, k) => keep[k]));
}

/**
 * Merges the leaves of a masked tree (as returned by a transformation that saw `maskLeaves(tree,
 * keep)`) back into `tree`: leaves with `keep` true come from `masked`, the others from `tree`.
 */
export function mergeMasked<T>(op: string, tree: T, keep: readonly boolean[], masked: unknown): T {
  const kept = treeLeaves(masked);
  const nKeep = keep.filter(Boolean).length;
  if (kept.length !== nKeep) throw new ShapeError(`${op}: the inner transformation returned ${kept.length} leaves for ${nKeep} selected ones`);
  let j = 0;
  return treeMapIndexed(op, (i, x) => (keep[i] ? kept[j++]! : x), tree);
}
