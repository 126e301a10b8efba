import { allocate, type Buffer, type DType } from '../../core/dtype.js';
import { type Shape, sizeOf } from '../../core/shape.js';
import { indexOutOfRange } from '../../core/errors.js';

/** CPU gather / scatter-add along one axis: x viewed as [pre, A, post]. */

function dims(shape: Shape, axis: number) {
  return { pre: sizeOf(shape.slice(0, axis)), a: shape[axis]!, post: sizeOf(shape.slice(axis + 1)) };
}

/** Throws the error naming `op` at the first index outside [0, size) (the check_index kernel, and gather's own). */
export function checkIndices(op: string, idx: Int32Array, size: number, axis: number): void {
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i]!;
    if (v < 0 || v >= size) throw indexOutOfRange(op, v, i, axis, size);
  }
}

export function gather(x: Buffer, shape: Shape, idx: Int32Array, axis: number, dtype: DType): Buffer {
  const { pre, a, post } = dims(shape, axis);
  checkIndices('take', idx, a, axis);
  const k = idx.length;
  const out = allocate(dtype, pre * k * post);
  for (let p = 0; p < pre; p++)
    for (let j = 0; j < k; j++) {
      const src = (p * a + idx[j]!) * post;
      const dst = (p * k + j) * post;
      for (let q = 0; q < post; q++) out[dst + q] = x[src + q]!;
    }
  return out;
}

export function scatterAdd(u: Buffer, idx: Int32Array, axis: number, shape: Shape, dtype: DType): Buffer {
  const { pre, a, post } = dims(shape, axis);
  checkIndices('scatterAdd', idx, a, axis);
  const k = idx.length;
  const out = allocate(dtype, sizeOf(shape));
  for (let p = 0; p < pre; p++)
    for (let j = 0; j < k; j++) {
      const dst = (p * a + idx[j]!) * post;
      const src = (p * k + j) * post;
      for (let q = 0; q < post; q++) out[dst + q] = out[dst + q]! + u[src + q]!;
    }
  return out;
}
