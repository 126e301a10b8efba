import type { DType } from '../../core/dtype.js';
import { noFloat64 } from './errors.js';

/**
 * Shared pieces of the WGSL kernels: element types, the binding declarations every kernel uses
 * (see dispatch.ts), 1-D launch grids that stay under the 65 535 workgroups-per-axis limit, bit
 * patterns of parameters, and coalescing of strided index maps so that kernels decode as few axes
 * as possible.
 */

/** Elements are 32-bit words: f32, i32, and bool as u32 (0 or 1). */
export type WgslType = 'f32' | 'i32' | 'u32';

export function wgslType(d: DType, where: string): WgslType {
  if (d === 'float64') throw noFloat64(where);
  return d === 'float32' ? 'f32' : d === 'int32' ? 'i32' : 'u32';
}

/** Invocations per workgroup of the 1-D kernels. */
export const WG = 64;

/** The binding declarations: `out` (read-write), `p` (u32 parameters), inputs `x0`, `x1`… */
export function bindings(out: WgslType, inputs: readonly WgslType[]): string {
  const lines = [
    `@group(0) @binding(0) var<storage, read_write> out: array<${out}>;`,
    '@group(0) @binding(1) var<storage, read> p: array<u32>;',
    ...inputs.map((t, i) => `@group(0) @binding(${2 + i}) var<storage, read> x${i}: array<${t}>;`),
  ];
  return lines.join('\n');
}

/**
 * A 1-D kernel over `n = p[0]` items: `body` runs with `i` in [0, n). Workgroups are laid out on
 * a 2-D grid (see {@link grid1D}).
 */
export function main1D(body: string, helpers = ''): string {
  return `${helpers}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lid;
  if (i >= p[0]) { return; }
${body}
}`;
}

/** The grid of workgroups covering `n` items, `wg` per workgroup (x ≤ 65 535, then rows in y). */
export function grid1D(n: number, wg = WG): [number, number, number] {
  const groups = Math.ceil(n / wg);
  if (groups === 0) return [0, 1, 1];
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x), 1];
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
