/**
 * Host-side special functions in float64 for the normal sampler: erf, erfc and the inverse error
 * function. The sampler maps uniform bits through √2·erfinv (an inverse-CDF method, as JAX does),
 * so the accuracy of these functions is the accuracy of the normals.
 */

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/√π
/**
 * Below this the series is used (erfc = 1 − erf then loses at most a factor erf/erfc ≤ 5.4 of
 * relative accuracy, since erfc(1) ≈ 0.157); above it the continued fraction, which needs at most
 * ~190 terms from 1 on.
 */
const SERIES_MAX = 1;

/**
 * erf(x) for |x| ≤ 1 by the all-positive series erf(x) = (2/√π)·e^{−x²}·Σₙ (2x²)ⁿ·x/(1·3·…·(2n+1)):
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
 * erfc(x) for x > 1 by the continued fraction erfc(x) = (e^{−x²}/√π)·1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))),
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
 * Giles's single-precision approximation of erfinv (M. Giles, "Approximating the erfinv function",
 * GPU Computing Gems, 2011): two polynomials in w = −ln(1 − u²); relative error about 1e-7.
 * `l` is ln(1 − u²), computed by the caller without cancellation.
 */
function gilesGuess(u: number, l: number): number {
  let w = -l;
  let p: number;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-8;
    p = 3.43273939e-7 + p * w;
    p = -3.5233877e-6 + p * w;
    p = -4.39150654e-6 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = Math.sqrt(w) - 3;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  return p * u;
}

/**
 * The inverse error function: the y with erf(y) = u, for u in [−1, 1] (±∞ at ±1), in float64.
 * Giles's approximation refined by Halley steps, on erf(y) = |u| for |u| ≤ 1/2 and on
 * erfc(y) = 1 − |u| beyond, so that both the centre and the tails keep their relative accuracy
 * (1 − |u| is exact for |u| ≥ 1/2). Halley's method triples the number of correct digits per step,
 * so one step from the 1e-7 guess reaches float64 precision.
 *
 *     erfinv(0.5)  // ≈ 0.4769362762044699
 */
export function erfinv(u: number): number {
  if (Number.isNaN(u) || u < -1 || u > 1) return NaN;
  if (u === 0) return u;
  const p = Math.abs(u);
  const q = 1 - p;
  if (q === 0) return u > 0 ? Infinity : -Infinity;
  const centre = p <= 0.5;
  const l = centre ? Math.log1p(-p * p) : Math.log(q) + Math.log(2 - q); // ln(1 − p²) without cancellation
  let y = gilesGuess(p, l);
  for (let i = 0; i < 8; i++) {
    // g(y) = erf(y) − p (or erfc(y) − q), g' = ±(2/√π)e^{−y²}, g''/g' = −2y:
    // Halley's step is y − e/(1 + y·e) with e = g/g'.
    const e = centre ? (erf(y) - p) / (TWO_OVER_SQRT_PI * Math.exp(-y * y)) : (erfc(y) - q) / (-TWO_OVER_SQRT_PI * Math.exp(-y * y));
    const step = e / (1 + y * e);
    y -= step;
    // a step of relative size δ leaves an error of order δ³·(1 + y²): below 1e-6, that is below an ulp
    if (Math.abs(step) <= 1e-6 * y) break;
  }
  return u > 0 ? y : -y;
}
