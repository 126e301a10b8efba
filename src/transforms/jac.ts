import { isFloat } from '../core/dtype.js';
import { DTypeError } from '../core/errors.js';
import { shapeEq, sizeOf } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { flatten, unflatten } from '../core/tree.js';
import { eye } from '../prim/constant.js';
import { reshape, slice, transpose } from '../prim/structural.js';
import { argnumsList } from './args.js';
import { grad } from './grad.js';
import { jvp } from './jvp.js';
import { vjp } from './vjp.js';
import { vmap } from './vmap.js';

/** `x` in `shape` (`x` itself when it already has it). */
const reshapeTo = (x: Tensor, shape: readonly number[]): Tensor => (shapeEq(x.shape, shape) ? x : reshape(x, shape));

/** Rows from ≤ i < to of `x` along axis 0 (`x` itself when that is all of it). */
function rowsOf(x: Tensor, from: number, to: number): Tensor {
  if (from === 0 && to === x.shape[0]) return x;
  return slice(x, x.shape.map((_, i) => (i === 0 ? from : 0)), x.shape.map((d, i) => (i === 0 ? to : d)));
}

/** Rows [n, ...outShape] of a basis response → the Jacobian block [...outShape, ...inShape]. */
function toJacobianBlock(rows: Tensor, inShape: readonly number[], outShape: readonly number[]): Tensor {
  const flat = reshapeTo(rows, [sizeOf(inShape), sizeOf(outShape)]);
  return reshapeTo(transpose(flat, [1, 0]), [...outShape, ...inShape]);
}

/** Basis tangents for the leaves of an argument: leaf j gets rows of I_P reshaped to its shape. */
function basisFor(leaves: readonly Tensor[]): Tensor[] {
  const p = leaves.reduce((n, l) => n + l.size, 0);
  const dtype = leaves[0]?.dtype ?? 'float64';
  const I = eye(p, dtype);
  let off = 0;
  return leaves.map((l) => {
    const cols = off === 0 && l.size === p ? I : slice(I, [0, off], [p, off + l.size]);
    off += l.size;
    return reshapeTo(cols, [p, ...l.shape]);
  });
}

/**
 * Forward-mode Jacobian of `f` with respect to argument `argnums` (default 0): one batched jvp
 * over the basis of the input. For tensor input and output the result has shape out ++ in; for
 * trees, a tree of the output's structure whose leaves are trees of the input's structure.
 */
export function jacfwd<A extends readonly unknown[]>(f: (...args: A) => unknown, opts: { argnums?: number } = {}): (...args: A) => any {
  return (...args: A) => {
    const [argnum] = argnumsList('jacfwd', opts.argnums ?? 0, args.length);
    const x = flatten(args[argnum!]);
    for (const l of x.leaves) if (!isFloat(l.dtype)) throw new DTypeError(`jacfwd: cannot differentiate with respect to a ${l.dtype} tensor`);
    const basis = basisFor(x.leaves);
    const g = (xa: unknown) => f(...(args.map((a, i) => (i === argnum ? xa : a)) as unknown as A));
    const pushed = vmap((...t: Tensor[]) => jvp(g, [args[argnum!]], [unflatten(x.def, t)])[1])(...basis);
    const o = flatten(pushed);
    const blocks = o.leaves.map((s) => {
      let off = 0;
      const perIn = x.leaves.map((l) => {
        const rows = rowsOf(s, off, off + l.size);
        off += l.size;
        return toJacobianBlock(rows, l.shape, s.shape.slice(1));
      });
      return unflatten(x.def, perIn);
    });
    return unflatten(o.def, blocks);
  };
}

/**
 * Reverse-mode Jacobian: one batched vjp over the basis of the output. Same layout as jacfwd.
 */
export function jacrev<A extends readonly unknown[]>(f: (...args: A) => unknown, opts: { argnums?: number } = {}): (...args: A) => any {
  return (...args: A) => {
    const [argnum] = argnumsList('jacrev', opts.argnums ?? 0, args.length);
    const x = flatten(args[argnum!]);
    for (const l of x.leaves) if (!isFloat(l.dtype)) throw new DTypeError(`jacrev: cannot differentiate with respect to a ${l.dtype} tensor`);
    const g = (xa: unknown) => f(...(args.map((a, i) => (i === argnum ? xa : a)) as unknown as A));
    const [y, back] = vjp(g, args[argnum!]);
    const o = flatten(y);
    const cbasis = basisFor(o.leaves);
    const pulled = vmap((...c: Tensor[]) => back(unflatten(o.def, c))[0])(...cbasis);
    const p = flatten(pulled);
    // p.leaves[j]: [Q, ...in_j.shape]; split the Q rows by output leaf.
    let off = 0;
    const blocks = o.leaves.map((ol) => {
      const q = ol.size;
      const perIn = p.leaves.map((pl, j) => {
        const rows = rowsOf(pl, off, off + q);
        return reshapeTo(rows, [...ol.shape, ...x.leaves[j]!.shape]);
      });
      off += q;
      return unflatten(x.def, perIn);
    });
    return unflatten(o.def, blocks);
  };
}


/** The Hessian: jacfwd(jacrev(f)) (forward-over-reverse). */
export const hessian = <A extends readonly unknown[]>(f: (...args: A) => unknown, opts: { argnums?: number } = {}) =>
  jacfwd(jacrev(f, opts), opts);

/** Hessian-vector product ∇²f(x)·v by forward-over-reverse, one pass: `jvp(grad(f), [x], [v])`. */
export function hvp<X>(f: (x: X) => Tensor, x: X, v: X): X {
  return jvp(grad(f) as (x: X) => X, [x], [v])[1];
}
