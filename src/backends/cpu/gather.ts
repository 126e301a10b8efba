import { allocate, type Buffer, type DType } from '../../core/dtype.js';
import { type Shape, showShape, sizeOf } from '../../core/shape.js';
import { ShapeError } from '../../core/errors.js';

/** CPU gather / scatter-add along one axis: x viewed as [pre, A, post]. */

function dims(shape: Shape, axis: number) {
  return { pre: sizeOf(shape.slice(0, axis)), a: shape[axis]!, post: sizeOf(shape.slice(axis + 1)) };
}

function checkIdx(op: string, idx: Int32Array, a: number, shape: Shape, axis: number): void {
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i]!;
    if (v < 0 || v >= a) throw new ShapeError(`${op}: index ${v} (at flat position ${i}) is out of range for axis ${axis} of size ${a} in ${showShape(shape)}`);
  }
}

export function gather(x: Buffer, shape: Shape, idx: Int32Array, axis: number, dtype: DType): Buffer {
  const { pre, a, post } = dims(shape, axis);
  checkIdx('take', idx, a, shape, axis);
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
  checkIdx('scatterAdd', idx, a, shape, axis);
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
