import { ConcretizationError } from '../core/errors.js';
import { showShape } from '../core/shape.js';
import { type Aval, ArrayTensor, type Tensor } from '../core/tensor.js';
import type { Primitive } from '../prim/primitive.js';
import { bind, keepHiddenClasses, Trace, Tracer } from '../prim/bind.js';
import { cse } from './cse.js';
import type { Const, Eqn, Jaxpr, Var } from './jaxpr.js';
import { withEvalCache } from '../prim/eval-cache.js';

/**
 * The staging interpreter: instead of running primitives it records them into an IR (a jaxpr in
 * JAX's words), a list of equations over typed variables. `jit` traces a function once per input
 * signature with it, then runs the IR as a compiled program; the rules of the `jit_call`
 * primitive trace transformed IRs with it (jvp, vmap, transpose of a recorded program).
 *
 *     { inputs: [a:f32[3]], consts: [c:f32[] = 2], equations: [b = mul(a, c'), …], outputs: [b] }
 *
 * Values the traced function closes over (concrete tensors, or tracers of outer transforms) become
 * constants; tracers of outer transforms are reported as `captured`, so the caller passes them as
 * extra inputs (a program never holds a tracer).
 */

export type { Const, Eqn, Jaxpr, Var } from './jaxpr.js';

/** A value inside a staged function: it stands for a variable of the IR being recorded. */
export class StageTracer extends Tracer {
  constructor(
    trace: StageTrace,
    readonly v: Var,
  ) {
    super(trace, v.aval);
  }
}

/**
 * Primitives that staging inlines instead of recording (their params carry a program): `jit_call`
 * registers itself here, so a jit inside a jit becomes one flat program the fuser sees whole.
 */
const inlineRules = new Map<string, (args: readonly Tensor[], params: any) => Tensor[]>();

/** Registers a staging inline rule for the primitive `name` (see {@link inlineRules}). */
export function registerStageInline(name: string, rule: (args: readonly Tensor[], params: any) => Tensor[]): void {
  inlineRules.set(name, rule);
}

/** The inline rule of a call primitive (`jit_call`: evaluate its program equation by equation), if it has one. */
export const inlineRuleOf = (name: string): ((args: readonly Tensor[], params: any) => Tensor[]) | undefined => inlineRules.get(name);

/** Records primitive applications into equations. */
export class StageTrace extends Trace {
  private nextId = 0;
  readonly equations: Eqn[] = [];
  /** Lifted values (concrete tensors or tracers of lower levels), by identity. */
  readonly lifted = new Map<Tensor, StageTracer>();
  constructor() {
    super('jit');
  }
  newVar(aval: Aval): Var {
    return { id: this.nextId++, aval: { shape: aval.shape, dtype: aval.dtype } };
  }
  /** A fresh input variable. */
  input(aval: Aval): StageTracer {
    return new StageTracer(this, this.newVar(aval));
  }
  lift(x: Tensor): StageTracer {
    const hit = this.lifted.get(x);
    if (hit) return hit;
    const t = new StageTracer(this, this.newVar(x));
    this.lifted.set(x, t);
    return t;
  }
  get varCount(): number {
    return this.nextId;
  }
  process(prim: Primitive, args: readonly Tracer[], params: unknown): Tensor[] {
    const inline = inlineRules.get(prim.name);
    if (inline) return inline(args, params);
    const ts = args as readonly StageTracer[];
    const avals = prim.abstractEval(ts, params);
    const outs = avals.map((a) => new StageTracer(this, this.newVar(a)));
    this.equations.push({ prim, inputs: ts.map((t) => t.v), params, outputs: outs.map((o) => o.v) });
    return outs;
  }
}

/** The result of staging: the program, and the outer-transform tracers it closed over. */
export interface Staged {
  /** Inputs are the function's inputs followed by one input per captured tracer. */
  readonly jaxpr: Jaxpr;
  /** Tracers of enclosing transforms the function closed over; pass them after the inputs. */
  readonly captured: readonly Tensor[];
}

/**
 * Traces `f` on fresh variables of `inAvals` and returns its program (repeated equations merged,
 * see cse.ts; dead equations removed).
 * `f` receives stage tracers and returns a flat list of tensors.
 *
 *     const { jaxpr } = stageFlat((x) => [tanh(mul(x, x))], [{ shape: [3], dtype: 'float64' }]);
 *     // jaxpr.equations: mul, tanh
 */
export function stageFlat(f: (...xs: Tensor[]) => readonly Tensor[], inAvals: readonly Aval[]): Staged {
  const trace = new StageTrace();
  try {
    const ins = inAvals.map((a) => trace.input(a));
    let outs: readonly Tensor[];
    try {
      // the evaluations tracing makes on constants (a number's scalar broadcast) are shared as
      // shareEvaluations shares them, so that repeated ones give one constant for cse to see
      outs = withEvalCache(() => f(...ins));
    } catch (e) {
      if (e instanceof ConcretizationError && !e.message.includes('(inside jit'))
        e.message += ' (inside jit: JavaScript control flow cannot depend on traced values; pass such values as plain numbers, which jit treats as static, or move the branch into `where`)';
      throw e;
    }
    const outVars = outs.map((o) => (o instanceof StageTracer && o.trace === trace ? o.v : trace.lift(o).v));
    const consts: Const[] = [];
    const capturedVars: Var[] = [];
    const captured: Tensor[] = [];
    for (const [value, t] of trace.lifted) {
      if (value instanceof Tracer) {
        capturedVars.push(t.v);
        captured.push(value);
      } else consts.push({ v: t.v, value });
    }
    const jaxpr = dce(cse({
      inputs: [...ins.map((i) => i.v), ...capturedVars],
      consts,
      equations: trace.equations,
      outputs: outVars,
      nVars: trace.varCount,
    }));
    return { jaxpr, captured };
  } finally {
    trace.close();
  }
}

/** Removes equations none of whose outputs reach the program's outputs, and unused constants. */
export function dce(j: Jaxpr): Jaxpr {
  const live = new Set<number>(j.outputs.map((v) => v.id));
  const kept: Eqn[] = [];
  for (let k = j.equations.length - 1; k >= 0; k--) {
    const e = j.equations[k]!;
    if (!e.outputs.some((o) => live.has(o.id))) continue;
    kept.push(e);
    for (const i of e.inputs) live.add(i.id);
  }
  kept.reverse();
  return { ...j, equations: kept, consts: j.consts.filter((c) => live.has(c.v.id)) };
}

/** The two halves of a partially evaluated program (see {@link partialEval}). */
export interface PartialEval {
  /** Inputs: the known inputs. Outputs: the first `nKnownOutputs` program outputs, then the residuals. */
  readonly known: Jaxpr;
  /** Inputs: the residuals, then the unknown inputs. Outputs: the remaining program outputs. */
  readonly unknown: Jaxpr;
  readonly nResiduals: number;
}

/**
 * Splits a program whose inputs are partly unknown (JAX's partial_eval_jaxpr): equations that read
 * no unknown value go to `known`, which also returns the *residuals*, the known values the other
 * equations read; the rest go to `unknown`, which takes the residuals as inputs. The first
 * `nKnownOutputs` outputs must be computable from known inputs (as the primal outputs of a jvp
 * program are); the remaining outputs are computed by `unknown`.
 *
 * For the program of a jvp (inputs [primals, tangents], outputs [primal outputs, tangent outputs])
 * `known` is the forward pass with its residuals and `unknown` the tangent map, linear in the
 * tangents, with no recomputation of the forward pass.
 */
export function partialEval(j: Jaxpr, unknownInputs: readonly boolean[], nKnownOutputs: number): PartialEval {
  const unknown = new Set<number>(j.inputs.filter((_, i) => unknownInputs[i]).map((v) => v.id));
  const constIds = new Set(j.consts.map((c) => c.v.id));
  const knownEqns: Eqn[] = [];
  const unknownEqns: Eqn[] = [];
  for (const e of j.equations) {
    if (e.inputs.some((v) => unknown.has(v.id))) {
      unknownEqns.push(e);
      for (const o of e.outputs) unknown.add(o.id);
    } else knownEqns.push(e);
  }
  j.outputs.slice(0, nKnownOutputs).forEach((v, i) => {
    if (unknown.has(v.id)) throw new Error(`partialEval: output ${i} depends on an unknown input`);
  });
  // residuals: known, non-constant values the unknown half reads or returns
  const residuals: Var[] = [];
  const seen = new Set<number>();
  const need = (v: Var) => {
    if (unknown.has(v.id) || constIds.has(v.id) || seen.has(v.id)) return;
    seen.add(v.id);
    residuals.push(v);
  };
  for (const e of unknownEqns) e.inputs.forEach(need);
  j.outputs.slice(nKnownOutputs).forEach(need);
  const known = dce({
    inputs: j.inputs.filter((_, i) => !unknownInputs[i]),
    consts: j.consts,
    equations: knownEqns,
    outputs: [...j.outputs.slice(0, nKnownOutputs), ...residuals],
    nVars: j.nVars,
  });
  const unknownJ = dce({
    inputs: [...residuals, ...j.inputs.filter((_, i) => unknownInputs[i])],
    consts: j.consts,
    equations: unknownEqns,
    outputs: j.outputs.slice(nKnownOutputs),
    nVars: j.nVars,
  });
  return { known, unknown: unknownJ, nResiduals: residuals.length };
}

/**
 * Evaluates a program by binding each equation's primitive: under active transforms the
 * primitives go to them (this is how transforms of a staged program are traced), on concrete
 * tensors they run eagerly.
 */
export function evalJaxpr(j: Jaxpr, args: readonly Tensor[]): Tensor[] {
  if (args.length !== j.inputs.length) throw new Error(`evalJaxpr: ${args.length} arguments for a program of ${j.inputs.length} inputs`);
  const env = new Array<Tensor | undefined>(j.nVars);
  j.inputs.forEach((v, i) => (env[v.id] = args[i]));
  for (const c of j.consts) env[c.v.id] = c.value;
  for (const e of j.equations) {
    const outs = bind(
      e.prim,
      e.inputs.map((v) => env[v.id]!),
      e.params,
    );
    e.outputs.forEach((v, i) => (env[v.id] = outs[i]));
  }
  return j.outputs.map((v) => env[v.id]!);
}

/** The input avals of a program. */
export const inAvals = (j: Jaxpr): Aval[] => j.inputs.map((v) => v.aval);
/** The output avals of a program. */
export const outAvals = (j: Jaxpr): Aval[] => j.outputs.map((v) => v.aval);

const showVar = (v: Var): string => `v${v.id}:${v.aval.dtype === 'float32' ? 'f32' : v.aval.dtype === 'float64' ? 'f64' : v.aval.dtype === 'int32' ? 'i32' : 'bool'}${showShape(v.aval.shape)}`;
const showParams = (p: unknown): string => {
  if (p === null || typeof p !== 'object') return '';
  const entries = Object.entries(p as Record<string, unknown>).filter(([k]) => k !== 'jaxpr');
  return entries.length ? `[${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}]` : '';
};

/** A readable listing of a program, one equation a line (for debugging and docs). */
export function showJaxpr(j: Jaxpr): string {
  const lines = [`{ lambda ${j.inputs.map(showVar).join(', ')} ;`];
  for (const c of j.consts) {
    const v = c.value;
    const desc = v instanceof ArrayTensor && v.size === 1 ? String(v.buffer[0]) : `<${v.dtype}${showShape(v.shape)}>`;
    lines.push(`  ${showVar(c.v)} = const ${desc}`);
  }
  for (const e of j.equations) lines.push(`  ${e.outputs.map(showVar).join(', ')} = ${e.prim.name}${showParams(e.params)} ${e.inputs.map((v) => `v${v.id}`).join(' ')}`);
  lines.push(`  in ( ${j.outputs.map((v) => `v${v.id}`).join(', ')} ) }`);
  return lines.join('\n');
}

// one trace and tracer kept alive, so their hidden classes survive full collections (prim/bind.ts)
keepHiddenClasses((x) => {
  const t = new StageTrace();
  t.close();
  return [t, t.lift(x)];
});
