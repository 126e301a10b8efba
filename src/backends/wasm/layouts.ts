/**
 * The layouts cpu-wasm kernels read in place, so that the eager interpreter never stores them:
 * a matrix transpose (swap of the last two axes) feeding a GEMM, which packs the operand from
 * its source in either layout, and a broadcast feeding a binary elementwise op, which reads the
 * source once per repetition. The backend answers these layout primitives with deferred tensors
 * (`ArrayTensor.deferred`); a consumer that cannot read one in place reads its buffer, which
 * stores it then (the primitive's usual kernel), so semantics never change.
 */
import { type Shape, sizeBetween } from '../../core/shape.js';
import type { ArrayTensor } from '../../core/tensor.js';

/** Whether `perm` swaps the last two axes and keeps the others (a batch of matrix transposes). */
export function isMatrixTranspose(perm: readonly number[]): boolean {
  const r = perm.length;
  if (r < 2 || perm[r - 1] !== r - 2 || perm[r - 2] !== r - 1) return false;
  for (let i = 0; i < r - 2; i++) if (perm[i] !== i) return false;
  return true;
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
  // the output axes of size > 1, and among them the first and last the source fills
  let first = -1;
  let last = -1;
  let bigBefore = 0; // axes of size > 1 before `first`
  let bigThrough = 0; // axes of size > 1 up to `last`
  let filledCount = 0;
  let big = 0;
  for (let j = 0; j < shape.length; j++) {
    if (shape[j]! <= 1) continue;
    big++;
    if (!fills(source, dims, j)) continue;
    if (first < 0) {
      first = j;
      bigBefore = big - 1;
    }
    last = j;
    bigThrough = big;
    filledCount++;
  }
  if (first < 0) return { source, outer: 1, mid: 1, inner: sizeBetween(shape, 0, shape.length) };
  if (bigThrough - bigBefore !== filledCount) return null;
  return { source, outer: sizeBetween(shape, 0, first), mid: sizeBetween(shape, first, last + 1), inner: sizeBetween(shape, last + 1, shape.length) };
}

/** Whether output axis `j` is one the source fills: a source axis of size other than 1 maps to it. */
function fills(source: ArrayTensor, dims: readonly number[], j: number): boolean {
  for (let i = 0; i < dims.length; i++) if (dims[i] === j && source.shape[i] !== 1) return true;
  return false;
}
