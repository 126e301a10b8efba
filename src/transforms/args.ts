import { DTypeError, ShapeError } from '../core/errors.js';
import { isFloat } from '../core/dtype.js';
import { shapeEq, showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { flatten, sameDef, showDef, type TreeDef } from '../core/tree.js';

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
  p.leaves.forEach((x, i) => {
    const t = o.leaves[i]!;
    if (!shapeEq(x.shape, t.shape))
      throw new ShapeError(`${fn}: ${what} leaf ${i} has shape ${showShape(t.shape)} but the primal has ${showShape(x.shape)}`);
    if (t.dtype !== x.dtype && isFloat(x.dtype))
      throw new DTypeError(`${fn}: ${what} leaf ${i} has dtype ${t.dtype} but the primal has ${x.dtype}`);
  });
  return { leaves: p.leaves, def: p.def, others: o.leaves };
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
