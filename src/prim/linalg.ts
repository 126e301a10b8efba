import { DTypeError, ShapeError } from '../core/errors.js';
import { type Shape, showShape } from '../core/shape.js';
import type { Aval, Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import { allocate } from '../core/dtype.js';
import { bind, bind1 } from './bind.js';
import { batchBroadcast, broadcastTo, reduceSum } from './broadcast.js';
import { constant } from './constant.js';
import { add, cauchy, div, mul, neg, sub } from './elementwise.js';
import { lit } from './lit.js';
import { matmul, mT } from './matmul.js';
import { type Batched, type Primitive, primitive } from './primitive.js';
import { requireFloat } from './rules.js';
import { reshape } from './structural.js';

/**
 * Small-matrix linear algebra primitives on [..., n, n] (leading axes are a batch). The jvp rules
 * are written with ops and these same primitives, so derivatives of every order exist; the solves
 * are linear in their right-hand side and carry transpose rules. JAX's rules (jax/_src/lax/linalg.py)
 * are the reference for the maths: dA is symmetrised for cholesky and eigh.
 */

// ---------- rule helpers (all built from primitives, so differentiable) ----------

const mm = matmul;
const symmetrize = (x: Tensor): Tensor => {
  const s = add(x, mT(x));
  return mul(s, lit(0.5, s));
};
/** x ∘ m for x [..., n, n] and a constant n×n matrix m (broadcast over the batch). */
const mulMatrix = (x: Tensor, m: Tensor): Tensor => mul(x, broadcastTo(m, x.shape));

/** A constant n×n matrix from f(i, j). */
function constMatrix(n: number, dtype: DType, f: (i: number, j: number) => number): Tensor {
  const b = allocate(dtype, n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i * n + j] = f(i, j);
  return constant(b, dtype, [n, n], 'fromBuffer');
}
const eyeOf = (n: number, dtype: DType) => constMatrix(n, dtype, (i, j) => (i === j ? 1 : 0));
const lastN = (x: Aval) => x.shape[x.shape.length - 1]!;

/** Σ_i X[..., i, i]: linear in X. */
function trace(x: Tensor): Tensor {
  const r = x.shape.length;
  return reduceSum(mulMatrix(x, eyeOf(lastN(x), x.dtype)), [r - 2, r - 1]);
}

/** Batching rule of the linalg primitives: their kernels already loop over leading axes. */
function leadingBatch(p: Primitive, args: readonly Tensor[], batched: readonly boolean[], params: unknown, size: number): Batched {
  const full = args.map((a, i) => (batched[i] ? a : batchBroadcast(a, size)));
  const outs = bind(p, full, params);
  return [outs, outs.map(() => true)];
}

// ---------- shape rules ----------

/** Checks a float [..., n, n] matrix argument. */
export function checkSquare(op: string, a: Aval, ctx = `A is ${showShape(a.shape)}`): number {
  requireFloat(op, a.dtype);
  const r = a.shape.length;
  if (r < 2 || a.shape[r - 1] !== a.shape[r - 2]) throw new ShapeError(`${op}: ${ctx}: needs square matrices [..., n, n]`);
  return a.shape[r - 1]!;
}

/** Checks A [..., n, n] against a right-hand side B [..., n, k] with the same batch axes. */
function checkRhs(op: string, a: Aval, b: Aval): void {
  const ctx = `A is ${showShape(a.shape)}, b is ${showShape(b.shape)}`;
  const n = checkSquare(op, a, ctx);
  if (a.dtype !== b.dtype) throw new DTypeError(`${op}: A is ${a.dtype}, b is ${b.dtype}: dtypes differ (use astype)`);
  if (b.shape.length !== a.shape.length || b.shape[b.shape.length - 2] !== n || a.shape.slice(0, -2).some((d, i) => d !== b.shape[i]))
    throw new ShapeError(`${op}: ${ctx}: b must be [..., ${n}, k] with the batch axes of A`);
}

// ---------- primitives ----------

/** cholesky(A) = L, lower triangular with A = L Lᵀ (the kernel reads A's lower triangle). */
export const choleskyP: Primitive<{}> = primitive<{}>({
  name: 'cholesky',
  abstractEval: ([a]) => {
    checkSquare('cholesky', a!);
    return [{ shape: a!.shape, dtype: a!.dtype }];
  },
  jvp: ([a], [da]) => {
    const l = bind1(choleskyP, [a!]);
    if (da == null) return [[l], [null]];
    // L̇ = L Φ(L⁻¹ sym(Ȧ) L⁻ᵀ), Φ: lower triangle with the diagonal halved.
    const n = lastN(a!);
    const lInvA = triangularSolve(l, symmetrize(da), true, false);
    const x = triangularSolve(l, mT(lInvA), true, false);
    const phi = mulMatrix(x, constMatrix(n, a!.dtype, (i, j) => (i > j ? 1 : i === j ? 0.5 : 0)));
    return [[l], [mm(l, phi)]];
  },
  vmap: (args, batched, params, size) => leadingBatch(choleskyP, args, batched, params, size),
});

/** Parameters of {@link triangularSolveP}: which triangle of A is read, and whether op(A) = Aᵀ. */
export type TriangularSolveParams = { readonly lower: boolean; readonly transposeA: boolean };

/** triangular_solve(A, B) = op(A)⁻¹ B with A triangular: linear in B. */
export const triangularSolveP: Primitive<TriangularSolveParams> = primitive<TriangularSolveParams>({
  name: 'triangular_solve',
  abstractEval: ([a, b]) => {
    checkRhs('triangularSolve', a!, b!);
    return [{ shape: b!.shape, dtype: b!.dtype }];
  },
  jvp: ([a, b], [da, db], p) => {
    const x = bind1(triangularSolveP, [a!, b!], p);
    const solveOp = (r: Tensor) => bind1(triangularSolveP, [a!, r], p);
    let t: Tensor | null = db == null ? null : solveOp(db);
    if (da != null) {
      // only the stored triangle of A matters: ẋ = −op(A)⁻¹ op(tri(Ȧ)) x
      const n = lastN(a!);
      const tri = mulMatrix(da, constMatrix(n, a!.dtype, (i, j) => ((p.lower ? i >= j : i <= j) ? 1 : 0)));
      const ta = neg(solveOp(mm(p.transposeA ? mT(tri) : tri, x)));
      t = t == null ? ta : add(t, ta);
    }
    return [[x], [t]];
  },
  // op(tri(A(t)))·x(t) = b(t), solved coefficient by coefficient as for solve
  jet: ([a, b], [sa, sb], p) => {
    const x = bind1(triangularSolveP, [a!, b!], p);
    const n = lastN(a!);
    const mask = constMatrix(n, a!.dtype, (i, j) => ((p.lower ? i >= j : i <= j) ? 1 : 0));
    const opTri = (aj: Tensor) => {
      const tri = mulMatrix(aj, mask);
      return p.transposeA ? mT(tri) : tri;
    };
    return [[x], solveSeries([a!, ...sa!], [b!, ...sb!], x, (aj, xj) => mm(opTri(aj), xj), (r) => bind1(triangularSolveP, [a!, r], p))];
  },
  linear: true,
  transpose: ([ct], [a, b], p) => {
    if (a!.linear) throw new Error('triangularSolve: transpose with respect to the matrix (it is only linear in b)');
    if (!b!.linear || ct == null) return [null, null];
    return [null, triangularSolve((a as { value: Tensor }).value, ct, p.lower, !p.transposeA)];
  },
  vmap: (args, batched, params, size) => leadingBatch(triangularSolveP, args, batched, params, size),
});

/** solve(A, B) = A⁻¹ B by LU with partial pivoting: linear in B. */
export const solveP: Primitive<{}> = primitive<{}>({
  name: 'solve',
  abstractEval: ([a, b]) => {
    checkRhs('solve', a!, b!);
    return [{ shape: b!.shape, dtype: b!.dtype }];
  },
  jvp: ([a, b], [da, db]) => {
    const x = bind1(solveP, [a!, b!]);
    if (da == null && db == null) return [[x], [null]];
    // ẋ = A⁻¹ (ḃ − Ȧ x)
    const rhs = da == null ? db! : db == null ? neg(mm(da, x)) : sub(db, mm(da, x));
    return [[x], [solve(a!, rhs)]];
  },
  // A(t)·x(t) = b(t): x_k = A₀⁻¹·(b_k − Σ_{j=1…k} A_j·x_{k−j})
  jet: ([a, b], [sa, sb]) => {
    const x = bind1(solveP, [a!, b!]);
    return [[x], solveSeries([a!, ...sa!], [b!, ...sb!], x, mm, (r) => solve(a!, r))];
  },
  linear: true,
  transpose: ([ct], [a, b]) => {
    if (a!.linear) throw new Error('solve: transpose with respect to A (it is only linear in b)');
    if (!b!.linear || ct == null) return [null, null];
    return [null, solve(mT((a as { value: Tensor }).value), ct)];
  },
  vmap: (args, batched, params, size) => leadingBatch(solveP, args, batched, params, size),
});

const batchShape = (a: Aval): Shape => a.shape.slice(0, -2);

/**
 * The coefficients 1 … K of x(t) with M(A(t))·x(t) = b(t), for a solve with x₀ = M(A₀)⁻¹·b₀ given:
 * x_k = M(A₀)⁻¹·(b_k − Σ_{j=1…k} M(A_j)·x_{k−j}), with `apply(A_j, x)` = M(A_j)·x (M linear in A).
 */
function solveSeries(a: readonly (Tensor | null)[], b: readonly (Tensor | null)[], x0: Tensor, apply: (aj: Tensor, x: Tensor) => Tensor, solve0: (r: Tensor) => Tensor): (Tensor | null)[][] {
  const x: (Tensor | null)[] = [x0];
  for (let k = 1; k < a.length; k++) {
    const known = cauchy(a, x, k, apply, 1, k);
    const bk = b[k] ?? null;
    const r = known == null ? bk : bk == null ? neg(known) : sub(bk, known);
    x.push(r == null ? null : solve0(r));
  }
  return [x.slice(1)];
}

/** det(A) over the last two axes; d det = det · tr(A⁻¹ Ȧ). */
export const detP: Primitive<{}> = primitive<{}>({
  name: 'det',
  abstractEval: ([a]) => {
    checkSquare('det', a!);
    return [{ shape: batchShape(a!), dtype: a!.dtype }];
  },
  jvp: ([a], [da]) => {
    const d = bind1(detP, [a!]);
    if (da == null) return [[d], [null]];
    return [[d], [mul(d, trace(solve(a!, da)))]];
  },
  vmap: (args, batched, params, size) => leadingBatch(detP, args, batched, params, size),
});

/** slogdet(A) = [sign det A, log |det A|]; d log|det| = tr(A⁻¹ Ȧ), the sign is locally constant. */
export const slogdetP: Primitive<{}> = primitive<{}>({
  name: 'slogdet',
  abstractEval: ([a]) => {
    checkSquare('slogdet', a!);
    const s = { shape: batchShape(a!), dtype: a!.dtype };
    return [s, s];
  },
  jvp: ([a], [da]) => {
    const [sign, logAbs] = bind(slogdetP, [a!], {}) as [Tensor, Tensor];
    if (da == null) return [[sign, logAbs], [null, null]];
    return [[sign, logAbs], [null, trace(solve(a!, da))]];
  },
  vmap: (args, batched, params, size) => leadingBatch(slogdetP, args, batched, params, size),
});

/**
 * eigh(A) = [w, V] with A = V diag(w) Vᵀ, w ascending (the kernel uses (A + Aᵀ)/2). With
 * Ã = Vᵀ sym(Ȧ) V: ẇ = diag(Ã), V̇ = V (F ∘ Ã) with F_ij = 1/(w_j − w_i) off the diagonal, 0 on
 * it. Needs distinct eigenvalues for V̇ (F is infinite otherwise).
 */
export const eighP: Primitive<{}> = primitive<{}>({
  name: 'eigh',
  abstractEval: ([a]) => {
    const n = checkSquare('eigh', a!);
    return [
      { shape: [...batchShape(a!), n], dtype: a!.dtype },
      { shape: a!.shape, dtype: a!.dtype },
    ];
  },
  jvp: ([a], [da]) => {
    const [w, v] = bind(eighP, [a!], {}) as [Tensor, Tensor];
    if (da == null) return [[w, v], [null, null]];
    const n = lastN(a!);
    const eye = eyeOf(n, a!.dtype);
    const at = mm(mT(v), mm(symmetrize(da), v));
    const r = at.shape.length;
    const dw = reduceSum(mulMatrix(at, eye), [r - 1]);
    const wRow = reshape(w, [...w.shape.slice(0, -1), 1, n]); // w_j
    const wCol = reshape(w, [...w.shape.slice(0, -1), n, 1]); // w_i
    const offDiagonal = sub(lit(1, eye), eye);
    const square = [...w.shape.slice(0, -1), n, n];
    const gaps = sub(broadcastTo(wRow, square), broadcastTo(wCol, square));
    const denom = add(gaps, broadcastTo(eye, square));
    const f = div(broadcastTo(offDiagonal, square), denom);
    return [[w, v], [dw, mm(v, mul(f, at))]];
  },
  vmap: (args, batched, params, size) => leadingBatch(eighP, args, batched, params, size),
});

// ---------- strict wrappers ----------

/** L with A = L·Lᵀ, from the lower triangle of A [..., n, n] */
export const cholesky = <D extends DType>(a: Tensor<D>): Tensor<D> => bind1(choleskyP, [a]) as Tensor<D>;
/** op(A)⁻¹·B for a triangular A (its `lower` or upper triangle; op(A) = Aᵀ with `transposeA`) */
export const triangularSolve = <D extends DType>(a: Tensor<D>, b: Tensor<D>, lower: boolean, transposeA: boolean): Tensor<D> =>
  bind1(triangularSolveP, [a, b], { lower, transposeA }) as Tensor<D>;
/** A⁻¹·B (LU with partial pivoting) */
export const solve = <D extends DType>(a: Tensor<D>, b: Tensor<D>): Tensor<D> => bind1(solveP, [a, b]) as Tensor<D>;
/** det A over the last two axes */
export const det = <D extends DType>(a: Tensor<D>): Tensor<D> => bind1(detP, [a]) as Tensor<D>;
/** [sign det A, log |det A|] */
export const slogdet = <D extends DType>(a: Tensor<D>): [Tensor<D>, Tensor<D>] => bind(slogdetP, [a], {}) as [Tensor<D>, Tensor<D>];
/** [w, V] with A = V·diag(w)·Vᵀ, w ascending */
export const eigh = <D extends DType>(a: Tensor<D>): [Tensor<D>, Tensor<D>] => bind(eighP, [a], {}) as [Tensor<D>, Tensor<D>];
