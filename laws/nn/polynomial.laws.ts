import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as px from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { assertClose, RUNS } from '../harness/index.js';

/**
 * The polynomial model of grnewt (out[n] = Σ_k x[n, k]·c_k^k, nn/polynomial.ts) with an mse loss:
 * its partition summary (canonical partition: one group per coefficient) against closed forms, at
 * coefficients of which some are exactly 0. Along group s the coefficient moves to c + t·u and
 * e_n(t) = out_n − y_n changes by x[n, s]·((c + t·u)^s − c^s), whose j-th t-derivative at 0 is
 * x[n, s]·u^j·s(s−1)…(s−j+1)·c^(s−j), so with L = mean(e²):
 *
 *     ḡ_s = mean 2·e·e′,   H̄_st = mean 2·(e′_s·e′_t + [s = t]·e·e″),   order3_s = mean 2·(e·e‴ + 3·e′·e″).
 *
 * At c_s = 0 the powers c^(s−j) with s < j never appear (the falling factorial is 0 first); a
 * power rule y·x^(y−1) with a tensor exponent met 0·0^(−1) = NaN there from the second order on.
 */

/** u^j·s(s−1)…(s−j+1)·c^(s−j): the j-th derivative of (c + t·u)^s at t = 0. */
function powerDerivative(s: number, j: number, c: number, u: number): number {
  let f = 1;
  for (let i = 0; i < j; i++) f *= s - i;
  return f === 0 ? 0 : f * Math.pow(u, j) * Math.pow(c, s - j);
}

const arbCase = fc.record({ degree: fc.integer({ min: 1, max: 7 }), n: fc.integer({ min: 1, max: 5 }) }).chain(({ degree, n }) => {
  const vals = (len: number) => fc.array(fc.double({ min: -1.5, max: 1.5, noNaN: true }), { minLength: len, maxLength: len });
  return fc.record({
    degree: fc.constant(degree),
    x: vals(n * (degree + 1)),
    y: vals(n),
    coeffs: vals(degree + 1),
    // at least one coefficient is exactly 0
    zeros: fc.array(fc.boolean(), { minLength: degree + 1, maxLength: degree + 1 }).chain((z) => fc.integer({ min: 0, max: degree }).map((k) => z.map((b, i) => b || i === k))),
    u: vals(degree + 1),
  });
});

test('polynomial model with zero coefficients: ḡ, H̄ and order3 of the canonical partition are finite and equal the closed forms (float64)', () => {
  fc.assert(
    fc.property(arbCase, ({ degree, x, y, coeffs, zeros, u }) => {
      const d = degree + 1;
      const n = y.length;
      const c = coeffs.map((v, k) => (zeros[k] ? 0 : v));
      const params: px.nn.PolynomialParams<'float64'> = { coeffs: c.map((v) => px.tensor(v, 'float64') as Tensor<'float64'>) };
      const dir: px.nn.PolynomialParams<'float64'> = { coeffs: u.map((v) => px.tensor(v, 'float64') as Tensor<'float64'>) };
      const xt = px.tensor(x, 'float64', [n, d]);
      const yt = px.tensor(y, 'float64', [n]);
      const loss = (p: px.nn.PolynomialParams<'float64'>) => px.nn.mse(px.nn.polynomialApply(p, xt), yt);
      const s = px.summary(loss, params, dir, px.partition.canonical(params), { order: 3 });
      // closed forms
      const e = Array.from({ length: n }, (_, r) => c.reduce((acc, ck, k) => acc + x[r * d + k]! * Math.pow(ck, k), 0) - y[r]!);
      const de = (r: number, k: number, j: number) => x[r * d + k]! * powerDerivative(k, j, c[k]!, u[k]!);
      const mean = (f: (r: number) => number) => Array.from({ length: n }, (_, r) => f(r)).reduce((a, b) => a + b, 0) / n;
      const g = c.map((_, k) => mean((r) => 2 * e[r]! * de(r, k, 1)));
      const H = c.flatMap((_, k) => c.map((_, l) => mean((r) => 2 * (de(r, k, 1) * de(r, l, 1) + (k === l ? e[r]! * de(r, k, 2) : 0)))));
      const o3 = c.map((_, k) => mean((r) => 2 * (e[r]! * de(r, k, 3) + 3 * de(r, k, 1) * de(r, k, 2))));
      for (const [name, t] of [['g', s.g], ['H', s.H!], ['order3', s.order3!]] as const)
        assert.ok(Array.from(t.dataSync() as Float64Array).every(Number.isFinite), `${name} is not finite: ${Array.from(t.dataSync())} (coefficients ${c})`);
      const tol = { rtol: 1e-10, atol: 1e-12 };
      assertClose(s.g, px.tensor(g, 'float64'), tol, 'ḡ');
      assertClose(s.H!, px.tensor(H, 'float64', [d, d]), tol, 'H̄');
      assertClose(s.order3!, px.tensor(o3, 'float64'), tol, 'order3');
    }),
    RUNS,
  );
});
