import type { Tensor } from '../core/tensor.js';
import { leavesWithPaths } from '../core/tree.js';
import { valueAndGrad } from '../transforms/grad.js';
import type { Partition } from '../summary/partition.js';
import { chain } from '../optim/chain.js';
import { traceMomentum } from '../optim/momentum.js';
import { scale } from '../optim/scale.js';
import { applyUpdates, updateAsync } from '../optim/transformation.js';
import { newtonSummary, type NewtonSummaryState } from '../optim/newton-summary.js';
import { batchFromJSON, lossFn, modelFn, paramsFromJSON } from './build.js';
import type { TrajectoryFile } from './codecs.js';

/**
 * Replays a `partax-trajectory/1` run with NewtonSummary (grnewt's training loop, step by step),
 * on the default backend; values are read back with an await, so a GPU backend works too.
 */

/** What `partax trajectory` prints. */
export interface TrajectoryResult {
  loss: number[];
  lrs: number[][];
  params: Record<string, { shape: number[]; data: number[] }>;
  hg: { step: number; H: number[]; g: number[]; order3: number[]; lrs_raw: number[]; found: boolean; r: number | null; x0_computation: string }[];
}

/** Runs the configured number of steps and returns losses, learning rates, final θ and hg records. */
export async function runTrajectory(file: TrajectoryFile): Promise<TrajectoryResult> {
  const { config, dtype } = file;
  if (!Number.isInteger(config.steps) || config.steps < 0) throw new RangeError(`config.steps: expected a non-negative integer, got ${config.steps}`);
  if (file.batches.length < config.steps) throw new RangeError(`batches: ${file.batches.length} batches for ${config.steps} steps`);
  let params = paramsFromJSON(file.model, file.params, dtype, 'params');
  const batches = file.batches.slice(0, config.steps).map((b, t) => batchFromJSON(b, file.model, file.loss, dtype, `batches.${t}`));
  const model = modelFn(file.model);
  const lossOf = lossFn(file.loss);
  const loss = (p: unknown, x: Tensor, y: Tensor) => lossOf(model(p, x), y);
  const up = config.updater;
  const opt = newtonSummary({
    partition: file.partition as Partition,
    direction: chain(traceMomentum({ momentum: up.momentum, dampening: up.dampening ?? 0, nesterov: up.nesterov ?? false }), scale(up.lr)),
    damping: config.damping,
    dampingInt: config.dct_nesterov.use ? config.dct_nesterov.damping_int : undefined,
    periodHg: config.period_hg,
    momLrs: config.mom_lrs,
    removeNegative: config.remove_negative,
  });
  let state: NewtonSummaryState = opt.init(params);
  const out: TrajectoryResult = { loss: [], lrs: [], params: {}, hg: [] };
  const vg = valueAndGrad(loss);
  for (const [t, { x, y }] of batches.entries()) {
    const [l, g] = vg(params, x, y);
    const [updates, next] = await updateAsync(opt, g, state, params, { loss, hgBatch: [x, y] });
    params = applyUpdates(params, updates);
    state = next;
    out.loss.push((await (l as Tensor).data())[0]!);
    out.lrs.push([...state.newton.lrs]);
    const rec = state.newton.last;
    if (rec && rec.step === t)
      out.hg.push({ step: t, H: rec.H.flat(), g: rec.g, order3: rec.order3, lrs_raw: rec.lrsRaw, found: rec.found, r: rec.r, x0_computation: rec.branch });
  }
  for (const [name, v] of leavesWithPaths(params)) out.params[name] = { shape: [...v.shape], data: Array.from((await v.data()) as ArrayLike<number>) };
  return out;
}
