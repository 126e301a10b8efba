import assert from 'node:assert/strict';
import { gcFunction } from '../../src/backends/gc-pressure.js';
import { getKernels } from '../../src/backends/wasm/kernels.js';

/**
 * Full collections, then the cpu-wasm heap's finalizers: the regions of the tensors that died are
 * back on the free lists when this resolves (for the laws that run with memory pressure).
 */
export async function collect(): Promise<void> {
  const gc = gcFunction();
  assert.ok(gc, 'V8 gc is available (--expose-gc or enabled at run time)');
  // Two full collections: a gc() that finds incremental marking under way finishes that cycle, in
  // which objects allocated since it began count as live (V8 allocates black during marking), so
  // tensors that died during it survive it; the second starts a fresh cycle. After each, wait for
  // the heap's sentinel: the finalizers run in a task V8 posts after the collection, which under
  // load can come several turns of the event loop later; then one more turn for that task's rest.
  for (let pass = 0; pass < 2; pass++) {
    const reaped = getKernels().heap.afterCollection();
    gc();
    await reaped;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
