/**
 * Host-side special functions in float64 for the normal sampler: erf, erfc and the inverse error
 * function. The sampler maps uniform bits through √2·erfinv (an inverse-CDF method, as JAX does),
 * so the accuracy of these functions is the accuracy of the normals.
 */

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/√π
/**
 * Below this the series is used (erfc = 1 − erf loses at most ~1e-15 there since erfc(1.5) ≈ 0.034);
 * above it the continued fraction, which needs at most ~90 terms from 1.5 on.
 */
const SERIES_MAX = 1.5;

/**
 * erf(x) for |x| ≤ 1.5 by the all-positive series erf(x) = (2/√π)·e^{−x²}·Σₙ (2x²)ⁿ·x/(1·3·…·(2n+1)):
 * no cancellation, about 1 ulp of relative error.
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term <= sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/**
 * erfc(x) for x > 1.5 by the continued fraction erfc(x) = (e^{−x²}/√π)·1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))),
 * evaluated with the modified Lentz method; relative error near 1e-15.
 */
function erfcFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (TWO_OVER_SQRT_PI / 2) * Math.exp(-x * x) / f;
}

/** The error function erf(x) = (2/√π)∫₀ˣ e^{−t²} dt, in float64. `erf(1) ≈ 0.8427007929497149`. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  const v = a <= SERIES_MAX ? erfSeries(a) : 1 - erfcFraction(a);
  return x < 0 ? -v : v;
}

/** The complementary error function erfc(x) = 1 − erf(x), accurate in relative terms in the right tail. `erfc(3) ≈ 2.209e-5`. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x === Infinity) return 0;
  return x <= SERIES_MAX ? 1 - erfSeries(x) : erfcFraction(x);
}

/**
 * The inverse error function: the y with erf(y) = u, for u in [−1, 1] (±∞ at ±1).
 * Winitzki's closed-form guess refined by Halley steps, on erf(y) = |u| for |u| ≤ 1/2 and on
 * erfc(y) = 1 − |u| beyond, so that both the centre and the tails keep their relative accuracy
 * (1 − |u| is exact for |u| ≥ 1/2).
 *
 *     erfinv(0.5)  // ≈ 0.4769362762044699
 */
export function erfinv(u: number): number {
  if (Number.isNaN(u) || u < -1 || u > 1) return NaN;
  if (u === 0) return u;
  const p = Math.abs(u);
  const q = 1 - p;
  if (q === 0) return u > 0 ? Infinity : -Infinity;
  // Winitzki (2008): erfinv(p) ≈ √(√(b² − ln(1−p²)/a) − b), b = 2/(πa) + ln(1−p²)/2, a = 0.147.
  const a = 0.147;
  const l = p <= 0.5 ? Math.log1p(-p * p) : Math.log(q) + Math.log(2 - q); // ln(1 − p²) without cancellation
  const b = 2 / (Math.PI * a) + l / 2;
  let y = Math.sqrt(Math.sqrt(b * b - l / a) - b);
  const centre = p <= 0.5;
  for (let i = 0; i < 6; i++) {
    // g(y) = erf(y) − p (or erfc(y) − q), g' = ±(2/√π)e^{−y²}, g''/g' = −2y:
    // Halley's step is y − e/(1 + y·e) with e = g/g'.
    const e = centre ? (erf(y) - p) / (TWO_OVER_SQRT_PI * Math.exp(-y * y)) : (erfc(y) - q) / (-TWO_OVER_SQRT_PI * Math.exp(-y * y));
    const step = e / (1 + y * e);
    y -= step;
    if (Math.abs(step) <= 1e-15 * y) break;
  }
  return u > 0 ? y : -y;
}
