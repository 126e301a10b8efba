/** partax: functional tensors, JAX-style transforms, and partition summaries. */
export * from './api.js';

// PARTAX_BACKEND=webgpu: importing partax starts WebGPU first (a top-level await; see
// ./backends/webgpu/from-env.ts). Dawn and the backend's modules are loaded only then.
const env = (globalThis as { process?: { env?: Readonly<Record<string, string | undefined>> } }).process?.env;
if (env?.PARTAX_BACKEND?.trim() === 'webgpu') await (await import('./backends/webgpu/from-env.js')).startFromEnv(env);
