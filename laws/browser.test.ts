import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import * as P from '../src/browser.js';
import * as cases from './harness/browser-cases.mjs';
import { type BrowserSession, openBrowser } from './harness/browser.js';
import { assertCloseScalar } from './harness/index.js';

/**
 * partax in a real browser (issue 12, item 6): headless Chromium runs the browser bundle
 * (src/browser.ts, as package.json's `browser` condition serves it) and the computations of
 * ./harness/browser-cases.mjs, whose results are compared with the same computations in Node and
 * with values computed another way (finite differences; one thread against several; the CPU
 * oracle against cpu-wasm and WebGPU). Node's and Chromium's V8 differ in the last ulp of some Math
 * functions (exp, log, tanh, sin… on about 1–15% of arguments), so the same code agrees to float64
 * rounding (relative 1e-13 to 1e-12, after a summary's or four steps' accumulation), not bit for
 * bit. Every test skips, saying why, when Chromium is absent
 * (scripts/setup-browser.sh installs it) or WebGPU offers no adapter in the page.
 */

let session: BrowserSession | undefined;
let skip: string | undefined;
let isolated: Page;
let plain: Page;

before(async () => {
  const s = await openBrowser();
  if (typeof s === 'string') {
    skip = s;
    console.log(`# browser tests skipped: ${s}`);
    return;
  }
  session = s;
  isolated = await s.page(true);
  plain = await s.page(false);
});
after(async () => session?.close());

/** The relative L2 distance ‖a − b‖ / ‖b‖. */
const relL2 = (a: readonly number[], b: readonly number[]): number => {
  assert.equal(a.length, b.length);
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  return Math.sqrt(d / n);
};

test('a gradient computed in the page equals Node\'s (cpu and cpu-wasm, to float64 rounding) and central finite differences', async (t) => {
  if (skip) return t.skip(skip);
  const node = await cases.gradient(P, 'cpu');
  const page = await session!.run<typeof node>(isolated, 'gradient', 'cpu');
  assert.deepEqual(page.x, node.x);
  assertCloseScalar(page.value, node.value, { rtol: 1e-13, atol: 0 }, 'value on cpu');
  assert.ok(relL2(page.grad, node.grad) < 1e-13, `gradient on cpu: relative distance ${relL2(page.grad, node.grad)}`);
  const wasm = await session!.run<typeof node>(isolated, 'gradient', 'cpu-wasm');
  assertCloseScalar(wasm.value, node.value, { rtol: 1e-13, atol: 0 }, 'value on cpu-wasm');
  for (let i = 0; i < node.grad.length; i++) assertCloseScalar(wasm.grad[i]!, node.grad[i]!, { rtol: 1e-12, atol: 1e-14 }, `∂f/∂x${i} on cpu-wasm`);
  // central differences of f in float64 on Node's cpu: truncation O(h²) ≈ 1e-10 times f''' here
  P.setBackend('cpu');
  const A = P.tensor(Array.from({ length: 21 }, (_, i) => (((i + 3) * 37) % 23) / 11 - 1), 'float64', [3, 7]);
  const f = (xs: number[]) => P.add(P.sum(P.mul(P.tanh(P.tensor(xs, 'float64')), P.exp(P.tensor(xs, 'float64')))), P.mul(P.sum(P.square(P.matmul(A, P.tensor(xs, 'float64')))), 0.5)).item();
  const h = 1e-5;
  page.x.forEach((_, i) => {
    const xp = page.x.map((v, j) => (j === i ? v + h : v));
    const xm = page.x.map((v, j) => (j === i ? v - h : v));
    assertCloseScalar(page.grad[i]!, (f(xp) - f(xm)) / (2 * h), { rtol: 1e-7, atol: 1e-8 }, `∂f/∂x${i} against finite differences`);
  });
});

test('an order-3 summary (ḡ, H̄, order3) computed in the page equals Node\'s (cpu and cpu-wasm, to float64 rounding)', async (t) => {
  if (skip) return t.skip(skip);
  const node = await cases.summary3(P, 'cpu');
  assert.equal(node.H.length, 16, 'canonical partition of a 5-4-3 MLP: S = 4');
  for (const backend of ['cpu', 'cpu-wasm'] as const) {
    const page = await session!.run<typeof node>(isolated, 'summary3', backend);
    assertCloseScalar(page.loss, node.loss, { rtol: 1e-13, atol: 0 }, `loss on ${backend}`);
    for (const k of ['g', 'H', 'order3'] as const) assert.ok(relL2(page[k], node[k]) < 1e-12, `${k} on ${backend}: relative distance ${relL2(page[k], node[k])}`);
  }
});

test('a jitted gradient of the MLP (a compiled program; fused loops on cpu-wasm) in the page equals Node\'s, on cpu and cpu-wasm (to float64 rounding)', async (t) => {
  if (skip) return t.skip(skip);
  const node = await cases.jitGradient(P, 'cpu');
  for (const backend of ['cpu', 'cpu-wasm'] as const) {
    const page = await session!.run<typeof node>(isolated, 'jitGradient', backend);
    assertCloseScalar(page.loss, node.loss, { rtol: 1e-13, atol: 0 }, `loss on ${backend}`);
    assert.ok(relL2(page.grad, node.grad) < 1e-12, `gradient on ${backend}: relative distance ${relL2(page.grad, node.grad)}`);
  }
});

test('four NewtonSummary steps in the page (two hg steps, with the summary read through updateAsync) equal the same steps in Node', async (t) => {
  if (skip) return t.skip(skip);
  const node = await cases.newtonSteps(P, 'cpu');
  assert.ok(node[3]!.loss < node[0]!.loss, `the loss falls: ${node.map((s) => s.loss).join(' → ')}`);
  assert.ok(node[3]!.lrs.some((r) => r !== 0), 'the rates were set by a summary');
  const page = await session!.run<typeof node>(isolated, 'newtonSteps', 'cpu');
  node.forEach((s, k) => {
    assertCloseScalar(page[k]!.loss, s.loss, { rtol: 1e-12, atol: 0 }, `loss at step ${k}`);
    assert.ok(relL2(page[k]!.lrs, s.lrs) < 1e-11, `rates after step ${k}: relative distance ${relL2(page[k]!.lrs, s.lrs)}`);
    assert.ok(relL2(page[k]!.params, s.params) < 1e-12, `parameters after step ${k}: relative distance ${relL2(page[k]!.params, s.params)}`);
  });
});

test('cpu-wasm in a cross-origin isolated page runs on Web Workers: 3 threads give the one-thread result bit for bit, within float32 rounding of cpu', async (t) => {
  if (skip) return t.skip(skip);
  const setup = await isolated.evaluate(async () => (await import('/partax.js' as string)).init({ backend: 'cpu-wasm', threads: 3 }));
  assert.deepEqual(setup, { backend: 'cpu-wasm', threads: 3 }, 'three threads started (the page is isolated)');
  const three = await session!.run<Awaited<ReturnType<typeof cases.wasmWork>>>(isolated, 'wasmWork', 'cpu-wasm', 3);
  const one = await session!.run<typeof three>(isolated, 'wasmWork', 'cpu-wasm', 1);
  assert.equal(three.threads, 3);
  assert.deepEqual({ ...one, threads: 3 }, three, 'the GEMM splits rows between threads, never a sum');
  const cpu = await session!.run<typeof three>(isolated, 'wasmWork', 'cpu');
  // float32 sums of 384 products (the forward) and 256 (the weights' gradient): each within
  // about K·2⁻²⁴·Σ|terms| (2.3e-5 relative at worst); the tanh/mean around them add a few ulp
  assertCloseScalar(three.loss, cpu.loss, { rtol: 1e-4, atol: 1e-7 }, 'loss');
  assert.ok(relL2(three.grad, cpu.grad) < 3e-5, `gradient: relative distance ${relL2(three.grad, cpu.grad)}`);
});

test('a page that is not cross-origin isolated runs cpu-wasm on one thread, says why, and computes the same; init refuses an unknown backend, naming it', async (t) => {
  if (skip) return t.skip(skip);
  const setup = await plain.evaluate(async () => (await import('/partax.js' as string)).init({ backend: 'cpu-wasm', threads: 3 }));
  assert.equal(setup.threads, 1);
  assert.match(setup.threadsNote ?? '', /not cross-origin isolated.*Cross-Origin-Opener-Policy/);
  const refused = await plain.evaluate(async () => (await import('/partax.js' as string)).init({ backend: 'gpu' }).then(() => 'resolved', (e: Error) => e.message));
  assert.equal(refused, "init: unknown backend 'gpu' (expected one of cpu, cpu-wasm, webgpu)");
  const alone = await session!.run<Awaited<ReturnType<typeof cases.wasmWork>>>(plain, 'wasmWork', 'cpu-wasm');
  const threaded = await session!.run<typeof alone>(isolated, 'wasmWork', 'cpu-wasm', 3);
  assert.deepEqual({ ...alone, threads: 3 }, threaded);
});

test('WebGPU in the page (navigator.gpu, the same WGSL kernels): a float32 gradient within float32 rounding of cpu', async (t) => {
  if (skip) return t.skip(skip);
  const page = await session!.page(true);
  const setup = await page.evaluate(async () => {
    try {
      return await (await import('/partax.js' as string)).init({ backend: 'webgpu', timeoutMs: 20_000 });
    } catch (e) {
      return { error: String((e as Error).message) };
    }
  });
  if ('error' in setup) return t.skip(`no WebGPU in headless Chromium here: ${setup.error}`);
  t.diagnostic(`WebGPU adapter: ${JSON.stringify(setup.webgpu)}`);
  const gpu = await session!.run<Awaited<ReturnType<typeof cases.wasmWork>>>(page, 'wasmWork', 'webgpu');
  const cpu = await session!.run<typeof gpu>(page, 'wasmWork', 'cpu');
  assertCloseScalar(gpu.loss, cpu.loss, { rtol: 1e-4, atol: 1e-7 }, 'loss'); // as for cpu-wasm above
  assert.ok(relL2(gpu.grad, cpu.grad) < 3e-5, `gradient: relative distance ${relL2(gpu.grad, cpu.grad)}`);
  await page.close();
});
