import { isFloat, type DType } from '../core/dtype.js';
import { DTypeError, ShapeError } from '../core/errors.js';
import { broadcastShapes, showShape } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import * as lax from '../prim/linalg.js';
import { add, mul } from './arith.js';
import { eye } from './create.js';
import { broadcastTo, expandDims, squeeze, transpose } from './shape-ops.js';

/** Linear algebra on small (batched) matrices [..., n, n]. All of it differentiates to any order. */

function checkMatrix(op: string, a: Tensor, ctx = `A is ${showShape(a?.shape ?? [])}`): number {
  if (!(a instanceof Tensor)) throw new TypeError(`${op}: A must be a tensor`);
  if (!isFloat(a.dtype)) throw new DTypeError(`${op}: needs float32 or float64 matrices, got ${a.dtype} (${ctx})`);
  const r = a.shape.length;
  if (r < 2) throw new ShapeError(`${op}: ${ctx}: needs a matrix [..., n, n], got rank ${r}`);
  if (a.shape[r - 1] !== a.shape[r - 2]) throw new ShapeError(`${op}: ${ctx}: needs square matrices, got ${a.shape[r - 2]}×${a.shape[r - 1]}`);
  return a.shape[r - 1]!;
}

/** Swaps the last two axes. */
function swapLast<D extends DType>(x: Tensor<D>): Tensor<D> {
  const r = x.shape.length;
  return transpose(x, [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2]);
}

/**
 * Brings A [..., n, n] and b (a vector [n] when 1-D, as NumPy 2, else [..., n, k]) to common batch
 * axes; returns b as a matrix and whether to drop its added column again.
 */
function alignRhs<D extends DType>(op: string, a: Tensor<D>, b: Tensor<D>): [Tensor<D>, Tensor<D>, boolean] {
  if (!(b instanceof Tensor)) throw new TypeError(`${op}: b must be a tensor`);
  const ctx = `A is ${showShape(a.shape)}, b is ${showShape(b.shape)}`;
  const n = checkMatrix(op, a, ctx);
  if (a.dtype !== b.dtype) throw new DTypeError(`${op}: A is ${a.dtype}, b is ${b.dtype}: dtypes differ (use astype)`);
  if (b.shape.length === 0) throw new ShapeError(`${op}: ${ctx}: b must be a vector [${n}] or a matrix [..., ${n}, k]`);
  const vector = b.shape.length === 1;
  const bm = vector ? expandDims(b, -1) : b;
  if (bm.shape[bm.shape.length - 2] !== n)
    throw new ShapeError(`${op}: ${ctx}: b has ${bm.shape[bm.shape.length - 2]} rows but A is ${n}×${n}`);
  let batch: number[];
  try {
    batch = broadcastShapes(op, a.shape.slice(0, -2), bm.shape.slice(0, -2));
  } catch {
    throw new ShapeError(`${op}: ${ctx}: the batch axes ${showShape(a.shape.slice(0, -2))} and ${showShape(bm.shape.slice(0, -2))} do not broadcast`);
  }
  return [broadcastTo(a, [...batch, n, n], op), broadcastTo(bm, [...batch, ...bm.shape.slice(-2)], op), vector];
}

/**
 * Cholesky factor of a symmetric positive definite A: the lower triangular L with A = L Lᵀ.
 * Uses the symmetric part (A + Aᵀ)/2, so derivatives treat A as symmetric. A matrix that is not
 * positive definite is a LinAlgError. `cholesky(tensor([[4, 2], [2, 3]], 'float64'))` → [[2, 0], [1, √2]].
 */
export function cholesky<D extends DType>(a: Tensor<D>): Tensor<D> {
  checkMatrix('cholesky', a);
  return lax.cholesky(mul(add(a, swapLast(a)), 0.5));
}

/** Options of {@link triangularSolve}. */
export interface TriangularSolveOptions {
  /** A is lower triangular (default true); only that triangle is read. */
  readonly lower?: boolean;
  /** Solve Aᵀ x = b instead of A x = b (default false). */
  readonly transposeA?: boolean;
}

/**
 * x = op(A)⁻¹ b for triangular A (op(A) = A, or Aᵀ with `transposeA`), by substitution; b is a
 * vector [n] or a matrix [..., n, k], batch axes broadcast. Linear in b.
 *
 *     const x = triangularSolve(cholesky(S), b, { lower: true }); // L x = b
 */
export function triangularSolve<D extends DType>(a: Tensor<D>, b: Tensor<D>, opts: TriangularSolveOptions = {}): Tensor<D> {
  const [am, bm, vector] = alignRhs('triangularSolve', a, b);
  const x = lax.triangularSolve(am, bm, opts.lower ?? true, opts.transposeA ?? false);
  return vector ? squeeze(x, -1) : x;
}

/**
 * x = A⁻¹ b by LU with partial pivoting; b is a vector [n] (only 1-D b is a vector, as in NumPy 2;
 * use [..., n, 1] for batches of vectors, or vmap) or a matrix [..., n, k]; batch axes broadcast.
 * A numerically singular A (a pivot below n·ε·max|A|) is a LinAlgError.
 * Derivatives: ẋ = A⁻¹(ḃ − Ȧ x), and b̄ = A⁻ᵀ x̄.
 *
 *     solve(tensor([[2, 0], [0, 4]], 'float64'), tensor([2, 2], 'float64')) // [1, 0.5]
 */
export function solve<D extends DType>(a: Tensor<D>, b: Tensor<D>): Tensor<D> {
  const [am, bm, vector] = alignRhs('solve', a, b);
  const x = lax.solve(am, bm);
  return vector ? squeeze(x, -1) : x;
}

/** Matrix inverse A⁻¹ = solve(A, I) over the last two axes. `inv(A)` of a singular A is a LinAlgError. */
export function inv<D extends DType>(a: Tensor<D>): Tensor<D> {
  const n = checkMatrix('inv', a);
  return lax.solve(a, broadcastTo(eye(n, a.dtype), a.shape, 'inv'));
}

/**
 * Determinant over the last two axes (by LU; exactly 0 for a numerically singular matrix).
 * d det A = det A · tr(A⁻¹ Ȧ), so the derivative needs A invertible. `det(eye(3, 'float64'))` → 1.
 */
export function det<D extends DType>(a: Tensor<D>): Tensor<D> {
  checkMatrix('det', a);
  return lax.det(a);
}

/**
 * `[sign, logAbsDet]` with det A = sign · exp(logAbsDet), stable where det over- or underflows;
 * sign 0 and −∞ for a singular matrix. d logAbsDet = tr(A⁻¹ Ȧ).
 */
export function slogdet<D extends DType>(a: Tensor<D>): [Tensor<D>, Tensor<D>] {
  checkMatrix('slogdet', a);
  return lax.slogdet(a);
}

/**
 * Eigendecomposition of a symmetric matrix (its symmetric part (A + Aᵀ)/2 is used): `[w, V]` with
 * w ascending and A V = V diag(w), Vᵀ V = I; each column of V has its largest-magnitude entry
 * positive. Derivatives of V need distinct eigenvalues.
 *
 *     const [w, V] = eigh(tensor([[2, 1], [1, 2]], 'float64')); // w = [1, 3]
 */
export function eigh<D extends DType>(a: Tensor<D>): [Tensor<D>, Tensor<D>] {
  checkMatrix('eigh', a);
  return lax.eigh(a);
}
