// The WebGPU types (GPUDevice, GPUBuffer…), as globals, from the optional peer `webgpu`; kept in the
// published device.d.ts (preserve) so that a project importing partax/webgpu gets them too.
/// <reference types="webgpu" preserve="true" />
import { isMissingPackage } from '../../core/errors.js';
import { WebGPUError } from './errors.js';

/**
 * Acquiring a WebGPU device through Dawn (the `webgpu` npm package), with a timeout on every
 * asynchronous step so that a missing or wedged driver gives an error instead of a hang.
 *
 * Dawn keeps a native instance alive while the object returned by `create` is referenced, so the
 * handle keeps it only until {@link DeviceHandle.destroy}, which also destroys the device.
 */

/** What is known about the adapter a device came from. */
export interface AdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** A CPU implementation (Mesa's lavapipe/llvmpipe, SwiftShader, or a fallback adapter). */
  readonly software: boolean;
}

/** Options of {@link acquireDevice}. */
export interface DeviceOptions {
  /** Milliseconds to wait for Dawn to load and for the adapter and the device (default 30 000). */
  readonly timeoutMs?: number;
  /** Extra Dawn flags for `create` (e.g. `['backend=vulkan']`). */
  readonly dawnFlags?: readonly string[];
}

/** A live device with its adapter's description, and the first failure seen on it. */
export class DeviceHandle {
  /** Why the device was lost (set by Dawn's `lost` promise), or null while it is usable. */
  lostReason: string | null = null;
  /** The first uncaptured GPU error since the last check (a failed validation or allocation), or null. */
  firstError: string | null = null;
  private gpu: GPU | null;
  constructor(
    gpu: GPU,
    readonly device: GPUDevice,
    readonly info: AdapterInfo,
  ) {
    this.gpu = gpu;
    device.lost.then((l) => {
      if (this.lostReason === null) this.lostReason = `${l.reason}${l.message ? `: ${l.message}` : ''}`;
    });
    device.onuncapturederror = (e: GPUUncapturedErrorEvent) => {
      if (this.firstError === null) this.firstError = e.error.message;
    };
  }
  /** Throws a WebGPUError if the device was lost or a GPU command failed since the last check. */
  check(where: string): void {
    if (this.lostReason !== null)
      throw new WebGPUError(`${where}: the WebGPU device was lost (${this.lostReason}); its tensors are gone: call initWebGPU() again and recompute`);
    if (this.firstError !== null) {
      // reported once: the error belongs to an earlier command, later ones may be fine
      const msg = this.firstError;
      this.firstError = null;
      throw new WebGPUError(`${where}: an earlier WebGPU command failed: ${msg}`);
    }
  }
  /** Destroys the device and drops Dawn's instance, so that Node can exit. */
  destroy(): void {
    if (this.lostReason === null) this.lostReason = 'destroyed by shutdown()';
    this.device.onuncapturederror = null;
    this.device.destroy();
    this.gpu = null;
  }
  /** Whether Dawn's instance is still held (for tests of the shutdown path). */
  get holdsInstance(): boolean {
    return this.gpu !== null;
  }
}

/** Rejects after `ms` with a WebGPUError naming `what`; the timer never keeps Node alive. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WebGPUError(`initWebGPU: ${what} did not answer within ${ms} ms (is a Vulkan driver such as Mesa's lavapipe installed? see scripts/setup-webgpu.sh)`)), ms);
    timer.unref?.();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

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
    mod = await withTimeout(import('webgpu'), ms, 'loading the webgpu package');
  } catch (e) {
    if (e instanceof WebGPUError) throw e;
    if (isMissingPackage(e, 'webgpu'))
      throw new WebGPUError("initWebGPU: the WebGPU backend needs Dawn's node bindings, an optional peer dependency of partax: install the 'webgpu' package (npm install webgpu)");
    throw new WebGPUError(`initWebGPU: the 'webgpu' package (Dawn's node bindings) did not load: ${e instanceof Error ? e.message : String(e)}`);
  }
  let gpu: GPU | null = mod.create([...(opts.dawnFlags ?? [])]);
  try {
    const adapter = await withTimeout(gpu.requestAdapter({ powerPreference: 'high-performance' }), ms, 'requestAdapter()');
    if (!adapter) throw new WebGPUError(NO_ADAPTER);
    const lim = adapter.limits;
    const device = await withTimeout(
      adapter.requestDevice({
        requiredLimits: {
          maxBufferSize: lim.maxBufferSize,
          maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
          maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
        },
      }),
      ms,
      'requestDevice()',
    );
    const i = adapter.info;
    const text = `${i.vendor} ${i.architecture} ${i.device} ${i.description}`.toLowerCase();
    const software = i.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader|software/.test(text);
    const info: AdapterInfo = { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, software };
    const handle = new DeviceHandle(gpu, device, info);
    gpu = null;
    return handle;
  } catch (e) {
    if (e instanceof WebGPUError) throw e;
    throw new WebGPUError(`${NO_ADAPTER}. Dawn said: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    gpu = null; // on failure, drop Dawn's instance so that the process can still exit
  }
}
