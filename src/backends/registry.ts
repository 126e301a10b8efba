import type { DType } from '../core/dtype.js';
import type { Backend } from './backend.js';
import { cpuBackend } from './cpu/index.js';
import { envVar } from './node-builtin.js';
import { wasmAvailable, wasmBackend } from './wasm/index.js';

const backends = new Map<string, Backend>([['cpu', cpuBackend]]);
if (wasmAvailable) backends.set(wasmBackend.name, wasmBackend);

/** PARTAX_BACKEND, read once at startup; a backend registered later (e.g. webgpu) may be named. */
const fromEnv = envVar('PARTAX_BACKEND')?.trim() || undefined;
/**
 * The default: cpu-wasm where WebAssembly SIMD runs (it passes every law the CPU oracle passes,
 * see laws/backends.laws.ts, and runs float32/float64 matmul 15–30× faster), else cpu.
 */
let current = fromEnv ?? (wasmAvailable ? wasmBackend.name : 'cpu');

/** Registers a backend by name (used by optional backends such as webgpu). */
export function registerBackend(b: Backend): void {
  backends.set(b.name, b);
}

/** Every registered backend. */
export const registeredBackends = (): Backend[] => [...backends.values()];

/** The backend of that name, or the default one. */
export function getBackend(name?: string): Backend {
  const b = backends.get(name ?? current);
  if (!b)
    throw new Error(
      `unknown backend '${name ?? current}'${name === undefined && current === fromEnv ? ' (from PARTAX_BACKEND)' : ''} (available: ${[...backends.keys()].join(', ')}; webgpu registers on \`await initWebGPU()\`)`,
    );
  return b;
}

/**
 * Selects the default backend for new tensors: 'cpu-wasm' (the default: WebAssembly SIMD kernels
 * for matmul, elementwise ops, sums and transposes, the CPU kernels for the rest) or 'cpu' (plain
 * TypeScript, the oracle). Example: `setBackend('cpu')`.
 */
export function setBackend(name: string): void {
  getBackend(name);
  current = name;
}

/** The name of the default backend. */
export const defaultBackend = (): string => current;

/**
 * The backend a new tensor of `dtype` is made for: the default one, which may refuse the dtype
 * (webgpu has no float64; `where` names the creating function in its error).
 */
export function backendForNew(dtype: DType, where: string): string {
  backends.get(current)?.checkDType?.(dtype, where);
  return current;
}

/** Whether the default backend can hold tensors of `dtype` (webgpu has no float64). */
export function defaultHolds(dtype: DType): boolean {
  try {
    backends.get(current)?.checkDType?.(dtype, 'defaultHolds');
    return true;
  } catch {
    return false;
  }
}

/**
 * The backend that evaluates a primitive on these inputs: theirs when they agree; for inputs on
 * different backends, the default backend if one of them is on it, else the first input's (the
 * CPU and cpu-wasm backends share host buffers, so either can read the other's), except that a
 * device backend (webgpu) holding an input always wins; the default backend when there are no inputs.
 */
export function backendFor(inputs: readonly { readonly backend: string }[]): Backend {
  const first = inputs[0]?.backend;
  if (first === undefined) return getBackend();
  if (inputs.every((t) => t.backend === first)) return getBackend(first);
  // A device backend (webgpu) wins: its tensors cannot be read synchronously, host ones can be uploaded.
  const device = inputs.find((t) => backends.get(t.backend)?.run !== undefined);
  if (device) return getBackend(device.backend);
  return getBackend(inputs.some((t) => t.backend === current) ? current : first);
}
