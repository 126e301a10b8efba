import type { DType, FloatDType } from '../core/dtype.js';
import { ShapeError } from '../core/errors.js';
import { showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { reshape } from '../ops/shape-ops.js';
import { type Key, split } from '../random/index.js';
import { activation, type ActivationName, outputMap, type OutputName } from './activations.js';
import { type InitOptions, linearInit } from './init.js';
import { linear, type LinearParams } from './linear.js';
import type { Model } from './model.js';

/**
 * The paper's multilayer perceptron ("Perceptron" in grnewt): sizes n₀ → n₁ → … → n_L, an
 * activation between layers (tanh by default), log-softmax output for classification; weights
 * N(0, σ_w²/fan_in), biases N(0, σ_b²).
 */

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

/** Configuration of {@link mlp} and {@link mlpInit}. */
export interface PerceptronConfig extends InitOptions {
  /** Layer sizes n₀ (inputs) … n_L (outputs); at least two. */
  readonly sizes: readonly number[];
  /** Hidden activation (default 'tanh'). */
  readonly activation?: ActivationName;
  /** Output map (default 'log_softmax'). */
  readonly output?: OutputName;
}

/** {@link PerceptronConfig} with every default filled in. */
export type ResolvedPerceptronConfig = Required<PerceptronConfig>;

/** Fills in the defaults of a perceptron configuration and checks it. */
export function resolvePerceptron(config: PerceptronConfig): ResolvedPerceptronConfig {
  const { sizes } = config;
  if (!Array.isArray(sizes) || sizes.length < 2 || !sizes.every((n) => Number.isInteger(n) && n >= 1))
    throw new RangeError(`mlp: sizes must list at least two positive integers (inputs … outputs), got ${JSON.stringify(sizes)}`);
  const out = { sizes: [...sizes], activation: config.activation ?? 'tanh', output: config.output ?? 'log_softmax', sigmaW: config.sigmaW ?? 1, sigmaB: config.sigmaB ?? 0, dtype: config.dtype ?? 'float32' } as const;
  activation(out.activation);
  outputMap(out.output);
  return out;
}

/**
 * Fresh MLP parameters `{ layers: [{ weight: [n₁, n₀], bias: [n₁] }, …] }`; layer i uses key
 * `split(key, L)[i]`.
 *
 *     const params = mlpInit(random.key(0), { sizes: [784, 128, 10] });
 *     params.layers[0].weight.shape   // [128, 784], entries N(0, 1/784)
 */
export function mlpInit<D extends FloatDType = 'float32'>(key: Key, config: PerceptronConfig & { dtype?: D }): MlpParams<D> {
  const c = resolvePerceptron(config);
  const keys = split(key, c.sizes.length - 1);
  return { layers: keys.map((k, i) => linearInit(k, c.sizes[i]!, c.sizes[i + 1]!, { sigmaW: c.sigmaW, sigmaB: c.sigmaB, dtype: c.dtype as D })) };
}

/**
 * The perceptron as a {@link Model}: `apply` flattens x [N, ...] to [N, n₀] (like `x.view(N, -1)`)
 * and returns log-probabilities [N, n_L] (or the configured output).
 *
 *     const model = mlp({ sizes: [784, 128, 10] });
 *     const loss = (p: MlpParams<'float32'>, x: Tensor<'float32'>, y: Tensor<'int32'>) => nll(model.apply(p, x), y);
 */
export function mlp(config: PerceptronConfig): Model<MlpParams<'float32'>, ResolvedPerceptronConfig> {
  const c = resolvePerceptron(config);
  const n0 = c.sizes[0]!;
  return {
    kind: 'mlp',
    config: c,
    inputShape: [n0],
    init: (key) => mlpInit(key, { ...c, dtype: 'float32' }),
    apply: (params, x) => {
      if (x.shape.length < 1 || x.size !== x.shape[0]! * n0) throw new ShapeError(`mlp: input ${showShape(x.shape)} does not flatten to [N, ${n0}]`);
      return mlpApply(c, params, x.shape.length === 2 ? x : reshape(x, [x.shape[0]!, n0])) as Tensor<'float32'>;
    },
  };
}
