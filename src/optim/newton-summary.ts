import type { Tensor } from '../core/tensor.js';
import { scaleGroups } from '../summary/displace.js';
import { summary } from '../summary/summary.js';
import { type CompiledPartition, type Partition, partitionCompiler } from '../summary/partition.js';
import { nesterovLrs, type NesterovResult } from './nesterov.js';
import { newtonLrs } from './newton-lrs.js';
import { traceMomentum } from './momentum.js';
import { type GradientTransformation, transformation } from './transformation.js';

/**
 * NewtonSummary (Wolinski 2023): an inner transformation proposes a direction u (by default the
 * PyTorch momentum buffer); every `periodHg` steps the summary (ḡ, H̄, order3) of the loss along u
 * is computed on an "hg" batch and the per-group learning rates η are chosen by Newton's method on
 * the summary, regularised by the anisotropic Nesterov cubic scheme
 *     η = (H̄ + λ_int/2·‖Dη‖·D²)⁻¹ ḡ,   D = diag(|order3|^{1/3});
 * then optionally clipped at 0 (`removeNegative`), averaged over time (`momLrs`) and damped (λ₁);
 * the step is θ ← θ − U·I·η: the updates are −η_s·u on the elements of group s.
 */

/** Options of {@link newtonSummary}. */
export interface NewtonSummaryOptions {
  /** The partition of the parameters, or a builder (e.g. `partition.canonical`). */
  readonly partition: Partition | ((params: unknown) => Partition);
  /** The transformation proposing the direction (default: torch momentum 0.9, dampening 0.9). */
  readonly direction?: GradientTransformation<any, any>;
  /** λ₁: the global damping multiplying the learning rates (default 1). */
  readonly damping?: number;
  /** λ_int: the Nesterov cubic regularisation strength; undefined = no cubic term (plain Newton with `ridge`). */
  readonly dampingInt?: number;
  /** Recompute the summary every `periodHg` steps (default 1). */
  readonly periodHg?: number;
  /** Moving-average factor of the learning rates across hg steps (default 0). */
  readonly momLrs?: number;
  /** Clip negative learning rates to 0 (default false). */
  readonly removeNegative?: boolean;
  /** Average the raw (unclipped) rates and clip after averaging (default false: clip, then average). */
  readonly maintainTrueLrs?: boolean;
  /** Plain Newton on the summary: η = H̄⁻¹ḡ, ignoring `dampingInt` and `ridge`. */
  readonly noRegul?: boolean;
  /** Ridge added to H̄ when the cubic term is off (default 0). */
  readonly ridge?: number;
  /** Use only the diagonal of H̄ (default false). */
  readonly diagonal?: boolean;
}

/** The extra argument NewtonSummary needs: the loss and the batch its summary is computed on. */
export interface NewtonSummaryExtra<P = any, B extends readonly unknown[] = any[]> {
  readonly loss: (params: P, ...batch: B) => Tensor;
  readonly hgBatch: B;
}

/** What one hg step computed, kept in the state for plots and diagnostics. */
export interface HgRecord {
  readonly step: number;
  readonly loss: number;
  readonly H: number[][];
  readonly g: number[];
  readonly order3: number[];
  /** The learning rates before clipping, averaging and damping. */
  readonly lrsRaw: number[];
  readonly found: boolean;
  /** ‖Dη‖ at the Nesterov solution (null without the cubic term or when not found). */
  readonly r: number | null;
  /** How the solve went: 'Direct_Hpd' | 'Analytical' | 'Numer_conv' | 'Numer_dvx1' | 'newton' | 'not_found'. */
  readonly branch: string;
  /** Why no rates were found, or warnings (singular / ill-conditioned H̄). */
  readonly notes: readonly string[];
}

/** State of {@link newtonSummary}. */
export interface NewtonSummaryState {
  readonly count: number;
  readonly direction: unknown;
  /** The moving average of the (clipped) raw learning rates. */
  readonly currLrs: readonly number[] | null;
  /** The learning rates in force: λ₁ · currLrs, one per group. */
  readonly lrs: readonly number[];
  /** The latest hg step's record (null before the first). */
  readonly last: HgRecord | null;
}

/** The summary's tensors an hg step reads on the host. */
interface SummaryTensors {
  readonly g: Tensor;
  readonly H: Tensor;
  readonly order3: Tensor | null;
  readonly loss: Tensor;
}

/** Their values: H row-major [S·S], g and order3 [S] (null when not computed), the loss. */
interface SummaryValues {
  readonly g: ArrayLike<number>;
  readonly H: ArrayLike<number>;
  readonly order3: ArrayLike<number> | null;
  readonly loss: number;
}

const readSync = (s: SummaryTensors): SummaryValues => ({ g: s.g.dataSync(), H: s.H.dataSync(), order3: s.order3?.dataSync() ?? null, loss: s.loss.dataSync()[0]! });

const readAsync = async (s: SummaryTensors): Promise<SummaryValues> => {
  const [g, H, order3, loss] = await Promise.all([s.g.data(), s.H.data(), s.order3?.data() ?? null, s.loss.data()]);
  return { g, H, order3, loss: loss[0]! };
};

/** An update that yields the tensors it must read and resumes with their values. */
type UpdateSteps<S> = Generator<SummaryTensors, readonly [unknown, S], SummaryValues>;

/** Runs an update generator, reading each yielded summary synchronously. */
function runSync<S>(it: UpdateSteps<S>): readonly [unknown, S] {
  let r = it.next();
  while (!r.done) r = it.next(readSync(r.value));
  return r.value;
}

/** Runs an update generator, awaiting each yielded summary's values (device tensors). */
async function runAsync<S>(it: UpdateSteps<S>): Promise<readonly [unknown, S]> {
  let r = it.next();
  while (!r.done) r = it.next(await readAsync(r.value));
  return r.value;
}

/** −η_s · u on the elements of group s, leaf by leaf: the step −U·I·η (with `sign` = −1). */
export const scaleByGroups = (u: unknown, lrs: readonly number[], cp: CompiledPartition, sign = -1): unknown =>
  scaleGroups('newtonSummary', u, cp, lrs.map((v) => sign * v));

/**
 * The NewtonSummary optimizer as a gradient transformation. `update(grads, state, params, extra)`
 * needs `params` and `extra = { loss, hgBatch }` (the loss on an hg batch).
 *
 *     const opt = newtonSummary({ partition: partition.canonical, damping: 0.1, dampingInt: 10 });
 *     let state = opt.init(params);
 *     const [updates, next] = opt.update(g, state, params, { loss, hgBatch: [x, y] });
 */
export function newtonSummary(opts: NewtonSummaryOptions): GradientTransformation<NewtonSummaryState, NewtonSummaryExtra> {
  const direction = opts.direction ?? traceMomentum({ momentum: 0.9, dampening: 0.9 });
  const damping = opts.damping ?? 1;
  const period = opts.periodHg ?? 1;
  const momLrs = opts.momLrs ?? 0;
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`newtonSummary: periodHg must be a positive integer, got ${period}`);
  if (!(momLrs >= 0 && momLrs < 1)) throw new RangeError(`newtonSummary: momLrs must be in [0, 1), got ${momLrs}`);
  if (opts.dampingInt !== undefined && !(opts.dampingInt >= 0)) throw new RangeError(`newtonSummary: dampingInt must be ≥ 0, got ${opts.dampingInt}`);
  // compiled once per parameter structure: the params are a new object every step
  const partitionFor = partitionCompiler(opts.partition);
  /** One update; it yields the summary it must read on the host (synchronously or not, see the drivers). */
  function* steps(grads: unknown, state: NewtonSummaryState, params: unknown, extra: NewtonSummaryExtra | undefined): UpdateSteps<NewtonSummaryState> {
    if (params === undefined) throw new TypeError('newtonSummary: update needs the current params (third argument)');
    if (!extra || typeof extra.loss !== 'function' || !Array.isArray(extra.hgBatch))
      throw new TypeError('newtonSummary: update needs extra = { loss: (params, ...batch) => Tensor, hgBatch: [...] } (the loss on the hg batch)');
    const cp = partitionFor(params);
    const [u, dirState] = direction.update(grads, state.direction, params);
    let { currLrs, lrs, last } = state;
    if (state.count % period === 0) {
      const useCubic = !opts.noRegul && opts.dampingInt !== undefined;
      const s = summary((p: unknown) => extra.loss(p, ...extra.hgBatch), params, u, cp, { order: useCubic ? 3 : 2 });
      const S = cp.size;
      const v: SummaryValues = yield { g: s.g, H: s.H!, order3: s.order3 ?? null, loss: s.loss };
      let H = Array.from({ length: S }, (_, i) => Array.from({ length: S }, (_, j) => v.H[i * S + j]!));
      if (opts.diagonal) H = H.map((r, i) => r.map((x, j) => (i === j ? x : 0)));
      const g = Array.from(v.g);
      const order3 = v.order3 ? Array.from(v.order3) : new Array<number>(S).fill(0);
      const bad = [...H.flat(), ...g, ...order3].findIndex((x) => !Number.isFinite(x));
      if (bad >= 0)
        throw new RangeError(
          `newtonSummary: the summary at step ${state.count} has non-finite entries (loss ${v.loss}): the loss or the parameters diverged; lower the damping λ₁ or raise dampingInt`,
        );
      let raw: number[];
      let found: boolean;
      let r: number | null = null;
      let branch: string;
      const notes: string[] = [];
      if (useCubic) {
        const res: NesterovResult = nesterovLrs(H, g, order3, opts.dampingInt!);
        found = res.found;
        r = res.found ? res.r : null;
        branch = res.x0Computation;
        if (res.reason) notes.push(res.reason);
        if (res.warnings) notes.push(...res.warnings);
        raw = res.found && res.lrs ? res.lrs : new Array<number>(S).fill(0);
      } else {
        const res = newtonLrs(H, g, opts.noRegul ? 0 : (opts.ridge ?? 0));
        found = res.found;
        branch = 'newton';
        notes.push(...res.notes);
        raw = res.lrs ?? new Array<number>(S).fill(0);
      }
      const m = state.count > 0 && currLrs !== null ? momLrs : 0;
      const clip = (v: number[]) => (opts.removeNegative ? v.map((x) => Math.max(x, 0)) : v);
      const avg = (v: number[]) => v.map((x, i) => (1 - m) * x + m * (currLrs?.[i] ?? 0));
      let effective: number[];
      if (opts.maintainTrueLrs) {
        const averaged = avg(raw);
        currLrs = averaged;
        effective = clip(averaged);
      } else {
        const averaged = avg(clip(raw));
        currLrs = averaged;
        effective = averaged;
      }
      lrs = effective.map((x) => damping * x);
      last = { step: state.count, loss: v.loss, H, g, order3, lrsRaw: raw, found, r, branch, notes };
    }
    const updates = scaleByGroups(u, lrs, cp, -1);
    return [updates, { count: state.count + 1, direction: dirState, currLrs, lrs, last }];
  }
  return transformation<NewtonSummaryState, NewtonSummaryExtra>(
    (params) => {
      const S = partitionFor(params).size;
      return { count: 0, direction: direction.init(params), currLrs: null, lrs: new Array(S).fill(0), last: null };
    },
    (grads, state, params, extra) => runSync(steps(grads, state, params, extra)),
    (grads, state, params, extra) => runAsync(steps(grads, state, params, extra)),
  );
}

