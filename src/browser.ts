/**
 * partax in a browser: the `browser` condition of the root entry (and `partax/browser`, for its
 * types). The whole library of the root entry, with the CPU and cpu-wasm backends in the page and
 * WebGPU on `navigator.gpu` (the same WGSL kernels as in Node, without Dawn), configured by a call
 * instead of environment variables:
 *
 *     import { init, grad, sum, tanh, tensor } from 'partax';
 *     await init({ backend: 'cpu-wasm' });          // or 'webgpu', 'cpu'; { threads: 4 }
 *     await grad((x) => sum(tanh(x)))(tensor([0.5])).data();
 *
 * Nothing here imports a Node built-in (laws/browser-bundle.test.ts bundles it for the browser
 * and checks).
 */
export * from './api.js';
export { init, type BrowserBackend, type InitOptions, type InitResult } from './backends/browser-setup.js';
export { startWasmThreads, webThreadsUnavailable, type WasmThreads } from './backends/wasm/web-workers.js';
export * from './backends/webgpu/browser.js';
