import type { DType } from '../../core/dtype.js';
import type { Shape } from '../../core/shape.js';
import type { ArrayTensor, Aval } from '../../core/tensor.js';
import type { Launch } from './dispatch.js';
import { gpuBytes, GpuTensor } from './gpu-tensor.js';
import type { GpuStorage } from './pool.js';
import type { Runtime } from './runtime.js';

/** What every WebGPU kernel sees: inputs as GPU buffers, the parameters, the output avals. */

/** An input of a kernel: its buffer (borrowed), shape and dtype, and its host copy if it has one. */
export interface GpuInput {
  readonly storage: GpuStorage;
  readonly shape: Shape;
  readonly dtype: DType;
  /** The host tensor it was uploaded from (lets gather check its indices like the CPU does), or null. */
  readonly host: ArrayTensor | null;
}

/** A kernel: records its launches and returns the output tensors. */
export type GpuKernel = (rt: Runtime, xs: readonly GpuInput[], params: any, out: readonly Aval[]) => GpuTensor[];

/** A fresh output tensor of `aval` (a buffer from the pool; its contents are not yet written). */
export function allocateOut(rt: Runtime, aval: Aval): GpuTensor {
  return new GpuTensor(aval.shape, aval.dtype, rt.pool.acquire(gpuBytes(aval.shape)));
}

/** Allocates the output of `aval` and records one launch writing it. */
export function launch(rt: Runtime, aval: Aval, l: Omit<Launch, 'out'>): GpuTensor {
  const out = allocateOut(rt, aval);
  rt.dispatcher.run({ ...l, out: out.storage });
  return out;
}
