import type { DType } from '../core/dtype.js';
import { ShapeError } from '../core/errors.js';
import { showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { mul, softplus, sub } from '../ops/arith.js';
import { mean } from '../ops/reduce.js';

/**
 * Binary cross-entropy of logits z against targets y in [0, 1], mean over all elements:
 *
 *     BCE(σ(z), y) = −[y·log σ(z) + (1 − y)·log(1 − σ(z))] = softplus(z) − y·z
 *
 * (torch's `BCEWithLogitsLoss`, the loss of the paper's autoencoder written on logits so that it
 * stays finite when σ(z) rounds to 0 or 1).
 *
 *     const loss = binaryCrossEntropyWithLogits(autoencoderApply({ output: 'identity' }, p, x), x);
 */
export function binaryCrossEntropyWithLogits<D extends DType>(logits: Tensor<D>, targets: Tensor<D>): Tensor<D> {
  if (logits.shape.length !== targets.shape.length || logits.shape.some((d, i) => d !== targets.shape[i]))
    throw new ShapeError(`binaryCrossEntropyWithLogits: logits ${showShape(logits.shape)} and targets ${showShape(targets.shape)} differ`);
  return mean(sub(softplus(logits), mul(targets, logits)));
}
