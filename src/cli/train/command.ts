import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { DecodeError } from '../../core/decode.js';
import { leavesWithPaths } from '../../core/tree.js';
import { IdxError } from '../../data/idx.js';
import { DatasetMissingError } from '../../data/mnist.js';
import { readJsonFile } from '../read-json.js';
import { CHECKPOINT_FILE, loadCheckpoint } from './checkpoint.js';
import { decodeTrainOptions, RESUMABLE, resolveConfig, type TrainConfig, type TrainOptions, TrainOptionsCodec } from './config.js';
import { flagOf, optionsHelp, parseFlags } from './flags.js';
import { DivergedError, runTraining } from './loop.js';
import { MetricsLog } from './metrics.js';
import { key } from '../../random/index.js';
import { createProgress } from './progress.js';
import { defaultBackend, setBackend } from '../../backends/registry.js';
import { initWebGPU, shutdownWebGPU, WebGPUError } from '../../backends/webgpu/index.js';
import { setupTraining } from './setup.js';

/**
 * `partax train [--config FILE] [--flags…] | --resume DIR [--epochs N]`: trains a model and writes
 * `config.json`, `run.json`, `metrics.jsonl` and `checkpoint.json` in its output directory.
 * Exit status: 0 done (or stopped at --max-steps), 1 failure, 2 bad command line or config,
 * 130 stopped by Ctrl-C (a checkpoint was written).
 */

export const TRAIN_USAGE = `usage: partax train [--config FILE.json] [options]
       partax train --resume RUN_DIR [--epochs N] [--max-steps N] [--checkpoint-every N] [--progress MODE]

With no options: the MLP 784-128-10 (tanh) on the embedded MNIST (8,000 training and 2,000 test
digits) with NewtonSummary, 3 epochs of batches of 100. Options may come from a JSON file
(keys in camelCase: {"batchSize": 100}); flags override it.

options:
${optionsHelp([
  ['--config FILE', 'read options from a JSON file'],
  ['--resume DIR', 'continue the run in DIR exactly from its checkpoint'],
  ['--help', 'show this message'],
])}`;

/** Options not saved in config.json: they belong to one session, not to the run. */
const SESSION_ONLY = new Set(['maxSteps', 'progress']);

const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, '').replace(/[-:]/g, '').replace('T', '-');

function savedConfig(c: TrainConfig): TrainOptions {
  return Object.fromEntries(Object.entries(c).filter(([k]) => !SESSION_ONLY.has(k))) as TrainOptions;
}

/** Runs `partax train` with its arguments; returns the exit status. */
export async function trainCommand(argv: readonly string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const say = (s: string) => out.write(`${s}\n`);
  const complain = (s: string) => err.write(`${s}\n`);
  let config: TrainConfig;
  let outDir: string;
  let resuming = false;
  try {
    const flags = parseFlags(argv);
    if (flags.help) {
      say(TRAIN_USAGE);
      return 0;
    }
    const fromFlags = (k: string) => (Object.prototype.hasOwnProperty.call(flags.options, k) ? flagOf(k) : k);
    if (flags.resume !== undefined) {
      if (flags.configFile !== undefined) throw new DecodeError('partax train: --config cannot be combined with --resume (a run keeps its configuration)');
      const bad = Object.keys(flags.options).filter((k) => !(RESUMABLE as string[]).includes(k));
      if (bad.length)
        throw new DecodeError(
          bad.map((k) => `partax train: ${flagOf(k)}: cannot change when resuming (only ${RESUMABLE.map(flagOf).join(', ')} can); start a new run instead`).join('\n'),
        );
      outDir = flags.resume;
      if (!existsSync(join(outDir, 'config.json'))) throw new DecodeError(`partax train: --resume ${outDir}: no config.json there (is it a partax train run directory?)`);
      const saved = readJsonFile(join(outDir, 'config.json'), TrainOptionsCodec, 'partax train --resume');
      config = resolveConfig({ ...saved, ...flags.options, out: outDir }, `partax train --resume ${outDir}`, fromFlags);
      resuming = true;
    } else {
      const fileOptions = flags.configFile === undefined ? {} : readJsonFile(flags.configFile, TrainOptionsCodec, 'partax train --config');
      config = resolveConfig({ ...fileOptions, ...flags.options }, flags.configFile ? `partax train (${flags.configFile} and flags)` : 'partax train', fromFlags);
      outDir = config.out ?? join('runs', `${config.dataset}-${config.model}-${config.optimizer}-${stamp()}`);
      if (existsSync(join(outDir, CHECKPOINT_FILE)))
        throw new DecodeError(`partax train: ${outDir} already holds a run: continue it with --resume ${outDir}, or choose another --out`);
      config = { ...config, out: outDir };
    }
  } catch (e) {
    complain(e instanceof Error ? e.message : String(e));
    return 2;
  }

  let stopRequested = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      complain(`\npartax train: second ${signal}: quitting now (the last checkpoint is kept)`);
      process.exit(130);
    }
    stopRequested = true;
    complain(`\npartax train: ${signal}: stopping after this step and writing a checkpoint (again to quit at once)`);
  };
  let metrics: MetricsLog | null = null;
  const previousBackend = defaultBackend();
  let gpu = false;
  try {
    if (config.backend === 'webgpu') {
      const info = await initWebGPU().catch((e: unknown) => {
        throw new WebGPUError(`--backend webgpu: ${(e as Error).message}; train on the CPU with --backend cpu-wasm`);
      });
      gpu = true;
      say(`partax train: WebGPU adapter ${info.description || info.device || info.vendor}${info.software ? ' (a software renderer: correct but slow)' : ''}`);
    }
    const checkpoint = resuming ? loadCheckpoint(outDir) : null;
    const setup = setupTraining(config); // the datasets are made on the host
    setBackend(config.backend);
    mkdirSync(outDir, { recursive: true });
    const configPath = join(outDir, 'config.json');
    writeFileSync(configPath, `${JSON.stringify(savedConfig(config), null, 2)}\n`);
    if (!resuming) {
      const params = setup.model.init(key(0)); // only the shapes and names are recorded
      const shapes = leavesWithPaths(params).map(([p, t]) => [p, [...t.shape]] as const);
      const run = {
        command: ['partax', 'train', ...argv],
        started: new Date().toISOString(),
        task: setup.task,
        dataset: { name: config.dataset, train: setup.train.x.shape[0], test: setup.test.x.shape[0], inputShape: setup.train.x.shape.slice(1), classes: setup.train.classes ?? null },
        model: { kind: setup.model.kind, config: setup.model.config, parameters: shapes.reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0), shapes: Object.fromEntries(shapes) },
        groups: setup.groupsOf(params),
      };
      writeFileSync(join(outDir, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
    }
    const perEpoch = Math.ceil(setup.train.x.shape[0]! / config.batchSize);
    const abs = resolvePath(outDir);
    say(
      resuming
        ? `partax train: resuming ${abs} at step ${checkpoint!.step} (epoch ${checkpoint!.position.epoch + 1}); writing to the same files`
        : `partax train: ${config.model} on ${config.dataset} (${setup.train.x.shape[0]} train / ${setup.test.x.shape[0]} test) with ${config.optimizer}, ${config.epochs} epochs of ${perEpoch} steps\n` +
            `partax train: writing ${join(abs, 'metrics.jsonl')}, checkpoint.json, config.json and run.json in ${abs}`,
    );
    metrics = new MetricsLog(join(outDir, 'metrics.jsonl'), checkpoint ? checkpoint.step : null);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const progress = createProgress(config.progress, perEpoch, out as NodeJS.WritableStream & { isTTY?: boolean });
    const result = await runTraining(setup, { config, outDir, resume: checkpoint, metrics, progress, shouldStop: () => stopRequested });
    const acc = result.lastEpoch?.testAccuracy;
    const last = result.lastEpoch ? ` test loss ${result.lastEpoch.testLoss.toPrecision(4)}${acc === null || acc === undefined ? '' : `, test accuracy ${(100 * acc).toFixed(2)}%`};` : '';
    switch (result.stoppedBy) {
      case 'nothing-to-do':
        say(`partax train: ${abs} is already at step ${result.step} of ${result.totalSteps}${result.done ? ' (complete)' : ''}: nothing to do; pass --epochs N to train further`);
        return 0;
      case 'signal':
        say(`partax train: stopped at step ${result.step} of ${result.totalSteps};${last} checkpoint written. Continue with: npx partax train --resume ${outDir}`);
        return 130;
      case 'max-steps':
        say(`partax train: stopped at --max-steps (step ${result.step} of ${result.totalSteps});${last} checkpoint written. Continue with: npx partax train --resume ${outDir}`);
        return 0;
      case 'finished':
        say(`partax train: done: ${result.step} steps in ${result.elapsed.toFixed(1)} s;${last} outputs in ${abs}`);
        return 0;
    }
    return 0;
  } catch (e) {
    const known = e instanceof DivergedError || e instanceof DatasetMissingError || e instanceof IdxError || e instanceof DecodeError || e instanceof WebGPUError;
    complain(`partax train: ${known || !(e instanceof Error) ? String((e as Error).message ?? e) : (e.stack ?? e.message)}`);
    return 1;
  } finally {
    setBackend(previousBackend);
    if (gpu) shutdownWebGPU();
    metrics?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Reads a run's saved configuration (for tools such as `partax plot`). */
export function readRunConfig(dir: string): TrainOptions {
  return decodeTrainOptions(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), `run config '${join(dir, 'config.json')}'`);
}
