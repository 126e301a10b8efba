/**
 * The arithmetic ceiling under the fwd+bwd targets (issue 10): what WebAssembly's 128-bit SIMD can
 * do on this core, how much of it partax's GEMM gets at the shapes of the MLP's step, and what
 * PyTorch's BLAS gets at the same shapes, all on one thread in one run, interleaved.
 *
 * - The SIMD128 peaks: a wasm loop of 6 independent f32x4 multiply chains and 6 independent add
 *   chains (a GEMM inner loop's mix of multiplies and adds, without its loads), 4 flops an
 *   instruction; and, where the engine has relaxed SIMD, 12 chains of fused multiply-adds
 *   (f32x4.relaxed_madd), 8 flops an instruction. OpenBLAS's 256-bit fused multiply-adds do
 *   twice the fused loop's work per instruction.
 * - partax's GEMM (cpu-wasm, eager, one thread) and `torch.mm` at the fwd+bwd's two large products
 *   at batch 1000 (x·W₁ [1000×784]·[784×200] and xᵀ·δ₁ [784×1000]·[1000×200], A read transposed)
 *   and at 1024²; GFLOP/s from the medians, partax's as a share of the peak of the loop its
 *   kernels use (fused where they use relaxed SIMD).
 * - The floor of fwd+bwd at batch 1000 / PyTorch: the step's 753 MFLOP of products at that peak
 *   with nothing else costing time, over PyTorch's measured step (from the fwd+bwd row).
 */
import * as P from '../../src/index.js';
import { getKernels, relaxedSimdAvailable } from '../../src/backends/wasm/kernels.js';
import { ModuleBuilder } from '../../src/backends/wasm/module-builder.js';
import { interleave, local, scaledErr, type Contender, type TimeOptions } from '../harness.js';
import { remote, type TorchPeer } from '../peers/torch.js';

/** Chains of each kind in the mul+add peak loop (6 multiply, 6 add: 12 of the 15 xmm registers wasm gets on x64). */
const CHAINS = 6;
/** Chains of the fused peak loop (12 fused multiply-adds). */
const FMA_CHAINS = 12;
/** Iterations of a peak loop per call. */
const PEAK_ITERS = 2_000_000;
/** Flops per call of a peak loop: 12 instructions of 4 lanes per iteration, 1 flop a lane (mul, add) or 2 (fused). */
export const peakFlops = (kind: PeakKind): number => PEAK_ITERS * 12 * 4 * (kind === 'fma' ? 2 : 1);

/** The two peak loops: separate multiplies and adds, or relaxed-SIMD fused multiply-adds. */
export type PeakKind = 'mul+add' | 'fma';

/**
 * A peak loop, compiled: peak(iters, m, a) runs its chains and returns a lane of their sum (so
 * nothing is dead code). 'mul+add': CHAINS chains x ← x·m and CHAINS chains y ← y + a; 'fma':
 * FMA_CHAINS chains x ← x·m + a (f32x4.relaxed_madd; null where the engine has no relaxed SIMD).
 */
export function simdPeakKernel(kind: PeakKind): ((iters: number, m: number, a: number) => number) | null {
  if (kind === 'fma' && !relaxedSimdAvailable()) return null;
  const mod = new ModuleBuilder({ initialPages: 1, maximumPages: 1, shared: false }).func('peak', ['i32', 'f32', 'f32'], ['f32'], (f) => {
    const [iters, mScalar, aScalar] = [f.param(0), f.param(1), f.param(2)];
    const i = f.local('i32');
    const m = f.local('v128');
    const a = f.local('v128');
    const chains = Array.from({ length: kind === 'fma' ? FMA_CHAINS : 2 * CHAINS }, () => f.local('v128'));
    f.get(mScalar).op('f32x4.splat').set(m);
    f.get(aScalar).op('f32x4.splat').set(a);
    for (const x of chains) f.get(m).set(x);
    f.for(i, () => f.i32(0), iters, 1, () => {
      chains.forEach((x, c) => {
        if (kind === 'fma') f.get(x).get(m).get(a).op('f32x4.relaxed_madd').set(x);
        else if (c < CHAINS) f.get(x).get(m).op('f32x4.mul').set(x);
        else f.get(x).get(a).op('f32x4.add').set(x);
      });
    });
    f.get(chains[0]!);
    for (const x of chains.slice(1)) f.get(x).op('f32x4.add');
    f.extractLane('f32x4', 0);
  });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(mod.bytes() as BufferSource), { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1 }) } });
  return instance.exports['peak'] as (iters: number, m: number, a: number) => number;
}

/** The bench's deterministic matrix (as bench/peers/torch_peer.py's formula_matrix): entry i from `offset` = ((i·2654435761) mod 1000)/1000 − 0.5. */
export function formulaMatrix(rows: number, cols: number, offset: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let j = 0; j < out.length; j++) out[j] = (((j + offset) * 2654435761) % 1000) / 1000 - 0.5;
  return out;
}

/** One product of the ceiling: C = op(A)·B, A stored transposed when `transA`. */
interface Product {
  readonly name: string;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly transA: boolean;
}

const PRODUCTS: readonly Product[] = [
  { name: 'x·W₁, batch 1000 (1000×784·784×200)', m: 1000, k: 784, n: 200, transA: false },
  { name: 'xᵀ·δ₁, batch 1000 (784×1000·1000×200, A transposed)', m: 784, k: 1000, n: 200, transA: true },
  { name: '1024²', m: 1024, k: 1024, n: 1024, transA: false },
];

/** Multiply-adds of the MLP 784-200-100-10's fwd+bwd (no cotangent of x) per example: 2 per weight in the products, plus the backward's products into the hidden layers. */
export const FWD_BWD_MACS_PER_EXAMPLE = 2 * (784 * 200 + 200 * 100 + 100 * 10) + (200 * 100 + 100 * 10);

/** A row of the ceiling table. */
export interface CeilingRow {
  readonly what: string;
  readonly value: string;
  readonly note: string;
}

const gflops = (flops: number, ms: number) => flops / ms / 1e6;

/**
 * Measures the ceiling rows; `torchStepMs` is PyTorch's fwd+bwd at batch 1000 (the targets' row),
 * for the floor. `peer` is the PyTorch peer, or why it is absent.
 */
export async function benchCeiling(peer: TorchPeer | string, timing: TimeOptions, torchStepMs: number | undefined): Promise<CeilingRow[]> {
  const fma = getKernels().fma;
  const kinds: PeakKind[] = relaxedSimdAvailable() ? ['mul+add', 'fma'] : ['mul+add'];
  const contenders: Contender[] = kinds.map((kind) => {
    const peak = simdPeakKernel(kind)!;
    return local(`peak ${kind}`, () => peak(PEAK_ITERS, 1, 0));
  });
  const errs: string[] = [];
  for (const [i, p] of PRODUCTS.entries()) {
    const aBuf = p.transA ? formulaMatrix(p.k, p.m, 0) : formulaMatrix(p.m, p.k, 0);
    const a = p.transA ? P.transpose(P.fromBuffer(aBuf, 'float32', [p.k, p.m])) : P.fromBuffer(aBuf, 'float32', [p.m, p.k]);
    const b = P.fromBuffer(formulaMatrix(p.k, p.n, p.m * p.k), 'float32', [p.k, p.n]);
    const ours = P.matmul(a, b).dataSync() as Float32Array;
    contenders.push(local(`partax ${p.name}`, () => P.matmul(a, b).dataSync()));
    if (typeof peer !== 'string') {
      const id = `mm${i}`;
      await peer.request({ op: 'setup', id, case: 'mm', m: p.m, k: p.k, n: p.n, trans_a: p.transA });
      const theirs = (await peer.request<{ c: number[] }>({ op: 'result', id })).c;
      errs.push(`${p.name}: ${scaledErr(theirs, ours).toExponential(1)}`);
      contenders.push(remote(peer, `torch ${p.name}`, id));
    }
  }
  const t = await interleave(contenders, timing);
  const byName = new Map(t.map((x) => [x.name, x.medianMs]));
  const peaks = new Map(kinds.map((k) => [k, gflops(peakFlops(k), byName.get(`peak ${k}`)!)]));
  const rows: CeilingRow[] = kinds.map((k) => ({
    what: `wasm SIMD128 peak, ${k === 'fma' ? 'fused multiply-add (relaxed SIMD)' : 'f32x4 mul + add'} (no loads)`,
    value: `${peaks.get(k)!.toFixed(1)} GFLOP/s`,
    note: `${byName.get(`peak ${k}`)!.toFixed(2)} ms for ${(peakFlops(k) / 1e6).toFixed(0)} MFLOP`,
  }));
  const peakGf = peaks.get(fma ? 'fma' : 'mul+add')!;
  const peakName = fma ? 'fused peak' : 'mul + add peak';
  for (const p of PRODUCTS) {
    const flops = 2 * p.m * p.k * p.n;
    const ours = gflops(flops, byName.get(`partax ${p.name}`)!);
    rows.push({ what: `partax GEMM ${p.name} (${fma ? 'fused' : 'mul + add'})`, value: `${ours.toFixed(1)} GFLOP/s`, note: `${((100 * ours) / peakGf).toFixed(0)}% of the ${peakName}` });
    const ms = byName.get(`torch ${p.name}`);
    if (ms !== undefined) {
      const theirs = gflops(flops, ms);
      rows.push({ what: `torch.mm ${p.name}`, value: `${theirs.toFixed(1)} GFLOP/s`, note: `${(theirs / peakGf).toFixed(2)}× the ${peakName}; partax / torch time ${(theirs / ours).toFixed(2)}×` });
    }
  }
  if (torchStepMs !== undefined) {
    const floorMs = (2 * FWD_BWD_MACS_PER_EXAMPLE * 1000) / peakGf / 1e6;
    rows.push({
      what: 'floor of fwd+bwd batch 1000 / PyTorch',
      value: `${(floorMs / torchStepMs).toFixed(2)}×`,
      note: `its ${((2 * FWD_BWD_MACS_PER_EXAMPLE * 1000) / 1e6).toFixed(0)} MFLOP of products at the ${peakName} (${floorMs.toFixed(1)} ms), nothing else costing time, over PyTorch's ${torchStepMs.toFixed(1)} ms`,
    });
  }
  if (errs.length) rows.push({ what: 'torch.mm vs partax (scaled error)', value: '', note: errs.join('; ') });
  if (typeof peer !== 'string') for (let i = 0; i < PRODUCTS.length; i++) await peer.request({ op: 'drop', id: `mm${i}` });
  return rows;
}

/** The ceiling rows as a markdown table. */
export function ceilingMarkdown(rows: readonly CeilingRow[]): string {
  return ['| measure | value | note |', '| --- | ---: | --- |', ...rows.map((r) => `| ${r.what} | ${r.value} | ${r.note} |`)].join('\n');
}
