/**
 * Case: the cost of a partition summary relative to one gradient, the paper's headline cost
 * (Wolinski 2023 reports 10.2× a gradient for order 3 with its PyTorch code, 6.4× for H̄ alone, on
 * one core of this kind of machine). A 784-200-100-10 tanh MLP, log-softmax + NLL, batch 1000,
 * canonical partition (S = 6), float32, on the current partax backend.
 *
 * Runnable alone: `node --import tsx bench/cases/summary.ts [--quick]`.
 */
import * as P from '../../src/index.js';
import { mlpApply, type MlpParams } from '../../src/nn/mlp.js';
import { nll } from '../../src/nn/losses.js';
import { mlpProblem, time, type TimeOptions } from '../harness.js';
import type { Row } from '../report.js';

/** Times valueAndGrad and the order-2 and order-3 summaries; ratios are over the gradient's time. */
export async function benchSummary(timing: TimeOptions, batch = 1000): Promise<Row[]> {
  const sizes = [784, 200, 100, 10];
  const p = mlpProblem(sizes, batch);
  // the harness stores weights [in, out]; the model takes PyTorch's [out, in]
  const layers = sizes.slice(1).map((n, i) => ({
    weight: P.transpose(P.fromBuffer(p.params[2 * i]!.slice(), 'float32', [sizes[i]!, n]), [1, 0]),
    bias: P.fromBuffer(p.params[2 * i + 1]!.slice(), 'float32', [n]),
  }));
  const params: MlpParams<'float32'> = { layers };
  const x = P.fromBuffer(p.x.slice(), 'float32', [batch, sizes[0]!]);
  const y = P.fromBuffer(p.labels.slice(), 'int32', [batch]);
  const cfg = { sizes, activation: 'tanh', output: 'log_softmax' };
  const loss = (q: MlpParams<'float32'>) => nll(mlpApply(cfg, q, x), y);
  const direction = P.valueAndGrad(loss)(params)[1] as MlpParams<'float32'>;
  const part = P.partition.canonical(params);
  const label = `summary / gradient, MLP ${sizes.join('-')}, batch ${batch}, S = ${part.length}`;
  const runners: [string, () => unknown][] = [
    ['valueAndGrad', () => P.valueAndGrad(loss)(params)],
    ['summary order 2 (ḡ, H̄)', () => P.summary(loss, params, direction, part, { order: 2 })],
    ['summary order 3 (ḡ, H̄, order3)', () => P.summary(loss, params, direction, part, { order: 3 })],
  ];
  const rows: Row[] = [];
  let gradMs: number | undefined;
  for (const [name, f] of runners) {
    const t = await time({ run: f }, timing);
    gradMs ??= t.medianMs;
    rows.push({ case: label, impl: `partax (${P.defaultBackend()}): ${name}`, ms: t.medianMs, cpuMs: t.cpuMs, reps: t.reps, ratio: t.medianMs / gradMs });
    console.error(`  done: ${name}`);
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { textTable } = await import('../report.js');
  const quick = process.argv.includes('--quick');
  const rows = await benchSummary(quick ? { warmup: 1, minReps: 2, maxReps: 3, budgetMs: 2000 } : { warmup: 1, minReps: 3, maxReps: 10, budgetMs: 20000 });
  console.log(textTable(rows));
}
