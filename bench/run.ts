/**
 * `npm run bench`: partax (CPU backend) beside @jax-js/jax and TensorFlow.js, in one process, on
 * the same inputs: float32 matmul at 512² and 1024² (GFLOP/s), and valueAndGrad of a
 * 784-200-100-10 tanh MLP with log-softmax + NLL (batch 100). Prints a text table and a markdown
 * table; the ratios are peer time / partax time (above 1: partax is faster).
 *
 * Flags: --quick (fewer runs), --no-webgpu (skip jax-js on WebGPU even when Dawn finds an adapter),
 *        --only=SUBSTR (only implementations whose name contains SUBSTR; partax always runs).
 */
import { cpus } from 'node:os';
import * as P from '../src/index.js';
import { benchMatmul } from './cases/matmul.js';
import { benchMlp } from './cases/mlp.js';
import type { Impl, TimeOptions } from './harness.js';
import { partaxOn } from './partax.js';
import { partaxWebgpu } from './partax-webgpu.js';
import { benchSummary } from './cases/summary.js';
import { initWebGpu, jaxjs } from './peers/jaxjs.js';
import { initTfjsWasm, tfjs } from './peers/tfjs.js';
import { markdownTable, textTable, type Row } from './report.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);

/** Per-case timing: a warm-up run, then the median of several, within a few seconds per implementation. */
const timing = (budgetMs: number): TimeOptions =>
  quick ? { warmup: 1, minReps: 2, maxReps: 5, budgetMs: budgetMs / 4 } : { warmup: 2, minReps: 5, maxReps: 30, budgetMs };

async function main(): Promise<void> {
  const started = performance.now();
  // tfjs prints a hint to install tfjs-node on import-time backend selection; keep the output to the tables.
  const warn = console.warn;
  console.warn = (...a: unknown[]) => (String(a[0]).includes('tfjs-node') ? undefined : warn(...a));

  // the reference (first) is partax on its default CPU backend, cpu-wasm
  const impls: Impl[] = [partaxOn('cpu-wasm'), partaxOn('cpu'), jaxjs('wasm', false), jaxjs('wasm', true), tfjs('cpu')];
  if (await initTfjsWasm()) impls.push(tfjs('wasm'));
  else console.error('bench: tfjs wasm backend unavailable; skipped');
  if (!args.includes('--no-webgpu')) {
    const adapter = await initWebGpu();
    if (adapter !== null) {
      impls.push(jaxjs('webgpu', true, `[${adapter}]`));
      if (await partaxWebgpu.activate!().then(() => true, () => false)) impls.push({ ...partaxWebgpu, name: `partax (webgpu [${adapter}])` });
    }
    else console.error('bench: no WebGPU adapter (run scripts/setup-webgpu.sh); jax-js webgpu skipped');
  }
  const chosen = impls.filter((i, k) => k === 0 || only === undefined || i.name.includes(only));

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`partax bench — Node ${process.version}, ${cpu}, ${cpus().length} cores`);
  console.log(`implementations: ${chosen.map((i) => i.name).join(', ')}\n`);

  const rows: Row[] = [];
  // the plain-JS kernels (partax cpu, tfjs cpu) take tens of seconds at 2048²: left out there
  const fast = chosen.filter((i) => !/\((cpu)\)$/.test(i.name));
  rows.push(...(await benchMatmul(chosen, [512], timing(2000))));
  rows.push(...(await benchMatmul(chosen, [1024], timing(3000))));
  rows.push(...(await benchMatmul(fast, [2048], timing(4000))));
  rows.push(...(await benchMlp(chosen, timing(2000))));
  rows.push(...(await benchMlp(chosen, timing(4000), [784, 200, 100, 10], 1000)));
  P.setBackend('cpu-wasm');
  rows.push(...(await benchSummary(timing(8000))));

  console.log(textTable(rows));
  console.log('\nMarkdown:\n');
  console.log(markdownTable(rows));
  console.log(`\n(time / partax: peer median time over partax's; above 1 means partax is faster. ${((performance.now() - started) / 1000).toFixed(0)} s in all.)`);
  console.warn = warn;
}

await main();
// Dawn and tfjs keep handles open; the bench is done.
process.exit(0);
