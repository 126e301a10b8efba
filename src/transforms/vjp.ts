import { isFloat } from '../core/dtype.js';
import type { Aval, Tensor } from '../core/tensor.js';
import { flatten, unflatten, type TreeDef } from '../core/tree.js';
import { JVPTrace, JVPTracer } from '../interp/jvp.js';
import { evalLinear, LinearTrace, type LinearTracer, transposeLinear } from '../interp/linear.js';
import { zerosLike } from '../prim/constant.js';
import { releasingTemporaries } from '../prim/temporaries.js';
import { checkMatching, matchTangents, type TangentsOf } from './args.js';

/** What linearising a function records: its outputs, and the linear map of its tangents. */
export interface Linearized {
  /** With `hasAux`: the auxiliary output, undifferentiated (primal values). */
  readonly aux?: unknown;
  readonly primalOut: Tensor[];
  readonly outDef: TreeDef;
  readonly tangentOut: (Tensor | null)[];
  readonly inAvals: Aval[];
  readonly inDef: TreeDef;
  readonly inputs: LinearTracer[];
}

/** Runs `f` with linear-tracer tangents and records the linear map (jvp + partial evaluation). */
export function linearizeFlat(fn: string, f: (...args: any[]) => unknown, primals: readonly unknown[], opts: { hasAux?: boolean } = {}): Linearized {
  const { leaves, def } = flatten(primals);
  const lin = new LinearTrace();
  const jt = new JVPTrace();
  try {
    const inputs = leaves.map((p, i) => lin.input(p, i));
    const ins = leaves.map((p, i) => new JVPTracer(jt, p, isFloat(p.dtype) ? inputs[i]! : null));
    const result = f(...unflatten<unknown[]>(def, ins));
    let out = result;
    let aux: unknown;
    if (opts.hasAux) {
      if (!Array.isArray(result) || result.length !== 2) throw new TypeError(`${fn}: with hasAux the function must return [output, aux]`);
      out = result[0];
      // aux is not differentiated: keep the primal of each of this trace's tracers
      const a = flatten(result[1]);
      aux = unflatten(a.def, a.leaves.map((x) => jt.unpack(x)[0]));
    }
    const o = flatten(out);
    const pairs = o.leaves.map((x) => jt.unpack(x));
    return {
      aux,
      primalOut: pairs.map((p) => p[0]),
      outDef: o.def,
      tangentOut: pairs.map((p) => p[1]),
      inAvals: leaves.map((l) => ({ shape: l.shape, dtype: l.dtype })),
      inDef: def,
      inputs,
    };
  } catch (e) {
    if (e instanceof Error && fn !== 'vjp') e.message = e.message.replace(/^linearize:/, `${fn}:`);
    throw e;
  } finally {
    jt.close();
    lin.close();
  }
}

/**
 * Reverse mode: `vjp(f, ...primals)` returns `[f(...primals), vjpFn]`, where `vjpFn(ct)` gives the
 * cotangent of every argument (a tuple of trees), Jᵀ·ct. Built as linearize + transpose.
 */
export function vjp<A extends readonly unknown[], R>(f: (...args: A) => R, ...primals: A): [R, (ct: R) => A] {
  const [out, back] = vjpWithAux<A, R>('vjp', f, primals, false);
  return [out, back];
}

/**
 * `vjp` for a function returning `[output, aux]` when `hasAux`: the aux part comes back as plain
 * (undifferentiated) values, as the third element.
 */
export function vjpWithAux<A extends readonly unknown[], R>(fn: string, f: (...args: A) => unknown, primals: A, hasAux: boolean): [R, (ct: R) => A, unknown] {
  const l = linearizeFlat(fn, f as (...a: any[]) => unknown, primals, { hasAux });
  const out = unflatten<R>(l.outDef, l.primalOut);
  const vjpFn = (ct: R): A => {
    const { others } = checkMatching('vjp', 'cotangent', out, ct, 'the output');
    // the backward pass's temporaries go back to the backend as it returns (top level only)
    const cts = releasingTemporaries(() => transposeLinear(l.tangentOut, others, l.inAvals));
    return unflatten<A>(l.inDef, cts);
  };
  return [out, vjpFn, l.aux];
}

/**
 * `linearize(f, ...primals)` returns `[f(...primals), fJvp]` where `fJvp(...tangents)` evaluates
 * the recorded linear map J·t without re-running the nonlinear parts of `f` (JAX's
 * `jax.linearize`). Like `jvp`, `fJvp` takes `null` (or `undefined`) in place of any tangent
 * argument or subtree as a symbolic zero: the recorded operations it alone reaches are skipped, so
 * a tangent that moves few inputs costs only what it reaches. Every output comes back as a tensor:
 * one the given tangents do not reach is zeros, made without running the map.
 *
 *     const [y, fJvp] = linearize(loss, { a, b });
 *     const dyA = fJvp({ a: va, b: null }); // ∂L/∂a · va; nothing computed for b
 */
export function linearize<A extends readonly unknown[], R>(f: (...args: A) => R, ...primals: A): [R, (...tangents: TangentsOf<A>) => R] {
  const l = linearizeFlat('linearize', f as (...a: any[]) => unknown, primals);
  const out = unflatten<R>(l.outDef, l.primalOut);
  const fJvp = (...tangents: TangentsOf<A>): R => {
    const { others } = matchTangents('linearize', 'tangents', primals, tangents);
    const res = evalLinear(l.tangentOut, others).map((t, i) => t ?? zerosLike(l.primalOut[i]!));
    return unflatten<R>(l.outDef, res);
  };
  return [out, fJvp];
}

/**
 * `linearize` for a function returning a flat list of tensors, whose map evaluates chosen outputs
 * only: returns `[outputs, fJvp]` where `fJvp(which, ...tangents)` gives the tangent of each output
 * listed in `which` (indices into the list), `null` for one that is zero. Only the recorded
 * operations those outputs reach run (and, as with `linearize`, only those the tangents reach).
 *
 *     const [[l, g0, g1], fJvp] = linearizeOutputs((p) => [L(p), G0(p), G1(p)], params);
 *     const [dg1] = fJvp([2], direction); // the part of the map that only g0 needs is skipped
 */
export function linearizeOutputs<A extends readonly unknown[]>(
  f: (...args: A) => readonly Tensor[],
  ...primals: A
): [Tensor[], (which: readonly number[], ...tangents: TangentsOf<A>) => (Tensor | null)[]] {
  const l = linearizeFlat('linearizeOutputs', f as (...a: any[]) => unknown, primals);
  const fJvp = (which: readonly number[], ...tangents: TangentsOf<A>): (Tensor | null)[] => {
    const { others } = matchTangents('linearizeOutputs', 'tangents', primals, tangents);
    for (const i of which)
      if (!Number.isInteger(i) || i < 0 || i >= l.tangentOut.length)
        throw new RangeError(`linearizeOutputs: output index ${i} is out of range for a function of ${l.tangentOut.length} outputs`);
    return evalLinear(which.map((i) => l.tangentOut[i]!), others);
  };
  return [l.primalOut, fJvp];
}
