import { registerBackend } from '../registry.js';
import { webgpuBackend } from './backend.js';
import { type AdapterInfo, deviceFrom } from './device.js';
import { WebGPUError } from './errors.js';
import { startRuntime } from './runtime.js';

/**
 * The WebGPU backend in a browser (`partax/webgpu` under the `browser` condition, and part of the
 * browser root entry): the same WGSL kernels, buffer pool and queue as in Node, with the device
 * from `navigator.gpu` instead of Dawn.
 *
 *     const info = await initWebGPU();   // rejects, saying why, where the browser has no WebGPU
 *     setBackend('webgpu');
 */

export * from './surface.js';

/** Options of the browser's {@link initWebGPU}. */
export interface BrowserDeviceOptions {
  /** Milliseconds to wait for the adapter and for the device (default 30 000). */
  readonly timeoutMs?: number;
}

/** The page's `navigator.gpu`, or why there is none (undefined when there is one). */
export function webgpuUnavailable(): string | undefined {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (!nav) return 'no navigator object (not a browser)';
  if (!nav.gpu) {
    const secure = (globalThis as { isSecureContext?: boolean }).isSecureContext;
    return secure === false
      ? 'navigator.gpu is undefined: WebGPU needs a secure context (https:// or http://localhost)'
      : 'navigator.gpu is undefined: this browser does not offer WebGPU (in Chromium on Linux it may need --enable-unsafe-webgpu)';
  }
  return undefined;
}

/**
 * Starts the WebGPU backend on the browser's `navigator.gpu` and registers it as 'webgpu'
 * (select it with `setBackend('webgpu')` or `init({ backend: 'webgpu' })`). Resolves to the
 * adapter's description; rejects with a WebGPUError saying why when the browser has no WebGPU or
 * offers no adapter. Calling it again returns the live device.
 */
export async function initWebGPU(opts: BrowserDeviceOptions = {}): Promise<AdapterInfo> {
  const why = webgpuUnavailable();
  if (why !== undefined) throw new WebGPUError(`initWebGPU: ${why}`);
  const gpu = (globalThis as unknown as { navigator: { gpu: GPU } }).navigator.gpu;
  const noAdapter = 'initWebGPU: navigator.gpu.requestAdapter() gave no adapter (the GPU is blocklisted or WebGPU is disabled in this browser); use the cpu-wasm backend';
  const rt = await startRuntime(() => deviceFrom({ gpu, noAdapter, hint: '' }, opts));
  registerBackend(webgpuBackend);
  return rt.info;
}
