import * as t from 'io-ts';
import { DecodeError, type DecodeIssue, decodeOrThrow, formatIssues, showValue } from '../../core/decode.js';
import { isPlainObject } from '../../core/tree.js';
import { BACKENDS } from '../backend.js';
import { bool, dir, int, nullable, num, oneOf, type OptionSpec, sizes } from './option-codecs.js';
import { FLAG_USERS, OPTIMIZER_NAMES, OPTIMIZER_OPTIONS, optimizerEntry, resolveFlags } from './optimizers.js';

/**
 * The configuration of `partax train`: one flat record whose keys are the flags in camelCase
 * (`--batch-size 100` ↔ `"batchSize": 100`), so a JSON config file and the command line say the
 * same things. {@link TrainOptions} is what a user writes (every field optional, unknown fields
 * refused by name); {@link resolveConfig} fills in the defaults that fit the chosen dataset, model
 * and optimizer, and refuses options that do not apply to them (`--lr` with newton-summary,
 * `--damping` with adam…). The resolved record is what `config.json` holds and `--resume` reads.
 */

export const DATASETS = ['mnist', 'fashion-mnist', 'spirals', 'teacher'] as const;
export const MODELS = ['mlp', 'autoencoder', 'lenet'] as const;
export const ACTIVATIONS = ['tanh', 'relu', 'sigmoid', 'softplus'] as const;
export { BACKENDS, OPTIMIZER_NAMES };
export const PROGRESS = ['auto', 'bar', 'lines', 'none'] as const;
export const NORMALIZE = ['standardize', 'none'] as const;

/** Every option: its codec and a one-line help (shown by `partax train --help`). */
export const OPTIONS = {
  dataset: { codec: oneOf('a dataset', DATASETS), help: `training data: ${DATASETS.join(' | ')} (default mnist: 10,000 embedded digits)` },
  dataDir: { codec: dir, help: 'fashion-mnist: the directory of its IDX files (default /usr/share/datasets/fashion-mnist)' },
  testSize: { codec: int(1), help: 'mnist, spirals, teacher: examples held out for testing (default 2000 of 10000; 20% for synthetic sets)' },
  trainSize: { codec: int(1), help: 'use only this many training examples (a fixed random subset; default all)' },
  samples: { codec: int(4), help: 'spirals, teacher: number of examples generated (default 1000)' },
  normalize: { codec: oneOf('a normalization', NORMALIZE), help: 'inputs: standardize (training mean/std; default for mlp and lenet on images) | none (pixels in [0, 1])' },
  model: { codec: oneOf('a model', MODELS), help: `model: ${MODELS.join(' | ')} (default mlp)` },
  hidden: { codec: sizes('a list of positive integers'), help: 'hidden sizes: mlp layers (default 128 on images), autoencoder code path (default 128,32), lenet fc (default 120,84)' },
  channels: { codec: sizes('two positive integers', 2, 2), help: 'lenet: the two convolutions’ channels (default 6,16)' },
  activation: { codec: oneOf('an activation', ACTIVATIONS), help: `hidden activation: ${ACTIVATIONS.join(' | ')} (default tanh)` },
  sigmaW: { codec: num('a number ≥ 0', (x) => x >= 0), help: 'initial weights N(0, sigmaW²/fan_in) (default 1)' },
  sigmaB: { codec: num('a number ≥ 0', (x) => x >= 0), help: 'initial biases N(0, sigmaB²) (default 0)' },
  optimizer: { codec: oneOf('an optimizer', OPTIMIZER_NAMES), help: `optimizer: ${OPTIMIZER_NAMES.join(' | ')} (default ${OPTIMIZER_NAMES[0]}; see the list below)` },
  ...OPTIMIZER_OPTIONS,
  epochs: { codec: int(1), help: 'passes over the training set (default 3)' },
  maxSteps: { codec: nullable(int(1), 'a positive integer or null'), help: 'stop after this many steps in all, counting resumed ones (a checkpoint is written; default none)' },
  batchSize: { codec: int(1), help: 'examples per training step (default 100)' },
  seed: { codec: int(0, 'a non-negative integer'), help: 'seed of the initialisation and of the batch order (default 0)' },
  backend: { codec: oneOf('a backend', BACKENDS), help: 'compute backend: cpu-wasm (WASM SIMD kernels; default) | cpu (plain TypeScript, the oracle) | webgpu (a GPU through Dawn; float32); default: PARTAX_BACKEND when set' },
  jit: {
    codec: bool,
    help: 'run each training step under jit: the gradient, the update and the new parameters as one compiled program (an optimizer that reads values on the host, newton-summary, jits the gradient and its direction’s update, compiles each hg step’s summary as one program, and runs the rest of the update eagerly; the test evaluation is jitted too); --no-jit: op by op (default true; a run whose config.json predates this option resumes without)',
  },
  out: { codec: dir, help: 'output directory (default runs/<dataset>-<model>-<optimizer>-<time>)' },
  checkpointEvery: { codec: int(0, 'a non-negative integer'), help: 'write a checkpoint every this many steps; 0: only at the end (default 100)' },
  progress: { codec: oneOf('a progress style', PROGRESS), help: 'auto (a bar on a terminal, lines otherwise) | bar | lines | none (default auto)' },
} as const satisfies Readonly<Record<string, OptionSpec>>;

export type OptionName = keyof typeof OPTIONS;
export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];

/** What a user may write: every option optional. */
export type TrainOptions = { -readonly [K in OptionName]?: t.TypeOf<(typeof OPTIONS)[K]['codec']> };

/** Levenshtein distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

/** The closest known name to `name` when it is close enough, else null. */
export function suggest(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const dd = distance(name.toLowerCase(), k.toLowerCase());
    if (dd < bestD) (best = k), (bestD = dd);
  }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/**
 * The io-ts codec of {@link TrainOptions}: a JSON object of known options only; every bad or
 * unknown field is reported with its name (and a suggestion for a misspelt one).
 *
 *     decodeOrThrow(TrainOptionsCodec, { dataset: 'mnist', batchSize: 0 }, 'config.json')
 *     // DecodeError: config.json: batchSize: expected an integer ≥ 1, got 0
 */
export const TrainOptionsCodec = new t.Type<TrainOptions, TrainOptions, unknown>(
  'TrainOptions',
  (u): u is TrainOptions => isPlainObject(u),
  (u, c) => {
    if (!isPlainObject(u)) return t.failure(u, c, `expected a JSON object of options, got ${showValue(u)}`);
    const errors: t.ValidationError[] = [];
    const out: TrainOptions = {};
    for (const k of Object.keys(u)) {
      const v = u[k];
      const ctx: t.Context = [...c, { key: k, type: t.unknown, actual: v }];
      const spec = (OPTIONS as Record<string, { codec: t.Type<any, any, unknown> }>)[k];
      if (!Object.prototype.hasOwnProperty.call(OPTIONS, k) || !spec) {
        const s = suggest(k, OPTION_NAMES);
        errors.push({ value: v, context: ctx, message: `unknown option '${k}'${s ? ` (did you mean '${s}'?)` : ''}` });
        continue;
      }
      const r = spec.codec.validate(v, ctx);
      if (r._tag === 'Left') errors.push(...r.left);
      else (out as Record<string, unknown>)[k] = r.right;
    }
    return errors.length ? t.failures(errors) : t.success(out);
  },
  t.identity,
);

/** Decodes options read from JSON (a config file, a run's config.json), naming `what` and each bad field. */
export const decodeTrainOptions = (u: unknown, what: string): TrainOptions => decodeOrThrow(TrainOptionsCodec, u, what);

/** The resolved configuration: the common options always present, the others where they apply. */
export type TrainConfig = TrainOptions &
  Required<
    Pick<
      TrainOptions,
      'dataset' | 'model' | 'hidden' | 'activation' | 'sigmaW' | 'sigmaB' | 'normalize' | 'optimizer' | 'epochs' | 'maxSteps' | 'batchSize' | 'seed' | 'backend' | 'jit' | 'checkpointEvery' | 'progress'
    >
  >;

/** Which options belong to which optimizer (its registry entry's flags), dataset or model (the others apply to all). */
const ONLY: Partial<Record<OptionName, { optimizer?: readonly string[]; dataset?: readonly string[]; model?: readonly string[] }>> = {
  ...Object.fromEntries(Object.entries(FLAG_USERS).map(([k, names]) => [k, { optimizer: names }])),
  dataDir: { dataset: ['fashion-mnist'] },
  testSize: { dataset: ['mnist', 'spirals', 'teacher'] },
  samples: { dataset: ['spirals', 'teacher'] },
  channels: { model: ['lenet'] },
};

const WHY: Partial<Record<OptionName, string>> = {
  testSize: 'fashion-mnist has its own 10,000-image test set',
};

/** Options that may change when a run is resumed (the rest must match the checkpoint's run). */
export const RESUMABLE: readonly OptionName[] = ['epochs', 'maxSteps', 'checkpointEvery', 'progress'];

/**
 * Fills in the defaults and checks the options against each other. Throws a DecodeError whose
 * issues name each offending field (`name(field)` renders it: a flag or a JSON key).
 *
 *     resolveConfig({})   // mnist, mlp 784-128-10 tanh, newton-summary (canonical, λ₁ 0.5, λ_int 10), 3 epochs of batch 100
 */
export function resolveConfig(o: TrainOptions, what = 'partax train', name: (f: string) => string = (f) => f): TrainConfig {
  const dataset = o.dataset ?? 'mnist';
  const model = o.model ?? 'mlp';
  const optimizer = o.optimizer ?? 'newton-summary';
  const issues: DecodeIssue[] = [];
  for (const k of OPTION_NAMES) {
    const only = ONLY[k];
    if (o[k] === undefined || !only) continue;
    const [kind, value, allowed] = only.optimizer
      ? (['optimizer', optimizer, only.optimizer] as const)
      : only.dataset
        ? (['dataset', dataset, only.dataset] as const)
        : (['model', model, only.model!] as const);
    const why = kind === 'optimizer' ? optimizerEntry(optimizer).refuses?.[k] : WHY[k];
    if (!allowed.includes(value)) issues.push({ path: name(k), message: `does not apply to ${kind} ${value} (only to ${allowed.join(', ')})${why ? `: ${why}` : ''}` });
  }
  const images = dataset === 'mnist' || dataset === 'fashion-mnist';
  if ((model === 'lenet' || model === 'autoencoder') && !images)
    issues.push({ path: name('model'), message: `${model} needs an image dataset (mnist or fashion-mnist), got ${dataset}` });
  if (dataset === 'teacher' && model !== 'mlp') issues.push({ path: name('model'), message: `the teacher dataset is a regression for the mlp, got ${model}` });
  if (o.testSize !== undefined && o.samples !== undefined && o.testSize >= o.samples)
    issues.push({ path: name('testSize'), message: `must be less than samples (${o.samples}), got ${o.testSize}` });
  if (o.testSize !== undefined && dataset === 'mnist' && o.testSize >= 10000)
    issues.push({ path: name('testSize'), message: `must be less than the 10000 embedded digits, got ${o.testSize}` });
  if (issues.length) throw new DecodeError(formatIssues(what, issues, 20), issues);

  const defaultHidden = model === 'lenet' ? [120, 84] : model === 'autoencoder' ? [128, 32] : dataset === 'spirals' ? [32, 32] : dataset === 'teacher' ? [20] : [128];
  if (model === 'lenet' && o.hidden && o.hidden.length !== 2)
    throw new DecodeError(formatIssues(what, [{ path: name('hidden'), message: `lenet has two hidden fully connected layers: expected two sizes, got ${o.hidden.length}` }]));
  const cfg: TrainConfig = {
    dataset,
    model,
    hidden: o.hidden ?? defaultHidden,
    activation: o.activation ?? 'tanh',
    sigmaW: o.sigmaW ?? 1,
    sigmaB: o.sigmaB ?? 0,
    normalize: o.normalize ?? (images && model !== 'autoencoder' ? 'standardize' : 'none'),
    optimizer,
    epochs: o.epochs ?? 3,
    maxSteps: o.maxSteps ?? null,
    batchSize: o.batchSize ?? 100,
    seed: o.seed ?? 0,
    backend: o.backend ?? 'cpu-wasm',
    jit: o.jit ?? true,
    checkpointEvery: o.checkpointEvery ?? 100,
    progress: o.progress ?? 'auto',
  };
  if (o.out !== undefined) cfg.out = o.out;
  if (o.trainSize !== undefined) cfg.trainSize = o.trainSize;
  if (dataset === 'fashion-mnist' && o.dataDir !== undefined) cfg.dataDir = o.dataDir;
  if (dataset === 'mnist') cfg.testSize = o.testSize ?? 2000;
  if (dataset === 'spirals' || dataset === 'teacher') {
    cfg.samples = o.samples ?? 1000;
    cfg.testSize = o.testSize ?? Math.max(1, Math.floor(cfg.samples / 5));
  }
  if (model === 'lenet') cfg.channels = o.channels ?? [6, 16];
  const entry = optimizerEntry(optimizer);
  const values = resolveFlags(entry, o, { model });
  Object.assign(cfg, values);
  const bad = entry.check?.(values as never) ?? [];
  if (bad.length) throw new DecodeError(formatIssues(what, bad.map((b) => ({ path: name(b.flag), message: b.message })), 20), bad.map((b) => ({ path: name(b.flag), message: b.message })));
  return cfg;
}
