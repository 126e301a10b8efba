/**
 * Memory over a long training run: the 784-200-100-10 tanh MLP (log-softmax + NLL, batch 100)
 * trained with Adam on the embedded MNIST digits (8,000 training digits, reshuffled each epoch) for many steps on one backend, sampling the process's resident set, V8's heap,
 * the memory outside the heap (typed arrays, the WASM memory), on cpu-wasm the wasm memory's live
 * regions (the resident tensors) and its top, and on WebGPU the buffer pool's live and free bytes
 * after every step. It prints the first and the last 100 steps side by side:
 * flat memory means the last steps hold what the first ones did.
 *
 *     node --import tsx bench/memory.ts                       # cpu-wasm, 10,000 steps
 *     node --import tsx bench/memory.ts --backend webgpu --steps 10000 --json out.json
 *
 * Nothing is disposed by hand: tensors are dropped and the collector (and the finalizers of the
 * wasm memory's regions or of the WebGPU pool's buffers) must give their memory back. Each step reads the loss back to the host, as a
 * training loop that logs it does.
 */
import { writeFileSync, renameSync } from 'node:fs';
import * as P from '../src/index.js';
import * as W from '../src/backends/webgpu/index.js';
import { mlpProblem } from './harness.js';
import { cyclingLoader, START } from '../src/data/batches.js';
import { mnistSplit } from '../src/data/mnist.js';
import { mlpLoss } from './partax.js';
import { builtKernels } from '../src/backends/wasm/kernels.js';

type F32 = P.Tensor<'float32'>;
type Params = Record<string, F32>;

/** One sample, taken after a step. Sizes in bytes. */
interface Sample {
  readonly rss: number;
  readonly heapUsed: number;
  /** Memory outside V8's heap: array buffers, the WASM arena, Dawn's host side. */
  readonly external: number;
  readonly gpuLive: number;
  readonly gpuFree: number;
  /** cpu-wasm: bytes in live regions of the wasm memory (resident tensors), and the memory's top (high-water mark). */
  readonly wasmLive: number;
  readonly wasmTop: number;
  readonly ms: number;
  readonly loss: number;
}

/** Summary of a window of samples: the mean and the maximum of each field. */
interface Window {
  readonly steps: string;
  readonly mean: Record<keyof Sample, number>;
  readonly max: Record<keyof Sample, number>;
}

const FIELDS = ['rss', 'heapUsed', 'external', 'gpuLive', 'gpuFree', 'wasmLive', 'wasmTop', 'ms', 'loss'] as const;

function summarise(samples: readonly Sample[], from: number): Window {
  const mean = {} as Record<keyof Sample, number>;
  const max = {} as Record<keyof Sample, number>;
  for (const f of FIELDS) {
    const v = samples.map((s) => s[f]);
    mean[f] = v.reduce((a, b) => a + b, 0) / v.length;
    max[f] = Math.max(...v);
  }
  return { steps: `${from + 1}–${from + samples.length}`, mean, max };
}

/** Parses `--name value` flags; unknown flags are an error that names them. */
function parseFlags(argv: readonly string[]): { backend: string; steps: number; batch: number; json: string | null } {
  const known = new Set(['--backend', '--steps', '--batch', '--json']);
  const got = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    const v = argv[i + 1];
    if (!known.has(k)) throw new Error(`bench/memory: unknown flag '${k}' (known: ${[...known].join(', ')})`);
    if (v === undefined) throw new Error(`bench/memory: flag '${k}' needs a value`);
    got.set(k, v);
  }
  const int = (k: string, d: number) => {
    const s = got.get(k);
    if (s === undefined) return d;
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 200) throw new Error(`bench/memory: ${k} must be an integer ≥ 200, got '${s}'`);
    return n;
  };
  const backend = got.get('--backend') ?? 'cpu-wasm';
  if (!['cpu', 'cpu-wasm', 'webgpu'].includes(backend)) throw new Error(`bench/memory: --backend must be cpu, cpu-wasm or webgpu, got '${backend}'`);
  return { backend, steps: int('--steps', 10_000), batch: int('--batch', 100), json: got.get('--json') ?? null };
}

/** Runs the training loop and returns every step's sample. */
async function train(backend: string, steps: number, batch: number, onProgress: (step: number) => void): Promise<Sample[]> {
  const sizes = [784, 200, 100, 10];
  const layers = sizes.length - 1;
  const place = <T extends P.Tensor>(t: T): Promise<T> => (backend === 'webgpu' ? (P.toBackend(t, 'webgpu') as Promise<T>) : Promise.resolve(t));
  const p0 = mlpProblem(sizes, batch, 7);
  let params: Params = {};
  for (let l = 1; l <= layers; l++) {
    params[`w${l}`] = await place(P.fromBuffer(p0.params[2 * l - 2]!.slice(), 'float32', [sizes[l - 1]!, sizes[l]!]));
    params[`b${l}`] = await place(P.fromBuffer(p0.params[2 * l - 1]!.slice(), 'float32', [sizes[l]!]));
  }
  // the digits, flattened to [N, 784]; a new host batch every step, as a data loader gives
  const { digits, flat } = P.withBackend('cpu-wasm', () => {
    const { train: digits } = mnistSplit();
    return { digits, flat: P.reshape(digits.x, [digits.x.shape[0]!, sizes[0]!]) };
  });
  const loader = cyclingLoader({ ...digits, x: flat }, { batchSize: batch, key: P.random.key(0) });
  let pos = START;
  const opt = P.optim.adam(1e-3);
  let state = opt.init(params);
  const samples: Sample[] = [];
  for (let step = 0; step < steps; step++) {
    const t0 = performance.now();
    const b = loader.at(pos);
    pos = loader.next(pos);
    const [x, y] = [await place(b.x), await place(b.y as P.Tensor<'int32'>)];
    const [loss, g] = P.valueAndGrad((ps: Params) => mlpLoss(ps, x, y, layers))(params) as [F32, Params];
    const [updates, next] = opt.update(g, state, params);
    params = P.optim.applyUpdates(params, updates) as Params;
    state = next;
    const lossValue = (await loss.data())[0]!;
    const ms = performance.now() - t0;
    const m = process.memoryUsage();
    const gpu = W.webgpuStats();
    const heap = builtKernels()?.heap.stats();
    samples.push({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, gpuLive: gpu?.liveBytes ?? 0, gpuFree: gpu?.freeBytes ?? 0, wasmLive: heap?.liveBytes ?? 0, wasmTop: heap?.topBytes ?? 0, ms, loss: lossValue });
    if (!Number.isFinite(lossValue)) throw new Error(`bench/memory: the loss is ${lossValue} at step ${step + 1}`);
    onProgress(step + 1);
  }
  return samples;
}

const MiB = (b: number) => (b / 2 ** 20).toFixed(1);

/** The first-vs-last table as text. */
function table(first: Window, last: Window, backend: string): string {
  const gpu = backend === 'webgpu';
  const rows: [string, (w: Window) => string][] = [
    ['resident set (MiB), mean / max', (w) => `${MiB(w.mean.rss)} / ${MiB(w.max.rss)}`],
    ['V8 heap used (MiB), mean / max', (w) => `${MiB(w.mean.heapUsed)} / ${MiB(w.max.heapUsed)}`],
    ['outside the heap (MiB), mean / max', (w) => `${MiB(w.mean.external)} / ${MiB(w.max.external)}`],
    ...(gpu
      ? ([
          ['GPU live (MiB), mean / max', (w: Window) => `${MiB(w.mean.gpuLive)} / ${MiB(w.max.gpuLive)}`],
          ['GPU pool free (MiB), mean / max', (w: Window) => `${MiB(w.mean.gpuFree)} / ${MiB(w.max.gpuFree)}`],
        ] as [string, (w: Window) => string][])
      : []),
    ...(backend === 'cpu-wasm'
      ? ([
          ['wasm memory: live regions (MiB), mean / max', (w: Window) => `${MiB(w.mean.wasmLive)} / ${MiB(w.max.wasmLive)}`],
          ['wasm memory: top (MiB), max', (w: Window) => MiB(w.max.wasmTop)],
        ] as [string, (w: Window) => string][])
      : []),
    ['step time (ms), mean', (w) => w.mean.ms.toFixed(2)],
    ['loss, mean', (w) => w.mean.loss.toFixed(4)],
  ];
  const head = `| | steps ${first.steps} | steps ${last.steps} |\n|---|---|---|`;
  return [head, ...rows.map(([name, f]) => `| ${name} | ${f(first)} | ${f(last)} |`)].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.backend === 'webgpu') {
    const info = await W.initWebGPU();
    console.error(`WebGPU adapter: ${info.description || info.vendor || 'unknown'}`);
  }
  P.setBackend(flags.backend);
  try {
    const started = performance.now();
    const samples = await train(flags.backend, flags.steps, flags.batch, (s) => {
      if (s % 1000 === 0) console.error(`  step ${s}/${flags.steps} (${((performance.now() - started) / 1000).toFixed(0)} s): resident ${MiB(process.memoryUsage.rss())} MiB`);
    });
    const first = summarise(samples.slice(0, 100), 0);
    const last = summarise(samples.slice(-100), samples.length - 100);
    console.log(`MLP 784-200-100-10 tanh, Adam, batch ${flags.batch}, ${flags.steps} steps on ${flags.backend} (Node ${process.version})\n`);
    console.log(table(first, last, flags.backend));
    const growth = last.mean.rss - first.mean.rss;
    console.log(`\nresident set: ${growth >= 0 ? '+' : ''}${MiB(growth)} MiB from the first 100 steps to the last 100`);
    if (flags.json) {
      const tmp = `${flags.json}.tmp-${process.pid}`;
      writeFileSync(tmp, JSON.stringify({ ...flags, first, last }, null, 2) + '\n');
      renameSync(tmp, flags.json);
    }
  } finally {
    if (flags.backend === 'webgpu') W.shutdownWebGPU();
  }
}
