import type { Aval, Tensor } from '../core/tensor.js';
import { bind } from './bind.js';
import { zerosLike } from './constant.js';
import type { Fusion, JetRule, JvpRule, Primitive, TransposeRule, VmapRule } from './record.js';

export type { Batched, Fusion, JetRule, JvpRule, LinearArg, Primitive, TransposeRule, VmapRule } from './record.js';

/** What every definition gives: the name, the shape rule, the batching rule and (default `none`) the fusion role. */
interface CommonDef<P> {
  readonly name: string;
  abstractEval(avals: readonly Aval[], params: P): Aval[];
  readonly vmap: VmapRule<P>;
  readonly fusion?: Fusion<P>;
  /** Taylor-mode rule; derived when linear (in every argument) or of zero derivative, else from the jvp rule by the jet interpreter. */
  readonly jet?: JetRule<P>;
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
    return [outs, linearMap(p)(primals, tangents, params, outs)];
  };

/** The jvp of a primitive whose derivative is zero (JAX's defjvp_zero). */
const zeroJvp =
  <P>(p: () => Primitive<P>): JvpRule<P> =>
  (primals, _tangents, params) => {
    const outs = bind(p(), primals, params);
    return [outs, outs.map(() => null)];
  };

/** The tangent map of a primitive at fixed primals (with their outputs): output tangents (null: zero) from argument tangents. */
export type TangentMap<P> = (primals: readonly Tensor[], tangents: readonly (Tensor | null)[], params: P, outs: readonly Tensor[]) => (Tensor | null)[];

/**
 * The Taylor-mode rule of a primitive that is linear along any curve through the primals — linear,
 * or piecewise linear with the piece fixed by the primals (abs, max, select, reduce_max…): then
 * y(t) = y₀ + J(x₀)·(x(t) − x₀), so each coefficient y_k is the tangent map applied to the x_k.
 */
export const jetByCoefficient =
  <P>(p: () => Primitive<P>, tangentMap: TangentMap<P>): JetRule<P> =>
  (primals, series, params) => {
    const outs = bind(p(), primals, params);
    const K = series[0]?.length ?? 0;
    const perOrder = Array.from({ length: K }, (_, k) =>
      series.every((s) => s[k] == null) ? outs.map(() => null) : tangentMap(primals, series.map((s) => s[k] ?? null), params, outs),
    );
    return [outs, outs.map((_, o) => perOrder.map((t) => t[o] ?? null))];
  };

/** The tangent map of a primitive linear in every argument: itself applied to the tangents. */
const linearMap =
  <P>(p: () => Primitive<P>): TangentMap<P> =>
  (primals, tangents, params) =>
    bind(p(), tangents.map((t, i) => t ?? zerosLike(primals[i]!)), params);

/** The Taylor-mode rule of a primitive whose derivative is zero: constant coefficients. */
const zeroJet =
  <P>(p: () => Primitive<P>): JetRule<P> =>
  (primals, series, params) => {
    const outs = bind(p(), primals, params);
    const K = series[0]?.length ?? 0;
    return [outs, outs.map(() => Array.from({ length: K }, () => null))];
  };

const registry = new Map<string, Primitive>();

/**
 * Declares a primitive and registers it by name (a name may be declared once). The derivative
 * rules not given are derived from the declared facts: `linear` gives the jvp and the jet,
 * `zeroDerivative` gives the jvp, the jet and no transpose; a jet rule not given otherwise is derived
 * from the jvp rule by the jet interpreter.
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
    jet: def.jet ?? (zeroDerivative ? zeroJet(self) : linear && !def.jvp ? jetByCoefficient(self, linearMap(self)) : null),
    transpose: linear ? def.transpose! : null,
    vmap: def.vmap,
  };
  registry.set(p.name, p as Primitive);
  return p;
}

/** Every registered primitive, by name. */
export const primitives = (): ReadonlyMap<string, Primitive> => registry;
