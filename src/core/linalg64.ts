/**
 * Dense float64 routines for small square matrices, the one implementation of each: Cholesky,
 * LU with partial pivoting, triangular solves and the symmetric eigendecomposition by cyclic
 * Jacobi rotations. Matrices are flat row-major arrays of n² numbers. Two users read them: the
 * CPU kernels of the linalg primitives (the oracle, batched, in backends/cpu/linalg.ts) and the
 * learning-rate solvers on S×S summaries (optim/small-linalg.ts, on rows of numbers).
 */

/** Cholesky A = L·Lᵀ: the lower factor, or the first column whose pivot is not positive. */
export type CholeskyResult = { readonly ok: true; readonly l: Float64Array } | { readonly ok: false; readonly column: number; readonly pivot: number };

/**
 * The lower Cholesky factor of a symmetric positive definite n×n matrix, reading its lower
 * triangle; a pivot ≤ 0 (or NaN) stops the factorisation and is reported with its column.
 */
export function choleskyLower(a: ArrayLike<number>, n: number): CholeskyResult {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= l[j * n + k]! ** 2;
    if (!(d > 0)) return { ok: false, column: j, pivot: d };
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = s / ljj;
    }
  }
  return { ok: true, l };
}

/**
 * Solves op(T)·X = B in place for a triangular n×n matrix T (row-major) and B n×k (row-major):
 * op(T) = Tᵀ when `transpose`; `lower` says which triangle of T holds it. The diagonal must be
 * nonzero (the caller checks).
 */
export function triangularSolveInPlace(t: ArrayLike<number>, n: number, x: Float64Array, k: number, lower: boolean, transpose: boolean): void {
  const at = (i: number, j: number) => (transpose ? t[j * n + i]! : t[i * n + j]!);
  // op(T) is lower triangular iff lower XOR transpose.
  const effLower = lower !== transpose;
  for (let c = 0; c < k; c++) {
    for (let s = 0; s < n; s++) {
      const i = effLower ? s : n - 1 - s;
      let v = x[i * k + c]!;
      if (effLower) for (let j = 0; j < i; j++) v -= at(i, j) * x[j * k + c]!;
      else for (let j = i + 1; j < n; j++) v -= at(i, j) * x[j * k + c]!;
      x[i * k + c] = v / at(i, i);
    }
  }
}

/** An LU factorisation P·A = L·U stored in place: L below the diagonal (unit diagonal), U on and above. */
export interface LuFactors {
  /** Row i of P·A is row perm[i] of A. */
  readonly perm: Int32Array;
  /** The permutation's parity, ±1. */
  readonly sign: number;
  /** The first column without a usable pivot (the rest is left unfactored), or −1. */
  readonly singularAt: number;
}

/**
 * In-place LU with partial pivoting of an n×n row-major matrix. A pivot counts as zero when
 * |p| ≤ `tiny` (0: exactly zero, as LAPACK's getrf; a NaN pivot is not zero, so NaNs propagate).
 */
export function luInPlace(m: Float64Array, n: number, tiny: number): LuFactors {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  let sign = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    if (Math.abs(m[p * n + c]!) <= tiny) return { perm, sign, singularAt: c };
    if (p !== c) {
      for (let j = 0; j < n; j++) {
        const tmp = m[c * n + j]!;
        m[c * n + j] = m[p * n + j]!;
        m[p * n + j] = tmp;
      }
      const tp = perm[c]!;
      perm[c] = perm[p]!;
      perm[p] = tp;
      sign = -sign;
    }
    const piv = m[c * n + c]!;
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c]! / piv;
      m[r * n + c] = f;
      if (f !== 0) for (let j = c + 1; j < n; j++) m[r * n + j] = m[r * n + j]! - f * m[c * n + j]!;
    }
  }
  return { perm, sign, singularAt: -1 };
}

/** X = A⁻¹·B from a complete {@link luInPlace} factorisation `m` of A; B is n×k row-major. */
export function luSolveFactored(m: ArrayLike<number>, n: number, { perm }: LuFactors, b: ArrayLike<number>, k: number): Float64Array {
  const x = new Float64Array(n * k);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) {
      let v = b[perm[i]! * k + c]!;
      for (let j = 0; j < i; j++) v -= m[i * n + j]! * x[j * k + c]!;
      x[i * k + c] = v;
    }
    for (let i = n - 1; i >= 0; i--) {
      let v = x[i * k + c]!;
      for (let j = i + 1; j < n; j++) v -= m[i * n + j]! * x[j * k + c]!;
      x[i * k + c] = v / m[i * n + i]!;
    }
  }
  return x;
}

/** A symmetric eigendecomposition: eigenvalues ascending, eigenvectors as the columns of an n×n row-major matrix. */
export interface SymmetricEigen64 {
  readonly values: Float64Array;
  /** vectors[i·n + k] is component i of the k-th eigenvector; null when not asked for. */
  readonly vectors: Float64Array | null;
}

/**
 * A = V·diag(λ)·Vᵀ of a symmetric n×n matrix by the cyclic Jacobi method (rotations zeroing each
 * off-diagonal entry in turn, sweep after sweep, until every |aₚq| is negligible against
 * √|aₚₚ·a_qq| (Demmel–Veselić) and against ε²·‖A‖). Slow for big matrices but accurate, small
 * eigenvalues of definite matrices included. Reads only the lower triangle (as LAPACK's
 * `eigvalsh(UPLO='L')`, what grnewt calls).
 */
export function jacobiEigh(a: ArrayLike<number>, n: number, { vectors = true, maxSweeps = 100 } = {}): SymmetricEigen64 {
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = j <= i ? a[i * n + j]! : a[j * n + i]!;
  const V = vectors ? new Float64Array(n * n) : null;
  if (V) for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let frob = 0;
  for (const v of A) frob += v * v;
  frob = Math.sqrt(frob);
  const tiny = Number.EPSILON * Number.EPSILON * frob + Number.MIN_VALUE;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        if (apq === 0) continue;
        const app = A[p * n + p]!;
        const aqq = A[q * n + q]!;
        if (Math.abs(apq) <= Number.EPSILON * Math.sqrt(Math.abs(app * aqq)) || Math.abs(apq) <= tiny) {
          A[p * n + q] = 0;
          A[q * n + p] = 0;
          continue;
        }
        rotated = true;
        // Rotation [c s; −s c] that zeroes aₚq (Golub & Van Loan, sym.schur2).
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.hypot(1, theta));
        const c = 1 / Math.hypot(1, t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p]!;
          const akq = A[k * n + q]!;
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k]!;
          const aqk = A[q * n + k]!;
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        A[p * n + p] = app - t * apq;
        A[q * n + q] = aqq + t * apq;
        A[p * n + q] = 0;
        A[q * n + p] = 0;
        if (V)
          for (let k = 0; k < n; k++) {
            const vkp = V[k * n + p]!;
            const vkq = V[k * n + q]!;
            V[k * n + p] = c * vkp - s * vkq;
            V[k * n + q] = s * vkp + c * vkq;
          }
      }
    }
    if (!rotated) break;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => A[i * n + i]! - A[j * n + j]!);
  const values = Float64Array.from(order, (i) => A[i * n + i]!);
  let sorted: Float64Array | null = null;
  if (V) {
    sorted = new Float64Array(n * n);
    for (let i = 0; i < n; i++) order.forEach((src, dst) => (sorted![i * n + dst] = V[i * n + src]!));
  }
  return { values, vectors: sorted };
}
