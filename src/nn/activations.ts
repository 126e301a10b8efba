import type { DType } from '../core/dtype.js';
import { ShapeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { relu, sigmoid, softplus, tanh } from '../ops/arith.js';
import { logSoftmax, softmax } from '../ops/reduce.js';

/** Activation and output functions by name, as model configs and case files name them. */

/** Names of hidden-layer activations. */
export type ActivationName = 'tanh' | 'relu' | 'sigmoid' | 'softplus' | 'identity';
/** Names of output maps. */
export type OutputName = 'identity' | 'log_softmax' | 'softmax';

const activations: Record<ActivationName, <D extends DType>(x: Tensor<D>) => Tensor<D>> = {
  tanh,
  relu,
  sigmoid,
  softplus,
  identity: (x) => x,
};
const outputs: Record<OutputName, <D extends DType>(x: Tensor<D>) => Tensor<D>> = {
  identity: (x) => x,
  log_softmax: (x) => logSoftmax(x, -1),
  softmax: (x) => softmax(x, -1),
};

/** The activation of that name; an unknown name is an error listing the known ones. */
export function activation(name: string): <D extends DType>(x: Tensor<D>) => Tensor<D> {
  const f = activations[name as ActivationName];
  if (!f) throw new ShapeError(`activation: unknown activation '${name}' (expected ${Object.keys(activations).join(', ')})`);
  return f;
}

/** The output map of that name (`log_softmax` over the last axis). */
export function outputMap(name: string): <D extends DType>(x: Tensor<D>) => Tensor<D> {
  const f = outputs[name as OutputName];
  if (!f) throw new ShapeError(`output: unknown output map '${name}' (expected ${Object.keys(outputs).join(', ')})`);
  return f;
}
