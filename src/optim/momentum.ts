import { add, eq, full, mul, sub, where, zerosLike } from '../ops/arith.js';
import { checkCount, type Count, incrementCount, perDType, zeroCount } from './count.js';
import { type GradientTransformation, transformation } from './transformation.js';
import { checkSameStructure, map, structure } from '../core/tree.js';

/** Options of {@link traceMomentum}. */
export interface TraceMomentumOptions {
  /** μ, the momentum factor. */
  readonly momentum: number;
  /** τ, the dampening (default 0): the new gradient enters the buffer with weight 1 − τ. */
  readonly dampening?: number;
  /** Nesterov momentum: the output is g + μ·buf instead of buf (default false). */
  readonly nesterov?: boolean;
}

/**
 * State of {@link traceMomentum}: the buffer (zeros before the first step; PyTorch creates it on
 * the first step, here the count says whether it exists, so the state keeps one structure) and
 * the step count (an int32 scalar tensor, so that a jitted step traces once).
 */
export interface TraceMomentumState {
  readonly trace: unknown;
  readonly count: Count;
}

/**
 * The momentum of `torch.optim.SGD`, exactly:
 *
 *     step 0:  buf = g
 *     then:    buf = μ·buf + (1 − τ)·g
 *     output:  buf, or g + μ·buf with nesterov
 *
 * (chain it with `scaleByLearningRate(lr)` for SGD with momentum; optax's `trace` differs in the
 * first step and has no dampening). PyTorch forbids nesterov with dampening ≠ 0; so does this.
 *
 *     chain(traceMomentum({ momentum: 0.9 }), scaleByLearningRate(0.01))
 */
export function traceMomentum({ momentum, dampening = 0, nesterov = false }: TraceMomentumOptions): GradientTransformation<TraceMomentumState> {
  if (!Number.isFinite(momentum) || momentum < 0) throw new RangeError(`traceMomentum: momentum must be a finite number ≥ 0, got ${momentum}`);
  if (!Number.isFinite(dampening)) throw new RangeError(`traceMomentum: dampening must be a finite number, got ${dampening}`);
  if (nesterov && (momentum <= 0 || dampening !== 0))
    throw new RangeError(`traceMomentum: nesterov momentum needs momentum > 0 and dampening = 0 (as torch.optim.SGD), got momentum ${momentum}, dampening ${dampening}`);
  return transformation<TraceMomentumState>(
    (params) => ({ trace: map('traceMomentum', (p) => zerosLike(p), params), count: zeroCount() }),
    (g, { trace, count }) => {
      checkSameStructure('traceMomentum', [structure(trace), structure(g)], ['the momentum buffer', 'the updates']);
      const c = checkCount('traceMomentum', count);
      // buf = g at step 0, μ·buf + (1 − τ)·g after, without branching on the count (a tensor):
      // buf' = (1 − τ)'·g − buf·(−μ)' with (1 − τ)' = 1 and (−μ)' = +0 at step 0. That is g exactly
      // (g·1 = g, g − (+0·+0) = g, −0 and NaN included), and after step 0 it is μ·buf + (1 − τ)·g
      // bit for bit (−(buf·−μ) = buf·μ exactly, and x − (−y) = x + y).
      const first = eq(c, 0);
      const gain = perDType((dt) => where(first, full([], 1, dt), 1 - dampening));
      const decay = perDType((dt) => where(first, full([], 0, dt), -momentum));
      const buf = map('traceMomentum', (b, x) => sub(mul(x, gain(x.dtype)), mul(b, decay(b.dtype))), trace, g);
      const out = nesterov ? map('traceMomentum', (x, b) => add(x, mul(b, momentum)), g, buf) : buf;
      return [out, { trace: buf, count: incrementCount(c) }];
    },
  );
}
