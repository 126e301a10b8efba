import type { DType } from '../core/dtype.js';
import { DTypeError, ShapeError } from '../core/errors.js';
import { normAxes, normAxis, type Shape, showShape, sizeOf } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { concatenate as concatenateStrict } from '../prim/concatenate.js';
import { checkedIndices, gather } from '../prim/gather.js';
import * as lax from '../prim/structural.js';
import { add, astype, eq } from './arith.js';
import { arange, fromBuffer } from './create.js';

export { broadcastTo } from './arith.js';

/** Shape manipulation: every function here only moves or selects elements. */

/** New shape, same elements; one axis may be −1 (inferred). */
export function reshape<D extends DType>(x: Tensor<D>, shape: readonly number[]): Tensor<D> {
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new ShapeError(`reshape: more than one −1 in ${showShape(shape)}`);
  let s = shape;
  if (unknown === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0)
      throw new ShapeError(`reshape: cannot reshape ${showShape(x.shape)} (${x.size} elements) to ${showShape(shape)}`);
    s = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (s.length === x.shape.length && s.every((d, i) => d === x.shape[i])) return x;
  return lax.reshape(x, s);
}

/** Permutes axes (reverses them by default). */
export function transpose<D extends DType>(x: Tensor<D>, perm?: readonly number[]): Tensor<D> {
  const p = perm ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  const norm = p.map((a) => normAxis('transpose', a, x.shape.length));
  if (norm.every((a, i) => a === i)) return x;
  return lax.transpose(x, norm);
}

/** Moves one axis to a new position. */
export function moveAxis<D extends DType>(x: Tensor<D>, from: number, to: number): Tensor<D> {
  const r = x.shape.length;
  const f = normAxis('moveAxis', from, r);
  const t = normAxis('moveAxis', to, r);
  const rest = Array.from({ length: r }, (_, i) => i).filter((i) => i !== f);
  rest.splice(t, 0, f);
  return transpose(x, rest);
}

/** Inserts a size-1 axis at `axis`. */
export function expandDims<D extends DType>(x: Tensor<D>, axis: number): Tensor<D> {
  const a = normAxis('expandDims', axis, x.shape.length + 1);
  const s = [...x.shape];
  s.splice(a, 0, 1);
  return reshape(x, s);
}

/** Removes size-1 axes (all of them, or those named). */
export function squeeze<D extends DType>(x: Tensor<D>, axes?: number | readonly number[]): Tensor<D> {
  const ax = axes === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normAxes('squeeze', axes, x.shape.length);
  for (const a of ax) if (x.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} of ${showShape(x.shape)} has size ${x.shape[a]}, not 1`);
  return reshape(x, x.shape.filter((_, i) => !ax.includes(i)));
}

/** Flattens to 1-D. */
export const ravel = <D extends DType>(x: Tensor<D>): Tensor<D> => reshape(x, [x.size]);

/**
 * A box of `x`: `begin[i] ≤ index < end[i]` on each axis (negative values count from the end;
 * missing axes are taken whole).
 */
export function slice<D extends DType>(x: Tensor<D>, begin: readonly number[], end?: readonly (number | undefined)[]): Tensor<D> {
  const s = x.shape;
  if (begin.length > s.length) throw new ShapeError(`slice: ${begin.length} starts for a tensor of rank ${s.length}`);
  const fix = (v: number, d: number) => (v < 0 ? v + d : v);
  const starts = s.map((d, i) => fix(begin[i] ?? 0, d));
  const limits = s.map((d, i) => fix(end?.[i] ?? d, d));
  if (starts.every((v) => v === 0) && limits.every((v, i) => v === s[i])) return x;
  return lax.slice(x, starts, limits);
}

/** Joins tensors along an existing axis. */
export function concat<D extends DType>(xs: readonly Tensor<D>[], axis = 0): Tensor<D> {
  if (xs.length === 0) throw new ShapeError('concat: needs at least one tensor');
  const a = normAxis('concat', axis, xs[0]!.shape.length);
  if (xs.length === 1) return xs[0]!;
  return concatenateStrict(xs, a);
}

/** Stacks equal-shaped tensors along a new axis. */
export function stack<D extends DType>(xs: readonly Tensor<D>[], axis = 0): Tensor<D> {
  if (xs.length === 0) throw new ShapeError('stack: needs at least one tensor');
  for (const x of xs)
    if (x.shape.length !== xs[0]!.shape.length || x.shape.some((d, i) => d !== xs[0]!.shape[i]))
      throw new ShapeError(`stack: shapes ${showShape(xs[0]!.shape)} and ${showShape(x.shape)} differ`);
  const a = normAxis('stack', axis, xs[0]!.shape.length + 1);
  return concat(xs.map((x) => expandDims(x, a)), a);
}

/** Pads with a constant: `widths[i] = [before, after]` for each axis. */
export function pad<D extends DType>(x: Tensor<D>, widths: readonly (readonly [number, number])[], value = 0): Tensor<D> {
  if (widths.length !== x.shape.length) throw new ShapeError(`pad: ${widths.length} width pairs for a tensor of rank ${x.shape.length}`);
  return lax.pad(x, widths.map((w) => w[0]), widths.map((w) => w[1]), value);
}

/**
 * Takes elements along `axis` at int32 `indices` (any shape): numpy's `take`. Every index must lie
 * in [0, size of the axis): a negative or too large one raises a ShapeError naming the op, the
 * index and the size, on every backend (numpy wraps negatives and JAX clamps; partax refuses both).
 */
export function take<D extends DType>(x: Tensor<D>, indices: Tensor<'int32'> | readonly number[], axis = 0): Tensor<D> {
  const idx = Array.isArray(indices) ? intTensor(indices as readonly number[]) : (indices as Tensor);
  if (idx.dtype !== 'int32') throw new DTypeError(`take: indices must be int32, got ${idx.dtype}`);
  return gather(x, idx, normAxis('take', axis, x.shape.length));
}

/**
 * Gathers along `axis` with indices shaped like `x` except on that axis (numpy's take_along_axis).
 * Indices must lie in [0, x.shape[axis]) (as {@link take}); `op` names the caller in that error.
 */
export function takeAlongAxis<D extends DType>(x: Tensor<D>, indices: Tensor<'int32'>, axis: number, op = 'takeAlongAxis'): Tensor<D> {
  const a = normAxis(op, axis, x.shape.length);
  if (indices.dtype !== 'int32') throw new DTypeError(`${op}: indices must be int32, got ${indices.dtype}`);
  if (indices.shape.length !== x.shape.length || indices.shape.some((d, i) => i !== a && d !== x.shape[i]))
    throw new ShapeError(`${op}: indices ${showShape(indices.shape)} do not match ${showShape(x.shape)} off axis ${a}`);
  // move axis last, flatten leading axes, gather from the flattened tensor with row offsets.
  const xm = moveAxis(x, a, -1);
  const n = xm.shape[xm.shape.length - 1]!;
  // checked before the row offsets are added: an index past the row's end would read the next row
  const im = moveAxis(checkedIndices(indices, n, a, op) as Tensor<'int32'>, a, -1);
  const rows = sizeOf(xm.shape.slice(0, -1));
  const k = im.shape[im.shape.length - 1]!;
  const offsets = reshape(arange(0, rows * n, n, 'int32'), [rows, 1]);
  const flatIdx = reshape(add(reshape(im, [rows, k]), offsets), [rows * k]);
  const out = reshape(take(reshape(xm, [rows * n]), flatIdx, 0), [...xm.shape.slice(0, -1), k]);
  return moveAxis(out, -1, a);
}


/**
 * One-hot encoding: int labels [...] → [..., depth] of `dtype`. A label outside [0, depth) raises
 * a ShapeError naming it (JAX gives a row of zeros; partax refuses).
 */
export function oneHot<D extends DType = 'float32'>(labels: Tensor<'int32'>, depth: number, dtype: D = 'float32' as D): Tensor<D> {
  if (labels.dtype !== 'int32') throw new DTypeError(`oneHot: labels must be int32, got ${labels.dtype}`);
  const classes = reshape(arange(depth, 'int32'), [...labels.shape.map(() => 1), depth]);
  return astype(eq(expandDims(checkedIndices(labels, depth, labels.shape.length, 'oneHot'), -1), classes), dtype);
}

function intTensor(values: readonly number[]): Tensor<'int32'> {
  const buf = new Int32Array(values.length);
  values.forEach((v, i) => {
    if (!Number.isInteger(v)) throw new DTypeError(`take: index ${v} is not an integer`);
    buf[i] = v;
  });
  return fromBuffer(buf, 'int32', [buf.length]);
}

/** Shape of a tensor, for symmetry with numpy. */
export const shapeOf = (x: Tensor): Shape => x.shape;
