import type { DType } from '../core/dtype.js';
import { ShapeError } from '../core/errors.js';
import { showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { add, mul, pow } from '../ops/arith.js';
import { slice, reshape } from '../ops/shape-ops.js';

/** The polynomial test model of grnewt: out[n] = Σ_k x[n, k] · coeffs_k ** k. */
export interface PolynomialParams<D extends DType = DType> {
  readonly coeffs: readonly Tensor<D>[];
}

/** out[n] = Σ_{k=0..d} x[n, k] · c_k^k for x [N, d+1] (note c_0^0 = 1). */
export function polynomialApply<D extends DType>(params: PolynomialParams<D>, x: Tensor<D>): Tensor<D> {
  const d = params.coeffs.length - 1;
  if (x.shape.length !== 2 || x.shape[1] !== d + 1)
    throw new ShapeError(`polynomial: input ${showShape(x.shape)} does not fit degree ${d} (expected [N, ${d + 1}])`);
  let out: Tensor<D> | null = null;
  params.coeffs.forEach((c, k) => {
    const col = reshape(slice(x, [0, k], [x.shape[0]!, k + 1]), [x.shape[0]!]);
    const term = k === 0 ? col : mul(col, k === 1 ? c : pow(c, k));
    out = out === null ? term : add(out, term);
  });
  return out!;
}
