import { allocate, type Buffer, type DType } from '../../core/dtype.js';
import { LinAlgError } from '../../core/errors.js';
import { type Shape, showShape } from '../../core/shape.js';
import type { ArrayTensor } from '../../core/tensor.js';
import { registerCpuKernel } from './index.js';

/**
 * CPU kernels of the small-matrix linalg primitives. Every kernel loops over the leading batch
 * axes of [..., n, n] inputs and works in float64 internally (then rounds to the output dtype):
 * these are the oracle, so accuracy beats speed.
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
    const a = matrix(x, t, n * n);
    const l = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      let d = a[j * n + j]!;
      for (let k = 0; k < j; k++) d -= l[j * n + k]! ** 2;
      if (!(d > 0))
        throw new LinAlgError(`cholesky: ${where(shape, t)} is not positive definite (pivot ${j} is ${d.toPrecision(4)})`);
      const ljj = Math.sqrt(d);
      l[j * n + j] = ljj;
      for (let i = j + 1; i < n; i++) {
        let s = a[i * n + j]!;
        for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
        l[i * n + j] = s / ljj;
      }
    }
    out.set(l, t * n * n);
  }
  return out;
}

/** Solves op(A) X = B with A triangular (op = transpose when `transposeA`); B is [..., n, k]. */
export function triangularSolve(a: Buffer, aShape: Shape, b: Buffer, bShape: Shape, lower: boolean, transposeA: boolean, dtype: DType): Buffer {
  const { rows: n, batch } = dims(aShape);
  const k = bShape[bShape.length - 1]!;
  const out = allocate(dtype, b.length);
  // op(A)[i][j]: A[j][i] when transposed; op(A) is lower triangular iff lower XOR transposeA.
  const effLower = lower !== transposeA;
  for (let t = 0; t < batch; t++) {
    const m = matrix(a, t, n * n);
    const at = (i: number, j: number) => (transposeA ? m[j * n + i]! : m[i * n + j]!);
    for (let i = 0; i < n; i++)
      if (at(i, i) === 0) throw new LinAlgError(`triangularSolve: ${where(aShape, t)} is singular (zero on the diagonal at ${i})`);
    const x = matrix(b, t, n * k);
    for (let c = 0; c < k; c++) {
      for (let s = 0; s < n; s++) {
        const i = effLower ? s : n - 1 - s;
        let v = x[i * k + c]!;
        if (effLower) for (let j = 0; j < i; j++) v -= at(i, j) * x[j * k + c]!;
        else for (let j = i + 1; j < n; j++) v -= at(i, j) * x[j * k + c]!;
        x[i * k + c] = v / at(i, i);
      }
    }
    out.set(x, t * n * k);
  }
  return out;
}

/**
 * In-place LU with partial pivoting of an n×n row-major matrix: returns the pivot rows and the
 * permutation parity. Stops at the first column without a usable pivot (`singularAt`), leaving
 * the rest unfactored; a pivot counts as zero when |p| ≤ n·ε·max|A|.
 */
function luInPlace(m: Float64Array, n: number): { perm: Int32Array; sign: number; singularAt: number } {
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  let scale = 0;
  for (const v of m) scale = Math.max(scale, Math.abs(v));
  const tiny = n * EPS * scale;
  let sign = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    if (!(Math.abs(m[p * n + c]!) > tiny)) return { perm, sign, singularAt: c };
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

/** Solves A X = B by LU with partial pivoting; a (numerically) singular A is a LinAlgError. */
export function solve(a: Buffer, aShape: Shape, b: Buffer, bShape: Shape, dtype: DType): Buffer {
  const { rows: n, batch } = dims(aShape);
  const k = bShape[bShape.length - 1]!;
  const out = allocate(dtype, b.length);
  for (let t = 0; t < batch; t++) {
    const m = matrix(a, t, n * n);
    const { perm, singularAt } = luInPlace(m, n);
    if (singularAt >= 0)
      throw new LinAlgError(`solve: ${where(aShape, t)} is singular (no pivot in column ${singularAt} after elimination; b is ${showShape(bShape)})`);
    const rhs = matrix(b, t, n * k);
    const x = new Float64Array(n * k);
    for (let c = 0; c < k; c++) {
      for (let i = 0; i < n; i++) {
        let v = rhs[perm[i]! * k + c]!;
        for (let j = 0; j < i; j++) v -= m[i * n + j]! * x[j * k + c]!;
        x[i * k + c] = v;
      }
      for (let i = n - 1; i >= 0; i--) {
        let v = x[i * k + c]!;
        for (let j = i + 1; j < n; j++) v -= m[i * n + j]! * x[j * k + c]!;
        x[i * k + c] = v / m[i * n + i]!;
      }
    }
    out.set(x, t * n * k);
  }
  return out;
}

/** sign(det A) and log|det A| of each matrix, by LU (sign 0 and log −∞ when singular). */
export function slogdet(a: Buffer, aShape: Shape, dtype: DType): [Buffer, Buffer] {
  const { rows: n, batch } = dims(aShape);
  const sgn = allocate(dtype, batch);
  const lad = allocate(dtype, batch);
  for (let t = 0; t < batch; t++) {
    const m = matrix(a, t, n * n);
    let { sign, singularAt } = luInPlace(m, n);
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
    const m = matrix(a, t, n * n);
    const { sign, singularAt } = luInPlace(m, n);
    let d = singularAt >= 0 ? 0 : sign;
    if (singularAt < 0) for (let i = 0; i < n; i++) d *= m[i * n + i]!;
    out[t] = d;
  }
  return out;
}

/**
 * Symmetric eigendecomposition A = V diag(w) Vᵀ by cyclic Jacobi rotations on (A + Aᵀ)/2:
 * eigenvalues ascending; each eigenvector's largest-magnitude entry (the first such) is positive.
 */
export function eigh(a: Buffer, aShape: Shape, dtype: DType): [Buffer, Buffer] {
  const { rows: n, batch } = dims(aShape);
  const wOut = allocate(dtype, batch * n);
  const vOut = allocate(dtype, batch * n * n);
  for (let t = 0; t < batch; t++) {
    const raw = matrix(a, t, n * n);
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] = 0.5 * (raw[i * n + j]! + raw[j * n + i]!);
    const v = new Float64Array(n * n);
    for (let i = 0; i < n; i++) v[i * n + i] = 1;
    let total = 0;
    for (const x of m) total += x * x;
    for (let sweep = 0; sweep < 100; sweep++) {
      let off = 0;
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += m[i * n + j]! ** 2;
      if (off <= EPS * EPS * total * 1e-4 || off === 0) break;
      for (let p = 0; p < n; p++)
        for (let q = p + 1; q < n; q++) {
          const apq = m[p * n + q]!;
          if (apq === 0) continue;
          // rotation angle that zeroes m[p][q]: t = tan θ solving t² + 2θt − 1 = 0, |t| ≤ 1
          const theta = (m[q * n + q]! - m[p * n + p]!) / (2 * apq);
          const tn = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
          const c = 1 / Math.sqrt(tn * tn + 1);
          const s = tn * c;
          for (let k = 0; k < n; k++) {
            // columns p, q of M·J
            const mkp = m[k * n + p]!;
            const mkq = m[k * n + q]!;
            m[k * n + p] = c * mkp - s * mkq;
            m[k * n + q] = s * mkp + c * mkq;
          }
          for (let k = 0; k < n; k++) {
            // rows p, q of Jᵀ·M
            const mpk = m[p * n + k]!;
            const mqk = m[q * n + k]!;
            m[p * n + k] = c * mpk - s * mqk;
            m[q * n + k] = s * mpk + c * mqk;
          }
          m[p * n + q] = 0;
          m[q * n + p] = 0;
          for (let k = 0; k < n; k++) {
            const vkp = v[k * n + p]!;
            const vkq = v[k * n + q]!;
            v[k * n + p] = c * vkp - s * vkq;
            v[k * n + q] = s * vkp + c * vkq;
          }
        }
    }
    const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[i * n + i]! - m[j * n + j]!);
    order.forEach((src, dst) => {
      wOut[t * n + dst] = m[src * n + src]!;
      let big = 0;
      for (let k = 1; k < n; k++) if (Math.abs(v[k * n + src]!) > Math.abs(v[big * n + src]!)) big = k;
      const flip = v[big * n + src]! < 0 ? -1 : 1;
      for (let k = 0; k < n; k++) vOut[t * n * n + k * n + dst] = flip * v[k * n + src]!;
    });
  }
  return [wOut, vOut];
}

const buf = (t: ArrayTensor): Buffer => t.buffer as Buffer;

registerCpuKernel('cholesky', ([a]) => [cholesky(buf(a!), a!.shape, a!.dtype)]);
registerCpuKernel('triangular_solve', ([a, b], { lower, transposeA }: { lower: boolean; transposeA: boolean }) => [
  triangularSolve(buf(a!), a!.shape, buf(b!), b!.shape, lower, transposeA, b!.dtype),
]);
registerCpuKernel('solve', ([a, b]) => [solve(buf(a!), a!.shape, buf(b!), b!.shape, b!.dtype)]);
registerCpuKernel('det', ([a]) => [det(buf(a!), a!.shape, a!.dtype)]);
registerCpuKernel('slogdet', ([a]) => slogdet(buf(a!), a!.shape, a!.dtype));
registerCpuKernel('eigh', ([a]) => eigh(buf(a!), a!.shape, a!.dtype));
