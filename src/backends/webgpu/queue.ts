import type { DeviceHandle } from './device.js';
import { WebGPUError } from './errors.js';
import { type BufferPool, type GpuStorage, USAGE } from './pool.js';

/**
 * Command batching and readback. Kernels are recorded into one open compute pass and submitted in
 * batches (every `flushEvery` dispatches, and before any readback): on Dawn a submit costs about
 * as much as a few dozen recorded dispatches. WebGPU orders every submitted command, and Dawn puts
 * barriers between dispatches of a pass, so a buffer recycled by the pool while earlier commands
 * still read it is safe: those commands run first.
 */
export class CommandQueue {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private recorded = 0;
  /** Dispatches recorded before a submit. */
  flushEvery = 64;
  /** Milliseconds a readback may take before it is reported as a hang. */
  readTimeoutMs = 120_000;

  constructor(
    private readonly handle: DeviceHandle,
    private readonly pool: BufferPool,
  ) {}

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
   * Copies the first `bytes` bytes of a storage buffer to the host. The storage must stay
   * referenced until the promise settles (the caller holds its tensor).
   */
  async read(s: GpuStorage, bytes: number, where: string): Promise<ArrayBuffer> {
    this.handle.check(where);
    this.flush();
    if (bytes === 0) return new ArrayBuffer(0);
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.handle.device.createBuffer({ size, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    try {
      const enc = this.handle.device.createCommandEncoder();
      enc.copyBufferToBuffer(s.buffer, 0, staging, 0, size);
      this.handle.device.queue.submit([enc.finish()]);
      await this.timed(staging.mapAsync(1 /* GPUMapMode.READ */), where, 'reading a tensor back');
      const out = staging.getMappedRange(0, size).slice(0, bytes);
      staging.unmap();
      this.handle.check(where);
      return out;
    } catch (e) {
      this.handle.check(where); // a lost device explains a failed mapping better
      throw e instanceof WebGPUError ? e : new WebGPUError(`${where}: reading a tensor back from the GPU failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      staging.destroy();
    }
  }

  /** Resolves when the GPU has finished every submitted command. */
  async idle(where: string): Promise<void> {
    this.flush();
    await this.timed(this.handle.device.queue.onSubmittedWorkDone(), where, 'waiting for the GPU');
    this.handle.check(where);
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
