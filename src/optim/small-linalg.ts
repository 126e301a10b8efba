/**
 * Dense linear algebra on small float64 matrices (S×S summaries, S of a few to a few hundred),
 * in plain numbers: symmetric eigendecomposition (cyclic Jacobi), Cholesky, LU with partial
 * pivoting. No autodiff: these serve the learning-rate solvers, which act on numbers.
 *
 * Matrices are arrays of rows (`number[][]`); {@link toRows} also accepts a flat row-major array.
 */

/** A dense matrix as rows. */
export type Matrix = readonly (readonly number[])[];

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
 * Eigendecomposition A = V·diag(λ)·Vᵀ of a symmetric matrix by the cyclic Jacobi method (rotations
 * zeroing each off-diagonal entry in turn, sweep after sweep, until every |aₚq| is negligible
 * against √|aₚₚ·a_qq| and against ε·‖A‖). Jacobi is slow for big matrices but accurate, including
 * for small eigenvalues of definite matrices. Only the lower triangle of `a` is read (as LAPACK's
 * `eigvalsh(UPLO='L')`, what grnewt calls).
 *
 *     eighJacobi([[2, 1], [1, 2]]).values // [1, 3]
 */
export function eighJacobi(a: Matrix, { vectors = true, maxSweeps = 100 } = {}): SymmetricEigen {
  const n = a.length;
  const A = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (j <= i ? a[i]![j]! : a[j]![i]!)));
  const V: number[][] = vectors ? Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))) : [];
  let frob = 0;
  for (const r of A) for (const v of r) frob += v * v;
  frob = Math.sqrt(frob);
  const tiny = Number.EPSILON * Number.EPSILON * frob + Number.MIN_VALUE;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p]![q]!;
        if (apq === 0) continue;
        const app = A[p]![p]!;
        const aqq = A[q]![q]!;
        // Negligible: below the relative-accuracy threshold (Demmel–Veselić) and far below ‖A‖.
        if (Math.abs(apq) <= Number.EPSILON * Math.sqrt(Math.abs(app * aqq)) || Math.abs(apq) <= tiny) {
          A[p]![q] = 0;
          A[q]![p] = 0;
          continue;
        }
        rotated = true;
        // Rotation [c s; −s c] that zeroes aₚq (Golub & Van Loan, sym.schur2).
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.hypot(1, theta));
        const c = 1 / Math.hypot(1, t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k]![p]!;
          const akq = A[k]![q]!;
          A[k]![p] = c * akp - s * akq;
          A[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p]![k]!;
          const aqk = A[q]![k]!;
          A[p]![k] = c * apk - s * aqk;
          A[q]![k] = s * apk + c * aqk;
        }
        A[p]![p] = app - t * apq;
        A[q]![q] = aqq + t * apq;
        A[p]![q] = 0;
        A[q]![p] = 0;
        if (vectors)
          for (let k = 0; k < n; k++) {
            const vkp = V[k]![p]!;
            const vkq = V[k]![q]!;
            V[k]![p] = c * vkp - s * vkq;
            V[k]![q] = s * vkp + c * vkq;
          }
      }
    }
    if (!rotated) break;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => A[i]![i]! - A[j]![j]!);
  return {
    values: order.map((i) => A[i]![i]!),
    vectors: vectors ? V.map((row) => order.map((k) => row[k]!)) : [],
  };
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
  const n = a.length;
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    let d = a[j]![j]!;
    for (let k = 0; k < j; k++) d -= L[j]![k]! ** 2;
    if (!(d > 0)) return null;
    const ljj = Math.sqrt(d);
    L[j]![j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      L[i]![j] = s / ljj;
    }
  }
  return L;
}

/** Solves L·Lᵀ·x = b given the Cholesky factor L. */
export function choleskySolve(L: Matrix, b: ArrayLike<number>): number[] {
  const n = L.length;
  const y = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i]![k]! * y[k]!;
    y[i] = s / L[i]![i]!;
  }
  const x = new Array<number>(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k]![i]! * x[k]!;
    x[i] = s / L[i]![i]!;
  }
  return x;
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
  const A = a.map((r) => Array.from(r));
  const x = Array.from(b);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(A[i]![k]!) > Math.abs(A[p]![k]!)) p = i;
    if (A[p]![k] === 0) throw new SingularMatrixError(`${op}: the ${n}×${n} matrix is singular (zero pivot in column ${k})`);
    if (p !== k) {
      [A[p], A[k]] = [A[k]!, A[p]!];
      [x[p], x[k]] = [x[k]!, x[p]!];
    }
    const piv = A[k]![k]!;
    for (let i = k + 1; i < n; i++) {
      const l = A[i]![k]! / piv;
      if (l === 0) continue;
      A[i]![k] = l;
      for (let j = k + 1; j < n; j++) A[i]![j] = A[i]![j]! - l * A[k]![j]!;
      x[i] = x[i]! - l * x[k]!;
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let j = i + 1; j < n; j++) s -= A[i]![j]! * x[j]!;
    x[i] = s / A[i]![i]!;
  }
  return x;
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
 * singular; a note warns when A is indefinite or ill-conditioned (condition number > 1e12).
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
  if (L) return { x: choleskySolve(L, b), notes, condition };
  notes.push(`solveSymmetric: the matrix is not positive definite (smallest eigenvalue ${values[0]!.toExponential(3)})`);
  try {
    return { x: luSolve(A, b, 'solveSymmetric'), notes, condition };
  } catch (e) {
    if (e instanceof SingularMatrixError) return { x: null, notes: [...notes, e.message], condition };
    throw e;
  }
}
