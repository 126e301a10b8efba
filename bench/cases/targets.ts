/**
 * The CPU runtime's targets (issue 10), each a ratio measured in one process run with the
 * contenders' runs interleaved round by round, everything on one thread: partax on cpu-wasm with
 * one wasm thread; PyTorch with `torch.set_num_threads(1)` and one-thread BLAS (bench/peers/torch.ts).
 *
 * - MLP 784-200-100-10 fwd+bwd (valueAndGrad), batch 100 and 1000: partax (eager, jit) / PyTorch.
 * - One Adam step (fwd + bwd + update), batch 100: partax (eager, the whole step under jit) /
 *   PyTorch (`torch.optim.Adam`), checked over 3 steps; the host dispatches of one step.
 * - The order-3 summary, batch 1000, canonical partition (S = 6), along the gradient: partax
 *   (eager, and the summary under jit) / the paper's grnewt `compute_Hg` (from GRNEWT_ROOT), and
 *   partax's summary / its own valueAndGrad (eager / eager, jit / jit).
 * - partax on its default wasm threads (one per core) against one thread, on each case above,
 *   eager and under jit (target ≤ 1×: a second thread must never make a case slower).
 *
 * Every result is checked against partax's (scaled error, as in the other peers' rows).
 * Runnable alone: `node --import tsx bench/cases/targets.ts [--quick] [--threads-only]` (with
 * `--threads-only`, the rows of two threads against one alone).
 */
import * as P from '../../src/index.js';
import { interleave, local, mlpProblem, relL2Err, scaledErr, type RoundTiming, type TimeOptions } from '../harness.js';
import { partaxMlp } from '../partax.js';
import { remote, startTorchPeer, type TorchPeer } from '../peers/torch.js';
import { partaxAdamStep, type AdamCheck } from './adam.js';
import { benchCeiling, ceilingMarkdown, type CeilingRow } from './ceiling.js';
import { mlpErr } from './mlp.js';
import { partaxSummary, summaryErr } from './summary.js';
import type { MlpResult, SummaryResult } from '../harness.js';

const SIZES = [784, 200, 100, 10];
const LR = 1e-3;
/** Steps of the Adam check. */
const CHECK_STEPS = 3;
/** Largest scaled error accepted from a peer (float32 sums in another order). */
const TOL = 1e-3;

/** One row of the targets table: a ratio (or a count) against its target. */
export interface TargetRow {
  readonly case: string;
  /** What is divided by what, e.g. "partax (eager) / PyTorch". */
  readonly measure: string;
  readonly value?: number;
  readonly unit: '×' | 'dispatches';
  /** The target: value ≤ target; absent for rows shown for context. */
  readonly target?: number;
  /** Median ms of the numerator and the denominator. */
  readonly times?: readonly [number, number];
  readonly reps?: number;
  /** Scaled difference of the peer's result from partax's. */
  readonly err?: number;
  readonly note?: string;
  /** Why the row could not be measured. */
  readonly skipped?: string;
}

/** Timing options of the targets: fast cases (fwd+bwd, Adam) and the slow summary. */
export interface TargetTiming {
  readonly fast: TimeOptions;
  readonly slow: TimeOptions;
}

export const TARGET_TIMING: TargetTiming = {
  fast: { warmup: 3, minReps: 20, maxReps: 100, budgetMs: 6000 },
  slow: { warmup: 1, minReps: 10, maxReps: 40, budgetMs: 20000 },
};
/**
 * The thread rows compare partax with itself, where the effect sought is a few per cent: more
 * rounds than the other rows (the medians of one thread against itself, interleaved, move by
 * ±2.5% over 100 rounds here), and enough warm-up rounds for the split gate to settle.
 */
export const THREAD_TIMING: TargetTiming = {
  fast: { warmup: 10, minReps: 100, maxReps: 300, budgetMs: 12000 },
  slow: { warmup: 2, minReps: 20, maxReps: 60, budgetMs: 30000 },
};
export const QUICK_TARGET_TIMING: TargetTiming = {
  fast: { warmup: 2, minReps: 10, maxReps: 30, budgetMs: 1500 },
  slow: { warmup: 1, minReps: 4, maxReps: 8, budgetMs: 4000 },
};

/** The skipped rows' note: the reason is printed once, above the table. */
const NO_TORCH = 'no PyTorch (the reason is above the table)';


/** A ratio row from two timings of one interleaved run. */
function ratio(kase: string, a: RoundTiming, b: RoundTiming, measure: string, target?: number, extra: Partial<TargetRow> = {}): TargetRow {
  return { case: kase, measure, value: a.medianMs / b.medianMs, unit: '×', target, times: [a.medianMs, b.medianMs], reps: Math.min(a.reps, b.reps), ...extra };
}

/** fwd+bwd at `batch`: partax eager and jit against PyTorch. */
async function fwdBwd(peer: TorchPeer | string, batch: number, timing: TimeOptions, torchName: string): Promise<TargetRow[]> {
  const kase = `MLP ${SIZES.join('-')} fwd+bwd, batch ${batch}`;
  const p = mlpProblem(SIZES, batch);
  const eager = partaxMlp(p);
  const jitted = partaxMlp(p, { jit: true });
  const ref = eager.read(eager.step());
  const jitErr = mlpErr(jitted.read(jitted.step()), ref);
  const contenders = [local('partax', eager.step), local('partax jit', jitted.step)];
  const id = `mlp${batch}`;
  let torchErr: number | undefined;
  if (typeof peer !== 'string') {
    await peer.request({ op: 'setup', id, case: 'mlp', file: peer.problemFile(p), sizes: SIZES, batch });
    torchErr = mlpErr(await peer.request<MlpResult>({ op: 'result', id }), ref);
    contenders.push(remote(peer, torchName, id));
  }
  const [e, j, t] = await interleave(contenders, timing);
  if (typeof peer !== 'string') await peer.request({ op: 'drop', id });
  console.error(`  done: targets ${kase}`);
  if (t === undefined) return [{ case: kase, measure: 'partax / PyTorch', unit: '×', skipped: NO_TORCH }, ratio(kase, j!, e!, 'partax (jit) / partax (eager)', undefined, { note: `jit vs eager: ${jitErr.toExponential(1)}` })];
  return [
    ratio(kase, e!, t, `partax (eager) / ${torchName}`, 2, { err: torchErr }),
    ratio(kase, j!, t, `partax (jit) / ${torchName}`, 2, { err: torchErr, note: `jit vs eager: ${jitErr.toExponential(1)}` }),
  ];
}

/**
 * Largest error of an Adam check: the losses (scaled error), then each parameter's total update
 * in relative L2 norm (see relL2Err: entries whose gradient is near ε differ by up to 0.2% of the
 * largest update between two correct float32 implementations).
 */
function adamErr(r: AdamCheck, ref: AdamCheck): number {
  let e = scaledErr(r.losses, ref.losses);
  if (r.updates.length !== ref.updates.length) return Infinity;
  r.updates.forEach((u, i) => (e = Math.max(e, relL2Err(u, ref.updates[i]!))));
  return e;
}

/** One Adam step at batch 100: partax eager and jit against torch.optim.Adam, and the host dispatches of a step. */
async function adamStep(peer: TorchPeer | string, timing: TimeOptions, torchName: string): Promise<TargetRow[]> {
  const batch = 100;
  const kase = `Adam step (fwd+bwd+update), batch ${batch}`;
  const p = mlpProblem(SIZES, batch);
  const eager = partaxAdamStep(p, LR);
  const jitted = partaxAdamStep(p, LR, { jit: true });
  const ref = eager.check(CHECK_STEPS);
  const jitErr = adamErr(jitted.check(CHECK_STEPS), ref);
  const contenders = [local('partax', eager.run), local('partax jit', jitted.run)];
  let torchErr: number | undefined;
  if (typeof peer !== 'string') {
    await peer.request({ op: 'setup', id: 'adam', case: 'adam', file: peer.problemFile(p), sizes: SIZES, batch, lr: LR, check_steps: CHECK_STEPS });
    const r = await peer.request<{ losses: number[]; updates: number[][] }>({ op: 'result', id: 'adam' });
    torchErr = adamErr({ losses: r.losses, updates: r.updates.map((u) => Float32Array.from(u)) }, ref);
    contenders.push(remote(peer, torchName, 'adam'));
  }
  const [e, j, t] = await interleave(contenders, timing);
  if (typeof peer !== 'string') await peer.request({ op: 'drop', id: 'adam' });
  const traces = `${jitted.traceCount!()} traces in ${jitted.calls!()} calls`;
  const tracesBefore = jitted.traceCount!();
  const jd = jitted.dispatches();
  const retraced = jitted.traceCount!() > tracesBefore;
  const dispatches: TargetRow[] = [
    {
      case: kase,
      measure: 'host dispatches of a jitted step',
      value: jd.step,
      unit: 'dispatches',
      target: 20,
      note: retraced
        ? `this call traced again: ${jd.step - jd.program!} dispatches while tracing, ${jd.program} dispatches of its compiled program (kernels, loops; a run of loops compiled into one call counts once)`
        : `${jd.program} dispatches of the compiled program (kernels, loops; a run of loops compiled into one call counts once)`,
    },
    { case: kase, measure: 'host dispatches of an eager step', value: eager.dispatches().step, unit: 'dispatches' },
  ];
  console.error(`  done: targets ${kase}`);
  if (t === undefined)
    return [{ case: kase, measure: 'partax / PyTorch', unit: '×', skipped: NO_TORCH }, ratio(kase, j!, e!, 'partax (jit) / partax (eager)', undefined, { note: traces }), ...dispatches];
  return [
    ratio(kase, e!, t, `partax (eager) / ${torchName}`, 2, { err: torchErr, note: `${CHECK_STEPS} steps checked (updates in relative L2)` }),
    ratio(kase, j!, t, `partax (jit) / ${torchName}`, 2, { err: torchErr, note: `${traces}; jit vs eager: ${jitErr.toExponential(1)}` }),
    ...dispatches,
  ];
}

/**
 * The order-3 summary at batch 1000: partax (eager, and under jit) against grnewt's compute_Hg and
 * against partax's own valueAndGrad (eager against eager, jit against jit).
 */
async function summary(peer: TorchPeer | string, timing: TimeOptions, torchName: string): Promise<TargetRow[]> {
  const batch = 1000;
  const kase = `summary order 3, batch ${batch}, canonical (S = 6)`;
  const p = mlpProblem(SIZES, batch);
  const grad = partaxMlp(p);
  const gradJit = partaxMlp(p, { jit: true });
  const u = grad.read(grad.step()).grads;
  const sum = partaxSummary('cpu-wasm')(p, u);
  const sumJit = partaxSummary('cpu-wasm', { jit: true })(p, u);
  const ref = (await sum.run()) as SummaryResult;
  const jitErr = summaryErr((await sumJit.run()) as SummaryResult, ref);
  const contenders = [
    local('partax summary', () => sum.run()),
    local('partax valueAndGrad', grad.step),
    local('partax summary (jit)', () => sumJit.run()),
    local('partax valueAndGrad (jit)', gradJit.step),
  ];
  const grnewt = typeof peer !== 'string' && peer.info.grnewt;
  let grnewtErr: number | undefined;
  if (grnewt) {
    const file = peer.problemFile(p, u);
    await peer.request({ op: 'setup', id: 'grnewt', case: 'grnewt', file, sizes: SIZES, batch, direction: true });
    await peer.request({ op: 'setup', id: 'mlp', case: 'mlp', file, sizes: SIZES, batch, direction: true });
    const r = await peer.request<{ loss: number; g: number[]; H: number[]; order3: number[] }>({ op: 'result', id: 'grnewt' });
    grnewtErr = summaryErr({ loss: r.loss, g: Float32Array.from(r.g), H: Float32Array.from(r.H), order3: Float32Array.from(r.order3) }, ref);
    contenders.push(remote(peer, 'grnewt compute_Hg', 'grnewt'), remote(peer, torchName, 'mlp'));
  }
  const [s, g, sj, gj, h, t] = await interleave(contenders, timing);
  if (grnewt) for (const id of ['grnewt', 'mlp']) await peer.request({ op: 'drop', id });
  console.error(`  done: targets ${kase}`);
  const jitNote = { note: `jit vs eager: ${jitErr.toExponential(1)}` };
  const own = [
    ratio(kase, s!, g!, 'partax summary / partax valueAndGrad', 5),
    ratio(kase, sj!, gj!, 'partax summary (jit) / partax valueAndGrad (jit)', 5, jitNote),
  ];
  if (h === undefined) {
    const why = typeof peer === 'string' ? NO_TORCH : `no grnewt: ${peer.info.grnewt_reason}`;
    return [{ case: kase, measure: 'partax / grnewt compute_Hg', unit: '×', skipped: why }, ...own];
  }
  const notes = (peer as TorchPeer).info.grnewt_notes.filter((n) => n.includes('materialize_grads'));
  const err = { err: grnewtErr, ...(notes.length ? { note: notes.join('; ') } : {}) };
  return [
    ratio(kase, s!, h, 'partax summary / grnewt compute_Hg', 1, err),
    ratio(kase, sj!, h, 'partax summary (jit) / grnewt compute_Hg', 1, { ...err, note: [err.note, jitNote.note].filter(Boolean).join('; ') }),
    ...own,
    ratio(kase, h, t!, `grnewt compute_Hg / ${torchName} fwd+bwd`, undefined, { note: "the paper's code against its own gradient" }),
  ];
}

/**
 * Two wasm threads against one (issue 10, item 7: the second thread is used only where it pays):
 * for each case, eager and under jit, partax on `threads` threads and on one, the thread count set
 * before each run and the runs interleaved, so both see the same load and neither follows only
 * the other's garbage. The threads split products where that measured faster (split-gate.ts).
 * Target ≤ 1×. Skipped on a one-core machine.
 */
export async function threadRows(threads: number, timing: TargetTiming): Promise<TargetRow[]> {
  const measure = `partax ${threads} threads / 1 thread`;
  const cases: [string, () => unknown, TimeOptions][] = [];
  for (const jit of [false, true]) {
    const how = jit ? ' (jit)' : ' (eager)';
    for (const batch of [100, 1000]) {
      const m = partaxMlp(mlpProblem(SIZES, batch), { jit });
      cases.push([`MLP ${SIZES.join('-')} fwd+bwd, batch ${batch}${how}`, m.step, timing.fast]);
    }
    const adam = partaxAdamStep(mlpProblem(SIZES, 100), LR, { jit });
    cases.push([`Adam step (fwd+bwd+update), batch 100${how}`, adam.run, timing.fast]);
    const p = mlpProblem(SIZES, 1000);
    const grad = partaxMlp(p);
    const sum = partaxSummary('cpu-wasm', { jit })(p, grad.read(grad.step()).grads);
    cases.push([`summary order 3, batch 1000, canonical (S = 6)${how}`, () => sum.run(), timing.slow]);
  }
  if (threads < 2) return cases.map(([kase]) => ({ case: kase, measure: '2 threads / 1 thread', unit: '×', skipped: 'one core: nothing to compare' }));
  const rows: TargetRow[] = [];
  for (const [kase, run, t] of cases) {
    const on = (n: number) => local(`${n} thread(s)`, () => (P.setWasmThreads(n), run()));
    const [many, one] = await interleave([on(threads), on(1)], t);
    rows.push(ratio(kase, many!, one!, measure, 1));
    console.error(`  done: threads ${kase}`);
  }
  P.setWasmThreads(1);
  return rows;
}

/**
 * Runs every target case on partax cpu-wasm with one thread (restored afterwards) and PyTorch
 * where it is installed; returns the rows and a line describing the peer (or why it is absent).
 */
export async function benchTargets(timing: TargetTiming): Promise<{ rows: TargetRow[]; peer: string; ceiling: CeilingRow[] }> {
  const backend = P.defaultBackend();
  const threads = P.wasmThreads();
  P.setBackend('cpu-wasm');
  P.setWasmThreads(1);
  const peer = await startTorchPeer();
  const torchName = typeof peer === 'string' ? 'PyTorch' : `PyTorch ${peer.info.torch}`;
  const describe =
    typeof peer === 'string'
      ? `PyTorch rows skipped: ${peer}`
      : `${torchName} (${peer.python}, Python ${peer.info.python}, ${peer.info.threads} thread, BLAS: ${peer.info.blas}); grnewt: ${
          peer.info.grnewt ? `from GRNEWT_ROOT=${process.env.GRNEWT_ROOT}${peer.info.grnewt_notes.length ? ` (${peer.info.grnewt_notes.join('; ')})` : ''}` : `skipped: ${peer.info.grnewt_reason}`
        }`;
  console.error(`targets: ${describe}`);
  try {
    const rows = [
      ...(await fwdBwd(peer, 100, timing.fast, torchName)),
      ...(await fwdBwd(peer, 1000, timing.fast, torchName)),
      ...(await adamStep(peer, timing.fast, torchName)),
      ...(await summary(peer, timing.slow, torchName)),
      ...(await threadRows(threads, timing === QUICK_TARGET_TIMING ? timing : THREAD_TIMING)),
    ];
    const torchStep = rows.find((r) => r.case.endsWith('batch 1000') && r.measure.startsWith('partax (jit) /'))?.times?.[1];
    const ceiling = await benchCeiling(peer, timing.fast, torchStep);
    console.error('  done: the arithmetic ceiling');
    return { rows, peer: describe, ceiling };
  } finally {
    if (typeof peer !== 'string') peer.close();
    P.setWasmThreads(threads);
    P.setBackend(backend);
  }
}

const HEAD = ['case', 'measure', 'value', 'median ms', 'target', 'met', 'runs', 'max err vs partax', 'note'];

function cells(r: TargetRow): string[] {
  if (r.skipped !== undefined) return [r.case, r.measure, 'skipped', '', '', '', '', '', r.skipped];
  const v = r.value!;
  const value = r.unit === '×' ? `${v.toFixed(2)}×` : String(v);
  const times = r.times ? `${fmt(r.times[0])} / ${fmt(r.times[1])}` : '';
  const target = r.target === undefined ? '' : r.unit === '×' ? `≤ ${r.target}×` : `≤ ${r.target}`;
  const met = r.target === undefined ? '' : v <= r.target ? 'yes' : 'no';
  const err = r.err === undefined ? '' : r.err.toExponential(1) + (r.err <= TOL ? '' : ' WRONG');
  return [r.case, r.measure, value, times, target, met, r.reps === undefined ? '' : String(r.reps), err, r.note ?? ''];
}

const fmt = (ms: number) => ms.toFixed(ms < 10 ? 2 : 1);

/** The targets as an aligned text table. */
export function targetsText(rows: readonly TargetRow[]): string {
  const body = rows.map(cells);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((c) => (i === HEAD.length - 1 ? 0 : c[i]!.length))));
  const line = (c: readonly string[]) => c.map((s, i) => (i >= 2 && i < HEAD.length - 1 ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(HEAD), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The targets as a markdown table. */
export function targetsMarkdown(rows: readonly TargetRow[]): string {
  const out = [`| ${HEAD.join(' | ')} |`, `|${HEAD.map((_, i) => (i >= 2 && i < HEAD.length - 1 ? ' ---: ' : ' --- ')).join('|')}|`];
  for (const r of rows) out.push(`| ${cells(r).map((s) => s.replaceAll('|', '\\|')).join(' | ')} |`);
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv.includes('--threads-only')) {
  P.setBackend('cpu-wasm');
  const rows = await threadRows(P.wasmThreads(), process.argv.includes('--quick') ? QUICK_TARGET_TIMING : THREAD_TIMING);
  console.log(targetsText(rows));
  process.exit(0);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const { rows, peer, ceiling } = await benchTargets(process.argv.includes('--quick') ? QUICK_TARGET_TIMING : TARGET_TIMING);
  console.log(`${peer}\n`);
  console.log(targetsText(rows));
  console.log('\nMarkdown:\n');
  console.log(targetsMarkdown(rows));
  console.log(`\nThe arithmetic ceiling (one thread, interleaved):\n\n${ceilingMarkdown(ceiling)}`);
  process.exit(0);
}
