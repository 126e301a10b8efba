/**
 * Case: eager vs `jit` on partax's CPU backends. Runnable alone:
 *
 *     node --import tsx bench/cases/jit.ts [--quick] [--backend=cpu|cpu-wasm]
 *
 * - MLP 784-200-100-10 tanh, log-softmax + NLL, valueAndGrad (forward + backward), float32, batch
 *   100 (and 1000 without --quick): eager `valueAndGrad(loss)` against `jit(valueAndGrad(loss))`,
 *   and against `valueAndGrad(jit(loss))` (batch 100).
 * - A long elementwise chain over 10⁶ float32 elements: eager (one kernel and one buffer per op)
 *   against jit (one fused loop).
 *
 * Eager and jit runs are interleaved (alternating which goes first), so both see the same machine
 * load; the table shows median and minimum wall times, the median CPU time (user + system) per run,
 * the speedup of the medians, and the largest scaled difference between the two results.
 */
import * as P from '../../src/index.js';
import { jit } from '../../src/jit/jit.js';
import { median, mlpProblem, scaledErr } from '../harness.js';
import { mlpLoss, mlpTensors } from '../partax.js';

type F32 = P.Tensor<'float32'>;

/** Timings of one implementation: median and minimum wall time, median CPU time (ms). */
export interface Times {
  readonly medianMs: number;
  readonly minMs: number;
  readonly cpuMs: number;
}

/** One row of the jit table. */
export interface JitRow {
  readonly case: string;
  readonly backend: string;
  readonly eager: Times;
  readonly jit: Times;
  /** Eager median over jit median. */
  readonly speedup: number;
  /** Largest scaled difference between the eager and jit results (0: bitwise equal). */
  readonly err: number;
  readonly reps: number;
}

/** A case: two functions computing the same arrays. */
interface Pair {
  readonly label: string;
  readonly eager: () => Float32Array[];
  readonly jitted: () => Float32Array[];
}

/**
 * valueAndGrad of the MLP loss, eager against `jit(valueAndGrad(loss))`, or with `inner` against
 * `valueAndGrad(jit(loss))` (the jvp/transpose rules of jit_call); results are the loss then every gradient.
 */
function mlpPair(batch: number, inner = false): Pair {
  const { params, x, labels, layers } = mlpTensors(mlpProblem([784, 200, 100, 10], batch));
  const loss = (ps: Record<string, F32>, xb: F32, yb: P.Tensor<'int32'>) => mlpLoss(ps, xb, yb, layers);
  const vg = P.valueAndGrad(loss);
  const jvg = inner ? P.valueAndGrad(jit(loss)) : jit(vg);
  const collect = ([l, g]: [F32, Record<string, F32>]): Float32Array[] => [l.dataSync(), ...Object.keys(g).sort().map((k) => g[k]!.dataSync())];
  return {
    label: `MLP 784-200-100-10 tanh fwd+bwd, batch ${batch}, f32${inner ? ': valueAndGrad(jit(loss))' : ''}`,
    eager: () => collect(vg(params, x, labels) as [F32, Record<string, F32>]),
    jitted: () => collect(jvg(params, x, labels) as [F32, Record<string, F32>]),
  };
}

/**
 * A chain of elementwise ops of the kind an activation-heavy layer or an optimizer update makes:
 * four rounds of mul, add, mul, mul, sub, abs, add, div, maximum, then tanh.
 */
export function chain(x: F32, y: F32): F32 {
  let h = x;
  for (let i = 0; i < 4; i++) {
    h = P.add(P.mul(h, 1.5), y);
    h = P.sub(P.mul(h, h), P.mul(y, 0.25));
    h = P.div(h, P.add(P.abs(y), 1));
    h = P.maximum(h, y);
  }
  return P.tanh(h);
}

function chainPair(n: number): Pair {
  const x = P.fromBuffer(Float32Array.from({ length: n }, (_, i) => Math.sin(i)), 'float32', [n]);
  const y = P.fromBuffer(Float32Array.from({ length: n }, (_, i) => Math.cos(0.5 * i)), 'float32', [n]);
  const jc = jit(chain);
  const { stats } = jc.lower(x, y);
  return {
    label: `elementwise chain (${stats.elementwise} ops → ${stats.loops} loop), 10^6 f32`,
    eager: () => [chain(x, y).dataSync()],
    jitted: () => [jc(x, y).dataSync()],
  };
}

/** Options: untimed warm-up runs of each, then rounds (one run of each) until both bounds are met. */
export interface PairTiming {
  readonly warmup: number;
  readonly minRounds: number;
  readonly maxRounds: number;
  readonly budgetMs: number;
}

/** Times a pair with interleaved runs. */
export function timePair(pair: Pair, t: PairTiming): { eager: Times; jit: Times; err: number; reps: number } {
  let e = pair.eager();
  let j = pair.jitted();
  for (let i = 1; i < t.warmup; i++) {
    pair.eager();
    pair.jitted();
  }
  const wall: [number[], number[]] = [[], []];
  const cpu: [number[], number[]] = [[], []];
  const fns = [pair.eager, pair.jitted];
  const start = performance.now();
  for (let r = 0; r < t.maxRounds && (r < t.minRounds || performance.now() - start < t.budgetMs); r++) {
    for (const k of r % 2 ? [1, 0] : [0, 1]) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const out = fns[k]!();
      wall[k]!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[k]!.push((c.user + c.system) / 1000);
      if (k === 0) e = out;
      else j = out;
    }
  }
  const times = (k: 0 | 1): Times => ({ medianMs: median(wall[k]), minMs: Math.min(...wall[k]), cpuMs: median(cpu[k]) });
  let err = 0;
  e.forEach((a, i) => (err = Math.max(err, scaledErr(j[i]!, a))));
  return { eager: times(0), jit: times(1), err, reps: wall[0].length };
}

/** Times every case on the current default backend. */
export function benchJit(timing: PairTiming, batches: readonly number[] = [100]): JitRow[] {
  const backend = P.defaultBackend();
  const pairs = [...batches.map((b) => mlpPair(b)), mlpPair(batches[0]!, true), chainPair(1_000_000)];
  return pairs.map((pair) => {
    const r = timePair(pair, timing);
    console.error(`  done: ${pair.label} on ${backend}`);
    return { case: pair.label, backend, ...r, speedup: r.eager.medianMs / r.jit.medianMs };
  });
}

/** The rows as a markdown table. */
export function jitTable(rows: readonly JitRow[]): string {
  const ms = (t: Times) => `${t.medianMs.toFixed(2)} (min ${t.minMs.toFixed(2)}, cpu ${t.cpuMs.toFixed(2)})`;
  const lines = [
    '| case | backend | eager ms: median (min, cpu) | jit ms: median (min, cpu) | speedup | max scaled diff | rounds |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows)
    lines.push(`| ${r.case} | ${r.backend} | ${ms(r.eager)} | ${ms(r.jit)} | ${r.speedup.toFixed(2)}× | ${r.err.toExponential(1)} | ${r.reps} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--backend='))?.slice('--backend='.length);
  const timing: PairTiming = quick ? { warmup: 3, minRounds: 5, maxRounds: 15, budgetMs: 1500 } : { warmup: 5, minRounds: 15, maxRounds: 60, budgetMs: 6000 };
  const rows: JitRow[] = [];
  for (const b of only ? [only] : ['cpu', 'cpu-wasm']) {
    try {
      P.setBackend(b);
    } catch (e) {
      console.error(`bench jit: backend ${b} unavailable (${e instanceof Error ? e.message : String(e)}); skipped`);
      continue;
    }
    rows.push(...benchJit(timing, quick ? [100] : [100, 1000]));
  }
  console.log(jitTable(rows));
}
