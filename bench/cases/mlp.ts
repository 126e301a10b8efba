/**
 * Case: one forward + backward pass (valueAndGrad) of a 784-200-100-10 tanh MLP with a
 * log-softmax + NLL loss on a batch of 100, for every implementation. The first implementation is
 * the reference: the others' loss and gradients are checked against it.
 */
import { mlpProblem, scaledErr, time, type Impl, type MlpResult, type TimeOptions } from '../harness.js';
import type { Row } from '../report.js';

/** Flops of the three matmuls of the forward pass and the four of the backward pass (no input gradient): ≈ 3 × forward. */
function mlpFlops(sizes: readonly number[], batch: number): number {
  let f = 0;
  for (let l = 0; l + 1 < sizes.length; l++) f += 2 * batch * sizes[l]! * sizes[l + 1]!;
  const first = 2 * batch * sizes[0]! * sizes[1]!;
  return 3 * f - first;
}

/** The largest scaled error over the loss and every gradient. */
function mlpErr(r: MlpResult, ref: MlpResult): number {
  let e = scaledErr([r.loss], [ref.loss]);
  if (r.grads.length !== ref.grads.length) return Infinity;
  r.grads.forEach((g, i) => (e = Math.max(e, scaledErr(g, ref.grads[i]!))));
  return e;
}

/** Times valueAndGrad of the MLP loss for each implementation. */
export async function benchMlp(impls: readonly Impl[], timing: TimeOptions, sizes = [784, 200, 100, 10], batch = 100): Promise<Row[]> {
  const p = mlpProblem(sizes, batch);
  const label = `MLP ${sizes.join('-')} fwd+bwd, batch ${batch}`;
  const flops = mlpFlops(sizes, batch);
  const rows: Row[] = [];
  let ref: MlpResult | undefined;
  let refMs: number | undefined;
  for (const impl of impls) {
    try {
      await impl.activate?.();
      const runner = impl.mlp(p);
      try {
        const t = await time(runner, timing);
        ref ??= t.result;
        refMs ??= t.medianMs;
        rows.push({
          case: label,
          impl: impl.name,
          ms: t.medianMs,
          cpuMs: t.cpuMs,
          reps: t.reps,
          gflops: flops / (t.medianMs * 1e6),
          ratio: t.medianMs / refMs,
          err: mlpErr(t.result, ref),
        });
      } finally {
        runner.dispose?.();
      }
    } catch (e) {
      rows.push({ case: label, impl: impl.name, failed: e instanceof Error ? e.message : String(e) });
    }
    console.error(`  done: mlp ${impl.name}`);
  }
  return rows;
}
