/**
 * The allocator of the cpu-wasm memory: regions in size classes (../size-class.ts), each class
 * with a free list, new regions taken from the top of the memory (which grows, never shrinks).
 *
 * Two kinds of region:
 * - resident: the storage of a tensor. {@link Heap.resident} returns a typed array over the region
 *   (a view into the shared memory, so CPU kernels read it like any host buffer and wasm kernels
 *   take its byte offset, with no copy). The typed array object owns the region: a
 *   FinalizationRegistry returns the region to its free list when that object is collected, and
 *   the next allocation of its class takes it at once. Nothing may keep a region's offset, or a
 *   second view of it, without keeping the owner (the kernels use offsets only during a call).
 * - scratch: a kernel's temporary (an operand copied in from a host buffer, GEMM packing), freed by
 *   the kernel before it returns.
 *
 * Finalizers run when the event loop turns, after a full collection. V8 cannot see this memory, so
 * the heap forces collections past a watermark (../gc-pressure.ts); while one is pending (a loop
 * that has not yielded since), the live bytes may grow to twice what they were then (also from
 * the free lists, which hold the kernels' scratch regions), and past that new tensors get ordinary
 * host buffers (the copying path, still the wasm kernels) until the loop yields. Without
 * SharedArrayBuffer (a browser page without cross-origin isolation) the memory's buffer is
 * detached on growth, so no tensor may live in it: every tensor is a host buffer and kernels copy,
 * as before. Resident tensors never exceed the memory's 2 GiB; beyond it they are host buffers too.
 */
import type { ArrayFor, DType } from '../../core/dtype.js';
import { recordingPaused } from '../../core/unrecorded.js';
import { GcPressure } from '../gc-pressure.js';
import { sizeClass } from '../size-class.js';
import { type Arena, ArenaFullError, CONTROL_BYTES } from './arena.js';

/** Counters of the heap, in bytes and regions. */
export interface HeapStats {
  /** Bytes in regions handed out and not yet returned (resident and scratch). */
  readonly liveBytes: number;
  readonly liveRegions: number;
  /** Bytes in regions on the free lists. */
  readonly freeBytes: number;
  /** The top of the allocated part of the memory (its high-water mark), in bytes. */
  readonly topBytes: number;
  /** Regions taken from the top, and allocations served from a free list. */
  readonly created: number;
  readonly reused: number;
  /** Resident allocations refused (the memory at its limit, or grown enough while a collection is pending). */
  readonly refused: number;
  readonly forcedGcs: number;
}

const ELEMENT_BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1 };

export class Heap {
  private top = CONTROL_BYTES;
  /** Free regions by class size (offsets; the most recently freed last). */
  private readonly free = new Map<number, number[]>();
  /** Class size of every region handed out, by offset. */
  private readonly sizeAt = new Map<number, number>();
  private live = 0;
  private freeBytes = 0;
  private created = 0;
  private reused = 0;
  private refused = 0;
  /** Returns regions of collected views; a negative held value is the pressure's sentinel. */
  private readonly registry = new FinalizationRegistry<number>((at) => (at >= 0 ? this.release(at) : this.sentinelDone?.()));
  private sentinelDone: (() => void) | undefined;
  /** Forces collections past a watermark (default floor 256 MiB of live regions). */
  readonly pressure = new GcPressure(256 * 2 ** 20, (done) => {
    this.sentinelDone = done;
    this.registry.register({}, -1);
  });
  /**
   * Resolves once the next garbage collection's finalizers have reached this heap (a sentinel in
   * its own registry, whose callback comes with those of the regions freed by that collection).
   * V8 posts them in a task that may come several turns of the event loop after the collection.
   */
  afterCollection(): Promise<void> {
    return new Promise<void>((resolve) => {
      const pending = this.sentinelDone;
      this.sentinelDone = () => {
        pending?.();
        resolve();
      };
      this.registry.register({}, -1);
    });
  }
  /** Testing aid: fill every freed region with NaN bits, so a read after free shows. */
  poison = false;
  /** Resident allocations that would take the live bytes past this are refused (host buffers instead). */
  maxResidentBytes = Infinity;

  /** Open records of resident views handed out (see {@link beginRecord}), innermost last. */
  private readonly records: ArrayBufferView[][] = [];

  constructor(private readonly arena: Arena) {}

  /**
   * Starts recording the resident views handed out for tensors, until the matching
   * {@link endRecord} (not those handed out inside core/unrecorded.ts `unrecorded`).
   */
  beginRecord(): void {
    this.records.push([]);
  }

  /**
   * Ends the innermost record: each view in it that is not in `keep` is freed at once, as by
   * {@link freeResident} (one freed already, by a jit program, say, is skipped); the others (all,
   * when `keep` is null) pass to the enclosing record.
   */
  endRecord(keep: ReadonlySet<object> | null): void {
    const list = this.records.pop();
    if (list === undefined) throw new Error('cpu-wasm heap: endRecord without beginRecord');
    const outer = this.records[this.records.length - 1];
    for (const view of list) {
      if (keep === null || keep.has(view)) outer?.push(view);
      else this.freeResident(view);
    }
  }

  /** Whether tensors can live in the memory (it is shared, so growth does not detach their views). */
  get residentTensors(): boolean {
    return this.arena.shared;
  }

  /** A scratch region of at least `bytes` bytes, for the caller to {@link freeScratch}. Throws {@link ArenaFullError}. */
  scratch(bytes: number, what: string): number {
    return this.take(sizeClass(bytes), what);
  }

  /** Returns a scratch region. */
  freeScratch(at: number): void {
    this.release(at);
  }

  /**
   * A typed array of `n` elements of `dtype` over a fresh region (contents unspecified), returned to
   * the heap when the array is collected; null when tensors cannot live in the memory now (see the
   * file comment), in which case the caller uses a host buffer.
   */
  resident<D extends DType>(dtype: D, n: number): ArrayFor<D> | null {
    if (!this.arena.shared) return null;
    const bytes = n * ELEMENT_BYTES[dtype];
    const size = sizeClass(bytes);
    this.pressure.relieve(this.live + size, () => this.live);
    if (this.live + size > this.maxResidentBytes) {
      this.refused++;
      return null;
    }
    // while a forced collection is pending, the live bytes stay under twice what they were then,
    // also for a region a free list could give: those are the kernels' freed scratch regions, and a
    // tensor taking one makes the next scratch region grow the memory (a loop that never yields
    // grew it to its 2 GiB limit so, and its kernels then fell back to the CPU's)
    const pending = this.pressure.liveAtCollection;
    if (pending > 0 && this.live + size > 2 * pending) {
      this.refused++;
      return null;
    }
    let at: number;
    try {
      at = this.take(size, 'a tensor');
    } catch (e) {
      if (!(e instanceof ArenaFullError)) throw e;
      this.refused++;
      return null;
    }
    const b = this.arena.buffer;
    const view = (
      dtype === 'float32' ? new Float32Array(b, at, n) : dtype === 'float64' ? new Float64Array(b, at, n) : dtype === 'int32' ? new Int32Array(b, at, n) : new Uint8Array(b, at, n)
    ) as ArrayFor<D>;
    this.registry.register(view, at, view);
    if (this.records.length > 0 && !recordingPaused()) this.records[this.records.length - 1]!.push(view);
    return view;
  }

  /**
   * Returns the region of `view` at once, ahead of its collection: for an owner that knows nothing
   * reads the view any more (a jit program's dead intermediates). Only a view {@link resident}
   * handed out, still registered, is freed (its finalizer is cancelled); returns whether it was.
   */
  freeResident(view: ArrayBufferView): boolean {
    if (!this.registry.unregister(view)) return false;
    this.release(view.byteOffset);
    return true;
  }

  /** A region of class `size`: the most recently freed one of that class, else a new one from the top. */
  private take(size: number, what: string): number {
    const list = this.free.get(size);
    let at = list?.pop();
    if (at !== undefined) {
      this.freeBytes -= size;
      this.reused++;
    } else {
      at = this.top;
      this.arena.ensure(at + size, what);
      this.top = at + size;
      this.created++;
    }
    this.sizeAt.set(at, size);
    this.live += size;
    return at;
  }

  private release(at: number): void {
    const size = this.sizeAt.get(at);
    if (size === undefined) throw new Error(`cpu-wasm heap: region at ${at} released twice (or never allocated)`);
    this.sizeAt.delete(at);
    this.live -= size;
    this.pressure.released(this.live);
    if (this.poison) this.arena.u8.fill(0xff, at, at + size);
    const list = this.free.get(size);
    if (list) list.push(at);
    else this.free.set(size, [at]);
    this.freeBytes += size;
  }

  stats(): HeapStats {
    return {
      liveBytes: this.live,
      liveRegions: this.sizeAt.size,
      freeBytes: this.freeBytes,
      topBytes: this.top,
      created: this.created,
      reused: this.reused,
      refused: this.refused,
      forcedGcs: this.pressure.forcedGcs,
    };
  }
}
