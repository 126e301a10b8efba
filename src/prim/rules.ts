import { DTypeError, ShapeError } from '../core/errors.js';
import { type DType, isFloat } from '../core/dtype.js';
import { shapeEq, showShape } from '../core/shape.js';
import type { Aval } from '../core/tensor.js';

/** Shared checks of the shape/dtype rules (no primitive is applied here). */

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

/** The aval of `x` reduced over `axes` (sorted, distinct, in range; bool is rejected). */
export function reducedAval(op: string, x: Aval, axes: readonly number[]): Aval {
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i]!;
    if (!(Number.isInteger(a) && a >= 0 && a < x.shape.length && (i === 0 || a > axes[i - 1]!)))
      throw new ShapeError(`${op}: axes [${axes.join(',')}] are not sorted distinct axes of ${showShape(x.shape)}`);
  }
  if (x.dtype === 'bool') throw new DTypeError(`${op}: not defined for bool tensors (astype first)`);
  const shape: number[] = [];
  for (let i = 0, k = 0; i < x.shape.length; i++) {
    if (k < axes.length && axes[k] === i) k++;
    else shape.push(x.shape[i]!);
  }
  return { shape, dtype: x.dtype };
}
