/**
 * Eager code that partax runs for the user (an optimizer's update) makes temporaries the user
 * never sees: Adam's update makes ten tensors the size of each parameter to return three. On
 * cpu-wasm each holds a region of the wasm memory, returned only when V8 collects the tensor,
 * which for memory V8 cannot see means a forced full collection (gc-pressure.ts) every ~20 eager
 * training steps, with its pause and with V8 recompiling on the second core the code it dropped.
 *
 * {@link releasingTemporaries} runs such code and releases, as soon as it returns, the buffers
 * backends handed out during it that its result does not hold. It is sound when nothing else can
 * hold them, so it is used only around library code that keeps no tensor it makes, and only where
 * no transform is tracing (a trace's recorded program or residuals could hold any eager result)
 * and no evaluation cache is open (`shareEvaluations` keeps results). On a throw nothing is
 * released early. Backends without `beginTemporaries` (cpu, webgpu) are unaffected.
 */
import { ArrayTensor } from '../core/tensor.js';
import { flatten } from '../core/tree.js';
import type { Backend } from '../backends/backend.js';
import { registeredBackends } from '../backends/registry.js';
import { tracing } from './bind.js';
import { evalCacheOpen } from './eval-cache.js';

/**
 * `f()`, with the buffers backends allocated for tensors during it released at once where its
 * result (a tree of tensors) does not hold them (see the file comment for when this is sound).
 */
export function releasingTemporaries<T>(f: () => T): T {
  if (tracing() || evalCacheOpen()) return f();
  const recorders: Backend[] = [];
  for (const b of registeredBackends()) if (b.beginTemporaries && b.endTemporaries) recorders.push(b);
  if (recorders.length === 0) return f();
  for (const b of recorders) b.beginTemporaries!();
  let keep: Set<object> | null = null;
  try {
    const result = f();
    keep = heldBuffers(result);
    return result;
  } finally {
    for (let i = recorders.length - 1; i >= 0; i--) recorders[i]!.endTemporaries!(keep);
  }
}

/** The buffers the tensors of `tree` hold (null, keeping everything, if it is not a tree of tensors). */
function heldBuffers(tree: unknown): Set<object> | null {
  let leaves;
  try {
    leaves = flatten(tree).leaves;
  } catch {
    return null;
  }
  const held = new Set<object>();
  for (const t of leaves) if (t instanceof ArrayTensor) t.collectBuffers(held);
  return held;
}
