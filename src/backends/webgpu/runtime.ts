import type { AdapterInfo, DeviceHandle } from './device.js';
import { Dispatcher } from './dispatch.js';
import { WebGPUError } from './errors.js';
import { BufferPool } from './pool.js';
import { CommandQueue } from './queue.js';

/**
 * The one live WebGPU runtime of the process: a device with its buffer pool, command queue and
 * kernel dispatcher. `startRuntime` makes it (once; concurrent callers share the promise) and
 * `stopRuntime` destroys it, after which tensors made on it can no longer be read.
 */
export interface Runtime {
  readonly handle: DeviceHandle;
  readonly pool: BufferPool;
  readonly queue: CommandQueue;
  readonly dispatcher: Dispatcher;
  readonly info: AdapterInfo;
}

let current: Runtime | null = null;
let starting: Promise<Runtime> | null = null;

/**
 * Acquires the device (`acquire`: Dawn's in Node, navigator.gpu's in a browser) and builds the
 * runtime, or returns the live one.
 */
export function startRuntime(acquire: () => Promise<DeviceHandle>): Promise<Runtime> {
  if (current && current.handle.lostReason === null) return Promise.resolve(current);
  starting ??= acquire()
    .then((handle) => {
      const pool = new BufferPool(handle.device);
      const queue = new CommandQueue(handle, pool);
      current = { handle, pool, queue, dispatcher: new Dispatcher(handle, queue, pool), info: handle.info };
      return current;
    })
    .finally(() => {
      starting = null;
    });
  return starting;
}

/** The live runtime; throws a WebGPUError naming `where` if there is none or its device was lost. */
export function runtime(where: string): Runtime {
  if (!current) throw new WebGPUError(`${where}: WebGPU is not initialised: call \`await initWebGPU()\` first`);
  current.handle.check(where);
  return current;
}

/** The live runtime or null (never throws). */
export const runtimeOrNull = (): Runtime | null => current;

/** Submits pending work, destroys the device and forgets the runtime (so Node can exit). */
export function stopRuntime(): void {
  const r = current;
  current = null;
  if (!r) return;
  try {
    if (r.handle.lostReason === null) r.queue.flush();
  } finally {
    r.pool.destroy();
    r.handle.destroy();
  }
}
