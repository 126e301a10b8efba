import { DTypeError, ShapeError } from '../core/errors.js';
import type { DType } from '../core/dtype.js';
import { type Shape, shapeEq, showShape } from '../core/shape.js';
import { type Aval, type Tensor } from '../core/tensor.js';
import { bind1 } from './bind.js';
import { batchBroadcast, broadcastTo } from './broadcast.js';
import { constant } from './constant.js';
import { add, mul } from './elementwise.js';
import { lit } from './lit.js';
import { jetByCoefficient, type Primitive, primitive } from './primitive.js';
import { moveAxis, reshape, transpose } from './structural.js';

/**
 * gather(x, idx; axis): `take` along one axis. Output shape is
 * x.shape[:axis] ++ idx.shape ++ x.shape[axis+1:]. Linear in x; its transpose is scatterAdd.
 */
export type GatherParams = { axis: number };
/** scatterAdd(upd, idx; axis, shape): zeros of `shape` with upd added at the gathered positions. */
export type ScatterParams = { axis: number; shape: Shape };
/** checkIndex(idx; op, axis, size): the indices unchanged, after checking each lies in [0, size). */
export type CheckIndexParams = { op: string; axis: number; size: number };

/**
 * Index rule of every gathering op: an index must lie in [0, size); anything else (negative ones
 * included: there is no wrap-around from the end, and no clamping) raises a ShapeError naming the
 * op, the index, its flat position, the axis and its size. The gather and scatter_add kernels check
 * their own indices; `check_index` checks indices that are about to be combined into flat ones
 * (takeAlongAxis, oneHot, nll, the batching rules below), where a bad index would otherwise land in
 * another row. The check runs where the indices are concrete: in the kernel, so indices that are
 * tracers (inside jit, grad, vmap) are checked when the program runs, on every backend (WebGPU
 * kernels raise a device flag, turned into the error at the next readback).
 */
export const checkIndexP: Primitive<CheckIndexParams> = primitive({
  name: 'check_index',
  abstractEval: ([idx], { op, size }) => {
    checkIndex(op, idx!);
    if (!Number.isInteger(size) || size < 0) throw new ShapeError(`${op}: axis size ${size} is not a non-negative integer`);
    return [idx!];
  },
  zeroDerivative: true,
  // the rule is per element: batched or not, every index is checked against the same size
  vmap: ([idx], [b], p) => [[bind1(checkIndexP, [idx!], p)], [b!]],
});

/** `idx` after checking that every index lies in [0, size) of `axis` (an error names `op`). */
export const checkedIndices = (idx: Tensor, size: number, axis: number, op: string): Tensor => bind1(checkIndexP, [idx], { op, axis, size });

const gatheredShape = (x: Shape, idx: Shape, axis: number): number[] => [...x.slice(0, axis), ...idx, ...x.slice(axis + 1)];

function checkIndex(op: string, idx: Aval): void {
  if (idx.dtype !== 'int32') throw new DTypeError(`${op}: indices must be int32, got ${idx.dtype}`);
}

/** Adds b·A to row b of a batched index tensor, to gather from a batch-merged axis of size A. */
function offsetIndices(idx: Tensor, axisSize: number): Tensor {
  const b = idx.shape[0]!;
  const rows = constant(Int32Array.from({ length: b }, (_, i) => i), 'int32', [b], 'arange');
  const offs = mul(rows, lit(axisSize, rows));
  const shape = [b, ...idx.shape.slice(1).map(() => 1)];
  return add(idx, broadcastTo(shapeEq(shape, offs.shape) ? offs : reshape(offs, shape), idx.shape));
}

export const gatherP: Primitive<GatherParams> = primitive({
  name: 'gather',
  abstractEval: ([x, idx], { axis }) => {
    checkIndex('take', idx!);
    if (!Number.isInteger(axis) || axis < 0 || axis >= x!.shape.length)
      throw new ShapeError(`take: axis ${axis} out of range for ${showShape(x!.shape)}`);
    return [{ shape: gatheredShape(x!.shape, idx!.shape, axis), dtype: x!.dtype }];
  },
  linear: true,
  jvp: ([x, idx], [dx], p) => [[bind1(gatherP, [x!, idx!], p)], [dx == null ? null : bind1(gatherP, [dx, idx!], p)]],
  jet: jetByCoefficient(() => gatherP, ([, idx], [dx], p) => [dx == null ? null : bind1(gatherP, [dx, idx!], p)]),
  transpose: ([ct], [a, idx], { axis }) => [
    ct == null ? null : bind1(scatterAddP, [ct, (idx as { value: Tensor }).value], { axis, shape: (a as { aval: Aval }).aval.shape }),
    null,
  ],
  vmap: ([x, idx], [bx, bi], { axis }) => {
    if (!bi) return [[bind1(gatherP, [x!, idx!], { axis: axis + 1 })], [true]];
    if (!bx) return [[moveAxis(bind1(gatherP, [x!, idx!], { axis }), axis, 0)], [true]];
    const size = x!.shape[axis + 1]!;
    const xm = moveAxis(x!, axis + 1, 1);
    const merged = reshape(xm, [xm.shape[0]! * size, ...xm.shape.slice(2)]);
    // checked before the batch offsets: an index past the end must not read the next batch row
    const out = bind1(gatherP, [merged, offsetIndices(checkedIndices(idx!, size, axis, 'take'), size)], { axis: 0 });
    // out: [B, ...I, ...pre, ...rest]; move the I block after pre.
    const nI = idx!.shape.length - 1;
    const perm = [0, ...range(1 + nI, 1 + nI + axis), ...range(1, 1 + nI), ...range(1 + nI + axis, out.shape.length)];
    return [[transpose(out, perm)], [true]];
  },
});

const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

export const scatterAddP: Primitive<ScatterParams> = primitive({
  name: 'scatter_add',
  abstractEval: ([u, idx], { axis, shape }) => {
    checkIndex('scatterAdd', idx!);
    const want = gatheredShape(shape, idx!.shape, axis);
    if (want.length !== u!.shape.length || want.some((d, i) => d !== u!.shape[i]))
      throw new ShapeError(`scatterAdd: updates ${showShape(u!.shape)} do not match ${showShape(want)} (target ${showShape(shape)}, indices ${showShape(idx!.shape)}, axis ${axis})`);
    return [{ shape, dtype: u!.dtype }];
  },
  linear: true,
  jvp: ([u, idx], [du], p) => [[bind1(scatterAddP, [u!, idx!], p)], [du == null ? null : bind1(scatterAddP, [du, idx!], p)]],
  jet: jetByCoefficient(() => scatterAddP, ([, idx], [du], p) => [du == null ? null : bind1(scatterAddP, [du, idx!], p)]),
  transpose: ([ct], [, idx], { axis }) => [ct == null ? null : bind1(gatherP, [ct, (idx as { value: Tensor }).value], { axis }), null],
  vmap: ([u, idx], [bu, bi], { axis, shape }, size) => {
    if (!bi) return [[bind1(scatterAddP, [u!, idx!], { axis: axis + 1, shape: [size, ...shape] })], [true]];
    const ub = bu ? u! : batchBroadcast(u!, size);
    const nI = idx!.shape.length - 1;
    // ub: [B, ...pre(axis), ...I, ...rest] → [B, ...I, ...pre, ...rest]
    const perm = [0, ...range(1 + axis, 1 + axis + nI), ...range(1, 1 + axis), ...range(1 + axis + nI, ub.shape.length)];
    const ut = transpose(ub, perm);
    const a = shape[axis]!;
    const target = [size * a, ...shape.slice(0, axis), ...shape.slice(axis + 1)];
    const s = bind1(scatterAddP, [ut, offsetIndices(checkedIndices(idx!, a, axis, 'scatterAdd'), a)], { axis: 0, shape: target });
    const r = reshape(s, [size, a, ...shape.slice(0, axis), ...shape.slice(axis + 1)]);
    return [[moveAxis(r, 1, axis + 1)], [true]];
  },
});

// ---------- strict wrappers ----------

/** `take` along `axis`: x.shape[:axis] ++ idx.shape ++ x.shape[axis+1:] (indices checked by the kernel) */
export const gather = <D extends DType>(x: Tensor<D>, idx: Tensor, axis: number): Tensor<D> => bind1(gatherP, [x, idx], { axis }) as Tensor<D>;
/** zeros of `shape` with `upd` added at the positions `gather(·, idx, axis)` reads */
export const scatterAdd = <D extends DType>(upd: Tensor<D>, idx: Tensor, axis: number, shape: Shape): Tensor<D> =>
  bind1(scatterAddP, [upd, idx], { axis, shape }) as Tensor<D>;
