import type { DType } from '../core/dtype.js';
import { ShapeError } from '../core/errors.js';
import { broadcastShapes, showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { matmul as matmulStrict } from '../prim/matmul.js';
import { mul } from './arith.js';
import { broadcastTo, expandDims, reshape, squeeze } from './shape-ops.js';
import { sum } from './reduce.js';

/** Matrix products. */

/**
 * numpy's matmul: 1-D arguments are promoted to a row/column and the added axis removed again;
 * batch dimensions broadcast. Errors name both shapes.
 */
export function matmul<D extends DType>(a: Tensor<D>, b: Tensor<D>): Tensor<D> {
  if (a.shape.length === 0 || b.shape.length === 0)
    throw new ShapeError(`matmul: x is ${showShape(a.shape)}, w is ${showShape(b.shape)}: scalars are not matrices (use mul)`);
  const a2 = a.shape.length === 1 ? expandDims(a, 0) : a;
  const b2 = b.shape.length === 1 ? expandDims(b, -1) : b;
  const ka = a2.shape[a2.shape.length - 1]!;
  const kb = b2.shape[b2.shape.length - 2]!;
  if (ka !== kb) throw new ShapeError(`matmul: x is ${showShape(a.shape)}, w is ${showShape(b.shape)}: inner dimensions ${ka} and ${kb} differ`);
  const batch = broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  let out: Tensor<D>;
  if (batch.length === 0 || b2.shape.length === 2) {
    // fold a's batch into its rows
    const m = a2.shape[a2.shape.length - 2]!;
    const lead = a2.shape.slice(0, -2);
    const flat = reshape(a2, [lead.reduce((x, y) => x * y, 1) * m, ka]);
    const r = matmulStrict(flat, b2);
    out = reshape(r, [...lead, m, b2.shape[1]!]);
  } else {
    const aa = broadcastTo(a2, [...batch, ...a2.shape.slice(-2)], 'matmul');
    const bb = broadcastTo(b2, [...batch, ...b2.shape.slice(-2)], 'matmul');
    out = matmulStrict(aa, bb);
  }
  if (a.shape.length === 1) out = squeeze(out, out.shape.length - 2);
  if (b.shape.length === 1) out = squeeze(out, out.shape.length - 1);
  return out;
}

/** Inner product of two 1-D tensors (or matmul for higher ranks). */
export function dot<D extends DType>(a: Tensor<D>, b: Tensor<D>): Tensor<D> {
  if (a.shape.length === 1 && b.shape.length === 1) {
    if (a.shape[0] !== b.shape[0]) throw new ShapeError(`dot: x is ${showShape(a.shape)}, y is ${showShape(b.shape)}: lengths differ`);
    return sum(mul(a, b));
  }
  return matmul(a, b);
}

/** Outer product of two 1-D tensors: [m] × [n] → [m, n]. */
export function outer<D extends DType>(a: Tensor<D>, b: Tensor<D>): Tensor<D> {
  if (a.shape.length !== 1 || b.shape.length !== 1) throw new ShapeError(`outer: needs 1-D tensors, got ${showShape(a.shape)} and ${showShape(b.shape)}`);
  return mul(reshape(a, [a.shape[0]!, 1]), reshape(b, [1, b.shape[0]!]));
}
