import type { Buffer, DType } from './dtype.js';
import type { ScalarExpr } from './scalar.js';
import type { Shape } from './shape.js';

/**
 * The loop description of a fusion group (what jit's planner hands a backend to compile): an index
 * space, strided reads of stored buffers, the members' scalar expressions in evaluation order, and
 * what is stored. jit renders it as JavaScript (jit/codegen.ts) or WGSL; a host backend may compile
 * it itself (`Backend.compileLoop` in backends/backend.ts: cpu-wasm's WebAssembly SIMD), so the description lives
 * here, below both.
 */

/** An operand of a loop operation: a strided read or the value of an earlier operation. */
export type Ref = { readonly kind: 'read'; readonly index: number } | { readonly kind: 'op'; readonly index: number };

/** A strided input of a loop: element at loop multi-index i is `buf[offset + Σ i·strides]`. */
export interface LoopRead {
  readonly strides: readonly number[];
  readonly offset: number;
}

/** One elementwise operation of a loop: the scalar expression of its primitive, on operands of `argDtypes`, giving `dtype`. */
export interface LoopOp {
  readonly expr: ScalarExpr;
  readonly dtype: DType;
  readonly argDtypes: readonly DType[];
  readonly args: readonly Ref[];
}

/**
 * A loop: the index space `shape`, whose first `nOuter` axes index the output (all of them
 * unless it reduces), the reads, the operations in evaluation order, and what is stored.
 *
 * A reduction runs in one of two orders, both visiting each output's elements in the order the
 * CPU reduction kernel does (so sums round identically): with the reduced axes innermost (the
 * index space is permuted so; one accumulator in a local), or, with `accumulate`, in the input's
 * own order (reads stay contiguous when the last axis is kept) adding into a double per output at
 * `Σ idx·outStrides`.
 */
export interface LoopSpec {
  readonly shape: Shape;
  readonly nOuter: number;
  readonly reads: readonly LoopRead[];
  readonly ops: readonly LoopOp[];
  readonly result: Ref;
  /** Further values stored at each output index (second outputs of an elementwise loop), one buffer each. */
  readonly stores?: readonly Ref[];
  readonly reduce: null | 'sum' | 'max' | 'min';
  readonly outDtype: DType;
  readonly accumulate?: { readonly outStrides: readonly number[]; readonly outSize: number };
}

/**
 * A compiled loop: the input buffers (one per read), the output buffer, then one buffer per store.
 * A backend's loop returns false, having written nothing, when it cannot run now (cpu-wasm: no
 * wasm memory left for the copies of host operands); the caller then runs the generic loop.
 */
export type LoopFn = (...bufs: Buffer[]) => void | boolean;

/**
 * A compiled sequence of loops run by one call: the buffers of each loop, in order (as its
 * {@link LoopFn} takes them). Returns false, having run nothing, when it cannot run them in one
 * call; the caller then runs each loop's own function.
 */
export type LoopRunFn = (bufs: readonly (readonly Buffer[])[]) => boolean;

/**
 * Drops unit axes and merges neighbours that every stride vector walks contiguously (never across
 * the boundary between output and reduced axes at `nOuter`).
 */
export function collapse(shape0: Shape, nOuter0: number, strides0: readonly (readonly number[])[]): { shape: number[]; nOuter: number; strides: number[][] } {
  let shape = [...shape0];
  let nOuter = nOuter0;
  let strides = strides0.map((s) => [...s]);
  if (shape.some((d) => d === 0)) return { shape, nOuter, strides };
  const keep = shape.map((d) => d !== 1);
  nOuter = keep.slice(0, nOuter).filter(Boolean).length;
  shape = shape.filter((_, a) => keep[a]);
  strides = strides.map((s) => s.filter((_, a) => keep[a]));
  for (let a = shape.length - 2; a >= 0; a--) {
    if (a === nOuter - 1) continue;
    if (!strides.every((s) => s[a] === s[a + 1]! * shape[a + 1]!)) continue;
    shape[a] = shape[a]! * shape[a + 1]!;
    shape.splice(a + 1, 1);
    for (const s of strides) {
      s[a] = s[a + 1]!;
      s.splice(a + 1, 1);
    }
    if (a < nOuter) nOuter--;
  }
  return { shape, nOuter, strides };
}

