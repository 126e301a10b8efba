/**
 * Mixed partial derivatives from univariate Taylor series (Griewank, Utke & Walther, "Evaluating
 * higher derivative tensors by forward propagation of univariate Taylor series", Math. Comp. 69,
 * 2000). For f: ℝ^S → ℝ and a multi-index j with |j| = k, let T(j) be the k-th normalised Taylor
 * coefficient of t ↦ f(x + t·Σ_m j_m·e_m) (one jet pass). Then every order-k partial derivative
 * is a fixed combination of them:
 *
 *     ∂ⁱf(x) = Σ_{|j| = k} γ_ij·T(j),   γ_ij = Σ_{0 < κ ≤ i} (−1)^{k−|κ|} C(i, κ)·C(k·κ/|κ|, j)·(|κ|/k)^k,
 *
 * with vector binomials C(a, b) = Π_m C(a_m, b_m) (generalised: a_m may be fractional). γ_ij is 0
 * unless j's support lies in i's, so each ∂ⁱf needs at most C(2k − 1, k) of the T(j), and
 * |γ_ij| ≤ 1. There are as many multi-indices j as sorted k-tuples of groups, so the order-k
 * summary costs one jet of k + 1 coefficients per tuple (where k nested jvps carry 2ᵏ streams).
 */

/** The plan for the order-k tuples of S groups: the jet directions and, per tuple, which of their results to combine with which weights. */
export interface TaylorInterpolation {
  /** The multi-index j of each jet direction (Σ_m j_m·e_m), one per tuple (the same order). */
  readonly directions: readonly (readonly number[])[];
  /** Combination width: every tuple combines `width` jet results (unused slots have weight 0). */
  readonly width: number;
  /** For tuple t, slot w: the direction whose jet result enters (flat, tuple-major). */
  readonly take: Int32Array;
  /** For tuple t, slot w: its weight γ_ij / k! (the jets return k-th derivatives, k!·T(j)). */
  readonly weights: Float64Array;
}

const binomial = (a: number, b: number): number => {
  let c = 1;
  for (let q = 0; q < b; q++) c = (c * (a - q)) / (q + 1);
  return c;
};
const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

/** All ways to write k as an ordered sum of `parts` non-negative integers. */
function compositions(k: number, parts: number): number[][] {
  if (parts === 1) return [[k]];
  const out: number[][] = [];
  for (let a = k; a >= 0; a--) for (const rest of compositions(k - a, parts - 1)) out.push([a, ...rest]);
  return out;
}

/** γ_ij over a shared support (i and j given on it). */
function gamma(i: readonly number[], j: readonly number[], k: number): number {
  let g = 0;
  const walk = (kappa: number[]): void => {
    if (kappa.length === i.length) {
      const size = kappa.reduce((a, b) => a + b, 0);
      if (size === 0) return;
      let term = (k - size) % 2 === 0 ? 1 : -1;
      kappa.forEach((km, m) => (term *= binomial(i[m]!, km) * binomial((k * km) / size, j[m]!)));
      g += term * (size / k) ** k;
      return;
    }
    for (let a = 0; a <= i[kappa.length]!; a++) walk([...kappa, a]);
  };
  walk([]);
  return g;
}

/** The interpolation plan for the sorted k-tuples `tuples` over S groups (every sorted tuple, in any fixed order). */
export function taylorInterpolation(S: number, k: number, tuples: readonly (readonly number[])[]): TaylorInterpolation {
  const multiIndex = (t: readonly number[]): number[] => {
    const i = new Array<number>(S).fill(0);
    for (const s of t) i[s]!++;
    return i;
  };
  const directions = tuples.map(multiIndex);
  const position = new Map(directions.map((j, n) => [j.join(','), n]));
  const width = binomial(2 * k - 1, k);
  const take = new Int32Array(tuples.length * width);
  const weights = new Float64Array(tuples.length * width);
  const scale = 1 / factorial(k);
  directions.forEach((i, t) => {
    const support = i.flatMap((v, m) => (v > 0 ? [m] : []));
    const iOn = support.map((m) => i[m]!);
    compositions(k, support.length).forEach((jOn, w) => {
      const j = new Array<number>(S).fill(0);
      support.forEach((m, q) => (j[m] = jOn[q]!));
      take[t * width + w] = position.get(j.join(','))!;
      weights[t * width + w] = gamma(iOn, jOn, k) * scale;
    });
  });
  return { directions, width, take, weights };
}
