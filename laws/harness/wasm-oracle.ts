import assert from 'node:assert/strict';
import * as P from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { wasmAvailable } from '../../src/backends/wasm/index.js';
import { getKernels } from '../../src/backends/wasm/kernels.js';

/** The laws that compare cpu-wasm with the CPU oracle: their skip reason, tolerances and inputs. */

/** False where cpu-wasm runs; else why its laws are skipped, printed as a TAP comment. */
export function wasmLawsSkip(): false | string {
  const skip = wasmAvailable ? false : 'cpu-wasm: this runtime has no WebAssembly SIMD; backend absent, laws skipped';
  if (skip) console.log(`# ${skip}`);
  return skip;
}

/** Runs `f` with the cpu-wasm heap filling every freed region with NaN bits (a read after free shows). */
export async function withPoisonedHeap<T>(f: () => T | Promise<T>): Promise<T> {
  const heap = getKernels().heap;
  heap.poison = true;
  try {
    return await f();
  } finally {
    heap.poison = false;
  }
}

export type WasmFloat = 'float32' | 'float64';

/**
 * cpu-wasm against the CPU oracle on programs a few operations deep over values of order 1: the
 * kernels sum in other orders (matmul, reductions), a few ulps per operation, over at most ~8
 * operations; float32 sums of up to 33 terms, tanh/exp within 1 ulp.
 */
export const WASM_TOL: Record<WasmFloat, { rtol: number; atol: number }> = {
  float64: { rtol: 1e-9, atol: 1e-9 },
  float32: { rtol: 2e-4, atol: 2e-4 },
};

/** Elementwise |got − want| ≤ atol + rtol·|want|, naming the first element that is not. */
export function assertNear(got: ArrayLike<number>, want: ArrayLike<number>, tol: { rtol: number; atol: number }, label: string): void {
  assert.equal(got.length, want.length, `${label}: lengths`);
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= tol.atol + tol.rtol * Math.abs(want[i]!))) assert.fail(`${label}: element ${i}: cpu-wasm ${got[i]} vs cpu ${want[i]}`);
  }
}

/** Two [m, n] inputs in [−1.5, 1.5] from a seed, on `backend`; on cpu-wasm the second is made by a kernel (resident). */
export function seededInputs(shape: readonly [number, number], dtype: WasmFloat, seed: number, backend: 'cpu' | 'cpu-wasm'): [Tensor, Tensor] {
  return P.withBackend(backend, () => {
    const [m, n] = shape;
    const make = (s: number) => P.fromBuffer(Float64Array.from({ length: m * n }, (_, i) => 1.5 * Math.sin(s + 0.7 * i)), 'float64', [m, n]);
    return [P.astype(make(seed), dtype), P.mul(P.astype(make(seed + 1), dtype), 1)];
  });
}
