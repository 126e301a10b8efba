import { type Shape, sizeOf } from '../../core/shape.js';
import type { Aval } from '../../core/tensor.js';
import { type GpuInput, type GpuKernel, launch } from './kernel.js';
import { stridedGather } from './layout.js';
import type { Runtime } from './runtime.js';
import { bindings, grid1D, main1D } from './wgsl.js';

/**
 * Small-matrix linear algebra in WGSL, float32: one invocation per matrix of the batch (per
 * right-hand-side column for triangular_solve), running the CPU oracle's algorithms: Cholesky,
 * LU with partial pivoting (solve, det, slogdet) and cyclic Jacobi (eigh, eigenvalues ascending,
 * each eigenvector's largest entry positive). Meant for the small matrices of the summaries, not
 * for large dense solves.
 *
 * The GPU cannot throw: where the CPU raises a LinAlgError (a matrix that is not positive
 * definite, a singular system) the result is NaN (as JAX on accelerators). det and slogdet of a
 * singular matrix give 0 and (0, −∞) like the CPU. Kernels that need a workspace write a scratch
 * buffer (the factored matrices and their results) and the outputs are then sliced out of it.
 */

const NAN = `var<private> NAN_BITS: u32 = 0x7fc00000u;
var<private> INF_BITS: u32 = 0x7f800000u;
fn nan_() -> f32 { return bitcast<f32>(NAN_BITS); }
fn inf_() -> f32 { return bitcast<f32>(INF_BITS); }`;

/** Batch count and matrix size of an [..., n, n] shape. */
const dims = (s: Shape) => ({ n: s[s.length - 1]!, batch: sizeOf(s.slice(0, -2)) });

/** Runs a kernel writing a scratch buffer of `words` f32 per matrix, then slices each output out of it. */
function withScratch(
  rt: Runtime,
  key: string,
  wgsl: () => string,
  inputs: readonly GpuInput[],
  params: readonly number[],
  batch: number,
  block: number,
  outs: readonly { aval: Aval; shape: readonly number[]; strides: readonly number[]; base: number }[],
) {
  const scratch = rt.pool.acquire(Math.max(4, batch * block * 4));
  rt.dispatcher.run({ key, wgsl, out: scratch, inputs: inputs.map((x) => x.storage), params, grid: grid1D(batch) });
  const src: GpuInput = { storage: scratch, shape: [batch * block], dtype: 'float32', host: null };
  const results = outs.map((o) => stridedGather(rt, src, o.aval, o.shape, o.strides, o.base));
  rt.pool.release(scratch); // later users of the buffer are ordered after these kernels
  return results;
}

const choleskyKernel: GpuKernel = (rt, [a], _p, [o]) => {
  const { n, batch } = dims(a!.shape);
  const body = `  let n = p[1];
  let b = i * n * n;
  var failed = false;
  for (var r = 0u; r < n; r++) { for (var c = r + 1u; c < n; c++) { out[b + r * n + c] = 0.0; } }
  for (var j = 0u; j < n; j++) {
    var d = x0[b + j * n + j];
    for (var k = 0u; k < j; k++) { let l = out[b + j * n + k]; d -= l * l; }
    if (!(d > 0.0)) { failed = true; break; }
    let ljj = sqrt(d);
    out[b + j * n + j] = ljj;
    for (var r = j + 1u; r < n; r++) {
      var s = x0[b + r * n + j];
      for (var k = 0u; k < j; k++) { s -= out[b + r * n + k] * out[b + j * n + k]; }
      out[b + r * n + j] = s / ljj;
    }
  }
  if (failed) { for (var e = 0u; e < n * n; e++) { out[b + e] = nan_(); } }`;
  return [launch(rt, o!, { key: 'cholesky', wgsl: () => `${bindings('f32', ['f32'])}\n${main1D(body, NAN)}`, inputs: [a!.storage], params: [batch, n], grid: grid1D(batch) })];
};

const triangularSolveKernel: GpuKernel = (rt, [a, b], { lower, transposeA }: { lower: boolean; transposeA: boolean }, [o]) => {
  const { n, batch } = dims(a!.shape);
  const k = b!.shape[b!.shape.length - 1]!;
  const at = (r: string, c: string) => (transposeA ? `x0[ab + (${c}) * n + (${r})]` : `x0[ab + (${r}) * n + (${c})]`);
  // op(A) is lower triangular iff lower XOR transposeA
  const effLower = lower !== transposeA;
  const body = `  let n = p[1];
  let k = p[2];
  let t = i / k;
  let c = i % k;
  let ab = t * n * n;
  let bb = t * n * k;
  for (var s = 0u; s < n; s++) {
    let r = ${effLower ? 's' : 'n - 1u - s'};
    var v = x1[bb + r * k + c];
    for (var j = ${effLower ? '0u' : 'r + 1u'}; j < ${effLower ? 'r' : 'n'}; j++) { v -= ${at('r', 'j')} * out[bb + j * k + c]; }
    out[bb + r * k + c] = v / ${at('r', 'r')};
  }`;
  return [
    launch(rt, o!, {
      key: `triangular_solve:${effLower}:${transposeA}`,
      wgsl: () => `${bindings('f32', ['f32', 'f32'])}\n${main1D(body)}`,
      inputs: [a!.storage, b!.storage],
      params: [batch * k, n, k],
      grid: grid1D(batch * k),
    }),
  ];
};

/**
 * LU with partial pivoting of [A | B] (n × (n+k), row-major in the block at `b`), eliminating
 * the B columns along, then back substitution into them. A pivot counts as zero when
 * |p| ≤ n·ε·max|A| (as the CPU); the flag `singular` is set then. Afterwards `sign` is the
 * permutation's parity.
 */
const LU = `  let n = p[1];
  let k = p[2];
  let w = n + k;
  let b = i * p[3];
  for (var r = 0u; r < n; r++) {
    for (var c = 0u; c < n; c++) { out[b + r * w + c] = x0[i * n * n + r * n + c]; }
    for (var c = 0u; c < k; c++) { out[b + r * w + n + c] = RHS; }
  }
  var scale = 0.0;
  for (var e = 0u; e < n * n; e++) { scale = max(scale, abs(x0[i * n * n + e])); }
  let tiny = f32(n) * 1.1920929e-7 * scale;
  var sign = 1.0;
  var singular = false;
  for (var c = 0u; c < n; c++) {
    var piv = c;
    var best = abs(out[b + c * w + c]);
    for (var r = c + 1u; r < n; r++) { let v = abs(out[b + r * w + c]); if (v > best) { best = v; piv = r; } }
    if (!(best > tiny)) { singular = true; break; }
    if (piv != c) {
      for (var j = 0u; j < w; j++) { let tmp = out[b + c * w + j]; out[b + c * w + j] = out[b + piv * w + j]; out[b + piv * w + j] = tmp; }
      sign = -sign;
    }
    let pv = out[b + c * w + c];
    for (var r = c + 1u; r < n; r++) {
      let f = out[b + r * w + c] / pv;
      out[b + r * w + c] = f;
      if (f != 0.0) { for (var j = c + 1u; j < w; j++) { out[b + r * w + j] -= f * out[b + c * w + j]; } }
    }
  }`;

const solveKernel: GpuKernel = (rt, [a, rhs], _p, [o]) => {
  const { n, batch } = dims(a!.shape);
  const k = rhs!.shape[rhs!.shape.length - 1]!;
  const block = n * (n + k);
  const body = `${LU.replace('RHS', 'x1[i * n * k + r * k + c]')}
  for (var c = 0u; c < k; c++) {
    for (var s = 0u; s < n; s++) {
      let r = n - 1u - s;
      var v = out[b + r * w + n + c];
      for (var j = r + 1u; j < n; j++) { v -= out[b + r * w + j] * out[b + j * w + n + c]; }
      out[b + r * w + n + c] = select(v / out[b + r * w + r], nan_(), singular);
    }
  }`;
  return withScratch(rt, 'solve', () => `${bindings('f32', ['f32', 'f32'])}\n${main1D(body, NAN)}`, [a!, rhs!], [batch, n, k, block], batch, block, [
    { aval: o!, shape: [batch, n, k], strides: [block, n + k, 1], base: n },
  ]);
};

/** det (mode 0) or slogdet (mode 1) from the LU: results after the factored matrix in each block. */
function determinant(slog: boolean): GpuKernel {
  return (rt, [a], _p, outs) => {
    const { n, batch } = dims(a!.shape);
    const block = n * n + 2;
    const body = `${LU.replace('RHS', '0.0')}
  let tail = b + n * n;
  if (singular) {
    out[tail] = 0.0;
    out[tail + 1u] = -inf_();
    return;
  }
  var d = sign;
  var logAbs = 0.0;
  for (var r = 0u; r < n; r++) {
    let v = out[b + r * w + r];
    d *= v;
    if (v < 0.0) { sign = -sign; }
    logAbs += log(abs(v));
  }
  out[tail] = ${slog ? 'sign' : 'd'};
  out[tail + 1u] = logAbs;`;
    const wgsl = () => `${bindings('f32', ['f32'])}\n${main1D(body, NAN)}`;
    const part = (aval: Aval, at: number) => ({ aval, shape: [batch], strides: [block], base: n * n + at });
    return withScratch(rt, slog ? 'slogdet' : 'det', wgsl, [a!], [batch, n, 0, block], batch, block, slog ? [part(outs[0]!, 0), part(outs[1]!, 1)] : [part(outs[0]!, 0)]);
  };
}

/**
 * Cyclic Jacobi on M = (A + Aᵀ)/2 with V accumulating the rotations, until the off-diagonal mass
 * falls below 1e-12 of the total (float32 reaches about that) or 60 sweeps; then the eigenvalues are
 * sorted ascending (selection sort, first minimum first, as the CPU's stable sort) and each
 * eigenvector's first largest-magnitude entry made positive. Block: [M | V | w | Vsorted].
 */
const eighKernel: GpuKernel = (rt, [a], _p, [wAval, vAval]) => {
  const { n, batch } = dims(a!.shape);
  const nn = n * n;
  const block = 3 * nn + n;
  const body = `  let n = p[1];
  let b = i * p[2];
  let vb = b + n * n;
  let wb = vb + n * n;
  let sb = wb + n;
  let ab = i * n * n;
  var total = 0.0;
  for (var r = 0u; r < n; r++) {
    for (var c = 0u; c < n; c++) {
      let m = 0.5 * (x0[ab + r * n + c] + x0[ab + c * n + r]);
      out[b + r * n + c] = m;
      out[vb + r * n + c] = select(0.0, 1.0, r == c);
      total += m * m;
    }
  }
  for (var sweep = 0u; sweep < 60u; sweep++) {
    var off = 0.0;
    for (var r = 0u; r < n; r++) { for (var c = r + 1u; c < n; c++) { let m = out[b + r * n + c]; off += m * m; } }
    if (off <= 1e-12 * total || off == 0.0) { break; }
    for (var pp = 0u; pp < n; pp++) {
      for (var q = pp + 1u; q < n; q++) {
        let apq = out[b + pp * n + q];
        if (apq == 0.0) { continue; }
        let theta = (out[b + q * n + q] - out[b + pp * n + pp]) / (2.0 * apq);
        let sg = select(-1.0, 1.0, theta >= 0.0);
        let tn = sg / (abs(theta) + sqrt(theta * theta + 1.0));
        let cs = 1.0 / sqrt(tn * tn + 1.0);
        let sn = tn * cs;
        for (var k = 0u; k < n; k++) {
          let mkp = out[b + k * n + pp];
          let mkq = out[b + k * n + q];
          out[b + k * n + pp] = cs * mkp - sn * mkq;
          out[b + k * n + q] = sn * mkp + cs * mkq;
        }
        for (var k = 0u; k < n; k++) {
          let mpk = out[b + pp * n + k];
          let mqk = out[b + q * n + k];
          out[b + pp * n + k] = cs * mpk - sn * mqk;
          out[b + q * n + k] = sn * mpk + cs * mqk;
        }
        out[b + pp * n + q] = 0.0;
        out[b + q * n + pp] = 0.0;
        for (var k = 0u; k < n; k++) {
          let vkp = out[vb + k * n + pp];
          let vkq = out[vb + k * n + q];
          out[vb + k * n + pp] = cs * vkp - sn * vkq;
          out[vb + k * n + q] = sn * vkp + cs * vkq;
        }
      }
    }
  }
  for (var dst = 0u; dst < n; dst++) {
    var src = 0u;
    var best = inf_();
    for (var r = 0u; r < n; r++) { let v = out[b + r * n + r]; if (v < best) { best = v; src = r; } }
    out[wb + dst] = best;
    out[b + src * n + src] = inf_();
    var big = 0u;
    for (var k = 1u; k < n; k++) { if (abs(out[vb + k * n + src]) > abs(out[vb + big * n + src])) { big = k; } }
    let flip = select(1.0, -1.0, out[vb + big * n + src] < 0.0);
    for (var k = 0u; k < n; k++) { out[sb + k * n + dst] = flip * out[vb + k * n + src]; }
  }`;
  return withScratch(rt, 'eigh', () => `${bindings('f32', ['f32'])}\n${main1D(body, NAN)}`, [a!], [batch, n, block], batch, block, [
    { aval: wAval!, shape: [batch, n], strides: [block, 1], base: 2 * nn },
    { aval: vAval!, shape: [batch, n, n], strides: [block, n, 1], base: 2 * nn + n },
  ]);
};

export const linalgKernels: Record<string, GpuKernel> = {
  cholesky: choleskyKernel,
  triangular_solve: triangularSolveKernel,
  solve: solveKernel,
  det: determinant(false),
  slogdet: determinant(true),
  eigh: eighKernel,
};
