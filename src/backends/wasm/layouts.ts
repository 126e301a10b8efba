/**
 * The layouts cpu-wasm kernels read in place, so that the eager interpreter never stores them:
 * a matrix transpose (swap of the last two axes) feeding a GEMM, which packs the operand from
 * its source in either layout, and a broadcast feeding a binary elementwise op, which reads the
 * source once per repetition. The backend answers these layout primitives with deferred tensors
 * (`ArrayTensor.deferred`); a consumer that cannot read one in place reads its buffer, which
 * stores it then (the primitive's usual kernel), so semantics never change.
 */
import type { Shape } from '../../core/shape.js';
import type { ArrayTensor } from '../../core/tensor.js';

/** Whether `perm` swaps the last two axes and keeps the others (a batch of matrix transposes). */
export function isMatrixTranspose(perm: readonly number[]): boolean {
  const r = perm.length;
  return r >= 2 && perm[r - 1] === r - 2 && perm[r - 2] === r - 1 && perm.slice(0, -2).every((p, i) => p === i);
}

/** A broadcast read in place: out[o, m, i] = source[m] over the output viewed as [outer, mid, inner]. */
export interface BroadcastBlock {
  readonly source: ArrayTensor;
  readonly outer: number;
  readonly mid: number;
  readonly inner: number;
}

/**
 * The [outer, mid, inner] view of broadcast_in_dim(source → `shape`, `dims`) when the output axes
 * the source fills (those of size > 1 it does not repeat) are one contiguous block among the
 * output's axes of size > 1 (a scalar, a row such as a bias, a column such as a kept-dims
 * reduction); null otherwise. Axes of size 1 count on neither side; the source's elements are in
 * the block's row-major order, as `dims` increase.
 */
export function broadcastBlock(source: ArrayTensor, shape: Shape, dims: readonly number[]): BroadcastBlock | null {
  const filled = new Set(dims.filter((_, i) => source.shape[i] !== 1));
  const big = [...shape.keys()].filter((j) => shape[j]! > 1);
  const block = big.filter((j) => filled.has(j));
  const prod = (from: number, to: number) => shape.slice(from, to).reduce((p, d) => p * d, 1);
  if (block.length === 0) return { source, outer: 1, mid: 1, inner: prod(0, shape.length) };
  const [first, last] = [block[0]!, block[block.length - 1]!];
  if (big.indexOf(last) - big.indexOf(first) !== block.length - 1) return null;
  return { source, outer: prod(0, first), mid: prod(first, last + 1), inner: prod(last + 1, shape.length) };
}
