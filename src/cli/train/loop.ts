import type { Tensor } from '../../core/tensor.js';
import { cyclingLoader, epochLoader, type LoaderPosition, START } from '../../data/batches.js';
import { type Dataset, takeRows } from '../../data/dataset.js';
import { treeToBackend } from '../../backends/transfer.js';
import { jit } from '../../jit/jit.js';
import { applyUpdates, readsHost, updateAsync } from '../../optim/transformation.js';
import { key, keyData, split } from '../../random/index.js';
import { valueAndGrad } from '../../transforms/grad.js';
import { type Checkpoint, CHECKPOINT_FORMAT, type EpochStats, saveCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import type { EpochRecord, MetricsLog, StepRecord } from './metrics.js';
import type { Progress } from './progress.js';
import type { TrainSetup } from './setup.js';
import { skeletonMismatch } from '../../io/state-codec.js';

/**
 * The training loop of `partax train`. Each step: the next batch of the epoch loader, the loss and
 * its gradient (one `valueAndGrad`), the optimizer's update, the new parameters, a metrics line.
 * The loop knows no optimizer: it offers the update the loss and, for an optimizer with its own
 * batch stream (newton-summary's hg batches), a function drawing the stream's next batch, which the
 * optimizer calls when it needs one (see optimizers.ts); the stream's position is checkpointed
 * with the rest. After each epoch
 * the test set is evaluated. A checkpoint is written every `checkpointEvery` steps, at the end, and
 * when a stop is requested (Ctrl-C), which is honoured between steps: the loop yields to the event
 * loop after each step so that the signal handler can run.
 *
 * With `config.jit` (the default) the step runs under jit: for an optimizer that reads nothing on
 * the host and draws no batches of its own (sgd, momentum, adam, adamw, rmsprop) the gradient, the
 * update and the new parameters are one compiled program, traced once (the optimizer state holds
 * its step counts as tensors); for one that does (newton-summary reads its summary on hg steps and
 * draws hg batches) the gradient is jitted together with the part of the update that reads nothing
 * on the host, when the optimizer declares one (`pureHead`: newton-summary's direction), and the
 * rest of the update runs eagerly after it (newton-summary's hg-step summary as a compiled program of
 * its own: the build context's `jit`). With
 * `--no-jit` everything runs op by op. On the cpu backend both give the same numbers bit for bit;
 * on cpu-wasm they agree within float32 rounding (its kernels sum in another order).
 *
 * Every number is a pure function of the configuration and the checkpoint, so a resumed run
 * continues exactly as an uninterrupted one would have.
 */

/** Raised when the loss stops being a finite number. */
export class DivergedError extends Error {
  override name = 'DivergedError';
}

/** How a run ended. */
export interface RunResult {
  readonly step: number;
  readonly totalSteps: number;
  /** True when all epochs are done. */
  readonly done: boolean;
  readonly stoppedBy: 'finished' | 'max-steps' | 'signal' | 'nothing-to-do';
  readonly lastEpoch: EpochRecord | null;
  readonly elapsed: number;
  /** Set when the training loss ended far above where it started (a finite blow-up): the two losses. */
  readonly lossRose: { readonly first: number; readonly last: number; readonly where: string } | null;
}

/** The training loss at the end over the loss of the first step above which a run is said to have blown up. */
export const BLOW_UP_FACTOR = 2;

/** Options of {@link runTraining}. */
export interface RunOptions {
  readonly config: TrainConfig;
  readonly outDir: string;
  readonly resume: Checkpoint | null;
  readonly metrics: MetricsLog;
  readonly progress: Progress;
  /** Polled after every step: true to stop (after writing a checkpoint). */
  readonly shouldStop: () => boolean;
  /** Called once before the first step of this session (not when there is nothing to do). */
  readonly beforeTraining?: () => void;
}

const EMPTY_STATS: EpochStats = { lossSum: 0, correct: 0, examples: 0, batches: 0 };

/** Examples per forward pass of the test evaluation. */
export const EVAL_CHUNK = 1000;

/** How many rows of `out` [N, C] have their argmax at the label (read with an await: `out` may live on a GPU). */
async function countCorrect(out: Tensor, labels: Tensor): Promise<number> {
  const [n, c] = out.shape as [number, number];
  const [o, y] = await Promise.all([out.data(), labels.data()]);
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (o[i * c + j]! > o[i * c + best]!) best = j;
    if (best === y[i]) right++;
  }
  return right;
}

/**
 * Mean loss and accuracy of `params` on a dataset, in chunks of `chunk` examples, each through
 * `forward` (the loss and the model's outputs: `setup.lossWithOutputs`, or it under jit).
 */
export async function evaluate(
  setup: TrainSetup,
  params: unknown,
  ds: Dataset,
  chunk = EVAL_CHUNK,
  forward: TrainSetup['lossWithOutputs'] = setup.lossWithOutputs,
): Promise<{ loss: number; accuracy: number | null }> {
  const n = ds.x.shape[0]!;
  let lossSum = 0;
  let right = 0;
  for (let lo = 0; lo < n; lo += chunk) {
    const idx = Array.from({ length: Math.min(chunk, n - lo) }, (_, i) => lo + i);
    const x = takeRows(ds.x, idx);
    const y = takeRows(ds.y as Tensor<'int32' | 'float32'>, idx);
    const [l, out] = forward(params, x, y);
    // both reads at once: one wait for the device, not two
    const [lv, r] = await Promise.all([l.data(), setup.task === 'classification' ? countCorrect(out, y) : 0]);
    lossSum += lv[0]! * idx.length;
    right += r;
  }
  return { loss: lossSum / n, accuracy: setup.task === 'classification' ? right / n : null };
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Trains from the start or from a checkpoint; see the module comment. */
export async function runTraining(setup: TrainSetup, opts: RunOptions): Promise<RunResult> {
  const { config, resume, metrics, progress } = opts;
  const runKey = key(config.seed);
  const [kInit, kData, kStream] = split(runKey, 3) as [ReturnType<typeof key>, ReturnType<typeof key>, ReturnType<typeof key>];
  const train = epochLoader(setup.train, { batchSize: config.batchSize, key: kData });
  const opt = setup.optimizer;
  // the optimizer's own batch stream (newton-summary's hg batches)
  const stream = opt.batchStream ? cyclingLoader(setup.train, { batchSize: opt.batchStream.batchSize, key: kStream }) : null;
  const totalSteps = config.epochs * train.batchesPerEpoch;
  const limit = Math.min(totalSteps, config.maxSteps ?? Infinity);

  const fresh = setup.model.init(kInit);
  let params: unknown = fresh;
  let optState: unknown = opt.transformation.init(fresh);
  let step = 0;
  let pos: LoaderPosition = START;
  let streamPos: LoaderPosition | null = stream ? START : null;
  let stats = EMPTY_STATS;
  let elapsedBefore = 0;
  if (resume) {
    const [w0, w1] = keyData(runKey);
    if (resume.key[0] !== w0 || resume.key[1] !== w1) throw new Error(`the checkpoint was made with another run key (seed) than config.json's seed ${config.seed}`);
    const pm = skeletonMismatch(resume.params, fresh);
    if (pm) throw new Error(`the checkpoint's parameters do not fit the model of config.json: ${pm}`);
    const om = skeletonMismatch(resume.optState, optState);
    if (om) throw new Error(`the checkpoint's optimizer state does not fit the optimizer of config.json: ${om}`);
    if (resume.position.batch >= train.batchesPerEpoch) throw new Error(`the checkpoint's batch position ${resume.position.batch} is past the ${train.batchesPerEpoch} batches of an epoch`);
    // hgPosition: the checkpoint field of the optimizer's batch stream (named after newton-summary's hg batches)
    if ((resume.hgPosition === null) !== (stream === null))
      throw new Error(`the checkpoint's hgPosition (the position of the optimizer's own batch stream) does not fit the optimizer ${config.optimizer}, which ${stream ? 'has' : 'has no'} such stream`);
    if (stream && resume.hgPosition && resume.hgPosition.batch >= stream.batchesPerEpoch)
      throw new Error(`the checkpoint's hgPosition batch ${resume.hgPosition.batch} is past the ${stream.batchesPerEpoch} batches of an epoch of the optimizer's own batch stream`);
    params = resume.params;
    optState = resume.optState;
    step = resume.step;
    pos = resume.position;
    streamPos = resume.hgPosition;
    stats = resume.epochStats;
    elapsedBefore = resume.elapsed;
  }
  const started = performance.now();
  const elapsed = () => elapsedBefore + (performance.now() - started) / 1000;
  let checkpointed: number | null = resume ? resume.step : null; // the step of the checkpoint on disk
  // the params and the optimizer state come back to the host (from a GPU) before being written
  const checkpoint = async () => {
    saveCheckpoint(opts.outDir, {
      format: CHECKPOINT_FORMAT,
      step,
      position: pos,
      hgPosition: streamPos,
      key: keyData(runKey),
      elapsed: elapsed(),
      epochStats: stats,
      done: step >= totalSteps,
      params: (await treeToBackend(params, 'cpu')) as Checkpoint['params'],
      optState: await treeToBackend(optState, 'cpu'),
    });
    checkpointed = step;
  };
  /** What is left to resume from, for the messages of a run that diverged. */
  const kept = () =>
    checkpointed === null
      ? `no checkpoint was written (${config.checkpointEvery > 0 ? `the first was due at step ${config.checkpointEvery}` : '--checkpoint-every 0: only at the end'})`
      : `the checkpoint of step ${checkpointed} is kept`;
  if (step >= limit) {
    return { step, totalSteps, done: step >= totalSteps, stoppedBy: 'nothing-to-do', lastEpoch: null, elapsed: elapsedBefore, lossRose: null };
  }
  opts.beforeTraining?.();

  const vg = valueAndGrad(setup.lossWithOutputs, { hasAux: true, allowNaN: true }) as (params: unknown, x: Tensor, y: Tensor) => [[Tensor, Tensor], unknown];
  const classification = setup.task === 'classification';
  /** The next batch of the optimizer's stream; each call draws one and moves the position on. */
  const nextBatch = (): [Tensor, Tensor] => {
    if (!stream || !streamPos) throw new Error(`the optimizer ${config.optimizer} asked for a batch of its stream, but declares none`);
    const b = stream.at(streamPos);
    streamPos = stream.next(streamPos);
    return [b.x, b.y];
  };
  const extra = opt.extra?.({ loss: setup.loss, nextBatch });
  // the whole step under jit when the update is a pure function of tensors (see the module comment)
  const whole = config.jit && !readsHost(opt.transformation) && !opt.batchStream;
  const fusedStep = whole
    ? jit((p: unknown, state: unknown, x: Tensor, y: Tensor) => {
        const [[l, out], g] = vg(p, x, y);
        const [updates, next] = opt.transformation.update(g, state, p, extra);
        return [l, out, applyUpdates(p, updates), next] as const;
      })
    : null;
  // an update that reads on the host, with a pure head (newton-summary's direction): the head runs
  // in the gradient's compiled program, the rest after it
  const head = config.jit && !whole ? opt.pureHead : undefined;
  const headStep = head
    ? jit((p: unknown, state: unknown, x: Tensor, y: Tensor) => {
        const [[l, out], g] = vg(p, x, y);
        const [u, next] = head.head.update(g, state, p);
        return [l, out, u, next] as const;
      })
    : null;
  const gradient = config.jit && !whole ? jit(vg) : vg;
  // the evaluation's forward passes: one compiled program (per chunk size) under --jit
  const forward = config.jit ? jit(setup.lossWithOutputs) : setup.lossWithOutputs;
  let lastEpoch: EpochRecord | null = null;
  let stoppedBy: RunResult['stoppedBy'] = 'finished';
  const recent: number[] = [performance.now()]; // times of the last steps, for steps/s
  const lastLosses: number[] = []; // this session's last losses, for the blow-up check
  progress.start(limit, step);
  try {
    while (step < limit) {
      const { x, y } = train.at(pos);
      const fused = fusedStep?.(params, optState, x, y);
      // with a pure head: its output (the incoming updates of the rest) and its next state
      const headed = head && headStep ? headStep(params, head.split(optState)[0], x, y) : null;
      const [[lossT, out], g] = fused ? [[fused[0], fused[1]], null] : headed ? [[headed[0], headed[1]], headed[2]] : gradient(params, x, y);
      const [lossV, right] = await Promise.all([lossT.data(), classification ? countCorrect(out, y) : 0]);
      const loss = lossV[0]!;
      lastLosses.push(loss);
      if (lastLosses.length > 10) lastLosses.shift();
      if (!Number.isFinite(loss))
        throw new DivergedError(`the training loss is ${loss} at step ${step + 1} (epoch ${pos.epoch + 1}): the run diverged; ${kept()}. Try ${opt.divergenceHint}`);
      if (fused) [, , params, optState] = fused;
      else {
        let updates: unknown;
        let nextState: unknown;
        try {
          if (head && headed) {
            const [restUpdates, restState] = await updateAsync(head.rest, g, head.split(optState)[1], params, extra);
            [updates, nextState] = [restUpdates, head.join(headed[3], restState)];
          } else [updates, nextState] = await updateAsync(opt.transformation, g, optState, params, extra);
        } catch (e) {
          // e.g. a NaN in H̄ once the parameters have blown up: say so without a stack trace.
          throw new DivergedError(
            `${config.optimizer} failed at step ${step + 1} (epoch ${pos.epoch + 1}, training loss ${loss.toPrecision(4)}): ${(e as Error).message}. ` +
              `The run has probably diverged; ${kept()}. Try ${opt.divergenceHint}`,
          );
        }
        params = applyUpdates(params, updates);
        optState = nextState;
      }
      const batchIndex = pos.batch;
      const epoch = pos.epoch;
      pos = train.next(pos);
      step++;
      const n = x.shape[0]!;
      stats = { lossSum: stats.lossSum + loss * n, correct: stats.correct + right, examples: stats.examples + n, batches: stats.batches + 1 };
      const lrs = opt.lrsOf(optState);
      const rec: StepRecord = {
        type: 'step',
        step,
        epoch,
        batch: batchIndex,
        loss,
        accuracy: classification ? right / n : null,
        lrs,
        time: elapsed(),
        ...opt.stepMetrics?.(optState),
      };
      metrics.write(rec);
      recent.push(performance.now());
      if (recent.length > 21) recent.shift();
      const sps = (1000 * (recent.length - 1)) / Math.max(recent[recent.length - 1]! - recent[0]!, 1e-3);
      progress.update({ step, epoch, epochs: config.epochs, loss, accuracy: rec.accuracy, stepsPerSecond: sps, lrs });
      if (pos.batch === 0) {
        const test = await evaluate(setup, params, setup.test, EVAL_CHUNK, forward);
        lastEpoch = {
          type: 'epoch',
          epoch: epoch + 1,
          step,
          trainLoss: stats.lossSum / stats.examples,
          trainAccuracy: classification ? stats.correct / stats.examples : null,
          testLoss: test.loss,
          testAccuracy: test.accuracy,
          time: elapsed(),
        };
        metrics.write(lastEpoch);
        const pct = (v: number | null) => (v === null ? '' : ` acc ${(100 * v).toFixed(2)}%`);
        progress.log(
          `epoch ${epoch + 1}/${config.epochs}: train loss ${lastEpoch.trainLoss.toPrecision(4)}${pct(lastEpoch.trainAccuracy)} | test loss ${test.loss.toPrecision(4)}${pct(test.accuracy)} | ${lastEpoch.time.toFixed(1)} s`,
        );
        stats = EMPTY_STATS;
      }
      await yieldToEventLoop();
      const stop = opts.shouldStop();
      const periodic = config.checkpointEvery > 0 && step % config.checkpointEvery === 0;
      if (periodic || step === limit || stop) await checkpoint();
      if (stop && step < limit) {
        stoppedBy = 'signal';
        break;
      }
    }
  } finally {
    progress.stop();
  }
  if (stoppedBy === 'finished' && step < totalSteps) stoppedBy = 'max-steps';
  return { step, totalSteps, done: step >= totalSteps, stoppedBy, lastEpoch, elapsed: elapsed(), lossRose: lossRise(metrics.firstLoss, lastEpoch, lastLosses) };
}

/**
 * A finite blow-up: the training loss at the end (the last epoch's mean, else the mean of the
 * session's last steps) above {@link BLOW_UP_FACTOR} times the loss of the run's first step.
 */
function lossRise(first: number | null, lastEpoch: EpochRecord | null, lastLosses: readonly number[]): RunResult['lossRose'] {
  if (first === null || !(first > 0) || lastLosses.length === 0) return null;
  const [last, where] = lastEpoch
    ? [lastEpoch.trainLoss, `the mean over epoch ${lastEpoch.epoch}`]
    : [lastLosses.reduce((a, b) => a + b, 0) / lastLosses.length, `the mean of the last ${lastLosses.length} step(s)`];
  return last > BLOW_UP_FACTOR * first ? { first, last, where } : null;
}
