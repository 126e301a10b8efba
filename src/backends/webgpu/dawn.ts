import { isMissingPackage } from '../../core/errors.js';
import { type DeviceHandle, deviceFrom, type DeviceOptions, withTimeout } from './device.js';
import { WebGPUError } from './errors.js';

/**
 * A WebGPU device in Node, through Dawn's node bindings (the optional peer `webgpu`). Only the
 * Node entry (`partax/webgpu`, ./index.ts) imports this file: a browser gets its GPU from
 * `navigator.gpu` (./browser.ts) and its bundle holds no Dawn.
 */

const HINT = " (is a Vulkan driver such as Mesa's lavapipe installed? see scripts/setup-webgpu.sh)";
const NO_ADAPTER =
  'initWebGPU: Dawn found no WebGPU adapter (no GPU driver it can use). On Linux without a GPU install Mesa\'s software Vulkan driver, lavapipe (scripts/setup-webgpu.sh installs it from bookworm-backports), or use the cpu backend';

/**
 * Loads Dawn, requests a high-performance adapter and a device with the adapter's largest buffer
 * limits. Throws a {@link WebGPUError} when Dawn does not load, no adapter exists, or a step
 * takes longer than the timeout.
 */
export async function acquireDevice(opts: DeviceOptions = {}): Promise<DeviceHandle> {
  const ms = opts.timeoutMs ?? 30_000;
  let mod: typeof import('webgpu');
  try {
    mod = await withTimeout(import('webgpu'), ms, 'loading the webgpu package', HINT);
  } catch (e) {
    if (e instanceof WebGPUError) throw e;
    if (isMissingPackage(e, 'webgpu'))
      throw new WebGPUError("initWebGPU: the WebGPU backend needs Dawn's node bindings, an optional peer dependency of partax: install the 'webgpu' package (npm install webgpu)");
    throw new WebGPUError(`initWebGPU: the 'webgpu' package (Dawn's node bindings) did not load: ${e instanceof Error ? e.message : String(e)}`);
  }
  return deviceFrom({ gpu: mod.create([...(opts.dawnFlags ?? [])]), noAdapter: NO_ADAPTER, hint: HINT }, { timeoutMs: ms });
}
