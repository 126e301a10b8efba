import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as px from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { arbSeed, assertClose, checkDerivatives, RUNS, throwsWith } from '../harness/index.js';

/**
 * Laws of the linalg primitives (src/prim/linalg.ts, src/ops/linalg.ts) on small, possibly batched
 * float64 matrices: factorisation identities (L Lᵀ = A, A x = b, A⁻¹A = I, A V = V diag(w),
 * VᵀV = I), det against a cofactor expansion and the product of eigenvalues, derivatives of every
 * op against central differences with the adjoint identity (eigh through sign-invariant functions
 * on matrices with separated eigenvalues), jacfwd = jacrev, vmap against stacking, bad inputs.
 */

type Mat = number[][];

// ---------- plain-JS matrix helpers for building inputs and references ----------

const mmJS = (a: Mat, b: Mat): Mat => a.map((r) => b[0]!.map((_, j) => r.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const tJS = (a: Mat): Mat => a[0]!.map((_, j) => a.map((r) => r[j]!));
const toTensor = (ms: Mat[], batch: readonly number[]): Tensor => {
  const n = ms[0]!.length;
  const m = ms[0]![0]!.length;
  return px.fromBuffer(Float64Array.from(ms.flatMap((a) => a.flat())), 'float64', [...batch, n, m]);
};
const toMats = (x: Tensor): Mat[] => {
  const s = x.shape;
  const n = s[s.length - 2]!;
  const m = s[s.length - 1]!;
  const d = Array.from(x.dataSync() as Float64Array);
  return Array.from({ length: d.length / (n * m) }, (_, t) => Array.from({ length: n }, (_, i) => d.slice(t * n * m + i * m, t * n * m + (i + 1) * m)));
};

/** Laplace (cofactor) expansion along the first row. */
function detCofactor(a: Mat): number {
  const n = a.length;
  if (n === 0) return 1;
  if (n === 1) return a[0]![0]!;
  let s = 0;
  for (let j = 0; j < n; j++) {
    const minor = a.slice(1).map((r) => r.filter((_, k) => k !== j));
    s += (j % 2 === 0 ? 1 : -1) * a[0]![j]! * detCofactor(minor);
  }
  return s;
}

// ---------- generators ----------

const arbBatch = fc.constantFrom<number[]>([], [], [1], [2]);
const arbEntries = (count: number) => fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: count, maxLength: count });

interface MatCase {
  readonly a: Tensor;
  readonly mats: Mat[];
  readonly n: number;
  readonly batch: number[];
}

/** Matrices built by `make` from n×n uniform [-1, 1] entries (one per batch element). */
const arbMatrices = (make: (m: Mat, extra: number[]) => Mat, opts: { n?: [number, number] } = {}): fc.Arbitrary<MatCase> =>
  fc.tuple(fc.integer({ min: opts.n?.[0] ?? 1, max: opts.n?.[1] ?? 4 }), arbBatch).chain(([n, batch]) => {
    const count = batch.reduce((x, y) => x * y, 1);
    return fc.array(fc.tuple(arbEntries(n * n), arbEntries(n)), { minLength: count, maxLength: count }).map((list) => {
      const mats = list.map(([e, extra]) => make(Array.from({ length: n }, (_, i) => e.slice(i * n, (i + 1) * n)), extra));
      return { a: toTensor(mats, batch), mats, n, batch };
    });
  });

/** Symmetric positive definite: M Mᵀ + (n/2 + 0.5) I. */
const arbSPD = arbMatrices((m) => mmJS(m, tJS(m)).map((r, i) => r.map((v, j) => v + (i === j ? m.length / 2 + 0.5 : 0))));

/** Invertible and well conditioned: strictly diagonally dominant with random diagonal signs, rows permuted. */
const arbInvertible = arbMatrices((m, extra) => {
  const n = m.length;
  const d = m.map((r, i) => r.map((v, j) => (i === j ? v + (extra[i]! < 0 ? -1 : 1) * (n + 0.5) : v)));
  const order = extra.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]).map(([, i]) => i);
  return order.map((i) => d[i]!);
});

/** Triangular with |diagonal| in [1, 2] (lower or upper as asked); the other triangle holds junk that must be ignored. */
const arbTriangular = (lower: boolean) =>
  arbMatrices((m, extra) =>
    m.map((r, i) => r.map((v, j) => (i === j ? (extra[i]! < 0 ? -1 : 1) * (1 + Math.abs(v)) : (lower ? i > j : i < j) ? v : 7 * v))),
  );

/** Modified Gram–Schmidt on the columns of a matrix made diagonally heavy so that it is well conditioned. */
function orthogonal(m: Mat): Mat {
  const n = m.length;
  const cols = tJS(m.map((r, i) => r.map((v, j) => v + (i === j ? 2 : 0))));
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) {
      const p = cols[j]!.reduce((s, v, i) => s + v * cols[k]![i]!, 0);
      cols[j] = cols[j]!.map((v, i) => v - p * cols[k]![i]!);
    }
    const norm = Math.hypot(...cols[j]!);
    cols[j] = cols[j]!.map((v) => v / norm);
  }
  return tJS(cols);
}

/** Symmetric Q diag(λ) Qᵀ with eigenvalues at least 0.5 apart (so eigenvectors are well defined). */
const arbSeparatedSymmetric = arbMatrices((m, extra) => {
  const q = orthogonal(m);
  let acc = -2 + extra[0]!;
  const lam = extra.map((v) => (acc += 0.5 + Math.abs(v)));
  return mmJS(mmJS(q, lam.map((l, i) => lam.map((_, j) => (i === j ? l : 0)))), tJS(q));
});

/** A right-hand side: [n] (a vector, shared by the batch) when k is null, else [...batch, n, k]. */
const arbRhs = (c: MatCase, k: number | null) =>
  arbEntries((k === null ? 1 : c.batch.reduce((x, y) => x * y, 1)) * c.n * (k ?? 1)).map((e) =>
    px.fromBuffer(Float64Array.from(e), 'float64', k === null ? [c.n] : [...c.batch, c.n, k]),
  );

/** (lower, transposeA, a triangular case, a [...batch, n, 2] right-hand side): one draw, so one seed reproduces it. */
const arbTriangularCase = fc
  .tuple(fc.boolean(), fc.boolean())
  .chain(([lower, transposeA]) => arbTriangular(lower).chain((c) => fc.tuple(fc.constant(lower), fc.constant(transposeA), fc.constant(c), arbRhs(c, 2))));

const IDENT = { rtol: 1e-10, atol: 1e-11 };
const showCase = (c: MatCase) => `A ${JSON.stringify(c.a.shape)} = ${JSON.stringify(c.mats)}`;
const eyeLike = (c: MatCase) => px.broadcastTo(px.eye(c.n, 'float64'), c.a.shape);
const mT = (x: Tensor) => px.moveAxis(x, -1, -2);

// ---------- identities ----------

test('cholesky: L Lᵀ = A for SPD A, L lower triangular with a positive diagonal (batched)', () => {
  fc.assert(
    fc.property(arbSPD, (c) => {
      const l = px.cholesky(c.a);
      assertClose(px.matmul(l, mT(l)), c.a, IDENT, showCase(c));
      toMats(l).forEach((m) => m.forEach((r, i) => r.forEach((v, j) => assert.ok(j > i ? v === 0 : j < i || v > 0, `L[${i}][${j}] = ${v}`))));
    }),
    RUNS,
  );
});

test('solve: A x = b for b a vector [n] (shared by a batch), a matrix [..., n, k], and a broadcast [n, k] (batched A)', () => {
  fc.assert(
    fc.property(
      arbInvertible.chain((c) => fc.tuple(fc.constant(c), arbEntries(c.n), arbRhs(c, 3))),
      ([c, bvals, bm]) => {
        const bv = px.fromBuffer(Float64Array.from(bvals), 'float64', [c.n]);
        const x = px.solve(c.a, bv);
        assert.deepEqual(x.shape, [...c.batch, c.n]);
        assertClose(px.matmul(c.a, px.expandDims(x, -1)), px.broadcastTo(px.expandDims(bv, -1), [...c.batch, c.n, 1]), IDENT, `vector b, ${showCase(c)}`);
        assertClose(px.matmul(c.a, px.solve(c.a, bm)), bm, IDENT, `matrix b, ${showCase(c)}`);
        // one right-hand side [n, k] shared by every matrix of the batch
        const shared = px.reshape(px.slice(bm, bm.shape.map(() => 0), [...c.batch.map(() => 1), c.n, 3]), [c.n, 3]);
        assertClose(px.matmul(c.a, px.solve(c.a, shared)), px.broadcastTo(shared, [...c.batch, c.n, 3]), IDENT, `broadcast b, ${showCase(c)}`);
      },
    ),
    RUNS,
  );
});

test('inv: inv(A)·A = A·inv(A) = I (batched)', () => {
  fc.assert(
    fc.property(arbInvertible, (c) => {
      const ai = px.inv(c.a);
      assertClose(px.matmul(ai, c.a), eyeLike(c), IDENT, showCase(c));
      assertClose(px.matmul(c.a, ai), eyeLike(c), IDENT, showCase(c));
    }),
    RUNS,
  );
});

test('triangularSolve: op(A) x = b for lower/upper and transposeA, ignoring the other triangle', () => {
  fc.assert(
    fc.property(arbTriangularCase, ([lower, transposeA, c, b]) => {
      const tri = c.mats.map((m) => m.map((r, i) => r.map((v, j) => ((lower ? i >= j : i <= j) ? v : 0))));
      const op = toTensor(transposeA ? tri.map(tJS) : tri, c.batch);
      const x = px.triangularSolve(c.a, b, { lower, transposeA });
      assertClose(px.matmul(op, x), b, IDENT, `lower ${lower} transposeA ${transposeA} ${showCase(c)}`);
    }),
    RUNS,
  );
});

test('det equals the cofactor expansion; sign·exp(logAbsDet) of slogdet equals det (batched)', () => {
  fc.assert(
    fc.property(fc.oneof(arbInvertible, arbMatrices((m) => m)), (c) => {
      const d = px.det(c.a);
      const want = px.fromBuffer(Float64Array.from(c.mats.map(detCofactor)), 'float64', c.batch);
      assertClose(d, want, { rtol: 1e-10, atol: 1e-12 }, showCase(c));
      const [sign, logAbs] = px.slogdet(c.a);
      assertClose(px.mul(sign, px.exp(logAbs)), want, { rtol: 1e-10, atol: 1e-12 }, `slogdet ${showCase(c)}`);
    }),
    RUNS,
  );
});

test('eigh: A V = V diag(w), VᵀV = I, w ascending, and det A = Π w (batched)', () => {
  fc.assert(
    fc.property(fc.oneof(arbSeparatedSymmetric, arbSPD, arbMatrices((m) => m.map((r, i) => r.map((v, j) => v + m[j]![i]!)))), (c) => {
      const [w, v] = px.eigh(c.a);
      assertClose(px.matmul(c.a, v), px.mul(v, px.expandDims(w, -2)), IDENT, `A V = V diag(w), ${showCase(c)}`);
      assertClose(px.matmul(mT(v), v), eyeLike(c), IDENT, `VᵀV = I, ${showCase(c)}`);
      const ws = Array.from(w.dataSync() as Float64Array);
      for (let t = 0; t < ws.length; t += c.n) for (let i = t + 1; i < t + c.n; i++) assert.ok(ws[i - 1]! <= ws[i]!, `w not ascending: ${ws}`);
      const prod = px.fromBuffer(Float64Array.from(c.mats.map((_, t) => ws.slice(t * c.n, (t + 1) * c.n).reduce((p, x) => p * x, 1))), 'float64', c.batch);
      assertClose(px.det(c.a), prod, { rtol: 1e-9, atol: 1e-10 }, `det = Π w, ${showCase(c)}`);
    }),
    RUNS,
  );
});

test('degenerate and singular matrices: eigh of the identity, det and slogdet of a singular matrix', () => {
  const [w, v] = px.eigh(px.eye(3, 'float64'));
  assertClose(w, px.ones([3], 'float64'), IDENT, 'w');
  assertClose(v, px.eye(3, 'float64'), IDENT, 'V');
  const s = px.tensor([[1, 2], [2, 4]], 'float64');
  assert.equal(px.det(s).item(), 0);
  const [sign, logAbs] = px.slogdet(s);
  assert.equal(sign.item(), 0);
  assert.equal(logAbs.item(), -Infinity);
});

// ---------- derivatives ----------

test('solve in A and b: jvp and grad match central differences; adjoint; second derivatives (float64)', () => {
  fc.assert(
    fc.property(arbInvertible.chain((c) => fc.tuple(fc.constant(c), fc.oneof(arbRhs(c, null), arbRhs(c, 2)))), arbSeed, ([c, b], seed) =>
      checkDerivatives(`solve(${showCase(c)}, b ${JSON.stringify(b.shape)})`, ([a, bb]) => px.solve(a!, bb!), [c.a, b], seed, { order: 2 }),
    ),
    RUNS,
  );
});

test('inv and det: derivatives of orders 1–3 match central differences; adjoint (float64)', () => {
  fc.assert(
    fc.property(arbInvertible, arbSeed, (c, seed) => {
      checkDerivatives(`inv(${showCase(c)})`, ([a]) => px.inv(a!), [c.a], seed, { order: 2 });
      // scaled to entries O(1/n) so det = O(1): the composite sin(det) of the order-3 check stays well resolved by h = 1e-5
      checkDerivatives(`det(${showCase(c)} / ${c.n + 0.5})`, ([a]) => px.det(a!), [px.div(c.a, c.n + 0.5)], seed);
    }),
    RUNS,
  );
});

test('slogdet: log|det| has derivatives matching central differences; d log|det| = tr(A⁻¹ dA); the sign has zero derivative', () => {
  fc.assert(
    fc.property(arbInvertible, arbSeed, (c, seed) => {
      checkDerivatives(`slogdet(${showCase(c)})`, ([a]) => px.slogdet(a!)[1], [c.a], seed, { order: 2 });
      const g = px.grad((a: Tensor) => px.sum(px.slogdet(a)[1]))(c.a);
      assertClose(g, mT(px.inv(c.a)), IDENT, `∇ log|det A| = A⁻ᵀ, ${showCase(c)}`);
      assertClose(px.grad((a: Tensor) => px.sum(px.slogdet(a)[0]))(c.a), px.zerosLike(c.a), { rtol: 0, atol: 0 }, 'sign');
    }),
    RUNS,
  );
});

test('cholesky at SPD A: derivatives (symmetrised) match central differences at orders 1–2; adjoint (float64)', () => {
  fc.assert(
    fc.property(arbSPD, arbSeed, (c, seed) => checkDerivatives(`cholesky(${showCase(c)})`, ([a]) => px.cholesky(a!), [c.a], seed, { order: 2 })),
    RUNS,
  );
});

test('triangularSolve in A and b: derivatives match central differences; adjoint (float64)', () => {
  fc.assert(
    fc.property(arbTriangularCase, arbSeed, ([lower, transposeA, c, b], seed) =>
      checkDerivatives(
        `triangularSolve(lower ${lower}, transposeA ${transposeA}, ${showCase(c)})`,
        ([a, bb]) => px.triangularSolve(a!, bb!, { lower, transposeA }),
        [c.a, b],
        seed,
        { order: 2 },
      ),
    ),
    RUNS,
  );
});

test('eigh with separated eigenvalues: w, Σ w², and V diag(sin w) Vᵀ have derivatives matching central differences; adjoint (float64)', () => {
  fc.assert(
    fc.property(arbSeparatedSymmetric, arbSeed, (c, seed) => {
      checkDerivatives(`eigh w (${showCase(c)})`, ([a]) => px.eigh(a!)[0], [c.a], seed, { order: 2 });
      checkDerivatives(`eigh Σw² (${showCase(c)})`, ([a]) => px.sum(px.square(px.eigh(a!)[0]), -1), [c.a], seed, { order: 1 });
      const matFn = (a: Tensor) => {
        const [w, v] = px.eigh(a);
        return px.matmul(px.mul(v, px.expandDims(px.sin(w), -2)), mT(v));
      };
      checkDerivatives(`eigh V diag(sin w) Vᵀ (${showCase(c)})`, ([a]) => matFn(a!), [c.a], seed, { order: 2 });
    }),
    RUNS,
  );
});

test('eigh: the gradient of Σ w² is 2A (sym), a closed form', () => {
  fc.assert(
    fc.property(arbSeparatedSymmetric, (c) => {
      const g = px.grad((a: Tensor) => px.sum(px.square(px.eigh(a)[0])))(c.a);
      assertClose(g, px.mul(c.a, 2), { rtol: 1e-9, atol: 1e-10 }, showCase(c));
    }),
    RUNS,
  );
});

test('jacfwd = jacrev for solve (in A and in b), det and cholesky', () => {
  fc.assert(
    fc.property(fc.tuple(arbInvertible, arbSPD).chain(([c, s]) => fc.tuple(fc.constant(c), fc.constant(s), arbRhs(c, null))), ([c, s, b]) => {
      const inA = (a: Tensor) => px.solve(a, b);
      const inB = (bb: Tensor) => px.solve(c.a, bb);
      assertClose(px.jacfwd(inA)(c.a), px.jacrev(inA)(c.a), IDENT, `solve in A, ${showCase(c)}`);
      assertClose(px.jacfwd(inB)(b), px.jacrev(inB)(b), IDENT, `solve in b, ${showCase(c)}`);
      assertClose(px.jacfwd(px.det)(c.a), px.jacrev(px.det)(c.a), IDENT, `det, ${showCase(c)}`);
      assertClose(px.jacfwd(px.cholesky)(s.a), px.jacrev(px.cholesky)(s.a), IDENT, `cholesky, ${showCase(s)}`);
    }),
    RUNS,
  );
});

// ---------- batching ----------

test('vmap of solve (batched A and b, either or both), inv, det, cholesky and eigh equals stacking', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }).chain((k) => fc.tuple(fc.array(arbInvertible.filter((c) => c.batch.length === 0 && c.n === 3), { minLength: k, maxLength: k }))),
      arbEntries(9),
      fc.integer({ min: 0, max: 2 }),
      ([cs], bvals, mode) => {
        const as = cs.map((c) => c.a);
        const bs = cs.map((_, i) => px.fromBuffer(Float64Array.from(bvals.slice(0, 3), (v) => v + i), 'float64', [3]));
        const A = px.stack(as);
        const B = px.stack(bs);
        const solved =
          mode === 0
            ? px.vmap(px.solve)(A, B)
            : mode === 1
              ? px.vmap((a: Tensor) => px.solve(a, bs[0]!))(A)
              : px.vmap((b: Tensor) => px.solve(as[0]!, b))(B);
        const want =
          mode === 0 ? px.stack(as.map((a, i) => px.solve(a, bs[i]!))) : mode === 1 ? px.stack(as.map((a) => px.solve(a, bs[0]!))) : px.stack(bs.map((b) => px.solve(as[0]!, b)));
        assertClose(solved, want, IDENT, `solve mode ${mode}`);
        assertClose(px.vmap(px.inv)(A), px.stack(as.map(px.inv)), IDENT, 'inv');
        assertClose(px.vmap(px.det)(A), px.stack(as.map(px.det)), IDENT, 'det');
        const spd = as.map((a) => px.add(px.matmul(a, mT(a)), px.eye(3, 'float64')));
        assertClose(px.vmap(px.cholesky)(px.stack(spd)), px.stack(spd.map(px.cholesky)), IDENT, 'cholesky');
        const [w, v] = px.vmap(px.eigh)(px.stack(spd));
        assertClose(w, px.stack(spd.map((a) => px.eigh(a)[0])), IDENT, 'eigh w');
        assertClose(v, px.stack(spd.map((a) => px.eigh(a)[1])), IDENT, 'eigh V');
      },
    ),
    RUNS,
  );
});

test('batched inputs [B, n, n] give the per-matrix results', () => {
  fc.assert(
    fc.property(arbInvertible.filter((c) => c.batch.length > 0), (c) => {
      const slices = c.mats.map((m) => toTensor([m], []));
      assertClose(px.det(c.a), px.reshape(px.stack(slices.map(px.det)), c.batch), IDENT, 'det');
      assertClose(px.inv(c.a), px.reshape(px.stack(slices.map(px.inv)), c.a.shape), IDENT, 'inv');
      const [w] = px.eigh(c.a);
      assertClose(w, px.reshape(px.stack(slices.map((s) => px.eigh(s)[0])), w.shape), IDENT, 'eigh');
    }),
    RUNS,
  );
});

// ---------- bad inputs ----------


test('linalg rejects bad inputs with messages naming the op and the shapes', () => {
  const rect = px.zeros([2, 3], 'float64');
  const a = px.tensor([[2, 1], [1, 3]], 'float64');
  for (const [name, f] of [
    ['cholesky', px.cholesky],
    ['det', px.det],
    ['slogdet', px.slogdet],
    ['eigh', px.eigh],
    ['inv', px.inv],
  ] as const) {
    throwsWith(() => f(rect), px.ShapeError, name, '[2,3]', 'square');
    throwsWith(() => f(px.zeros([3], 'float64')), px.ShapeError, name, '[3]');
    throwsWith(() => f(px.zeros([2, 2], 'int32') as unknown as Tensor<'float64'>), px.DTypeError, name, 'int32');
  }
  throwsWith(() => px.solve(rect, px.zeros([2], 'float64')), px.ShapeError, 'solve', '[2,3]', '[2]');
  throwsWith(() => px.solve(a, px.zeros([3], 'float64')), px.ShapeError, 'solve', '[2,2]', '[3]');
  throwsWith(() => px.solve(a, px.zeros([3, 4], 'float64')), px.ShapeError, 'solve', '[2,2]', '[3,4]');
  throwsWith(() => px.solve(px.zeros([2, 2, 2], 'float64'), px.zeros([3, 2, 1], 'float64')), px.ShapeError, 'solve', '[2,2,2]', '[3,2,1]');
  throwsWith(() => px.solve(a, px.zeros([2], 'float32') as unknown as Tensor<'float64'>), px.DTypeError, 'solve', 'float64', 'float32');
  throwsWith(() => px.triangularSolve(a, px.zeros([5], 'float64')), px.ShapeError, 'triangularSolve', '[2,2]', '[5]');
  throwsWith(() => px.solve(px.tensor([[1, 2], [2, 4]], 'float64'), px.ones([2], 'float64')), px.LinAlgError, 'solve', 'singular', '[2,2]');
  throwsWith(() => px.solve(px.zeros([3, 2, 2], 'float64'), px.ones([2], 'float64')), px.LinAlgError, 'solve', 'matrix 0 of [3,2,2]', 'singular');
  throwsWith(() => px.inv(px.tensor([[0, 0], [0, 1]], 'float64')), px.LinAlgError, 'singular');
  throwsWith(() => px.cholesky(px.tensor([[1, 2], [2, 1]], 'float64')), px.LinAlgError, 'cholesky', 'not positive definite', '[2,2]');
  throwsWith(() => px.triangularSolve(px.tensor([[1, 0], [1, 0]], 'float64'), px.ones([2], 'float64')), px.LinAlgError, 'triangularSolve', 'singular');
});
