/**
 * A pool of GPU storage buffers reused by size class, so that a training loop allocating the same
 * shapes every step recycles the same buffers instead of asking the driver for new ones.
 *
 * Sizes are rounded up to a class (../size-class.ts: 256 bytes at least, then powers of two split
 * in quarters above 1 KiB, at most 25 % waste). A {@link GpuStorage} is reference counted: tensors that share a
 * buffer (reshape, stop_gradient) each hold a reference; the last release puts the buffer on its
 * class's free list. Free buffers beyond `maxFreeBytes` (or the peak live bytes, when larger) are
 * destroyed, but only by {@link trim}, which the queue calls right after a submit so that no
 * unsubmitted command still uses them. Uploads reuse a free buffer too (written with
 * `queue.writeBuffer`) once the batch of commands that may still read it has been submitted.
 * Tensors release their buffers from finalizers; see {@link GcPressure} (../gc-pressure.ts) for how the pool
 * makes those run in a loop that V8 alone would rarely collect.
 */

import { GcPressure } from '../gc-pressure.js';
import { sizeClass } from '../size-class.js';
import { WebGPUError } from './errors.js';

/** Buffer usage flags (the WebGPU constants, spelled here so no globals are needed). */
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, STORAGE: 0x80 } as const;
const STORAGE_USAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;

/** One pooled GPU buffer and the number of tensors using it. */
export interface GpuStorage {
  readonly buffer: GPUBuffer;
  /** A small integer naming the buffer (bind-group cache keys). */
  readonly id: number;
  /** The class size in bytes (≥ what was asked for). */
  readonly bytes: number;
  /** The pool that owns it (a storage of a destroyed pool is ignored on release). */
  readonly pool: BufferPool;
  refs: number;
}

/** Counters of a pool, in bytes and buffers. */
export interface PoolStats {
  /** Bytes in buffers held by live tensors (or in flight). */
  readonly liveBytes: number;
  readonly liveBuffers: number;
  /** Bytes in free buffers waiting for reuse. */
  readonly freeBytes: number;
  readonly freeBuffers: number;
  /** Buffers created over the pool's life, and acquisitions served from the free lists. */
  readonly created: number;
  readonly reused: number;
  /** Full garbage collections forced because the live bytes passed the watermark. */
  readonly forcedGcs: number;
}

let nextId = 1;
/** A fresh buffer id (shared with the parameter buffers of the dispatcher). */
export const newBufferId = (): number => nextId++;

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly ids = new WeakMap<GPUBuffer, number>();
  /** The batch (submit serial) in which each free buffer was released. */
  private readonly releasedIn = new WeakMap<GPUBuffer, number>();
  /** The serial of the batch being recorded: commands recorded now are submitted with it. */
  private serial = 0;
  /** The most live bytes seen: the free bytes kept may reach it (one step's worth of buffers). */
  private peakLive = 0;
  private live = 0;
  private liveCount = 0;
  private freeBytes = 0;
  private freeCount = 0;
  private created = 0;
  private reused = 0;
  private destroyed = false;
  /** Called with the ids of buffers about to be destroyed (the dispatcher drops its bind groups). */
  onDestroy: (ids: readonly number[]) => void = () => {};
  /** GPU buffers are invisible to V8: a full collection is forced past a watermark (see {@link GcPressure}). */
  readonly pressure: GcPressure = new GcPressure(64 * 2 ** 20);
  /** Full collections forced so far. */
  get forcedGcs(): number {
    return this.pressure.forcedGcs;
  }

  constructor(
    private readonly device: GPUDevice,
    /** Free bytes kept for reuse, at least (the peak live bytes when larger); beyond, trim() destroys buffers. */
    public maxFreeBytes = 64 * 2 ** 20,
  ) {}

  /** A buffer of at least `bytes` bytes (1 reference), from the free list of its class or new. */
  acquire(bytes: number): GpuStorage {
    this.relieve();
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    const buffer = list && list.length > 0 ? this.takeFree(list, list.length - 1, size) : this.create(size, false);
    return this.wrap(buffer, size);
  }

  /**
   * A buffer of at least `data.byteLength` bytes (a multiple of 4) holding `data`: a free buffer
   * released before the last submit, written with `queue.writeBuffer` (ordered after every submitted
   * command, and no unsubmitted one can use it), else a new buffer written through a mapping.
   */
  upload(data: ArrayBufferView): GpuStorage {
    this.relieve();
    const size = sizeClass(data.byteLength);
    const list = this.free.get(size);
    const at = list ? list.findIndex((b) => this.releasedIn.get(b)! < this.serial) : -1;
    if (at >= 0) {
      const buffer = this.takeFree(list!, at, size);
      this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
      return this.wrap(buffer, size);
    }
    const buffer = this.create(size, true);
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buffer.unmap();
    return this.wrap(buffer, size);
  }

  /** Removes entry `at` of a free list of class `size` for reuse. */
  private takeFree(list: GPUBuffer[], at: number, size: number): GPUBuffer {
    const buffer = list.splice(at, 1)[0]!;
    this.freeBytes -= size;
    this.freeCount--;
    this.reused++;
    return buffer;
  }

  /** The queue submitted the batch being recorded: later commands belong to the next one. */
  submitted(): void {
    this.serial++;
  }

  /** Adds a reference. */
  retain(s: GpuStorage): void {
    s.refs++;
  }

  /** Drops a reference; the last one returns the buffer to its free list. */
  release(s: GpuStorage): void {
    if (s.pool !== this || this.destroyed) return;
    if (--s.refs > 0) return;
    if (s.refs < 0) throw new Error(`webgpu pool: buffer ${s.id} released more often than retained`);
    this.live -= s.bytes;
    this.liveCount--;
    this.pressure.released(this.live);

    (this.free.get(s.bytes) ?? this.free.set(s.bytes, []).get(s.bytes)!).push(s.buffer);
    this.releasedIn.set(s.buffer, this.serial);
    this.freeBytes += s.bytes;
    this.freeCount++;
  }

  /** Destroys free buffers beyond `maxFreeBytes`, largest classes first. Call only after a submit. */
  trim(): void {
    const keep = Math.max(this.maxFreeBytes, this.peakLive);
    if (this.freeBytes <= keep) return;
    const dead: number[] = [];
    for (const size of [...this.free.keys()].sort((a, b) => b - a)) {
      const list = this.free.get(size)!;
      while (list.length > 0 && this.freeBytes > keep) {
        const b = list.shift()!; // the oldest first: the newest may be reused soonest
        dead.push(this.ids.get(b)!);
        b.destroy();
        this.freeBytes -= size;
        this.freeCount--;
      }
    }
    this.onDestroy(dead);
  }

  stats(): PoolStats {
    return {
      liveBytes: this.live,
      liveBuffers: this.liveCount,
      freeBytes: this.freeBytes,
      freeBuffers: this.freeCount,
      created: this.created,
      reused: this.reused,
      forcedGcs: this.forcedGcs,
    };
  }

  /** Forgets every buffer (their device is being destroyed with them). */
  destroy(): void {
    this.destroyed = true;
    this.free.clear();
  }

  /** Forces a full GC when the live bytes pass the watermark (see {@link GcPressure} (../gc-pressure.ts)). */
  private relieve(): void {
    this.pressure.relieve(this.live, () => this.live);
  }

  private create(size: number, mapped: boolean): GPUBuffer {
    const max = this.device.limits.maxStorageBufferBindingSize;
    if (size > max)
      throw new WebGPUError(`webgpu: a tensor of ${size} bytes exceeds this adapter's largest storage binding (${max} bytes); split it, or use the cpu backend`);
    const buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, mappedAtCreation: mapped });
    this.ids.set(buffer, newBufferId());
    this.created++;
    return buffer;
  }

  private wrap(buffer: GPUBuffer, size: number): GpuStorage {
    this.live += size;
    if (this.live > this.peakLive) this.peakLive = this.live;
    this.liveCount++;
    return { buffer, id: this.ids.get(buffer)!, bytes: size, pool: this, refs: 1 };
  }
}
