import { isFloat } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { flatten, unflatten } from '../core/tree.js';
import { JVPTrace, JVPTracer } from '../interp/jvp.js';
import { zerosLike } from '../prim/constant.js';
import { matchTangents, type TangentsOf } from './args.js';

/**
 * Forward mode: `jvp(f, primals, tangents)` returns `[f(...primals), J·tangents]`, one pass.
 * `primals` and `tangents` are argument lists of matching trees; `null` (or `undefined`) in place
 * of a tangent argument, or of any subtree of one, is a symbolic zero: nothing is computed for it,
 * and the output tangents it alone would reach come back as zeros.
 *
 *     const [y, dy] = jvp((x) => sum(tanh(x)), [x], [v]);
 *     const [, dyA] = jvp(loss, [{ a, b }], [{ a: va, b: null }]); // ∂L/∂a · va, b held fixed
 */
export function jvp<A extends readonly unknown[], R>(f: (...args: A) => R, primals: A, tangents: TangentsOf<A>): [R, R] {
  const { leaves, def, others } = matchTangents('jvp', 'tangents', primals, tangents);
  const trace = new JVPTrace();
  try {
    const ins = leaves.map((p, i) => new JVPTracer(trace, p, isFloat(p.dtype) ? (others[i] ?? null) : null));
    const out = f(...unflatten<A>(def, ins));
    const o = flatten(out);
    const pairs = o.leaves.map((x) => trace.unpack(x));
    return [
      unflatten<R>(o.def, pairs.map((p) => p[0])),
      unflatten<R>(o.def, pairs.map(([p, t]) => t ?? zerosLike(p as Tensor))),
    ];
  } finally {
    trace.close();
  }
}
