import { allocate, type Buffer, type DType } from '../../core/dtype.js';

/**
 * Batched matmul C[b] = A[b] · B[b] with A [M,K], B [K,N], row-major. Cache-blocked i-k-j order:
 * the inner loop streams a row of B into a row of C, and a 4-row micro-kernel reuses each B row.
 */
export function matmul(a: Buffer, b: Buffer, batch: number, m: number, k: number, n: number, dtype: DType): Buffer {
  const out = allocate(dtype, batch * m * n);
  const acc = new Float64Array(4 * n);
  const KB = 256;
  for (let t = 0; t < batch; t++) {
    const ao = t * m * k;
    const bo = t * k * n;
    const co = t * m * n;
    for (let i0 = 0; i0 < m; i0 += 4) {
      const rows = Math.min(4, m - i0);
      acc.fill(0, 0, rows * n);
      for (let k0 = 0; k0 < k; k0 += KB) {
        const k1 = Math.min(k, k0 + KB);
        if (rows === 4) {
          const a0 = ao + i0 * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
          for (let p = k0; p < k1; p++) {
            const x0 = a[a0 + p]!, x1 = a[a1 + p]!, x2 = a[a2 + p]!, x3 = a[a3 + p]!;
            const br = bo + p * n;
            for (let j = 0; j < n; j++) {
              const y = b[br + j]!;
              acc[j] = acc[j]! + x0 * y;
              acc[n + j] = acc[n + j]! + x1 * y;
              acc[2 * n + j] = acc[2 * n + j]! + x2 * y;
              acc[3 * n + j] = acc[3 * n + j]! + x3 * y;
            }
          }
        } else {
          for (let r = 0; r < rows; r++) {
            const ar = ao + (i0 + r) * k;
            const cr = r * n;
            for (let p = k0; p < k1; p++) {
              const x = a[ar + p]!;
              const br = bo + p * n;
              for (let j = 0; j < n; j++) acc[cr + j] = acc[cr + j]! + x * b[br + j]!;
            }
          }
        }
      }
      for (let r = 0; r < rows; r++) {
        const c = co + (i0 + r) * n;
        for (let j = 0; j < n; j++) out[c + j] = acc[r * n + j]!;
      }
    }
  }
  return out;
}
