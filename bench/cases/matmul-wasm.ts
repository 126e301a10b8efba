/**
 * Case: matmul C = A·B (2n³ flops) on partax's CPU backend against cpu-wasm on 1 and 2 threads,
 * float32 at 256², 512², 1024², 2048² and float64 at 512², with @jax-js/jax (wasm) beside them
 * for scale. Runs on its own:
 *
 *     node --import tsx bench/cases/matmul-wasm.ts [--quick] [--no-peer] [--cpu-2048]
 *
 * The plain CPU backend is skipped at 2048² unless --cpu-2048 (one run takes ~30 s). GFLOP/s is
 * from the median wall time; "cpu ms" is the process CPU time per run (all threads), which on a
 * busy machine is the steadier single-thread figure, so a second table gives GFLOP/s per CPU
 * second for the single-threaded rows. `benchMatmulWasm` returns the rows for bench/run.ts.
 */
import { cpus } from 'node:os';
import * as P from '../../src/index.js';
import { setWasmThreads, wasmThreads } from '../../src/backends/wasm/index.js';
import { getKernels } from '../../src/backends/wasm/kernels.js';
import { scaledErr, time, uniform, type Runner, type TimeOptions } from '../harness.js';
import { markdownTable, textTable, type Row } from '../report.js';

type Dt = 'float32' | 'float64';

/** One way to run the product: a name, and a runner factory for inputs of side `n`. */
interface Variant {
  readonly name: string;
  readonly dtypes: readonly Dt[];
  prepare(a: Float32Array | Float64Array, b: Float32Array | Float64Array, n: number, dtype: Dt): Runner<Float32Array | Float64Array>;
}

/** partax on `backend` with `threads` cpu-wasm threads. */
function partax(backend: 'cpu' | 'cpu-wasm', threads: number): Variant {
  return {
    name: backend === 'cpu' ? 'partax (cpu)' : `partax (cpu-wasm, ${threads} thread${threads > 1 ? 's' : ''})`,
    dtypes: ['float32', 'float64'],
    prepare(a, b, n, dtype) {
      P.setBackend(backend);
      setWasmThreads(threads);
      const ta = P.fromBuffer(a.slice(), dtype, [n, n]);
      const tb = P.fromBuffer(b.slice(), dtype, [n, n]);
      return {
        run: () => {
          P.setBackend(backend);
          setWasmThreads(threads);
          return P.matmul(ta, tb).dataSync() as Float32Array | Float64Array;
        },
      };
    },
  };
}

/** @jax-js/jax on its wasm device (single-threaded in Node), float32 only; null when it cannot load. */
async function jaxjsWasm(): Promise<Variant | null> {
  try {
    const { jaxjs } = await import('../peers/jaxjs.js');
    const impl = jaxjs('wasm', false);
    await impl.activate?.();
    return {
      name: impl.name,
      dtypes: ['float32'],
      prepare: (a, b, n) => impl.matmul(a as Float32Array, b as Float32Array, n),
    };
  } catch (e) {
    console.error(`matmul-wasm: @jax-js/jax unavailable (${e instanceof Error ? e.message : String(e)}); skipped`);
    return null;
  }
}

/** Options of {@link benchMatmulWasm}. */
export interface MatmulWasmOptions {
  readonly timing: TimeOptions;
  /** [side, dtype] cases, in order. */
  readonly cases?: readonly (readonly [number, Dt])[];
  /** Include @jax-js/jax (wasm) for scale (default true). */
  readonly peer?: boolean;
  /** Time the plain CPU backend at sides ≥ 2048 too (default false: ~30 s a run). */
  readonly cpuLarge?: boolean;
}

export const DEFAULT_CASES: readonly (readonly [number, Dt])[] = [
  [256, 'float32'],
  [512, 'float32'],
  [1024, 'float32'],
  [2048, 'float32'],
  [512, 'float64'],
];

/** Times every variant on every case; the reference of a case is partax (cpu) where it ran, else the first variant. */
export async function benchMatmulWasm(opts: MatmulWasmOptions): Promise<Row[]> {
  const before = { backend: P.defaultBackend(), threads: wasmThreads() };
  // The plain CPU backend runs last: its garbage keeps V8's concurrent GC threads busy for a while,
  // which would count in the next variant's CPU time.
  const variants: Variant[] = [partax('cpu-wasm', 1), partax('cpu-wasm', 2)];
  if (opts.peer !== false) {
    const j = await jaxjsWasm();
    if (j) variants.push(j);
  }
  variants.push(partax('cpu', 1));
  const rows: Row[] = [];
  try {
    for (const [n, dtype] of opts.cases ?? DEFAULT_CASES) {
      const f32a = uniform(11 + n, n * n);
      const f32b = uniform(12 + n, n * n);
      const a = dtype === 'float32' ? f32a : Float64Array.from(f32a);
      const b = dtype === 'float32' ? f32b : Float64Array.from(f32b);
      const flops = 2 * n ** 3;
      const label = `matmul ${n}×${n} ${dtype === 'float32' ? 'f32' : 'f64'}`;
      const done: { name: string; t?: Awaited<ReturnType<typeof time<Float32Array | Float64Array>>>; failed?: string }[] = [];
      for (const v of variants) {
        if (!v.dtypes.includes(dtype)) continue;
        if (v.name === 'partax (cpu)' && n >= 2048 && !opts.cpuLarge) continue;
        await new Promise((r) => setTimeout(r, 300)); // let the previous variant's GC settle
        try {
          done.push({ name: v.name, t: await time(v.prepare(a, b, n, dtype), opts.timing) });
        } catch (e) {
          done.push({ name: v.name, failed: e instanceof Error ? e.message : String(e) });
        }
        console.error(`  done: ${label} ${v.name}`);
      }
      // reference: the CPU oracle where it ran, else the first variant; rows in that order
      const ok = done.filter((d) => d.t !== undefined);
      const ref = ok.find((d) => d.name === 'partax (cpu)') ?? ok[0];
      for (const d of ref ? [ref, ...done.filter((x) => x !== ref)] : done) {
        if (d.t === undefined) rows.push({ case: label, impl: d.name, failed: d.failed ?? 'no result' });
        else {
          const t = d.t;
          rows.push({ case: label, impl: d.name, ms: t.medianMs, cpuMs: t.cpuMs, reps: t.reps, gflops: flops / (t.medianMs * 1e6), ratio: t.medianMs / ref!.t!.medianMs, err: scaledErr(t.result, ref!.t!.result) });
        }
      }
    }
  } finally {
    P.setBackend(before.backend);
    setWasmThreads(before.threads);
  }
  return rows;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const timing: TimeOptions = quick ? { warmup: 1, minReps: 3, maxReps: 5, budgetMs: 1000 } : { warmup: 2, minReps: 5, maxReps: 30, budgetMs: 3000 };
  const ks = getKernels();
  console.log(`partax matmul: cpu vs cpu-wasm — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`);
  console.log(`cpu-wasm: f32 ${ks.gemm.float32.mr}×${ks.gemm.float32.nr} tiles, f64 ${ks.gemm.float64.mr}×${ks.gemm.float64.nr}, relaxed-SIMD FMA ${ks.fma ? 'on' : 'off'}\n`);
  const rows = await benchMatmulWasm({ timing, peer: !args.includes('--no-peer'), cpuLarge: args.includes('--cpu-2048') });
  console.log(textTable(rows));
  console.log('\nGFLOP/s per CPU second (single-threaded rows; less sensitive to other load on the machine):');
  for (const r of rows) {
    const single = !r.impl.includes('2 threads');
    if (r.failed === undefined && single) {
      const n = Number(/(\d+)×/.exec(r.case)![1]);
      console.log(`  ${r.case.padEnd(20)} ${r.impl.padEnd(34)} ${((2 * n ** 3) / (r.cpuMs! * 1e6)).toFixed(2)}`);
    }
  }
  console.log('\nMarkdown:\n');
  console.log(markdownTable(rows));
  console.log('\n(time / partax: time over the first row of the case, partax (cpu), or cpu-wasm on 1 thread where cpu is skipped.)');
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('matmul-wasm.ts')) {
  await main();
  process.exit(0);
}
