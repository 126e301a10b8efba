import { DTypeError, ShapeError } from '../core/errors.js';
import { type Shape, showShape } from '../core/shape.js';
import type { Aval, Tensor } from '../core/tensor.js';
import { bind, bind1 } from '../interp/trace.js';
import * as o from '../ops/arith.js';
import { fromBuffer } from '../ops/create.js';
import type { DType } from '../core/dtype.js';
import { allocate } from '../core/dtype.js';
import { matmulP, mT } from './matmul.js';
import { type Batched, type Primitive, primitive } from './primitive.js';
import { reduceSumP } from './reduce.js';
import { batchBroadcast, requireFloat } from './rules.js';
import { reshapeP } from './structural.js';
// The CPU kernels register themselves on import: a primitive never exists without its kernel.
import '../backends/cpu/linalg.js';

/**
 * Small-matrix linear algebra primitives on [..., n, n] (leading axes are a batch). The jvp rules
 * are written with ops and these same primitives, so derivatives of every order exist; the solves
 * are linear in their right-hand side and carry transpose rules. JAX's rules (jax/_src/lax/linalg.py)
 * are the reference for the maths: dA is symmetrised for cholesky and eigh.
 */

// ---------- rule helpers (all built from primitives, so differentiable) ----------

const mm = (a: Tensor, b: Tensor): Tensor => bind1(matmulP, [a, b]);
const symmetrize = (x: Tensor): Tensor => o.mul(o.add(x, mT(x)), 0.5);

/** A constant n×n matrix from f(i, j). */
function constMatrix(n: number, dtype: DType, f: (i: number, j: number) => number): Tensor {
  const b = allocate(dtype, n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i * n + j] = f(i, j);
  return fromBuffer(b, dtype, [n, n]);
}
const eyeOf = (n: number, dtype: DType) => constMatrix(n, dtype, (i, j) => (i === j ? 1 : 0));
const lastN = (x: Aval) => x.shape[x.shape.length - 1]!;

/** Σ_i X[..., i, i]: linear in X. */
function trace(x: Tensor): Tensor {
  const r = x.shape.length;
  return bind1(reduceSumP, [o.mul(x, eyeOf(lastN(x), x.dtype))], { axes: [r - 2, r - 1] });
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
    const lInvA = bind1(triangularSolveP, [l, symmetrize(da)], { lower: true, transposeA: false });
    const x = bind1(triangularSolveP, [l, mT(lInvA)], { lower: true, transposeA: false });
    const phi = o.mul(x, constMatrix(n, a!.dtype, (i, j) => (i > j ? 1 : i === j ? 0.5 : 0)));
    return [[l], [mm(l, phi)]];
  },
  transpose: null,
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
      const tri = o.mul(da, constMatrix(n, a!.dtype, (i, j) => ((p.lower ? i >= j : i <= j) ? 1 : 0)));
      const ta = o.neg(solveOp(mm(p.transposeA ? mT(tri) : tri, x)));
      t = t == null ? ta : o.add(t, ta);
    }
    return [[x], [t]];
  },
  transpose: ([ct], [a, b], p) => {
    if (a!.linear) throw new Error('triangularSolve: transpose with respect to the matrix (it is only linear in b)');
    if (!b!.linear || ct == null) return [null, null];
    return [null, bind1(triangularSolveP, [(a as { value: Tensor }).value, ct], { lower: p.lower, transposeA: !p.transposeA })];
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
    const rhs = da == null ? db! : db == null ? o.neg(mm(da, x)) : o.sub(db, mm(da, x));
    return [[x], [bind1(solveP, [a!, rhs])]];
  },
  transpose: ([ct], [a, b]) => {
    if (a!.linear) throw new Error('solve: transpose with respect to A (it is only linear in b)');
    if (!b!.linear || ct == null) return [null, null];
    return [null, bind1(solveP, [mT((a as { value: Tensor }).value), ct])];
  },
  vmap: (args, batched, params, size) => leadingBatch(solveP, args, batched, params, size),
});

const batchShape = (a: Aval): Shape => a.shape.slice(0, -2);

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
    return [[d], [o.mul(d, trace(bind1(solveP, [a!, da])))]];
  },
  transpose: null,
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
    return [[sign, logAbs], [null, trace(bind1(solveP, [a!, da]))]];
  },
  transpose: null,
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
    const dw = bind1(reduceSumP, [o.mul(at, eye)], { axes: [r - 1] });
    const wRow = bind1(reshapeP, [w], { shape: [...w.shape.slice(0, -1), 1, n] }); // w_j
    const wCol = bind1(reshapeP, [w], { shape: [...w.shape.slice(0, -1), n, 1] }); // w_i
    const f = o.div(o.sub(1, eye), o.add(o.sub(wRow, wCol), eye));
    return [[w, v], [dw, mm(v, o.mul(f, at))]];
  },
  transpose: null,
  vmap: (args, batched, params, size) => leadingBatch(eighP, args, batched, params, size),
});
