import { ShapeError } from '../core/errors.js';
import type { DType } from '../core/dtype.js';
import { checkShape, type Shape, showShape, sizeOf, stridesOf } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { bind1 } from './bind.js';
import { jetByCoefficient, type Primitive, primitive } from './primitive.js';

/**
 * Structural primitives that move elements within one tensor: reshape, transpose, slice and pad.
 * All are linear; slice and pad are each other's transposes; the first three are views (a fused
 * loop reads through them with strides). Their strict wrappers bind the primitive as given (no
 * negative axes, no inferred sizes: ops/shape-ops.ts adds those).
 */

/** reshape(shape): same elements, new shape. */
export const reshapeP: Primitive<{ shape: Shape }> = primitive({
  name: 'reshape',
  abstractEval: ([x], { shape }) => {
    checkShape('reshape', shape);
    if (sizeOf(shape) !== sizeOf(x!.shape))
      throw new ShapeError(`reshape: cannot reshape ${showShape(x!.shape)} (${sizeOf(x!.shape)} elements) to ${showShape(shape)} (${sizeOf(shape)} elements)`);
    return [{ shape, dtype: x!.dtype }];
  },
  linear: true,
  transpose: ([ct], [a]) => [ct == null ? null : reshape(ct, (a as { aval: { shape: Shape } }).aval.shape)],
  vmap: ([x], _b, { shape }, size) => [[reshape(x!, [size, ...shape])], [true]],
  // only a contiguous layout reshapes by strides alone
  fusion: { role: 'view', contiguity: 'needs', strided: (x, { shape }) => ({ shape, strides: stridesOf(shape), offset: x.offset }) },
});

/** transpose(perm): out axis i is input axis perm[i]. */
export const transposeP: Primitive<{ perm: readonly number[] }> = primitive({
  name: 'transpose',
  abstractEval: ([x], { perm }) => {
    const r = x!.shape.length;
    if (perm.length !== r || new Set(perm).size !== r || !perm.every((p) => Number.isInteger(p) && p >= 0 && p < r))
      throw new ShapeError(`transpose: [${perm.join(',')}] is not a permutation of the ${r} axes of ${showShape(x!.shape)}`);
    return [{ shape: perm.map((p) => x!.shape[p]!), dtype: x!.dtype }];
  },
  linear: true,
  transpose: ([ct], _a, { perm }) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [ct == null ? null : transpose(ct, inv)];
  },
  vmap: ([x], _b, { perm }) => [[transpose(x!, [0, ...perm.map((p) => p + 1)])], [true]],
  fusion: {
    role: 'view',
    contiguity: 'moves',
    strided: (x, { perm }) => ({ shape: perm.map((a) => x.shape[a]!), strides: perm.map((a) => x.strides[a]!), offset: x.offset }),
  },
});

/** slice(starts, limits): the box starts ≤ i < limits, step 1. */
export const sliceP: Primitive<{ starts: readonly number[]; limits: readonly number[] }> = primitive({
  name: 'slice',
  abstractEval: ([x], { starts, limits }) => {
    const s = x!.shape;
    const ok = starts.length === s.length && limits.length === s.length && s.every((d, i) => 0 <= starts[i]! && starts[i]! <= limits[i]! && limits[i]! <= d);
    if (!ok) throw new ShapeError(`slice: box [${starts.join(',')}]..[${limits.join(',')}] does not fit in ${showShape(s)}`);
    return [{ shape: s.map((_, i) => limits[i]! - starts[i]!), dtype: x!.dtype }];
  },
  linear: true,
  transpose: ([ct], [a], { starts, limits }) => {
    if (ct == null) return [null];
    const s = (a as { aval: { shape: Shape } }).aval.shape;
    return [pad(ct, starts, s.map((d, i) => d - limits[i]!), 0)];
  },
  vmap: ([x], _b, { starts, limits }, size) => [[slice(x!, [0, ...starts], [size, ...limits])], [true]],
  fusion: {
    role: 'view',
    contiguity: 'moves',
    strided: (x, { starts, limits }) => ({
      shape: starts.map((s, i) => limits[i]! - s),
      strides: x.strides,
      offset: x.offset + starts.reduce((o, s, i) => o + s * x.strides[i]!, 0),
    }),
  },
});

/** pad(lo, hi, value): `lo[i]` / `hi[i]` elements of `value` before / after each axis. */
export const padP: Primitive<{ lo: readonly number[]; hi: readonly number[]; value: number }> = primitive({
  name: 'pad',
  abstractEval: ([x], { lo, hi }) => {
    const s = x!.shape;
    if (lo.length !== s.length || hi.length !== s.length || ![...lo, ...hi].every((v) => Number.isInteger(v) && v >= 0))
      throw new ShapeError(`pad: widths lo=[${lo.join(',')}] hi=[${hi.join(',')}] do not fit ${showShape(s)} (one non-negative integer per axis)`);
    return [{ shape: s.map((d, i) => d + lo[i]! + hi[i]!), dtype: x!.dtype }];
  },
  linear: true,
  // the padding value is a constant: the tangent pads with zeros
  jvp: ([x], [dx], p) => [[bind1(padP, [x!], p)], [dx == null ? null : bind1(padP, [dx], { ...p, value: 0 })]],
  jet: jetByCoefficient(() => padP, (_x, [dx], p) => [dx == null ? null : bind1(padP, [dx], { ...p, value: 0 })]),
  transpose: ([ct], [a], { lo }) => {
    if (ct == null) return [null];
    const s = (a as { aval: { shape: Shape } }).aval.shape;
    return [slice(ct, lo, s.map((d, i) => lo[i]! + d))];
  },
  vmap: ([x], _b, p) => [[pad(x!, [0, ...p.lo], [0, ...p.hi], p.value)], [true]],
});

// ---------- strict wrappers ----------

/** `x` with the same elements in `shape` (sizes must agree; no −1). */
export const reshape = <D extends DType>(x: Tensor<D>, shape: Shape): Tensor<D> => bind1(reshapeP, [x], { shape }) as Tensor<D>;
/** Axis i of the result is axis perm[i] of `x`. */
export const transpose = <D extends DType>(x: Tensor<D>, perm: readonly number[]): Tensor<D> => bind1(transposeP, [x], { perm }) as Tensor<D>;
/** The box starts ≤ index < limits of `x` (one start and limit per axis). */
export const slice = <D extends DType>(x: Tensor<D>, starts: readonly number[], limits: readonly number[]): Tensor<D> =>
  bind1(sliceP, [x], { starts, limits }) as Tensor<D>;
/** `x` with lo[i] / hi[i] elements of `value` before / after axis i. */
export const pad = <D extends DType>(x: Tensor<D>, lo: readonly number[], hi: readonly number[], value: number): Tensor<D> =>
  bind1(padP, [x], { lo, hi, value }) as Tensor<D>;

/** Moves axis `from` of `x` to position `to` (non-negative axes); `x` itself when they are equal. */
export function moveAxis<D extends DType>(x: Tensor<D>, from: number, to: number): Tensor<D> {
  if (from === to) return x;
  const perm = Array.from({ length: x.shape.length }, (_, i) => i).filter((i) => i !== from);
  perm.splice(to, 0, from);
  return transpose(x, perm);
}
