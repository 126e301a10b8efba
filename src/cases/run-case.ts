import type { Tensor } from '../core/tensor.js';
import { summary } from '../summary/summary.js';
import { nesterovLrs } from '../optim/nesterov.js';
import { compilePartition, type Partition } from '../summary/partition.js';
import { batchFromJSON, lossFn, modelFn, paramsFromJSON } from './build.js';
import type { CaseFile } from './codecs.js';

/**
 * Evaluates a `partax-case/1` case: the summary (and Nesterov rates) in the file's dtype, on the
 * default backend; values are read back with an await, so a GPU backend works too.
 */

/** What `partax case` prints. */
export interface CaseResult {
  loss: number;
  g: number[];
  H: number[];
  order3: number[];
  D3: { shape: number[]; data: number[] };
  nesterov: unknown[];
}

const list = async (t: Tensor): Promise<number[]> => Array.from((await t.data()) as ArrayLike<number>);

/** Builds the model, loss, θ, u and partition of a decoded case and computes its summary. */
export async function runCase(c: CaseFile): Promise<CaseResult> {
  const params = paramsFromJSON(c.model, c.params, c.dtype, 'params');
  const direction = paramsFromJSON(c.model, c.direction, c.dtype, 'direction');
  const { x, y } = batchFromJSON(c.inputs, c.model, c.loss, c.dtype, 'inputs');
  const model = modelFn(c.model);
  const loss = lossFn(c.loss);
  const partition = compilePartition(c.partition as Partition, params);
  const s = summary((p: unknown) => loss(model(p, x), y), params, direction, partition, { order: 3, full3: true });
  const [H, g, order3, D3, [lossValue]] = await Promise.all([list(s.H!), list(s.g), list(s.order3!), list(s.D3!), list(s.loss)]);
  const nesterov = (c.nesterov_damping_int ?? []).map((lam) => {
    const r = nesterovLrs(H, g, order3, lam);
    return { damping_int: lam, lrs: r.lrs, found: r.found, r: r.r, x0_computation: r.x0Computation, H_pd: r.hPD, ...(r.reason ? { reason: r.reason } : {}) };
  });
  return {
    nesterov,
    loss: lossValue!,
    g,
    H,
    order3,
    D3: { shape: [...s.D3!.shape], data: D3 },
  };
}
