import { DTypeError, ShapeError } from '../core/errors.js';
import { isFloat } from '../core/dtype.js';
import { shapeEq, showShape } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { checkSameStructure, flatten, numLeaves, showDef, type TreeDef } from '../core/tree.js';

/** Argument plumbing shared by the transforms. */

/** Normalises `argnums` to a sorted list of argument positions, checked against the call. */
export function argnumsList(fn: string, argnums: number | readonly number[], nargs: number): number[] {
  const list = typeof argnums === 'number' ? [argnums] : [...argnums];
  for (const a of list)
    if (!Number.isInteger(a) || a < 0 || a >= nargs)
      throw new ShapeError(`${fn}: argnums ${a} is out of range for a call with ${nargs} argument(s)`);
  return list;
}

/**
 * Checks that a tangent/cotangent tree (`what`, e.g. 'the tangents') matches its primal tree (named
 * `primalName`) leaf by leaf.
 */
export function checkMatching(fn: string, what: string, primal: unknown, other: unknown, primalName = 'the primals'): { leaves: Tensor[]; def: TreeDef; others: Tensor[] } {
  const p = flatten(primal);
  const o = flatten(other);
  checkSameStructure(fn, [p.def, o.def], [primalName, what]);
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
  checkSameStructure(fn, [p.def, o.def], ['the primals', what], { zeros: true });
  // the structures agree up to null subtrees: each null stands for the leaves of its primal subtree
  const others: (Tensor | null)[] = [];
  let next = 0;
  const walk = (d: TreeDef, t: TreeDef): void => {
    if (d.kind === 'static') return;
    if (t.kind === 'static') {
      for (let k = numLeaves(d); k > 0; k--) others.push(null);
      return;
    }
    if (d.kind === 'leaf') others.push(o.leaves[next++]!);
    else d.children.forEach((c, i) => walk(c, (t as typeof d).children[i]!));
  };
  walk(p.def, o.def);
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
