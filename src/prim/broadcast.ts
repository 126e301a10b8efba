import { ShapeError } from '../core/errors.js';
import type { DType } from '../core/dtype.js';
import { checkShape, type Shape, shapeEq, showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { bind1 } from './bind.js';
import { type Batched, type Primitive, primitive } from './primitive.js';
import { reducedAval } from './rules.js';
import { reshape } from './structural.js';

/**
 * broadcast_in_dim and reduce_sum: each is the other's transpose, so they are defined together,
 * with the batching helpers built on broadcasting.
 */

type AxesParams = { axes: readonly number[] };

/** broadcastInDim(shape, dims): input axis i becomes output axis dims[i] (size 1 or equal). */
export const broadcastInDimP: Primitive<{ shape: Shape; dims: readonly number[] }> = primitive({
  name: 'broadcast_in_dim',
  abstractEval: ([x], { shape, dims }) => {
    checkShape('broadcast', shape);
    const ok =
      dims.length === x!.shape.length &&
      dims.every((d, i) => d >= 0 && d < shape.length && (i === 0 || d > dims[i - 1]!) && (x!.shape[i] === 1 || x!.shape[i] === shape[d]));
    if (!ok) throw new ShapeError(`broadcast: cannot broadcast ${showShape(x!.shape)} to ${showShape(shape)} along axes [${dims.join(',')}]`);
    return [{ shape, dtype: x!.dtype }];
  },
  linear: true,
  transpose: ([ct], [a], { shape, dims }) => {
    if (ct == null) return [null];
    const inShape = (a as { aval: { shape: Shape } }).aval.shape;
    const summed = shape.map((_, i) => i).filter((i) => !dims.includes(i) || (inShape[dims.indexOf(i)] === 1 && shape[i] !== 1));
    const s = summed.length ? reduceSum(ct, summed) : ct;
    return [reshape(s, inShape)];
  },
  vmap: ([x], _b, { shape, dims }, size) => [[broadcastInDim(x!, [size, ...shape], [0, ...dims.map((d) => d + 1)])], [true]],
  fusion: {
    role: 'view',
    contiguity: 'moves',
    strided: (x, { shape, dims }) => {
      const strides = shape.map(() => 0);
      dims.forEach((d, i) => (strides[d] = x.shape[i] === 1 ? 0 : x.strides[i]!));
      return { shape, strides, offset: x.offset };
    },
  },
});

/** reduceSum(axes): Σ over the sorted axes `axes`, which are removed. Linear. */
export const reduceSumP: Primitive<AxesParams> = primitive({
  name: 'reduce_sum',
  abstractEval: ([x], { axes }) => [reducedAval('sum', x!, axes)],
  linear: true,
  transpose: ([ct], [a], { axes }) => [ct == null ? null : unreduce(ct, (a as { aval: { shape: Shape } }).aval.shape, axes)],
  vmap: ([x], _b, { axes }) => [[reduceSum(x!, axes.map((a) => a + 1))], [true]],
  fusion: { role: 'reduce', monoid: 'sum' },
});

// ---------- strict wrappers ----------

/** `x` broadcast to `shape`: input axis i becomes axis dims[i] (of size 1 or equal). */
export const broadcastInDim = <D extends DType>(x: Tensor<D>, shape: Shape, dims: readonly number[]): Tensor<D> =>
  bind1(broadcastInDimP, [x], { shape, dims }) as Tensor<D>;
/** Σ of `x` over the sorted distinct `axes`, which are removed. */
export const reduceSum = <D extends DType>(x: Tensor<D>, axes: readonly number[]): Tensor<D> => bind1(reduceSumP, [x], { axes }) as Tensor<D>;

// ---------- helpers ----------

/**
 * `x` broadcast to `shape`, its axes aligned with the trailing ones (numpy's rule, which the
 * caller has checked); `x` itself when the shapes are equal.
 */
export function broadcastTo<D extends DType>(x: Tensor<D>, shape: Shape): Tensor<D> {
  if (shapeEq(x.shape, shape)) return x;
  const lead = shape.length - x.shape.length;
  return broadcastInDim(x, shape, x.shape.map((_, i) => i + lead));
}

/** Broadcasts a reduced tensor back to the shape it was reduced from. */
export function unreduce(y: Tensor, shape: Shape, axes: readonly number[]): Tensor {
  return broadcastInDim(y, shape, shape.map((_, i) => i).filter((i) => !axes.includes(i)));
}

/** Adds a batch axis of `size` in front of an unbatched tensor. */
export function batchBroadcast(x: Tensor, size: number): Tensor {
  return broadcastInDim(x, [size, ...x.shape], x.shape.map((_, i) => i + 1));
}

/** Batching rule for elementwise primitives: broadcast the unbatched arguments and apply. */
export function elementwiseVmap(prim: Primitive, args: readonly Tensor[], batched: readonly boolean[], params: unknown, size: number): Batched {
  const full = args.map((a, i) => (batched[i] ? a : batchBroadcast(a, size)));
  return [[bind1(prim, full, params)], [true]];
}
