/**
 * The one linear memory every cpu-wasm kernel (and worker) works in. The memory is a
 * SharedArrayBuffer when the runtime has them, so worker threads can run on the same data, and so
 * that tensors can live in it: a shared memory's buffer is never detached when the memory grows
 * (growth makes a new, longer SharedArrayBuffer over the same bytes), so a typed array over the
 * memory stays valid for the tensor's whole life. Regions are handed out by the heap (heap.ts); the
 * arena only grows the memory (up to 2 GiB, never shrinking) and recognises its own buffers.
 */

const PAGE = 65536;
/** The first bytes hold the worker control words (see pool.ts). */
export const CONTROL_BYTES = 4096;
/**
 * 2 GiB: wasm32 addresses 4 GiB, but the kernels compare byte offsets as signed i32, so every
 * address stays below 2³¹. A larger problem raises {@link ArenaFullError} and runs on the CPU kernels.
 */
export const MAX_BYTES = 2 ** 31;
const MAX_PAGES = MAX_BYTES / PAGE;
/** The least the memory grows by, so that a run of new regions does not grow it once each. */
const GROW_BYTES = 8 * 2 ** 20;

/** The arena cannot hold a kernel's data (over 2 GiB, or the memory could not grow). */
export class ArenaFullError extends RangeError {
  override readonly name = 'ArenaFullError';
}

/** Linear memory with typed views that are refreshed after growth. */
export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  private buf!: ArrayBufferLike;
  /** Every buffer object the memory has had (one per size, for a shared memory). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  f32!: Float32Array;
  f64!: Float64Array;
  i32!: Int32Array;
  u8!: Uint8Array;

  /** `shared` defaults to whether the runtime has SharedArrayBuffer (false is for tests of that case). */
  constructor(initialPages = 256, shared = typeof SharedArrayBuffer !== 'undefined') {
    this.shared = shared;
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: this.shared } as WebAssembly.MemoryDescriptor);
    this.refresh();
  }

  /** The import limits the kernels' module must declare for this memory. */
  get limits(): { initialPages: number; maximumPages: number; shared: boolean } {
    return { initialPages: 1, maximumPages: MAX_PAGES, shared: this.shared };
  }

  /** The memory's size in bytes. */
  get byteLength(): number {
    return this.buf.byteLength;
  }

  /** The memory's current buffer (the one the views are over). */
  get buffer(): ArrayBufferLike {
    return this.buf;
  }

  private refresh(): void {
    this.buf = this.memory.buffer;
    this.buffers.add(this.buf);
    this.f32 = new Float32Array(this.buf);
    this.f64 = new Float64Array(this.buf);
    this.i32 = new Int32Array(this.buf);
    this.u8 = new Uint8Array(this.buf);
  }

  /**
   * Whether `view` is a typed array over this memory (only a shared memory's views are: an
   * unshared memory's buffer is detached on growth, so nothing may keep one).
   */
  owns(view: ArrayBufferView): boolean {
    return this.shared && this.buffers.has(view.buffer);
  }

  /**
   * Grows the memory to hold at least `end` bytes. Views taken before may be stale after it (for
   * an unshared memory they are detached): read `f32`/`f64`/`u8` again. Throws
   * {@link ArenaFullError} past 2 GiB or when the engine refuses to grow.
   */
  ensure(end: number, what: string): void {
    if (end > MAX_BYTES)
      throw new ArenaFullError(`cpu-wasm: ${what} needs the wasm memory to reach ${(end / 2 ** 20).toFixed(0)} MiB, over its ${MAX_BYTES / 2 ** 30} GiB limit`);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      // in steps of at least GROW_BYTES (pages cost nothing until touched), within the limit
      const target = Math.min(MAX_BYTES, Math.max(end, have + GROW_BYTES));
      try {
        this.memory.grow(Math.ceil((target - have) / PAGE));
      } catch (e) {
        throw new ArenaFullError(`cpu-wasm: could not grow the wasm memory to ${(end / 2 ** 20).toFixed(0)} MiB for ${what} (${e instanceof Error ? e.message : String(e)})`);
      }
    }
    if (this.memory.buffer !== this.buf) this.refresh();
  }
}
