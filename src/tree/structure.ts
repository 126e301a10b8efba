import { ShapeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { flatten, leavesWithPaths, sameDef, showDef, type TreeDef, unflatten } from '../core/tree.js';

/**
 * Structure-level tree utilities: map, zip, leaves, paths. A tree is a tensor, an array of trees or
 * a plain record of trees; other values (numbers, strings, null…) are static parts of the structure.
 */

/** What a structure node is, for error messages. */
function describe(d: TreeDef): string {
  switch (d.kind) {
    case 'leaf':
      return 'a tensor';
    case 'static':
      return `the static value ${JSON.stringify(d.value) ?? 'undefined'}`;
    case 'array':
      return `an array of ${d.children.length}`;
    case 'record': {
      const ks = d.keys.length > 8 ? [...d.keys.slice(0, 8), '…'] : d.keys;
      return `a record {${ks.join(', ')}}`;
    }
  }
}

const join = (path: string, k: string | number) => (path ? `${path}.${k}` : String(k));

/** The first place where two structures differ, as "at 'path': X vs Y", or null if they agree. */
export function firstDifference(a: TreeDef, b: TreeDef, path = ''): string | null {
  const here = () => `at ${path ? `'${path}'` : 'the root'}: ${describe(a)} vs ${describe(b)}`;
  if (a.kind !== b.kind) return here();
  if (a.kind === 'leaf') return null;
  if (a.kind === 'static') return Object.is(a.value, (b as typeof a).value) ? null : here();
  const bc = b as typeof a;
  if (a.children.length !== bc.children.length) return here();
  if (a.kind === 'record') {
    const bk = (bc as typeof a).keys;
    if (a.keys.some((k, i) => k !== bk[i])) return here();
  }
  for (let i = 0; i < a.children.length; i++) {
    const key = a.kind === 'record' ? a.keys[i]! : i;
    const d = firstDifference(a.children[i]!, bc.children[i]!, join(path, key));
    if (d) return d;
  }
  return null;
}

const clip = (s: string, n = 240) => (s.length > n ? `${s.slice(0, n)}…` : s);

/**
 * Throws a ShapeError naming both structures unless `defs[i]` all equal `defs[0]`; `op` names
 * the caller and `names[i]` the trees (default "tree i").
 */
export function checkSameStructure(op: string, defs: readonly TreeDef[], names?: readonly string[]): void {
  const name = (i: number) => names?.[i] ?? `tree ${i}`;
  for (let i = 1; i < defs.length; i++) {
    if (sameDef(defs[0]!, defs[i]!)) continue;
    const where = firstDifference(defs[0]!, defs[i]!) ?? '';
    throw new ShapeError(
      `${op}: ${name(i)} does not have the structure of ${name(0)} (${where}); ${name(0)} is ${clip(showDef(defs[0]!))}, ${name(i)} is ${clip(showDef(defs[i]!))}`,
    );
  }
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

/**
 * `map(f, t, ...rest)`: the tree of `t`'s structure whose leaf i is `f(t_i, rest[0]_i, …)`. Every
 * tree in `rest` must have `t`'s structure (else a ShapeError naming both). The result has the type
 * of `t`: `f` is expected to keep each leaf's dtype (use {@link cast} to change dtypes).
 *
 *     const step = map((p, g) => sub(p, mul(g, 0.1)), params, grads);  // same type as params
 */
export function map<T>(f: (leaf: Tensor, ...rest: Tensor[]) => Tensor, t: T, ...rest: readonly NoInfer<T>[]): T {
  const { leaves: ls, def } = flatten(t);
  const others = rest.map((r) => flatten(r));
  checkSameStructure('tree.map', [def, ...others.map((o) => o.def)], ['the first tree', ...others.map((_, i) => `tree ${i + 1}`)]);
  return unflatten<T>(def, ls.map((x, i) => f(x, ...others.map((o) => o.leaves[i]!))));
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
