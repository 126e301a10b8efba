import type { ScalarExpr } from '../core/scalar.js';
import type { Strided } from '../core/shape.js';
import type { Aval, Tensor } from '../core/tensor.js';

// The record of a primitive, as the interpreters, transforms, jit and backends read it; primitive.ts
// builds records from definitions (deriving the rules the declared facts imply) and registers them.

/** An argument of a linear primitive as seen by its transpose rule. */
export type LinearArg = { readonly linear: true; readonly aval: Aval } | { readonly linear: false; readonly value: Tensor };

/** Result of a batching rule: outputs, and whether each is batched along axis 0. */
export type Batched = readonly [Tensor[], boolean[]];

/** Forward-mode rule: primal outputs and their tangents (null: a symbolic zero) from primals and tangents. */
export type JvpRule<P> = (primals: readonly Tensor[], tangents: readonly (Tensor | null)[], params: P) => [Tensor[], (Tensor | null)[]];
/** Cotangents of the linear arguments (null elsewhere) from the cotangents of the outputs. */
export type TransposeRule<P> = (cts: readonly (Tensor | null)[], args: readonly LinearArg[], params: P) => (Tensor | null)[];
/**
 * Taylor-mode rule (the `jet` interpreter): from the primals and, per argument, the Taylor
 * coefficients x_1 … x_K of a curve x(t) = x_0 + x_1·t + … + x_K·t^K (normalised coefficients,
 * x_k = x⁽ᵏ⁾(0)/k!; null is a symbolic zero; all arguments have the same K), the primal outputs
 * and the coefficients y_1 … y_K of y(t) = f(x(t)) truncated at t^K.
 */
export type JetRule<P> = (
  primals: readonly Tensor[],
  series: readonly (readonly (Tensor | null)[])[],
  params: P,
) => [Tensor[], (Tensor | null)[][]];
/** Batching rule; batched arguments carry the batch along axis 0. */
export type VmapRule<P> = (args: readonly Tensor[], batched: readonly boolean[], params: P, size: number) => Batched;

/**
 * How a fused loop treats the primitive (jit/fusion.ts reads it; the code generators render the
 * scalar expression):
 * - `elementwise`: one output element from the same element of each operand, by `scalar`;
 * - `view`: moves no element, only maps a strided layout (`strided`); `contiguity` says whether a
 *   contiguous input stays contiguous (`keeps`), must be contiguous for the map to hold (`needs`:
 *   reshape), or is strided afterwards (`moves`);
 * - `reduce`: folds the `axes` of its one input with a monoid;
 * - `none`: runs as its backend kernel.
 */
export type Fusion<P> =
  | { readonly role: 'elementwise'; readonly scalar: (params: P) => ScalarExpr }
  | { readonly role: 'view'; readonly contiguity: 'keeps' | 'needs' | 'moves'; readonly strided: (x: Strided, params: P) => Strided }
  | { readonly role: 'reduce'; readonly monoid: 'sum' | 'max' | 'min' }
  | { readonly role: 'none' };

/**
 * A primitive operation, defined once with every fact and rule beside it:
 * - `abstractEval`: the shape/dtype rule, which also validates the arguments;
 * - `linear`: linear in some arguments given the others (all of them for neg, reshape, reduce_sum…;
 *   one for mul, matmul, div, solve): a tangent may flow through it in a linearized program, and
 *   `transpose` gives the cotangents of the linear arguments. Exactly the linear primitives have a
 *   transpose rule;
 * - `zeroDerivative`: its derivative is zero everywhere (comparisons, sign, argmax, stop_gradient):
 *   the jvp rule gives symbolic zero tangents;
 * - `jvp`: forward-mode rule, written with the strict wrappers (so it is itself differentiable);
 * - `jet`: Taylor-mode rule, written with the strict wrappers; `null` where the jet interpreter
 *   derives it from the jvp rule (y′ = J(x)·x′ propagated one order lower, src/interp/jet.ts);
 * - `vmap`: batching rule; batched arguments carry the batch along axis 0;
 * - `fusion`: its role in a fused loop, with the scalar expression of an elementwise primitive.
 */
export interface Primitive<P = any> {
  readonly name: string;
  readonly linear: boolean;
  readonly zeroDerivative: boolean;
  readonly fusion: Fusion<P>;
  abstractEval(avals: readonly Aval[], params: P): Aval[];
  readonly jvp: JvpRule<P>;
  readonly jet: JetRule<P> | null;
  readonly transpose: TransposeRule<P> | null;
  readonly vmap: VmapRule<P>;
}
