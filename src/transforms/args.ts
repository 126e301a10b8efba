import { DTypeError, ShapeError } from '../core/errors.js';
import { isFloat } from '../core/dtype.js';
import { shapeEq, showShape } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { flatten, numLeaves, sameDef, showDef, type TreeDef } from '../core/tree.js';

/** Argument plumbing shared by the transforms. */

/** Normalises `argnums` to a sorted list of argument positions, checked against the call. */
export function argnumsList(fn: string, argnums: number | readonly number[], nargs: number): number[] {
  const list = typeof argnums === 'number' ? [argnums] : [...argnums];
  for (const a of list)
    if (!Number.isInteger(a) || a < 0 || a >= nargs)
      throw new ShapeError(`${fn}: argnums ${a} is out of range for a call with ${nargs} argument(s)`);
  return list;
}

/** Checks that a tangent/cotangent tree matches its primal tree leaf by leaf. */
export function checkMatching(fn: string, what: string, primal: unknown, other: unknown): { leaves: Tensor[]; def: TreeDef; others: Tensor[] } {
  const p = flatten(primal);
  const o = flatten(other);
  if (!sameDef(p.def, o.def))
    throw new ShapeError(`${fn}: ${what} has structure ${showDef(o.def)} but the primal has ${showDef(p.def)}`);
  checkLeaves(fn, what, p.leaves, o.leaves);
  return { leaves: p.leaves, def: p.def, others: o.leaves };
}

/** Checks each given (non-null) tangent leaf's shape and dtype against its primal leaf. */
function checkLeaves(fn: string, what: string, primals: readonly Tensor[], others: readonly (Tensor | null)[]): void {
  primals.forEach((x, i) => {
    const t = others[i];
    if (!t) return;
    if (!shapeEq(x.shape, t.shape))
      throw new ShapeError(`${fn}: ${what} leaf ${i} has shape ${showShape(t.shape)} but the primal has ${showShape(x.shape)}`);
    if (t.dtype !== x.dtype && isFloat(x.dtype))
      throw new DTypeError(`${fn}: ${what} leaf ${i} has dtype ${t.dtype} but the primal has ${x.dtype}`);
  });
}

/**
 * A tangent tree in which `null` or `undefined` may stand for any subtree: a symbolic zero, whose
 * leaves carry no tangent (nothing is computed for them).
 */
export type MaybeZero<T> =
  | T
  | null
  | undefined
  | (T extends Tensor
      ? never
      : T extends readonly unknown[]
        ? { readonly [K in keyof T]: MaybeZero<T[K]> }
        : T extends object
          ? { readonly [K in keyof T]: MaybeZero<T[K]> }
          : never);

/** The tangents of an argument list: each argument, or any subtree of one, may be a symbolic zero. */
export type TangentsOf<A extends readonly unknown[]> = { readonly [K in keyof A]: MaybeZero<A[K]> };

/**
 * Checks a tangent tree against its primal tree as {@link checkMatching} does, except that `null`
 * or `undefined` in place of any subtree of the primal is a symbolic zero: its leaves come back
 * as null.
 */
export function matchTangents(fn: string, what: string, primal: unknown, other: unknown): { leaves: Tensor[]; def: TreeDef; others: (Tensor | null)[] } {
  const p = flatten(primal);
  const o = flatten(other);
  if (sameDef(p.def, o.def)) return checkMatching(fn, what, primal, other);
  const others: (Tensor | null)[] = [];
  const walk = (d: TreeDef, t: unknown): boolean => {
    if (t === null || t === undefined) {
      if (d.kind === 'static') return Object.is(d.value, t);
      for (let k = numLeaves(d); k > 0; k--) others.push(null);
      return true;
    }
    if (d.kind === 'leaf') {
      if (!(t instanceof Tensor)) return false;
      others.push(t);
      return true;
    }
    if (d.kind === 'static') return Object.is(d.value, t);
    if (d.kind === 'array') return Array.isArray(t) && t.length === d.children.length && d.children.every((c, i) => walk(c, t[i]));
    if (typeof t !== 'object' || Array.isArray(t) || t instanceof Tensor) return false;
    const rec = t as Record<string, unknown>;
    const keys = Object.keys(rec);
    return keys.length === d.keys.length && d.keys.every((k, i) => k === keys[i] && walk(d.children[i]!, rec[k]));
  };
  if (!walk(p.def, other)) throw new ShapeError(`${fn}: ${what} has structure ${showDef(o.def)} but the primal has ${showDef(p.def)}`);
  checkLeaves(fn, what, p.leaves, others);
  return { leaves: p.leaves, def: p.def, others };
}

/** Checks the output of a function to be differentiated as a scalar. */
export function checkScalarOutput(fn: string, out: unknown): Tensor {
  const { leaves, def } = flatten(out);
  if (def.kind !== 'leaf') throw new ShapeError(`${fn}: the function must return one scalar tensor, got a tree ${showDef(def)}`);
  const y = leaves[0]!;
  if (y.shape.length !== 0) throw new ShapeError(`${fn}: the function must return a scalar, got shape ${showShape(y.shape)} (reduce it, or use jacrev/vjp)`);
  if (!isFloat(y.dtype)) throw new DTypeError(`${fn}: the function must return a float scalar, got ${y.dtype}`);
  return y;
}

/** Rejects differentiation with respect to non-float leaves. */
export function checkDifferentiable(fn: string, leaves: readonly Tensor[]): void {
  leaves.forEach((x, i) => {
    if (!isFloat(x.dtype))
      throw new DTypeError(`${fn}: cannot differentiate with respect to leaf ${i}, a ${x.dtype} tensor of shape ${showShape(x.shape)} (only float32/float64)`);
  });
}
