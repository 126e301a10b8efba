import type { DType, FloatDType } from '../core/dtype.js';
import { ShapeError } from '../core/errors.js';
import { showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { conv2d } from '../ops/conv.js';
import { maxPool2d } from '../ops/pool.js';
import { reshape } from '../ops/shape-ops.js';
import { type Key, split } from '../random/index.js';
import { activation, type ActivationName, outputMap, type OutputName } from './activations.js';
import { conv2dInit, type InitOptions, linearInit } from './init.js';
import { linear, type LinearParams } from './linear.js';
import type { Model } from './model.js';

/**
 * The paper's LeNet (grnewt's LeNet): two blocks conv k×k (no padding) → activation → 2×2 max-pool,
 * then three fully connected layers with the activation between and log-softmax at the end.
 * On 28×28 MNIST with the default channels: [1,28,28] → conv1 [6,24,24] → pool [6,12,12] →
 * conv2 [16,8,8] → pool [16,4,4] → fc1 256→120 → fc2 120→84 → fc3 84→10.
 */

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

/** Configuration of {@link lenet}. */
export interface LenetModelConfig extends InitOptions {
  /** Input channels and the two convolutions' output channels (default [1, 6, 16]). */
  readonly channels?: readonly [number, number, number];
  /** The two hidden fully connected widths (default [120, 84]). */
  readonly hidden?: readonly [number, number];
  /** Number of classes (default 10). */
  readonly classes?: number;
  /** Input height and width (default [28, 28]). */
  readonly imageSize?: readonly [number, number];
  /** Convolution kernel size (default 5). */
  readonly kernel?: number;
  /** Activation (default 'tanh'). */
  readonly activation?: ActivationName;
}

/** {@link LenetModelConfig} with every default filled in. */
export type ResolvedLenetConfig = Required<LenetModelConfig>;

/** LeNet parameters: conv1, conv2, fc1, fc2, fc3 (PyTorch layouts). */
export interface LenetModelParams<D extends FloatDType = 'float32'> extends LenetParams<D> {
  readonly conv1: LinearParams<D>;
  readonly conv2: LinearParams<D>;
  readonly fc1: LinearParams<D>;
  readonly fc2: LinearParams<D>;
  readonly fc3: LinearParams<D>;
}

/** The side after a valid k×k convolution then a 2×2 max-pool. */
const after = (n: number, k: number) => Math.floor((n - k + 1) / 2);

function resolve(config: LenetModelConfig): ResolvedLenetConfig & { flat: number } {
  const c = {
    channels: config.channels ?? [1, 6, 16],
    hidden: config.hidden ?? [120, 84],
    classes: config.classes ?? 10,
    imageSize: config.imageSize ?? [28, 28],
    kernel: config.kernel ?? 5,
    activation: config.activation ?? 'tanh',
    sigmaW: config.sigmaW ?? 1,
    sigmaB: config.sigmaB ?? 0,
    dtype: config.dtype ?? 'float32',
  } as const;
  const ints = [...c.channels, ...c.hidden, c.classes, ...c.imageSize, c.kernel];
  if (c.channels.length !== 3 || c.hidden.length !== 2 || c.imageSize.length !== 2 || !ints.every((n) => Number.isInteger(n) && n >= 1))
    throw new RangeError(`lenet: channels (3), hidden (2), classes, imageSize (2) and kernel must be positive integers, got ${JSON.stringify(config)}`);
  const [h, w] = c.imageSize.map((s) => after(after(s, c.kernel), c.kernel));
  if (!(h! >= 1 && w! >= 1)) throw new RangeError(`lenet: images ${c.imageSize.join('×')} are too small for two ${c.kernel}×${c.kernel} convolutions with 2×2 pooling`);
  activation(c.activation);
  return { ...c, flat: c.channels[2] * h! * w! };
}

/**
 * Fresh LeNet parameters; layer i uses `split(key, 5)[i]`.
 *
 *     const p = lenetInit(random.key(0), {});   // p.conv1.weight [6, 1, 5, 5], p.fc1.weight [120, 256]
 */
export function lenetInit<D extends FloatDType = 'float32'>(key: Key, config: LenetModelConfig & { dtype?: D } = {}): LenetModelParams<D> {
  const c = resolve(config);
  const o = { sigmaW: c.sigmaW, sigmaB: c.sigmaB, dtype: c.dtype as D };
  const [k1, k2, k3, k4, k5] = split(key, 5) as [Key, Key, Key, Key, Key];
  return {
    conv1: conv2dInit(k1, c.channels[0], c.channels[1], c.kernel, o),
    conv2: conv2dInit(k2, c.channels[1], c.channels[2], c.kernel, o),
    fc1: linearInit(k3, c.flat, c.hidden[0], o),
    fc2: linearInit(k4, c.hidden[0], c.hidden[1], o),
    fc3: linearInit(k5, c.hidden[1], c.classes, o),
  };
}

/**
 * LeNet as a {@link Model}: log-probabilities [N, classes] of images [N, C, H, W].
 *
 *     const net = lenet({});
 *     const out = net.apply(net.init(random.key(0)), x);   // x [N, 1, 28, 28] → [N, 10]
 */
export function lenet(config: LenetModelConfig = {}): Model<LenetModelParams<'float32'>, ResolvedLenetConfig> {
  const { flat: _flat, ...c } = resolve(config);
  const inputShape = [c.channels[0], c.imageSize[0], c.imageSize[1]];
  return {
    kind: 'lenet',
    config: c,
    inputShape,
    init: (key) => lenetInit(key, { ...c, dtype: 'float32' }),
    apply: (params, x) => {
      if (x.shape.length !== 4 || x.shape.slice(1).some((d, i) => d !== inputShape[i]))
        throw new ShapeError(`lenet: input ${showShape(x.shape)} does not fit [N, ${inputShape.join(', ')}]`);
      return lenetApply({ activation: c.activation, output: 'log_softmax' }, params, x);
    },
  };
}
