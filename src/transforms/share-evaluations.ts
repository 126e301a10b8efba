import { type EvaluationObserver, withEvalCache } from '../prim/eval-cache.js';

/** Options of {@link shareEvaluations}. */
export interface ShareEvaluationsOptions {
  /** Most bytes of results the scope keeps (default 512 MiB); past it, results are computed but not kept. */
  readonly maxBytes?: number;
  /**
   * Called with the primitive's name, its inputs and its parameters for every evaluation that runs
   * inside the scope — not for those served from it — e.g. to count the work a computation does.
   * Primitives the observer evaluates itself are not reported.
   */
  readonly onEvaluate?: EvaluationObserver;
}

/**
 * `shareEvaluations(f)` is `f`, with every concrete primitive evaluation made during a call memoised
 * for the rest of that call: the same primitive with the same parameters on the same input tensors
 * returns the earlier result, the same tensor object. Inputs are the same by identity, not by
 * value — except one-element host tensors (the scalars that ops make from plain numbers, as in
 * `mul(x, 0.5)`), which are the same when their shape, dtype, backend and bytes are. Tensors are
 * immutable, so the results are exactly those of `f` — only repeated work disappears. This is what
 * lets a computation repeat a shared subcomputation by calling it again (the partition summaries'
 * S group passes all run the primal forward at θ, which is computed once). Traced operations (inside
 * `jit`'s staging, or on a transform's tracers) are not concrete evaluations and are not cached.
 * The results are held until the call returns. A call made while another is in progress joins it
 * (one cache and budget, the enclosing call's), and its `onEvaluate` sees the evaluations made
 * during it.
 *
 *     const twice = shareEvaluations((x: Tensor) => add(matmul(x, w), matmul(x, w))); // one matmul
 */
export function shareEvaluations<A extends readonly unknown[], R>(f: (...args: A) => R, opts: ShareEvaluationsOptions = {}): (...args: A) => R {
  const maxBytes = opts.maxBytes ?? 512 * 2 ** 20;
  if (!(maxBytes >= 0)) throw new RangeError(`shareEvaluations: maxBytes must be a non-negative number of bytes, got ${maxBytes}`);
  return (...args: A): R => withEvalCache(() => f(...args), maxBytes, opts.onEvaluate);
}
