import type { DType } from '../core/dtype.js';
import { DTypeError, ShapeError } from '../core/errors.js';
import { showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { astype, eq, mul, neg, softplus, sub } from '../ops/arith.js';
import { argmax, logSoftmax, mean, sum } from '../ops/reduce.js';
import { expandDims, reshape, takeAlongAxis } from '../ops/shape-ops.js';

/** Losses and metrics. Mean reductions follow PyTorch's defaults. */

function checkLabels(fn: string, out: Tensor, y: Tensor): void {
  if (y.dtype !== 'int32') throw new DTypeError(`${fn}: labels must be int32, got ${y.dtype}`);
  if (out.shape.length !== 2 || y.shape.length !== 1 || y.shape[0] !== out.shape[0])
    throw new ShapeError(`${fn}: outputs ${showShape(out.shape)} and labels ${showShape(y.shape)} do not fit (expected [N, C] and [N])`);
}

/**
 * Negative log-likelihood of log-probabilities [N, C] at int32 labels [N], mean over N. A label
 * outside [0, C) raises a ShapeError naming it (on every backend; on WebGPU at the next readback).
 */
export function nll<D extends DType>(logProbs: Tensor<D>, labels: Tensor<'int32'>): Tensor<D> {
  checkLabels('nll', logProbs, labels);
  const picked = takeAlongAxis(logProbs, expandDims(labels, 1), 1, 'nll');
  return neg(mean(reshape(picked, [labels.shape[0]!])));
}

/** Cross-entropy of logits [N, C] at int32 labels [N]: nll(logSoftmax(logits)). */
export const crossEntropy = <D extends DType>(logits: Tensor<D>, labels: Tensor<'int32'>): Tensor<D> => nll(logSoftmax(logits, -1), labels);

/** Mean squared error over all elements (PyTorch's default reduction). */
export function mse<D extends DType>(out: Tensor<D>, target: Tensor<D>): Tensor<D> {
  if (out.shape.length !== target.shape.length || out.shape.some((d, i) => d !== target.shape[i]))
    throw new ShapeError(`mse: output ${showShape(out.shape)} and target ${showShape(target.shape)} differ`);
  const d = sub(out, target);
  return mean(mul(d, d));
}

/** Σ of all outputs (grnewt's "sum" test loss). */
export const sumLoss = <D extends DType>(out: Tensor<D>): Tensor<D> => sum(out);

/** Fraction of rows whose argmax equals the label. */
export function accuracy(out: Tensor, labels: Tensor<'int32'>): number {
  checkLabels('accuracy', out, labels);
  return mean(astype(eq(argmax(out, -1), labels), 'float64')).item();
}

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
