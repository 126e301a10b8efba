import { brentq } from './brentq.js';
import {
  asymmetry,
  choleskySolve,
  cholesky,
  conditionFromEigenvalues,
  eigvalsSymmetric,
  ILL_CONDITIONED,
  luSolve,
  type Matrix,
  maxAbs,
  norm2,
  SingularMatrixError,
  toRows,
} from './small-linalg.js';

/**
 * The anisotropic Nesterov cubic-regularised learning rates of grnewt (`nesterov_lrs`, Wolinski
 * 2023), in float64 on plain numbers. With d = |order3|^{1/3}, D = diag(d) and
 * M(r) = H + (λ/2)·r·D², it finds the root r* of f(r) = ‖D·M(r)⁻¹·g‖ − r on (x0, ∞) (where M is
 * positive definite) and returns η = M(r*)⁻¹·g: the solution of η = (H + λ/2·‖Dη‖·D²)⁻¹·g.
 * The steps follow grnewt exactly (same branches, SciPy's brentq, same brackets), so the results
 * match its reference values; unlike grnewt, no loop is unbounded and every failure is reported.
 */

/** How x0 (the left end of the search interval) was obtained; grnewt's names where it has them. */
export type X0Computation =
  /** H positive definite: x0 = 0 (with λ = 0, η = H⁻¹g directly). */
  | 'Direct_Hpd'
  /** H not PD, every d > threshold: x0 = (2/λ)·|min(0, λ_min(D⁻¹HD⁻¹))|. */
  | 'Analytical'
  /** H not PD, some d ≤ threshold: x0 = root of λ_min(H + λ/2·x·D²), found. */
  | 'Numer_conv'
  /** λ_min(H + λ/2·x·D²) decreased while tripling x (grnewt's test): not found. */
  | 'Numer_dvx1'
  /** The brentq search for x0 did not converge: not found. */
  | 'Numer_divg'
  /** λ_min(H + λ/2·x·D²) stayed ≤ 0 over the whole capped tripling (grnewt would loop on): not found. */
  | 'Numer_nobracket';

/** The record {@link nesterovLrs} returns. */
export interface NesterovResult {
  /** η (one per group), or null when not found. */
  readonly lrs: number[] | null;
  readonly found: boolean;
  /** r* = ‖D·η‖ when found (the brentq root), else null. */
  readonly r: number | null;
  /** Left end of the search interval (null when it could not be computed). */
  readonly x0: number | null;
  readonly x0Computation: X0Computation;
  /** All eigenvalues of H strictly positive. */
  readonly hPD: boolean;
  /** Eigenvalues of H, ascending. */
  readonly hEigenvalues: number[];
  /** |λ|max / |λ|min of H (∞ when singular). */
  readonly hCondition: number;
  /** Condition number of the matrix M(r*) actually solved (null when not found). */
  readonly mCondition: number | null;
  /** H singular or its condition number above 1e12 (or M(r*)'s). */
  readonly illConditioned: boolean;
  /** Brent iterations for r* (0 when not run). */
  readonly iterations: number;
  /** Why not found (absent when found). */
  readonly reason?: string;
  /** Things to know even when found: singular or ill-conditioned matrices, asymmetric H… */
  readonly warnings: string[];
}

/** Options of {@link nesterovLrs}. */
export interface NesterovOptions {
  /** d ≤ threshold counts as singular D (default 1e-5, grnewt's `threshold_D_sing`). */
  readonly thresholdDSing?: number;
  /** Give d directly instead of computing |order3|^{1/3} (the third argument is then d). */
  readonly orderIsD?: boolean;
  /** Cap on the tripling loops (default 200: x up to 3²⁰⁰ ≈ 10⁹⁵). */
  readonly maxTriplings?: number;
}

/** Raised when λ = 0 and H is not positive definite (grnewt raises a ValueError). */
export class NesterovError extends Error {
  override name = 'NesterovError';
}

/**
 * The anisotropic Nesterov learning rates η = (H + λ/2·‖Dη‖·D²)⁻¹·g of grnewt, D = diag(|order3|^{1/3}).
 *
 * Procedure (grnewt's `nesterov_lrs`, case-format.md "Nesterov learning rates"):
 * 1. hPD = every eigenvalue of H > 0. λ = 0 and not hPD: {@link NesterovError}.
 *    λ = 0 and hPD: η = H⁻¹g (the cubic term vanishes).
 * 2. x0: 0 if hPD; else (2/λ)·|min(0, λ_min(D⁻¹HD⁻¹))| if every d > 1e-5; else the brentq root of
 *    x ↦ λ_min(H + λ/2·x·D²) on [0, x1], x1 = 1, 3, 9, … (stopping when λ_min decreases).
 * 3. f(x0) ≤ 0 → not found (e.g. D ≡ 0 with H PD: f(0) = 0).
 * 4. x1 = x0 + 1, tripled while f(x1) ≥ 0; r* = brentq(f, x0, x1) (maxiter 100); η = M(r*)⁻¹g.
 *
 * Arguments: H (S×S, rows or flat row-major), g (S), order3 (S, signed third derivatives), λ ≥ 0.
 *
 *     nesterovLrs([[1]], [3], [8], 1)
 *     // { lrs: ≈[0.75], found: true, r: ≈1.5, x0Computation: 'Direct_Hpd', … }:  d = 2, η = 3/(1 + ½·1.5·4)
 */
export function nesterovLrs(
  H: Matrix | ArrayLike<number>,
  g: ArrayLike<number>,
  order3: ArrayLike<number>,
  dampingInt: number,
  { thresholdDSing = 1e-5, orderIsD = false, maxTriplings = 200 }: NesterovOptions = {},
): NesterovResult {
  const S = g.length;
  const Hm = toRows('nesterovLrs', H, S);
  if (order3.length !== S) throw new RangeError(`nesterovLrs: H is ${S}×${S} and g has ${S} entries, but order3 has ${order3.length}`);
  const gv = Array.from(g);
  const o3 = Array.from(order3);
  gv.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RangeError(`nesterovLrs: g[${i}] is ${v}`);
  });
  o3.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RangeError(`nesterovLrs: order3[${i}] is ${v}`);
  });
  if (!(dampingInt >= 0 && Number.isFinite(dampingInt))) throw new RangeError(`nesterovLrs: dampingInt (λ) must be a finite number ≥ 0, got ${dampingInt}`);
  if (orderIsD && o3.some((v) => v < 0)) throw new RangeError('nesterovLrs: with orderIsD the third argument is d = |order3|^{1/3} and must be ≥ 0');

  const warnings: string[] = [];
  const asym = asymmetry(Hm);
  if (asym > 1e-8 * Math.max(maxAbs(Hm), Number.MIN_VALUE))
    warnings.push(`H is not symmetric (max |H[i,j] − H[j,i]| = ${asym.toExponential(2)}): its eigenvalues are taken from the lower triangle, the solves use all of it`);

  const d = orderIsD ? o3 : o3.map((v) => Math.abs(v) ** (1 / 3));
  const dSq = d.map((v) => v ** 2);
  const lam = dampingInt;
  /** M(x) = H + (λ/2·x)·D², formed as grnewt does. */
  const M = (x: number): number[][] => {
    const c = 0.5 * lam * x;
    return Hm.map((row, i) => row.map((v, j) => (i === j ? v + c * dSq[i]! : v)));
  };
  const f = (x: number): number => {
    const eta = luSolve(M(x), gv, 'nesterovLrs');
    return norm2(eta.map((v, i) => d[i]! * v)) - x;
  };

  const hEigenvalues = eigvalsSymmetric(Hm);
  const hPD = hEigenvalues.every((v) => v > 0);
  const hCondition = conditionFromEigenvalues(hEigenvalues);
  let illConditioned = hCondition > ILL_CONDITIONED;
  if (hCondition === Infinity) warnings.push('H is singular (an eigenvalue is exactly 0)');
  else if (illConditioned) warnings.push(`H is ill-conditioned (condition number ${hCondition.toExponential(2)})`);

  const base = { hPD, hEigenvalues, hCondition, warnings };
  const notFound = (x0Computation: X0Computation, x0: number | null, reason: string, iterations = 0): NesterovResult => ({
    lrs: null,
    found: false,
    r: null,
    x0,
    x0Computation,
    mCondition: null,
    illConditioned,
    iterations,
    reason,
    ...base,
  });

  // 1. λ = 0.
  if (lam === 0) {
    if (!hPD)
      throw new NesterovError(
        `nesterovLrs: H is not positive definite (smallest eigenvalue ${hEigenvalues[0]!.toExponential(3)}) and dampingInt = 0: no solution (grnewt raises here); use dampingInt > 0`,
      );
    const L = cholesky(Hm);
    let eta: number[];
    try {
      eta = L ? choleskySolve(L, gv) : luSolve(Hm, gv, 'nesterovLrs');
    } catch (e) {
      if (e instanceof SingularMatrixError) return notFound('Direct_Hpd', 0, `dampingInt = 0 and H is singular to working precision: ${e.message}`);
      throw e;
    }
    return { lrs: eta, found: true, r: norm2(eta.map((v, i) => d[i]! * v)), x0: 0, x0Computation: 'Direct_Hpd', mCondition: hCondition, illConditioned, iterations: 0, ...base };
  }

  // 2. x0.
  let x0: number;
  let x0Computation: X0Computation;
  const dSing = d.some((v) => v <= thresholdDSing);
  if (hPD) {
    x0 = 0;
    x0Computation = 'Direct_Hpd';
  } else if (!dSing) {
    const dInv = d.map((v) => 1 / v);
    const scaled = Hm.map((row, i) => row.map((v, j) => dInv[i]! * v * dInv[j]!));
    const lmin = eigvalsSymmetric(scaled)[0]!;
    x0 = (2 / lam) * Math.abs(Math.min(0, lmin));
    x0Computation = 'Analytical';
  } else {
    const lamMin = (x: number): number => eigvalsSymmetric(M(x))[0]!;
    const sub = d.map((v, i) => (v === 0 ? i : -1)).filter((i) => i >= 0);
    const subMin = sub.length ? eigvalsSymmetric(sub.map((i) => sub.map((j) => Hm[i]![j]!)))[0]! : Infinity;
    const whyNever =
      subMin <= 0
        ? `H is not positive definite on the groups where D = 0 (groups ${sub.join(', ')}: smallest eigenvalue ${subMin.toExponential(3)}), so H + λ/2·x·D² is positive definite for no x`
        : 'λ_min(H + λ/2·x·D²) stays ≤ 0 for every x tried';
    // A direction v supported where D = 0 with vᵀHv ≤ 0 keeps vᵀM(x)v = vᵀHv ≤ 0 for every x:
    // no x0 exists (grnewt would triple x until rounding noise stops it, or forever).
    if (subMin <= 0) return notFound('Numer_nobracket', null, `x0 not found: ${whyNever}`);
    let gx1 = 1;
    let last = lamMin(gx1);
    let k = 0;
    while (last <= 0) {
      if (k++ >= maxTriplings)
        return notFound('Numer_nobracket', null, `x0 not found: ${whyNever} (x up to ${gx1.toExponential(2)} after ${maxTriplings} triplings)`);
      gx1 *= 3;
      const cur = lamMin(gx1);
      if (!(cur >= last))
        return notFound('Numer_dvx1', null, `x0 not found ('Numer_dvx1': λ_min(H + λ/2·x·D²) decreased from ${last.toExponential(3)} to ${cur.toExponential(3)} at x = ${gx1.toExponential(2)}): ${whyNever}`);
      last = cur;
    }
    let res;
    try {
      res = brentq(lamMin, 0, gx1, { maxiter: 200 });
    } catch (e) {
      return notFound('Numer_divg', null, `x0 not found: brentq on λ_min failed: ${(e as Error).message}`);
    }
    if (!res.converged) return notFound('Numer_divg', null, `x0 not found: brentq on λ_min(H + λ/2·x·D²) over [0, ${gx1}] did not converge in 200 iterations`);
    x0 = res.root;
    x0Computation = 'Numer_conv';
  }

  // 3. f(x0) > 0 is needed for a root on (x0, ∞).
  let fx0: number;
  try {
    fx0 = f(x0);
  } catch (e) {
    if (!(e instanceof SingularMatrixError)) throw e;
    x0 *= 1.001; // grnewt's retry when M(x0) is exactly singular
    try {
      fx0 = f(x0);
    } catch (e2) {
      if (!(e2 instanceof SingularMatrixError)) throw e2;
      return notFound(x0Computation, x0, `M(x0) = H + λ/2·x0·D² is singular at x0 = ${x0} (and at 1.001·x0): cannot evaluate f(x0)`);
    }
  }
  if (Number.isNaN(fx0)) return notFound(x0Computation, x0, `f(x0) is NaN at x0 = ${x0}`);
  if (fx0 <= 0) {
    const dZero = d.every((v) => v === 0);
    const reason =
      hPD && dZero
        ? 'D ≡ 0 and H̄ positive definite: f(0) = 0, no root with r > 0'
        : hPD
          ? `f(0) = ‖D·H⁻¹·g‖ = ${(fx0 + x0).toExponential(3)}: D·H⁻¹·g = 0 (${gv.every((v) => v === 0) ? 'g = 0' : 'D vanishes on the support of H⁻¹g'}), no root with r > 0`
          : gv.every((v) => v === 0)
            ? `g = 0: f(x) = −x ≤ 0, no root with r > x0 = ${x0} (η = 0 trivially)`
            : `f(x0) = ${fx0.toExponential(3)} ≤ 0 at x0 = ${x0}: no root of f on (x0, ∞)${
                x0 > 1e12 ? ' (an x0 this large means H + λ/2·x·D² barely becomes positive definite: H is nearly singular on the groups where D ≈ 0)' : ''
              }`;
    return notFound(x0Computation, x0, reason);
  }

  // 4. Bracket and solve.
  let x1 = x0 + 1;
  let k = 0;
  try {
    for (;;) {
      const fx1 = f(x1);
      if (Number.isNaN(fx1)) return notFound(x0Computation, x0, `f(x1) is NaN at x1 = ${x1}`);
      if (!(fx1 >= 0)) break;
      if (k++ >= maxTriplings) return notFound(x0Computation, x0, `could not bracket the root: f(x1) ≥ 0 up to x1 = ${x1.toExponential(2)} after ${maxTriplings} triplings`);
      x1 *= 3;
    }
  } catch (e) {
    if (!(e instanceof SingularMatrixError)) throw e;
    return notFound(x0Computation, x0, `M(x1) is singular while bracketing (x1 = ${x1}): ${e.message}`);
  }
  let root;
  try {
    root = brentq(f, x0, x1, { maxiter: 100 });
  } catch (e) {
    if (e instanceof SingularMatrixError || e instanceof RangeError) return notFound(x0Computation, x0, `brentq on f over [${x0}, ${x1}] failed: ${(e as Error).message}`);
    throw e;
  }
  if (!root.converged) return notFound(x0Computation, x0, `brentq on f over [${x0}, ${x1}] did not converge in 100 iterations (last r = ${root.root})`, root.iterations);
  const r = root.root;
  const Mr = M(r);
  let lrs: number[];
  try {
    lrs = luSolve(Mr, gv, 'nesterovLrs');
  } catch (e) {
    if (!(e instanceof SingularMatrixError)) throw e;
    return notFound(x0Computation, x0, `M(r*) is singular at r* = ${r}`, root.iterations);
  }
  const mCondition = conditionFromEigenvalues(eigvalsSymmetric(Mr));
  if (mCondition > ILL_CONDITIONED) {
    illConditioned = true;
    warnings.push(`M(r*) = H + λ/2·r*·D² is ill-conditioned (condition number ${mCondition.toExponential(2)}): η may have few correct digits`);
  }
  return { lrs, found: true, r, x0, x0Computation, mCondition, illConditioned, iterations: root.iterations, ...base };
}
