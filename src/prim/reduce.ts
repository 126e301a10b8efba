import { ShapeError } from '../core/errors.js';
import type { DType } from '../core/dtype.js';
import { showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { bind1 } from './bind.js';
import { reduceSum, unreduce } from './broadcast.js';
import { convert, div, eq, mul } from './elementwise.js';
import { type Primitive, primitive } from './primitive.js';
import { reducedAval } from './rules.js';

/** Max/min reductions over a sorted list of axes (removed), and argmax/argmin along one axis. reduce_sum lives with broadcast_in_dim, its transpose. */

type AxesParams = { axes: readonly number[] };

const shiftAxes = (axes: readonly number[]) => axes.map((a) => a + 1);

/** Max/min reductions; the tangent is the mean of the tangents at the extremal positions. */
function extremum(name: string): Primitive<AxesParams> {
  const p: Primitive<AxesParams> = primitive<AxesParams>({
    name,
    abstractEval: ([x], { axes }) => [reducedAval(name === 'reduce_max' ? 'max' : 'min', x!, axes)],
    jvp: ([x], [dx], params) => {
      const y = bind1(p, [x!], params);
      if (dx == null) return [[y], [null]];
      return [[y], [extremalMean(x!, y, params.axes)(dx)]];
    },
    // piecewise linear, the piece fixed by x₀: each coefficient is averaged over the same positions
    jet: ([x], [s], params) => {
      const y = bind1(p, [x!], params);
      const mean = extremalMean(x!, y, params.axes);
      return [[y], [s!.map((c) => (c == null ? null : mean(c)))]];
    },
    vmap: ([x], _b, { axes }) => [[bind1(p, [x!], { axes: shiftAxes(axes) })], [true]],
    fusion: { role: 'reduce', monoid: name === 'reduce_max' ? 'max' : 'min' },
  });
  return p;
}
/** dx ↦ the mean of dx over the positions where x attains its extremum y (along `axes`). */
function extremalMean(x: Tensor, y: Tensor, axes: readonly number[]): (dx: Tensor) => Tensor {
  const mask = convert(eq(x, unreduce(y, x.shape, axes)), x.dtype);
  const count = reduceSum(mask, axes);
  return (dx) => div(reduceSum(mul(dx, mask), axes), count);
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
    zeroDerivative: true,
    vmap: ([x], _b, { axis }) => [[bind1(p, [x!], { axis: axis + 1 })], [true]],
  });
  return p;
}
export const argmaxP = argExtremum('argmax');
export const argminP = argExtremum('argmin');

// ---------- strict wrappers ----------

/** max of `x` over the sorted distinct `axes`, which are removed */
export const reduceMax = <D extends DType>(x: Tensor<D>, axes: readonly number[]): Tensor<D> => bind1(reduceMaxP, [x], { axes }) as Tensor<D>;
/** min of `x` over the sorted distinct `axes`, which are removed */
export const reduceMin = <D extends DType>(x: Tensor<D>, axes: readonly number[]): Tensor<D> => bind1(reduceMinP, [x], { axes }) as Tensor<D>;
/** index of the first maximum along `axis` (removed), int32 */
export const argmax = (x: Tensor, axis: number): Tensor<'int32'> => bind1(argmaxP, [x], { axis }) as Tensor<'int32'>;
/** index of the first minimum along `axis` (removed), int32 */
export const argmin = (x: Tensor, axis: number): Tensor<'int32'> => bind1(argminP, [x], { axis }) as Tensor<'int32'>;
