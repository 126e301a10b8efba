import { type ArrayFor, allocate, type DType, isFloat } from '../core/dtype.js';
import { DTypeError, ShapeError } from '../core/errors.js';
import { checkShape, type Shape, showShape, sizeOf } from '../core/shape.js';
import { type Aval, ArrayTensor, type Tensor } from '../core/tensor.js';
import { backendForNew } from '../backends/registry.js';

/** Creating concrete tensors. */

/** Nested arrays of numbers, as accepted by {@link tensor}. */
export type NestedNumbers = number | boolean | readonly NestedNumbers[];

function inferShape(x: NestedNumbers): number[] {
  const s: number[] = [];
  let v: NestedNumbers = x;
  while (Array.isArray(v)) {
    s.push(v.length);
    v = v[0] as NestedNumbers;
  }
  return s;
}

/**
 * A tensor from nested arrays, a typed array or a plain array with an explicit shape.
 * `tensor([[1, 2], [3, 4]], 'float64')`; `tensor(new Float32Array(6), 'float32', [2, 3])`.
 * Ragged input, a size that does not match `shape`, and non-finite data in int tensors are errors.
 */
export function tensor<D extends DType = 'float32'>(
  values: NestedNumbers | ArrayLike<number>,
  dtype: D = 'float32' as D,
  shape?: Shape,
): Tensor<D> {
  const isTyped = ArrayBuffer.isView(values);
  const nested = !isTyped && !shape;
  const s = shape ?? (isTyped ? [(values as ArrayLike<number>).length] : inferShape(values as NestedNumbers));
  checkShape('tensor', s);
  const flat: number[] = [];
  if (nested) {
    const walk = (v: NestedNumbers, axis: number, path: string) => {
      if (axis === s.length) {
        if (Array.isArray(v)) throw new ShapeError(`tensor: ragged nested array at ${path} (expected a number at depth ${axis})`);
        flat.push(typeof v === 'boolean' ? (v ? 1 : 0) : (v as number));
        return;
      }
      if (!Array.isArray(v) || v.length !== s[axis])
        throw new ShapeError(`tensor: ragged nested array at ${path || 'top'} (expected length ${s[axis]} at depth ${axis})`);
      v.forEach((e, i) => walk(e as NestedNumbers, axis + 1, `${path}[${i}]`));
    };
    walk(values as NestedNumbers, 0, '');
  }
  const src: ArrayLike<number> = nested ? flat : typeof values === 'number' || typeof values === 'boolean' ? [Number(values)] : (values as ArrayLike<number>);
  if (typeof src === 'number' || src.length !== sizeOf(s))
    throw new ShapeError(`tensor: ${typeof src === 'number' ? 1 : src.length} values do not fill shape ${showShape(s)} (${sizeOf(s)} elements)`);
  const buf = allocate(dtype, sizeOf(s));
  for (let i = 0; i < buf.length; i++) {
    const v = Number(src[i]);
    if (dtype === 'int32' && !Number.isInteger(v)) throw new DTypeError(`tensor: value ${v} at flat index ${i} is not an integer (dtype int32)`);
    buf[i] = v;
  }
  return new ArrayTensor(s, dtype, buf, backendForNew(dtype, 'tensor'));
}

/** A tensor over an existing buffer (not copied: the caller hands it over). */
export const fromBuffer = <D extends DType>(buf: ArrayFor<D>, dtype: D, shape: Shape): Tensor<D> => {
  if (buf.length !== sizeOf(shape)) throw new ShapeError(`fromBuffer: ${buf.length} values do not fill shape ${showShape(shape)}`);
  return new ArrayTensor(shape, dtype, buf, backendForNew(dtype, 'fromBuffer'));
};

/** A tensor of `shape` filled with `value`. */
export function full<D extends DType = 'float32'>(shape: Shape, value: number, dtype: D = 'float32' as D): Tensor<D> {
  checkShape('full', shape);
  if (dtype === 'int32' && !Number.isInteger(value)) throw new DTypeError(`full: ${value} is not an integer (dtype int32)`);
  const buf = allocate(dtype, sizeOf(shape));
  if (!Object.is(value, 0)) buf.fill(value); // −0 is a value too (a sign bit to keep)
  return new ArrayTensor(shape, dtype, buf, backendForNew(dtype, 'full'));
}
/** Zeros of `shape`. */
export const zeros = <D extends DType = 'float32'>(shape: Shape, dtype: D = 'float32' as D): Tensor<D> => full(shape, 0, dtype);
/** Ones of `shape`. */
export const ones = <D extends DType = 'float32'>(shape: Shape, dtype: D = 'float32' as D): Tensor<D> => full(shape, 1, dtype);
/** Zeros with the shape and dtype of `x` (concrete, whatever `x` is). */
export const zerosLike = <D extends DType>(x: Aval & { dtype: D }): Tensor<D> => full(x.shape, 0, x.dtype);
/** Ones with the shape and dtype of `x`. */
export const onesLike = <D extends DType>(x: Aval & { dtype: D }): Tensor<D> => full(x.shape, 1, x.dtype);

/** `[start, start+step, …)` below `stop`; `arange(n)` is 0..n-1. */
export function arange<D extends DType = 'float32'>(start: number, stop?: number, step?: number, dtype?: D): Tensor<D>;
export function arange<D extends DType>(n: number, dtype: D): Tensor<D>;
export function arange<D extends DType>(a: number, b?: number | D, c: number = 1, d?: D): Tensor<D> {
  const dt = (typeof b === 'string' ? b : d ?? 'float32') as D;
  const [start, stop, step] = typeof b === 'string' || b === undefined ? [0, a, typeof b === 'string' ? 1 : c] : [a, b, c];
  if (step === 0 || !Number.isFinite(step)) throw new ShapeError(`arange: step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const buf = allocate(dt, n);
  for (let i = 0; i < n; i++) buf[i] = start + i * step;
  return new ArrayTensor([n], dt, buf, backendForNew(dt, 'arange'));
}

/** `n` evenly spaced values from `start` to `stop` inclusive. */
export function linspace<D extends DType = 'float32'>(start: number, stop: number, n: number, dtype: D = 'float32' as D): Tensor<D> {
  if (!Number.isInteger(n) || n < 0) throw new ShapeError(`linspace: count must be a non-negative integer, got ${n}`);
  if (!isFloat(dtype)) throw new DTypeError(`linspace: needs a float dtype, got ${dtype}`);
  const buf = allocate(dtype, n);
  for (let i = 0; i < n; i++) buf[i] = n === 1 ? start : start + ((stop - start) * i) / (n - 1);
  return new ArrayTensor([n], dtype, buf, backendForNew(dtype, 'linspace'));
}

/** The n×m identity (m = n by default). */
export function eye<D extends DType = 'float32'>(n: number, dtype: D = 'float32' as D, m = n): Tensor<D> {
  const buf = allocate(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) buf[i * m + i] = 1;
  return new ArrayTensor([n, m], dtype, buf, backendForNew(dtype, 'eye'));
}

/** A scalar tensor. */
export const scalar = <D extends DType = 'float32'>(v: number, dtype: D = 'float32' as D): Tensor<D> => full([], v, dtype);
