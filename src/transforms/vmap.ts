import { ShapeError } from '../core/errors.js';
import { normAxis, showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { flatten, unflatten } from '../core/tree.js';
import { BatchTrace, BatchTracer } from '../interp/vmap.js';
import { broadcastTo } from '../prim/broadcast.js';
import { moveAxis, reshape } from '../prim/structural.js';

/** Options of {@link vmap}. */
export interface VmapOptions {
  /** Batch axis of each argument (null: not batched); one number applies to all. Default 0. */
  readonly inAxes?: number | null | readonly (number | null)[];
  /** Axis of the batch in the outputs (one number, or one per output leaf). Default 0. */
  readonly outAxes?: number | readonly number[];
}

/**
 * Vectorising map: `vmap(f)(xs)` applies `f` to each slice of `xs` along the batch axis, as one
 * batched computation. Composes with every other transform (`vmap(grad(f))`, `grad(vmap(f))`).
 *
 *     const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(params, x, y);
 */
export function vmap<A extends readonly unknown[], R>(f: (...args: A) => R, opts: VmapOptions = {}): (...args: A) => R {
  return (...args: A) => {
    const axesIn = opts.inAxes === undefined ? 0 : opts.inAxes;
    const perArg = Array.isArray(axesIn) ? axesIn : args.map(() => axesIn as number | null);
    if (perArg.length !== args.length)
      throw new ShapeError(`vmap: inAxes has ${perArg.length} entries for ${args.length} argument(s)`);
    let size: number | null = null;
    let sizeFrom = '';
    const flat = args.map((a, i) => {
      const { leaves, def } = flatten(a);
      const ax = perArg[i] as number | null;
      const norm = leaves.map((l, j) => {
        if (ax === null) return null;
        const r = l.shape.length;
        if (ax < -r || ax >= r) throw new ShapeError(`vmap: inAxes ${ax} of argument ${i} is out of range for leaf ${j} of shape ${showShape(l.shape)}`);
        const a0 = ax < 0 ? ax + r : ax;
        const n = l.shape[a0]!;
        if (size === null) {
          size = n;
          sizeFrom = `argument ${i} leaf ${j} ${showShape(l.shape)}`;
        } else if (size !== n)
          throw new ShapeError(`vmap: batch sizes differ: ${size} (from ${sizeFrom}) and ${n} (argument ${i} leaf ${j} ${showShape(l.shape)})`);
        return a0;
      });
      return { leaves, def, norm };
    });
    if (size === null) throw new ShapeError('vmap: no argument is batched (every inAxes is null or there are no tensors)');
    const trace = new BatchTrace(size);
    try {
      const ins = flat.map(({ leaves, def, norm }) => unflatten(def, leaves.map((l, j) => new BatchTracer(trace, l, norm[j]!))));
      const out = f(...(ins as unknown as A));
      const o = flatten(out);
      const outAxes = opts.outAxes ?? 0;
      const res = o.leaves.map((x, i) => {
        const ax = typeof outAxes === 'number' ? outAxes : outAxes[i];
        if (ax === undefined) throw new ShapeError(`vmap: outAxes has no entry for output leaf ${i}`);
        let v: Tensor;
        if (x instanceof BatchTracer && x.trace === trace && x.bdim !== null) v = moveAxis(x.value, x.bdim, 0);
        else {
          const val = x instanceof BatchTracer && x.trace === trace ? x.value : x;
          v = broadcastTo(reshape(val, [1, ...val.shape]), [size!, ...val.shape]);
        }
        return ax === 0 ? v : moveAxis(v, 0, normAxis('moveAxis', ax, v.shape.length));
      });
      return unflatten<R>(o.def, res);
    } finally {
      trace.close();
    }
  };
}
