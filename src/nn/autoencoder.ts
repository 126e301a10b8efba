import type { DType, FloatDType } from '../core/dtype.js';
import { ShapeError } from '../core/errors.js';
import { showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { sigmoid } from '../ops/arith.js';
import { reshape } from '../ops/shape-ops.js';
import { type Key, split } from '../random/index.js';
import { activation as activationOf, type ActivationName } from './activations.js';
import { type InitOptions, linearInit } from './init.js';
import { linear, type LinearParams } from './linear.js';
import type { Model } from './model.js';

/**
 * The paper's MLP autoencoder (grnewt's AutoencoderMLP): an encoder n₀ → n₁ → … → n_K (the code,
 * no activation on it) and the mirror decoder n_K → … → n₀, an activation between layers and a
 * sigmoid on the output (pixels in [0, 1]).
 */

/** Configuration of {@link autoencoder}. */
export interface AutoencoderConfig extends InitOptions {
  /** Encoder sizes n₀ (inputs) … n_K (code); the decoder mirrors them. At least two. */
  readonly sizes: readonly number[];
  /** Hidden activation (default 'tanh'). */
  readonly activation?: ActivationName;
  /** 'sigmoid' (default: reconstructions in [0, 1]) or 'identity' (logits, for a BCE-with-logits loss). */
  readonly output?: 'sigmoid' | 'identity';
}

/** {@link AutoencoderConfig} with every default filled in. */
export type ResolvedAutoencoderConfig = Required<AutoencoderConfig>;

/** Parameters: `encoder.{i}` and `decoder.{i}`, each {weight, bias}. */
export interface AutoencoderParams<D extends DType = DType> {
  readonly encoder: readonly LinearParams<D>[];
  readonly decoder: readonly LinearParams<D>[];
}

function resolve(config: AutoencoderConfig): ResolvedAutoencoderConfig {
  const { sizes } = config;
  if (!Array.isArray(sizes) || sizes.length < 2 || !sizes.every((n) => Number.isInteger(n) && n >= 1))
    throw new RangeError(`autoencoder: sizes must list at least two positive integers (inputs … code), got ${JSON.stringify(sizes)}`);
  const output = config.output ?? 'sigmoid';
  if (output !== 'sigmoid' && output !== 'identity') throw new RangeError(`autoencoder: output must be 'sigmoid' or 'identity', got '${String(output)}'`);
  const c = { sizes: [...sizes], activation: config.activation ?? 'tanh', output, sigmaW: config.sigmaW ?? 1, sigmaB: config.sigmaB ?? 0, dtype: config.dtype ?? 'float32' } as const;
  activationOf(c.activation);
  return c;
}

/**
 * Fresh autoencoder parameters: encoder layer i maps sizes[i] → sizes[i+1], decoder layer j maps
 * back, ending at sizes[0]. Key split in two (encoder, decoder), then once per layer.
 *
 *     const p = autoencoderInit(random.key(0), { sizes: [784, 256, 32] });
 *     p.decoder[1].weight.shape   // [784, 256]
 */
export function autoencoderInit<D extends FloatDType = 'float32'>(key: Key, config: AutoencoderConfig & { dtype?: D }): AutoencoderParams<D> {
  const c = resolve(config);
  const opts = { sigmaW: c.sigmaW, sigmaB: c.sigmaB, dtype: c.dtype as D };
  const [ke, kd] = split(key);
  const L = c.sizes.length - 1;
  const rev = [...c.sizes].reverse();
  return {
    encoder: split(ke!, L).map((k, i) => linearInit(k, c.sizes[i]!, c.sizes[i + 1]!, opts)),
    decoder: split(kd!, L).map((k, i) => linearInit(k, rev[i]!, rev[i + 1]!, opts)),
  };
}

/** h ← flatten(x); encoder layers with the activation between (none on the code); decoder likewise; then the output map. */
export function autoencoderApply<D extends DType>(config: Pick<AutoencoderConfig, 'activation' | 'output'>, params: AutoencoderParams<D>, x: Tensor<D>): Tensor<D> {
  const act = activationOf(config.activation ?? 'tanh');
  const run = (layers: readonly LinearParams<D>[], h: Tensor<D>) =>
    layers.reduce((acc, layer, i) => {
      const z = linear(layer, acc);
      return i < layers.length - 1 ? act(z) : z;
    }, h);
  const n0 = params.encoder[0]?.weight.shape[1];
  if (n0 === undefined || x.shape.length < 1 || x.size !== x.shape[0]! * n0)
    throw new ShapeError(`autoencoder: input ${showShape(x.shape)} does not flatten to [N, ${String(n0)}]`);
  const h = x.shape.length === 2 ? x : reshape(x, [x.shape[0]!, n0]);
  const z = run(params.decoder, run(params.encoder, h));
  return (config.output ?? 'sigmoid') === 'sigmoid' ? sigmoid(z) : z;
}

/**
 * The autoencoder as a {@link Model}: reconstructions [N, n₀] of inputs [N, ...] (flattened).
 *
 *     const ae = autoencoder({ sizes: [784, 256, 32] });
 *     const loss = (p, x) => mse(ae.apply(p, x), reshape(x, [x.shape[0], 784]));
 */
export function autoencoder(config: AutoencoderConfig): Model<AutoencoderParams<'float32'>, ResolvedAutoencoderConfig> {
  const c = resolve(config);
  return {
    kind: 'autoencoder',
    config: c,
    inputShape: [c.sizes[0]!],
    init: (key) => autoencoderInit(key, { ...c, dtype: 'float32' }),
    apply: (params, x) => autoencoderApply(c, params, x),
  };
}
