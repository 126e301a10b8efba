/**
 * The one linear memory every cpu-wasm kernel (and worker) works in, used as a scratch arena:
 * each kernel call copies its inputs in, runs, and copies its outputs out, so nothing lives in
 * the memory between calls and a bump allocator from a fixed base is enough. The memory is a
 * SharedArrayBuffer when the runtime has them, so worker threads can run on the same data; it
 * grows as needed (up to 2 GiB) and never shrinks.
 */

const PAGE = 65536;
/** The first bytes hold the worker control words (see pool.ts). */
export const CONTROL_BYTES = 4096;
/**
 * 2 GiB: wasm32 addresses 4 GiB, but the kernels compare byte offsets as signed i32, so every
 * address stays below 2³¹. A larger problem raises {@link ArenaFullError} and runs on the CPU kernels.
 */
const MAX_PAGES = 32768;

/** The arena cannot hold a kernel's data (over 2 GiB, or the memory could not grow). */
export class ArenaFullError extends RangeError {
  override readonly name = 'ArenaFullError';
}

/** A region of the arena: byte offset and length. */
export interface Region {
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** Linear memory with typed views that are refreshed after growth. */
export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  private top = CONTROL_BYTES;
  private buf!: ArrayBufferLike;
  f32!: Float32Array;
  f64!: Float64Array;
  i32!: Int32Array;
  u8!: Uint8Array;

  constructor(initialPages = 256) {
    this.shared = typeof SharedArrayBuffer !== 'undefined';
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: this.shared } as WebAssembly.MemoryDescriptor);
    this.refresh();
  }

  /** The import limits the kernels' module must declare for this memory. */
  get limits(): { initialPages: number; maximumPages: number; shared: boolean } {
    return { initialPages: 1, maximumPages: MAX_PAGES, shared: this.shared };
  }

  private refresh(): void {
    this.buf = this.memory.buffer;
    this.f32 = new Float32Array(this.buf);
    this.f64 = new Float64Array(this.buf);
    this.i32 = new Int32Array(this.buf);
    this.u8 = new Uint8Array(this.buf);
  }

  /** Frees every region (the start of a kernel call). */
  reset(): void {
    this.top = CONTROL_BYTES;
  }

  /**
   * Reserves `bytes` bytes, 64-byte aligned (a cache line, and v128 alignment), growing the memory
   * when needed. Views taken before a call to `alloc` may be stale: read `f32`/`f64` after it.
   */
  alloc(bytes: number): number {
    const at = this.top;
    const end = at + Math.ceil(bytes / 64) * 64;
    if (end > MAX_PAGES * PAGE)
      throw new ArenaFullError(`cpu-wasm: a kernel needs ${(end / 2 ** 20).toFixed(0)} MiB of scratch memory, over the arena's ${(MAX_PAGES * PAGE) / 2 ** 30} GiB`);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch (e) {
        throw new ArenaFullError(`cpu-wasm: could not grow the arena to ${(end / 2 ** 20).toFixed(0)} MiB (${e instanceof Error ? e.message : String(e)})`);
      }
    }
    if (this.memory.buffer !== this.buf) this.refresh();
    this.top = end;
    return at;
  }
}
