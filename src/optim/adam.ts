import { checkSameStructure, map, structure } from '../core/tree.js';
import type { Tensor } from '../core/tensor.js';
import { releasingTemporaries } from '../prim/temporaries.js';
import { add, astype, div, mul, sqrt, zerosLike } from '../ops/arith.js';
import { biasCorrection, checkCount, type Count, incrementCount, perDType, zeroCount } from './count.js';
import { type GradientTransformation, transformation } from './transformation.js';

/** Options of {@link scaleByAdam}. */
export interface ScaleByAdamOptions {
  /** Decay of the first moment (default 0.9). */
  readonly b1?: number;
  /** Decay of the second moment (default 0.999). */
  readonly b2?: number;
  /** Added to the denominator outside the square root (default 1e-8). */
  readonly eps?: number;
  /** Added to the second moment inside the square root (default 0). */
  readonly epsRoot?: number;
}

/**
 * State of {@link scaleByAdam}: the step count (an int32 scalar tensor, so that a jitted step
 * traces once), first moments μ and second moments ν (trees like params).
 */
export interface ScaleByAdamState {
  readonly count: Count;
  readonly mu: unknown;
  readonly nu: unknown;
}

const checkRate = (op: string, name: string, b: number) => {
  if (!(b >= 0 && b < 1)) throw new RangeError(`${op}: ${name} must be in [0, 1), got ${b}`);
};
const checkNonNeg = (op: string, name: string, v: number) => {
  if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`${op}: ${name} must be a finite number ≥ 0, got ${v}`);
};

/**
 * Adam's rescaling with bias correction (Kingma & Ba), at step t = count + 1:
 *
 *     μ ← b1·μ + (1 − b1)·g        ν ← b2·ν + (1 − b2)·g²
 *     μ̂ = μ / (1 − b1ᵗ)             ν̂ = ν / (1 − b2ᵗ)
 *     out = μ̂ / (√(ν̂ + epsRoot) + eps)
 *
 *     chain(scaleByAdam({ b1: 0.9 }), scaleByLearningRate(1e-3))   // = adam(1e-3)
 */
export function scaleByAdam({ b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0 }: ScaleByAdamOptions = {}): GradientTransformation<ScaleByAdamState> {
  checkRate('scaleByAdam', 'b1', b1);
  checkRate('scaleByAdam', 'b2', b2);
  checkNonNeg('scaleByAdam', 'eps', eps);
  checkNonNeg('scaleByAdam', 'epsRoot', epsRoot);
  // made once, not per update (V8 keeps the optimized code of a function that stays alive)
  const firstMoment = (m: Tensor, x: Tensor) => add(mul(m, b1), mul(x, 1 - b1));
  const secondMoment = (v: Tensor, x: Tensor) => add(mul(v, b2), mul(mul(x, x), 1 - b2));
  return transformation<ScaleByAdamState>(
    (params) => ({ count: zeroCount(), mu: map('scaleByAdam', zerosLike, params), nu: map('scaleByAdam', zerosLike, params) }),
    (g, state) => releasingTemporaries(() => adamUpdate(g, state)),
  );
  // its temporaries (ten tensors per parameter) go back to the backend as it returns
  function adamUpdate(g: unknown, { count, mu, nu }: ScaleByAdamState): [unknown, ScaleByAdamState] {
    checkSameStructure('scaleByAdam', [structure(mu), structure(g)], ['the first moments', 'the updates']);
    const t = incrementCount(checkCount('scaleByAdam', count));
    // 1 − bᵗ in float64 (float32 on webgpu), rounded once to each leaf's dtype
    const bc1 = perDType((dt) => astype(biasCorrection(b1, t), dt));
    const bc2 = perDType((dt) => astype(biasCorrection(b2, t), dt));
    const mu2 = map('scaleByAdam', firstMoment, mu, g);
    const nu2 = map('scaleByAdam', secondMoment, nu, g);
    const out = map('scaleByAdam', (m, v) => div(div(m, bc1(m.dtype)), add(sqrt(add(div(v, bc2(v.dtype)), epsRoot)), eps)), mu2, nu2);
    return [out, { count: t, mu: mu2, nu: nu2 }];
  }
}

/** Options of {@link scaleByRms}. */
export interface ScaleByRmsOptions {
  /** Decay of the running mean of g² (default 0.9, optax; PyTorch's RMSprop `alpha` is 0.99). */
  readonly decay?: number;
  /** Stabiliser (default 1e-8). */
  readonly eps?: number;
  /**
   * Where eps goes: true (default, optax) divides by √(ν + eps); false divides by √ν + eps
   * (PyTorch's RMSprop).
   */
  readonly epsInSqrt?: boolean;
  /** Initial value of ν (default 0). */
  readonly initialScale?: number;
}

/** State of {@link scaleByRms}: the running mean ν of squared gradients (a tree like params). */
export interface ScaleByRmsState {
  readonly nu: unknown;
}

/**
 * RMSprop's rescaling (no bias correction):
 *
 *     ν ← decay·ν + (1 − decay)·g²
 *     out = g / √(ν + eps)        (epsInSqrt, the default)
 *     out = g / (√ν + eps)        (epsInSqrt false: torch.optim.RMSprop)
 *
 *     chain(scaleByRms({ decay: 0.99, epsInSqrt: false }), scaleByLearningRate(1e-2)) // torch's RMSprop(lr=1e-2)
 */
export function scaleByRms({ decay = 0.9, eps = 1e-8, epsInSqrt = true, initialScale = 0 }: ScaleByRmsOptions = {}): GradientTransformation<ScaleByRmsState> {
  checkRate('scaleByRms', 'decay', decay);
  checkNonNeg('scaleByRms', 'eps', eps);
  checkNonNeg('scaleByRms', 'initialScale', initialScale);
  return transformation<ScaleByRmsState>(
    (params) => ({ nu: map('scaleByRms', (p) => add(zerosLike(p), initialScale), params) }),
    (g, { nu }) =>
      releasingTemporaries(() => {
        checkSameStructure('scaleByRms', [structure(nu), structure(g)], ['the second moments', 'the updates']);
        const nu2 = map('scaleByRms', (v, x) => add(mul(v, decay), mul(mul(x, x), 1 - decay)), nu, g);
        const out = map('scaleByRms', (x, v) => div(x, epsInSqrt ? sqrt(add(v, eps)) : add(sqrt(v), eps)), g, nu2);
        return [out, { nu: nu2 }] as const;
      }),
  );
}
