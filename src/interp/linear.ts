import { broadcastInDimP, broadcastTo, reduceSum } from '../prim/broadcast.js';
import { filled, zerosLike } from '../prim/constant.js';
import { abs, add, addP, lt, mul, mulP, select, selectP } from '../prim/elementwise.js';
import { lit } from '../prim/lit.js';
import { reduceMax } from '../prim/reduce.js';
import type { Aval, Tensor } from '../core/tensor.js';
import type { LinearArg, Primitive } from '../prim/primitive.js';
import { inlineRuleOf } from './stage.js';
import { reshapeP } from '../prim/structural.js';
import { shapeEq } from '../core/shape.js';
import { bind, keepHiddenClasses, Trace, Tracer } from '../prim/bind.js';

/**
 * The linear trace records the tangent computation of a jvp (what JAX gets from partial
 * evaluation): a tracer here is a linear function of the inputs, built from linear primitives
 * whose other arguments are known constants (residuals). `transposeLinear` then runs it backwards.
 */
interface Equation {
  readonly prim: Primitive;
  readonly inputs: readonly LinearTracer[];
  readonly params: unknown;
  readonly outputs: LinearTracer[];
}

/**
 * A factored tangent's poison (see {@link poisonOf}), computed only if the map is transposed, once
 * per transposition (`seen` holds the values computed so far: never across calls, whose traces
 * may differ).
 */
type Poison = (seen: Map<Poison, Tensor>) => Tensor;

/** A node of the recorded linear graph: an input, a known constant, or an equation's output. */
export class LinearTracer extends Tracer {
  constructor(
    trace: LinearTrace,
    aval: Aval,
    readonly recipe:
      | { kind: 'input'; index: number }
      | { kind: 'const'; value: Tensor }
      | { kind: 'eqn'; eqn: Equation }
      | { kind: 'scaled'; scalar: LinearTracer; base: Tensor; poison: Poison | null },
  ) {
    super(trace, { shape: aval.shape, dtype: aval.dtype });
  }
  /** A materialised c·K whose factored form carried a poison (see {@link poisonOf}): added to c̄ when transposed. */
  poisonFor: { readonly scalar: LinearTracer; readonly value: Poison } | null = null;
}

/** Records linear primitive applications instead of running them. */
export class LinearTrace extends Trace {
  constructor() {
    super('linearize');
  }
  lift(x: Tensor): LinearTracer {
    return new LinearTracer(this, x, { kind: 'const', value: x });
  }
  /** A fresh linear input of the given abstract value. */
  input(aval: Aval, index: number): LinearTracer {
    return new LinearTracer(this, aval, { kind: 'input', index });
  }
  /**
   * Records one linear primitive. A tangent that is a scalar times a known tensor, c·K (the shape of
   * the partition summaries' η: each group's parameters move by η_s·u), stays factored: a linear
   * op applied to it alone is applied to K right away, f(c·K) = c·f(K), so chains such as
   * broadcast → mul(u) → transpose → matmul(x, ·) cost one eager matmul x·uᵀ, and transposing
   * gives c̄ = Σ ct∘(x·uᵀ): elementwise, where the unfactored graph would need xᵀ·ct (a matmul).
   *
   * Run forward, c·f(K) is what the recorded graph gives; transposed, it can differ in one way: the
   * recorded graph of `where` sends a zero cotangent into the branch not taken, and 0·∞ there is
   * NaN (JAX's semantics: grad of where(x > 0, log(x), 0) at 0 is NaN, its jvp 0). The factored
   * form keeps that as a `poison` (0, or NaN) added to c̄ on transposition, so that a gradient does
   * not depend on whether its tangent was factored (a 0-d input's always is).
   */
  process(prim: Primitive, args: readonly Tracer[], params: unknown): Tensor[] {
    const inputs = args as readonly LinearTracer[];
    if (!prim.linear)
      throw new Error(`linearize: primitive '${prim.name}' is applied to a tangent but has no transpose rule (its jvp rule must only apply linear primitives to tangents)`);
    const linear = inputs.filter((i) => i.recipe.kind !== 'const');
    const scalars = linear.map(scalarFactor);
    const c = scalars[0];
    if (c && scalars.every((s) => s === c)) {
      // a call (jit_call) is applied equation by equation, so that its selects carry their poison
      const inline = inlineRuleOf(prim.name);
      if (inline) return inline(args, params);
      const bases = inputs.map((i) => (i.recipe.kind === 'const' ? i.recipe.value : i.recipe.kind === 'scaled' ? i.recipe.base : unit(i.dtype)));
      const poison = poisonOf(prim, inputs, bases);
      return applyToBases(prim, bases, params).map((out) => new LinearTracer(this, out, { kind: 'scaled', scalar: c, base: out, poison }));
    }
    return this.record(prim, inputs.map((i) => this.materialize(i)), params);
  }
  private record(prim: Primitive, inputs: readonly LinearTracer[], params: unknown): LinearTracer[] {
    const avals = prim.abstractEval(inputs, params);
    const eqn: Equation = { prim, inputs, params, outputs: [] };
    for (const a of avals) eqn.outputs.push(new LinearTracer(this, a, { kind: 'eqn', eqn }));
    return eqn.outputs;
  }
  private readonly materialized = new WeakMap<LinearTracer, LinearTracer>();
  /** c·K as recorded equations mul(K, broadcast(c)) (once per factored tracer). */
  private materialize(t: LinearTracer): LinearTracer {
    if (t.recipe.kind !== 'scaled') return t;
    const hit = this.materialized.get(t);
    if (hit) return hit;
    const { scalar, base } = t.recipe;
    const spread = base.shape.length === 0 ? scalar : this.record(broadcastInDimP, [scalar], { shape: base.shape, dims: [] })[0]!;
    const out = this.record(mulP, [this.lift(base), spread], {})[0]!;
    if (t.recipe.poison) out.poisonFor = { scalar, value: t.recipe.poison };
    this.materialized.set(t, out);
    return out;
  }
}

/**
 * Bases known to hold ones: the K = 1 of a scalar tangent c (c = c·1), and its broadcasts and
 * reshapes. A product K·1 is K itself (exact in floating point, NaN and −0 included), so
 * mul(u, broadcast(c)) — a direction scaled by a scalar tangent, as in the summaries' η_s·u_s —
 * has the base u, the same tensor object: products of it (x·uᵀ) are then the ones that other
 * passes make of u, and the eval cache (shareEvaluations) serves them once.
 */
const unitBases = new WeakSet<Tensor>();

/** A fresh base of ones (shape []), marked as such. */
function unit(dtype: Aval['dtype']): Tensor {
  const one = filled([], 1, dtype);
  unitBases.add(one);
  return one;
}

/** f(K…) for a factored tangent's bases: a product with a base of ones is the other base, ones stay marked through reshapes and broadcasts. */
function applyToBases(prim: Primitive, bases: readonly Tensor[], params: unknown): Tensor[] {
  if (prim === mulP) {
    const [a, b] = bases as [Tensor, Tensor];
    const keep = unitBases.has(b) ? a : unitBases.has(a) ? b : null;
    const [out] = prim.abstractEval(bases, params);
    if (keep && shapeEq(keep.shape, out!.shape) && keep.dtype === out!.dtype) return [keep];
  }
  const outs = bind(prim, bases, params);
  if ((prim === broadcastInDimP || prim === reshapeP) && unitBases.has(bases[0]!)) unitBases.add(outs[0]!);
  return outs;
}

/**
 * The poison of a factored result c·f(K…): its inputs' poisons, and for `select` what transposing
 * the recorded select would add to c̄: the zero cotangent of the branch not taken times that
 * branch's K, summed: 0, or NaN where K is ±∞ or NaN there. Null when there is none.
 */
function poisonOf(prim: Primitive, inputs: readonly LinearTracer[], bases: readonly Tensor[]): Poison | null {
  const parts: Poison[] = [];
  for (const i of inputs) if (i.recipe.kind === 'scaled' && i.recipe.poison) parts.push(i.recipe.poison);
  if (prim === selectP) {
    const [cond, a, b] = bases as [Tensor, Tensor, Tensor];
    // the largest |K| where the branch is not taken, then NaN unless it is finite: by a comparison
    // (WGSL compilers may fold a product by a literal 0 to 0 in jit's fused kernels), plus 0·max|K|
    // so that its derivatives (Hessians) are NaN where the recorded graph's would be
    const poison = (k: Tensor, taken: boolean): Poison => () => {
      const zero = zerosLike(k);
      const worst = maxAll(taken ? select(cond, abs(k), zero) : select(cond, zero, abs(k)));
      return add(select(lt(worst, lit(Infinity, worst)), lit(0, worst), lit(NaN, worst)), mul(worst, lit(0, worst)));
    };
    if (inputs[1]!.recipe.kind !== 'const') parts.push(poison(a, false));
    if (inputs[2]!.recipe.kind !== 'const') parts.push(poison(b, true));
  }
  if (parts.length === 0) return null;
  const self: Poison = (seen) => {
    let v = seen.get(self);
    if (!v) seen.set(self, (v = parts.map((p) => p(seen)).reduce((p, q) => add(p, q))));
    return v;
  };
  return self;
}

/** The scalar c of a factored tangent c·K (a scalar tangent is its own factor), else null. */
function scalarFactor(t: LinearTracer): LinearTracer | null {
  if (t.recipe.kind === 'scaled') return t.recipe.scalar;
  return t.shape.length === 0 ? t : null;
}

/**
 * Transposes a recorded linear map: given cotangents for `outputs` (linear tracers or constants),
 * returns the cotangent of each of the `nInputs` inputs (zeros where unreached).
 */
export function transposeLinear(
  outputs: readonly (Tensor | null)[],
  cts: readonly (Tensor | null)[],
  inputAvals: readonly Aval[],
): Tensor[] {
  const ctOf = new Map<LinearTracer, Tensor>();
  const seen = new Map<Poison, Tensor>();
  const accum = (t: LinearTracer, ct: Tensor | null) => {
    if (ct == null || t.recipe.kind === 'const') return;
    if (t.recipe.kind === 'scaled') {
      // c·K: c̄ = Σ ct∘K (+ its poison)
      const cBar = sumAll(mul(ct, t.recipe.base));
      accum(t.recipe.scalar, t.recipe.poison ? add(cBar, t.recipe.poison(seen)) : cBar);
      return;
    }
    const prev = ctOf.get(t);
    ctOf.set(t, prev ? add(prev, ct) : ct);
  };
  const order = topologicalOrder(outputs);
  outputs.forEach((o, i) => {
    if (o instanceof LinearTracer) accum(o, cts[i] ?? null);
  });
  const inputs: (Tensor | undefined)[] = new Array(inputAvals.length);
  for (let k = order.length - 1; k >= 0; k--) {
    const eqn = order[k]!;
    const outCts = eqn.outputs.map((o) => ctOf.get(o) ?? null);
    eqn.outputs.forEach((o) => ctOf.delete(o));
    if (outCts.every((c) => c == null)) continue;
    eqn.outputs.forEach((o, j) => o.poisonFor && outCts[j] != null && accum(o.poisonFor.scalar, o.poisonFor.value(seen)));
    const args: LinearArg[] = eqn.inputs.map((i) =>
      i.recipe.kind === 'const' ? { linear: false, value: i.recipe.value } : { linear: true, aval: i.aval },
    );
    const inCts = eqn.prim.transpose!(outCts, args, eqn.params);
    eqn.inputs.forEach((i, j) => accum(i, inCts[j] ?? null));
  }
  for (const [t, ct] of ctOf) if (t.recipe.kind === 'input') inputs[t.recipe.index] = inputs[t.recipe.index] ? add(inputs[t.recipe.index]!, ct) : ct;
  return inputAvals.map((a, i) => inputs[i] ?? zerosLike(a));
}

/** The equations reachable from `outputs`, each after the equations it depends on. */
function topologicalOrder(outputs: readonly (Tensor | null)[]): Equation[] {
  const order: Equation[] = [];
  const seen = new Set<Equation>();
  const stack: [LinearTracer, boolean][] = [];
  for (const o of outputs) if (o instanceof LinearTracer) stack.push([o.recipe.kind === 'scaled' ? o.recipe.scalar : o, false]);
  while (stack.length) {
    const [node, done] = stack.pop()!;
    if (node.recipe.kind !== 'eqn') continue;
    const eqn = node.recipe.eqn;
    if (done) {
      if (!seen.has(eqn)) {
        seen.add(eqn);
        order.push(eqn);
      }
      continue;
    }
    if (seen.has(eqn)) continue;
    stack.push([node, true]);
    for (const i of eqn.inputs) if (i.recipe.kind === 'eqn' && !seen.has(i.recipe.eqn)) stack.push([i, false]);
  }
  return order;
}

/**
 * Runs a recorded linear map forward: `tangents[i]` is the value of input i, or null for a
 * (symbolic) zero. Zeros propagate without computation — an equation whose linear inputs are all
 * zero has zero outputs — so a tangent that touches few inputs costs only what it reaches.
 * Returns each output's value (null where it is zero).
 */
export function evalLinear(outputs: readonly (Tensor | null)[], tangents: readonly (Tensor | null)[]): (Tensor | null)[] {
  const val = new Map<LinearTracer, Tensor | null>();
  const get = (t: LinearTracer): Tensor | null => {
    const r = t.recipe;
    if (r.kind === 'input') return tangents[r.index] ?? null;
    if (r.kind === 'const') return r.value;
    if (r.kind === 'scaled') {
      const c = get(r.scalar);
      return c === null ? null : mul(r.base, broadcastTo(c, r.base.shape));
    }
    return val.get(t) ?? null;
  };
  for (const eqn of topologicalOrder(outputs)) {
    const ins = eqn.inputs.map(get);
    const live = eqn.inputs.some((i, k) => i.recipe.kind !== 'const' && ins[k] !== null);
    if (!live) continue;
    const passed = sumWithZero(eqn, ins);
    if (passed) {
      val.set(eqn.outputs[0]!, passed);
      continue;
    }
    const args = eqn.inputs.map((i, k) => ins[k] ?? zerosLike(i.aval));
    const outs = bind(eqn.prim, args, eqn.params);
    eqn.outputs.forEach((o, k) => val.set(o, outs[k]!));
  }
  return outputs.map((o) => (o instanceof LinearTracer ? get(o) : null));
}

/**
 * A sum of two tangents one of which is a (symbolic) zero is the other one, the same tensor, as
 * `jvp`'s rule for `add` gives it (no zeros made, nothing added); null for any other equation.
 */
function sumWithZero(eqn: Equation, ins: readonly (Tensor | null)[]): Tensor | null {
  if (eqn.prim !== addP || eqn.inputs.some((i) => i.recipe.kind === 'const')) return null;
  const [a, b] = ins as [Tensor | null, Tensor | null];
  const other = a === null ? b : b === null ? a : null;
  const out = eqn.outputs[0]!;
  return other && shapeEq(other.shape, out.shape) && other.dtype === out.dtype ? other : null;
}

/** The maximum over every axis (a scalar; NaN if any element is). */
const maxAll = (x: Tensor): Tensor => (x.shape.length === 0 ? x : reduceMax(x, x.shape.map((_, i) => i)));

/** Σ over every axis (a scalar). */
const sumAll = (x: Tensor): Tensor => (x.shape.length === 0 ? x : reduceSum(x, x.shape.map((_, i) => i)));

// one trace and tracers of each recipe kept alive, so their hidden classes survive full collections (bind.ts)
keepHiddenClasses((x) => {
  const t = new LinearTrace();
  t.close();
  const input = t.input(x, 0);
  return [t, input, t.lift(x), new LinearTracer(t, x, { kind: 'scaled', scalar: input, base: x, poison: null })];
});
