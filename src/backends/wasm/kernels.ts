/**
 * The compiled cpu-wasm kernels: one module, generated at first use from the kernel generators,
 * instantiated on the arena's memory (whose regions the heap hands out). Worker threads instantiate the same compiled module on the
 * same (shared) memory, so a kernel runs identically on every thread.
 *
 * Relaxed-SIMD fused multiply-add is used when the engine validates it (Node ≥ 22 ships it; on
 * Node 20 it exists behind `--experimental-wasm-relaxed-simd`). PARTAX_WASM_FMA=0 turns it off.
 */
import { envVar } from '../node-builtin.js';
import { Arena } from './arena.js';
import { Heap } from './heap.js';
import { addElementwiseKernels } from './elementwise-kernel.js';
import { ModuleBuilder } from './module-builder.js';
import { addGemmKernel, gemmF32, gemmF64, type GemmShape } from './matmul-kernel.js';
import { addReduceKernels } from './reduce-kernel.js';
import { addTranscendentalKernels } from './transcendental-kernel.js';
import { addTransposeKernels } from './transpose-kernel.js';

/** A kernel export: every kernel takes i32 byte addresses and counts and returns nothing. */
export type KernelFn = (...args: number[]) => void;

/** The compiled module, its instance on the arena memory and the blocking it was built with. */
export interface Kernels {
  readonly arena: Arena;
  /** The allocator of the arena's memory: tensors' regions and kernels' scratch. */
  readonly heap: Heap;
  readonly module: WebAssembly.Module;
  readonly exports: Readonly<Record<string, KernelFn>>;
  readonly gemm: { readonly float32: GemmShape; readonly float64: GemmShape };
  /** Whether the matmul kernels use relaxed-SIMD fused multiply-add. */
  readonly fma: boolean;
}

/** Whether this engine validates a module using f32x4.relaxed_madd. */
export function relaxedSimdAvailable(): boolean {
  const m = new ModuleBuilder({ initialPages: 1, maximumPages: 1, shared: false }).func('f', [], [], (f) => {
    f.f32(0).op('f32x4.splat').f32(0).op('f32x4.splat').f32(0).op('f32x4.splat').op('f32x4.relaxed_madd').op('drop');
  });
  return WebAssembly.validate(m.bytes() as BufferSource);
}

/** Whether WebAssembly with 128-bit SIMD is available at all (the backend registers only then). */
export function wasmSimdAvailable(): boolean {
  if (typeof WebAssembly !== 'object') return false;
  const m = new ModuleBuilder({ initialPages: 1, maximumPages: 1, shared: false }).func('f', [], [], (f) => {
    f.f32(0).op('f32x4.splat').op('drop');
  });
  return WebAssembly.validate(m.bytes() as BufferSource);
}

let kernels: Kernels | undefined;

/** The kernels if they were built already (nothing is built to answer). */
export const builtKernels = (): Kernels | undefined => kernels;

/** The kernels, built and compiled on first use. */
export function getKernels(): Kernels {
  if (kernels) return kernels;
  const arena = new Arena();
  const fma = envVar('PARTAX_WASM_FMA') !== '0' && relaxedSimdAvailable();
  const gemm = { float32: { ...gemmF32, fma }, float64: { ...gemmF64, fma } };
  const mod = new ModuleBuilder(arena.limits);
  addGemmKernel(mod, gemm.float32);
  addGemmKernel(mod, gemm.float64);
  addElementwiseKernels(mod);
  addReduceKernels(mod);
  addTransposeKernels(mod);
  addTranscendentalKernels(mod);
  const module = new WebAssembly.Module(mod.bytes() as BufferSource);
  const instance = new WebAssembly.Instance(module, { env: { memory: arena.memory } });
  kernels = { arena, heap: new Heap(arena), module, exports: instance.exports as unknown as Record<string, KernelFn>, gemm, fma };
  return kernels;
}
