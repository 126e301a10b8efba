import { defaultBackend, setBackend } from '../registry.js';
import { afterTurn } from '../gc-pressure.js';
import type { AdapterInfo } from './device.js';
import type { PoolStats } from './pool.js';
import { runtime, runtimeOrNull, stopRuntime } from './runtime.js';

/**
 * What the WebGPU backend offers once started, the same in Node and in a browser: only
 * `initWebGPU` differs between the two (Dawn in ./index.ts, `navigator.gpu` in ./browser.ts).
 */

export { GpuTensor } from './gpu-tensor.js';
export { WebGPUError } from './errors.js';
export { setMatmulVariant, type MatmulVariant } from './matmul.js';
export { hasWebGPUKernel, registerWebGPUKernel, type TensorKernel } from './backend.js';
export type { AdapterInfo, PoolStats };

/**
 * Stops the WebGPU backend: submits pending work, destroys the device and drops Dawn, so that
 * Node can exit (a live Dawn instance may keep it running). GPU tensors made before can no
 * longer be read. If webgpu was the default backend, 'cpu' becomes the default. Safe to call twice.
 */
export function shutdownWebGPU(): void {
  stopRuntime();
  if (defaultBackend() === 'webgpu') setBackend('cpu');
}

/** Alias of {@link shutdownWebGPU}. */
export const shutdown = shutdownWebGPU;

/** Memory and kernel counters of the WebGPU backend (null when it is not running). */
export interface WebGPUStats extends PoolStats {
  /** WGSL pipelines compiled so far. */
  readonly pipelines: number;
  /** Kernel dispatches recorded so far (a fused jit kernel counts one). */
  readonly dispatches: number;
  readonly adapter: AdapterInfo;
}

/**
 * The pool's counters (live and free bytes, buffers created and reused), the number of compiled
 * pipelines and of kernel dispatches, or null when WebGPU is not running. A training loop should see `liveBytes`
 * level off after its first steps.
 */
export function webgpuStats(): WebGPUStats | null {
  const rt = runtimeOrNull();
  if (!rt) return null;
  return { ...rt.pool.stats(), pipelines: rt.dispatcher.pipelineCount, dispatches: rt.dispatcher.dispatchCount, adapter: rt.info };
}

/** Tunables of the running WebGPU backend (see {@link configureWebGPU}). */
export interface WebGPUConfig {
  /** Live bytes below which no garbage collection is forced (default 64 MiB; 0: never force). */
  readonly gcFloorBytes?: number;
  /** Free bytes the pool keeps for reuse, at least (the peak live bytes when larger; default 64 MiB). */
  readonly maxFreeBytes?: number;
  /** Kernels recorded before a submit (default 64). */
  readonly flushEvery?: number;
  /** Milliseconds before a readback is reported as a hang (default 120 000). */
  readonly readTimeoutMs?: number;
}

/**
 * Adjusts the running backend's memory and batching policy. GPU buffers are returned to the pool
 * by the finalizers of collected tensors; since V8 cannot see GPU memory, the pool forces a full
 * collection when the live bytes pass twice their recent low and `gcFloorBytes`.
 *
 *     configureWebGPU({ gcFloorBytes: 256 * 2 ** 20 })
 */
export function configureWebGPU(c: WebGPUConfig): void {
  const rt = runtime('configureWebGPU');
  if (c.gcFloorBytes !== undefined) rt.pool.pressure.gcFloorBytes = c.gcFloorBytes;
  if (c.maxFreeBytes !== undefined) rt.pool.maxFreeBytes = c.maxFreeBytes;
  if (c.flushEvery !== undefined) rt.queue.flushEvery = Math.max(1, c.flushEvery);
  if (c.readTimeoutMs !== undefined) rt.queue.readTimeoutMs = c.readTimeoutMs;
}

/**
 * Waits until the GPU has run every submitted command, then yields one macrotask so that the
 * finalizers of garbage-collected tensors run and their buffers return to the pool. A loop that
 * never awaits anything else can call it every few steps to hold flat memory. Like every readback,
 * it raises an error a kernel recorded since the last one (an out-of-range index computed on the
 * GPU: the ShapeError the CPU would have thrown at once).
 */
export async function webgpuSync(): Promise<void> {
  await runtime('webgpuSync').queue.idle('webgpuSync');
  await new Promise<void>((resolve) => afterTurn(resolve));
}
