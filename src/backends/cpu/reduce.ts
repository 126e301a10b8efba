import { allocate, type Buffer, type DType } from '../../core/dtype.js';
import { type Shape, sizeOf } from '../../core/shape.js';
import { transpose } from './layout.js';

/** CPU reductions: the reduced axes are moved last, then each output reduces a contiguous run. */

function toEnd(x: Buffer, shape: Shape, axes: readonly number[], dtype: DType): { data: Buffer; outer: number; inner: number } {
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const inner = sizeOf(axes.map((a) => shape[a]!));
  const outer = sizeOf(kept.map((a) => shape[a]!));
  const trailing = axes.every((a, i) => a === shape.length - axes.length + i);
  return { data: trailing ? x : transpose(x, shape, [...kept, ...axes], dtype), outer, inner };
}

export function reduce(kind: 'sum' | 'max' | 'min', x: Buffer, shape: Shape, axes: readonly number[], dtype: DType): Buffer {
  const { data, outer, inner } = toEnd(x, shape, axes, dtype);
  const out = allocate(dtype, outer);
  for (let o = 0; o < outer; o++) {
    const b = o * inner;
    if (kind === 'sum') {
      let s = 0;
      for (let j = 0; j < inner; j++) s += data[b + j]!;
      out[o] = s;
    } else {
      let m = kind === 'max' ? -Infinity : Infinity;
      for (let j = 0; j < inner; j++) {
        const v = data[b + j]!;
        if (kind === 'max' ? v > m || Number.isNaN(v) : v < m || Number.isNaN(v)) m = v;
        if (Number.isNaN(m)) break;
      }
      out[o] = m;
    }
  }
  return out;
}

export function argExtremum(kind: 'max' | 'min', x: Buffer, shape: Shape, axis: number, dtype: DType): Int32Array {
  const { data, outer, inner } = toEnd(x, shape, [axis], dtype);
  const out = new Int32Array(outer);
  for (let o = 0; o < outer; o++) {
    const b = o * inner;
    let best = 0;
    let m = data[b]!;
    for (let j = 1; j < inner; j++) {
      const v = data[b + j]!;
      if (Number.isNaN(m)) break;
      if (kind === 'max' ? v > m || Number.isNaN(v) : v < m || Number.isNaN(v)) {
        m = v;
        best = j;
      }
    }
    out[o] = best;
  }
  return out;
}
