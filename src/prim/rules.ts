import { DTypeError, ShapeError } from '../core/errors.js';
import { type DType, isFloat } from '../core/dtype.js';
import { shapeEq, showShape } from '../core/shape.js';
import type { Aval, Tensor } from '../core/tensor.js';
import { bind1 } from '../interp/trace.js';
import type { Batched, Primitive } from './primitive.js';
import { broadcastInDimP } from './structural.js';

/** Shared rule pieces for primitives. */

/** Checks that all avals share shape and dtype (elementwise primitives broadcast in ops, not here). */
export function sameAvals(op: string, avals: readonly Aval[]): Aval {
  const a = avals[0]!;
  for (let i = 1; i < avals.length; i++) {
    const b = avals[i]!;
    if (!shapeEq(a.shape, b.shape))
      throw new ShapeError(`${op}: shapes ${showShape(a.shape)} and ${showShape(b.shape)} differ`);
    if (a.dtype !== b.dtype) throw new DTypeError(`${op}: dtypes ${a.dtype} and ${b.dtype} differ (use astype)`);
  }
  return a;
}

/** Rejects non-float dtypes for ops that only make sense on floats. */
export function requireFloat(op: string, d: DType): void {
  if (!isFloat(d)) throw new DTypeError(`${op}: needs a float32 or float64 tensor, got ${d}`);
}

/** Adds a batch axis of `size` in front of an unbatched tensor. */
export function batchBroadcast(x: Tensor, size: number): Tensor {
  return bind1(broadcastInDimP, [x], { shape: [size, ...x.shape], dims: x.shape.map((_, i) => i + 1) });
}

/** Batching rule for elementwise primitives: broadcast the unbatched arguments and apply. */
export function elementwiseVmap(prim: Primitive, args: readonly Tensor[], batched: readonly boolean[], params: unknown, size: number): Batched {
  const full = args.map((a, i) => (batched[i] ? a : batchBroadcast(a, size)));
  const outs = [bind1(prim, full, params)];
  return [outs, [true]];
}
