/**
 * The compiled cpu-wasm kernels: one module, generated at first use from the kernel generators,
 * instantiated on the arena's memory (whose regions the heap hands out). Worker threads instantiate the same compiled module on the
 * same (shared) memory, so a kernel runs identically on every thread.
 *
 * The GEMM uses relaxed-SIMD fused multiply-add wherever the engine has it: Node ≥ 22 and
 * browsers ship it, and on Node 20, where it sits behind V8's `--experimental-wasm-relaxed-simd`,
 * the kernels turn that flag on before they compile (it adds the relaxed opcodes and changes
 * nothing else). On the 2-core AMD EPYC (Zen 3) this was measured on, the fused kernel runs about
 * 1.3× as fast as the separate multiply and add at the MLP's shapes. PARTAX_WASM_FMA: unset or
 * `auto`, that; `1`, the same, but an error where there is no relaxed SIMD; `0`, never (the
 * separate multiply and add, as on an engine without relaxed SIMD).
 */
import { DecodeError } from '../../core/decode.js';
import { envVar, nodeBuiltin } from '../node-builtin.js';
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

/**
 * Turns relaxed SIMD on where the engine has it behind V8's `--experimental-wasm-relaxed-simd`
 * (Node 20; it must happen before the kernels are compiled); nothing where it is on already or
 * where there is no V8 to ask (a browser). Returns whether the engine validates it now.
 */
export function enableRelaxedSimd(): boolean {
  if (relaxedSimdAvailable()) return true;
  nodeBuiltin<typeof import('node:v8')>('node:v8')?.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return relaxedSimdAvailable();
}

/** Whether the GEMM kernels use fused multiply-add, as PARTAX_WASM_FMA says (see the file comment). */
export function useFma(setting = envVar('PARTAX_WASM_FMA')): boolean {
  if (setting === undefined || setting === '' || setting === 'auto') return enableRelaxedSimd();
  if (setting === '0') return false;
  if (setting === '1') {
    if (enableRelaxedSimd()) return true;
    throw new Error('PARTAX_WASM_FMA=1: this engine has no relaxed SIMD to turn on (f32x4.relaxed_madd does not validate, even with --experimental-wasm-relaxed-simd); unset it or set 0');
  }
  throw new DecodeError(`PARTAX_WASM_FMA: expected 0, 1 or auto, got '${setting}'`);
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
  const fma = useFma();
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
