import { setBackend } from './registry.js';
import { startWasmThreads } from './wasm/web-workers.js';
import { wasmAvailable } from './wasm/index.js';
import { type AdapterInfo } from './webgpu/device.js';
import { initWebGPU } from './webgpu/browser.js';

/**
 * Configuration in a browser, by a call: a page has no PARTAX_BACKEND or PARTAX_WASM_THREADS, and
 * what those select (WebGPU, worker threads) can only start asynchronously there.
 */

/** The backends a page can run: plain TypeScript, WebAssembly SIMD kernels, or WebGPU. */
export type BrowserBackend = 'cpu' | 'cpu-wasm' | 'webgpu';

/** Options of {@link init}. */
export interface InitOptions {
  /** The default backend for new tensors (default 'cpu-wasm' where WebAssembly SIMD runs, else 'cpu'). */
  readonly backend?: BrowserBackend;
  /** cpu-wasm threads, the page's own included (default: the core count; more than 1 needs cross-origin isolation). */
  readonly threads?: number;
  /** Milliseconds to wait for each worker and for the WebGPU adapter and device (default 30 000). */
  readonly timeoutMs?: number;
}

/** What {@link init} set up. */
export interface InitResult {
  readonly backend: BrowserBackend;
  /** Threads cpu-wasm kernels use. */
  readonly threads: number;
  /** Why there are fewer threads than asked, if there are. */
  readonly threadsNote?: string;
  /** The WebGPU adapter, when the backend is webgpu. */
  readonly webgpu?: AdapterInfo;
}

const BACKENDS: readonly BrowserBackend[] = ['cpu', 'cpu-wasm', 'webgpu'];

/**
 * Sets partax up in a page: starts cpu-wasm's Web Workers (where the page is cross-origin
 * isolated), starts WebGPU on `navigator.gpu` when asked, and makes `backend` the default. Rejects
 * with the reason when the backend cannot run here (no WebGPU, no WebAssembly SIMD). Can be called
 * again to switch backends.
 *
 *     const { backend, threads, threadsNote } = await init({ backend: 'cpu-wasm' });
 *     await init({ backend: 'webgpu' });   // WebGPUError saying why where there is none
 */
export async function init(opts: InitOptions = {}): Promise<InitResult> {
  const backend = opts.backend ?? (wasmAvailable ? 'cpu-wasm' : 'cpu');
  if (!BACKENDS.includes(backend)) throw new Error(`init: unknown backend '${String(backend)}' (expected one of ${BACKENDS.join(', ')})`);
  if (backend === 'cpu-wasm' && !wasmAvailable) throw new Error("init: backend 'cpu-wasm' needs WebAssembly with 128-bit SIMD, which this browser lacks; use 'cpu'");
  const t = wasmAvailable ? await startWasmThreads(opts.threads, opts.timeoutMs) : { threads: 1, reason: 'no WebAssembly SIMD' };
  const webgpu = backend === 'webgpu' ? await initWebGPU(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }) : undefined;
  setBackend(backend);
  return { backend, threads: t.threads, ...(t.reason === undefined ? {} : { threadsNote: t.reason }), ...(webgpu ? { webgpu } : {}) };
}
