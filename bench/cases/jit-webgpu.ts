/**
 * Case: eager vs `jit` on partax's WebGPU backend, where jit runs each fusion group as one
 * generated WGSL kernel. Runnable alone:
 *
 *     node --import tsx bench/cases/jit-webgpu.ts [--quick]
 *
 * - The elementwise chain of bench/cases/jit.ts (37 elementwise ops) over 10⁶ float32 elements: eager (one
 *   kernel and one buffer per op, plus the broadcast of each scalar) against jit (one kernel).
 * - MLP 784-200-100-10 tanh, log-softmax + NLL, valueAndGrad, float32, batch 100: eager against
 *   `jit(valueAndGrad(loss))`.
 *
 * Each round queues `reps` calls and waits for the GPU (webgpuSync), so the figure is the time per
 * call with inputs and outputs on the GPU; eager and jit rounds alternate. The first calls (pipeline
 * compilation, tracing) are not timed. Kernel dispatches per call come from webgpuStats(). Without
 * a GPU, Dawn runs on Mesa's lavapipe (Vulkan on the CPU): those numbers say that fusion works and
 * roughly what it saves in dispatches and memory traffic, not what a GPU would do.
 */
import * as P from '../../src/index.js';
import { initWebGPU, shutdownWebGPU, webgpuStats, webgpuSync } from '../../src/backends/webgpu/index.js';
import { jit } from '../../src/jit/jit.js';
import { median, mlpProblem, scaledErr } from '../harness.js';
import { mlpLoss } from '../partax.js';
import { chain } from './jit.js';

type F32 = P.Tensor<'float32'>;

/** A case: eager and jitted runs returning their first output (to compare) and all outputs. */
interface Case {
  readonly label: string;
  readonly eager: () => F32[];
  readonly jitted: () => F32[];
}

/** One row: median ms per call, dispatches per call, the speedup and the largest scaled difference. */
export interface JitWebGPURow {
  readonly case: string;
  readonly adapter: string;
  readonly eagerMs: number;
  readonly jitMs: number;
  readonly eagerDispatches: number;
  readonly jitDispatches: number;
  readonly speedup: number;
  readonly err: number;
}

const upload = (buf: Float32Array, shape: readonly number[]): Promise<F32> => P.toBackend(P.fromBuffer(buf.slice(), 'float32', shape), 'webgpu');

async function chainCase(n: number): Promise<Case> {
  const x = await upload(Float32Array.from({ length: n }, (_, i) => Math.sin(i)), [n]);
  const y = await upload(Float32Array.from({ length: n }, (_, i) => Math.cos(0.5 * i)), [n]);
  const jc = jit(chain);
  const { stats } = jc.lower(x, y);
  return {
    label: `elementwise chain (${stats.elementwise} ops → ${stats.loops} kernel), 10^6 f32`,
    eager: () => [chain(x, y)],
    jitted: () => [jc(x, y)],
  };
}

async function mlpCase(batch: number): Promise<Case> {
  const p = mlpProblem([784, 200, 100, 10], batch);
  const layers = p.sizes.length - 1;
  const params: Record<string, F32> = {};
  for (let l = 1; l <= layers; l++) {
    params[`w${l}`] = await upload(p.params[2 * l - 2]!, [p.sizes[l - 1]!, p.sizes[l]!]);
    params[`b${l}`] = await upload(p.params[2 * l - 1]!, [p.sizes[l]!]);
  }
  const x = await upload(p.x, [p.batch, p.sizes[0]!]);
  const labels = await P.toBackend(P.fromBuffer(p.labels.slice(), 'int32', [p.batch]), 'webgpu');
  const loss = (ps: Record<string, F32>, xb: F32, yb: P.Tensor<'int32'>) => mlpLoss(ps, xb, yb, layers);
  const vg = P.valueAndGrad(loss);
  const jvg = jit(vg);
  const flat = ([l, g]: [F32, Record<string, F32>]): F32[] => [l, ...Object.keys(g).sort().map((k) => g[k]!)];
  return {
    label: `MLP 784-200-100-10 tanh fwd+bwd, batch ${batch}, f32: jit(valueAndGrad(loss))`,
    eager: () => flat(vg(params, x, labels) as [F32, Record<string, F32>]),
    jitted: () => flat(jvg(params, x, labels) as [F32, Record<string, F32>]),
  };
}

/** Median ms per call over `rounds` rounds of `reps` queued calls each, eager and jit alternating. */
async function timeCase(c: Case, rounds: number, reps: number): Promise<Omit<JitWebGPURow, 'case' | 'adapter'>> {
  const e0 = c.eager();
  const j0 = c.jitted();
  let err = 0;
  for (let i = 0; i < e0.length; i++) err = Math.max(err, scaledErr((await j0[i]!.data()) as Float32Array, (await e0[i]!.data()) as Float32Array));
  const count = (f: () => unknown) => {
    const d = webgpuStats()!.dispatches;
    f();
    return webgpuStats()!.dispatches - d;
  };
  const eagerDispatches = count(c.eager);
  const jitDispatches = count(c.jitted);
  const ms: [number[], number[]] = [[], []];
  const fns = [c.eager, c.jitted];
  for (let r = 0; r < rounds; r++)
    for (const k of r % 2 ? [1, 0] : [0, 1]) {
      await webgpuSync();
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) fns[k]!();
      await webgpuSync();
      ms[k]!.push((performance.now() - t0) / reps);
    }
  const eagerMs = median(ms[0]);
  const jitMs = median(ms[1]);
  return { eagerMs, jitMs, eagerDispatches, jitDispatches, speedup: eagerMs / jitMs, err };
}

/** Times every case on the WebGPU backend (which must be running). */
export async function benchJitWebGPU(quick: boolean): Promise<JitWebGPURow[]> {
  const adapter = webgpuStats()!.adapter;
  const name = `${adapter.description}${adapter.software ? ' (software)' : ''}`;
  const rows: JitWebGPURow[] = [];
  for (const make of [() => chainCase(1_000_000), () => mlpCase(100)]) {
    const c = await make();
    const r = await timeCase(c, quick ? 3 : 7, quick ? 2 : 5);
    console.error(`  done: ${c.label} on webgpu`);
    rows.push({ case: c.label, adapter: name, ...r });
  }
  return rows;
}

/** The rows as a markdown table. */
export function jitWebGPUTable(rows: readonly JitWebGPURow[]): string {
  const lines = [
    '| case | adapter | eager ms/call | jit ms/call | speedup | dispatches/call eager → jit | max scaled diff |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.case} | ${r.adapter} | ${r.eagerMs.toFixed(2)} | ${r.jitMs.toFixed(2)} | ${r.speedup.toFixed(2)}× | ${r.eagerDispatches} → ${r.jitDispatches} | ${r.err.toExponential(1)} |`,
    );
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  try {
    await initWebGPU({ timeoutMs: 20_000 });
  } catch (e) {
    console.error(`bench jit-webgpu: SKIPPED, no WebGPU adapter (${e instanceof Error ? e.message : String(e)})`);
    process.exit(0);
  }
  try {
    const rows = await benchJitWebGPU(quick);
    console.log(jitWebGPUTable(rows));
    if (rows.some((r) => r.adapter.includes('(software)')))
      console.log('\n(software adapter: lavapipe runs WGSL on the CPU; these timings are correctness-grade, not GPU performance)');
  } finally {
    shutdownWebGPU();
  }
}
