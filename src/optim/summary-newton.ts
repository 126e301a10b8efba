import type { Tensor } from '../core/tensor.js';
import { scaleGroups } from '../summary/displace.js';
import { type Summary, summary } from '../summary/summary.js';
import { jit, type Jitted } from '../jit/jit.js';
import { type CompiledPartition, type Partition, partitionCompiler } from '../summary/partition.js';
import { nesterovLrs, type NesterovResult } from './nesterov.js';
import { newtonLrs } from './newton-lrs.js';
import { type ScalarOrSchedule, valueAt } from './schedule.js';
import { readHost, type Steps } from './steps.js';
import { fromSteps, type GradientTransformation } from './transformation.js';

/**
 * The learning-rate half of NewtonSummary (Wolinski 2023), as one transformation: its input
 * updates are the direction u (proposed by whatever precedes it in a chain); every `periodHg`
 * steps it computes the summary (ḡ, H̄, order3) of the loss along u on an "hg" batch and chooses
 * the per-group learning rates η by Newton's method on the summary, regularised by the anisotropic
 * Nesterov cubic scheme
 *     η = (H̄ + λ_int/2·‖Dη‖·D²)⁻¹ ḡ,   D = diag(|order3|^{1/3});
 * then optionally bounds them to a trust region ‖Dη‖ ≤ Δ (`trustRadius`), removes negative rates
 * (`negativeLrs`: clipped to 0 or replaced by |η|), averages them over time (`momLrs`) and damps
 * them (λ₁, a number or a schedule over the steps). Its output is the step −U·I·η: −η_s·u on the
 * elements of group s. The hg batch comes through `extra`, as a batch or as a function it calls
 * on its hg steps only, so the training loop needs to know nothing of its schedule.
 */

/** Options of {@link scaleBySummaryNewton}. */
export interface ScaleBySummaryNewtonOptions {
  /** The partition of the parameters, or a builder (e.g. `partition.canonical`). */
  readonly partition: Partition | ((params: unknown) => Partition);
  /**
   * λ₁: the global damping multiplying the learning rates (default 1), or a schedule of it over the
   * steps (`linearSchedule(0.1, 0.5, 200)`…): the rates in force at step t are λ₁(t)·η̄, with η̄ the
   * averaged rates of the latest hg step.
   */
  readonly damping?: ScalarOrSchedule;
  /** λ_int: the Nesterov cubic regularisation strength; undefined = no cubic term (plain Newton with `ridge`). */
  readonly dampingInt?: number;
  /** Recompute the summary every `periodHg` steps (default 1). */
  readonly periodHg?: number;
  /** Moving-average factor of the learning rates across hg steps (default 0). */
  readonly momLrs?: number;
  /** Clip negative learning rates to 0 (default false); the same as `negativeLrs: 'clip'`. */
  readonly removeNegative?: boolean;
  /**
   * What becomes of a negative rate η_s < 0 (after the trust region, before averaging): 'keep' it
   * (default, unless `removeNegative`), 'clip' it to 0 (the paper's `remove_negative`), or take
   * 'abs', |η_s| (move along −u in that group, as far as the model said to move along +u).
   */
  readonly negativeLrs?: NegativeLrs;
  /**
   * Δ, a trust region on the solver's rates: η ← η·min(1, Δ/‖Dη‖) with D = diag(|order3|^{1/3}),
   * the cubic scheme's norm (the summary is computed to order 3 for it, with or without the cubic
   * term). Default: none.
   */
  readonly trustRadius?: number;
  /** Average the raw (unclipped) rates and clip after averaging (default false: clip, then average). */
  readonly maintainTrueLrs?: boolean;
  /** Plain Newton on the summary: η = H̄⁻¹ḡ, ignoring `dampingInt` and `ridge`. */
  readonly noRegul?: boolean;
  /** Ridge added to H̄ when the cubic term is off (default 0). */
  readonly ridge?: number;
  /** Use only the diagonal of H̄ (default false). */
  readonly diagonal?: boolean;
  /**
   * Compute the summary as one compiled program, `jit((θ, u, …batch) => summary(…))`, traced once
   * per loss function, partition, order and signature (parameter and batch shapes), about half the
   * eager CPU time at batch 1000 (default false: eager). Under jit's rule the loss must depend on
   * tensors only through its arguments: tensors it closes over are captured at its first trace.
   */
  readonly jitSummary?: boolean;
}

/**
 * The extra argument NewtonSummary needs: the loss, and the batch its summary is computed on —
 * the batch itself (the loss's arguments after the parameters), or a function returning it, which
 * is called on hg steps only (a training loop passes its hg loader's next batch this way).
 *
 *     { loss, hgBatch: [x, y] }
 *     { loss, hgBatch: () => { const b = hg.at(pos); pos = hg.next(pos); return [b.x, b.y]; } }
 */
export interface NewtonSummaryExtra<P = any, B extends readonly unknown[] = any[]> {
  readonly loss: (params: P, ...batch: B) => Tensor;
  readonly hgBatch: B | (() => B);
}

/** What {@link ScaleBySummaryNewtonOptions.negativeLrs} does with a negative learning rate. */
export type NegativeLrs = 'keep' | 'clip' | 'abs';

/** The treatment of negative rates named by the options (`removeNegative` is `negativeLrs: 'clip'`). */
function negativeTreatment(opts: ScaleBySummaryNewtonOptions): NegativeLrs {
  const { removeNegative, negativeLrs } = opts;
  if (negativeLrs !== undefined && !['keep', 'clip', 'abs'].includes(negativeLrs))
    throw new RangeError(`newtonSummary: negativeLrs must be 'keep', 'clip' or 'abs', got ${JSON.stringify(negativeLrs)}`);
  if (removeNegative !== undefined && negativeLrs !== undefined && removeNegative !== (negativeLrs !== 'keep'))
    throw new RangeError(`newtonSummary: removeNegative ${removeNegative} contradicts negativeLrs '${negativeLrs}' (give one of them)`);
  return negativeLrs ?? (removeNegative ? 'clip' : 'keep');
}

/** η with each negative rate treated as `how` says (NaN stays NaN, for the divergence check to see). */
export function treatNegative(eta: readonly number[], how: NegativeLrs): number[] {
  return eta.map((x) => (x < 0 && how !== 'keep' ? (how === 'clip' ? 0 : -x) : x));
}

/** η scaled back onto the trust region ‖Dη‖ ≤ Δ, D = diag(|order3|^{1/3}); unchanged inside it. */
export function trustRegion(eta: readonly number[], order3: readonly number[], radius: number): number[] {
  const norm = Math.hypot(...eta.map((x, i) => Math.cbrt(Math.abs(order3[i]!)) * x));
  return norm > radius ? eta.map((x) => (x * radius) / norm) : [...eta];
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

/** State of {@link scaleBySummaryNewton}. */
export interface ScaleBySummaryNewtonState {
  /** Updates done. */
  readonly count: number;
  /** The moving average of the raw learning rates, negative ones treated (before averaging unless `maintainTrueLrs`). */
  readonly currLrs: readonly number[] | null;
  /** The learning rates in force: λ₁(count) · currLrs, one per group. */
  readonly lrs: readonly number[];
  /** The latest hg step's record (null before the first). */
  readonly last: HgRecord | null;
}

/** −η_s · u on the elements of group s, leaf by leaf: the step −U·I·η (with `sign` = −1). */
export const scaleByGroups = (u: unknown, lrs: readonly number[], cp: CompiledPartition, sign = -1): unknown =>
  scaleGroups('newtonSummary', u, cp, lrs.map((v) => sign * v));

/** The hg batch of `extra` for this step: the batch itself, or what its function returns. */
function hgBatchOf(extra: NewtonSummaryExtra, step: number): readonly unknown[] {
  const b = typeof extra.hgBatch === 'function' ? extra.hgBatch() : extra.hgBatch;
  if (!Array.isArray(b)) throw new TypeError(`newtonSummary: extra.hgBatch() returned ${typeof b} at step ${step}; expected the hg batch as an array of the loss's arguments after the parameters`);
  return b;
}

/** The summary of `loss` on `batch` at `params` along `u`. */
type SummaryOn = (loss: NewtonSummaryExtra['loss'], batch: readonly unknown[], params: unknown, u: unknown, cp: CompiledPartition, order: 2 | 3) => Summary;

const eagerSummary: SummaryOn = (loss, batch, params, u, cp, order) => summary((p: unknown) => loss(p, ...batch), params, u, cp, { order });

/**
 * {@link SummaryOn} through one jitted program per loss function, compiled partition and order
 * (the option `jitSummary`): each program closes over its own partition and order.
 */
function jittedSummary(): SummaryOn {
  type Program = Jitted<unknown[], Tensor[]>;
  const programs = new WeakMap<NewtonSummaryExtra['loss'], WeakMap<CompiledPartition, Map<number, Program>>>();
  return (loss, batch, params, u, cp, order) => {
    let byPartition = programs.get(loss);
    if (!byPartition) programs.set(loss, (byPartition = new WeakMap()));
    let byOrder = byPartition.get(cp);
    if (!byOrder) byPartition.set(cp, (byOrder = new Map()));
    let f = byOrder.get(order);
    if (!f) {
      f = jit((p: unknown, d: unknown, ...b: unknown[]): Tensor[] => {
        const s = summary((q: unknown) => loss(q, ...b), p, d, cp, { order });
        return s.order3 ? [s.loss, s.g, s.H!, s.order3] : [s.loss, s.g, s.H!];
      });
      byOrder.set(order, f);
    }
    const [l, g, H, order3] = f(params, u, ...batch);
    return { loss: l!, g: g!, H: H!, ...(order3 ? { order3 } : {}) };
  };
}

/**
 * Per-group learning rates from the summary of the loss along the incoming direction, applied as
 * −U·I·η (see the module comment). `update(u, state, params, extra)` needs `params` and
 * `extra = { loss, hgBatch }`. Place it after the transformation proposing the direction:
 *
 *     const opt = namedChain(['direction', traceMomentum({ momentum: 0.9, dampening: 0.9 })],
 *                            ['newton', scaleBySummaryNewton({ partition: partition.canonical, dampingInt: 10 })]);
 *     const [updates, next] = opt.update(g, state, params, { loss, hgBatch: [x, y] });
 *     next.newton.lrs   // the rates in force
 */
export function scaleBySummaryNewton(opts: ScaleBySummaryNewtonOptions): GradientTransformation<ScaleBySummaryNewtonState, NewtonSummaryExtra> {
  const damping = opts.damping ?? 1;
  const period = opts.periodHg ?? 1;
  const momLrs = opts.momLrs ?? 0;
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`newtonSummary: periodHg must be a positive integer, got ${period}`);
  if (!(momLrs >= 0 && momLrs < 1)) throw new RangeError(`newtonSummary: momLrs must be in [0, 1), got ${momLrs}`);
  if (opts.dampingInt !== undefined && !(opts.dampingInt >= 0)) throw new RangeError(`newtonSummary: dampingInt must be ≥ 0, got ${opts.dampingInt}`);
  if (opts.trustRadius !== undefined && !(opts.trustRadius > 0 && Number.isFinite(opts.trustRadius)))
    throw new RangeError(`newtonSummary: trustRadius must be a positive finite number, got ${opts.trustRadius}`);
  if (typeof damping === 'number' && !Number.isFinite(damping)) throw new RangeError(`newtonSummary: damping must be a finite number or a schedule, got ${damping}`);
  for (const flag of ['removeNegative', 'maintainTrueLrs', 'noRegul', 'diagonal', 'jitSummary'] as const)
    if (opts[flag] !== undefined && typeof opts[flag] !== 'boolean') throw new TypeError(`newtonSummary: ${flag} must be true or false, got ${JSON.stringify(opts[flag])}`);
  const negative = negativeTreatment(opts);
  // compiled once per parameter structure: the params are a new object every step
  const partitionFor = partitionCompiler(opts.partition);
  const summaryOn = opts.jitSummary ? jittedSummary() : eagerSummary;
  /** One update; it yields the summary it must read on the host (synchronously or not, see `steps.ts`). */
  function* steps(u: unknown, state: ScaleBySummaryNewtonState, params: unknown, extra: NewtonSummaryExtra | undefined): Steps<readonly [unknown, ScaleBySummaryNewtonState]> {
    if (params === undefined) throw new TypeError('newtonSummary: update needs the current params (third argument)');
    if (!extra || typeof extra.loss !== 'function' || !(Array.isArray(extra.hgBatch) || typeof extra.hgBatch === 'function'))
      throw new TypeError('newtonSummary: update needs extra = { loss: (params, ...batch) => Tensor, hgBatch: [...] or () => [...] } (the loss on the hg batch)');
    const cp = partitionFor(params);
    let { currLrs, lrs, last } = state;
    if (state.count % period === 0) {
      const useCubic = !opts.noRegul && opts.dampingInt !== undefined;
      const batch = hgBatchOf(extra, state.count);
      const order = useCubic || opts.trustRadius !== undefined ? 3 : 2;
      const s = summaryOn(extra.loss, batch, params, u, cp, order);
      const S = cp.size;
      const [vg, vH, vLoss, vOrder3] = yield* readHost(s.order3 ? [s.g, s.H!, s.loss, s.order3] : [s.g, s.H!, s.loss]);
      const v = { g: vg!, H: vH!, loss: vLoss![0]!, order3: vOrder3 ?? null };
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
      const badRate = raw.findIndex((x) => !Number.isFinite(x));
      if (found && badRate >= 0) {
        // e.g. a summary of subnormal curvature: its rates overflow; handled as a singular H̄ is
        found = false;
        notes.push(`newtonSummary: learning rate ${badRate} came out ${raw[badRate]} (H̄'s entries too close to 0 for its inverse): no rates found this step, as for a singular H̄`);
        raw = new Array<number>(S).fill(0);
      }
      const m = state.count > 0 && currLrs !== null ? momLrs : 0;
      const solved = opts.trustRadius === undefined ? raw : trustRegion(raw, order3, opts.trustRadius);
      const treat = (v: number[]) => treatNegative(v, negative);
      const avg = (v: number[]) => v.map((x, i) => (1 - m) * x + m * (currLrs?.[i] ?? 0));
      let effective: number[];
      if (opts.maintainTrueLrs) {
        const averaged = avg(solved);
        currLrs = averaged;
        effective = treat(averaged);
      } else {
        const averaged = avg(treat(solved));
        currLrs = averaged;
        effective = averaged;
      }
      lrs = effective.map((x) => valueAt(damping, state.count) * x);
      last = { step: state.count, loss: v.loss, H, g, order3, lrsRaw: raw, found, r, branch, notes };
    } else if (typeof damping !== 'number' && currLrs !== null) {
      // a scheduled λ₁ moves at every step; the rates it multiplies change on hg steps only
      const rates = opts.maintainTrueLrs ? treatNegative(currLrs, negative) : currLrs;
      lrs = rates.map((x) => damping(state.count) * x);
    }
    const updates = scaleByGroups(u, lrs, cp, -1);
    return [updates, { count: state.count + 1, currLrs, lrs, last }];
  }
  return fromSteps<ScaleBySummaryNewtonState, NewtonSummaryExtra>(
    (params) => ({ count: 0, currLrs: null, lrs: new Array<number>(partitionFor(params).size).fill(0), last: null }),
    steps,
    true,
  );
}
