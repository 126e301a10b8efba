import type { DType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { activation, type ActivationName, outputMap, type OutputName } from './activations.js';
import { linear, type LinearParams } from './linear.js';

/** The multilayer perceptron of the paper ("Perceptron"): affine layers with an activation between. */

/** MLP configuration: layer sizes n0 … nL, hidden activation, output map. */
export interface MlpConfig {
  readonly sizes: readonly number[];
  readonly activation: ActivationName | string;
  readonly output: OutputName | string;
}

/** MLP parameters: `layers.{i}.weight` [n(i+1), n(i)], `layers.{i}.bias` [n(i+1)]. */
export interface MlpParams<D extends DType = DType> {
  readonly layers: readonly LinearParams<D>[];
}

/** h ← x; h ← A(h Wᵢᵀ + bᵢ) for hidden layers; out = O(h W_Lᵀ + b_L). */
export function mlpApply<D extends DType>(config: MlpConfig, params: MlpParams<D>, x: Tensor<D>): Tensor<D> {
  const act = activation(config.activation);
  const out = outputMap(config.output);
  let h = x;
  params.layers.forEach((layer, i) => {
    h = linear(layer, h);
    if (i < params.layers.length - 1) h = act(h);
  });
  return out(h);
}
