import { sizeOf } from '../../core/shape.js';
import { checkIndices } from '../cpu/gather.js';
import { flagIndexError, opCode } from './error-flag.js';
import { shareStorage } from './gpu-tensor.js';
import type { GpuInput, GpuKernel } from './kernel.js';
import type { Runtime } from './runtime.js';
import { grid1D, main1D } from './wgsl.js';

/**
 * Index checks on WebGPU. Indices that came from the host are checked there, at once, exactly as
 * the CPU backend does. Indices computed on the GPU cannot be read without an await, so a kernel
 * checks them and records the first bad one in the device's error flag (error-flag.ts), which the
 * next readback turns into the CPU's error. The kernel that consumes them (gather, scatter_add)
 * runs anyway, reading 0 for the bad index (never memory outside the tensor).
 */

const checkWgsl = () => `@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(1) @binding(0) var<storage, read_write> out: array<atomic<u32>>;
@group(2) @binding(0) var<storage, read> x0: array<i32>;
${main1D(`  let v = x0[i];
  if (v < 0i || u32(v) >= p[1]) {
    ${flagIndexError('out', 'p[2]', 'v', 'p[1]', 'i', 'p[3]')}
  }`)}`;

/** Checks that every index of `idx` lies in [0, size) of `axis`; `op` names the caller in the error. */
export function checkIndicesOnDevice(rt: Runtime, idx: GpuInput, size: number, axis: number, op: string): void {
  if (idx.host) return checkIndices(op, idx.host.buffer as Int32Array, size, axis);
  const n = sizeOf(idx.shape);
  rt.dispatcher.run({ key: 'check_index', wgsl: checkWgsl, out: rt.queue.errorFlag, inputs: [idx.storage], params: [n, size, opCode(op), axis], grid: grid1D(n) });
}

/** The check_index primitive: the indices themselves (shared), after the check. */
const checkIndexKernel: GpuKernel = (rt, [idx], { op, axis, size }: { op: string; axis: number; size: number }, [o]) => {
  checkIndicesOnDevice(rt, idx!, size, axis, op);
  return [shareStorage(o!.shape, o!.dtype, idx!.storage)];
};

export const indexCheckKernels: Record<string, GpuKernel> = { check_index: checkIndexKernel };
