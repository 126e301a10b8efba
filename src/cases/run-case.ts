import type { Tensor } from '../core/tensor.js';
import { summary } from '../summary/summary.js';
import { compilePartition, type Partition } from '../summary/partition.js';
import { batchFromJSON, lossFn, modelFn, paramsFromJSON } from './build.js';
import type { CaseFile } from './codecs.js';

/** Evaluates a `partax-case/1` case: the summary (and Nesterov rates) in the file's dtype. */

/** What `partax case` prints. */
export interface CaseResult {
  loss: number;
  g: number[];
  H: number[];
  order3: number[];
  D3: { shape: number[]; data: number[] };
  nesterov?: unknown[];
}

const list = (t: Tensor): number[] => Array.from(t.data() as ArrayLike<number>);

/** Builds the model, loss, θ, u and partition of a decoded case and computes its summary. */
export function runCase(c: CaseFile): CaseResult {
  const params = paramsFromJSON(c.model, c.params, c.dtype, 'params');
  const direction = paramsFromJSON(c.model, c.direction, c.dtype, 'direction');
  const { x, y } = batchFromJSON(c.inputs, c.loss, c.dtype, 'inputs');
  const model = modelFn(c.model);
  const loss = lossFn(c.loss);
  const partition = compilePartition(c.partition as Partition, params);
  const s = summary((p: unknown) => loss(model(p, x), y), params, direction, partition, { order: 3, full3: true });
  return {
    loss: s.loss.item(),
    g: list(s.g),
    H: list(s.H!),
    order3: list(s.order3!),
    D3: { shape: [...s.D3!.shape], data: list(s.D3!) },
  };
}
