/**
 * The memory of one cpu-wasm kernel call: where its operands are and where its outputs go.
 *
 * An operand that lives in the wasm memory (a resident tensor, see heap.ts) is passed by its byte
 * offset, with no copy; any other (a host buffer: a tensor made from user data, or any tensor when
 * the memory is not shared) is copied into a scratch region. An output is a fresh resident region
 * the kernel writes directly, or, when the heap refuses one, a scratch region copied out into a
 * host buffer at the end. Scratch regions are freed when the call ends, also on a throw.
 */
import { allocate, type ArrayFor, type Buffer, type DType } from '../../core/dtype.js';
import { getKernels, type Kernels } from './kernels.js';

export class KernelCall {
  private readonly scratch: number[] = [];
  private readonly hostOuts: [Buffer, number][] = [];

  constructor(readonly ks: Kernels) {}

  /**
   * The byte address of `b`'s elements for the kernel: its own when resident, else a scratch copy
   * (of its first `bytes` bytes, all by default: a kernel that reads only a prefix copies that).
   */
  in(b: Buffer, bytes = b.byteLength): number {
    const { arena } = this.ks;
    if (arena.owns(b)) return b.byteOffset;
    const n = Math.min(bytes, b.byteLength);
    const at = this.temp(n, 'an operand');
    arena.u8.set(new Uint8Array(b.buffer, b.byteOffset, n), at);
    return at;
  }

  /** A scratch region of `bytes` bytes, freed when the call ends. */
  temp(bytes: number, what = 'kernel scratch'): number {
    const at = this.ks.heap.scratch(bytes, what);
    this.scratch.push(at);
    return at;
  }

  /**
   * An output of `n` elements of `dtype` and the address the kernel writes it at; its contents are
   * unspecified until the kernel has written every element.
   */
  out<D extends DType>(dtype: D, n: number): [ArrayFor<D>, number] {
    const r = this.ks.heap.resident(dtype, n);
    if (r) return [r, r.byteOffset];
    const host = allocate(dtype, n);
    const at = this.temp(host.byteLength, 'an output');
    this.hostOuts.push([host, at]);
    return [host, at];
  }

  /**
   * The byte address where the kernel writes the existing output buffer `b`: its own when
   * resident, else a scratch region copied into `b` when the call finishes.
   */
  at(b: Buffer): number {
    if (this.ks.arena.owns(b)) return b.byteOffset;
    const at = this.temp(b.byteLength, 'an output');
    this.hostOuts.push([b, at]);
    return at;
  }

  /** Copies the host outputs out of their scratch regions (the kernel has written them). */
  finish(): void {
    const u8 = this.ks.arena.u8;
    for (const [host, at] of this.hostOuts) new Uint8Array(host.buffer, host.byteOffset, host.byteLength).set(u8.subarray(at, at + host.byteLength));
  }

  /** Frees every scratch region. */
  release(): void {
    for (const at of this.scratch) this.ks.heap.freeScratch(at);
    this.scratch.length = 0;
  }
}

/**
 * Runs `f(call, ...args)` with a fresh {@link KernelCall}, copying host outputs out after it and
 * freeing its scratch. The eager kernels pass a module-level `f` and its arguments rather than a
 * closure made per call, whose optimized code V8 would drop at each full collection.
 */
export function withCall<T, A extends unknown[]>(f: (call: KernelCall, ...args: A) => T, ...args: A): T {
  const call = new KernelCall(getKernels());
  try {
    const r = f(call, ...args);
    call.finish();
    return r;
  } finally {
    call.release();
  }
}
