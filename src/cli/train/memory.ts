import { constants as bufferConstants } from 'node:buffer';
import { freemem, totalmem } from 'node:os';
import type { TrainConfig } from './config.js';
import { EVAL_CHUNK } from './loop.js';
import type { TrainSetup } from './setup.js';

/**
 * How much memory a `partax train` configuration needs, estimated from the configuration before
 * anything is allocated, so that `--hidden 1000000,1000000` is refused with the numbers instead of
 * dying (or swapping) minutes later. Every tensor is float32 (4 bytes). The estimate adds:
 *
 * - **parameters** P, and the step's copies of that size: the gradient, the update and the new
 *   parameters (4·P floats in all);
 * - **optimizer state**: the P-sized buffers its registry entry declares (`stateCopies` in
 *   optimizers.ts): none for sgd, one for momentum and rmsprop, two for adam and adamw, and for
 *   newton-summary its momentum direction plus the scaled direction U·I·η (2·P);
 * - **activations**: every intermediate of a forward pass (A floats per example: inputs, each
 *   layer's pre-activation and activation, LeNet's patch matrices), kept for the backward pass
 *   with the cotangents of the same sizes and temporaries: 3·A per example of a batch; evaluation
 *   runs forward only, in chunks of 1,000 examples;
 * - **the optimizer's own batch** (its `batchStream`; newton-summary's summary on an hg batch:
 *   the linearisation's residuals and the tangent streams of the third-order passes, about 12·A
 *   per example);
 * - **the checkpoint**: parameters and state as JSON text (about 20 characters a number, built
 *   twice for the checksum) and the arrays of numbers it is made from (8 bytes a number);
 * - **the data** already loaded.
 *
 * It is compared with the machine's memory (`os.totalmem()`): beyond it the run is refused; beyond
 * the memory free now, a warning. Two hard limits of JavaScript are checked too: one typed array
 * holds at most `buffer.constants.MAX_LENGTH` bytes, one string `MAX_STRING_LENGTH` characters
 * (the checkpoint's text).
 *
 * It counts the tensors and the checkpoint, not the runtime: measured on the 784-2048-2048-10
 * MLP with sgd (estimate 420 MiB), the process's peak resident set grew by about 900 MiB over a
 * tiny run's — V8 collects garbage late and the cpu-wasm backend keeps a WebAssembly arena. So
 * the estimate is a floor, and the refusal (beyond the machine's whole memory) is sure to be right.
 */

/** Bytes of a float32. */
const F32 = 4;
/** Characters of one number in a checkpoint's JSON (measured: 17 significant digits, sign, exponent, comma). */
export const CHECKPOINT_CHARS_PER_NUMBER = 20;

/** The estimate, in bytes per part. */
export interface MemoryEstimate {
  /** The number of parameters. */
  readonly parameters: number;
  /** The largest parameter tensor. */
  readonly largest: { readonly name: string; readonly shape: readonly number[]; readonly bytes: number };
  /** The length of the checkpoint's JSON text, in characters. */
  readonly checkpointChars: number;
  /** What the optimizer's own batch is for (newton-summary: its summary on the hg batch), when it has one. */
  readonly optimizerBatchPurpose?: string;
  readonly bytes: {
    readonly parameters: number;
    readonly optimizer: number;
    readonly activations: number;
    readonly optimizerBatch: number;
    readonly checkpoint: number;
    readonly data: number;
    readonly total: number;
  };
}

const product = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const linear = (name: string, fanIn: number, fanOut: number): [string, number[]][] => [
  [`${name}.weight`, [fanOut, fanIn]],
  [`${name}.bias`, [fanOut]],
];

interface LenetShape {
  readonly channels: readonly [number, number, number];
  readonly hidden: readonly [number, number];
  readonly classes: number;
  readonly imageSize: readonly [number, number];
  readonly kernel: number;
}

/** A k×k valid convolution's output side, and after a 2×2 max-pool. */
const conv = (n: number, k: number) => n - k + 1;
const pool = (n: number) => Math.floor(n / 2);

/**
 * The names and shapes of a model's parameters, from its configuration alone (nothing allocated):
 * the tree paths and shapes `model.init` would give.
 *
 *     parameterShapes({ kind: 'mlp', config: { sizes: [784, 128, 10] } })
 *     // [['layers.0.weight', [128, 784]], ['layers.0.bias', [128]], ['layers.1.weight', [10, 128]], ['layers.1.bias', [10]]]
 */
export function parameterShapes(model: { readonly kind: string; readonly config: unknown }): [string, number[]][] {
  switch (model.kind) {
    case 'mlp': {
      const { sizes } = model.config as { sizes: readonly number[] };
      return sizes.slice(1).flatMap((n, i) => linear(`layers.${i}`, sizes[i]!, n));
    }
    case 'autoencoder': {
      const { sizes } = model.config as { sizes: readonly number[] };
      const rev = [...sizes].reverse();
      return [...sizes.slice(1).flatMap((n, i) => linear(`encoder.${i}`, sizes[i]!, n)), ...rev.slice(1).flatMap((n, i) => linear(`decoder.${i}`, rev[i]!, n))];
    }
    case 'lenet': {
      const c = model.config as LenetShape;
      const [c0, c1, c2] = c.channels;
      const k = c.kernel;
      const side = (n: number) => pool(conv(pool(conv(n, k)), k));
      const flat = c2 * side(c.imageSize[0]) * side(c.imageSize[1]);
      return [
        ['conv1.weight', [c1, c0, k, k]],
        ['conv1.bias', [c1]],
        ['conv2.weight', [c2, c1, k, k]],
        ['conv2.bias', [c2]],
        ...linear('fc1', flat, c.hidden[0]),
        ...linear('fc2', c.hidden[0], c.hidden[1]),
        ...linear('fc3', c.hidden[1], c.classes),
      ];
    }
    default:
      throw new RangeError(`parameterShapes: unknown model kind '${model.kind}'`);
  }
}

/** Floats of one example's forward pass: the input, every layer's pre-activation and activation (and LeNet's patch matrices). */
export function activationsPerExample(model: { readonly kind: string; readonly config: unknown }): number {
  switch (model.kind) {
    case 'mlp':
    case 'autoencoder': {
      const { sizes } = model.config as { sizes: readonly number[] };
      const widths = model.kind === 'mlp' ? sizes : [...sizes, ...[...sizes].reverse().slice(1)];
      return widths[0]! + 2 * widths.slice(1).reduce((a, b) => a + b, 0);
    }
    case 'lenet': {
      const c = model.config as LenetShape;
      const [c0, c1, c2] = c.channels;
      const k = c.kernel;
      const [h0, w0] = c.imageSize;
      const [h1, w1] = [conv(h0, k), conv(w0, k)];
      const [p1h, p1w] = [pool(h1), pool(w1)];
      const [h2, w2] = [conv(p1h, k), conv(p1w, k)];
      const flat = c2 * pool(h2) * pool(w2);
      return (
        c0 * h0 * w0 +
        c0 * k * k * h1 * w1 + // conv1's patches
        2 * c1 * h1 * w1 +
        c1 * p1h * p1w +
        c1 * k * k * h2 * w2 + // conv2's patches
        2 * c2 * h2 * w2 +
        flat +
        2 * (c.hidden[0] + c.hidden[1] + c.classes)
      );
    }
    default:
      throw new RangeError(`activationsPerExample: unknown model kind '${model.kind}'`);
  }
}

/** The memory a run of `config` needs (see the module comment). */
export function estimateMemory(config: TrainConfig, setup: Pick<TrainSetup, 'model' | 'train' | 'test' | 'optimizer'>): MemoryEstimate {
  const shapes = parameterShapes(setup.model);
  const P = shapes.reduce((s, [, sh]) => s + product(sh), 0);
  const [name, shape] = shapes.reduce((a, b) => (product(b[1]) > product(a[1]) ? b : a));
  const A = activationsPerExample(setup.model);
  const state = setup.optimizer.stateCopies * P;
  const stream = setup.optimizer.batchStream;
  const trainN = setup.train.x.shape[0] ?? 0;
  const testN = setup.test.x.shape[0] ?? 0;
  const saved = P + state;
  const checkpointChars = CHECKPOINT_CHARS_PER_NUMBER * saved;
  const bytes = {
    parameters: 4 * P * F32,
    optimizer: state * F32,
    activations: Math.max(3 * Math.min(config.batchSize, trainN), Math.min(EVAL_CHUNK, testN)) * A * F32,
    optimizerBatch: stream ? stream.activationCopies * stream.batchSize * A * F32 : 0,
    checkpoint: 2 * checkpointChars + 8 * saved,
    data: setup.train.x.size * F32 + setup.train.y.size * F32 + setup.test.x.size * F32 + setup.test.y.size * F32,
  };
  const total = Object.values(bytes).reduce((a, b) => a + b, 0);
  return { parameters: P, largest: { name, shape, bytes: product(shape) * F32 }, checkpointChars, ...(stream ? { optimizerBatchPurpose: stream.purpose } : {}), bytes: { ...bytes, total } };
}

/** `1.5 GiB`, `320 MiB`, `3.6 TiB`. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return i === 0 ? `${n} bytes` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** The parts of an estimate, in words. */
export function describeEstimate(e: MemoryEstimate): string {
  const b = e.bytes;
  const parts: string[] = [
    `${e.parameters.toLocaleString('en-US')} parameters with their gradient, update and next values ${formatBytes(b.parameters)}`,
    ...(b.optimizer ? [`optimizer state ${formatBytes(b.optimizer)}`] : []),
    `activations ${formatBytes(b.activations)}`,
    ...(b.optimizerBatch ? [`${e.optimizerBatchPurpose ?? 'the optimizer’s own batch'} ${formatBytes(b.optimizerBatch)}`] : []),
    `checkpoint text ${formatBytes(b.checkpoint)}`,
    `data ${formatBytes(b.data)}`,
  ];
  return `about ${formatBytes(b.total)} (${parts.join(', ')})`;
}

/** The machine's limits an estimate is checked against. */
export interface MemoryLimits {
  readonly totalBytes: number;
  readonly freeBytes: number;
  readonly maxArrayBytes: number;
  readonly maxStringChars: number;
}

/** This machine's limits: its memory, the memory free now, and JavaScript's array and string limits. */
export const machineLimits = (): MemoryLimits => ({
  totalBytes: totalmem(),
  freeBytes: freemem(),
  maxArrayBytes: bufferConstants.MAX_LENGTH,
  maxStringChars: bufferConstants.MAX_STRING_LENGTH,
});

const SHRINK = 'make --hidden (or --channels, --batch-size, --hg-batch-size) smaller';

/**
 * Checks an estimate against the limits: `error` when the run cannot fit (it is refused), `warning`
 * when it needs more than the memory free now, neither when it fits.
 */
export function checkMemory(e: MemoryEstimate, limits: MemoryLimits = machineLimits()): { error?: string; warning?: string } {
  if (e.bytes.total > limits.totalBytes)
    return { error: `this configuration needs ${describeEstimate(e)}, more than this machine's memory of ${formatBytes(limits.totalBytes)}: ${SHRINK}` };
  if (e.largest.bytes > limits.maxArrayBytes)
    return {
      error: `the parameter ${e.largest.name} [${e.largest.shape.join(', ')}] needs ${formatBytes(e.largest.bytes)}, more than the ${formatBytes(limits.maxArrayBytes)} one JavaScript typed array may hold: ${SHRINK}`,
    };
  if (e.checkpointChars > limits.maxStringChars)
    return {
      error: `the checkpoint of ${e.parameters.toLocaleString('en-US')} parameters and their optimizer state would be about ${formatBytes(e.checkpointChars)} of JSON, more than the ${formatBytes(limits.maxStringChars)} one JavaScript string may hold: ${SHRINK}`,
    };
  if (e.bytes.total > limits.freeBytes) return { warning: `this configuration needs ${describeEstimate(e)}, more than the ${formatBytes(limits.freeBytes)} free now: it may swap or be killed` };
  return {};
}
