import type { DType } from '../core/dtype.js';
import { ConcretizationError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { defaultHolds } from '../backends/registry.js';
import { add, astype, expm1, lt, mul, neg, pow, sub } from '../ops/arith.js';
import { full } from '../ops/create.js';
import { readHost, type Steps } from './steps.js';

/**
 * Step counts as tensors. A count kept as a plain number is a static value to `jit` (a new number
 * is a new signature), so a jitted training step would trace again at every step; kept as an
 * int32 scalar tensor it is data, and `jit(step)` traces once. What depends on the count (Adam's
 * bias corrections, schedules) is computed from it with ops, in float64 where the backend has
 * float64 — the numbers a plain-number count gave, bit for bit — and in float32 on webgpu.
 */

/** A step count: an int32 scalar tensor (the number of updates made so far). */
export type Count = Tensor<'int32'>;

/** The largest count: an increment stops there (optax's `safe_increment`), never wrapping to −2³¹. */
export const MAX_COUNT = 2 ** 31 - 1;

/** A count of 0, for a transformation's `init`. */
export const zeroCount = (): Count => full([], 0, 'int32');

/** count + 1, saturating at {@link MAX_COUNT}. */
export const incrementCount = (count: Count): Count => add(count, astype(lt(count, MAX_COUNT), 'int32'));

/**
 * The float dtype in which quantities of the count are computed: float64 where the default
 * backend holds it (the CPU backends: their values are those of JavaScript numbers), else float32
 * (webgpu).
 */
export const countFloat = (): 'float64' | 'float32' => (defaultHolds('float64') ? 'float64' : 'float32');

/**
 * The bias correction 1 − decayᵗ of Adam's moments at step t (an int32 scalar tensor), as a scalar
 * tensor of `dt` (default {@link countFloat}). In float64 it is `1 − Math.pow(decay, t)`, the value a number count
 * gives. In float32 (webgpu) it is −expm1(t·ln decay) with ln decay taken in double: the direct
 * 1 − decayᵗ would lose its leading digits to cancellation (1 − 0.999 in float32 is off by 6·10⁻⁵
 * relatively, and float32(0.999) itself by 1.3·10⁻⁸ absolutely), while this form keeps the relative
 * error near float32's ε for every t.
 */
export function biasCorrection(decay: number, t: Count, dt: 'float64' | 'float32' = countFloat()): Tensor<'float64' | 'float32'> {
  if (dt === 'float64') return sub(1, pow(full([], decay, 'float64'), astype(t, 'float64')));
  return neg(expm1(mul(astype(t, 'float32'), Math.log(decay))));
}

/**
 * A per-dtype cache of scalar tensors derived from one value: `at(dtype)` converts (or builds) it
 * once per leaf dtype within one update, so a tree of float32 leaves costs one conversion.
 *
 *     const bc = perDType((dt) => astype(bc64, dt));
 *     map((m) => div(m, bc(m.dtype)), mu);
 */
export function perDType(make: (dtype: DType) => Tensor): (dtype: DType) => Tensor {
  const cache = new Map<DType, Tensor>();
  return (dtype) => {
    let v = cache.get(dtype);
    if (v === undefined) cache.set(dtype, (v = make(dtype)));
    return v;
  };
}

/**
 * `x` as a count: an int32 scalar tensor, else a TypeError naming the transformation `op` (a state
 * whose count is a plain number was made before counts were tensors: initialise it again, or read
 * a checkpoint through its migration).
 */
export function checkCount(op: string, x: unknown): Count {
  if (x instanceof Tensor && x.dtype === 'int32' && x.shape.length === 0) return x as Count;
  const got = x instanceof Tensor ? `a ${x.dtype} tensor of shape [${x.shape.join(',')}]` : typeof x === 'number' ? `the number ${x}` : String(x);
  throw new TypeError(`${op}: the state's count must be an int32 scalar tensor (as init makes it), got ${got}`);
}

/**
 * The count as a number, read on the host (an effect: `dataSync`, or awaited under `updateAsync`).
 * For what only a number can do (a schedule that is a plain function); a jitted step cannot read
 * it, and the error names `op` and `why` it needed the number.
 */
export function* hostCount(op: string, why: string, count: Count): Steps<number> {
  try {
    return (yield* readHost([count]))[0]![0]!;
  } catch (e) {
    if (!(e instanceof ConcretizationError)) throw e;
    throw new TypeError(`${op}: ${why} needs the step count as a number on the host, and under jit (or another transform) the count has no value; ${JIT_HINT}`);
  }
}

const JIT_HINT =
  'use a built-in schedule (they evaluate on the count as a tensor: linearSchedule, cosineDecaySchedule, joinSchedules…) or run the step eagerly';
