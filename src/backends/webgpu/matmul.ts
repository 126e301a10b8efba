import { sizeOf } from '../../core/shape.js';
import { type GpuKernel, launch } from './kernel.js';
import { bindings } from './wgsl.js';

/**
 * Batched float32 matmul [B, M, K] × [B, K, N] → [B, M, N], two kernels:
 *
 * - `register` (register tiling, no workgroup memory): each invocation accumulates a TM×TN block
 *   of C in registers (up to 8×8, smaller for thin matrices), reading A and B straight from the
 *   buffers, with the TN columns of one invocation strided by the workgroup width so that
 *   neighbouring invocations read neighbouring columns. On CPU implementations of WebGPU (lavapipe
 *   runs a workgroup as SIMD lanes of one CPU thread, and its barriers are expensive) this is 2–4×
 *   faster than the `workgroup` kernel below at 512², and ~10× faster than the textbook
 *   one-output-per-invocation tiling through workgroup memory.
 * - `workgroup` (classic shared-memory tiling): a 64×64 tile of C per workgroup of 16×16
 *   invocations, each a 4×4 block, with 64×16 slabs of A and B staged in workgroup memory. The
 *   usual choice on hardware GPUs.
 *
 * `auto` picks `register` on software adapters and `workgroup` on hardware ones. Out-of-range rows
 * and columns are clamped on load and masked on store, so any M, K, N work (K = 0 gives zeros).
 */
export type MatmulVariant = 'auto' | 'register' | 'workgroup';

let variant: MatmulVariant = 'auto';
/** Chooses the matmul kernel (tests run the laws with each). */
export function setMatmulVariant(v: MatmulVariant): void {
  variant = v;
}

/**
 * Long inner dimensions are summed in blocks. A plain float32 running sum loses every term smaller
 * than half an ulp of the total: 2^25 products of 1 summed one by one stop at 2^24, half the
 * answer. With K > KC1, the products are summed in chunks of KC1 (`part`), the chunk sums in
 * blocks of KC2 (`mid`), the block sums into `acc`, and the float32 error is at most about
 * (KC1 + KC2/KC1 + K/KC2)·ε·Σ|a·b| (ε = 2^-24): about 2100·ε ≈ 1.2e-4 of Σ|a·b| at K = 2^25, with
 * chunk sums of equal terms exact. K ≤ KC1 is one chunk: that kernel keeps the plain loop (same
 * rounding, no overhead; a plain sum of K terms is within K·ε·Σ|a·b|).
 */
const KC1 = 1024, KC2 = 2 ** 20;

/**
 * WGSL of the loop over k in [0, K) by `step` (a divisor of KC1) accumulating the tm×tn block
 * `acc`; `body(k, into)` adds the products at k into the block `into`. Accumulators are zeroed
 * with an explicit constructor: lavapipe does not re-zero a bare `var` declared in a loop body.
 */
function kLoop(blocked: boolean, step: number, tm: number, tn: number, body: (k: string, into: string) => string): string {
  const indent = (text: string, n: number) => text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');
  const block = `array<array<f32, ${tn}>, ${tm}>`;
  const addInto = (into: string, from: string) => `for (var i = 0u; i < ${tm}u; i++) { for (var j = 0u; j < ${tn}u; j++) { ${into}[i][j] += ${from}[i][j]; } }`;
  if (!blocked) return indent(`for (var k = 0u; k < K; k += ${step}u) {\n${indent(body('k', 'acc'), 2)}\n}`, 4);
  return indent(
    `for (var k2 = 0u; k2 < K; k2 += ${KC2}u) {
  let e2 = k2 + min(K - k2, ${KC2}u);
  var mid = ${block}();
  for (var k1 = k2; k1 < e2; k1 += ${KC1}u) {
    let e1 = k1 + min(e2 - k1, ${KC1}u);
    var part = ${block}();
    for (var k = k1; k < e1; k += ${step}u) {
${indent(body('k', 'part'), 6)}
    }
    ${addInto('mid', 'part')}
  }
  ${addInto('acc', 'mid')}
}`,
    4,
  );
}

// register tiling: TM rows × TN columns per invocation, WX × WY invocations per workgroup. TM and
// TN follow the matrix (up to 8 × 8, the fastest block on lavapipe at 512²) so that thin
// products do not compute a whole tile of clamped, discarded entries.
const WX = 16, WY = 4;
const pow2Upto8 = (x: number) => Math.min(8, 2 ** Math.max(0, Math.ceil(Math.log2(Math.max(1, x)))));

const registerWgsl = (TM: number, TN: number, blocked: boolean) => () => `${bindings('f32', ['f32', 'f32'])}
@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(local_invocation_id) l: vec3<u32>, @builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let batch = p[0]; let M = p[1]; let K = p[2]; let N = p[3];
  let row0 = (w.y * ${WY}u + l.y) * ${TM}u;
  let colb = w.x * ${WX * TN}u + l.x;
  for (var b = w.z; b < batch; b += nw.z) {
    let aoff = b * M * K;
    let boff = b * K * N;
    var rows: array<u32, ${TM}>;
    for (var i = 0u; i < ${TM}u; i++) { rows[i] = aoff + min(row0 + i, M - 1u) * K; }
    var cols: array<u32, ${TN}>;
    for (var j = 0u; j < ${TN}u; j++) { cols[j] = min(colb + j * ${WX}u, N - 1u); }
    var acc = array<array<f32, ${TN}>, ${TM}>(); // zeroed explicitly per batch (see kLoop)
${kLoop(blocked, 1, TM, TN, (k, into) => `let kn = boff + ${k} * N;
var bv: array<f32, ${TN}>;
for (var j = 0u; j < ${TN}u; j++) { bv[j] = x1[kn + cols[j]]; }
for (var i = 0u; i < ${TM}u; i++) {
  let av = x0[rows[i] + ${k}];
  for (var j = 0u; j < ${TN}u; j++) { ${into}[i][j] = fma(av, bv[j], ${into}[i][j]); }
}`)}
    let coff = b * M * N;
    for (var i = 0u; i < ${TM}u; i++) {
      for (var j = 0u; j < ${TN}u; j++) {
        let r = row0 + i;
        let c = colb + j * ${WX}u;
        if (r < M && c < N) { out[coff + r * N + c] = acc[i][j]; }
      }
    }
  }
}`;

// workgroup tiling: BM × BN tile of C, BK-deep slabs, 16 × 16 invocations with 4 × 4 each
const BM = 64, BN = 64, BK = 16;

const workgroupWgsl = (blocked: boolean) => () => `${bindings('f32', ['f32', 'f32'])}
var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<f32, ${BK * BN}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) l: vec3<u32>, @builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let batch = p[0]; let M = p[1]; let K = p[2]; let N = p[3];
  let tid = l.y * 16u + l.x;
  let row0 = w.y * ${BM}u;
  let col0 = w.x * ${BN}u;
  for (var b = w.z; b < batch; b += nw.z) {
    let aoff = b * M * K;
    let boff = b * K * N;
    var acc = array<array<f32, 4>, 4>(); // zeroed explicitly per batch (see kLoop)
${kLoop(blocked, BK, 4, 4, (k0, into) => `for (var e = tid; e < ${BM * BK}u; e += 256u) {
  let m = e / ${BK}u; let kk = e % ${BK}u;
  let r = row0 + m; let c = ${k0} + kk;
  As[kk * ${BM}u + m] = select(0.0, x0[aoff + min(r, M - 1u) * K + min(c, K - 1u)], r < M && c < K);
}
for (var e = tid; e < ${BK * BN}u; e += 256u) {
  let kk = e / ${BN}u; let n = e % ${BN}u;
  let r = ${k0} + kk; let c = col0 + n;
  Bs[kk * ${BN}u + n] = select(0.0, x1[boff + min(r, K - 1u) * N + min(c, N - 1u)], r < K && c < N);
}
workgroupBarrier();
for (var kk = 0u; kk < ${BK}u; kk++) {
  var av: array<f32, 4>;
  var bv: array<f32, 4>;
  for (var i = 0u; i < 4u; i++) { av[i] = As[kk * ${BM}u + l.y + i * 16u]; }
  for (var j = 0u; j < 4u; j++) { bv[j] = Bs[kk * ${BN}u + l.x + j * 16u]; }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) { ${into}[i][j] = fma(av[i], bv[j], ${into}[i][j]); }
  }
}
workgroupBarrier();`)}
    let coff = b * M * N;
    for (var i = 0u; i < 4u; i++) {
      for (var j = 0u; j < 4u; j++) {
        let r = row0 + l.y + i * 16u;
        let c = col0 + l.x + j * 16u;
        if (r < M && c < N) { out[coff + r * N + c] = acc[i][j]; }
      }
    }
  }
}`;

const matmulKernel: GpuKernel = (rt, [a, b], _p, [o]) => {
  const s = a!.shape;
  const m = s[s.length - 2]!;
  const k = s[s.length - 1]!;
  const n = b!.shape[b!.shape.length - 1]!;
  const batch = sizeOf(s.slice(0, -2));
  const v = variant === 'auto' ? (rt.info.software ? 'register' : 'workgroup') : variant;
  const tm = pow2Upto8(m / WY);
  const tn = pow2Upto8(n / WX);
  const [bm, bn] = v === 'register' ? [WY * tm, WX * tn] : [BM, BN];
  const blocked = k > KC1;
  const grid: [number, number, number] = m * n * batch === 0 ? [0, 1, 1] : [Math.ceil(n / bn), Math.ceil(m / bm), Math.min(batch, 65535)];
  return [
    launch(rt, o!, {
      key: `${v === 'register' ? `matmul:register:${tm}x${tn}` : 'matmul:workgroup'}${blocked ? ':blocked' : ''}`,
      wgsl: v === 'register' ? registerWgsl(tm, tn, blocked) : workgroupWgsl(blocked),
      inputs: [a!.storage, b!.storage],
      params: [batch, m, k, n],
      grid,
    }),
  ];
};

export const matmulKernels: Record<string, GpuKernel> = { matmul: matmulKernel };
