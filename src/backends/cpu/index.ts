import { allocate, type Buffer, type DType } from '../../core/dtype.js';
import { type Shape, sizeBetween } from '../../core/shape.js';
import type { ArrayTensor, Aval } from '../../core/tensor.js';
import type { Backend, KernelPrim } from '../backend.js';
import { binaryKernels, convert, int32Kernels, integerPow, select, unaryKernels } from './elementwise.js';
import { checkIndices, gather, scatterAdd } from './gather.js';
import { broadcastInDim, concatenate, pad, slice, transpose } from './layout.js';
import { linalgKernels } from './linalg.js';
import { matmul } from './matmul.js';
import { argExtremum, reduce } from './reduce.js';

/** The CPU backend: plain TypeScript over typed arrays, float32 and float64. The oracle. */

type Kernel = (xs: readonly ArrayTensor[], params: any, out: readonly Aval[]) => Buffer[];

const buf = (t: ArrayTensor): Buffer => t.buffer as Buffer;

const kernels: Record<string, Kernel> = {
  select: ([c, a, b], _p, [o]) => {
    const out = allocate(o!.dtype, a!.size);
    select(buf(c!), buf(a!), buf(b!), out);
    return [out];
  },
  convert: ([x], { dtype }: { dtype: DType }) => [convert(buf(x!), dtype)],
  integer_pow: ([x], { y }: { y: number }, [o]) => {
    const out = allocate(o!.dtype, x!.size);
    integerPow(buf(x!), y, out);
    return [out];
  },
  reshape: ([x]) => [buf(x!)], // buffers are immutable: share
  stop_gradient: ([x]) => [buf(x!)],
  transpose: ([x], { perm }) => [transpose(buf(x!), x!.shape, perm, x!.dtype)],
  broadcast_in_dim: ([x], { shape, dims }) => [broadcastInDim(buf(x!), x!.shape, shape, dims, x!.dtype)],
  slice: ([x], { starts, limits }) => [slice(buf(x!), x!.shape, starts, limits, x!.dtype)],
  pad: ([x], { lo, hi, value }) => [pad(buf(x!), x!.shape, lo, hi, value, x!.dtype)],
  concatenate: (xs, { axis }, [o]) => [concatenate(xs.map(buf), xs.map((x) => x.shape), axis, o!.shape, o!.dtype)],
  reduce_sum: ([x], { axes }) => [reduce('sum', buf(x!), x!.shape, axes, x!.dtype)],
  reduce_max: ([x], { axes }) => [reduce('max', buf(x!), x!.shape, axes, x!.dtype)],
  reduce_min: ([x], { axes }) => [reduce('min', buf(x!), x!.shape, axes, x!.dtype)],
  argmax: ([x], { axis }) => [argExtremum('max', buf(x!), x!.shape, axis, x!.dtype)],
  argmin: ([x], { axis }) => [argExtremum('min', buf(x!), x!.shape, axis, x!.dtype)],
  gather: ([x, i], { axis }) => [gather(buf(x!), x!.shape, buf(i!) as Int32Array, axis, x!.dtype)],
  scatter_add: ([u, i], { axis, shape }: { axis: number; shape: Shape }) => [scatterAdd(buf(u!), buf(i!) as Int32Array, axis, shape, u!.dtype)],
  check_index: ([i], { op, axis, size }: { op: string; axis: number; size: number }) => {
    checkIndices(op, buf(i!) as Int32Array, size, axis);
    return [buf(i!)]; // the indices themselves (buffers are immutable: shared)
  },
  matmul: ([a, b], _p, [o]) => {
    const s = a!.shape;
    const m = s[s.length - 2]!;
    const k = s[s.length - 1]!;
    const n = b!.shape[b!.shape.length - 1]!;
    // the batch from the output: with K = 0 the inputs are empty but C is [..., M, N] of zeros
    const batch = sizeBetween(o!.shape, 0, o!.shape.length - 2);
    return [matmul(buf(a!), buf(b!), batch, m, k, n, o!.dtype)];
  },
  ...linalgKernels,
};

for (const [name, f] of Object.entries(unaryKernels))
  kernels[name] = ([x], _p, [o]) => {
    const out = allocate(o!.dtype, x!.size);
    f(buf(x!), out);
    return [out];
  };
for (const [name, f] of Object.entries(binaryKernels))
  kernels[name] = ([a, b], _p, [o]) => {
    const out = allocate(o!.dtype, a!.size);
    (a!.dtype === 'int32' ? (int32Kernels[name] ?? f) : f)(buf(a!), buf(b!), out);
    return [out];
  };

/** Registers an extra CPU kernel (used by primitives declared outside the core set). */
export function registerCpuKernel(name: string, k: Kernel): void {
  kernels[name] = k;
}

/** Whether the CPU backend has a kernel for the primitive (the coverage law checks every primitive). */
export const hasCpuKernel = (prim: KernelPrim): boolean => Object.hasOwn(kernels, prim.name);

export const cpuBackend: Backend = {
  name: 'cpu',
  execute(prim, inputs, params, outAvals) {
    const k = kernels[prim.name];
    if (!k) throw new Error(`cpu backend: no kernel for primitive '${prim.name}'`);
    return k(inputs, params, outAvals);
  },
};
