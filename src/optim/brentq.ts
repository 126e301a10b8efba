/**
 * Brent's root finder, step for step as SciPy's `brentq` (scipy/optimize/Zeros/brentq.c, by
 * Charles Harris): the same bracket bookkeeping, the same choice between inverse quadratic
 * extrapolation, secant interpolation and bisection, the same tolerance 2δ with
 * δ = (xtol + rtol·|x|)/2 and the same minimal step. grnewt's reference learning rates come from
 * `scipy.optimize.root_scalar(f, bracket=[a, b])` (which is brentq), so following its iterates
 * makes our roots agree with the reference to the last few ulps rather than only to xtol.
 */

/** SciPy's default absolute tolerance of {@link brentq}: the root is within 2·(xtol + rtol·|x|) of a sign change. */
export const BRENTQ_XTOL = 2e-12;

/** Options of {@link brentq} (SciPy's defaults). */
export interface BrentqOptions {
  /** Absolute tolerance (default 2e-12). */
  readonly xtol?: number;
  /** Relative tolerance (default 4·ε ≈ 8.9e-16, SciPy's minimum). */
  readonly rtol?: number;
  /** Maximum iterations (default 100). */
  readonly maxiter?: number;
}

/** Result of {@link brentq}, as SciPy's `RootResults`. */
export interface BrentqResult {
  readonly root: number;
  readonly converged: boolean;
  readonly iterations: number;
  readonly functionCalls: number;
  /** 'converged' or 'convergence error' (maxiter reached; `root` is then the last iterate). */
  readonly flag: 'converged' | 'convergence error';
}

const signbit = (x: number): boolean => x < 0 || Object.is(x, -0);

/**
 * A root of `f` in the bracket [a, b] (f(a) and f(b) of opposite signs), by Brent's method.
 * Throws a RangeError when f(a), f(b) have the same sign or when f returns NaN (as SciPy does).
 *
 *     brentq((x) => x * x - 2, 0, 2).root // 1.4142135623731364 (√2 to xtol 2e-12)
 */
export function brentq(f: (x: number) => number, a: number, b: number, { xtol = BRENTQ_XTOL, rtol = 4 * Number.EPSILON, maxiter = 100 }: BrentqOptions = {}): BrentqResult {
  if (!(xtol > 0)) throw new RangeError(`brentq: xtol must be > 0, got ${xtol}`);
  if (!(rtol >= 4 * Number.EPSILON)) throw new RangeError(`brentq: rtol must be ≥ 4·ε = ${4 * Number.EPSILON}, got ${rtol}`);
  if (!Number.isInteger(maxiter) || maxiter < 0) throw new RangeError(`brentq: maxiter must be an integer ≥ 0, got ${maxiter}`);
  const call = (x: number): number => {
    const y = f(x);
    if (Number.isNaN(y)) throw new RangeError(`brentq: the function value at x = ${x} is NaN; the solver cannot continue`);
    return y;
  };
  let xpre = a;
  let xcur = b;
  let xblk = 0;
  let fblk = 0;
  let spre = 0;
  let scur = 0;
  let fpre = call(xpre);
  let fcur = call(xcur);
  let calls = 2;
  const done = (root: number, converged: boolean, iterations: number): BrentqResult => ({
    root,
    converged,
    iterations,
    functionCalls: calls,
    flag: converged ? 'converged' : 'convergence error',
  });
  if (fpre === 0) return done(xpre, true, 0);
  if (fcur === 0) return done(xcur, true, 0);
  if (signbit(fpre) === signbit(fcur)) throw new RangeError(`brentq: f(a) and f(b) must have different signs (f(${a}) = ${fpre}, f(${b}) = ${fcur})`);
  for (let i = 0; i < maxiter; i++) {
    if (fpre !== 0 && fcur !== 0 && signbit(fpre) !== signbit(fcur)) {
      xblk = xpre;
      fblk = fpre;
      spre = scur = xcur - xpre;
    }
    if (Math.abs(fblk) < Math.abs(fcur)) {
      xpre = xcur;
      xcur = xblk;
      xblk = xpre;
      fpre = fcur;
      fcur = fblk;
      fblk = fpre;
    }
    const delta = (xtol + rtol * Math.abs(xcur)) / 2;
    const sbis = (xblk - xcur) / 2;
    if (fcur === 0 || Math.abs(sbis) < delta) return done(xcur, true, i + 1);
    if (Math.abs(spre) > delta && Math.abs(fcur) < Math.abs(fpre)) {
      let stry: number;
      if (xpre === xblk) {
        // interpolate
        stry = (-fcur * (xcur - xpre)) / (fcur - fpre);
      } else {
        // extrapolate
        const dpre = (fpre - fcur) / (xpre - xcur);
        const dblk = (fblk - fcur) / (xblk - xcur);
        stry = (-fcur * (fblk * dblk - fpre * dpre)) / (dblk * dpre * (fblk - fpre));
      }
      if (2 * Math.abs(stry) < Math.min(Math.abs(spre), 3 * Math.abs(sbis) - delta)) {
        // good short step
        spre = scur;
        scur = stry;
      } else {
        // bisect
        spre = sbis;
        scur = sbis;
      }
    } else {
      // bisect
      spre = sbis;
      scur = sbis;
    }
    xpre = xcur;
    fpre = fcur;
    if (Math.abs(scur) > delta) xcur += scur;
    else xcur += sbis > 0 ? delta : -delta;
    fcur = call(xcur);
    calls++;
  }
  return done(xcur, false, maxiter);
}
