import type { FloatDType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { mul } from '../ops/arith.js';
import { zeros } from '../ops/create.js';
import { type Key, normal, split } from '../random/index.js';
import type { LinearParams } from './linear.js';

/**
 * Parameter initialisation of the paper's models (grnewt's `reset_parameters`): weights drawn
 * from N(0, σ_w² / fan_in), biases from N(0, σ_b²) (zero when σ_b = 0, the default, as in the
 * paper's MNIST runs). fan_in is the number of inputs of one output unit: `in` for a linear layer,
 * C·kh·kw for a convolution.
 */

/** Options of the initialisers. */
export interface InitOptions {
  /** σ_w: weights are N(0, σ_w²/fan_in) (default 1). */
  readonly sigmaW?: number;
  /** σ_b: biases are N(0, σ_b²) (default 0: zero biases). */
  readonly sigmaB?: number;
  /** The dtype of the parameters (default float32). */
  readonly dtype?: FloatDType;
}

function checkSigma(op: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${op}: ${name} must be a finite number ≥ 0, got ${String(v)}`);
}

function checkDim(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${op}: ${name} must be a positive integer, got ${String(v)}`);
}

/**
 * Weights of `shape` drawn from N(0, σ²/fanIn) with the key `k`.
 *
 *     const w = scaledNormal(k, [200, 784], 784, 1);   // Var = 1/784
 */
export function scaledNormal<D extends FloatDType = 'float32'>(k: Key, shape: readonly number[], fanIn: number, sigma: number, dtype: D = 'float32' as D): Tensor<D> {
  checkDim('scaledNormal', 'fanIn', fanIn);
  checkSigma('scaledNormal', 'sigma', sigma);
  return mul(normal(k, shape, dtype), sigma / Math.sqrt(fanIn));
}

/** A bias of `n` elements: N(0, σ_b²) with the key `k`, or zeros when σ_b = 0. */
function biasInit<D extends FloatDType>(k: Key, n: number, sigmaB: number, dtype: D): Tensor<D> {
  checkSigma('init', 'sigmaB', sigmaB);
  return sigmaB === 0 ? zeros([n], dtype) : mul(normal(k, [n], dtype), sigmaB);
}

/**
 * A fully connected layer `in → out` (PyTorch layout): weight [out, in] ~ N(0, σ_w²/in),
 * bias [out] ~ N(0, σ_b²). The key is split once, for weight and bias.
 *
 *     const layer = linearInit(random.key(0), 784, 200);   // { weight: [200, 784], bias: [200] }
 */
export function linearInit<D extends FloatDType = 'float32'>(k: Key, inDim: number, outDim: number, opts: InitOptions & { dtype?: D } = {}): LinearParams<D> {
  checkDim('linearInit', 'inDim', inDim);
  checkDim('linearInit', 'outDim', outDim);
  const dtype = (opts.dtype ?? 'float32') as D;
  const [kw, kb] = split(k);
  return { weight: scaledNormal(kw!, [outDim, inDim], inDim, opts.sigmaW ?? 1, dtype), bias: biasInit(kb!, outDim, opts.sigmaB ?? 0, dtype) };
}

/**
 * A 2-D convolution layer (PyTorch layout): weight [out, in, kh, kw] ~ N(0, σ_w²/(in·kh·kw)),
 * bias [out] ~ N(0, σ_b²).
 *
 *     const conv1 = conv2dInit(random.key(0), 1, 6, 5);   // weight [6, 1, 5, 5]
 */
export function conv2dInit<D extends FloatDType = 'float32'>(
  k: Key,
  inChannels: number,
  outChannels: number,
  kernel: number | readonly [number, number],
  opts: InitOptions & { dtype?: D } = {},
): LinearParams<D> {
  const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
  for (const [n, v] of [['inChannels', inChannels], ['outChannels', outChannels], ['kernel height', kh], ['kernel width', kw]] as const) checkDim('conv2dInit', n, v);
  const dtype = (opts.dtype ?? 'float32') as D;
  const [kWeight, kBias] = split(k);
  const fanIn = inChannels * kh * kw;
  return { weight: scaledNormal(kWeight!, [outChannels, inChannels, kh, kw], fanIn, opts.sigmaW ?? 1, dtype), bias: biasInit(kBias!, outChannels, opts.sigmaB ?? 0, dtype) };
}
