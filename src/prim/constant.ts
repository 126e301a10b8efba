import { type ArrayFor, allocate, type DType } from '../core/dtype.js';
import { type Shape, sizeOf } from '../core/shape.js';
import { type Aval, ArrayTensor, type Tensor } from '../core/tensor.js';
import { backendForNew } from '../backends/registry.js';

/**
 * Concrete constants, made on the backend new tensors go to (`where` names the creating function in
 * the error of a backend that refuses the dtype: webgpu has no float64). The rules of the
 * primitives make their constants here (through `lit` and `zerosLike`), and so do the creation ops.
 */

/** A tensor over `buf` (handed over, not copied) with `shape`. */
export const constant = <D extends DType>(buf: ArrayFor<D>, dtype: D, shape: Shape, where: string): Tensor<D> =>
  new ArrayTensor(shape, dtype, buf, backendForNew(dtype, where));

/** A tensor of `shape` filled with `value` (no checks: the caller validated both). */
export function filled<D extends DType>(shape: Shape, value: number, dtype: D, where = 'full'): Tensor<D> {
  const buf = allocate(dtype, sizeOf(shape));
  if (!Object.is(value, 0)) buf.fill(value); // −0 is a value too (a sign bit to keep)
  return constant(buf, dtype, shape, where);
}

/** Dense zeros with the shape and dtype of `x` (a symbolic zero made concrete). */
export const zerosLike = <D extends DType>(x: Aval & { readonly dtype: D }): Tensor<D> => filled(x.shape, 0, x.dtype);

/** The n×m identity (m = n by default). */
export function eye<D extends DType = 'float32'>(n: number, dtype: D = 'float32' as D, m = n): Tensor<D> {
  const buf = allocate(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) buf[i * m + i] = 1;
  return constant(buf, dtype, [n, m], 'eye');
}
