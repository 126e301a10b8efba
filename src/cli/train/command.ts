import { existsSync, readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { DecodeError } from '../../core/decode.js';
import { leavesWithPaths } from '../../core/tree.js';
import { IdxError } from '../../data/idx.js';
import { DatasetMissingError } from '../../data/mnist.js';
import { withBackend } from '../../backends/transfer.js';
import { WebGPUError } from '../../backends/webgpu/index.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { FileError, systemErrorMessage } from '../../io/file-error.js';
import type { DirectoryLock } from '../../io/run-lock.js';
import { key } from '../../random/index.js';
import { envBackend, HOST_BACKEND, startBackend } from '../backend.js';
import { lineWriter } from '../output.js';
import { readJsonFile } from '../read-json.js';
import { loadCheckpoint } from './checkpoint.js';
import { RESUMABLE, resolveConfig, type TrainConfig, type TrainOptions, TrainOptionsCodec } from './config.js';
import { flagOf, optimizersHelp, optionsHelp, parseFlags } from './flags.js';
import { DivergedError, type RunResult, runTraining } from './loop.js';
import { checkMemory, estimateMemory } from './memory.js';
import { MetricsLog } from './metrics.js';
import { createProgress } from './progress.js';
import { checkNewRunDirectory, claimRunDirectory, makeRunDirectory } from './run-dir.js';
import { setupTraining } from './setup.js';

/**
 * `partax train [--config FILE] [--flags…] | --resume DIR [--epochs N]`: trains a model and writes
 * `config.json`, `run.json`, `metrics.jsonl` and `checkpoint.json` in its output directory.
 * Progress, notices and errors go to stderr; the closing summary line to stdout; either stream
 * may close early (`| head`) without disturbing the run.
 * Exit status: 0 done (or stopped at --max-steps), 1 failure, 2 bad command line or config,
 * 130 stopped by Ctrl-C (a checkpoint was written).
 */

export const TRAIN_USAGE = `usage: partax train [--config FILE.json] [options]
       partax train --resume RUN_DIR [--epochs N] [--max-steps N] [--checkpoint-every N] [--progress MODE]

With no options: the MLP 784-128-10 (tanh) on the embedded MNIST (8,000 training and 2,000 test
digits) with NewtonSummary, 3 epochs of batches of 100. Options may come from a JSON file
(keys in camelCase: {"batchSize": 100}); flags override it, and PARTAX_BACKEND sets the default
of --backend. Progress goes to stderr, the final summary to stdout.

options:
${optionsHelp([
  ['--config FILE', 'read options from a JSON file'],
  ['--resume DIR', 'continue the run in DIR exactly from its checkpoint'],
  ['--help', 'show this message'],
])}

optimizers (--optimizer):
${optimizersHelp()}`;

/** Options not saved in config.json: they belong to one session, not to the run. */
const SESSION_ONLY = new Set(['maxSteps', 'progress']);

const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, '').replace(/[-:]/g, '').replace('T', '-');

/** What config.json keeps of a resolved configuration: all but the session's options. */
export function savedConfig(c: TrainConfig): TrainOptions {
  return Object.fromEntries(Object.entries(c).filter(([k]) => !SESSION_ONLY.has(k))) as TrainOptions;
}

/** Raised when the configuration cannot fit in this machine's memory (exit status 2). */
class TooLargeError extends Error {}

/** What the command line asks for, resolved. */
interface Request {
  readonly config: TrainConfig;
  readonly outDir: string;
  readonly resuming: boolean;
}

/** Resolves the command line (and the run's config.json when resuming); throws DecodeErrors. */
function resolveRequest(flags: ReturnType<typeof parseFlags>): Request {
  const fromFlags = (k: string) => (Object.prototype.hasOwnProperty.call(flags.options, k) ? flagOf(k) : k);
  if (flags.resume !== undefined) {
    if (flags.configFile !== undefined) throw new DecodeError('partax train: --config cannot be combined with --resume (a run keeps its configuration)');
    const bad = Object.keys(flags.options).filter((k) => !(RESUMABLE as string[]).includes(k));
    if (bad.length)
      throw new DecodeError(bad.map((k) => `partax train: ${flagOf(k)}: cannot change when resuming (only ${RESUMABLE.map(flagOf).join(', ')} can); start a new run instead`).join('\n'));
    const outDir = flags.resume;
    if (!existsSync(join(outDir, 'config.json'))) throw new DecodeError(`partax train: --resume ${outDir}: no config.json there (is it a partax train run directory?)`);
    const saved = readJsonFile(join(outDir, 'config.json'), TrainOptionsCodec, 'partax train --resume');
    // a run from before the jit option was trained op by op, and continues so (exactly)
    return { config: resolveConfig({ jit: false, ...saved, ...flags.options, out: outDir }, `partax train --resume ${outDir}`, fromFlags), outDir, resuming: true };
  }
  const env = envBackend();
  const fileOptions = flags.configFile === undefined ? {} : readJsonFile(flags.configFile, TrainOptionsCodec, 'partax train --config');
  const config = resolveConfig(
    { ...(env ? { backend: env } : {}), ...fileOptions, ...flags.options },
    flags.configFile ? `partax train (${flags.configFile} and flags)` : 'partax train',
    fromFlags,
  );
  const outDir = config.out ?? join('runs', `${config.dataset}-${config.model}-${config.optimizer}-${stamp()}`);
  return { config: { ...config, out: outDir }, outDir, resuming: false };
}

/** The one-line summary of a finished session. */
function summaryLine(result: RunResult, outDir: string, abs: string, divergenceHint: string): string {
  const acc = result.lastEpoch?.testAccuracy;
  const last = result.lastEpoch ? ` test loss ${result.lastEpoch.testLoss.toPrecision(4)}${acc === null || acc === undefined ? '' : `, test accuracy ${(100 * acc).toFixed(2)}%`};` : '';
  const rose = result.lossRose
    ? ` WARNING: the training loss rose from ${result.lossRose.first.toPrecision(4)} at step 1 to ${result.lossRose.last.toPrecision(4)} (${result.lossRose.where}): the run has probably diverged; try ${divergenceHint};`
    : '';
  switch (result.stoppedBy) {
    case 'nothing-to-do':
      return `partax train: ${abs} is already at step ${result.step} of ${result.totalSteps}${result.done ? ' (complete)' : ''}: nothing to do; pass --epochs N to train further`;
    case 'signal':
      return `partax train: stopped at step ${result.step} of ${result.totalSteps};${last}${rose} checkpoint written. Continue with: npx partax train --resume ${outDir}`;
    case 'max-steps':
      return `partax train: stopped at --max-steps (step ${result.step} of ${result.totalSteps});${last}${rose} checkpoint written. Continue with: npx partax train --resume ${outDir}`;
    case 'finished':
      return `partax train: ${rose ? 'done, with a warning' : 'done'}: ${result.step} steps in ${result.elapsed.toFixed(1)} s;${last}${rose} outputs in ${abs}`;
  }
}

/** Writes `config.json` atomically, and only when its content changes. */
function writeConfig(outDir: string, config: TrainConfig): void {
  const path = join(outDir, 'config.json');
  const text = `${JSON.stringify(savedConfig(config), null, 2)}\n`;
  let old: string | null = null;
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    old = null;
  }
  if (old !== text) writeFileAtomic(path, text);
}

/** Runs `partax train` with its arguments; returns the exit status. */
export async function trainCommand(argv: readonly string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const result = lineWriter(out);
  const say = lineWriter(err);
  const notice = (s: string) => say(`partax train: ${s}`);
  let request: Request;
  try {
    const flags = parseFlags(argv);
    if (flags.help) {
      result(TRAIN_USAGE);
      return 0;
    }
    request = resolveRequest(flags);
    if (!request.resuming) checkNewRunDirectory(request.outDir); // before creating anything

  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    say(message.startsWith('partax train') ? message : `partax train: ${message}`);
    return 2;
  }
  const { config, outDir, resuming } = request;

  let stopRequested = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      say(`\npartax train: second ${signal}: quitting now (the last checkpoint is kept)`);
      process.exit(130);
    }
    stopRequested = true;
    say(`\npartax train: ${signal}: stopping after this step and writing a checkpoint (again to quit at once)`);
  };
  let metrics: MetricsLog | null = null;
  let lock: DirectoryLock | null = null;
  let stopBackend: (() => void) | null = null;
  try {
    const setup = withBackend(HOST_BACKEND, () => setupTraining(config)); // the datasets are made on the host
    const memory = checkMemory(estimateMemory(config, setup)); // before any parameter is allocated or file written
    if (memory.error) throw new TooLargeError(`partax train: ${memory.error}`);
    if (memory.warning) notice(memory.warning);
    if (!resuming) makeRunDirectory(outDir);
    lock = claimRunDirectory(outDir, notice);
    if (!resuming && checkNewRunDirectory(outDir)) notice(`${outDir} holds a run that never wrote a checkpoint: starting it over`); // again, now that no one else can write there
    const checkpoint = resuming ? loadCheckpoint(outDir, notice, setup.optimizer.migrateState) : null;
    stopBackend = await startBackend(config.backend, notice);
    const abs = resolvePath(outDir);
    if (!resuming) {
      const params = setup.model.init(key(0)); // only the shapes and names are recorded
      const shapes = leavesWithPaths(params).map(([p, t]) => [p, [...t.shape]] as const);
      const run = {
        command: ['partax', 'train', ...argv],
        started: new Date().toISOString(),
        task: setup.task,
        dataset: { name: config.dataset, train: setup.train.x.shape[0], test: setup.test.x.shape[0], inputShape: setup.train.x.shape.slice(1), classes: setup.train.classes ?? null },
        model: { kind: setup.model.kind, config: setup.model.config, parameters: shapes.reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0), shapes: Object.fromEntries(shapes) },
        groups: setup.optimizer.groupsOf(params),
      };
      writeFileAtomic(join(outDir, 'run.json'), `${JSON.stringify(run, null, 2)}\n`); // first: it marks the directory as a partax run
      writeConfig(outDir, config);
    }
    const perEpoch = Math.ceil(setup.train.x.shape[0]! / config.batchSize);
    notice(
      resuming
        ? `resuming ${abs} at step ${checkpoint!.step} (epoch ${checkpoint!.position.epoch + 1}); writing to the same files`
        : `${config.model} on ${config.dataset} (${setup.train.x.shape[0]} train / ${setup.test.x.shape[0]} test) with ${config.optimizer}, ${config.epochs} epochs of ${perEpoch} steps\n` +
            `partax train: writing ${join(abs, 'metrics.jsonl')}, checkpoint.json, config.json and run.json in ${abs}`,
    );
    metrics = new MetricsLog(join(outDir, 'metrics.jsonl'), checkpoint ? checkpoint.step : null);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const progress = createProgress(config.progress, perEpoch, err as NodeJS.WritableStream & { isTTY?: boolean });
    const run = await runTraining(setup, {
      config,
      outDir,
      resume: checkpoint,
      metrics,
      progress,
      shouldStop: () => stopRequested,
      beforeTraining: () => resuming && writeConfig(outDir, config), // a resume that trains records its new epochs; one with nothing to do changes nothing
    });
    result(summaryLine(run, outDir, abs, setup.optimizer.divergenceHint));
    return run.stoppedBy === 'signal' ? 130 : 0;
  } catch (e) {
    say(failureMessage(e));
    return e instanceof TooLargeError ? 2 : 1;
  } finally {
    try {
      metrics?.close();
      stopBackend?.();
    } finally {
      lock?.release();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

/** A failure as one message: known errors and file-system errors without a stack trace. */
function failureMessage(e: unknown): string {
  if (e instanceof TooLargeError) return e.message;
  const known = e instanceof DivergedError || e instanceof DatasetMissingError || e instanceof IdxError || e instanceof DecodeError || e instanceof WebGPUError || e instanceof FileError;
  const system = systemErrorMessage(e);
  if (system !== null) return `partax train: ${system}`;
  return `partax train: ${known || !(e instanceof Error) ? String((e as Error).message ?? e) : (e.stack ?? e.message)}`;
}
