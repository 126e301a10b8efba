import { DTypeError, ShapeError } from '../core/errors.js';
import { showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import { bind1 } from './bind.js';
import { batchBroadcast } from './broadcast.js';
import { add, cauchy } from './elementwise.js';
import { type Primitive, primitive } from './primitive.js';
import { requireFloat } from './rules.js';
import { reshape, transpose } from './structural.js';

/** matmul(a, b): [...batch, M, K] × [...batch, K, N] → [...batch, M, N], equal batch dims. */

/** Swaps the last two axes. */
export function mT(x: Tensor): Tensor {
  const r = x.shape.length;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return transpose(x, perm);
}

export const matmulP: Primitive<{}> = primitive<{}>({
  name: 'matmul',
  abstractEval: ([a, b]) => {
    const sa = a!.shape;
    const sb = b!.shape;
    if (a!.dtype !== b!.dtype) throw new DTypeError(`matmul: dtypes ${a!.dtype} and ${b!.dtype} differ (use astype)`);
    requireFloat('matmul', a!.dtype);
    if (sa.length < 2 || sb.length !== sa.length)
      throw new ShapeError(`matmul: x is ${showShape(sa)}, w is ${showShape(sb)}: need equal ranks ≥ 2 at the primitive`);
    const ba = sa.slice(0, -2);
    const bb = sb.slice(0, -2);
    if (ba.some((d, i) => d !== bb[i])) throw new ShapeError(`matmul: batch dimensions of ${showShape(sa)} and ${showShape(sb)} differ`);
    if (sa[sa.length - 1] !== sb[sb.length - 2])
      throw new ShapeError(`matmul: x is ${showShape(sa)}, w is ${showShape(sb)}: inner dimensions ${sa[sa.length - 1]} and ${sb[sb.length - 2]} differ`);
    return [{ shape: [...ba, sa[sa.length - 2]!, sb[sb.length - 1]!], dtype: a!.dtype }];
  },
  jvp: ([a, b], [da, db]) => {
    const out = matmul(a!, b!);
    const ta = da == null ? null : matmul(da, b!);
    const tb = db == null ? null : matmul(a!, db);
    return [[out], [ta == null ? tb : tb == null ? ta : add(ta, tb)]];
  },
  // Leibniz: (a·b)_k = Σ_j a_j·b_{k−j}
  jet: ([a, b], [sa, sb]) => {
    const sA = [a!, ...sa!];
    const sB = [b!, ...sb!];
    return [[matmul(a!, b!)], [sa!.map((_, i) => cauchy(sA, sB, i + 1, matmul))]];
  },
  linear: true,
  transpose: ([ct], [a, b]) => {
    if (a!.linear && b!.linear) throw new Error('matmul: transpose of a product of two linear arguments');
    if (ct == null) return [null, null];
    if (a!.linear) return [matmul(ct, mT((b as { value: Tensor }).value)), null];
    return [null, matmul(mT((a as { value: Tensor }).value), ct)];
  },
  vmap: ([a, b], [ba, bb], _p, size) => {
    if (ba && bb) return [[matmul(a!, b!)], [true]];
    if (ba && b!.shape.length === 2) {
      // fold the batch into the rows: [B, M, K] → [B·M, K]
      const [, m, k] = a!.shape as [number, number, number];
      const flat = matmul(reshape(a!, [size * m, k]), b!);
      return [[reshape(flat, [size, m, b!.shape[1]!])], [true]];
    }
    if (bb && a!.shape.length === 2) {
      // fold the batch into the columns: [B, K, N] → [K, B·N]
      const [, k, n] = b!.shape as [number, number, number];
      const m = a!.shape[0]!;
      const bf = reshape(transpose(b!, [1, 0, 2]), [k, size * n]);
      const out = reshape(matmul(a!, bf), [m, size, n]);
      return [[transpose(out, [1, 0, 2])], [true]];
    }
    return [[matmul(ba ? a! : batchBroadcast(a!, size), bb ? b! : batchBroadcast(b!, size))], [true]];
  },
});

/** x · w over the last two axes, equal batch axes (no broadcasting) */
export const matmul = <D extends DType>(x: Tensor<D>, w: Tensor<D>): Tensor<D> => bind1(matmulP, [x, w]) as Tensor<D>;
