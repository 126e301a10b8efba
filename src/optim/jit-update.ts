import { jit } from '../jit/jit.js';
import { type GradientTransformation, readsHost, transformation } from './transformation.js';

/**
 * `tx` with its update run under jit: one compiled program per structure of (updates, state,
 * params), traced once when the state holds tensors only (step counts as tensors, as every
 * optimizer here keeps them), instead of a few kernels per leaf dispatched op by op. For a
 * transformation that reads nothing on the host and takes no extra argument (the extra argument,
 * which a chain hands to every member, is not passed on: jit takes tensors, not functions).
 * The same numbers as `tx` on the cpu backend, bit for bit; on cpu-wasm within float32 rounding
 * (fused kernels may order their arithmetic differently).
 *
 *     const direction = jitUpdate(traceMomentum({ momentum: 0.9, dampening: 0.9 }));
 */
export function jitUpdate<S, E = unknown>(tx: GradientTransformation<S, E>): GradientTransformation<S, E> {
  if (readsHost(tx)) throw new TypeError('jitUpdate: the transformation reads values on the host (it has steps or updateAsync), which a jitted update cannot do');
  const withParams = jit((updates: unknown, state: S, params: unknown) => tx.update(updates, state, params));
  const withoutParams = jit((updates: unknown, state: S) => tx.update(updates, state));
  return transformation<S, E>(tx.init, (updates, state, params) => (params === undefined ? withoutParams(updates, state) : withParams(updates, state, params)) as readonly [unknown, S]);
}
