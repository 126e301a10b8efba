import { DTypeError, ShapeError } from '../core/errors.js';
import type { Shape } from '../core/shape.js';
import { showShape } from '../core/shape.js';
import type { Aval, Tensor } from '../core/tensor.js';
import { bind1 } from '../interp/trace.js';
import * as o from '../ops/arith.js';
import { type Primitive, primitive } from './primitive.js';
import { broadcastInDimP } from './structural.js';

/** Reductions over a sorted list of axes (the axes are removed). */

type AxesParams = { axes: readonly number[] };

function reducedAval(op: string, x: Aval, axes: readonly number[]): Aval {
  if (!axes.every((a, i) => Number.isInteger(a) && a >= 0 && a < x.shape.length && (i === 0 || a > axes[i - 1]!)))
    throw new ShapeError(`${op}: axes [${axes.join(',')}] are not sorted distinct axes of ${showShape(x.shape)}`);
  if (x.dtype === 'bool') throw new DTypeError(`${op}: not defined for bool tensors (astype first)`);
  return { shape: x.shape.filter((_, i) => !axes.includes(i)), dtype: x.dtype };
}

/** Broadcasts a reduced tensor back to the shape it was reduced from. */
export function unreduce(y: Tensor, shape: Shape, axes: readonly number[]): Tensor {
  const dims = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  return bind1(broadcastInDimP, [y], { shape, dims });
}

const shiftAxes = (axes: readonly number[]) => axes.map((a) => a + 1);

/** reduceSum(axes): linear. */
export const reduceSumP: Primitive<AxesParams> = primitive({
  name: 'reduce_sum',
  abstractEval: ([x], { axes }) => [reducedAval('sum', x!, axes)],
  jvp: ([x], [dx], p) => [[bind1(reduceSumP, [x!], p)], [dx == null ? null : bind1(reduceSumP, [dx], p)]],
  transpose: ([ct], [a], { axes }) => [ct == null ? null : unreduce(ct, (a as { aval: Aval }).aval.shape, axes)],
  vmap: ([x], _b, { axes }) => [[bind1(reduceSumP, [x!], { axes: shiftAxes(axes) })], [true]],
});

/** Max/min reductions; the tangent is the mean of the tangents at the extremal positions. */
function extremum(name: string): Primitive<AxesParams> {
  const p: Primitive<AxesParams> = primitive<AxesParams>({
    name,
    abstractEval: ([x], { axes }) => [reducedAval(name === 'reduce_max' ? 'max' : 'min', x!, axes)],
    jvp: ([x], [dx], params) => {
      const y = bind1(p, [x!], params);
      if (dx == null) return [[y], [null]];
      const mask = o.astype(o.eq(x!, unreduce(y, x!.shape, params.axes)), x!.dtype);
      const count = bind1(reduceSumP, [mask], params);
      return [[y], [o.div(bind1(reduceSumP, [o.mul(dx, mask)], params), count)]];
    },
    transpose: null,
    vmap: ([x], _b, { axes }) => [[bind1(p, [x!], { axes: shiftAxes(axes) })], [true]],
  });
  return p;
}
export const reduceMaxP = extremum('reduce_max');
export const reduceMinP = extremum('reduce_min');

/** argmax / argmin along one axis (int32, first occurrence); no derivative. */
function argExtremum(name: string): Primitive<{ axis: number }> {
  const p: Primitive<{ axis: number }> = primitive<{ axis: number }>({
    name,
    abstractEval: ([x], { axis }) => {
      const a = reducedAval(name, x!, [axis]);
      if (x!.shape[axis] === 0) throw new ShapeError(`${name}: axis ${axis} of ${showShape(x!.shape)} is empty`);
      return [{ shape: a.shape, dtype: 'int32' }];
    },
    jvp: ([x], _t, params) => [[bind1(p, [x!], params)], [null]],
    transpose: null,
    vmap: ([x], _b, { axis }) => [[bind1(p, [x!], { axis: axis + 1 })], [true]],
  });
  return p;
}
export const argmaxP = argExtremum('argmax');
export const argminP = argExtremum('argmin');
