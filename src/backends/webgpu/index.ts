import { registerBackend, setBackend } from '../registry.js';
import { webgpuBackend } from './backend.js';
import { acquireDevice } from './dawn.js';
import type { AdapterInfo, DeviceOptions } from './device.js';
import { startRuntime } from './runtime.js';

/**
 * The WebGPU backend's public surface in Node (`partax/webgpu`): start it, stop it, watch its
 * memory. (In a browser, `partax/webgpu` is ./browser.ts: the same surface over `navigator.gpu`.)
 *
 *     await initWebGPU();           // Dawn → Vulkan (lavapipe without a GPU)
 *     setBackend('webgpu');         // or PARTAX_BACKEND=webgpu
 *     const y = matmul(x, w);       // runs in WGSL
 *     console.log(await y.data());
 *     shutdownWebGPU();             // lets Node exit
 */

export * from './surface.js';
export type { DeviceOptions };

/**
 * Starts the WebGPU backend: loads Dawn, acquires an adapter and a device (each step under
 * `timeoutMs`, default 30 s) and registers the backend as 'webgpu'. When PARTAX_BACKEND=webgpu,
 * webgpu becomes the default backend. Resolves to the adapter's description; rejects with a
 * WebGPUError (never hangs) when there is no adapter or Dawn does not load. Calling it again
 * returns the live device.
 *
 *     const info = await initWebGPU(); info.software // true on lavapipe
 */
export async function initWebGPU(opts: DeviceOptions = {}): Promise<AdapterInfo> {
  const rt = await startRuntime(() => acquireDevice(opts));
  registerBackend(webgpuBackend);
  if (process.env.PARTAX_BACKEND?.trim() === 'webgpu') setBackend('webgpu');
  return rt.info;
}
