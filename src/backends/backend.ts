import type { Buffer, DType } from '../core/dtype.js';
import type { LoopFn, LoopRunFn, LoopSpec } from '../core/loop.js';
import type { ScalarExpr } from '../core/scalar.js';
import type { ArrayTensor, Aval, Tensor } from '../core/tensor.js';

/**
 * A primitive as a backend sees its record: the name, by which kernels are keyed, and the fusion
 * role, whose scalar expression (an elementwise primitive's) a backend may compile into a kernel
 * or match to a kernel of its own.
 */
export interface KernelPrim {
  readonly name: string;
  readonly fusion: { readonly role: string; readonly scalar?: (params: any) => ScalarExpr };
}

/** The scalar expression of `prim` with these parameters, or null when it is not elementwise. */
export const scalarOf = (prim: KernelPrim, params: unknown): ScalarExpr | null => prim.fusion.scalar?.(params) ?? null;

/**
 * The narrow interface every backend implements: run the kernel of a primitive on concrete inputs
 * and return the output buffers. Shapes and dtypes were already checked.
 */
export interface Backend {
  readonly name: string;
  execute(prim: KernelPrim, inputs: readonly ArrayTensor[], params: unknown, outAvals: readonly Aval[]): Buffer[];
  /**
   * Device backends only (webgpu), whose memory is not a host typed array: run the primitive and
   * return output tensors of the backend's own kind. Inputs may be host tensors (the backend moves
   * them in). When present, the interpreter calls it instead of `execute`.
   */
  run?(prim: KernelPrim, inputs: readonly Tensor[], params: unknown, outAvals: readonly Aval[]): Tensor[];
  /** Throws if the backend cannot hold tensors of `dtype` (webgpu: float64); `where` names the caller. */
  checkDType?(dtype: DType, where: string): void;
  /**
   * Host backends with memory of their own (cpu-wasm: the wasm memory, which its kernels read in
   * place): a buffer of `n` elements of `dtype` for an output computed outside the backend's
   * kernels (jit's generated loops), contents unspecified; undefined to let the caller allocate.
   */
  allocate?(dtype: DType, n: number): Buffer | undefined;
  /**
   * Host backends with {@link allocate}: takes back a buffer that `allocate` or a kernel of this
   * backend returned, at once rather than when it is collected; the caller guarantees that nothing
   * reads or writes it afterwards (jit's dead intermediates at the end of a run). A buffer the
   * backend did not hand out is left alone.
   */
  release?(b: Buffer): void;
  /**
   * Host backends with {@link release}: records the buffers handed out for tensors from now on,
   * until the matching {@link endTemporaries} (records nest). See prim/temporaries.ts.
   */
  beginTemporaries?(): void;
  /**
   * Ends the innermost record: its buffers that are not in `keep` are released at once (the caller
   * guarantees that nothing else can read them); those in `keep`, or all of them when `keep` is
   * null, go on to the enclosing record, if any.
   */
  endTemporaries?(keep: ReadonlySet<object> | null): void;
  /**
   * Host backends whose kernels read some layouts in place (cpu-wasm: a GEMM with a transposed
   * operand, binary ops with a broadcast one): the output of the layout primitive `prim` as a
   * deferred tensor ({@link ArrayTensor.deferred}), stored only if something reads its buffer; null
   * to run the primitive now. Only the eager interpreter asks.
   */
  defer?(prim: KernelPrim, inputs: readonly ArrayTensor[], params: unknown, outAvals: readonly Aval[]): ArrayTensor | null;
  /**
   * Host backends that compile jit's fused loops themselves (cpu-wasm: WebAssembly SIMD): the loop
   * `spec` of a fusion group as a function of its buffers (reads, output, stores; see
   * {@link LoopFn}), or null to let jit run its JavaScript loop. Called once per loop when a
   * program is compiled; the backend caches by the loop's signature.
   */
  compileLoop?(spec: LoopSpec): LoopFn | null;
  /**
   * Backends with {@link compileLoop}: a sequence of loops it compiled, run one after the other by
   * one call (one dispatch instead of one each), or null. jit groups consecutive loops so.
   */
  compileLoopRun?(specs: readonly LoopSpec[]): LoopRunFn | null;
  /** Device backends only: a tensor of this backend holding a host tensor's elements (an upload). */
  adopt?(t: ArrayTensor): Tensor;
}
