import type { Aval, Tensor } from '../core/tensor.js';

/** An argument of a linear primitive as seen by its transpose rule. */
export type LinearArg = { readonly linear: true; readonly aval: Aval } | { readonly linear: false; readonly value: Tensor };

/** Result of a batching rule: outputs, and whether each is batched along axis 0. */
export type Batched = readonly [Tensor[], boolean[]];

/**
 * A primitive operation, defined once with every rule beside it:
 * - `abstractEval`: the shape/dtype rule, which also validates the arguments;
 * - `jvp`: forward-mode rule, written with ops (so it is itself differentiable);
 * - `transpose`: for primitives linear in some arguments, the cotangent rule (else `null`);
 * - `vmap`: batching rule; batched arguments carry the batch along axis 0.
 */
export interface Primitive<P = any> {
  readonly name: string;
  abstractEval(avals: readonly Aval[], params: P): Aval[];
  jvp(primals: readonly Tensor[], tangents: readonly (Tensor | null)[], params: P): [Tensor[], (Tensor | null)[]];
  readonly transpose: null | ((cts: readonly (Tensor | null)[], args: readonly LinearArg[], params: P) => (Tensor | null)[]);
  vmap(args: readonly Tensor[], batched: readonly boolean[], params: P, size: number): Batched;
}

const registry = new Map<string, Primitive>();

/** Declares a primitive and registers it by name (a name may be declared once). */
export function primitive<P>(p: Primitive<P>): Primitive<P> {
  if (registry.has(p.name)) throw new Error(`primitive '${p.name}' is declared twice`);
  registry.set(p.name, p as Primitive);
  return p;
}

/** Every registered primitive, by name. */
export const primitives = (): ReadonlyMap<string, Primitive> => registry;
