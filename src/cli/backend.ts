import { DecodeError, showValue } from '../core/decode.js';
import { defaultBackend, setBackend } from '../backends/registry.js';
import { wasmAvailable } from '../backends/wasm/index.js';
import { initWebGPU, shutdownWebGPU, WebGPUError } from '../backends/webgpu/index.js';

/**
 * The compute backend of a `partax` command: `--backend NAME`, else the `PARTAX_BACKEND`
 * environment variable, else cpu-wasm (cpu where WebAssembly SIMD does not run). WebGPU starts
 * asynchronously, so a command that runs on it initialises it first ({@link startBackend}) and
 * shuts it down at the end, also on failure.
 */

/** The backends a command can run on. */
export const BACKENDS = ['cpu-wasm', 'cpu', 'webgpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The backend host-side work runs on (datasets, the CPU oracle's neighbour): cpu-wasm where it runs, else cpu. */
export const HOST_BACKEND: BackendName = wasmAvailable ? 'cpu-wasm' : 'cpu';

/**
 * `PARTAX_BACKEND`, checked: undefined when unset or empty; a DecodeError naming the variable
 * for an unknown name.
 */
export function envBackend(env: NodeJS.ProcessEnv = process.env): BackendName | undefined {
  const v = env.PARTAX_BACKEND?.trim();
  if (!v) return undefined;
  if (!(BACKENDS as readonly string[]).includes(v))
    throw new DecodeError(`PARTAX_BACKEND: expected one of ${BACKENDS.join(', ')}, got ${showValue(v)}`, [{ path: 'PARTAX_BACKEND', message: 'unknown backend' }]);
  return v as BackendName;
}

/**
 * Makes `name` the default backend, initialising WebGPU first when it is 'webgpu' (`say` gets a
 * line naming the adapter). Resolves to a function that undoes it: shuts WebGPU down and restores
 * the previous default where that is still possible. A WebGPU that cannot start is a WebGPUError
 * that says how to run on the CPU instead.
 *
 *     const stop = await startBackend('webgpu', console.error);
 *     try { … } finally { stop(); }
 */
export async function startBackend(name: BackendName, say: (line: string) => void = () => {}): Promise<() => void> {
  const previous = defaultBackend();
  const gpu = name === 'webgpu';
  if (gpu) {
    const info = await initWebGPU().catch((e: unknown) => {
      throw new WebGPUError(`--backend webgpu: ${(e as Error).message}; run on the CPU with --backend cpu-wasm (or unset PARTAX_BACKEND)`);
    });
    say(`WebGPU adapter ${info.description || info.device || info.vendor}${info.software ? ' (a software renderer: correct but slow)' : ''}`);
  }
  setBackend(name);
  return () => {
    if (gpu) shutdownWebGPU();
    try {
      setBackend(previous);
    } catch {
      // the previous default was 'webgpu' from PARTAX_BACKEND, now shut down: keep the current one
    }
  };
}
