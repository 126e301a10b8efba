import { WebGPUError } from './errors.js';
import { initWebGPU, shutdownWebGPU } from './index.js';

/**
 * `PARTAX_BACKEND=webgpu` for library scripts, as `JAX_PLATFORMS=cuda` is for JAX: a script that
 * imports `partax` runs on the GPU without a line changed. WebGPU can only start asynchronously,
 * so `import … from 'partax'` waits for it: src/index.ts loads this module only when the variable
 * asks for WebGPU and awaits {@link startFromEnv} at its top level, so by the time the script's
 * first line runs, the device is up and webgpu is the default backend. Node exits as usual at the
 * end: the device is shut down when the event loop empties (`beforeExit`); an explicit
 * `shutdownWebGPU()` earlier is fine too. When WebGPU cannot start, the import fails at once with
 * a WebGPUError that says what is missing and how to run on the CPU instead. An explicit
 * `await initWebGPU()` in the script stays valid (it returns the live device).
 *
 * Code that imports partax's modules directly (not the package entry), and `require('partax')`
 * (its entry, src/api.ts, has no top-level await), get no automatic start: the first tensor
 * raises "unknown backend 'webgpu' (from PARTAX_BACKEND) … call `await initWebGPU()`" from the
 * registry.
 */

/** Starts WebGPU when PARTAX_BACKEND asks for it; resolves to whether it did. */
export async function startFromEnv(env: Readonly<Record<string, string | undefined>>): Promise<boolean> {
  if (env.PARTAX_BACKEND?.trim() !== 'webgpu') return false;
  try {
    await initWebGPU();
  } catch (e) {
    throw new WebGPUError(`PARTAX_BACKEND=webgpu: ${(e as Error).message}; to run on the CPU instead, unset PARTAX_BACKEND or set it to cpu-wasm`);
  }
  process.once('beforeExit', () => shutdownWebGPU());
  return true;
}
