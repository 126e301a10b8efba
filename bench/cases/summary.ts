/**
 * Case: the order-3 partition summary of a 784-200-100-10 tanh MLP (log-softmax + NLL, batch
 * 1000, float32, canonical partition S = 6) along the gradient, on every implementation that can
 * express it: ψ(η) = L(θ + Σ_s η_s·u_s), ḡ = ∇ψ(0), H̄ = ∇²ψ(0), order3[s] = ∂³ψ/∂η_s³(0).
 * Every implementation gets the same direction u (the reference's gradient) and is checked
 * against the reference's (L, ḡ, H̄, order3).
 *
 * Also, partax alone: the cost of the summary relative to one gradient on the current backend
 * (with the model of src/nn/mlp.ts, as in the README's summary section),
 * the paper's headline cost (Wolinski 2023 reports 10.2× a gradient for order 3 with its PyTorch
 * code, 6.4× for H̄ alone, on one core of this kind of machine).
 *
 * Runnable alone: `node --import tsx bench/cases/summary.ts [--quick]` (partax's ratios).
 */
import * as P from '../../src/index.js';
import { mlpProblem, scaledErr, time, type Impl, type MlpProblem, type Runner, type SummaryResult, type TimeOptions } from '../harness.js';
import { mlpLoss } from '../partax.js';
import { mlpApply, type MlpParams } from '../../src/nn/mlp.js';
import { nll } from '../../src/nn/losses.js';
import type { Row } from '../report.js';
import { benchImpls } from './rows.js';

type F32 = P.Tensor<'float32'>;
type Params = Record<string, F32>;

const SIZES = [784, 200, 100, 10];

/**
 * The MLP problem as partax tensors on `backend` (w1, b1, w2, …, weights [in, out], in insertion
 * order: the canonical partition's groups follow the harness's parameter order), with the loss.
 */
async function partaxProblem(p: MlpProblem, backend: string, u?: readonly Float32Array[]) {
  const put = (buf: Float32Array, shape: readonly number[]) => P.toBackend(P.fromBuffer(buf.slice(), 'float32', shape), backend);
  const layers = p.sizes.length - 1;
  const params: Params = {};
  const dirs: Params = {};
  for (let l = 1; l <= layers; l++) {
    const shapes = [[p.sizes[l - 1]!, p.sizes[l]!], [p.sizes[l]!]];
    for (const [j, name] of [`w${l}`, `b${l}`].entries()) {
      const k = 2 * (l - 1) + j;
      params[name] = await put(p.params[k]!, shapes[j]!);
      if (u) dirs[name] = await put(u[k]!, shapes[j]!);
    }
  }
  const x = await put(p.x, [p.batch, p.sizes[0]!]);
  const labels = (await P.toBackend(P.fromBuffer(p.labels.slice(), 'int32', [p.batch]), backend)) as P.Tensor<'int32'>;
  return { params, dirs, loss: (q: Params) => mlpLoss(q, x, labels, layers) };
}

/**
 * partax's summary runner on `backend` ('cpu', 'cpu-wasm' or 'webgpu'): `summary(loss, θ, u,
 * partition.canonical(θ), { order: 3 })`, inputs placed on the backend once, results read back
 * with `await data()`. With `jit`, the summary runs as one compiled program, `jit((θ, u) =>
 * summary(…))` (traced on the first run; its S passes' shared forward is staged once, see
 * src/interp/cse.ts). Use it as an implementation's `summary` method.
 */
export const partaxSummary =
  (backend: string, opts: { jit?: boolean } = {}) =>
  (p: MlpProblem, u: readonly Float32Array[]): Runner<SummaryResult> => {
    const ready = partaxProblem(p, backend, u).then(({ params, dirs, loss }) => {
      const plain = (q: Params, d: Params) => {
        const s = P.summary(loss, q, d, P.partition.canonical(q), { order: 3 });
        return [s.loss, s.g, s.H!, s.order3!];
      };
      return { params, dirs, run: opts.jit ? P.jit(plain) : plain };
    });
    return {
      async run() {
        const { params, dirs, run } = await ready;
        const [loss, g, H, order3] = run(params, dirs).map(async (t) => Float32Array.from(await t.data()));
        return { loss: (await loss!)[0]!, g: await g!, H: await H!, order3: await order3! };
      },
    };
  };

/** The largest scaled error over the loss, ḡ, H̄ and order3 (each scaled by the reference's largest entry). */
export function summaryErr(r: SummaryResult, ref: SummaryResult): number {
  return Math.max(scaledErr([r.loss], [ref.loss]), scaledErr(r.g, ref.g), scaledErr(r.H, ref.H), scaledErr(r.order3, ref.order3));
}

/**
 * Times the order-3 summary on every implementation in `impls` (the first one, the reference,
 * also supplies the direction: its gradient of the loss). One without a `summary` gets a row
 * saying so; one whose library cannot express it gets a row with the library's reason.
 */
export async function benchSummaryPeers(impls: readonly Impl[], timing: TimeOptions, batch = 1000): Promise<Row[]> {
  const p = mlpProblem(SIZES, batch);
  const ref = impls[0]!;
  await ref.activate?.();
  const u = (await ref.mlp(p).run()).grads;
  return benchImpls(
    impls,
    {
      label: `summary order 3, MLP ${SIZES.join('-')}, batch ${batch}, canonical (S = ${p.params.length})`,
      runner: (impl) => {
        if (impl.summary === undefined) throw new Error(`${impl.name} has no summary implementation`);
        return impl.summary(p, u);
      },
      err: summaryErr,
      tol: 1e-3,
      tag: 'summary',
    },
    timing,
  );
}

/** Times valueAndGrad and the order-2 and order-3 summaries on the current partax backend; ratios are over the gradient's time. */
export async function benchSummary(timing: TimeOptions, batch = 1000): Promise<Row[]> {
  const sizes = SIZES;
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
