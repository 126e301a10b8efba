import type { DType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { conv2d } from '../ops/conv.js';
import { maxPool2d } from '../ops/pool.js';
import { reshape } from '../ops/shape-ops.js';
import { activation, type ActivationName, outputMap, type OutputName } from './activations.js';
import { linear, type LinearParams } from './linear.js';

/** LeNet-style convnet: conv → activation → 2×2 max-pool blocks, then fully connected layers. */
export interface LenetConfig {
  readonly activation: ActivationName | string;
  readonly output: OutputName | string;
}

/** Parameters `conv1..convI` then `fc1..fcJ`, each {weight, bias} (PyTorch layouts). */
export type LenetParams<D extends DType = DType> = { readonly [name: string]: LinearParams<D> };

/** h = maxpool2(A(conv(h))) per conv layer, flatten (C, H, W), then linear layers with A between. */
export function lenetApply<D extends DType>(config: LenetConfig, params: LenetParams<D>, x: Tensor<D>): Tensor<D> {
  const act = activation(config.activation);
  const convs = Object.keys(params).filter((k) => /^conv\d+$/.test(k)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  const fcs = Object.keys(params).filter((k) => /^fc\d+$/.test(k)).sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));
  let h = x;
  for (const c of convs) h = maxPool2d(act(conv2d(h, params[c]!.weight, { bias: params[c]!.bias })), { kernel: 2, stride: 2 });
  h = reshape(h, [h.shape[0]!, -1]);
  fcs.forEach((f, j) => {
    h = linear(params[f]!, h);
    if (j < fcs.length - 1) h = act(h);
  });
  return outputMap(config.output)(h);
}
