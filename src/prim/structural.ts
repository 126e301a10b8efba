import { DTypeError, ShapeError } from '../core/errors.js';
import { checkShape, type Shape, showShape, sizeOf } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { bind1 } from '../interp/trace.js';
import * as o from '../ops/arith.js';
import { type Primitive, primitive } from './primitive.js';
import { batchBroadcast } from './rules.js';
import { reduceSumP } from './reduce.js';

/** Structural primitives: they move elements and are linear. */

const lin = <P>(prim: () => Primitive<P>) => (_ps: readonly Tensor[], [dx]: readonly (Tensor | null)[], p: P, x: Tensor): [Tensor[], (Tensor | null)[]] =>
  [[bind1(prim(), [x], p)], [dx == null ? null : bind1(prim(), [dx], p)]];

/** reshape(shape): same elements, new shape. */
export const reshapeP: Primitive<{ shape: Shape }> = primitive({
  name: 'reshape',
  abstractEval: ([x], { shape }) => {
    checkShape('reshape', shape);
    if (sizeOf(shape) !== sizeOf(x!.shape))
      throw new ShapeError(`reshape: cannot reshape ${showShape(x!.shape)} (${sizeOf(x!.shape)} elements) to ${showShape(shape)} (${sizeOf(shape)} elements)`);
    return [{ shape, dtype: x!.dtype }];
  },
  jvp: (ps, ts, p) => lin(() => reshapeP)(ps, ts, p, ps[0]!),
  transpose: ([ct], [a]) => [ct == null ? null : bind1(reshapeP, [ct], { shape: (a as { aval: { shape: Shape } }).aval.shape })],
  vmap: ([x], _b, { shape }, size) => [[bind1(reshapeP, [x!], { shape: [size, ...shape] })], [true]],
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
  jvp: (ps, ts, p) => lin(() => transposeP)(ps, ts, p, ps[0]!),
  transpose: ([ct], _a, { perm }) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [ct == null ? null : bind1(transposeP, [ct], { perm: inv })];
  },
  vmap: ([x], _b, { perm }) => [[bind1(transposeP, [x!], { perm: [0, ...perm.map((p) => p + 1)] })], [true]],
});

/** broadcastInDim(shape, dims): input axis i becomes output axis dims[i] (size 1 or equal). */
export const broadcastInDimP: Primitive<{ shape: Shape; dims: readonly number[] }> = primitive({
  name: 'broadcast_in_dim',
  abstractEval: ([x], { shape, dims }) => {
    checkShape('broadcast', shape);
    const ok =
      dims.length === x!.shape.length &&
      dims.every((d, i) => d >= 0 && d < shape.length && (i === 0 || d > dims[i - 1]!) && (x!.shape[i] === 1 || x!.shape[i] === shape[d]));
    if (!ok) throw new ShapeError(`broadcast: cannot broadcast ${showShape(x!.shape)} to ${showShape(shape)} along axes [${dims.join(',')}]`);
    return [{ shape, dtype: x!.dtype }];
  },
  jvp: (ps, ts, p) => lin(() => broadcastInDimP)(ps, ts, p, ps[0]!),
  transpose: ([ct], [a], { shape, dims }) => {
    if (ct == null) return [null];
    const inShape = (a as { aval: { shape: Shape } }).aval.shape;
    const summed = shape.map((_, i) => i).filter((i) => !dims.includes(i) || (inShape[dims.indexOf(i)] === 1 && shape[i] !== 1));
    const s = summed.length ? bind1(reduceSumP, [ct], { axes: summed }) : ct;
    return [bind1(reshapeP, [s], { shape: inShape })];
  },
  vmap: ([x], _b, { shape, dims }, size) => [[bind1(broadcastInDimP, [x!], { shape: [size, ...shape], dims: [0, ...dims.map((d) => d + 1)] })], [true]],
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
  jvp: (ps, ts, p) => lin(() => sliceP)(ps, ts, p, ps[0]!),
  transpose: ([ct], [a], { starts, limits }) => {
    if (ct == null) return [null];
    const s = (a as { aval: { shape: Shape } }).aval.shape;
    return [bind1(padP, [ct], { lo: starts, hi: s.map((d, i) => d - limits[i]!), value: 0 })];
  },
  vmap: ([x], _b, { starts, limits }, size) => [[bind1(sliceP, [x!], { starts: [0, ...starts], limits: [size, ...limits] })], [true]],
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
  jvp: ([x], [dx], p) => [[bind1(padP, [x!], p)], [dx == null ? null : bind1(padP, [dx], { ...p, value: 0 })]],
  transpose: ([ct], [a], { lo }) => {
    if (ct == null) return [null];
    const s = (a as { aval: { shape: Shape } }).aval.shape;
    return [bind1(sliceP, [ct], { starts: lo, limits: s.map((d, i) => lo[i]! + d) })];
  },
  vmap: ([x], _b, p) => [[bind1(padP, [x!], { lo: [0, ...p.lo], hi: [0, ...p.hi], value: p.value })], [true]],
});

/** concatenate(axis): joins tensors that agree on every other axis. */
export const concatenateP: Primitive<{ axis: number }> = primitive({
  name: 'concatenate',
  abstractEval: (avals, { axis }) => {
    const a = avals[0]!;
    for (const b of avals) {
      if (b.dtype !== a.dtype) throw new DTypeError(`concat: dtypes ${a.dtype} and ${b.dtype} differ (use astype)`);
      if (b.shape.length !== a.shape.length || b.shape.some((d, i) => i !== axis && d !== a.shape[i]))
        throw new ShapeError(`concat: shapes ${showShape(a.shape)} and ${showShape(b.shape)} differ off axis ${axis}`);
    }
    const shape = [...a.shape];
    shape[axis] = avals.reduce((n, b) => n + b.shape[axis]!, 0);
    return [{ shape, dtype: a.dtype }];
  },
  jvp: (xs, dxs, p) => {
    const out = bind1(concatenateP, xs, p);
    if (dxs.every((d) => d == null)) return [[out], [null]];
    return [[out], [bind1(concatenateP, dxs.map((d, i) => d ?? o.zerosLike(xs[i]!)), p)]];
  },
  transpose: ([ct], args, { axis }) => {
    let off = 0;
    return args.map((a) => {
      const s = a.linear ? a.aval.shape : a.value.shape;
      const starts = s.map((_, i) => (i === axis ? off : 0));
      const limits = s.map((d, i) => (i === axis ? off + d : d));
      off += s[axis]!;
      return a.linear && ct != null ? bind1(sliceP, [ct], { starts, limits }) : null;
    });
  },
  vmap: (xs, batched, { axis }, size) => [[bind1(concatenateP, xs.map((x, i) => (batched[i] ? x : batchBroadcast(x, size))), { axis: axis + 1 })], [true]],
});
