/**
 * The bench harness: what an implementation must provide, deterministic inputs, and timing.
 * Every implementation (partax and each peer) gets the very same Float32Array inputs, and its
 * runners return plain typed arrays, so results can be checked against each other.
 */

/** A prepared computation: `run()` does the work and returns its result on the host (forcing any lazy or async work). */
export interface Runner<T> {
  run(): T | Promise<T>;
  /** Frees what the runner holds (peers with manual memory management). */
  dispose?(): void;
}

/** The MLP problem: a 784-200-100-10 tanh network, log-softmax + NLL loss, one batch. */
export interface MlpProblem {
  readonly sizes: readonly number[];
  readonly batch: number;
  /** Weights [in, out] row-major and biases [out], layer by layer: w1, b1, w2, b2, … */
  readonly params: readonly Float32Array[];
  /** Inputs [batch, sizes[0]]. */
  readonly x: Float32Array;
  /** Class labels [batch], in [0, sizes[last]). */
  readonly labels: Int32Array;
}

/** The loss and its gradient with respect to every parameter (same order as `MlpProblem.params`). */
export interface MlpResult {
  readonly loss: number;
  readonly grads: readonly Float32Array[];
}

/** One implementation under test: partax, or a peer library on one of its backends. */
export interface Impl {
  /** Shown in the tables, e.g. "tfjs (wasm)". */
  readonly name: string;
  /** Makes this implementation current (peers with global backend state switch to theirs). */
  activate?(): Promise<void>;
  /** C = A·B for square float32 matrices of side `n`. */
  matmul(a: Float32Array, b: Float32Array, n: number): Runner<Float32Array>;
  /** valueAndGrad of the MLP loss with respect to its parameters. */
  mlp(p: MlpProblem): Runner<MlpResult>;
  /**
   * The order-3 partition summary of the MLP loss along `u` (one Float32Array per parameter, same
   * layout as `MlpProblem.params`) for the canonical partition; absent where the implementation
   * has none. Throws (with the reason) where the library cannot express it.
   */
  summary?(p: MlpProblem, u: readonly Float32Array[]): Runner<SummaryResult>;
}

/**
 * The order-3 partition summary for the canonical partition (group s = parameter tensor s, S of
 * them): with ψ(η) = L(θ + Σ_s η_s·u_s), the loss L(θ), ḡ = ∇ψ(0) [S], H̄ = ∇²ψ(0) [S×S, row-major]
 * and order3[s] = ∂³ψ/∂η_s³(0) [S]. The sign follows partax's `summary` (θ + U·I·η).
 */
export interface SummaryResult {
  readonly loss: number;
  readonly g: Float32Array;
  readonly H: Float32Array;
  readonly order3: Float32Array;
}

/** A small deterministic PRNG (mulberry32), so every run and every implementation sees the same data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` values uniform in [-scale, scale). */
export function uniform(seed: number, n: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * r() - 1) * scale;
  return out;
}

/** The MLP problem with Glorot-uniform weights, zero biases, uniform inputs and cyclic labels. */
export function mlpProblem(sizes: readonly number[] = [784, 200, 100, 10], batch = 100, seed = 7): MlpProblem {
  const params: Float32Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l]!;
    const fanOut = sizes[l + 1]!;
    params.push(uniform(seed + 2 * l, fanIn * fanOut, Math.sqrt(6 / (fanIn + fanOut))));
    params.push(uniform(seed + 2 * l + 1, fanOut, 0.1));
  }
  const classes = sizes[sizes.length - 1]!;
  const r = rng(seed + 1000);
  const labels = Int32Array.from({ length: batch }, () => Math.floor(r() * classes));
  return { sizes, batch, params, x: uniform(seed + 999, batch * sizes[0]!), labels };
}

/**
 * Options of {@link time}: `warmup` untimed runs (and more, up to `warmupMs` of them, see
 * {@link time}), then between `minReps` and `maxReps` timed runs, stopping once `budgetMs` is spent.
 */
export interface TimeOptions {
  readonly warmup: number;
  readonly minReps: number;
  readonly maxReps: number;
  readonly budgetMs: number;
  /** Warm-up runs continue until this much time has passed (default 0: `warmup` runs only). */
  readonly warmupMs?: number;
}

export const DEFAULT_TIMING: TimeOptions = { warmup: 2, minReps: 5, maxReps: 30, budgetMs: 3000 };

/**
 * Timing of one runner: the median and minimum wall time of the timed runs (ms), the median CPU
 * time of this process per run (user + system, all threads: less sensitive than wall time to other
 * processes on a shared machine), how many runs there were, and the last result.
 */
export interface Timing<T> {
  readonly medianMs: number;
  readonly cpuMs: number;
  readonly minMs: number;
  readonly reps: number;
  readonly result: T;
}

/**
 * Warms `runner` up, then times repeated runs and returns their median. The first run is cold
 * (V8 compiling, caches, worker threads starting, the split gate's first measurements) and is only
 * a warm-up; the second (untimed too) classifies the runner: a slow one (over a fifth of the
 * budget) gets no more warm-up and at least 3 timed runs, one over the whole budget a single timed
 * run (as does one whose first run is, with no second), so the whole bench stays within a few
 * minutes; the others get `warmup` runs in all, continued until `warmupMs` have passed.
 *
 * A case's first implementation pays for compiling the case's code (V8 optimizes a fresh
 * process's eager MLP step over its first ~1 s) and, on two threads, for the split gate's first
 * measurements: with one warm-up run, partax on two threads, the table's first row, read 1.3–1.7×
 * its one-thread row on the MLP; with 1.5 s, 0.64–1.11× over two runs (the rows of a case are not
 * interleaved, so this VM's slow and fast phases still show in them).
 *
 * Between runs the event loop turns once, untimed, as in a training loop that awaits its loss:
 * that is where finalizers return the memory of the run's garbage (cpu-wasm regions, GPU
 * buffers); a loop of runs that never yields would time, after the first forced collection,
 * tensors that no longer fit in the wasm memory's cap.
 */
export async function time<T>(runner: Runner<T>, opts: TimeOptions = DEFAULT_TIMING): Promise<Timing<T>> {
  const w0 = performance.now();
  let result = await runner.run();
  const first = performance.now() - w0;
  await nextTurn();
  // a first run over the whole budget: one timed run only, right away (the row shows runs = 1)
  let runMs = first;
  if (first <= opts.budgetMs) {
    const t1 = performance.now();
    result = await runner.run();
    runMs = performance.now() - t1;
    await nextTurn();
  }
  const slow = runMs > opts.budgetMs / 5;
  const minReps = runMs > opts.budgetMs ? 1 : slow ? Math.min(3, opts.minReps) : opts.minReps;
  if (!slow)
    for (let i = 2; i < opts.warmup || performance.now() - w0 < (opts.warmupMs ?? 0); i++) {
      await runner.run();
      await nextTurn();
    }
  const times: number[] = [];
  const cpu: number[] = [];
  const start = performance.now();
  while (times.length < opts.maxReps && (times.length < minReps || performance.now() - start < opts.budgetMs)) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    result = await runner.run();
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    await nextTurn(); // untimed (see the comment above)
  }
  return { medianMs: median(times), cpuMs: median(cpu), minMs: Math.min(...times), reps: times.length, result };
}

/** One turn of the event loop (a macrotask: finalizers posted by a collection run before it). */
const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** max|a−b| / max|b| over two arrays of equal length: the error relative to b's scale (Infinity on a length mismatch or a NaN). */
export function scaledErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!);
    if (!(e <= err)) err = Number.isNaN(e) ? Infinity : e;
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? err : err / scale;
}

/**
 * ‖a−b‖₂ / ‖b‖₂ (Infinity on a length mismatch or a NaN): the error for results where a few
 * entries are ill-conditioned, such as Adam's updates, whose normalisation g/(|g|+ε) turns float32
 * differences in gradients near ε into large differences in those entries only.
 */
export function relL2Err(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  const e = den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
  return Number.isNaN(e) ? Infinity : e;
}

/** The wall and CPU time of one run (ms), as the contender measured it. */
export interface RunTime {
  readonly ms: number;
  readonly cpuMs: number;
}

/**
 * One contender of {@link interleave}: `run()` does one run and reports its own time (a partax
 * run timed here with {@link timeLocal}, a peer's run timed inside its process).
 */
export interface Contender {
  readonly name: string;
  run(): Promise<RunTime>;
}

/** The timing of one contender over the rounds of {@link interleave}. */
export interface RoundTiming {
  readonly name: string;
  readonly medianMs: number;
  readonly minMs: number;
  readonly cpuMs: number;
  readonly reps: number;
}

/**
 * Times `f` in this process and one turn of the event loop after it, as one step of a training
 * loop that awaits once per step (`partax train` does): the turn is where the finalizers of the
 * step's garbage run, returning its wasm memory to the heap. Without it a run of eager steps never
 * reaches them, and times the copying fallback of a loop that never yields. Returns wall time and
 * this process's CPU time (user + system, all threads).
 */
export async function timeLocal(f: () => unknown): Promise<RunTime> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  await nextTurn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000 };
}

/** A contender of {@link interleave} that runs `f` in this process, timed with {@link timeLocal}. */
export const local = (name: string, f: () => unknown): Contender => ({ name, run: () => timeLocal(f) });

/**
 * Interleaved timing: `opts.warmup` untimed runs of each contender, then rounds of one run of
 * each, the order rotating from round to round, between `minReps` and `maxReps` rounds, stopping
 * once `budgetMs` is spent. On a noisy machine the contenders see the same load, so the ratio of
 * their medians means more than that of two separate timings.
 */
export async function interleave(contenders: readonly Contender[], opts: TimeOptions): Promise<RoundTiming[]> {
  for (let i = 0; i < opts.warmup; i++) for (const c of contenders) await c.run();
  const times = contenders.map((): RunTime[] => []);
  const start = performance.now();
  for (let r = 0; r < opts.maxReps && (r < opts.minReps || performance.now() - start < opts.budgetMs); r++)
    for (let k = 0; k < contenders.length; k++) {
      const i = (r + k) % contenders.length;
      times[i]!.push(await contenders[i]!.run());
    }
  return contenders.map((c, i) => {
    const ts = times[i]!;
    return { name: c.name, medianMs: median(ts.map((t) => t.ms)), minMs: Math.min(...ts.map((t) => t.ms)), cpuMs: median(ts.map((t) => t.cpuMs)), reps: ts.length };
  });
}
