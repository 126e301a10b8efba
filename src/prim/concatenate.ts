import { DTypeError, ShapeError } from '../core/errors.js';
import type { DType } from '../core/dtype.js';
import { showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { bind1 } from './bind.js';
import { batchBroadcast } from './broadcast.js';
import { type Primitive, primitive } from './primitive.js';
import { slice } from './structural.js';

/** concatenate(axis): joins tensors that agree on every other axis. Linear; its transpose slices. */
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
  linear: true,
  transpose: ([ct], args, { axis }) => {
    let off = 0;
    return args.map((a) => {
      const s = a.linear ? a.aval.shape : a.value.shape;
      const starts = s.map((_, i) => (i === axis ? off : 0));
      const limits = s.map((d, i) => (i === axis ? off + d : d));
      off += s[axis]!;
      return a.linear && ct != null ? slice(ct, starts, limits) : null;
    });
  },
  vmap: (xs, batched, { axis }, size) => [[concatenate(xs.map((x, i) => (batched[i] ? x : batchBroadcast(x, size))), axis + 1)], [true]],
});

/** The tensors `xs` (equal dtypes, equal off `axis`) joined along `axis`. */
export const concatenate = <D extends DType>(xs: readonly Tensor<D>[], axis: number): Tensor<D> => bind1(concatenateP, xs, { axis }) as Tensor<D>;
