/**
 * `npm run bench`: partax beside @jax-js/jax and TensorFlow.js, in one process, on the same
 * inputs: float32 matmul at 512², 1024² and 2048² (GFLOP/s), valueAndGrad of a 784-200-100-10 tanh
 * MLP with log-softmax + NLL (batch 100 and 1000), and the order-3 partition summary of that MLP
 * (batch 1000, canonical partition) along its gradient. partax runs on cpu-wasm with all its
 * threads (the reference) and with one, on the plain cpu backend, and on WebGPU when there is an
 * adapter. Prints a text table and a markdown table; the ratios are implementation time / partax
 * time (above 1: partax is faster), against the reference and against partax on one thread (the
 * peers here run on one thread).
 *
 * First (in a process that has run nothing else yet) the CPU runtime's targets
 * (bench/cases/targets.ts): partax on one thread against PyTorch
 * (where Debian's python3-torch is installed; skipped with the reason elsewhere) for fwd+bwd and an
 * Adam step, against the paper's grnewt `compute_Hg` (where GRNEWT_ROOT points at its code) for
 * the order-3 summary, the summary over partax's own gradient, and the host dispatches of a
 * jitted Adam step; each ratio from interleaved runs in this one process run.
 *
 * Flags: --quick (fewer runs; leaves out jax-js's eager and WebGPU summaries, ~40 and ~60 s a run),
 *        --no-webgpu (skip WebGPU even when Dawn finds an adapter),
 *        --only=SUBSTR (only implementations whose name contains SUBSTR; the reference always runs;
 *        the targets are left out), --no-targets (leave the targets out), --targets-only (only them).
 */
import { cpus } from 'node:os';
import * as P from '../src/index.js';
import { benchMatmul } from './cases/matmul.js';
import { benchMlp } from './cases/mlp.js';
import type { Impl, TimeOptions } from './harness.js';
import { partaxOn } from './partax.js';
import { partaxWebgpu } from './partax-webgpu.js';
import { benchSummary, benchSummaryPeers, partaxSummary } from './cases/summary.js';
import { initWebGpu, jaxjs } from './peers/jaxjs.js';
import { initTfjsWasm, tfjs } from './peers/tfjs.js';
import { markdownTable, textTable, withRatioTo, type Row } from './report.js';
import { ceilingMarkdown } from './cases/ceiling.js';
import { benchTargets, QUICK_TARGET_TIMING, TARGET_TIMING, targetsMarkdown, targetsText } from './cases/targets.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);

/** Per-case timing: warm-up runs (a fast case: for half a second with --quick, else one and a half), then the median of several, within a few seconds per implementation. */
const timing = (budgetMs: number): TimeOptions =>
  quick ? { warmup: 2, minReps: 2, maxReps: 5, budgetMs: budgetMs / 4, warmupMs: 500 } : { warmup: 2, minReps: 5, maxReps: 30, budgetMs, warmupMs: 1500 };

/** partax on cpu-wasm with `threads` threads (set on activation), with its summary; `jit`: the MLP step and the summary compiled. */
function partaxWasm(threads: number, jit = false): Impl {
  const impl = partaxOn('cpu-wasm', { jit });
  return {
    ...impl,
    name: `partax (cpu-wasm, ${threads} thread${threads === 1 ? '' : 's'}${jit ? ', jit' : ''})`,
    async activate() {
      await impl.activate!();
      P.setWasmThreads(threads);
    },
    summary: partaxSummary('cpu-wasm', { jit }),
  };
}

/** The targets table (issue 10's ratios), printed as text and markdown. */
async function targets(): Promise<void> {
  const { rows, peer, ceiling } = await benchTargets(quick ? QUICK_TARGET_TIMING : TARGET_TIMING);
  console.log(`\nCPU runtime targets (one thread each, runs interleaved): ${peer}\n`);
  console.log(targetsText(rows));
  console.log('\nMarkdown:\n');
  console.log(targetsMarkdown(rows));
  console.log(`\nThe arithmetic ceiling under them (one thread, interleaved; bench/cases/ceiling.ts):\n\n${ceilingMarkdown(ceiling)}`);
}

async function main(): Promise<void> {
  const started = performance.now();
  if (args.includes('--targets-only')) {
    await targets();
    console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s in all.)`);
    return;
  }
  // tfjs prints a hint to install tfjs-node on import-time backend selection; keep the output to the tables.
  const warn = console.warn;
  console.warn = (...a: unknown[]) => (String(a[0]).includes('tfjs-node') ? undefined : warn(...a));

  // the reference (first) is partax on its default CPU backend, cpu-wasm, with its default threads (one per core)
  const threads = P.wasmThreads();
  const single = partaxWasm(1);
  const impls: Impl[] = [partaxWasm(threads), ...(threads > 1 ? [single] : []), partaxWasm(1, true), { ...partaxOn('cpu'), summary: partaxSummary('cpu') }];
  impls.push(jaxjs('wasm', false), jaxjs('wasm', true), tfjs('cpu'));
  if (await initTfjsWasm()) impls.push(tfjs('wasm'));
  else console.error('bench: tfjs wasm backend unavailable; skipped');
  // the summary only: jax-js one group at a time, each piece jit-compiled (the whole summary under jit exceeds its wasm memory)
  const summaryOnly: Impl[] = [jaxjs('wasm', true, undefined, 'per-group')];
  if (!args.includes('--no-webgpu')) {
    const adapter = await initWebGpu();
    if (adapter !== null) {
      impls.push(jaxjs('webgpu', true, `[${adapter}]`));
      if (await partaxWebgpu.activate!().then(() => true, () => false))
        impls.push({ ...partaxWebgpu, name: `partax (webgpu [${adapter}])`, summary: partaxSummary('webgpu') });
    }
    else console.error('bench: no WebGPU adapter (run scripts/setup-webgpu.sh); jax-js webgpu skipped');
  }
  const pick = (list: Impl[]) => list.filter((i, k) => (k === 0 && list === impls) || only === undefined || i.name.includes(only));
  const chosen = pick(impls);
  // jax-js's eager summary (~40 s a run) and its WebGPU one (~60 s on lavapipe) are left out of --quick
  const summaryImpls = [...chosen, ...pick(summaryOnly)].filter((i) => !(quick && /^jax-js \((wasm|webgpu .*, jit)\)$/.test(i.name)));

  // the targets first, in a process that has run nothing else yet: after the table below, whose
  // peers leave their memory and threads behind, partax's steps ran up to 1.8× slower
  if (!args.includes('--no-targets') && only === undefined) await targets();

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`partax bench — Node ${process.version}, ${cpu}, ${cpus().length} cores`);
  console.log(`implementations: ${[...chosen, ...pick(summaryOnly)].map((i) => i.name).join(', ')}\n`);

  const rows: Row[] = [];
  // the plain-JS kernels (partax cpu, tfjs cpu) take tens of seconds at 2048²: left out there
  const fast = chosen.filter((i) => !/\((cpu)\)$/.test(i.name));
  rows.push(...(await benchMatmul(chosen, [512], timing(2000))));
  rows.push(...(await benchMatmul(chosen, [1024], timing(3000))));
  rows.push(...(await benchMatmul(fast, [2048], timing(4000))));
  rows.push(...(await benchMlp(chosen, timing(2000))));
  rows.push(...(await benchMlp(chosen, timing(4000), [784, 200, 100, 10], 1000)));
  rows.push(...(await benchSummaryPeers(summaryImpls, timing(8000))));
  await chosen[0]!.activate!();
  rows.push(...(await benchSummary(timing(8000))));

  const table = withRatioTo(rows, single.name);
  console.log(textTable(table));
  console.log('\nMarkdown:\n');
  console.log(markdownTable(table));
  console.log(`\n(time / partax: median time over partax's (cpu-wasm, ${threads} threads), time / partax 1 thread: over partax's on one thread; above 1 means partax is faster.)`);
  console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s in all.)`);
  console.warn = warn;
}

await main();
// Dawn and tfjs keep handles open; the bench is done.
process.exit(0);
