import { ShapeError } from './errors.js';
import { keepAlive } from './keep-alive.js';

/** A tensor shape: one non-negative integer per axis. */
export type Shape = readonly number[];

// the helpers here run on every primitive: loops rather than closures made per call, whose
// optimized code V8 drops at each full collection (see core/keep-alive.ts)

/** Number of elements of a shape (1 for a scalar). */
export const sizeOf = (s: Shape): number => sizeBetween(s, 0, s.length);

/** The product of the dimensions of axes `from` … `to` − 1 of `s` (1 when empty). */
export function sizeBetween(s: Shape, from: number, to: number): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= s[i]!;
  return n;
}

/** Row-major strides of a shape, in elements. */
export function stridesOf(s: Shape): number[] {
  const st = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s[i]!;
  }
  return st;
}

/**
 * A strided layout over a flat buffer: element at multi-index i of `shape` is at
 * `offset + Σ i·strides`. Structural primitives map one to another without moving elements.
 */
export interface Strided {
  readonly shape: Shape;
  readonly strides: readonly number[];
  readonly offset: number;
}

/**
 * A frozen copy of `s`, the shape a concrete tensor keeps (the caller's array is neither frozen
 * nor kept). Every copy has one array layout (V8's packed small-integer elements, frozen), and
 * one such array is kept alive (core/keep-alive.ts): frozen arrays of a layout no live
 * array has lose their hidden class at a full collection, and V8 then deoptimizes the shape code
 * compiled against it (broadcastShapes, the strided copies…) and compiles it again.
 */
export function frozenShape(s: Shape): Shape {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) out.push(s[i]!);
  return Object.freeze(out);
}

// one frozen shape kept alive, so the frozen layout's map survives full collections
keepAlive(frozenShape([1]));

/** `[2,3]` style rendering for error messages. */
export const showShape = (s: Shape): string => `[${s.join(',')}]`;

/** Shape equality. */
export function shapeEq(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Numpy broadcasting of two shapes; `op` names the caller in the error. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new ShapeError(`${op}: shapes ${showShape(a)} and ${showShape(b)} do not broadcast (axis ${i}: ${da} vs ${db})`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Normalises a possibly negative axis against `rank`; names the op on failure. */
export function normAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1) || (rank === 0 && axis !== 0 && axis !== -1))
    throw new ShapeError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** Normalises a list of axes (or all axes when undefined), sorted, without repeats. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => {
    if (!Number.isInteger(a) || a < -rank || a >= rank)
      throw new ShapeError(`${op}: axis ${a} is out of range for a tensor of rank ${rank}`);
    return a < 0 ? a + rank : a;
  });
  if (new Set(out).size !== out.length) throw new ShapeError(`${op}: repeated axis in [${list.join(',')}]`);
  return out.sort((x, y) => x - y);
}

/** Checks that a shape is a list of non-negative integers. */
export function checkShape(op: string, s: Shape): void {
  if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 0))
    throw new ShapeError(`${op}: invalid shape ${JSON.stringify(s)} (expected non-negative integers)`);
}
