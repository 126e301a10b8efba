/**
 * Case: one forward + backward pass (valueAndGrad) of a 784-200-100-10 tanh MLP with a
 * log-softmax + NLL loss on a batch of 100, for every implementation. The first implementation is
 * the reference: the others' loss and gradients are checked against it.
 */
import { mlpProblem, scaledErr, type Impl, type MlpResult, type TimeOptions } from '../harness.js';
import { benchImpls } from './rows.js';
import type { Row } from '../report.js';

/** Flops of the three matmuls of the forward pass and the four of the backward pass (no input gradient): ≈ 3 × forward. */
function mlpFlops(sizes: readonly number[], batch: number): number {
  let f = 0;
  for (let l = 0; l + 1 < sizes.length; l++) f += 2 * batch * sizes[l]! * sizes[l + 1]!;
  const first = 2 * batch * sizes[0]! * sizes[1]!;
  return 3 * f - first;
}

/** The largest scaled error over the loss and every gradient. */
export function mlpErr(r: MlpResult, ref: MlpResult): number {
  let e = scaledErr([r.loss], [ref.loss]);
  if (r.grads.length !== ref.grads.length) return Infinity;
  r.grads.forEach((g, i) => (e = Math.max(e, scaledErr(g, ref.grads[i]!))));
  return e;
}

/** Times valueAndGrad of the MLP loss for each implementation. */
export async function benchMlp(impls: readonly Impl[], timing: TimeOptions, sizes = [784, 200, 100, 10], batch = 100): Promise<Row[]> {
  const p = mlpProblem(sizes, batch);
  return benchImpls(
    impls,
    { label: `MLP ${sizes.join('-')} fwd+bwd, batch ${batch}`, flops: mlpFlops(sizes, batch), runner: (impl) => impl.mlp(p), err: mlpErr, tag: 'mlp' },
    timing,
  );
}
