import type { Buffer } from '../../core/dtype.js';
import { ArrayTensor, type Aval, type Tensor } from '../../core/tensor.js';
import type { Backend, KernelPrim } from '../backend.js';
import { cpuBackend, hasCpuKernel } from '../cpu/index.js';
import { elementwiseKernel } from './elementwise.js';
import { noFloat64, WebGPUError } from './errors.js';
import { gatherKernels } from './gather.js';
import { GpuTensor, uploadOf, uploadTensor } from './gpu-tensor.js';
import { indexCheckKernels } from './index-check.js';
import type { GpuInput, GpuKernel } from './kernel.js';
import { layoutKernels } from './layout.js';
import { linalgKernels } from './linalg.js';
import { matmulKernels } from './matmul.js';
import { reduceKernels } from './reduce.js';
import { runtime } from './runtime.js';

/**
 * The WebGPU backend: WGSL kernels for every core primitive in float32, int32 and bool, those of
 * the elementwise primitives made from the scalar expressions of their records. Inputs
 * that live on the host (tensors created while webgpu is the default backend, CPU tensors mixed
 * in) are uploaded on first use and the upload is kept while the host tensor lives.
 *
 * A primitive without a kernel (none of the core ones; one registered later by another module)
 * runs on the CPU oracle when all its inputs are still on the host, and gives host tensors back;
 * when an input lives on the GPU it throws, because reading it needs an await
 * (`x = await toBackend(x, 'cpu')` first). Modules whose primitives are made of other primitives
 * register a tensor-level kernel with {@link registerWebGPUKernel}.
 */
const kernels: Record<string, GpuKernel> = {
  ...layoutKernels,
  ...reduceKernels,
  ...gatherKernels,
  ...indexCheckKernels,
  ...matmulKernels,
  ...linalgKernels,
};

/**
 * A kernel that receives whole tensors and may itself apply primitives, for primitives defined
 * outside the core whose work is other primitives (jit's `jit_call` evaluating its program).
 */
export type TensorKernel = (args: readonly Tensor[], params: any, outAvals: readonly Aval[]) => Tensor[];
const tensorKernels = new Map<string, TensorKernel>();

/**
 * Registers a webgpu kernel for the primitive `name`, given whole tensors (which it may pass to
 * other primitives, running them on the GPU in turn). Example, for a call primitive:
 * `registerWebGPUKernel('jit_call', (xs, p) => evalJaxpr(p.jaxpr, xs))`.
 */
export function registerWebGPUKernel(name: string, k: TensorKernel): void {
  tensorKernels.set(name, k);
}

/** The WGSL kernel of a primitive: by its name, or made from its scalar expression. */
const kernelOf = (prim: KernelPrim): GpuKernel | null => kernels[prim.name] ?? elementwiseKernel(prim);

/** Whether the WebGPU backend has a kernel for the primitive: a WGSL kernel (by name or from its scalar expression) or a tensor kernel. */
export const hasWebGPUKernel = (prim: KernelPrim): boolean => kernelOf(prim) !== null || tensorKernels.has(prim.name);

/** A tensor as a kernel input: a GPU tensor's buffer, or a host tensor's upload (made once and kept). */
export function toInput(t: Tensor, where: string): GpuInput {
  if (t instanceof GpuTensor) {
    const rt = runtime(where);
    if (t.storage.pool !== rt.pool) throw new WebGPUError(`${where}: an input belongs to a WebGPU device that was shut down`);
    return { storage: t.storage, shape: t.shape, dtype: t.dtype, host: null };
  }
  const host = t instanceof ArrayTensor ? t : new ArrayTensor(t.shape, t.dtype, t.dataSync(), 'webgpu');
  return { storage: uploadOf(host, where), shape: t.shape, dtype: t.dtype, host };
}

/** A primitive with no WGSL kernel: the CPU oracle on host inputs, else a clear error. */
function onHost(prim: KernelPrim, args: readonly Tensor[], params: unknown, outAvals: readonly Aval[]): Tensor[] {
  const onGpu = args.filter((a) => a instanceof GpuTensor);
  if (onGpu.length > 0 || !hasCpuKernel(prim))
    throw new WebGPUError(
      hasCpuKernel(prim)
        ? `${prim.name}: the webgpu backend has no kernel for it, and an input lives on the GPU, which cannot be read synchronously: move the inputs first with \`await toBackend(x, 'cpu')\``
        : `${prim.name}: no kernel on the webgpu backend (nor on the cpu backend)`,
    );
  const hostArgs = args.map((a) => (a instanceof ArrayTensor ? a : new ArrayTensor(a.shape, a.dtype, a.dataSync())));
  const bufs: Buffer[] = cpuBackend.execute(prim, hostArgs, params, outAvals);
  return bufs.map((b, i) => new ArrayTensor(outAvals[i]!.shape, outAvals[i]!.dtype, b, 'webgpu'));
}

export const webgpuBackend: Backend = {
  name: 'webgpu',
  execute(prim) {
    throw new WebGPUError(`webgpu backend: execute('${prim.name}') would return host buffers; this backend's tensors live on the GPU (the interpreter calls run())`);
  },
  run(prim, args, params, outAvals) {
    for (const a of outAvals) if (a.dtype === 'float64') throw noFloat64(prim.name);
    const kernel = kernelOf(prim);
    if (!kernel) {
      const tk = tensorKernels.get(prim.name);
      return tk ? tk(args, params, outAvals) : onHost(prim, args, params, outAvals);
    }
    const rt = runtime(prim.name);
    return kernel(rt, args.map((a) => toInput(a, prim.name)), params, outAvals);
  },
  checkDType(dtype, where) {
    if (dtype === 'float64') throw noFloat64(where);
  },
  adopt(t) {
    return uploadTensor(t, 'toBackend');
  },
};
