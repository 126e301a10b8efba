import * as t from 'io-ts';
import { DecodeError, type DecodeIssue, decodeOrThrow, formatIssues, showValue } from '../../core/decode.js';
import { BACKENDS } from '../backend.js';

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
export const OPTIMIZERS = ['newton-summary', 'sgd', 'momentum', 'adam'] as const;
export const ACTIVATIONS = ['tanh', 'relu', 'sigmoid', 'softplus'] as const;
export { BACKENDS };
export const PROGRESS = ['auto', 'bar', 'lines', 'none'] as const;
export const NORMALIZE = ['standardize', 'none'] as const;

/** What a check returns when a value is bad: the message. */
class Bad {
  constructor(readonly message: string) {}
}
const bad = (message: string) => new Bad(message);
type Refine<A> = (u: unknown) => A | Bad;

/** An io-ts type from a check that returns the value or what is wrong with it. */
function check<A>(name: string, refine: Refine<A>): t.Type<A, A, unknown> {
  return new t.Type<A, A, unknown>(
    name,
    (u): u is A => !(refine(u) instanceof Bad),
    (u, c) => {
      const r = refine(u);
      return r instanceof Bad ? t.failure(u, c, r.message) : t.success(r);
    },
    t.identity,
  );
}

const oneOf = <const L extends readonly string[]>(name: string, values: L) =>
  check<L[number]>(name, (u) => (typeof u === 'string' && values.includes(u) ? (u as L[number]) : bad(`expected one of ${values.join(', ')}, got ${showValue(u)}`)));
const int = (min: number, what = `an integer ≥ ${min}`) =>
  check<number>(what, (u) => (typeof u === 'number' && Number.isSafeInteger(u) && u >= min ? u : bad(`expected ${what}, got ${showValue(u)}`)));
const num = (what: string, ok: (x: number) => boolean) =>
  check<number>(what, (u) => (typeof u === 'number' && Number.isFinite(u) && ok(u) ? u : bad(`expected ${what}, got ${showValue(u)}`)));
const bool = check<boolean>('a boolean', (u) => (typeof u === 'boolean' ? u : bad(`expected true or false, got ${showValue(u)}`)));
const str = check<string>('a non-empty string', (u) => (typeof u === 'string' && u.length > 0 ? u : bad(`expected a non-empty string, got ${showValue(u)}`)));
const sizes = (what: string, min = 1, max = 64) =>
  check<number[]>(what, (u) =>
    Array.isArray(u) && u.length >= min && u.length <= max && u.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 1e6)
      ? [...u]
      : bad(`expected ${what}, got ${showValue(u)}`),
  );
const partitionName = check<string>('a partition name', (u) =>
  typeof u === 'string' && /^(canonical|trivial|wb|blocks:[1-9]\d{0,3})$/.test(u) ? u : bad(`expected canonical, trivial, wb or blocks:K (K a positive integer), got ${showValue(u)}`),
);
const nullable = <A>(inner: t.Type<A, A, unknown>, what: string) =>
  check<A | null>(what, (u) => {
    if (u === null) return null;
    const r = inner.decode(u);
    return r._tag === 'Right' ? r.right : bad(r.left[0]?.message ?? `expected ${what}`);
  });

/** Every option: its codec and a one-line help (shown by `partax train --help`). */
export const OPTIONS = {
  dataset: { codec: oneOf('a dataset', DATASETS), help: `training data: ${DATASETS.join(' | ')} (default mnist: 10,000 embedded digits)` },
  dataDir: { codec: str, help: 'fashion-mnist: the directory of its IDX files (default /usr/share/datasets/fashion-mnist)' },
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
  optimizer: { codec: oneOf('an optimizer', OPTIMIZERS), help: `optimizer: ${OPTIMIZERS.join(' | ')} (default newton-summary)` },
  lr: { codec: num('a positive number', (x) => x > 0), help: 'sgd, momentum, adam: learning rate (defaults 0.1, 0.01, 0.001)' },
  momentum: { codec: num('a number in [0, 1)', (x) => x >= 0 && x < 1), help: 'momentum, newton-summary (its direction): momentum factor (default 0.9)' },
  dampening: { codec: num('a number in [0, 1]', (x) => x >= 0 && x <= 1), help: 'momentum, newton-summary: momentum dampening τ (defaults 0 and 0.9)' },
  nesterov: { codec: bool, help: 'momentum, newton-summary: Nesterov momentum (default false)' },
  beta1: { codec: num('a number in [0, 1)', (x) => x >= 0 && x < 1), help: 'adam: β₁ (default 0.9)' },
  beta2: { codec: num('a number in [0, 1)', (x) => x >= 0 && x < 1), help: 'adam: β₂ (default 0.999)' },
  eps: { codec: num('a positive number', (x) => x > 0), help: 'adam: ε (default 1e-8)' },
  partition: { codec: partitionName, help: 'newton-summary: parameter groups canonical | trivial | wb | blocks:K (default canonical: one per tensor)' },
  damping: { codec: num('a positive number', (x) => x > 0), help: 'newton-summary: λ₁, multiplies the learning rates it picks (default 0.5)' },
  dampingInt: { codec: nullable(num('a number ≥ 0', (x) => x >= 0), 'a number ≥ 0 or null'), help: 'newton-summary: λ_int, the cubic (Nesterov) regularisation; none (null in JSON): plain Newton on H̄ (default 10)' },
  periodHg: { codec: int(1), help: 'newton-summary: recompute the learning rates every this many steps (default 10)' },
  momLrs: { codec: num('a number in [0, 1)', (x) => x >= 0 && x < 1), help: 'newton-summary: moving average of the learning rates across hg steps (default 0.5)' },
  removeNegative: { codec: bool, help: 'newton-summary: clip negative learning rates to 0 (default true)' },
  hgBatchSize: { codec: int(1), help: 'newton-summary: examples in each hg batch (default 500, 100 for lenet, whose H̄ costs more; at most the training set)' },
  epochs: { codec: int(1), help: 'passes over the training set (default 3)' },
  maxSteps: { codec: nullable(int(1), 'a positive integer or null'), help: 'stop after this many steps in all, counting resumed ones (a checkpoint is written; default none)' },
  batchSize: { codec: int(1), help: 'examples per training step (default 100)' },
  seed: { codec: int(0, 'a non-negative integer'), help: 'seed of the initialisation and of the batch order (default 0)' },
  backend: { codec: oneOf('a backend', BACKENDS), help: 'compute backend: cpu-wasm (WASM SIMD kernels; default) | cpu (plain TypeScript, the oracle) | webgpu (a GPU through Dawn; float32); default: PARTAX_BACKEND when set' },
  out: { codec: str, help: 'output directory (default runs/<dataset>-<model>-<optimizer>-<time>)' },
  checkpointEvery: { codec: int(0, 'a non-negative integer'), help: 'write a checkpoint every this many steps; 0: only at the end (default 100)' },
  progress: { codec: oneOf('a progress style', PROGRESS), help: 'auto (a bar on a terminal, lines otherwise) | bar | lines | none (default auto)' },
} as const;

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

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u) && [Object.prototype, null].includes(Object.getPrototypeOf(u));

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
      'dataset' | 'model' | 'hidden' | 'activation' | 'sigmaW' | 'sigmaB' | 'normalize' | 'optimizer' | 'epochs' | 'maxSteps' | 'batchSize' | 'seed' | 'backend' | 'checkpointEvery' | 'progress'
    >
  >;

/** Which options belong to which optimizer, dataset or model (the others apply to all). */
const ONLY: Partial<Record<OptionName, { optimizer?: readonly string[]; dataset?: readonly string[]; model?: readonly string[] }>> = {
  lr: { optimizer: ['sgd', 'momentum', 'adam'] },
  momentum: { optimizer: ['momentum', 'newton-summary'] },
  dampening: { optimizer: ['momentum', 'newton-summary'] },
  nesterov: { optimizer: ['momentum', 'newton-summary'] },
  beta1: { optimizer: ['adam'] },
  beta2: { optimizer: ['adam'] },
  eps: { optimizer: ['adam'] },
  partition: { optimizer: ['newton-summary'] },
  damping: { optimizer: ['newton-summary'] },
  dampingInt: { optimizer: ['newton-summary'] },
  periodHg: { optimizer: ['newton-summary'] },
  momLrs: { optimizer: ['newton-summary'] },
  removeNegative: { optimizer: ['newton-summary'] },
  hgBatchSize: { optimizer: ['newton-summary'] },
  dataDir: { dataset: ['fashion-mnist'] },
  testSize: { dataset: ['mnist', 'spirals', 'teacher'] },
  samples: { dataset: ['spirals', 'teacher'] },
  channels: { model: ['lenet'] },
};

const WHY: Partial<Record<OptionName, string>> = {
  lr: 'newton-summary picks its own per-group learning rates; scale them with damping',
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
    if (!allowed.includes(value))
      issues.push({ path: name(k), message: `does not apply to ${kind} ${value} (only to ${allowed.join(', ')})${WHY[k] ? `: ${WHY[k]}` : ''}` });
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
  switch (optimizer) {
    case 'sgd':
      cfg.lr = o.lr ?? 0.1;
      break;
    case 'momentum':
      Object.assign(cfg, { lr: o.lr ?? 0.01, momentum: o.momentum ?? 0.9, dampening: o.dampening ?? 0, nesterov: o.nesterov ?? false });
      break;
    case 'adam':
      Object.assign(cfg, { lr: o.lr ?? 1e-3, beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, eps: o.eps ?? 1e-8 });
      break;
    case 'newton-summary':
      Object.assign(cfg, {
        momentum: o.momentum ?? 0.9,
        dampening: o.dampening ?? 0.9,
        nesterov: o.nesterov ?? false,
        partition: o.partition ?? 'canonical',
        damping: o.damping ?? 0.5,
        dampingInt: o.dampingInt === undefined ? 10 : o.dampingInt,
        periodHg: o.periodHg ?? 10,
        momLrs: o.momLrs ?? 0.5,
        removeNegative: o.removeNegative ?? true,
        hgBatchSize: o.hgBatchSize ?? (model === 'lenet' ? 100 : 500),
      });
      break;
  }
  if (cfg.nesterov && (cfg.dampening ?? 0) !== 0)
    throw new DecodeError(formatIssues(what, [{ path: name('nesterov'), message: `Nesterov momentum needs dampening 0 (as torch.optim.SGD), but dampening is ${cfg.dampening}` }]));
  return cfg;
}
