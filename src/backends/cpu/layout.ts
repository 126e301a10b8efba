import { allocate, type Buffer, type DType } from '../../core/dtype.js';
import { type Shape, sizeOf, stridesOf } from '../../core/shape.js';
import { stridedCopy } from './strided.js';

/** CPU kernels that move elements: transpose, broadcast, slice, pad, concatenate. */

export function transpose(x: Buffer, shape: Shape, perm: readonly number[], dtype: DType): Buffer {
  const st = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]!);
  const out = allocate(dtype, x.length);
  stridedCopy(x, 0, perm.map((p) => st[p]!), outShape, out);
  return out;
}

export function broadcastInDim(x: Buffer, inShape: Shape, shape: Shape, dims: readonly number[], dtype: DType): Buffer {
  const st = stridesOf(inShape);
  const strides = shape.map(() => 0);
  dims.forEach((d, i) => (strides[d] = inShape[i] === 1 ? 0 : st[i]!));
  const out = allocate(dtype, sizeOf(shape));
  stridedCopy(x, 0, strides, shape, out);
  return out;
}

export function slice(x: Buffer, shape: Shape, starts: readonly number[], limits: readonly number[], dtype: DType): Buffer {
  const st = stridesOf(shape);
  const outShape = starts.map((s, i) => limits[i]! - s);
  const out = allocate(dtype, sizeOf(outShape));
  stridedCopy(x, starts.reduce((o, s, i) => o + s * st[i]!, 0), st, outShape, out);
  return out;
}

/** Writes `x` (of `shape`) into `out` (of `outShape`) at offset `starts`. */
function place(x: Buffer, shape: Shape, out: Buffer, outShape: Shape, starts: readonly number[]): void {
  const ost = stridesOf(outShape);
  const r = shape.length;
  const n = x.length;
  if (n === 0) return;
  if (r === 0) {
    out[0] = x[0]!;
    return;
  }
  const inner = shape[r - 1]!;
  const idx = new Array<number>(r).fill(0);
  let base = starts.reduce((o, s, i) => o + s * ost[i]!, 0);
  for (let i = 0; i < n; i += inner) {
    for (let j = 0; j < inner; j++) out[base + j] = x[i + j]!;
    for (let k = r - 2; k >= 0; k--) {
      idx[k]!++;
      base += ost[k]!;
      if (idx[k]! < shape[k]!) break;
      base -= ost[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
}

export function pad(x: Buffer, shape: Shape, lo: readonly number[], hi: readonly number[], value: number, dtype: DType): Buffer {
  const outShape = shape.map((d, i) => d + lo[i]! + hi[i]!);
  const out = allocate(dtype, sizeOf(outShape));
  if (value !== 0) out.fill(value);
  place(x, shape, out, outShape, lo);
  return out;
}

export function concatenate(xs: readonly Buffer[], shapes: readonly Shape[], axis: number, outShape: Shape, dtype: DType): Buffer {
  const out = allocate(dtype, sizeOf(outShape));
  let off = 0;
  xs.forEach((x, i) => {
    place(x, shapes[i]!, out, outShape, outShape.map((_, k) => (k === axis ? off : 0)));
    off += shapes[i]![axis]!;
  });
  return out;
}
