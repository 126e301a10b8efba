import type { ArrayFor, Buffer, DType } from '../../core/dtype.js';
import { frozenShape, type Shape, showShape, sizeOf } from '../../core/shape.js';
import { ArrayTensor, Tensor } from '../../core/tensor.js';
import { noFloat64, WebGPUError } from './errors.js';
import type { BufferPool, GpuStorage } from './pool.js';
import { runtime } from './runtime.js';

/**
 * A tensor whose elements live in a GPU buffer (float32, int32, or bool stored as u32).
 *
 * Reading it is asynchronous: WebGPU maps buffers with a promise and Dawn offers no blocking wait,
 * so `await x.data()` reads it and `dataSync()` throws a message saying so. Every tensor has the
 * asynchronous `data()` (host tensors resolve at once), so code that awaits it runs on any backend.
 * A readback also reports an error a kernel flagged since the last one (see error-flag.ts): it
 * rejects with that error instead of returning the elements.
 *
 * Memory is released without `dispose()`: a FinalizationRegistry returns the buffer to the pool
 * when the tensor is garbage collected, and the pool forces a collection when its live bytes pass
 * a watermark (V8 cannot see GPU memory). Finalizers run between tasks, so a loop that awaits now
 * and then (a readback of the loss, say) keeps memory flat; a loop that never yields holds every
 * buffer it made until it does.
 */
export class GpuTensor<D extends DType = DType> extends Tensor<D> {
  /** The backend that owns the buffer. */
  readonly backend = 'webgpu';
  /** Takes over one reference of `storage`. */
  /** The shape: a frozen copy of the one given. */
  readonly shape: Shape;
  constructor(
    shape: Shape,
    readonly dtype: D,
    readonly storage: GpuStorage,
  ) {
    super();
    this.shape = frozenShape(shape);
    released.register(this, storage);
  }

  override dataSync(): ArrayFor<D> {
    throw new WebGPUError(
      `dataSync(): this ${this.dtype} tensor ${showShape(this.shape)} lives on the webgpu backend and can only be read asynchronously: use \`await x.data()\` (or \`await toBackend(x, 'cpu')\`)`,
    );
  }

  override async data(): Promise<ArrayFor<D>> {
    const rt = runtime('data');
    if (this.storage.pool !== rt.pool) throw new WebGPUError('data: this tensor belongs to a WebGPU device that was shut down');
    const bytes = await rt.queue.read(this.storage, this.size * 4, 'data');
    return fromWords(bytes, this.dtype);
  }
}

/**
 * GPU tensors known to hold one value everywhere (broadcasts of a host scalar, such as the 0.5 of
 * `mul(x, 0.5)` while jit traces on webgpu), with that value: jit's fused kernels use it as a
 * literal instead of reading the buffer.
 */
const uniform = new WeakMap<GpuTensor, number>();
/** Records that every element of `t` is `value` (the caller knows it without reading the GPU). */
export const markUniform = (t: GpuTensor, value: number): void => void uniform.set(t, value);
/** The value of every element of a GPU tensor, if it is known to be uniform. */
export const uniformValueOf = (t: GpuTensor): number | undefined => uniform.get(t);

/** Returns a tensor's buffer to the pool once the tensor is garbage collected. */
const released = new FinalizationRegistry<GpuStorage>((s) => s.pool.release(s));

/** A new GPU tensor sharing `storage` with another (reshape, stop_gradient). */
export function shareStorage<D extends DType>(shape: Shape, dtype: D, storage: GpuStorage): GpuTensor<D> {
  storage.pool.retain(storage);
  return new GpuTensor(shape, dtype, storage);
}

/** The host elements of a 32-bit word buffer as the typed array of `dtype` (bool: u32 → u8). */
export function fromWords<D extends DType>(bytes: ArrayBuffer, dtype: D): ArrayFor<D> {
  switch (dtype) {
    case 'float32':
      return new Float32Array(bytes) as ArrayFor<D>;
    case 'int32':
      return new Int32Array(bytes) as ArrayFor<D>;
    case 'bool':
      return Uint8Array.from(new Uint32Array(bytes)) as ArrayFor<D>;
  }
  throw noFloat64('data');
}

/** The 32-bit words a host buffer of `dtype` is stored as on the GPU. */
function toWords(buf: Buffer, dtype: DType, where: string): Float32Array | Int32Array | Uint32Array {
  if (dtype === 'float64') throw noFloat64(where);
  if (dtype === 'bool') return Uint32Array.from(buf as Uint8Array);
  return buf as Float32Array | Int32Array;
}

/** Uploads of host tensors, kept while the host tensor lives (it is immutable). */
const uploads = new WeakMap<ArrayTensor, GpuStorage>();
/** Small constants (scalars from `add(x, 1)` and the like), shared by content, per pool. */
const constants = new WeakMap<BufferPool, Map<string, GpuStorage>>();
const MAX_CONSTANT_ELEMENTS = 16;
const MAX_CONSTANTS = 4096;

/**
 * The GPU storage holding a host tensor's elements, uploaded on first use and released when the
 * host tensor is garbage collected. The caller gets a borrowed storage (no reference to drop): it
 * stays alive as long as `t` does.
 */
export function uploadOf(t: ArrayTensor, where: string): GpuStorage {
  const rt = runtime(where);
  const had = uploads.get(t);
  if (had && had.pool === rt.pool) return had;
  const words = toWords(t.buffer as Buffer, t.dtype, where);
  let s: GpuStorage;
  if (words.length <= MAX_CONSTANT_ELEMENTS) {
    const table = constants.get(rt.pool) ?? constants.set(rt.pool, new Map()).get(rt.pool)!;
    const key = `${t.dtype}:${Array.from(new Uint32Array(words.buffer, words.byteOffset, words.length)).join(',')}`;
    let c = table.get(key);
    if (!c) {
      if (table.size >= MAX_CONSTANTS) {
        for (const old of table.values()) rt.pool.release(old);
        table.clear();
      }
      c = rt.pool.upload(words.length === 0 ? new Uint32Array(1) : words);
      table.set(key, c);
    }
    rt.pool.retain(c);
    s = c;
  } else s = rt.pool.upload(words);
  uploads.set(t, s);
  released.register(t, s);
  return s;
}

/** Moves a host tensor to the GPU now (what `toBackend(x, 'webgpu')` does). */
export function uploadTensor<D extends DType>(t: ArrayTensor<D>, where: string): GpuTensor<D> {
  return shareStorage(t.shape, t.dtype, uploadOf(t, where));
}

/** Bytes a tensor of `shape` takes on the GPU (4 per element, at least 4). */
export const gpuBytes = (shape: Shape): number => Math.max(4, sizeOf(shape) * 4);
