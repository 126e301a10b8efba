/**
 * Batched matmul on the generated GEMM kernels: copy A and B into the arena (rows of A and
 * columns of B zero-padded to whole panels, see matmul-kernel.ts), pack B, run the kernel (on
 * every thread of the worker pool when the product is large: the threads share out row blocks
 * through an atomic counter), copy C's valid part out.
 */
import { allocate, type Buffer } from '../../core/dtype.js';
import { gemmName, gemmWorkBytes, packBName, type GemmShape } from './matmul-kernel.js';
import { getKernels } from './kernels.js';
import { parallelFor } from './pool.js';

type FloatBuffer = Float32Array | Float64Array;

/** Products below this many multiply-adds run on one thread (a worker round trip costs ~10–50 µs). */
const PARALLEL_MIN_MACS = 1 << 21;

/**
 * C[t] = A[t] · B[t] for t < batch, A [m, k], B [k, n], row-major float32 or float64; returns a
 * fresh buffer [batch, m, n]. `threads` caps the threads used (1 = this thread only).
 */
export function wasmMatmul(a: FloatBuffer, b: FloatBuffer, batch: number, m: number, k: number, n: number, threads: number): FloatBuffer {
  const dtype = a instanceof Float32Array ? 'float32' : 'float64';
  const out = allocate(dtype, batch * m * n) as FloatBuffer;
  if (out.length === 0 || k === 0) return out;
  const ks = getKernels();
  const s: GemmShape = ks.gemm[dtype];
  const E = dtype === 'float32' ? 4 : 8;
  const mp = Math.ceil(m / s.mr);
  const np = Math.ceil(n / s.nr);
  const rows = mp * s.mr;
  const cols = np * s.nr;
  const parts = m * n * k >= PARALLEL_MIN_MACS ? Math.max(1, Math.min(threads, mp)) : 1;
  // row blocks: the cache-sized block on one thread; with several, about 4 blocks per thread so
  // that a thread slowed by other load takes fewer of them
  const mcp = parts === 1 ? s.mc / s.mr : Math.max(2, Math.min(s.mc / s.mr, Math.ceil(mp / (4 * parts))));
  const workBytes = gemmWorkBytes(s, mcp);
  for (let t = 0; t < batch; t++) {
    const arena = ks.arena;
    arena.reset();
    const aRaw = arena.alloc(rows * k * E);
    const bRaw = arena.alloc(k * cols * E);
    const bp = arena.alloc(k * cols * E);
    const cp = arena.alloc(rows * cols * E);
    const work = arena.alloc(parts * workBytes);
    const counter = arena.alloc(4);
    arena.i32[counter / 4] = 0;
    const view: FloatBuffer = dtype === 'float32' ? arena.f32 : arena.f64;
    // A rows, then zero rows up to a whole panel
    const a0 = aRaw / E;
    view.set(a.subarray(t * m * k, (t + 1) * m * k), a0);
    view.fill(0, a0 + m * k, a0 + rows * k);
    // B with rows padded to whole panels of columns
    const b0 = bRaw / E;
    if (cols === n) view.set(b.subarray(t * k * n, (t + 1) * k * n), b0);
    else
      for (let q = 0; q < k; q++) {
        const src = t * k * n + q * n;
        view.set(b.subarray(src, src + n), b0 + q * cols);
        view.fill(0, b0 + q * cols + n, b0 + (q + 1) * cols);
      }
    // pack B (on every thread when the product is large: it is a tenth of the serial work at 2048²)
    parallelFor(parts, (i) => {
      const p0 = Math.floor((np * i) / parts);
      const p1 = Math.floor((np * (i + 1)) / parts);
      return [packBName(s), bRaw + p0 * s.nr * E, cols * E, k, p1 - p0, bp + p0 * k * s.nr * E];
    });
    const fn = gemmName(s);
    parallelFor(parts, (i) => [fn, aRaw, k * E, bp, cp, mp, np, k, cols * E, work + i * workBytes, counter, mcp]);
    const c0 = cp / E;
    if (cols === n) out.set(view.subarray(c0, c0 + m * n), t * m * n);
    else for (let i = 0; i < m; i++) out.set(view.subarray(c0 + i * cols, c0 + i * cols + n), t * m * n + i * n);
  }
  return out;
}
