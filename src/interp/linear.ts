import { full } from '../ops/create.js';
import { add } from '../ops/arith.js';
import type { Aval, Tensor } from '../core/tensor.js';
import type { LinearArg, Primitive } from '../prim/primitive.js';
import { Trace, Tracer } from './trace.js';

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

/** A node of the recorded linear graph: an input, a known constant, or an equation's output. */
export class LinearTracer extends Tracer {
  constructor(
    trace: LinearTrace,
    aval: Aval,
    readonly recipe: { kind: 'input'; index: number } | { kind: 'const'; value: Tensor } | { kind: 'eqn'; eqn: Equation },
  ) {
    super(trace, { shape: aval.shape, dtype: aval.dtype });
  }
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
  process(prim: Primitive, args: readonly Tracer[], params: unknown): Tensor[] {
    const inputs = args as readonly LinearTracer[];
    if (prim.transpose === null)
      throw new Error(`linearize: primitive '${prim.name}' is applied to a tangent but has no transpose rule (its jvp rule must only apply linear primitives to tangents)`);
    const avals = prim.abstractEval(inputs, params);
    const eqn: Equation = { prim, inputs, params, outputs: [] };
    for (const a of avals) eqn.outputs.push(new LinearTracer(this, a, { kind: 'eqn', eqn }));
    return eqn.outputs;
  }
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
  const accum = (t: LinearTracer, ct: Tensor | null) => {
    if (ct == null || t.recipe.kind === 'const') return;
    const prev = ctOf.get(t);
    ctOf.set(t, prev ? add(prev, ct) : ct);
  };
  // topological order of equations reachable from the outputs
  const order: Equation[] = [];
  const seen = new Set<Equation>();
  const visit = (t: LinearTracer) => {
    const stackT: [LinearTracer, boolean][] = [[t, false]];
    while (stackT.length) {
      const [node, done] = stackT.pop()!;
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
      stackT.push([node, true]);
      for (const i of eqn.inputs) if (i.recipe.kind === 'eqn' && !seen.has(i.recipe.eqn)) stackT.push([i, false]);
    }
  };
  outputs.forEach((o, i) => {
    if (o instanceof LinearTracer) {
      visit(o);
      accum(o, cts[i] ?? null);
    }
  });
  const inputs: (Tensor | undefined)[] = new Array(inputAvals.length);
  for (let k = order.length - 1; k >= 0; k--) {
    const eqn = order[k]!;
    const outCts = eqn.outputs.map((o) => ctOf.get(o) ?? null);
    eqn.outputs.forEach((o) => ctOf.delete(o));
    if (outCts.every((c) => c == null)) continue;
    const args: LinearArg[] = eqn.inputs.map((i) =>
      i.recipe.kind === 'const' ? { linear: false, value: i.recipe.value } : { linear: true, aval: i.aval },
    );
    const inCts = eqn.prim.transpose!(outCts, args, eqn.params);
    eqn.inputs.forEach((i, j) => accum(i, inCts[j] ?? null));
  }
  for (const [t, ct] of ctOf) if (t.recipe.kind === 'input') inputs[t.recipe.index] = inputs[t.recipe.index] ? add(inputs[t.recipe.index]!, ct) : ct;
  return inputAvals.map((a, i) => inputs[i] ?? full(a.shape, 0, a.dtype));
}
