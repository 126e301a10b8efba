import type { DType } from '../core/dtype.js';
import { ShapeError } from '../core/errors.js';
import { showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { add } from '../ops/arith.js';
import { matmul } from '../ops/matmul.js';
import { transpose } from '../ops/shape-ops.js';

/** Parameters of a fully connected layer, PyTorch layout: weight [out, in], bias [out]. */
export interface LinearParams<D extends DType = DType> {
  readonly weight: Tensor<D>;
  readonly bias: Tensor<D>;
}

/** y = x Wᵀ + b for x [..., in]. */
export function linear<D extends DType>(p: LinearParams<D>, x: Tensor<D>): Tensor<D> {
  const [out, inn] = p.weight.shape as [number, number];
  if (p.weight.shape.length !== 2 || x.shape[x.shape.length - 1] !== inn)
    throw new ShapeError(`linear: input ${showShape(x.shape)} does not fit weight ${showShape(p.weight.shape)} (expected last axis ${inn})`);
  if (p.bias.shape.length !== 1 || p.bias.shape[0] !== out)
    throw new ShapeError(`linear: bias ${showShape(p.bias.shape)} does not fit weight ${showShape(p.weight.shape)} (expected [${out}])`);
  return add(matmul(x, transpose(p.weight, [1, 0])), p.bias);
}
