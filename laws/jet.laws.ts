import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as px from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { primitives } from '../src/prim/primitive.js';
import * as E from '../src/prim/elementwise.js';
import { broadcastInDim, reduceSum } from '../src/prim/broadcast.js';
import { reshape as reshapeP, transpose as transposeP, slice as sliceP, pad as padP } from '../src/prim/structural.js';
import { concatenate } from '../src/prim/concatenate.js';
import { checkedIndices, gather, scatterAdd } from '../src/prim/gather.js';
import { argmax, argmin, reduceMax, reduceMin } from '../src/prim/reduce.js';
import { stopGradient } from '../src/prim/stop-gradient.js';
import { matmul, mT } from '../src/prim/matmul.js';
import { cholesky, det, eigh, slogdet, solve, triangularSolve } from '../src/prim/linalg.js';
import { arbSeed, assertClose, awayFromZero, distinctValues, runs, seededTensor } from './harness/index.js';

/**
 * Laws of Taylor mode (`jet`, src/interp/jet.ts and the primitives' jet rules), in float64:
 *
 * - every registered primitive (but `jit_call`, covered by jet of a jitted function) has a case
 *   below, and on generated inputs and generated curves x(t) = x₀ + Σ_j x_j·t^j/j! (four terms, some
 *   of them symbolic zeros) its jet to order 4 equals the derivatives of t ↦ f(x(t)) at 0 taken by
 *   four nested jvps;
 * - the k-th jet term along a line equals the central difference of the (k−1)-th;
 * - jet under jit equals eager jet, jet of a jitted function equals jet of the function, vmap of
 *   jet equals jet per example, and grad of a function that uses jet equals grad of the same
 *   function written with nested jvps (and its finite differences);
 * - bad series are rejected with messages that name them.
 */

const K = 4;
const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));

/** A primitive applied to its float arguments (anything else it needs is captured). */
interface Case {
  readonly floats: Tensor[];
  readonly apply: (xs: readonly Tensor[]) => Tensor[];
  /** Tolerance override (a float32 cast). */
  readonly rtol?: number;
}

type Make = (shape: number[], seed: number) => Case;

const T = (shape: readonly number[], seed: number, range: [number, number] = [-2, 2]) => seededTensor(shape, seed, range) as Tensor;
const one = (f: (x: Tensor) => Tensor, range: [number, number] = [-2, 2], map: (x: Tensor) => Tensor = (x) => x): Make => (s, seed) => ({
  floats: [map(T(s, seed, range))],
  apply: ([x]) => [f(x!)],
});
const two = (f: (a: Tensor, b: Tensor) => Tensor, ra: [number, number] = [-2, 2], rb: [number, number] = [-2, 2], mapB: (x: Tensor) => Tensor = (x) => x): Make => (s, seed) => ({
  floats: [T(s, seed, ra), mapB(T(s, seed + 1, rb))],
  apply: ([a, b]) => [f(a!, b!)],
});
const asFloat = (x: Tensor) => E.convert(x, 'float64');
/** Shape with a leading axis of at least 2 (for gathers and slices). */
const lead2 = (s: number[]) => (s.length === 0 ? [2] : [Math.max(2, s[0]!), ...s.slice(1)]);
const idxFor = (n: number, count: number, seed: number) => px.tensor(Array.from({ length: count }, (_, i) => (seed + 7 * i) % n), 'int32');
const eyeN = (n: number, batch: readonly number[], c: number) => px.broadcastTo(px.mul(px.eye(n, 'float64'), c), [...batch, n, n]);
const sq = (s: number[]) => {
  const n = 1 + ((s[0] ?? 2) % 3);
  return { n, batch: s.length > 2 ? [s[1]! % 2 + 1] : [] };
};

/** The cases, by primitive name. */
const CASES: Record<string, Make> = {
  reshape: one((x) => reshapeP(x, [x.size])),
  transpose: one((x) => transposeP(x, x.shape.map((_, i) => x.rank - 1 - i))),
  slice: (s, seed) => one((x) => sliceP(x, x.shape.map((d) => d >> 1), x.shape))(lead2(s), seed),
  pad: one((x) => padP(x, x.shape.map(() => 1), x.shape.map((_, i) => i % 2), 2.5)),
  broadcast_in_dim: one((x) => broadcastInDim(x, [2, ...x.shape], x.shape.map((_, i) => i + 1))),
  reduce_sum: one((x) => reduceSum(x, x.shape.map((_, i) => i))),
  neg: one(E.neg),
  exp: one(E.exp),
  log: one(E.log, [0.2, 3]),
  log1p: one(E.log1p, [-0.5, 2]),
  expm1: one(E.expm1),
  sqrt: one(E.sqrt, [0.2, 3]),
  tanh: one(E.tanh),
  sin: one(E.sin, [-3, 3]),
  cos: one(E.cos, [-3, 3]),
  abs: one(E.abs, [-2, 2], (x) => awayFromZero(x)),
  sign: one((x) => E.mul(E.sign(x), x), [-2, 2], (x) => awayFromZero(x)),
  floor: one((x) => E.add(E.floor(x), x), [-2, 2], (x) => awayFromZero(x, 0.01)),
  add: two(E.add),
  sub: two(E.sub),
  mul: two(E.mul),
  div: two(E.div, [-2, 2], [-2, 2], (b) => awayFromZero(b, 0.5)),
  pow: two(E.pow, [0.3, 2], [-2, 2]),
  integer_pow: (s, seed) => {
    const y = (seed % 8) - 3;
    // a negative power needs x away from 0; a non-negative one is checked at 0 too
    const x = y < 0 ? awayFromZero(T(s, seed), 0.3) : seed % 3 === 0 ? px.zeros(s, 'float64') : T(s, seed);
    return { floats: [x], apply: ([a]) => [E.integerPow(a!, y)] };
  },
  max: (s, seed) => ({ floats: [T(s, seed), T(s, seed + 1)], apply: ([a, b]) => [E.max(a!, b!)] }),
  min: (s, seed) => ({ floats: [T(s, seed), T(s, seed + 1)], apply: ([a, b]) => [E.min(a!, b!)] }),
  lt: two((a, b) => E.mul(asFloat(E.lt(a, b)), a)),
  le: two((a, b) => E.mul(asFloat(E.le(a, b)), a)),
  gt: two((a, b) => E.mul(asFloat(E.gt(a, b)), a)),
  ge: two((a, b) => E.mul(asFloat(E.ge(a, b)), a)),
  eq: two((a, b) => E.mul(asFloat(E.eq(a, b)), a)),
  ne: two((a, b) => E.mul(asFloat(E.ne(a, b)), a)),
  and: two((a, b) => E.mul(asFloat(E.and(E.gt(a, b), E.lt(a, E.neg(b)))), a)),
  or: two((a, b) => E.mul(asFloat(E.or(E.gt(a, b), E.lt(a, E.neg(b)))), a)),
  not: two((a, b) => E.mul(asFloat(E.not(E.gt(a, b))), a)),
  select: (s, seed) => {
    const cond = E.gt(T(s, seed + 2), E.neg(T(s, seed + 3)));
    return { floats: [T(s, seed), T(s, seed + 1)], apply: ([a, b]) => [E.select(cond, a!, b!)] };
  },
  convert: (s, seed) => ({ floats: [T(s, seed)], apply: ([x]) => [E.convert(x!, 'float32')], rtol: 1e-6 }),
  concatenate: (s, seed) => two((a, b) => concatenate([a, b], 0))(lead2(s), seed),
  check_index: (s, seed) => {
    const sh = lead2(s);
    const idx = idxFor(sh[0]!, 3, seed);
    return { floats: [T(sh, seed)], apply: ([x]) => [gather(x!, checkedIndices(idx, sh[0]!, 0, 'take'), 0)] };
  },
  gather: (s, seed) => {
    const sh = lead2(s);
    const idx = idxFor(sh[0]!, 4, seed);
    return { floats: [T(sh, seed)], apply: ([x]) => [gather(x!, idx, 0)] };
  },
  scatter_add: (s, seed) => {
    const sh = lead2(s);
    const idx = idxFor(sh[0]!, 3, seed);
    return { floats: [T([3, ...sh.slice(1)], seed)], apply: ([u]) => [scatterAdd(u!, idx, 0, sh)] };
  },
  reduce_max: one((x) => reduceMax(x, x.shape.map((_, i) => i)), [-2, 2], (x) => distinctValues(x)),
  reduce_min: one((x) => reduceMin(x, x.shape.map((_, i) => i)), [-2, 2], (x) => distinctValues(x)),
  argmax: (s, seed) => one((x) => E.mul(asFloat(argmax(x, 0)), reduceSum(x, [0])))(lead2(s), seed),
  argmin: (s, seed) => one((x) => E.mul(asFloat(argmin(x, 0)), reduceSum(x, [0])))(lead2(s), seed),
  stop_gradient: one((x) => E.mul(stopGradient(x), E.sin(x))),
  matmul: (s, seed) => {
    const [m, k, n] = [1 + (s[0] ?? 1) % 3, 1 + (s[1] ?? 2) % 4, 1 + (seed % 3)];
    const batch = s.length > 2 ? [2] : [];
    return { floats: [T([...batch, m, k], seed), T([...batch, k, n], seed + 1)], apply: ([a, b]) => [matmul(a!, b!)] };
  },
  // the factorisations on matrices made well posed from free entries (so every curve stays in the domain)
  cholesky: (s, seed) => {
    const { n, batch } = sq(s);
    return { floats: [T([...batch, n, n], seed, [-1, 1])], apply: ([m]) => [cholesky(E.add(matmul(m!, mT(m!)), eyeN(n, batch, n / 2 + 0.5)))] };
  },
  triangular_solve: (s, seed) => {
    const { n, batch } = sq(s);
    const [lower, transposeA] = [seed % 2 === 0, seed % 4 < 2];
    return {
      floats: [T([...batch, n, n], seed, [-1, 1]), T([...batch, n, 2], seed + 1)],
      apply: ([a, b]) => [triangularSolve(E.add(a!, eyeN(n, batch, 2.5)), b!, lower, transposeA)],
    };
  },
  solve: (s, seed) => {
    const { n, batch } = sq(s);
    return { floats: [T([...batch, n, n], seed, [-1, 1]), T([...batch, n, 2], seed + 1)], apply: ([a, b]) => [solve(E.add(a!, eyeN(n, batch, n + 0.5)), b!)] };
  },
  det: (s, seed) => {
    const { n, batch } = sq(s);
    return { floats: [T([...batch, n, n], seed, [-1, 1])], apply: ([a]) => [det(E.add(a!, eyeN(n, batch, n + 0.5)))] };
  },
  slogdet: (s, seed) => {
    const { n, batch } = sq(s);
    return { floats: [T([...batch, n, n], seed, [-1, 1])], apply: ([a]) => slogdet(E.add(a!, eyeN(n, batch, n + 0.5))) };
  },
  eigh: (s, seed) => {
    const { n, batch } = sq(s);
    // eigenvalues near 0, 3, 6…: separated along the whole curve for |t| small
    const spread = px.broadcastTo(px.tensor(Array.from({ length: n * n }, (_, f) => (f % (n + 1) === 0 ? 3 * (f / (n + 1)) : 0)), 'float64', [n, n]), [...batch, n, n]);
    return {
      floats: [T([...batch, n, n], seed, [-0.5, 0.5])],
      apply: ([m]) => {
        const a = E.add(E.add(m!, mT(m!)), spread);
        const [w, v] = eigh(a);
        // eigenvectors up to sign: compare V·diag(w)·Vᵀ-free sign-invariant products
        return [w, E.mul(v, v)];
      },
    };
  },
};

/** Curve terms for the float arguments: K per argument from the seed; a term whose `zero` flag is set (odd i + j) is a symbolic zero. */
const curveTerms = (floats: readonly Tensor[], seed: number, zero: readonly boolean[]) =>
  floats.map((x, i) => Array.from({ length: K }, (_, j) => (zero[(i * K + j) % zero.length] && (i + j) % 2 === 1 ? null : (seededTensor(x.shape, seed + 31 * i + j + 5) as Tensor))));

/** x(t) = x₀ + Σ_j terms_j·t^{j+1}/(j+1)! for a scalar t. */
const curve = (floats: readonly Tensor[], terms: readonly (readonly (Tensor | null)[])[]) => (t: Tensor) =>
  floats.map((x, i) =>
    terms[i]!.reduce<Tensor>((acc, c, j) => {
      if (c == null) return acc;
      let tp: Tensor = t;
      for (let p = 1; p <= j; p++) tp = px.mul(tp, t);
      return px.add(acc, px.mul(c, px.mul(tp, 1 / fact(j + 1))));
    }, x),
  );

/** The derivatives 1 … K of t ↦ f(x(t)) at t = 0, by nested jvps. */
function nestedDerivatives(g: (t: Tensor) => Tensor[]): Tensor[][] {
  const t0 = px.zeros([], 'float64');
  const oneT = px.ones([], 'float64');
  const out: Tensor[][] = [];
  let h = g;
  for (let k = 1; k <= K; k++) {
    const prev = h;
    h = (t: Tensor) => px.jvp(prev, [t], [oneT])[1];
    out.push(h(t0));
  }
  return out;
}

const maxAbs = (x: Tensor) => (x.dataSync() as ArrayLike<number>).length === 0 ? 0 : Math.max(...Array.from(x.dataSync() as ArrayLike<number>, Math.abs));

/**
 * Both sides compute the same polynomial in the coefficients, with different groupings of float64
 * sums and products (tens of rounded operations of magnitude at most the largest term), so they
 * agree to a small multiple of ε·(largest term): 1e-9 of the largest coefficient leaves a margin
 * of about 10⁵ over ε = 1.1e-16 times the operation count.
 */
function closeSeries(got: readonly Tensor[], want: readonly Tensor[], label: string, rtol = 1e-9): void {
  got.forEach((g, k) => {
    const w = want[k]!;
    const scale = Math.max(maxAbs(w), maxAbs(g));
    assertClose(px.astype(g, 'float64'), px.astype(w, 'float64'), { rtol, atol: rtol * scale + 1e-12 }, `${label}, term ${k + 1}`);
  });
}

const arbShapeSmall = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 3 });

test('every registered primitive has a jet case here (jit_call: through its program, below)', () => {
  const missing = [...primitives().keys()].filter((n) => n !== 'jit_call' && !n.startsWith('test_') && !(n in CASES));
  assert.deepEqual(missing, []);
});

for (const [name, make] of Object.entries(CASES)) {
  test(`jet of ${name} to order ${K} equals four nested jvps along generated curves (float64)`, () => {
    fc.assert(
      fc.property(arbShapeSmall, arbSeed, fc.array(fc.boolean(), { minLength: 3 * K, maxLength: 3 * K }), (shape, seed, zero) => {
        const c = make(shape, seed);
        const terms = curveTerms(c.floats, seed, zero);
        const [outs, series] = px.jet((...xs: Tensor[]) => c.apply(xs), c.floats, terms as never);
        const want = nestedDerivatives((t) => c.apply(curve(c.floats, terms)(t)));
        const direct = c.apply(c.floats);
        outs.forEach((o, i) => assertClose(o, direct[i]!, { rtol: 0, atol: 0 }, `${name}: primal ${i}`));
        direct.forEach((_, i) => closeSeries(series.map((s) => s[i]!), want.map((w) => w[i]!), `${name} [${shape}] output ${i}`, c.rtol));
      }),
      runs(12),
    );
  });
}

// ---------- composites: finite differences, jit, vmap, grad ----------

/** A smooth composite of the common primitives: an MLP-like map with a log-softmax head. */
const composite = (w: Tensor, b: Tensor) => (x: Tensor) => {
  const h = px.tanh(px.add(px.matmul(x, w), b));
  const z = px.mul(px.sin(h), px.exp(px.mul(h, 0.5)));
  return px.sum(px.mul(px.logSoftmax(z, -1), px.div(1, px.add(px.square(h), 1))));
};
const arbComposite = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), arbSeed).map(([m, k, n, seed]) => ({
  x: seededTensor([m, k], seed) as Tensor,
  v: seededTensor([m, k], seed + 1) as Tensor,
  f: composite(seededTensor([k, n], seed + 2), seededTensor([n], seed + 3)),
}));

/** The k-th derivative of f along v at x (a line: [v, 0, …]). */
const lineTerm = (f: (x: Tensor) => Tensor, x: Tensor, v: Tensor, k: number): Tensor =>
  px.jet(f, [x], [[v, ...Array.from({ length: k - 1 }, () => null)]])[1][k - 1]!;

test('the k-th jet term along a line is the central difference of the (k−1)-th (k = 1 … 4, float64)', () => {
  fc.assert(
    fc.property(arbComposite, ({ x, v, f }) => {
      const h = 1e-4;
      for (let k = 1; k <= K; k++) {
        const lower = (y: Tensor) => (k === 1 ? f(y) : lineTerm(f, y, v, k - 1));
        const fd = (lower(px.add(x, px.mul(v, h))).item() - lower(px.sub(x, px.mul(v, h))).item()) / (2 * h);
        const got = lineTerm(f, x, v, k).item();
        // central differences: truncation h²/6·|f^(k+2)| and rounding ε·|f^(k−1)|/h, both below 1e-5 of the scale here
        const scale = Math.max(1, Math.abs(got), Math.abs(lineTerm(f, x, v, Math.max(1, k - 1)).item()));
        assert.ok(Math.abs(got - fd) <= 1e-5 * scale, `order ${k}: jet ${got} vs central difference ${fd}`);
      }
    }),
    runs(30),
  );
});

test('jet under jit equals eager jet; jet of a jitted function equals jet of the function (float64)', () => {
  fc.assert(
    fc.property(arbComposite, ({ x, v, f }) => {
      const terms = [[v, px.mul(v, 0.5), null, v]] as const;
      const [y, eager] = px.jet(f, [x], terms as never);
      const [yj, ...jitted] = px.jit((a: Tensor, b: Tensor) => {
        const [o, s] = px.jet(f, [a], [[b, px.mul(b, 0.5), null, b]]);
        return [o, ...s];
      })(x, v) as Tensor[];
      assertClose(yj!, y, { rtol: 1e-12, atol: 1e-12 }, 'jit(jet) primal');
      closeSeries(jitted, eager, 'jit(jet)');
      const [yi, inner] = px.jet(px.jit(f), [x], terms as never);
      assertClose(yi, y, { rtol: 1e-12, atol: 1e-12 }, 'jet(jit) primal');
      closeSeries(inner, eager, 'jet(jit)');
    }),
    runs(20),
  );
});

test('vmap of jet equals jet of each example (float64)', () => {
  fc.assert(
    fc.property(arbComposite, fc.integer({ min: 1, max: 3 }), arbSeed, ({ x, f }, B, seed) => {
      const vs = seededTensor([B, ...x.shape], seed) as Tensor;
      const batched = px.vmap((v: Tensor) => px.jet(f, [x], [[v, null, null]])[1], { inAxes: 0 })(vs) as unknown as Tensor[];
      for (let b = 0; b < B; b++) {
        const vb = px.reshape(px.slice(vs, [b], [b + 1]), x.shape);
        const single = px.jet(f, [x], [[vb, null, null]])[1];
        closeSeries(batched.map((t) => px.reshape(px.slice(t, [b], [b + 1]), [])), single, `vmap example ${b}`);
      }
    }),
    runs(15),
  );
});

test('grad of a function using jet equals grad of the nested-jvp form and its finite differences (float64)', () => {
  fc.assert(
    fc.property(arbComposite, arbSeed, ({ x, v, f }, seed) => {
      const third = (y: Tensor) => lineTerm(f, y, v, 3);
      const nested = (y: Tensor) => {
        const d1 = (z: Tensor) => px.jvp(f, [z], [v])[1];
        const d2 = (z: Tensor) => px.jvp(d1, [z], [v])[1];
        return px.jvp(d2, [y], [v])[1];
      };
      const g = px.grad(third)(x);
      closeSeries([g], [px.grad(nested)(x)], 'grad(jet) vs grad(jvp³)');
      const u = seededTensor(x.shape, seed) as Tensor;
      const h = 1e-4;
      const fd = (third(px.add(x, px.mul(u, h))).item() - third(px.sub(x, px.mul(u, h))).item()) / (2 * h);
      const got = px.sum(px.mul(g, u)).item();
      assert.ok(Math.abs(got - fd) <= 1e-5 * Math.max(1, Math.abs(fd)), `⟨grad, u⟩ ${got} vs central difference ${fd}`);
    }),
    runs(15),
  );
});

test('jets nest without confusing their perturbations: the first term of a jet of a first jet term is the second term, and a closure over the outer tracer is not the inner variable (float64)', () => {
  fc.assert(
    fc.property(arbComposite, arbSeed, ({ x, v, f }, seed) => {
      const w = seededTensor(x.shape, seed) as Tensor;
      const first = (y: Tensor) => px.jet(f, [y], [[v]])[1][0]!;
      const [, [viaNest]] = px.jet(first, [x], [[v]]);
      closeSeries([viaNest!], [lineTerm(f, x, v, 2)], 'jet(jet) vs the second term');
      // d/ds of jet_t(f(x + s·w + t·v)) — the inner jet closes over the outer tracer x + s·w
      const [, [mixed]] = px.jet((y: Tensor) => px.jet((z: Tensor) => f(px.add(z, px.mul(y, 0))), [y], [[v]])[1][0]!, [x], [[w]]);
      const [, wantMixed] = px.jvp((y: Tensor) => px.jvp(f, [y], [v])[1], [x], [w]);
      closeSeries([mixed!], [wantMixed], 'mixed second derivative through nested jets');
    }),
    runs(15),
  );
});

test('jet rejects series that do not match the arguments, naming what differs', () => {
  const x = px.tensor([1, 2], 'float64');
  const f = (a: Tensor) => px.sum(a);
  assert.throws(() => px.jet(f, [x], [] as never), /jet: series must hold one list of terms per argument: 1 argument\(s\), got 0/);
  assert.throws(
    () => px.jet((a: Tensor, b: Tensor) => px.add(a, b), [x, x], [[x], [x, x]]),
    /jet: the arguments have different numbers of Taylor terms \(1, 2\)/,
  );
  assert.throws(() => px.jet(f, [x], [[px.tensor([1, 2, 3], 'float64')]]), /jet: series\[0\]\[0\] leaf 0 has shape \[3\] but the primal has \[2\]/);
});
