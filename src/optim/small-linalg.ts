/**
 * Dense linear algebra on small float64 matrices (S×S summaries, S of a few to a few hundred),
 * in plain numbers: symmetric eigendecomposition (cyclic Jacobi), Cholesky, LU with partial
 * pivoting — the routines of core/linalg64.ts on rows of numbers, with the checks and notes the
 * learning-rate solvers need. No autodiff: these solvers act on numbers.
 *
 * Matrices are arrays of rows (`number[][]`); {@link toRows} also accepts a flat row-major array.
 */
import { choleskyLower, jacobiEigh, luInPlace, luSolveFactored, triangularSolveInPlace } from '../core/linalg64.js';

/** A dense matrix as rows. */
export type Matrix = readonly (readonly number[])[];

/** The rows of a square matrix as one flat row-major Float64Array (what the routines of core/linalg64.ts take). */
const flat = (a: Matrix): Float64Array => {
  const n = a.length;
  const out = new Float64Array(n * n);
  a.forEach((r, i) => out.set(r.slice(0, n), i * n));
  return out;
};

/** A flat row-major n×n matrix as rows. */
const rows = (m: Float64Array, n: number): number[][] => Array.from({ length: n }, (_, i) => Array.from(m.subarray(i * n, (i + 1) * n)));

/** Raised by the solvers when a pivot is exactly zero (the matrix is singular to working precision). */
export class SingularMatrixError extends Error {
  override name = 'SingularMatrixError';
}

/**
 * A square matrix as fresh rows, from rows or from a flat row-major array of n² numbers.
 * Throws naming `op` when the sizes do not fit or an entry is not finite.
 *
 *     toRows('f', [1, 2, 3, 4])  // [[1, 2], [3, 4]]
 */
export function toRows(op: string, a: Matrix | ArrayLike<number>, n?: number): number[][] {
  let rows: number[][];
  if (a.length > 0 && Array.isArray((a as Matrix)[0])) {
    rows = (a as Matrix).map((r) => Array.from(r));
    if (rows.some((r) => r.length !== rows.length)) throw new RangeError(`${op}: the matrix is not square (${rows.length} rows of lengths ${rows.map((r) => r.length).join(', ')})`);
  } else {
    const flat = Array.from(a as ArrayLike<number>);
    const m = n ?? Math.round(Math.sqrt(flat.length));
    if (m * m !== flat.length) throw new RangeError(`${op}: a flat matrix of ${flat.length} entries is not ${n === undefined ? 'square' : `${n}×${n}`}`);
    rows = Array.from({ length: m }, (_, i) => flat.slice(i * m, (i + 1) * m));
  }
  if (n !== undefined && rows.length !== n) throw new RangeError(`${op}: the matrix is ${rows.length}×${rows.length}, expected ${n}×${n}`);
  rows.forEach((r, i) => r.forEach((v, j) => {
    if (!Number.isFinite(v)) throw new RangeError(`${op}: entry [${i}, ${j}] of the matrix is ${v}`);
  }));
  return rows;
}

/** Largest |aᵢⱼ − aⱼᵢ| of a square matrix. */
export function asymmetry(a: Matrix): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) for (let j = 0; j < i; j++) m = Math.max(m, Math.abs(a[i]![j]! - a[j]![i]!));
  return m;
}

/** Largest |aᵢⱼ|. */
export const maxAbs = (a: Matrix): number => a.reduce((m, r) => r.reduce((mm, v) => Math.max(mm, Math.abs(v)), m), 0);

/** ‖x‖₂, scaled against overflow and underflow. */
export function norm2(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s = Math.max(s, Math.abs(x[i]!));
  if (s === 0 || !Number.isFinite(s)) return s;
  let q = 0;
  for (let i = 0; i < x.length; i++) q += (x[i]! / s) ** 2;
  return s * Math.sqrt(q);
}

/** Result of {@link eighJacobi}. */
export interface SymmetricEigen {
  /** Eigenvalues in ascending order. */
  readonly values: number[];
  /** Eigenvectors as columns: vectors[i][k] is component i of the k-th eigenvector. */
  readonly vectors: number[][];
}

/**
 * Eigendecomposition A = V·diag(λ)·Vᵀ of a symmetric matrix by the cyclic Jacobi method
 * ({@link jacobiEigh}): accurate, small eigenvalues of definite matrices included. Only the lower
 * triangle of `a` is read (as LAPACK's `eigvalsh(UPLO='L')`, what grnewt calls).
 *
 *     eighJacobi([[2, 1], [1, 2]]).values // [1, 3]
 */
export function eighJacobi(a: Matrix, { vectors = true, maxSweeps = 100 } = {}): SymmetricEigen {
  const n = a.length;
  const e = jacobiEigh(flat(a), n, { vectors, maxSweeps });
  return { values: Array.from(e.values), vectors: e.vectors ? rows(e.vectors, n) : [] };
}

/** Eigenvalues of a symmetric matrix, ascending (lower triangle read). */
export const eigvalsSymmetric = (a: Matrix): number[] => eighJacobi(a, { vectors: false }).values;

/** The smallest eigenvalue of a symmetric matrix. */
export const lambdaMin = (a: Matrix): number => (a.length === 0 ? Infinity : eigvalsSymmetric(a)[0]!);

/**
 * Cholesky factor L (lower, A = L·Lᵀ) of a symmetric positive definite matrix, or null when a
 * pivot is ≤ 0 (A is not positive definite to working precision). Reads the lower triangle.
 *
 *     cholesky([[4, 2], [2, 2]]) // [[2, 0], [1, 1]]
 */
export function cholesky(a: Matrix): number[][] | null {
  const r = choleskyLower(flat(a), a.length);
  return r.ok ? rows(r.l, a.length) : null;
}

/** Solves L·Lᵀ·x = b given the Cholesky factor L. */
export function choleskySolve(L: Matrix, b: ArrayLike<number>): number[] {
  const n = L.length;
  const l = flat(L);
  const x = Float64Array.from(b);
  triangularSolveInPlace(l, n, x, 1, true, false);
  triangularSolveInPlace(l, n, x, 1, true, true);
  return Array.from(x);
}

/**
 * Solves A·x = b by LU factorisation with partial pivoting (what LAPACK's `gesv`, hence
 * `torch.linalg.solve`, does). Throws {@link SingularMatrixError} when a pivot is exactly 0, as
 * `torch.linalg.solve` raises.
 *
 *     luSolve([[0, 1], [1, 0]], [2, 3]) // [3, 2]
 */
export function luSolve(a: Matrix, b: ArrayLike<number>, op = 'luSolve'): number[] {
  const n = a.length;
  if (b.length !== n) throw new RangeError(`${op}: the matrix is ${n}×${n} but the right-hand side has ${b.length} entries`);
  const m = flat(a);
  const lu = luInPlace(m, n, 0);
  if (lu.singularAt >= 0) throw new SingularMatrixError(`${op}: the ${n}×${n} matrix is singular (zero pivot in column ${lu.singularAt})`);
  return Array.from(luSolveFactored(m, n, lu, b, 1));
}

/** A·x for a square matrix. */
export const matVec = (a: Matrix, x: ArrayLike<number>): number[] => a.map((r) => r.reduce((s, v, j) => s + v * x[j]!, 0));

/**
 * The 2-norm condition number |λ|max / |λ|min of a symmetric matrix from its eigenvalues
 * (∞ when an eigenvalue is 0; 1 for the empty matrix).
 */
export function conditionFromEigenvalues(values: readonly number[]): number {
  if (values.length === 0) return 1;
  const abs = values.map(Math.abs);
  const lo = Math.min(...abs);
  const hi = Math.max(...abs);
  return lo === 0 ? Infinity : hi / lo;
}

/** Condition number above which a matrix is reported ill-conditioned (≈ 1/√ε·10⁴: about 4 digits left in a solve). */
export const ILL_CONDITIONED = 1e12;

/**
 * Solves a symmetric system A·x = b, with notes: x is null (and a note says why) when A is
 * singular or the solution is not finite (an A of subnormal entries); a note warns when A is indefinite or ill-conditioned (condition number > 1e12).
 * Uses Cholesky when A is positive definite, LU with partial pivoting otherwise.
 *
 *     solveSymmetric([[2, 0], [0, 4]], [2, 4]) // { x: [1, 1], notes: [] }
 */
export function solveSymmetric(a: Matrix | ArrayLike<number>, b: ArrayLike<number>): { x: number[] | null; notes: string[]; condition: number } {
  const A = toRows('solveSymmetric', a, b.length);
  const notes: string[] = [];
  const values = eigvalsSymmetric(A);
  const condition = conditionFromEigenvalues(values);
  if (condition === Infinity) return { x: null, notes: [`solveSymmetric: the ${A.length}×${A.length} matrix is singular (an eigenvalue is 0)`], condition };
  if (condition > ILL_CONDITIONED) notes.push(`solveSymmetric: the matrix is ill-conditioned (condition number ${condition.toExponential(2)}): the solution may have few correct digits`);
  const L = cholesky(A);
  if (L) return finiteSolution(choleskySolve(L, b), notes, condition);
  notes.push(`solveSymmetric: the matrix is not positive definite (smallest eigenvalue ${values[0]!.toExponential(3)})`);
  try {
    return finiteSolution(luSolve(A, b, 'solveSymmetric'), notes, condition);
  } catch (e) {
    if (e instanceof SingularMatrixError) return { x: null, notes: [...notes, e.message], condition };
    throw e;
  }
}

/**
 * A solve's result, or none with a note when an entry is not finite: a well-conditioned matrix
 * whose entries are all tiny (subnormal) has a solution beyond float64's range, and a non-finite
 * right-hand side gives none; neither is returned as if it were one.
 */
function finiteSolution(x: number[], notes: string[], condition: number): { x: number[] | null; notes: string[]; condition: number } {
  const bad = x.findIndex((v) => !Number.isFinite(v));
  if (bad < 0) return { x, notes, condition };
  return { x: null, notes: [...notes, `solveSymmetric: the solution is not finite (entry ${bad} is ${x[bad]}): the matrix is too close to 0 for its inverse to be represented, or the right-hand side is not finite`], condition };
}
