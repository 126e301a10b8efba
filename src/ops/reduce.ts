import type { DType } from '../core/dtype.js';
import { normAxes, normAxis, sizeOf } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { bind1 } from '../interp/trace.js';
import { argmaxP, argminP, reduceMaxP, reduceMinP, reduceSumP } from '../prim/reduce.js';
import type { Primitive } from '../prim/primitive.js';
import { div, exp, log, sub, add } from './arith.js';
import { reshape } from './shape-ops.js';
import { stopGradient } from './stop-gradient.js';

/** Reductions over any axes, with `keepdims`. `axes` undefined means all axes. */

/** Options shared by reductions. */
export interface ReduceOptions {
  readonly keepdims?: boolean;
}
type Axes = number | readonly number[] | undefined;

function reduceWith<D extends DType>(p: Primitive, op: string, x: Tensor<D>, axes: Axes, opts?: ReduceOptions): Tensor<D> {
  const ax = normAxes(op, axes, x.shape.length);
  const y = ax.length === 0 ? x : (bind1(p, [x], { axes: ax }) as Tensor<D>);
  return opts?.keepdims ? reshape(y, x.shape.map((d, i) => (ax.includes(i) ? 1 : d))) : y;
}

/** Σ over `axes`. */
export const sum = <D extends DType>(x: Tensor<D>, axes?: Axes, opts?: ReduceOptions): Tensor<D> => reduceWith(reduceSumP, 'sum', x, axes, opts);
/** Mean over `axes` (floats only). */
export function mean<D extends DType>(x: Tensor<D>, axes?: Axes, opts?: ReduceOptions): Tensor<D> {
  const ax = normAxes('mean', axes, x.shape.length);
  return div(sum(x, ax, opts), sizeOf(ax.map((a) => x.shape[a]!)));
}
/** Maximum over `axes`; ties share the derivative. */
export const max = <D extends DType>(x: Tensor<D>, axes?: Axes, opts?: ReduceOptions): Tensor<D> => reduceWith(reduceMaxP, 'max', x, axes, opts);
/** Minimum over `axes`. */
export const min = <D extends DType>(x: Tensor<D>, axes?: Axes, opts?: ReduceOptions): Tensor<D> => reduceWith(reduceMinP, 'min', x, axes, opts);
/** Index of the maximum along `axis` (int32, first occurrence). */
export const argmax = (x: Tensor, axis = -1): Tensor<'int32'> => bind1(argmaxP, [x], { axis: normAxis('argmax', axis, x.shape.length) }) as Tensor<'int32'>;
/** Index of the minimum along `axis`. */
export const argmin = (x: Tensor, axis = -1): Tensor<'int32'> => bind1(argminP, [x], { axis: normAxis('argmin', axis, x.shape.length) }) as Tensor<'int32'>;

/** log Σ exp over `axes`, shifted by the (non-differentiated) max for stability. */
export function logsumexp<D extends DType>(x: Tensor<D>, axes?: Axes, opts?: ReduceOptions): Tensor<D> {
  const ax = normAxes('logsumexp', axes, x.shape.length);
  const m = stopGradient(max(x, ax, { keepdims: true }));
  const s = add(log(sum(exp(sub(x, m)), ax, { keepdims: true })), m);
  return opts?.keepdims ? s : reshape(s, x.shape.filter((_, i) => !ax.includes(i)));
}
/** log softmax along `axis` (default last). */
export const logSoftmax = <D extends DType>(x: Tensor<D>, axis = -1): Tensor<D> => sub(x, logsumexp(x, axis, { keepdims: true }));
/** softmax along `axis` (default last). */
export const softmax = <D extends DType>(x: Tensor<D>, axis = -1): Tensor<D> => exp(logSoftmax(x, axis));
