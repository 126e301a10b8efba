import type { Buffer } from '../core/dtype.js';
import type { ArrayTensor, Aval } from '../core/tensor.js';

/**
 * The narrow interface every backend implements: run the kernel of a primitive (by name) on
 * concrete inputs and return the output buffers. Shapes and dtypes were already checked.
 */
export interface Backend {
  readonly name: string;
  execute(prim: string, inputs: readonly ArrayTensor[], params: unknown, outAvals: readonly Aval[]): Buffer[];
}
