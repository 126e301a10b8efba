import type { DType } from '../../core/dtype.js';
import { noFloat64 } from './errors.js';

/**
 * Shared pieces of the WGSL kernels: element types, the binding declarations every kernel uses
 * (see dispatch.ts), 1-D kernels and launch grids that stay under the 65 535 workgroups-per-axis limit, bit
 * patterns of parameters, and coalescing of strided index maps so that kernels decode as few axes
 * as possible.
 */

/** Elements are 32-bit words: f32, i32, and bool as u32 (0 or 1). */
export type WgslType = 'f32' | 'i32' | 'u32';

export function wgslType(d: DType, where: string): WgslType {
  if (d === 'float64') throw noFloat64(where);
  return d === 'float32' ? 'f32' : d === 'int32' ? 'i32' : 'u32';
}

/**
 * WGSL testing whether the f32 `v` is NaN by its bits. WGSL lets compilers assume finite math, and
 * they do fold `v != v` to false for a computed v (lavapipe does in jit's fused kernels, where the
 * NaN never went through memory), so every NaN test goes through the bit pattern.
 */
export const isNaNExpr = (v: string): string => `((bitcast<u32>(${v}) & 0x7fffffffu) > 0x7f800000u)`;

/** Invocations per workgroup of the 1-D kernels. */
export const WG = 64;

/** Storage buffers a kernel may bind besides its output (WebGPU's default limit is 8 per stage). */
export const MAX_INPUTS = 7;

/**
 * The binding declarations (one buffer per bind group, see dispatch.ts): the parameters `p`
 * (u32 words) when `params`, then `out` (read-write), then the inputs `x0`, `x1`…. A kernel
 * without parameters and with more than 3 inputs (jit's fused kernels) packs its inputs into one
 * bind group instead: `out` in group 0, input k at binding k of group 1.
 */
export function bindings(out: WgslType, inputs: readonly WgslType[], params = true): string {
  let g = 0;
  const lines: string[] = [];
  if (params) lines.push(`@group(${g++}) @binding(0) var<storage, read> p: array<u32>;`);
  lines.push(`@group(${g++}) @binding(0) var<storage, read_write> out: array<${out}>;`);
  const packed = packsInputs(inputs.length, params);
  inputs.forEach((t, i) => lines.push(`@group(${packed ? g : g++}) @binding(${packed ? i : 0}) var<storage, read> x${i}: array<${t}>;`));
  return lines.join('\n');
}

/** Whether a kernel's inputs share one bind group (see {@link bindings}): more than fit one per group. */
export const packsInputs = (nInputs: number, params: boolean): boolean => !params && nInputs > 3;

/**
 * A 1-D kernel: `body` runs for each `i` below `p[0]` (kernels with parameters) or below the
 * output buffer's length (kernels without: elementwise ones, which then also compute the pool's
 * slack elements past the tensor; harmless, and it spares a parameter buffer and its binding),
 * or below a number baked into the source (jit's fused kernels, generated per shape). Workgroups are laid out on a 2-D grid (see {@link grid1D}).
 */
export function main1D(body: string, helpers = '', bound: 'params' | 'out' | number = 'params'): string {
  return `${helpers}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  if (i >= ${bound === 'params' ? 'p[0]' : bound === 'out' ? 'arrayLength(&out)' : `${bound}u`}) { return; }
${body}
}`;
}

/**
 * The grid of workgroups covering `n` items, `wg` per workgroup: x ≤ 65 535 and rows in y, with
 * x·y as close to the number of workgroups as possible (kernels bounded by their output buffer
 * run every invocation of the grid that falls inside it).
 */
export function grid1D(n: number, wg = WG): [number, number, number] {
  const groups = Math.ceil(n / wg);
  if (groups === 0) return [0, 1, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y, 1];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The u32 word holding `v` as an element of `dtype` (f32 bits, i32 two's complement, bool 0/1). */
export function wordOf(v: number, dtype: DType): number {
  if (dtype === 'float32') {
    f32[0] = v;
    return u32[0]!;
  }
  if (dtype === 'bool') return v ? 1 : 0;
  return v | 0;
}

/**
 * Simplifies a strided index map over `shape`: drops axes of size 1 and merges neighbours that
 * are contiguous in every stride list (stride[d] = stride[d+1]·shape[d+1]). The element order is
 * unchanged, so a kernel decoding the coalesced shape visits the same offsets with fewer axes.
 */
export function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const s: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = s.length - 1;
    if (last >= 0 && strides.every((list, k) => st[k]![last] === list[d]! * shape[d]!)) {
      s[last] = s[last]! * shape[d]!;
      strides.forEach((list, k) => (st[k]![last] = list[d]!));
    } else {
      s.push(shape[d]!);
      strides.forEach((list, k) => st[k]!.push(list[d]!));
    }
  }
  return { shape: s, strides: st };
}

/**
 * WGSL that decodes the flat index `idx` over the shape at `p[shapeAt…]` (rank `rank`) and adds
 * coordinate·stride, with the strides at `p[strideAt…]`, to the variable `acc`.
 */
export function decode(idx: string, rank: number, shapeAt: number, strideAt: number, acc: string): string {
  if (rank === 0) return '';
  return `  {
    var rem = ${idx};
    for (var d = ${rank}u; d > 0u; d--) {
      let s = p[${shapeAt}u + d - 1u];
      ${acc} += (rem % s) * p[${strideAt}u + d - 1u];
      rem = rem / s;
    }
  }`;
}
