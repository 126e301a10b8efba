import { isFloat } from '../core/dtype.js';
import { ShapeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { flatten, unflatten } from '../core/tree.js';
import { JetTrace, JetTracer } from '../interp/jet.js';
import { zerosLike } from '../prim/constant.js';
import { scaleBy } from '../prim/elementwise.js';
import { matchTangents, type TangentsOf } from './args.js';

/** The Taylor terms of an argument list: for each argument, K terms shaped like it (null subtrees: zero). */
export type SeriesOf<A extends readonly unknown[]> = { readonly [K in keyof A]: readonly TangentsOf<[A[K]]>[0][] };

/**
 * Taylor mode (JAX's `jax.experimental.jet`): propagates a truncated Taylor series through `f` in
 * one pass. With K terms per argument, `series[i][j]` is the (j+1)-th derivative of argument i along
 * a curve, x_i(t) = primals[i] + Σ_{j<K} series[i][j]·t^{j+1}/(j+1)!, and the result is
 * `[f(...primals), terms]` with `terms[j]` (shaped like f's output) the (j+1)-th derivative of
 * t ↦ f(x(t)) at t = 0. With series [[v, 0, …, 0]] (a straight line), `terms[k−1]` is the k-th
 * directional derivative ∂ᵏf(x)[v, …, v] — what k nested `jvp`s give, without their 2ᵏ streams.
 * A term may be `null` (or have `null` subtrees): a symbolic zero, for which nothing is computed.
 * Composes with the other transforms (`grad` of a function using `jet`, `jet` under `jit`/`vmap`).
 *
 *     const [y, [d1, d2, d3]] = jet((x) => sum(tanh(x)), [x], [[v, null, null]]); // d3 = ∂³f(x)[v, v, v]
 *     const [, [, d2]] = jet(f, [x], [[v, w]]); // ∂²f(x)[v, v] + ∂f(x)[w]
 */
export function jet<A extends readonly unknown[], R>(f: (...args: A) => R, primals: A, series: SeriesOf<A>): [R, R[]] {
  if (!Array.isArray(series) || series.length !== primals.length)
    throw new ShapeError(`jet: series must hold one list of terms per argument: ${primals.length} argument(s), got ${Array.isArray(series) ? series.length : typeof series}`);
  const orders = series.map((s, i) => {
    if (!Array.isArray(s)) throw new ShapeError(`jet: series[${i}] must be a list of Taylor terms, got ${typeof s}`);
    return s.length;
  });
  const K = orders[0] ?? 0;
  if (orders.some((k) => k !== K)) throw new ShapeError(`jet: the arguments have different numbers of Taylor terms (${orders.join(', ')}); every argument needs the same`);
  // per argument leaf: its K normalised coefficients term/k!
  const leaves: Tensor[] = [];
  const coefficients: (Tensor | null)[][] = [];
  const defs = primals.map((p, i) => {
    const terms = (series[i] as readonly unknown[]).map((t, j) => matchTangents('jet', `series[${i}][${j}]`, p, t));
    const first = flatten(p);
    first.leaves.forEach((x, l) => {
      leaves.push(x);
      coefficients.push(terms.map((t, j) => (isFloat(x.dtype) ? scaleBy(t.others[l] ?? null, 1 / factorial(j + 1)) : null)));
    });
    return first;
  });
  const trace = new JetTrace(K);
  try {
    let next = 0;
    const args = defs.map((d) => unflatten(d.def, d.leaves.map(() => {
      const k = next++;
      return new JetTracer(trace, leaves[k]!, coefficients[k]!);
    })));
    const out = flatten(f(...(args as unknown as A)));
    const parts = out.leaves.map((x) => trace.unpack(x));
    return [
      unflatten<R>(out.def, parts.map((p) => p[0])),
      Array.from({ length: K }, (_, j) =>
        unflatten<R>(out.def, parts.map(([p, s]) => scaleBy(s[j] ?? null, factorial(j + 1)) ?? zerosLike(p))),
      ),
    ];
  } finally {
    trace.close();
  }
}

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
