import type { DType } from '../core/dtype.js';
import { normAxes, normAxis, sizeOf } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { reduceSum } from '../prim/broadcast.js';
import * as lax from '../prim/reduce.js';
import { stopGradient } from '../prim/stop-gradient.js';
import { abs, add, div, eq, exp, log, lt, sub, where } from './arith.js';
import { reshape } from './shape-ops.js';

/** Reductions over any axes, with `keepdims`. `axes` undefined means all axes. */

/** Options shared by reductions. */
export interface ReduceOptions {
  readonly keepdims?: boolean;
}
type Axes = number | readonly number[] | undefined;

type Reduction = <D extends DType>(x: Tensor<D>, axes: readonly number[]) => Tensor<D>;

function reduceWith<D extends DType>(reduce: Reduction, op: string, x: Tensor<D>, axes: Axes, opts?: ReduceOptions): Tensor<D> {
  const ax = normAxes(op, axes, x.shape.length);
  const y = ax.length === 0 ? x : reduce(x, ax);
  return opts?.keepdims ? reshape(y, x.shape.map((d, i) => (ax.includes(i) ? 1 : d))) : y;
}

/** Σ over `axes`. */
export const sum = <D extends DType>(x: Tensor<D>, axes?: Axes, opts?: ReduceOptions): Tensor<D> => reduceWith(reduceSum, 'sum', x, axes, opts);
/** Mean over `axes` (floats only). */
export function mean<D extends DType>(x: Tensor<D>, axes?: Axes, opts?: ReduceOptions): Tensor<D> {
  const ax = normAxes('mean', axes, x.shape.length);
  return div(sum(x, ax, opts), sizeOf(ax.map((a) => x.shape[a]!)));
}
/** Maximum over `axes`; ties share the derivative. */
export const max = <D extends DType>(x: Tensor<D>, axes?: Axes, opts?: ReduceOptions): Tensor<D> => reduceWith(lax.reduceMax, 'max', x, axes, opts);
/** Minimum over `axes`. */
export const min = <D extends DType>(x: Tensor<D>, axes?: Axes, opts?: ReduceOptions): Tensor<D> => reduceWith(lax.reduceMin, 'min', x, axes, opts);
/** Index of the maximum along `axis` (int32, first occurrence). */
export const argmax = (x: Tensor, axis = -1): Tensor<'int32'> => lax.argmax(x, normAxis('argmax', axis, x.shape.length));
/** Index of the minimum along `axis`. */
export const argmin = (x: Tensor, axis = -1): Tensor<'int32'> => lax.argmin(x, normAxis('argmin', axis, x.shape.length));

/**
 * log Σ exp over `axes`, shifted by the (non-differentiated) max for stability. Its gradient is the
 * softmax weights exp(x − logsumexp(x)).
 *
 * Infinite entries: a slice whose entries are all −∞ gives −∞ with gradient 0 (−∞ is log 0, and no
 * finite change of a −∞ entry moves the sum; JAX gives NaN there, see jax#6811, PyTorch gives 0); a
 * slice with a +∞ entry gives +∞ with gradient 0 on its finite entries and NaN on its +∞ entries
 * (∞/∞, as JAX). −∞ entries beside a finite maximum weigh 0. A NaN entry gives NaN.
 */
export function logsumexp<D extends DType>(x: Tensor<D>, axes?: Axes, opts?: ReduceOptions): Tensor<D> {
  const ax = normAxes('logsumexp', axes, x.shape.length);
  const m = stopGradient(max(x, ax, { keepdims: true }));
  // an infinite max is no shift (∞ − ∞ = NaN): shift by 0 there, so the sum is 0 or +∞ (as JAX)
  const shift = where(lt(abs(m), Infinity), m, 0);
  const s = sum(exp(sub(x, shift)), ax, { keepdims: true });
  // log s at s = 0 is −∞; its derivative 1/s = ∞ would meet the zero weights (0·∞ = NaN), so log
  // reads 1 there and the outer where gives −∞ (the double where: both branches stay finite)
  const empty = eq(s, 0);
  const out = add(where(empty, -Infinity, log(where(empty, 1, s))), shift);
  return opts?.keepdims ? out : reshape(out, x.shape.filter((_, i) => !ax.includes(i)));
}
/**
 * log softmax along `axis` (default last): x − logsumexp(x). A slice of all −∞ gives NaN (log 0/0),
 * and a +∞ entry NaN there and −∞ beside it (∞ − ∞), as in JAX and PyTorch; −∞ entries beside
 * finite ones give −∞ (probability 0).
 */
export const logSoftmax = <D extends DType>(x: Tensor<D>, axis = -1): Tensor<D> => sub(x, logsumexp(x, axis, { keepdims: true }));
/** softmax along `axis` (default last): exp(logSoftmax(x)), with its infinite cases. */
export const softmax = <D extends DType>(x: Tensor<D>, axis = -1): Tensor<D> => exp(logSoftmax(x, axis));
