// The WebGPU types (GPUDevice, GPUBuffer…), as globals, from @webgpu/types: what the optional peer
// `webgpu` (Dawn) brings with it in Node, and what a browser project installs alone (a few hundred
// KB, no Dawn). Kept in the published device.d.ts (preserve) so that a project importing
// partax/webgpu or partax/browser gets them too.
/// <reference types="@webgpu/types" preserve="true" />
import { WebGPUError } from './errors.js';

/**
 * Acquiring a WebGPU device from a `GPU` object — Dawn's in Node (./dawn.ts), `navigator.gpu` in
 * a browser (./browser.ts) — with a timeout on every asynchronous step so that a missing or wedged
 * driver gives an error instead of a hang.
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

/** Options of `initWebGPU` in Node (Dawn: ./dawn.ts; in a browser only `timeoutMs` applies). */
export interface DeviceOptions {
  /** Milliseconds to wait for Dawn to load and for the adapter and the device (default 30 000). */
  readonly timeoutMs?: number;
  /** Extra Dawn flags for `create` (e.g. `['backend=vulkan']`; Node only, a browser has no Dawn). */
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

/** Rejects after `ms` with a WebGPUError naming `what` (and `hint`); the timer never keeps Node alive. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string, hint: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WebGPUError(`initWebGPU: ${what} did not answer within ${ms} ms${hint}`)), ms);
    (timer as { unref?: () => void }).unref?.();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Where a `GPU` comes from, and what to tell the user when it offers no adapter or hangs. */
export interface GpuSource {
  readonly gpu: GPU;
  /** The error message when `requestAdapter()` gives none. */
  readonly noAdapter: string;
  /** Appended to a timeout's message (how to get a working driver). */
  readonly hint: string;
}

/**
 * Requests a high-performance adapter of `source.gpu` and a device with the adapter's largest
 * buffer limits. Throws a {@link WebGPUError} when no adapter exists or a step takes longer than
 * `timeoutMs` (default 30 000).
 */
export async function deviceFrom(source: GpuSource, opts: { readonly timeoutMs?: number } = {}): Promise<DeviceHandle> {
  const ms = opts.timeoutMs ?? 30_000;
  let gpu: GPU | null = source.gpu;
  try {
    const adapter = await withTimeout(gpu.requestAdapter({ powerPreference: 'high-performance' }), ms, 'requestAdapter()', source.hint);
    if (!adapter) throw new WebGPUError(source.noAdapter);
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
      source.hint,
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
    throw new WebGPUError(`${source.noAdapter}. The WebGPU implementation said: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    gpu = null; // on failure, drop Dawn's instance so that the process can still exit
  }
}
