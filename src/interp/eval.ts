import type { Tensor } from '../core/tensor.js';
import { ArrayTensor } from '../core/tensor.js';
import type { Primitive } from '../prim/primitive.js';
import { backendFor } from '../backends/registry.js';

/** Evaluates a primitive on concrete tensors with the backend's kernel. */
export function evalPrimitive(prim: Primitive, args: readonly Tensor[], params: unknown): Tensor[] {
  const outAvals = prim.abstractEval(args, params);
  const inputs = args as readonly ArrayTensor[];
  const backend = backendFor(inputs);
  const bufs = backend.execute(prim.name, inputs, params, outAvals);
  return bufs.map((b, i) => new ArrayTensor(outAvals[i]!.shape, outAvals[i]!.dtype, b, backend.name));
}
