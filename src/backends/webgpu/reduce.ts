import { sizeOf, stridesOf } from '../../core/shape.js';
import { type GpuKernel, launch } from './kernel.js';
import { bindings, coalesce, decode, grid1D, isNaNExpr, main1D, WG, wordOf, wgslType, type WgslType } from './wgsl.js';

/**
 * Reductions over a set of axes, and argmax/argmin along one axis. The kept axes and the reduced
 * axes are each coalesced, so most reductions decode one or two axes per element.
 *
 * Two layouts: one invocation per output (many outputs, or short reductions), or one workgroup per
 * output with a tree in workgroup memory (few outputs over long reductions, e.g. a full sum, where
 * one invocation per output would run serially). Sums accumulate in float32 in an order unlike the
 * CPU's, so they agree with the oracle to about n·ε·Σ|x|. max/min propagate NaN like the CPU.
 */

type Kind = 'sum' | 'max' | 'min';

/** WGSL of `acc ⊕ v`, as an expression (jit's fused reductions use it too). */
export function combine(kind: Kind, t: WgslType, acc: string, v: string): string {
  if (kind === 'sum') return `${acc} + ${v}`;
  if (t === 'i32') return `${kind}(${acc}, ${v})`;
  return `select(${acc}, ${v}, ${v} ${kind === 'max' ? '>' : '<'} ${acc} || ${isNaNExpr(v)})`;
}

/**
 * The end of a workgroup-per-output reduction: each invocation's `acc` goes to workgroup memory
 * (`part`, of WG elements), a tree combines them, and invocation 0 stores `out[index]` if `valid`.
 */
export function workgroupTree(kind: Kind, t: WgslType, index: string): string {
  return `  part[lid] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { part[lid] = ${combine(kind, t, 'part[lid]', 'part[lid + s]')}; }
    workgroupBarrier();
  }
  if (valid && lid == 0u) { out[${index}] = part[0]; }`;
}

/** Reductions whose length reaches this use a workgroup per output when outputs are few (jit's fused reductions too). */
export const LONG = 256;
export const FEW_OUTPUTS = 4096;

function reduceKernel(kind: Kind): GpuKernel {
  const name = `reduce_${kind}`;
  return (rt, [x], { axes }: { axes: readonly number[] }, [o]) => {
    const t = wgslType(x!.dtype, name);
    const st = stridesOf(x!.shape);
    const keptAxes = x!.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const kept = coalesce(keptAxes.map((a) => x!.shape[a]!), [keptAxes.map((a) => st[a]!)]);
    const red = coalesce(axes.map((a) => x!.shape[a]!), [axes.map((a) => st[a]!)]);
    const rk = kept.shape.length;
    const rr = red.shape.length;
    const nOut = sizeOf(o!.shape);
    const inner = sizeOf(axes.map((a) => x!.shape[a]!));
    // The value of an empty reduction (what the CPU oracle stores): 0 for sums; ∓∞ for float max/min, 0 for int32.
    const empty = kind === 'sum' || t === 'i32' ? 0 : kind === 'max' ? -Infinity : Infinity;
    // params: nOut, inner, empty word, kept shape/strides, reduced shape/strides
    const KS = 3, KT = 3 + rk, RS = 3 + 2 * rk, RT = 3 + 2 * rk + rr;
    const params = [nOut, inner, wordOf(empty, x!.dtype), ...kept.shape, ...kept.strides[0]!, ...red.shape, ...red.strides[0]!];
    const zero = t === 'f32' ? '0.0' : '0i';
    const init = kind === 'sum' ? zero : 'x0[base]';
    const step = `      var off = base;\n${decode('j', rr, RS, RT, 'off')}\n      let v = x0[off];\n      acc = ${combine(kind, t, 'acc', 'v')};`;
    if (inner >= LONG && nOut <= FEW_OUTPUTS) {
      const wgsl = () => `${bindings(t, [t])}
var<workgroup> part: array<${t}, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = wid.y * nwg.x + wid.x;
  let valid = o < p[0];
  let inner = p[1];
  var base = 0u;
  if (valid) {
${decode('o', rk, KS, KT, 'base')}
  }
  var acc: ${t} = ${init};
  if (valid) {
    for (var j = lid; j < inner; j += ${WG}u) {
${step}
    }
  }
${workgroupTree(kind, t, 'o')}
}`;
      return [launch(rt, o!, { key: `${name}:wg:${t}:${rk}:${rr}`, wgsl, inputs: [x!.storage], params, grid: grid1D(nOut * WG) })];
    }
    const body = `  let inner = p[1];
  if (inner == 0u) { out[i] = bitcast<${t}>(p[2]); return; }
  var base = 0u;
${decode('i', rk, KS, KT, 'base')}
  var acc: ${t} = ${init};
  for (var j = ${kind === 'sum' ? 0 : 1}u; j < inner; j++) {
${step}
  }
  out[i] = acc;`;
    return [launch(rt, o!, { key: `${name}:${t}:${rk}:${rr}`, wgsl: () => `${bindings(t, [t])}\n${main1D(body)}`, inputs: [x!.storage], params, grid: grid1D(nOut) })];
  };
}

/** argmax/argmin along one axis: the first extremal index; a NaN wins at once (as the CPU). */
function argKernel(kind: 'max' | 'min'): GpuKernel {
  const name = `arg${kind}`;
  return (rt, [x], { axis }: { axis: number }, [o]) => {
    const t = wgslType(x!.dtype, name);
    const st = stridesOf(x!.shape);
    const keptAxes = x!.shape.map((_, i) => i).filter((i) => i !== axis);
    const kept = coalesce(keptAxes.map((a) => x!.shape[a]!), [keptAxes.map((a) => st[a]!)]);
    const rk = kept.shape.length;
    const nOut = sizeOf(o!.shape);
    const body = `  var base = 0u;
${decode('i', rk, 3, 3 + rk, 'base')}
  let len = p[1];
  let stride = p[2];
  var best = 0u;
  var m = x0[base];
  for (var j = 1u; j < len; j++) {
    if (m != m) { break; }
    let v = x0[base + j * stride];
    if (v ${kind === 'max' ? '>' : '<'} m || v != v) { m = v; best = j; }
  }
  out[i] = i32(best);`;
    return [
      launch(rt, o!, {
        key: `${name}:${t}:${rk}`,
        wgsl: () => `${bindings('i32', [t])}\n${main1D(body)}`,
        inputs: [x!.storage],
        params: [nOut, x!.shape[axis]!, st[axis]!, ...kept.shape, ...kept.strides[0]!],
        grid: grid1D(nOut),
      }),
    ];
  };
}

export const reduceKernels: Record<string, GpuKernel> = {
  reduce_sum: reduceKernel('sum'),
  reduce_max: reduceKernel('max'),
  reduce_min: reduceKernel('min'),
  argmax: argKernel('max'),
  argmin: argKernel('min'),
};
