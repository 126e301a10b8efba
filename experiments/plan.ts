import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FASHION_MNIST_DIR } from '../src/data/fashion-mnist.js';

/**
 * What the study of issue 14 runs: the six tasks (three to choose NewtonSummary's setting on, three
 * held out), the grid of NewtonSummary settings, and the baselines with their learning-rate grids.
 * Every run is one `partax train` command line; this file only says which.
 */

/** Which set a task belongs to: the tuning set chooses NewtonSummary's setting; the held-out set never does. */
export type TaskSet = 'tuning' | 'held-out';

/** A task: a `partax train` problem. */
export interface Task {
  readonly id: string;
  readonly title: string;
  readonly set: TaskSet;
  readonly kind: 'classification' | 'reconstruction' | 'regression';
  /** Its `partax train` flags (dataset, model, sizes). */
  readonly args: readonly string[];
  /** Flags of NewtonSummary's runs on it, before the setting's (which override them). */
  readonly nsArgs?: readonly string[];
  readonly epochs: number;
  /** The flags and epochs of `--quick`: less data, fewer epochs. */
  readonly quickArgs: readonly string[];
  readonly quickEpochs: number;
  /** Why it cannot run on this machine, or null. */
  readonly unavailable: string | null;
}

const FASHION_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
/** Why Fashion-MNIST tasks cannot run here, or null. */
export const fashionMissing = (): string | null =>
  FASHION_FILES.some((f) => !existsSync(join(FASHION_MNIST_DIR, f)))
    ? `Fashion-MNIST is not installed (no IDX files in ${FASHION_MNIST_DIR}): apt-get install dataset-fashion-mnist`
    : null;

/** The six tasks, tuning set first. */
export function tasks(): Task[] {
  const fashion = fashionMissing();
  const q = ['--train-size', '300'];
  return [
    { id: 'mnist-mlp', title: 'MLP 784-128-10 on MNIST', set: 'tuning', kind: 'classification', args: ['--dataset', 'mnist', '--model', 'mlp'], epochs: 3, quickArgs: q, quickEpochs: 1, unavailable: null },
    {
      id: 'fashion-mlp',
      title: 'MLP 784-128-10 on Fashion-MNIST (10k train)',
      set: 'tuning',
      kind: 'classification',
      args: ['--dataset', 'fashion-mnist', '--model', 'mlp', '--train-size', '10000'],
      epochs: 3,
      quickArgs: q,
      quickEpochs: 1,
      unavailable: fashion,
    },
    {
      id: 'mnist-ae',
      title: 'MLP autoencoder 784-128-32-128-784 on MNIST',
      set: 'tuning',
      kind: 'reconstruction',
      args: ['--dataset', 'mnist', '--model', 'autoencoder'],
      epochs: 2,
      quickArgs: q,
      quickEpochs: 1,
      unavailable: null,
    },
    {
      id: 'fashion-lenet',
      title: 'LeNet on Fashion-MNIST (10k train)',
      set: 'held-out',
      kind: 'classification',
      args: ['--dataset', 'fashion-mnist', '--model', 'lenet', '--train-size', '10000'],
      epochs: 2,
      quickArgs: ['--train-size', '200'],
      quickEpochs: 1,
      unavailable: fashion,
    },
    {
      id: 'mnist-deep-ae',
      title: 'deep autoencoder 784-1000-500-250-30 (sigmoid) on MNIST',
      set: 'held-out',
      kind: 'reconstruction',
      // hg batches of 100, as partax train's default for LeNet: one order-3 summary of this 2.8M-parameter
      // model on 500 examples took 251 s on the 2-core machine under load (16 per run at the default period)
      args: ['--dataset', 'mnist', '--model', 'autoencoder', '--hidden', '1000,500,250,30', '--activation', 'sigmoid'],
      nsArgs: ['--hg-batch-size', '100'],
      epochs: 2,
      quickArgs: ['--train-size', '200'],
      quickEpochs: 1,
      unavailable: null,
    },
    {
      id: 'teacher',
      title: 'teacher–student regression (MLP 10-20-1)',
      set: 'held-out',
      kind: 'regression',
      args: ['--dataset', 'teacher', '--model', 'mlp'],
      epochs: 20,
      quickArgs: ['--samples', '400'],
      quickEpochs: 3,
      unavailable: null,
    },
  ];
}

/**
 * The grid's center, pinned: `partax train`'s NewtonSummary defaults when the study was run (the
 * paper's setting: momentum direction, canonical partition, λ₁ 0.5, λ_int 10, rates every 10 steps
 * averaged with 0.5, negative rates clipped), so that the study's runs do not change when the
 * defaults do — the study itself moved the period to 5. Not the hg batch: each task keeps its own
 * (`partax train`'s 500, LeNet's 100, the deep autoencoder's cap).
 */
export const CENTER: readonly string[] = [
  '--direction', 'momentum', '--partition', 'canonical', '--damping', '0.5', '--damping-int', '10',
  '--period-hg', '10', '--mom-lrs', '0.5', '--remove-negative', '--negative-lrs', 'clip',
];

/** A NewtonSummary setting: the flags it changes from the grid's center ({@link CENTER}). */
export interface Setting {
  readonly id: string;
  /** What varies (one factor at a time around the defaults). */
  readonly factor: string;
  readonly args: readonly string[];
}

/**
 * The grid: one factor at a time around its center ({@link CENTER}), each factor at one or two
 * values on either side. A full factorial grid of these factors would be thousands of runs; one
 * factor at a time is 20 settings. `default` is the center itself.
 */
export const SETTINGS: readonly Setting[] = [
  { id: 'default', factor: 'the grid’s center', args: [] },
  { id: 'dir-adam', factor: 'direction', args: ['--direction', 'adam'] },
  { id: 'dir-gradient', factor: 'direction', args: ['--direction', 'gradient'] },
  { id: 'part-wb', factor: 'partition', args: ['--partition', 'wb'] },
  { id: 'part-blocks2', factor: 'partition', args: ['--partition', 'blocks:2'] },
  { id: 'part-trivial', factor: 'partition', args: ['--partition', 'trivial'] },
  { id: 'l1-0.25', factor: 'λ₁', args: ['--damping', '0.25'] },
  { id: 'l1-1', factor: 'λ₁', args: ['--damping', '1'] },
  { id: 'l1-warmup', factor: 'λ₁ schedule', args: ['--damping', '0.1', '--damping-schedule', 'linear:0.5:100'] },
  { id: 'lint-1', factor: 'λ_int', args: ['--damping-int', '1'] },
  { id: 'lint-100', factor: 'λ_int', args: ['--damping-int', '100'] },
  { id: 'hg-100', factor: 'hg batch', args: ['--hg-batch-size', '100'] },
  { id: 'period-5', factor: 'hg period', args: ['--period-hg', '5'] },
  { id: 'period-20', factor: 'hg period', args: ['--period-hg', '20'] },
  { id: 'avg-0', factor: 'rate averaging', args: ['--mom-lrs', '0'] },
  { id: 'avg-0.9', factor: 'rate averaging', args: ['--mom-lrs', '0.9'] },
  { id: 'avg-raw', factor: 'rate averaging', args: ['--maintain-true-lrs'] },
  { id: 'neg-abs', factor: 'negative rates', args: ['--negative-lrs', 'abs'] },
  { id: 'neg-keep', factor: 'negative rates', args: ['--no-remove-negative'] },
  { id: 'neg-trust', factor: 'negative rates', args: ['--no-remove-negative', '--trust-radius', '1'] },
];

/** The settings `--quick` runs. */
export const QUICK_SETTINGS = ['default', 'dir-adam', 'part-wb', 'neg-abs'] as const;

/** The baselines, with their learning-rate grids (searched on seed 0 of each task; `--quick`: two rates, no extension). */
export const BASELINES = {
  momentum: { title: 'SGD + momentum 0.9', grid: [0.01, 0.03, 0.1], quickGrid: [0.03, 0.1] },
  adam: { title: 'Adam', grid: [1e-3, 3e-3, 1e-2], quickGrid: [1e-3, 3e-3] },
  adamw: { title: 'AdamW (wd 1e-4)', grid: [1e-3, 3e-3, 1e-2], quickGrid: [1e-3, 3e-3] },
} as const;
export type Baseline = keyof typeof BASELINES;
export const BASELINE_NAMES = Object.keys(BASELINES) as Baseline[];

/** Where a grid is extended when its best rate sits at an edge (full mode, at most {@link MAX_EXTEND} steps). */
export const LADDER = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1, 3, 10, 30];
export const MAX_EXTEND = 5;

/**
 * `args` with `over`'s flags replacing the same flags in it (a flag is `--name` with a value, or a
 * boolean `--name` / `--no-name`), so that a setting can override what `--quick` adds.
 */
export function mergeArgs(args: readonly string[], over: readonly string[]): string[] {
  const parse = (a: readonly string[]) => {
    const out: [string, string[]][] = [];
    for (let i = 0; i < a.length; i++) {
      const name = a[i]!.replace(/^--(no-)?/, '');
      const hasValue = a[i + 1] !== undefined && !a[i + 1]!.startsWith('--');
      out.push([name, hasValue ? [a[i]!, a[++i]!] : [a[i]!]]);
    }
    return out;
  };
  const overNames = new Set(parse(over).map(([n]) => n));
  return [...parse(args).filter(([n]) => !overNames.has(n)), ...parse(over)].flatMap(([, v]) => v);
}
