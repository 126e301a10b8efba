/**
 * Case: float32 matmul C = A·B (2n³ flops) on partax's WebGPU backend (Dawn), with each of its two
 * kernels, beside @jax-js/jax on WebGPU (same Dawn, same adapter) when it loads. Runs on its own:
 *
 *     node --import tsx bench/cases/matmul-webgpu.ts [--sizes=256,512,1024] [--reps=5] [--no-peer]
 *
 * Two figures per size: "device" is the median over rounds of (`reps` products queued back to
 * back, then one wait for the GPU) / reps, i.e. the kernel's throughput with inputs and outputs
 * on the GPU; "+readback" is one product followed by `await data()` of the result (the only
 * figure taken for jax-js, whose lazy arrays need not run products that are never read). On a
 * machine without a GPU, Dawn runs on Mesa's lavapipe (Vulkan on the CPU), so these measure the
 * CPU through the WebGPU stack. The first product of a kernel (pipeline compilation) is not timed.
 */
import * as P from '../../src/index.js';
import { initWebGPU, setMatmulVariant, shutdownWebGPU, webgpuSync } from '../../src/backends/webgpu/index.js';
import { uniform } from '../harness.js';

const args = process.argv.slice(2);
const sizes = (args.find((a) => a.startsWith('--sizes='))?.slice(8) ?? '256,512,1024').split(',').map(Number);
const reps = Number(args.find((a) => a.startsWith('--reps='))?.slice(7) ?? 5);
const rounds = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Result {
  readonly name: string;
  readonly n: number;
  readonly deviceMs: number;
  readonly readbackMs: number;
  readonly err: number;
}

/** Max |C − C_ref| / (n · max|A| · max|B|) over a few entries, against a float64 reference. */
function scaledError(c: Float32Array, a: Float32Array, b: Float32Array, n: number): number {
  let worst = 0;
  for (let s = 0; s < 16; s++) {
    const i = (s * 7919) % n;
    const j = (s * 104729) % n;
    let ref = 0;
    for (let k = 0; k < n; k++) ref += a[i * n + k]! * b[k * n + j]!;
    worst = Math.max(worst, Math.abs(c[i * n + j]! - ref) / n);
  }
  return worst;
}

async function partax(variant: 'register' | 'workgroup', n: number, a: Float32Array, b: Float32Array): Promise<Result> {
  setMatmulVariant(variant);
  const ta = await P.toBackend(P.fromBuffer(a.slice(), 'float32', [n, n]), 'webgpu');
  const tb = await P.toBackend(P.fromBuffer(b.slice(), 'float32', [n, n]), 'webgpu');
  const c = (await P.matmul(ta, tb).data()) as Float32Array; // compiles the pipeline
  const device: number[] = [];
  const readback: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await webgpuSync();
    let t = performance.now();
    for (let i = 0; i < reps; i++) P.matmul(ta, tb);
    await webgpuSync();
    device.push((performance.now() - t) / reps);
    t = performance.now();
    await P.matmul(ta, tb).data();
    readback.push(performance.now() - t);
  }
  return { name: `partax webgpu (${variant})`, n, deviceMs: median(device), readbackMs: median(readback), err: scaledError(c, a, b, n) };
}

/** jax-js on WebGPU: only "+readback" is measured (its arrays are lazy, so queued products need not run). */
async function jaxjsWebgpu(n: number, a: Float32Array, b: Float32Array): Promise<Result | null> {
  const jax = await import('@jax-js/jax');
  const np = jax.numpy;
  jax.defaultDevice('webgpu');
  const ja = np.array(a.slice()).reshape([n, n]);
  const jb = np.array(b.slice()).reshape([n, n]);
  const c = (await np.matmul(ja.ref, jb.ref).data()) as Float32Array;
  const readback: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    await np.matmul(ja.ref, jb.ref).data();
    readback.push(performance.now() - t);
  }
  ja.dispose();
  jb.dispose();
  return { name: 'jax-js webgpu', n, deviceMs: Number.NaN, readbackMs: median(readback), err: scaledError(c, a, b, n) };
}

async function main(): Promise<void> {
  const info = await initWebGPU();
  console.log(`partax matmul on WebGPU — adapter: ${info.description || info.device} (${info.software ? 'software' : 'hardware'}); ${reps} products per round, median of ${rounds} rounds`);
  let peer = !args.includes('--no-peer');
  if (peer) {
    const { initWebGpu } = await import('../peers/jaxjs.js');
    peer = (await initWebGpu()) !== null;
  }
  const results: Result[] = [];
  for (const n of sizes) {
    const a = uniform(1, n * n);
    const b = uniform(2, n * n);
    results.push(await partax('register', n, a, b));
    results.push(await partax('workgroup', n, a, b));
    if (peer) {
      const r = await jaxjsWebgpu(n, a, b).catch((e: unknown) => (console.error(`jax-js webgpu: ${String(e)}`), null));
      if (r) results.push(r);
    }
  }
  setMatmulVariant('auto');
  const gflops = (n: number, ms: number) => ((2 * n ** 3) / (ms * 1e6)).toFixed(2);
  console.log('\n| implementation | n | device ms | GFLOP/s | +readback ms | scaled error |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of results)
    console.log(
      `| ${r.name} | ${r.n} | ${Number.isNaN(r.deviceMs) ? '—' : r.deviceMs.toFixed(1)} | ${Number.isNaN(r.deviceMs) ? '—' : gflops(r.n, r.deviceMs)} | ${r.readbackMs.toFixed(1)} | ${r.err.toExponential(1)} |`,
    );
  shutdownWebGPU();
}

await main();
process.exit(0); // jax-js keeps its Dawn device
