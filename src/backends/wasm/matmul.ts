/**
 * Batched matmul on the generated GEMM kernels (matmul-kernel.ts): pack op(B) into scratch, run
 * the kernel (on every thread of the worker pool when the product is large and splitting it pays
 * at its shape, see split-gate.ts: the threads share out row blocks through an atomic counter),
 * which reads op(A) where it lies and writes C into the output. Resident operands are read in
 * place and a resident output is written in place, so a product copies nothing but B's packing;
 * either operand may be given as its transpose.
 */
import type { Buffer } from '../../core/dtype.js';
import { gemmName, gemmWorkBytes, packBName, type GemmShape } from './matmul-kernel.js';
import { type KernelCall, withCall } from './kernel-call.js';
import { type Job, parallelFor } from './pool.js';
import { type ShapeRecord, splitGate } from './split-gate.js';
import { inCompiledProgram } from '../compiled-context.js';

type FloatBuffer = Float32Array | Float64Array;

/** A matmul operand: its buffer, and whether the buffer holds the operand's transpose (each matrix stored [cols, rows]). */
export interface GemmOperand {
  readonly buf: FloatBuffer;
  readonly transposed: boolean;
}

/** Products below this many multiply-adds run on one thread (a worker round trip costs ~10–50 µs). */
const PARALLEL_MIN_MACS = 1 << 21;

/** This process's CPU time in ms (all threads; Node's process.cpuUsage), undefined where there is none (a browser). */
const processCpuMs = (): number | undefined => {
  const usage = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process?.cpuUsage?.();
  return usage === undefined ? undefined : (usage.user + usage.system) / 1000;
};

/**
 * Products of at least this many multiply-adds start split, the serial way only explored until
 * its times say otherwise (split-gate.ts): at 512³ and above a second thread has always paid here
 * (1.7–1.9× at 1024²–2048²), and a warm-up alternating the two ways would run the first calls of
 * a large product on one thread. Smaller products alternate from the start.
 */
const SPLIT_FIRST_MACS = 1 << 26;

/**
 * A split product whose B takes at most this many bytes has B packed by the calling thread alone
 * while the workers wake (pool.ts, parallelFor's `prepare`): a few tens of µs, about a worker's
 * wake-up. A larger B is packed by every thread first, then multiplied.
 */
const SERIAL_PACK_BYTES = 1 << 20;

/**
 * How a product of at least 2 M multiply-adds (`PARALLEL_MIN_MACS`) uses the threads: 'measure'
 * (the default) splits it where splitting measured faster at its shape on this machine
 * (split-gate.ts); 'always' splits every such product (the rule before measurement, kept for laws
 * that must run the split path, and for a machine known to be idle).
 */
export type ThreadSplit = 'measure' | 'always';
let policy: ThreadSplit = 'measure';
const gate = splitGate();

/**
 * Sets how cpu-wasm's GEMM decides to use its threads (see {@link ThreadSplit}); measurements
 * taken so far are kept. Example: `setWasmThreadSplit('always')` where every large product must split.
 */
export function setWasmThreadSplit(p: ThreadSplit): void {
  if (p !== 'measure' && p !== 'always') throw new RangeError(`setWasmThreadSplit: expected 'measure' or 'always', got ${JSON.stringify(p)}`);
  policy = p;
}

/** The GEMM's split policy (see {@link setWasmThreadSplit}). */
export const wasmThreadSplit = (): ThreadSplit => policy;

/** What the GEMM's split gate has measured, shape by shape (key: threads, dtype, batch×m×k×n, transposes, jit or eager). */
export const wasmSplitShapes = (): ShapeRecord[] => gate.shapes();
export type { ShapeRecord as WasmSplitShape };

/**
 * C[t] = A[t] · B[t] for t < batch, A [m, k], B [k, n], row-major float32 or float64 (or stored
 * transposed, see {@link GemmOperand}); returns a new buffer [batch, m, n], resident when the heap
 * gives one. `threads` caps the threads used (1 = this thread only).
 */
export function wasmMatmul(a: GemmOperand, b: GemmOperand, batch: number, m: number, k: number, n: number, threads: number): FloatBuffer {
  return withCall(gemm, a, b, batch, m, k, n, threads);
}

function gemm(call: KernelCall, a: GemmOperand, b: GemmOperand, batch: number, m: number, k: number, n: number, threads: number): FloatBuffer {
  const dtype = a.buf instanceof Float32Array ? 'float32' : 'float64';
  const [out, po] = call.out(dtype, batch * m * n);
  if (out.length === 0) return out;
  if (k === 0) return out.fill(0);
  const ks = call.ks;
  const s: GemmShape = ks.gemm[dtype];
  const E = dtype === 'float32' ? 4 : 8;
  const mp = Math.ceil(m / s.mr);
  const np = Math.ceil(n / s.nr);
  const most = m * n * k >= PARALLEL_MIN_MACS ? Math.max(1, Math.min(threads, mp)) : 1;
  const key = most > 1 && policy === 'measure' ? `${most} ${dtype} ${batch}×${m}×${k}×${n} ${+a.transposed}${+b.transposed} ${inCompiledProgram() ? 'jit' : 'eager'}` : undefined;
  const parts = key === undefined || gate.choose(key, batch * m * n * k >= SPLIT_FIRST_MACS) ? most : 1;
  const t0 = key === undefined ? 0 : performance.now();
  const c0 = key === undefined || parts > 1 ? 0 : processCpuMs();
  // row blocks: the cache-sized block on one thread; with several, about 4 blocks per thread so
  // that a thread slowed by other load takes fewer of them
  const mcp = parts === 1 ? s.mc / s.mr : Math.max(2, Math.min(s.mc / s.mr, Math.ceil(mp / (4 * parts))));
  const workBytes = gemmWorkBytes(s, mcp);
  const pa = call.in(a.buf as Buffer);
  const pb = call.in(b.buf as Buffer);
  const bp = call.temp(k * np * s.nr * E, 'packed B');
  const work = call.temp(parts * workBytes, 'GEMM work');
  const counter = call.temp(4, 'GEMM counter');
  const lda = (a.transposed ? m : k) * E;
  const ldb = (b.transposed ? k : n) * E;
  const [packB, fn] = [packBName(s), gemmName(s)];
  for (let t = 0; t < batch; t++) {
    const at = pa + t * m * k * E;
    const bt = pb + t * k * n * E;
    const ct = po + t * m * n * E;
    ks.arena.i32[counter / 4] = 0;
    const gemmPart = (i: number): Job => [fn, at, lda, +a.transposed, bp, ct, n * E, m, n, k, mp, np, work + i * workBytes, counter, mcp];
    if (parts > 1 && k * n * E <= SERIAL_PACK_BYTES) {
      // a small B: this thread packs it while the workers wake, and they start as it is done
      parallelFor(parts, gemmPart, () => ks.exports[packB]!(bt, ldb, +b.transposed, k, n, 0, np, bp));
    } else {
      // pack B (on every thread when the product is large: it is a tenth of the serial work at 2048²)
      parallelFor(parts, (i) => [packB, bt, ldb, +b.transposed, k, n, Math.floor((np * i) / parts), Math.floor((np * (i + 1)) / parts), bp]);
      parallelFor(parts, gemmPart);
    }
  }
  if (key !== undefined) {
    const ms = performance.now() - t0;
    // a serial call: the process's CPU time beyond this thread's is what ran on the other cores
    gate.record(key, parts > 1, ms, parts > 1 || c0 === undefined || ms <= 0 ? undefined : (processCpuMs()! - c0) / ms - 1);
  }
  return out;
}
