import { ConcretizationError } from '../core/errors.js';
import type { DType } from '../core/dtype.js';
import { ArrayTensor, type Tensor } from '../core/tensor.js';
import { flatten, unflatten } from '../core/tree.js';
import { defaultBackend, getBackend, setBackend } from './registry.js';

/**
 * Moving tensors between backends, and choosing the backend for a block of code.
 *
 * Primitives move host inputs by themselves (a CPU tensor mixed into a webgpu primitive is
 * uploaded); the way back from a device needs an await, hence {@link toBackend}.
 */

/**
 * The tensor `x` on backend `name`: downloaded from a device with an await (its elements via
 * `data()`), uploaded to a device backend at once, relabelled between host backends. Returns
 * `x` itself when it is already there.
 *
 *     const w = await toBackend(gpuWeights, 'cpu'); w.dataSync() // readable synchronously now
 */
export async function toBackend<D extends DType>(x: Tensor<D>, name: string): Promise<Tensor<D>> {
  const target = getBackend(name);
  const from = (x as { backend?: unknown }).backend;
  if (typeof from !== 'string')
    throw new ConcretizationError(`toBackend: ${x.toString()} is not a concrete tensor (a tracer inside a transform cannot change backend)`);
  if (from === name && !(x instanceof ArrayTensor && target.adopt)) return x;
  const host: ArrayTensor<D> = x instanceof ArrayTensor ? (x as ArrayTensor<D>) : new ArrayTensor(x.shape, x.dtype, await x.data(), name);
  if (target.adopt) return target.adopt(host) as Tensor<D>;
  return host.backend === name ? host : new ArrayTensor<D>(host.shape, host.dtype, host.buffer, name);
}

/**
 * `tree` with every tensor leaf on backend `name` (see {@link toBackend}); other leaves are kept.
 * The way to bring a model and its optimizer state back from a device before saving them:
 *
 *     const hostParams = await treeToBackend(params, 'cpu');
 */
export async function treeToBackend<T>(tree: T, name: string): Promise<T> {
  const { leaves, def } = flatten(tree);
  return unflatten<T>(def, await Promise.all(leaves.map((x) => toBackend(x, name))));
}

/**
 * Runs `f` with `name` as the default backend (the per-call choice), restoring the previous
 * default afterwards, also on a throw. `withBackend('cpu', () => tensor([1, 2]))`.
 */
export function withBackend<T>(name: string, f: () => T): T {
  const prev = defaultBackend();
  setBackend(name);
  try {
    return f();
  } finally {
    setBackend(prev);
  }
}
