import type { DeviceHandle } from './device.js';
import { createErrorFlag, FLAG_BYTES, flaggedError } from './error-flag.js';
import { WebGPUError } from './errors.js';
import { type BufferPool, type GpuStorage, USAGE } from './pool.js';

/**
 * Command batching and readback. Kernels are recorded into one open compute pass and submitted in
 * batches (every `flushEvery` dispatches, and before any readback): on Dawn a submit costs about
 * as much as a few dozen recorded dispatches. WebGPU orders every submitted command, and Dawn puts
 * barriers between dispatches of a pass, so a buffer recycled by the pool while earlier commands
 * still read it is safe: those commands run first.
 *
 * Every readback also reads the device's error flag (error-flag.ts) in the same copy, and raises
 * the error a kernel recorded there.
 */
export class CommandQueue {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private recorded = 0;
  /** Dispatches recorded before a submit. */
  flushEvery = 64;
  /** Milliseconds a readback may take before it is reported as a hang. */
  readTimeoutMs = 120_000;
  /** The flag kernels record errors into (see error-flag.ts); read with every readback. */
  readonly errorFlag: GpuStorage;

  constructor(
    private readonly handle: DeviceHandle,
    private readonly pool: BufferPool,
  ) {
    this.errorFlag = createErrorFlag(handle.device, pool);
  }

  /** The open compute pass (one is begun if needed). */
  computePass(): GPUComputePassEncoder {
    if (this.pass) return this.pass;
    this.encoder ??= this.handle.device.createCommandEncoder();
    this.pass = this.encoder.beginComputePass();
    return this.pass;
  }

  /** Counts one recorded dispatch; submits the batch when it is full. */
  recordedOne(): void {
    if (++this.recorded >= this.flushEvery) this.flush();
  }

  /** Submits everything recorded so far, then lets the pool destroy surplus free buffers. */
  flush(): void {
    if (this.pass) this.pass.end();
    if (this.encoder) this.handle.device.queue.submit([this.encoder.finish()]);
    this.pass = null;
    this.encoder = null;
    this.recorded = 0;
    this.pool.submitted();
    this.pool.trim();
  }

  /**
   * Copies the first `bytes` bytes of a storage buffer to the host, with the error flag; throws
   * the error a kernel flagged since the last readback (clearing the flag). The storage must stay
   * referenced until the promise settles (the caller holds its tensor).
   */
  read(s: GpuStorage, bytes: number, where: string): Promise<ArrayBuffer> {
    return this.readBack(s, bytes, where);
  }

  /** Resolves when the GPU has finished every submitted command; throws a flagged error (as {@link read}). */
  async idle(where: string): Promise<void> {
    await this.readBack(null, 0, where); // the flag's copy runs after every submitted command
  }

  private async readBack(s: GpuStorage | null, bytes: number, where: string): Promise<ArrayBuffer> {
    this.handle.check(where);
    this.flush();
    const size = Math.ceil(bytes / 8) * 8; // the flag follows at an offset the mapping accepts
    const staging = this.handle.device.createBuffer({ size: size + FLAG_BYTES, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    let out: ArrayBuffer;
    let flag: Uint32Array;
    try {
      const enc = this.handle.device.createCommandEncoder();
      if (s && size > 0) enc.copyBufferToBuffer(s.buffer, 0, staging, 0, size);
      enc.copyBufferToBuffer(this.errorFlag.buffer, 0, staging, size, FLAG_BYTES);
      this.handle.device.queue.submit([enc.finish()]);
      await this.timed(staging.mapAsync(1 /* GPUMapMode.READ */), where, s ? 'reading a tensor back' : 'waiting for the GPU');
      const mapped = staging.getMappedRange(0, size + FLAG_BYTES);
      out = mapped.slice(0, bytes);
      flag = new Uint32Array(mapped.slice(size, size + FLAG_BYTES));
      staging.unmap();
      this.handle.check(where);
    } catch (e) {
      this.handle.check(where); // a lost device explains a failed mapping better
      throw e instanceof WebGPUError ? e : new WebGPUError(`${where}: reading a tensor back from the GPU failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      staging.destroy();
    }
    const err = flaggedError(flag);
    if (err) {
      this.handle.device.queue.writeBuffer(this.errorFlag.buffer, 0, new Uint32Array(FLAG_BYTES / 4));
      throw err;
    }
    return out;
  }

  private timed<T>(p: Promise<T>, where: string, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WebGPUError(`${where}: ${what} did not finish within ${this.readTimeoutMs} ms (a hung or lost device?)`)), this.readTimeoutMs);
      timer.unref?.();
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}
