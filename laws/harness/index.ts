import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type DType, type FloatDType, type Tensor, tensor, fromBuffer } from '../../src/index.js';
import { sizeOf } from '../../src/core/shape.js';
import { add as addOp, grad, jvp, mul as mulOp, sin as sinOp, sum as sumOp, vjp } from '../../src/index.js';

/** Shared law machinery: generators, tolerances, comparisons and finite differences. */

export { runs, scaledRuns, parseLawRuns, parseLawSeed, type LawRunOptions } from './runs.js';
import { runs } from './runs.js';

/** Generated cases per law (the issue asks for ≥ 100), scaled and seeded by the environment (see runs.ts). */
export const RUNS = runs(100);

/** Explicit tolerances per dtype. */
export const TOL: Record<FloatDType, { rtol: number; atol: number }> = {
  float64: { rtol: 1e-7, atol: 1e-9 },
  float32: { rtol: 1e-4, atol: 1e-5 },
};

/** A shape of rank in [minRank, maxRank] with sizes in [minSize, maxSize]. */
export const arbShape = (opts: { rank?: [number, number]; size?: [number, number] } = {}) => {
  const [r0, r1] = opts.rank ?? [0, 4];
  const [s0, s1] = opts.size ?? [1, 6];
  return fc.array(fc.integer({ min: s0, max: s1 }), { minLength: r0, maxLength: r1 });
};

/** Values in [min, max] for a given shape, as a tensor of `dtype`. */
export const arbTensorOf = (shape: readonly number[], dtype: FloatDType = 'float64', range: [number, number] = [-2, 2]) =>
  fc
    .array(fc.double({ min: range[0], max: range[1], noNaN: true, noDefaultInfinity: true }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
    .map((vals) => tensor(vals, dtype, shape) as Tensor<typeof dtype>);

/** A tensor of generated shape and values. */
export const arbTensor = (opts: { dtype?: FloatDType; rank?: [number, number]; size?: [number, number]; range?: [number, number]; shape?: readonly number[] } = {}) =>
  (opts.shape ? fc.constant(opts.shape) : arbShape(opts)).chain((s) => arbTensorOf(s, opts.dtype ?? 'float64', opts.range));

/** Asserts elementwise |a − b| ≤ atol + rtol·|b|, with the worst element in the message. */
export function assertClose(actual: Tensor | number, expected: Tensor | number, tol: { rtol?: number; atol?: number } = TOL.float64, label = ''): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual.dataSync() as ArrayLike<number>);
  const b = typeof expected === 'number' ? [expected] : Array.from(expected.dataSync() as ArrayLike<number>);
  if (typeof actual !== 'number' && typeof expected !== 'number')
    assert.deepEqual(actual.shape, expected.shape, `${label}: shapes differ: [${actual.shape}] vs [${expected.shape}]`);
  assert.equal(a.length, b.length, `${label}: sizes differ`);
  const rtol = tol.rtol ?? 0;
  const atol = tol.atol ?? 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= atol + rtol * Math.abs(b[i]!)) && !(Number.isNaN(a[i]!) && Number.isNaN(b[i]!)))
      assert.fail(`${label}: element ${i}: got ${a[i]} expected ${b[i]} (|d| = ${d.toExponential(3)}, tol ${(atol + rtol * Math.abs(b[i]!)).toExponential(3)})`);
  }
}

/**
 * Central finite-difference gradient of a scalar function of one float64 tensor (step h, O(h²)).
 * Used as the independent oracle for grad/jvp.
 */
export function finiteDifference(f: (x: Tensor) => Tensor | number, x: Tensor, h = 1e-5): Tensor {
  const base = Float64Array.from(x.dataSync() as ArrayLike<number>);
  const out = new Float64Array(base.length);
  const val = (v: Float64Array) => {
    const r = f(fromBuffer(v, x.dtype as 'float64', x.shape));
    return typeof r === 'number' ? r : r.item();
  };
  for (let i = 0; i < base.length; i++) {
    const p = base.slice();
    const m = base.slice();
    p[i] = p[i]! + h;
    m[i] = m[i]! - h;
    out[i] = (val(p) - val(m)) / (2 * h);
  }
  return fromBuffer(out, 'float64', x.shape);
}

/**
 * Central differences at steps h and h/2, with a bound on the truncation error of the second.
 * D(h) = f′ + c·h² + O(h⁴) with c = f‴/6, so D(h) − D(h/2) = ¾·c·h² + O(h⁴) and the error c·h²/4 of
 * D(h/2) is about a third of |D(h) − D(h/2)|: `error` is |D(h) − D(h/2)| itself (3× the estimate,
 * margin for the O(h⁴) terms). A fixed tolerance fails wherever f‴ is large — a generated program
 * that multiplies its inputs up to a high degree and takes sin of the result has f‴ ~ 1e8, an error
 * of 2e-3 at h = 1e-5 — while `error` follows f‴ and stays ~1e-10·|f‴| where f is tame.
 */
export function finiteDifferenceWithError(f: (x: Tensor) => Tensor | number, x: Tensor, h = 1e-5): { value: Tensor; error: Float64Array } {
  const coarse = finiteDifference(f, x, h).dataSync() as Float64Array;
  const value = finiteDifference(f, x, h / 2);
  const fine = value.dataSync() as Float64Array;
  return { value, error: Float64Array.from(fine, (v, i) => Math.abs(coarse[i]! - v)) };
}

/** Directional central difference (f(x + h t) − f(x − h t)) / 2h for a tensor-valued f. */
export function directionalDifference(f: (x: Tensor) => Tensor, x: Tensor, t: Tensor, h = 1e-5): Tensor {
  const xb = x.dataSync() as Float64Array;
  const tb = t.dataSync() as Float64Array;
  const shift = (s: number) => fromBuffer(Float64Array.from(xb, (v, i) => v + s * tb[i]!), 'float64', x.shape);
  const fp = f(shift(h)).dataSync() as Float64Array;
  const fm = f(shift(-h)).dataSync() as Float64Array;
  const y = f(x);
  return fromBuffer(Float64Array.from(fp, (v, i) => (v - fm[i]!) / (2 * h)), 'float64', y.shape);
}

/** Sum of elementwise products ⟨a, b⟩ of two tensors, as a number. */
export function inner(a: Tensor, b: Tensor): number {
  const x = a.dataSync() as ArrayLike<number>;
  const y = b.dataSync() as ArrayLike<number>;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

export type { DType };

// ---------------------------------------------------------------------------------------------
// Derivative checks for ops of several tensor arguments (added for the prim/transforms laws).
// ---------------------------------------------------------------------------------------------

/** A deterministic generator of numbers uniform in [0, 1) from an integer seed (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A deterministic float64 tensor of `shape` with values uniform in `range`, from an integer seed
 * (mulberry32). Used for tangents, cotangents and directions drawn inside a property, so that
 * fast-check's printed seed still reproduces a failure.
 */
export function seededTensor(shape: readonly number[], seed: number, range: [number, number] = [-1, 1]): Tensor<'float64'> {
  const next = mulberry32(seed);
  const buf = new Float64Array(sizeOf(shape));
  for (let i = 0; i < buf.length; i++) buf[i] = range[0] + (range[1] - range[0]) * next();
  return fromBuffer(buf, 'float64', shape);
}

/** Seeded tensors shaped like each of `xs` (seed, seed+1, …). */
export const seededLike = (xs: readonly Tensor[], seed: number): Tensor<'float64'>[] => xs.map((x, i) => seededTensor(x.shape, seed * 7919 + i * 104729 + 1));

/** Σ over a list of pairs of ⟨aᵢ, bᵢ⟩. */
export const innerN = (as: readonly Tensor[], bs: readonly Tensor[]): number => as.reduce((s, a, i) => s + inner(a, bs[i]!), 0);

/** Σ|aᵢ·bᵢ|: the scale of an inner product, for tolerances that survive cancellation. */
export function innerScale(as: readonly Tensor[], bs: readonly Tensor[]): number {
  let s = 0;
  as.forEach((a, k) => {
    const x = a.dataSync() as ArrayLike<number>;
    const y = bs[k]!.dataSync() as ArrayLike<number>;
    for (let i = 0; i < x.length; i++) s += Math.abs(x[i]! * y[i]!);
  });
  return s;
}

/** Directional central difference (f(x + h t) − f(x − h t)) / 2h for f of a list of float64 tensors. */
export function directionalDifferenceN(f: (xs: Tensor[]) => Tensor, xs: readonly Tensor[], ts: readonly Tensor[], h = 1e-5): Tensor {
  const shift = (s: number) =>
    xs.map((x, k) => {
      const xb = x.dataSync() as Float64Array;
      const tb = ts[k]!.dataSync() as Float64Array;
      return fromBuffer(Float64Array.from(xb, (v, i) => v + s * tb[i]!), 'float64', x.shape) as Tensor;
    });
  const fp = f(shift(h));
  const fm = f(shift(-h));
  const a = fp.dataSync() as Float64Array;
  const b = fm.dataSync() as Float64Array;
  return fromBuffer(Float64Array.from(a, (v, i) => (v - b[i]!) / (2 * h)), 'float64', fp.shape);
}

/** Asserts |a − b| ≤ atol + rtol·scale for two numbers (scale defaults to |b|). */
export function assertCloseScalar(actual: number, expected: number, tol: { rtol: number; atol: number; scale?: number }, label: string): void {
  const bound = tol.atol + tol.rtol * Math.max(Math.abs(expected), tol.scale ?? 0);
  const d = Math.abs(actual - expected);
  if (!(d <= bound)) assert.fail(`${label}: got ${actual} expected ${expected} (|d| = ${d.toExponential(3)}, tol ${bound.toExponential(3)})`);
}

/** Options of {@link checkDerivatives}. */
export interface DerivativeCheckOptions {
  /** Highest order checked: 1 (jvp, vjp, grad), 2 (adds second derivatives) or 3 (default). */
  readonly order?: 1 | 2 | 3;
  /** Finite-difference step (default 1e-5: central differences, O(h²) truncation in float64). */
  readonly h?: number;
  /** Tolerance of AD-vs-finite-difference comparisons (relative to the size of the terms). */
  readonly fdTol?: { rtol: number; atol: number };
  /** Tolerance of AD-vs-AD identities (the adjoint identity). */
  readonly adTol?: { rtol: number; atol: number };
  /** Scalar nonlinearity applied elementwise before summing, so linear ops have higher derivatives. */
  readonly squash?: (y: Tensor) => Tensor;
}

/** Default tolerances: FD in float64 with h = 1e-5 is good to ~1e-8 relative; AD identities to ~1e-12. */
export const FD_TOL = { rtol: 1e-6, atol: 1e-7 } as const;
export const AD_TOL = { rtol: 1e-10, atol: 1e-11 } as const;

/**
 * The derivative laws of one op `f` of several float64 tensors at `xs`, with tangents,
 * cotangents and directions drawn from `seed`:
 *
 * - order 1: jvp(f)(t) = central difference of f along t; ⟨J·t, c⟩ = ⟨t, Jᵀ·c⟩ (jvp vs vjp);
 *   ⟨grad⟨c, f⟩, u⟩ = central difference of ⟨c, f⟩ along u.
 * - order 2: with the scalar composite φ(x) = Σ c·squash(f(x)) (default squash = sin) and
 *   g₁(x) = ⟨∇φ(x), t⟩: ⟨∇g₁, u⟩ (reverse-over-reverse) and ⟨∂ᵤ∇φ, t⟩ (forward-over-reverse)
 *   equal the central difference of g₁ along u; jvp(jvp(f)) equals the difference of jvp(f).
 * - order 3: g₂(x) = ⟨∇g₁(x), u⟩: ⟨∇g₂, w⟩ equals the difference of g₂ along w, and
 *   jvp³(f) equals the difference of jvp²(f).
 *
 * Each higher derivative is compared with a first-order difference of the AD derivative one order
 * lower, which keeps float64 finite differences accurate at every order.
 */
export function checkDerivatives(name: string, f: (xs: Tensor[]) => Tensor, xs: readonly Tensor[], seed: number, opts: DerivativeCheckOptions = {}): void {
  const order = opts.order ?? 3;
  const h = opts.h ?? 1e-5;
  const fdTol = opts.fdTol ?? FD_TOL;
  const adTol = opts.adTol ?? AD_TOL;
  const squash = opts.squash ?? ((y: Tensor) => sinOp(y));
  const X = [...xs];
  const ts = seededLike(X, seed);
  const us = seededLike(X, seed + 1);
  const ws = seededLike(X, seed + 2);
  const y = f(X);
  const c = seededTensor(y.shape, seed * 31 + 3);
  const fdClose = (a: number, b: number, scale: number, label: string) =>
    assertCloseScalar(a, b, { rtol: fdTol.rtol, atol: fdTol.atol, scale }, `${name}: ${label}`);
  const fdCloseT = (a: Tensor, b: Tensor, label: string) => assertClose(a, b, fdTol, `${name}: ${label}`);

  // order 1: jvp vs finite differences; the adjoint identity between jvp and vjp; grad.
  const [, dy] = jvp((xs1: Tensor[]) => f(xs1), [X], [ts]);
  fdCloseT(dy, directionalDifferenceN(f, X, ts, h), 'jvp vs central difference');
  const [, back] = vjp((xs1: Tensor[]) => f(xs1), X);
  const [xBar] = back(c) as unknown as [Tensor[]];
  const lhs = inner(dy, c);
  const rhs = innerN(ts, xBar);
  assertCloseScalar(lhs, rhs, { ...adTol, scale: innerScale(ts, xBar) + innerScale([dy], [c]) }, `${name}: adjoint ⟨J·t, c⟩ = ⟨t, Jᵀ·c⟩`);
  const s = (xs1: Tensor[]) => sumOp(mulOp(f(xs1), c));
  const gS = grad(s)(X) as Tensor[];
  fdClose(innerN(gS, us), directionalDifferenceN(s, X, us, h).item(), innerScale(gS, us), 'grad vs central difference');
  if (order < 2) return;

  // order 2
  const phi = (xs1: Tensor[]) => sumOp(mulOp(squash(f(xs1)), c));
  const g1 = (xs1: Tensor[]) => dotList(grad(phi)(xs1) as Tensor[], ts);
  const gg1 = grad(g1)(X) as Tensor[];
  const fdG1 = directionalDifferenceN(g1, X, us, h).item();
  fdClose(innerN(gg1, us), fdG1, innerScale(gg1, us), 'grad(grad) (reverse-over-reverse) vs central difference of grad');
  const [, hu] = jvp((xs1: Tensor[]) => grad(phi)(xs1) as Tensor[], [X], [us]);
  fdClose(innerN(hu, ts), fdG1, innerScale(hu, ts), 'jvp(grad) (forward-over-reverse) vs central difference of grad');
  const d1 = (xs1: Tensor[]) => jvp((xs2: Tensor[]) => f(xs2), [xs1], [ts])[1];
  const [, d2u] = jvp(d1, [X], [us]);
  fdCloseT(d2u, directionalDifferenceN(d1, X, us, h), 'jvp(jvp) vs central difference of jvp');
  if (order < 3) return;

  // order 3
  const g2 = (xs1: Tensor[]) => dotList(grad(g1)(xs1) as Tensor[], us);
  const gg2 = grad(g2)(X) as Tensor[];
  fdClose(innerN(gg2, ws), directionalDifferenceN(g2, X, ws, h).item(), innerScale(gg2, ws), 'grad³ vs central difference of grad²');
  const d2 = (xs1: Tensor[]) => jvp(d1, [xs1], [us])[1];
  const [, d3w] = jvp(d2, [X], [ws]);
  fdCloseT(d3w, directionalDifferenceN(d2, X, ws, h), 'jvp³ vs central difference of jvp²');
}

/** Σᵢ ⟨aᵢ, bᵢ⟩ as a traced scalar (sums of elementwise products). */
function dotList(as: readonly Tensor[], bs: readonly Tensor[]): Tensor {
  return as.map((a, i) => sumOp(mulOp(a, bs[i]!))).reduce((p, q) => addOp(p, q));
}

// ---------------------------------------------------------------------------------------------
// Generators for smooth domains (added for the prim laws).
// ---------------------------------------------------------------------------------------------

/** An integer seed for {@link seededTensor} (drawn by fast-check, so failures reproduce). */
export const arbSeed = fc.integer({ min: 0, max: 0x7fffffff });

/** Moves every value at least `gap` away from 0 (v ↦ v ± gap), for ops with a kink at 0. */
export function awayFromZero(x: Tensor, gap = 0.1): Tensor<'float64'> {
  const d = x.dataSync() as Float64Array;
  return fromBuffer(Float64Array.from(d, (v) => (v >= 0 ? v + gap : v - gap)), 'float64', x.shape);
}

/**
 * Distinct values with a gap: the generated values are replaced by their ranks spread over
 * [lo, hi], so max/min have a unique, well-separated extremum and finite differences never cross
 * a tie (the gap is (hi − lo)/(2n)).
 */
export function distinctValues(x: Tensor, lo = -2, hi = 2): Tensor<'float64'> {
  const d = Array.from(x.dataSync() as ArrayLike<number>);
  const order = d.map((_, i) => i).sort((a, b) => d[a]! - d[b]! || a - b);
  const out = new Float64Array(d.length);
  order.forEach((idx, r) => (out[idx] = lo + ((hi - lo) * (r + 0.5)) / d.length));
  return fromBuffer(out, 'float64', x.shape);
}

/**
 * Two shapes that broadcast together: a base shape, and a second one made by dropping some
 * leading axes and setting some axes to 1; the pair is returned in random order.
 */
export const arbBroadcastShapes = (opts: { rank?: [number, number]; size?: [number, number] } = {}) =>
  arbShape(opts).chain((s) =>
    fc
      .tuple(fc.integer({ min: 0, max: s.length }), fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.boolean())
      .map(([drop, ones, swap]) => {
        const t = s.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
        return (swap ? [t, [...s]] : [[...s], t]) as [number[], number[]];
      }),
  );

/** A subset of the axes of a rank-r tensor, given as `undefined` (all), one axis or a list, possibly negative. */
export const arbAxes = (rank: number) =>
  fc.oneof(
    fc.constant(undefined),
    fc.array(fc.boolean(), { minLength: rank, maxLength: rank }).chain((mask) => {
      const axes = mask.flatMap((m, i) => (m ? [i] : []));
      return fc.array(fc.boolean(), { minLength: axes.length, maxLength: axes.length }).map((negs) => axes.map((a, i) => (negs[i] ? a - rank : a)));
    }),
    ...(rank > 0 ? [fc.integer({ min: -rank, max: rank - 1 })] : []),
  ) as fc.Arbitrary<number | number[] | undefined>;

/** Asserts that `f` throws an instance of `cls` whose message mentions every one of `parts`. */
export const throwsWith = (f: () => unknown, cls: new (...a: any[]) => Error, ...parts: string[]): void =>
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    for (const p of parts) assert.ok((e as Error).message.includes(p), `message '${(e as Error).message}' should mention '${p}'`);
    return true;
  });
