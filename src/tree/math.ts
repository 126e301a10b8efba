import { type DType } from '../core/dtype.js';
import { DTypeError, ShapeError } from '../core/errors.js';
import { shapeEq, showShape } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { checkSameStructure, flatten, paths, type Tree, unflatten } from '../core/tree.js';
import { add as addT, astype, mul, sqrt, sub as subT } from '../ops/arith.js';
import { full } from '../ops/create.js';
import { sum } from '../ops/reduce.js';

/**
 * Tree arithmetic: the parameter trees of a model form a vector space, leaf by leaf. All of it is
 * built from ops, so it is differentiable (and traceable) like any other function.
 */

/**
 * A tree type with every tensor leaf replaced by `Tensor<D>` (what {@link cast} returns). The
 * general {@link Tree} type (or anything wider) stays `Tree`.
 */
export type CastTree<T, D extends DType> = [Tree] extends [T]
  ? Tree
  : T extends Tensor
    ? Tensor<D>
    : T extends object
      ? { [K in keyof T]: CastTree<T[K], D> }
      : T;

const where = (path: string) => (path ? `'${path}'` : 'the root');

/**
 * The paired leaves of two trees with their paths, after checking that the structures agree and
 * that each pair has one shape and one dtype (no broadcasting, no promotion).
 */
function pairs(op: string, a: unknown, b: unknown): { def: ReturnType<typeof flatten>['def']; items: [string, Tensor, Tensor][] } {
  const fa = flatten(a);
  const fb = flatten(b);
  checkSameStructure(op, [fa.def, fb.def]);
  const ps = paths(a);
  const items = fa.leaves.map((x, i): [string, Tensor, Tensor] => {
    const y = fb.leaves[i]!;
    if (!shapeEq(x.shape, y.shape)) throw new ShapeError(`${op}: at ${where(ps[i]!)} the shapes differ: ${showShape(x.shape)} vs ${showShape(y.shape)}`);
    if (x.dtype !== y.dtype) throw new DTypeError(`${op}: at ${where(ps[i]!)} the dtypes differ: ${x.dtype} vs ${y.dtype} (no implicit promotion; use tree.cast)`);
    return [ps[i]!, x, y];
  });
  return { def: fa.def, items };
}

/**
 * Leafwise sum a + b of two trees of one structure, shapes and dtypes.
 *
 *     add({ w: x }, { w: y })  // { w: x + y }
 */
export function add<T>(a: T, b: NoInfer<T>): T {
  const { def, items } = pairs('tree.add', a, b);
  return unflatten<T>(def, items.map(([, x, y]) => addT(x, y)));
}

/**
 * Leafwise difference a − b of two trees of one structure, shapes and dtypes.
 *
 *     const next = sub(params, scale(grads, 0.1));  // a gradient step
 */
export function sub<T>(a: T, b: NoInfer<T>): T {
  const { def, items } = pairs('tree.sub', a, b);
  return unflatten<T>(def, items.map(([, x, y]) => subT(x, y)));
}

/**
 * c · t for every leaf; `c` is a number or a scalar tensor (then differentiable in c too).
 * Integer leaves need an integer c; bool leaves cannot be scaled.
 *
 *     scale(grads, -0.1)
 */
export function scale<T>(t: T, c: number | Tensor): T {
  const isT = c instanceof Tensor;
  if (isT && c.shape.length !== 0) throw new ShapeError(`tree.scale: c must be a number or a scalar tensor, got a tensor of shape ${showShape(c.shape)}`);
  if (!isT && typeof c !== 'number') throw new TypeError(`tree.scale: c must be a number or a scalar tensor, got ${typeof c}`);
  const { leaves, def } = flatten(t);
  const ps = paths(t);
  return unflatten<T>(
    def,
    leaves.map((x, i) => {
      if (x.dtype === 'bool') throw new DTypeError(`tree.scale: the leaf at ${where(ps[i]!)} is bool and cannot be scaled`);
      if (isT && c.dtype !== x.dtype) throw new DTypeError(`tree.scale: c is ${c.dtype} but the leaf at ${where(ps[i]!)} is ${x.dtype} (no implicit promotion)`);
      if (!isT && x.dtype === 'int32' && !Number.isInteger(c))
        throw new DTypeError(`tree.scale: the leaf at ${where(ps[i]!)} is int32 but c = ${c} is not an integer`);
      return mul(x, c);
    }),
  );
}

/**
 * The inner product Σᵢ ⟨aᵢ, bᵢ⟩ (sum of all elementwise products over all leaves) as a scalar
 * tensor; differentiable in both arguments. All leaves must share one dtype; an empty tree gives a
 * float32 zero.
 *
 *     vdot(params, params)   // ‖params‖²
 */
export function vdot<T>(a: T, b: NoInfer<T>): Tensor {
  const { items } = pairs('tree.vdot', a, b);
  if (items.length === 0) return full([], 0, 'float32');
  const [p0, x0] = items[0]!;
  let acc: Tensor | undefined;
  for (const [p, x, y] of items) {
    if (x.dtype !== x0.dtype)
      throw new DTypeError(`tree.vdot: the leaf at ${where(p)} is ${x.dtype} but the leaf at ${where(p0)} is ${x0.dtype}; cast the trees to one dtype first (tree.cast)`);
    const s = sum(mul(x, y));
    acc = acc === undefined ? s : addT(acc, s);
  }
  return acc!;
}

/**
 * The global L2 norm √(Σᵢ ‖tᵢ‖²) of all leaves, as a scalar tensor (its gradient is t/‖t‖, not
 * defined at 0).
 *
 *     const g = norm(grads);   // for gradient clipping
 */
export const norm = <T>(t: T): Tensor => sqrt(vdot(t, t));

/** A tree of zeros with the structure, shapes and dtypes of `t`. */
export const zerosLike = <T>(t: T): T => {
  const { leaves, def } = flatten(t);
  return unflatten<T>(def, leaves.map((x) => full(x.shape, 0, x.dtype)));
};

/** A tree of ones with the structure, shapes and dtypes of `t`. */
export const onesLike = <T>(t: T): T => {
  const { leaves, def } = flatten(t);
  return unflatten<T>(def, leaves.map((x) => full(x.shape, 1, x.dtype)));
};

/**
 * Every leaf converted to `dtype` (an explicit cast, differentiable between float dtypes).
 *
 *     const p64 = cast(params, 'float64');   // typed with Tensor<'float64'> leaves
 */
export function cast<T, D extends DType>(t: T, dtype: D): CastTree<T, D> {
  const { leaves, def } = flatten(t);
  return unflatten<CastTree<T, D>>(def, leaves.map((x) => astype(x, dtype)));
}
