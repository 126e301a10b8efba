import { allocate, type Buffer, type DType } from '../../core/dtype.js';
import { LinAlgError } from '../../core/errors.js';
import { type Shape, showShape } from '../../core/shape.js';
import type { ArrayTensor } from '../../core/tensor.js';
import { choleskyLower, jacobiEigh, luInPlace, type LuFactors, luSolveFactored, triangularSolveInPlace } from '../../core/linalg64.js';

/**
 * CPU kernels of the small-matrix linalg primitives. Every kernel loops over the leading batch
 * axes of [..., n, n] inputs and runs the float64 routines of core/linalg64.ts on each matrix
 * (then rounds to the output dtype): these are the oracle, so accuracy beats speed.
 */

const EPS = 2.220446049250313e-16;

/** Batch count and matrix size of an [..., n, m] shape. */
const dims = (s: Shape) => ({ rows: s[s.length - 2]!, cols: s[s.length - 1]!, batch: s.slice(0, -2).reduce((a, b) => a * b, 1) });

/** Copies matrix `t` of a batched buffer into a fresh Float64Array. */
function matrix(x: Buffer, t: number, size: number): Float64Array {
  return Float64Array.from(x.subarray(t * size, (t + 1) * size) as ArrayLike<number>);
}

const where = (shape: Shape, t: number) => (shape.length > 2 ? `matrix ${t} of ${showShape(shape)}` : `the ${showShape(shape)} matrix`);

/** Cholesky A = L Lᵀ (lower), reading the lower triangle of A. */
export function cholesky(x: Buffer, shape: Shape, dtype: DType): Buffer {
  const { rows: n, batch } = dims(shape);
  const out = allocate(dtype, x.length);
  for (let t = 0; t < batch; t++) {
    const r = choleskyLower(matrix(x, t, n * n), n);
    if (!r.ok) throw new LinAlgError(`cholesky: ${where(shape, t)} is not positive definite (pivot ${r.column} is ${r.pivot.toPrecision(4)})`);
    out.set(r.l, t * n * n);
  }
  return out;
}

/** Solves op(A) X = B with A triangular (op = transpose when `transposeA`); B is [..., n, k]. */
export function triangularSolve(a: Buffer, aShape: Shape, b: Buffer, bShape: Shape, lower: boolean, transposeA: boolean, dtype: DType): Buffer {
  const { rows: n, batch } = dims(aShape);
  const k = bShape[bShape.length - 1]!;
  const out = allocate(dtype, b.length);
  for (let t = 0; t < batch; t++) {
    const m = matrix(a, t, n * n);
    for (let i = 0; i < n; i++) if (m[i * n + i] === 0) throw new LinAlgError(`triangularSolve: ${where(aShape, t)} is singular (zero on the diagonal at ${i})`);
    const x = matrix(b, t, n * k);
    triangularSolveInPlace(m, n, x, k, lower, transposeA);
    out.set(x, t * n * k);
  }
  return out;
}

/**
 * LU with partial pivoting of matrix `t` of a batch; a pivot counts as zero when |p| ≤ n·ε·max|A|
 * (NaN entries are not zero pivots: they propagate to the results).
 */
function luOf(a: Buffer, t: number, n: number): { m: Float64Array; lu: LuFactors } {
  const m = matrix(a, t, n * n);
  let scale = 0;
  for (const v of m) scale = Math.max(scale, Math.abs(v));
  return { m, lu: luInPlace(m, n, n * EPS * scale) };
}

/** Solves A X = B by LU with partial pivoting; a (numerically) singular A is a LinAlgError. */
export function solve(a: Buffer, aShape: Shape, b: Buffer, bShape: Shape, dtype: DType): Buffer {
  const { rows: n, batch } = dims(aShape);
  const k = bShape[bShape.length - 1]!;
  const out = allocate(dtype, b.length);
  for (let t = 0; t < batch; t++) {
    const { m, lu } = luOf(a, t, n);
    if (lu.singularAt >= 0)
      throw new LinAlgError(`solve: ${where(aShape, t)} is singular (no pivot in column ${lu.singularAt} after elimination; b is ${showShape(bShape)})`);
    out.set(luSolveFactored(m, n, lu, matrix(b, t, n * k), k), t * n * k);
  }
  return out;
}

/** sign(det A) and log|det A| of each matrix, by LU (sign 0 and log −∞ when singular). */
export function slogdet(a: Buffer, aShape: Shape, dtype: DType): [Buffer, Buffer] {
  const { rows: n, batch } = dims(aShape);
  const sgn = allocate(dtype, batch);
  const lad = allocate(dtype, batch);
  for (let t = 0; t < batch; t++) {
    const { m, lu } = luOf(a, t, n);
    let { sign, singularAt } = lu;
    let logAbs = 0;
    if (singularAt >= 0) {
      sign = 0;
      logAbs = -Infinity;
    } else
      for (let i = 0; i < n; i++) {
        const d = m[i * n + i]!;
        if (d < 0) sign = -sign;
        logAbs += Math.log(Math.abs(d));
      }
    sgn[t] = sign;
    lad[t] = logAbs;
  }
  return [sgn, lad];
}

/** det A of each matrix, by LU (exactly 0 when numerically singular). */
export function det(a: Buffer, aShape: Shape, dtype: DType): Buffer {
  const { rows: n, batch } = dims(aShape);
  const out = allocate(dtype, batch);
  for (let t = 0; t < batch; t++) {
    const { m, lu } = luOf(a, t, n);
    const { sign, singularAt } = lu;
    let d = singularAt >= 0 ? 0 : sign;
    if (singularAt < 0) for (let i = 0; i < n; i++) d *= m[i * n + i]!;
    out[t] = d;
  }
  return out;
}

/**
 * Symmetric eigendecomposition A = V diag(w) Vᵀ by cyclic Jacobi rotations ({@link jacobiEigh}) on
 * (A + Aᵀ)/2: eigenvalues ascending; each eigenvector's largest-magnitude entry (the first such) is positive.
 */
export function eigh(a: Buffer, aShape: Shape, dtype: DType): [Buffer, Buffer] {
  const { rows: n, batch } = dims(aShape);
  const wOut = allocate(dtype, batch * n);
  const vOut = allocate(dtype, batch * n * n);
  for (let t = 0; t < batch; t++) {
    const raw = matrix(a, t, n * n);
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] = 0.5 * (raw[i * n + j]! + raw[j * n + i]!);
    const { values, vectors: v } = jacobiEigh(m, n);
    wOut.set(values, t * n);
    for (let col = 0; col < n; col++) {
      let big = 0;
      for (let k = 1; k < n; k++) if (Math.abs(v![k * n + col]!) > Math.abs(v![big * n + col]!)) big = k;
      const flip = v![big * n + col]! < 0 ? -1 : 1;
      for (let k = 0; k < n; k++) vOut[t * n * n + k * n + col] = flip * v![k * n + col]!;
    }
  }
  return [wOut, vOut];
}

const buf = (t: ArrayTensor): Buffer => t.buffer as Buffer;

/** The CPU kernels of the linear algebra primitives, by primitive name (the CPU backend's table includes them). */
export const linalgKernels: Record<string, (xs: readonly ArrayTensor[], params: any) => Buffer[]> = {
  cholesky: ([a]) => [cholesky(buf(a!), a!.shape, a!.dtype)],
  triangular_solve: ([a, b], { lower, transposeA }: { lower: boolean; transposeA: boolean }) => [
    triangularSolve(buf(a!), a!.shape, buf(b!), b!.shape, lower, transposeA, b!.dtype),
  ],
  solve: ([a, b]) => [solve(buf(a!), a!.shape, buf(b!), b!.shape, b!.dtype)],
  det: ([a]) => [det(buf(a!), a!.shape, a!.dtype)],
  slogdet: ([a]) => slogdet(buf(a!), a!.shape, a!.dtype),
  eigh: ([a]) => eigh(buf(a!), a!.shape, a!.dtype),
};
