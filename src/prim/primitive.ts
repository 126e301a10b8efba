import type { Aval } from '../core/tensor.js';
import { bind } from './bind.js';
import { zerosLike } from './constant.js';
import type { Fusion, JvpRule, Primitive, TransposeRule, VmapRule } from './record.js';

export type { Batched, Fusion, JvpRule, LinearArg, Primitive, TransposeRule, VmapRule } from './record.js';

/** What every definition gives: the name, the shape rule, the batching rule and (default `none`) the fusion role. */
interface CommonDef<P> {
  readonly name: string;
  abstractEval(avals: readonly Aval[], params: P): Aval[];
  readonly vmap: VmapRule<P>;
  readonly fusion?: Fusion<P>;
}

/**
 * How the derivative rules are given (a missing rule is a type error):
 * - linear, with its transpose; the jvp defaults to the primitive applied to the tangents (zero
 *   tangents made dense where some are given), which is right when it is linear in every argument;
 * - zero derivative: the jvp and the (absent) transpose follow;
 * - otherwise its jvp.
 */
type DerivativeDef<P> =
  | { readonly linear: true; readonly transpose: TransposeRule<P>; readonly jvp?: JvpRule<P>; readonly zeroDerivative?: never }
  | { readonly zeroDerivative: true; readonly linear?: never; readonly transpose?: never; readonly jvp?: never }
  | { readonly jvp: JvpRule<P>; readonly linear?: never; readonly zeroDerivative?: never; readonly transpose?: never };

/** The definition of a primitive, from which {@link primitive} derives the full record. */
export type PrimitiveDef<P> = CommonDef<P> & DerivativeDef<P>;

/** The jvp of a primitive linear in all its arguments: itself applied to the tangents (JAX's deflinear). */
const linearJvp =
  <P>(p: () => Primitive<P>): JvpRule<P> =>
  (primals, tangents, params) => {
    const outs = bind(p(), primals, params);
    if (tangents.every((t) => t == null)) return [outs, outs.map(() => null)];
    return [outs, bind(p(), tangents.map((t, i) => t ?? zerosLike(primals[i]!)), params)];
  };

/** The jvp of a primitive whose derivative is zero (JAX's defjvp_zero). */
const zeroJvp =
  <P>(p: () => Primitive<P>): JvpRule<P> =>
  (primals, _tangents, params) => {
    const outs = bind(p(), primals, params);
    return [outs, outs.map(() => null)];
  };

const registry = new Map<string, Primitive>();

/**
 * Declares a primitive and registers it by name (a name may be declared once). The derivative
 * rules not given are derived from the declared facts: `linear` gives the jvp, `zeroDerivative`
 * gives the jvp and no transpose.
 */
export function primitive<P>(def: PrimitiveDef<P>): Primitive<P> {
  if (registry.has(def.name)) throw new Error(`primitive '${def.name}' is declared twice`);
  const self = (): Primitive<P> => p;
  const linear = def.linear === true;
  const zeroDerivative = def.zeroDerivative === true;
  const p: Primitive<P> = {
    name: def.name,
    linear,
    zeroDerivative,
    fusion: def.fusion ?? { role: 'none' },
    abstractEval: def.abstractEval,
    jvp: def.jvp ?? (zeroDerivative ? zeroJvp(self) : linearJvp(self)),
    transpose: linear ? def.transpose! : null,
    vmap: def.vmap,
  };
  registry.set(p.name, p as Primitive);
  return p;
}

/** Every registered primitive, by name. */
export const primitives = (): ReadonlyMap<string, Primitive> => registry;
