import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setWasmThreads, wasmAvailable, wasmThreads } from '../src/backends/wasm/index.js';
import { binaryName } from '../src/backends/wasm/elementwise-kernel.js';
import { getKernels } from '../src/backends/wasm/kernels.js';
import { parallelFor, workerFailure } from '../src/backends/wasm/pool.js';

/**
 * Laws of cpu-wasm's worker pool (src/backends/wasm/pool.ts). A held job — posted before the
 * calling thread's `prepare` — must not start before `prepare` returns, even when the worker woke
 * long before, and must see everything `prepare` wrote.
 */

const skip = wasmAvailable ? false : 'cpu-wasm: this runtime has no WebAssembly SIMD';

test('cpu-wasm pool: parts posted with prepare start after it returns and read what it wrote (the worker woke and waited meanwhile)', { skip }, () => {
  const before = wasmThreads();
  const ks = getKernels();
  const half = 1 << 15;
  const x = ks.heap.scratch(2 * half * 4, 'law x');
  const y = ks.heap.scratch(2 * half * 4, 'law y');
  try {
    setWasmThreads(2);
    const add = binaryName('add', 'float32');
    for (const [trial, holdMs] of [[1, 3], [2, 0], [3, 12]] as const) {
      const xs = new Float32Array(ks.arena.memory.buffer, x, 2 * half);
      const ys = new Float32Array(ks.arena.memory.buffer, y, 2 * half);
      xs.fill(0);
      ys.fill(NaN);
      // part i: y[i·half …] = x + x over its half; prepare writes x only after `holdMs`, long after a worker wakes
      parallelFor(2, (i) => [add, x + i * half * 4, x + i * half * 4, y + i * half * 4, half], () => {
        const t0 = performance.now();
        while (performance.now() - t0 < holdMs);
        for (let j = 0; j < 2 * half; j++) xs[j] = j + trial;
      });
      assert.equal(workerFailure(), undefined, 'the worker started and answered');
      for (let j = 0; j < 2 * half; j++) if (ys[j] !== 2 * (j + trial)) assert.fail(`trial ${trial} (hold ${holdMs} ms): y[${j}] = ${ys[j]}, expected ${2 * (j + trial)}`);
    }
    // a prepare that throws: its error comes out, the held part is released and finished first, and the pool works on
    const job = (i: number) => [add, x + i * half * 4, x + i * half * 4, y + i * half * 4, half] as const;
    assert.throws(
      () =>
        parallelFor(2, job, () => {
          const t0 = performance.now();
          while (performance.now() - t0 < 3);
          throw new Error('prepare failed');
        }),
      /prepare failed/,
    );
    const xs = new Float32Array(ks.arena.memory.buffer, x, 2 * half);
    const ys = new Float32Array(ks.arena.memory.buffer, y, 2 * half);
    xs.fill(1.5);
    parallelFor(2, job, () => {});
    assert.ok(ys.every((v) => v === 3), 'the pool runs after a failed prepare');
    assert.equal(workerFailure(), undefined);
  } finally {
    ks.heap.freeScratch(x);
    ks.heap.freeScratch(y);
    setWasmThreads(before);
  }
});
