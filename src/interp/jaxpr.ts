import type { Aval, Tensor } from '../core/tensor.js';
import type { Primitive } from '../prim/primitive.js';

/** The IR that staging records (stage.ts) and jit compiles: variables, equations, constants, programs. */

/** A variable of the IR: an id and its abstract value (shape and dtype). */
export interface Var {
  readonly id: number;
  readonly aval: Aval;
}

/** One primitive application: `outputs = prim(inputs; params)`. */
export interface Eqn {
  readonly prim: Primitive;
  readonly inputs: readonly Var[];
  readonly params: unknown;
  readonly outputs: readonly Var[];
}

/** A constant of the IR: a variable bound to a concrete tensor. */
export interface Const {
  readonly v: Var;
  readonly value: Tensor;
}

/**
 * A staged program (JAX's closed jaxpr). Equations are in a valid evaluation order; every variable
 * is defined once (an input, a constant or an equation output); `nVars` bounds the ids.
 */
export interface Jaxpr {
  readonly inputs: readonly Var[];
  readonly consts: readonly Const[];
  readonly equations: readonly Eqn[];
  readonly outputs: readonly Var[];
  readonly nVars: number;
}
