import type { Tensor } from '../core/tensor.js';
import { ArrayTensor } from '../core/tensor.js';
import type { Primitive } from './record.js';
import { backendFor } from '../backends/registry.js';
import { countHostDispatch } from '../backends/dispatch-count.js';
import { cached, cacheKey, remember } from './eval-cache.js';

/** Evaluates a primitive on concrete tensors with the backend's kernel. */
export function evalPrimitive(prim: Primitive, args: readonly Tensor[], params: unknown): Tensor[] {
  const key = cacheKey(prim.name, args, params);
  const hit = cached(key);
  if (hit) return hit;
  const outs = run(prim, args, params);
  remember(key, outs, prim.name, args, params);
  return outs;
}

function run(prim: Primitive, args: readonly Tensor[], params: unknown): Tensor[] {
  const outAvals = prim.abstractEval(args, params);
  const inputs = args as readonly ArrayTensor[];
  const backend = backendFor(inputs);
  if (backend.run) return backend.run(prim, args, params, outAvals); // a device backend makes its own tensors
  countHostDispatch();
  const deferred = backend.defer?.(prim, inputs, params, outAvals);
  if (deferred) return [deferred];
  const bufs = backend.execute(prim, inputs, params, outAvals);
  return bufs.map((b, i) => new ArrayTensor(outAvals[i]!.shape, outAvals[i]!.dtype, b, backend.name));
}
