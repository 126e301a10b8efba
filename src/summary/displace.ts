import { DTypeError, ShapeError } from '../core/errors.js';
import { isFloat } from '../core/dtype.js';
import { shapeEq, showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { flatten, sameDef, showDef, unflatten } from '../core/tree.js';
import { add, mul } from '../ops/arith.js';
import { fromBuffer, zeros } from '../ops/create.js';
import { reshape, slice, stack, take } from '../ops/shape-ops.js';
import type { CompiledPartition } from './partition.js';

/**
 * θ + U·I_{P:S}·η: every element p of group s moves by η_s·u_p. This is the map whose derivatives
 * at η = 0 are the partition summaries; it is built from ordinary ops, so every transform applies.
 *
 * `eta` is either the vector η ∈ ℝ^S, or one scalar per group where `null` means "this group does
 * not move": its parameters stay constants, so a derivative carries symbolic-zero tangents there
 * and costs nothing for them.
 */
export function displace<P>(params: P, u: P, partition: CompiledPartition, eta: Tensor | readonly (Tensor | null)[]): P {
  const p = flatten(params);
  const d = flatten(u).leaves;
  const perGroup = Array.isArray(eta) ? (eta as readonly (Tensor | null)[]) : null;
  const vector = perGroup === null ? (eta as Tensor) : null;
  const stacked = (dtype: Tensor['dtype']) =>
    vector ?? stack(perGroup!.map((t) => t ?? zeros([], dtype)));
  return unflatten<P>(
    p.def,
    p.leaves.map((theta, i) => {
      const lg = partition.leaves[i]!;
      let coef: Tensor;
      if (lg.kind === 'whole') {
        if (perGroup) {
          const t = perGroup[lg.group] ?? null;
          if (t === null) return theta;
          coef = t;
        } else coef = reshape(slice(vector!, [lg.group], [lg.group + 1]), []);
      } else {
        if (perGroup && !lg.groupOf.some((g) => perGroup[g] != null)) return theta;
        coef = reshape(take(stacked(theta.dtype), fromBuffer(lg.groupOf, 'int32', [lg.groupOf.length])), theta.shape);
      }
      return add(theta, mul(d[i]!, coef));
    }),
  );
}

/** θ + t·u_s: only the elements of group s move (see {@link displace}). */
export const displaceGroup = <P>(params: P, u: P, partition: CompiledPartition, s: number, t: Tensor): P =>
  displace(params, u, partition, Array.from({ length: partition.size }, (_, g) => (g === s ? t : null)));

/** Checks that the direction matches the parameters leaf by leaf and returns their common dtype. */
export function checkDirection(fn: string, params: unknown, u: unknown): 'float32' | 'float64' {
  const p = flatten(params);
  const d = flatten(u);
  if (!sameDef(p.def, d.def)) throw new ShapeError(`${fn}: the direction has structure ${showDef(d.def)} but the parameters have ${showDef(p.def)}`);
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
