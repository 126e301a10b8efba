import { DTypeError, ShapeError } from '../core/errors.js';
import { isFloat } from '../core/dtype.js';
import { shapeEq, showShape } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { checkSameStructure, flatten, type TreeDef, unflatten } from '../core/tree.js';
import { add, mul } from '../ops/arith.js';
import { fromBuffer, full, tensor, zeros } from '../ops/create.js';
import type { MaybeZero } from '../transforms/args.js';
import { reshape, slice, stack, take } from '../ops/shape-ops.js';
import type { CompiledPartition } from './partition.js';

/** The coefficients η of {@link scaleGroups}: a vector [S], or one entry per group. */
export type GroupCoefficients = Tensor | readonly (Tensor | number | null)[];

/**
 * U·I_{P:S}·η: every element p of group s scaled by η_s, i.e. η_s·u_p, leaf by leaf, as a tree
 * shaped like `u`. This one map serves both the summaries (θ + U·I·η, whose derivatives at η = 0
 * they are) and NewtonSummary's step (−U·I·η). It is built from ordinary ops, so every transform
 * applies.
 *
 * `eta` is the vector η ∈ ℝ^S, or one coefficient per group: a scalar tensor, a number, or `null`
 * for "this group does not move". A leaf none of whose elements move comes back as `null` (a
 * symbolic zero for `jvp`/`linearize`); a leaf whose whole group has the number 1 comes back as
 * u's leaf itself.
 */
export function scaleGroups<P>(fn: string, u: P, partition: CompiledPartition, eta: GroupCoefficients): MaybeZero<P> {
  const { def, leaves } = scaledLeaves(fn, u, partition, eta);
  return unflatten<MaybeZero<P>>(def, leaves);
}

/** {@link scaleGroups} as the flat list of u's leaves, each scaled or null. */
function scaledLeaves(fn: string, u: unknown, partition: CompiledPartition, eta: GroupCoefficients): { def: TreeDef; leaves: (Tensor | null)[] } {
  const { leaves, def } = flatten(u);
  if (leaves.length !== partition.leaves.length)
    throw new ShapeError(`${fn}: the direction has ${leaves.length} tensors, the partition covers ${partition.leaves.length}`);
  const perGroup = Array.isArray(eta) ? (eta as readonly (Tensor | number | null)[]) : null;
  const vector = perGroup === null ? (eta as Tensor) : null;
  if (perGroup && perGroup.length !== partition.size) throw new ShapeError(`${fn}: ${perGroup.length} coefficients for ${partition.size} groups`);
  // the per-group coefficients as one [S] vector, for the leaves split between groups (made once)
  let stacked: Tensor | null = vector;
  const asVector = (dtype: Tensor['dtype']): Tensor =>
    (stacked ??= perGroup!.every((c) => !(c instanceof Tensor))
      ? tensor(perGroup!.map((c) => (c as number | null) ?? 0), dtype, [perGroup!.length])
      : stack(perGroup!.map((c) => (c === null ? zeros([], dtype) : typeof c === 'number' ? full([], c, dtype) : c))));
  return {
    def,
    leaves: leaves.map((x, i) => {
      const lg = partition.leaves[i]!;
      if (lg.kind === 'whole') {
        if (vector) return mul(x, reshape(slice(vector, [lg.group], [lg.group + 1]), []));
        const c = perGroup![lg.group] ?? null;
        return c === null ? null : c === 1 ? x : mul(x, c);
      }
      if (perGroup && !lg.groupOf.some((g) => perGroup[g] != null)) return null;
      return mul(x, reshape(take(asVector(x.dtype), fromBuffer(lg.groupOf, 'int32', [lg.groupOf.length])), x.shape));
    }),
  };
}

/**
 * θ + U·I_{P:S}·η: every element p of group s moves by η_s·u_p (see {@link scaleGroups} for `eta`).
 * This is the map whose derivatives at η = 0 are the partition summaries. A group whose
 * coefficient is `null` does not move: its parameters stay θ's own tensors, constants to any
 * transform.
 */
export function displace<P>(params: P, u: P, partition: CompiledPartition, eta: GroupCoefficients): P {
  const p = flatten(params);
  const moves = scaledLeaves('displace', u, partition, eta).leaves;
  return unflatten<P>(p.def, p.leaves.map((theta, i) => (moves[i] ? add(theta, moves[i]) : theta)));
}

/**
 * The direction of group s in parameter space, U·I·e_s: u on the elements of group s and a
 * symbolic zero (`null`) on every leaf with no element in it — the tangent along which
 * ∂ψ/∂η_s = ∂L(θ)[U·I·e_s].
 */
export const groupDirection = <P>(u: P, partition: CompiledPartition, s: number): MaybeZero<P> =>
  scaleGroups('summary', u, partition, Array.from({ length: partition.size }, (_, g) => (g === s ? 1 : null)));

/** Checks that the direction matches the parameters leaf by leaf and returns their common dtype. */
export function checkDirection(fn: string, params: unknown, u: unknown): 'float32' | 'float64' {
  const p = flatten(params);
  const d = flatten(u);
  checkSameStructure(fn, [p.def, d.def], ['the parameters', 'the direction']);
  if (p.leaves.length === 0) throw new ShapeError(`${fn}: the parameter tree has no tensors`);
  const dtype = p.leaves[0]!.dtype;
  if (!isFloat(dtype)) throw new DTypeError(`${fn}: parameters must be float32 or float64, got ${dtype}`);
  p.leaves.forEach((t, i) => {
    if (t.dtype !== dtype) throw new DTypeError(`${fn}: parameters mix dtypes ${dtype} and ${t.dtype} (leaf ${i})`);
    const v = d.leaves[i]!;
    if (!shapeEq(t.shape, v.shape)) throw new ShapeError(`${fn}: direction leaf ${i} has shape ${showShape(v.shape)} but the parameter has ${showShape(t.shape)}`);
    if (v.dtype !== dtype) throw new DTypeError(`${fn}: direction leaf ${i} is ${v.dtype} but the parameters are ${dtype}`);
  });
  return dtype;
}
