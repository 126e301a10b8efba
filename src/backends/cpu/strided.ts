import type { Buffer } from '../../core/dtype.js';

/**
 * out[i] = src[offset + Σ_k idx_k · strides[k]] over the row-major indices of `shape`.
 * Covers transpose, broadcast (stride 0) and slice. The last axis runs as a tight inner loop.
 */
export function stridedCopy(src: Buffer, offset: number, strides: readonly number[], shape: readonly number[], out: Buffer): void {
  const r = shape.length;
  if (r === 0) {
    out[0] = src[offset]!;
    return;
  }
  const n = out.length;
  if (n === 0) return;
  const inner = shape[r - 1]!;
  const is = strides[r - 1]!;
  const idx = new Array<number>(r).fill(0);
  let base = offset;
  for (let o = 0; o < n; o += inner) {
    if (is === 1) for (let j = 0; j < inner; j++) out[o + j] = src[base + j]!;
    else if (is === 0) {
      const v = src[base]!;
      for (let j = 0; j < inner; j++) out[o + j] = v;
    } else for (let j = 0, s = base; j < inner; j++, s += is) out[o + j] = src[s]!;
    // advance the odometer over axes r-2 .. 0
    for (let k = r - 2; k >= 0; k--) {
      idx[k]!++;
      base += strides[k]!;
      if (idx[k]! < shape[k]!) break;
      base -= strides[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
}
