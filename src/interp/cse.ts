import { ArrayTensor, type Tensor } from '../core/tensor.js';
import type { Const, Eqn, Jaxpr, Var } from './jaxpr.js';

/**
 * Common-subexpression elimination on a staged program: an equation that applies the same
 * primitive, with the same parameters, to the same variables as an earlier one is dropped and its
 * outputs read the earlier outputs; constants of one element with the same shape, dtype, backend
 * and bytes (the scalars ops make from plain numbers, a new tensor each time) are one constant.
 * Primitives are pure functions of their inputs and parameters, so the program computes the same
 * values, bit for bit. This is what the eval cache (`shareEvaluations`) does eagerly, for staged
 * programs: the partition summaries under `jit` run S passes whose primal forward and products
 * x·uᵀ are the same equations, recorded once per pass.
 *
 * An equation whose parameters are not plain data (numbers, strings, booleans, null, arrays and
 * plain objects of them) is never merged.
 */
export function cse(j: Jaxpr): Jaxpr {
  const rename = new Map<number, Var>();
  const sub = (v: Var): Var => rename.get(v.id) ?? v;
  const consts: Const[] = [];
  const constByValue = new Map<string, Var>();
  for (const c of j.consts) {
    const key = scalarKey(c.value);
    const hit = key === null ? undefined : constByValue.get(key);
    if (hit) rename.set(c.v.id, hit);
    else {
      if (key !== null) constByValue.set(key, c.v);
      consts.push(c);
    }
  }
  const earlier = new Map<string, readonly Var[]>();
  const equations: Eqn[] = [];
  for (const e of j.equations) {
    const inputs = e.inputs.map(sub);
    const params = paramsKey(e.params);
    const key = params === null ? null : `${e.prim.name}|${inputs.map((v) => v.id).join(',')}|${params}`;
    const hit = key === null ? undefined : earlier.get(key);
    if (hit) {
      e.outputs.forEach((o, i) => rename.set(o.id, hit[i]!));
      continue;
    }
    if (key !== null) earlier.set(key, e.outputs);
    equations.push(inputs.every((v, i) => v === e.inputs[i]) ? e : { ...e, inputs });
  }
  if (rename.size === 0) return j;
  return { ...j, consts, equations, outputs: j.outputs.map(sub) };
}

/** The value key of a one-element host constant, else null (other constants are the same only by identity). */
function scalarKey(t: Tensor): string | null {
  if (!(t instanceof ArrayTensor) || t.size !== 1) return null;
  const b = t.buffer as ArrayLike<number> & ArrayBufferView;
  const bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return `[${t.shape.join(',')}]${t.dtype}:${t.backend}:${Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

/** Parameters as a key when they are plain data (see {@link cse}), else null. */
function paramsKey(params: unknown): string | null {
  let plain = true;
  const key = JSON.stringify(params ?? null, (_k, v: unknown) => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0) ? v : { '\u0000number': Object.is(v, -0) ? '-0' : String(v) };
    if (typeof v === 'object' && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype)) return v;
    plain = false;
    return undefined;
  });
  return plain ? key : null;
}
