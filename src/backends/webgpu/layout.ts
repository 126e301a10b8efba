import { type Shape, sizeOf, stridesOf } from '../../core/shape.js';
import { markUniform, shareStorage } from './gpu-tensor.js';
import { allocateOut, type GpuInput, type GpuKernel, launch } from './kernel.js';
import type { Runtime } from './runtime.js';
import { bindings, coalesce, decode, grid1D, main1D, wordOf } from './wgsl.js';

/**
 * Structural kernels: they move 32-bit words, whatever the dtype. transpose, broadcast_in_dim and
 * slice are one strided gather (out[i] = x[base + Σ coordᵢ·strideᵢ], a stride 0 repeats an
 * element); concatenate copies each input into its box of the output; pad reads the input inside
 * the box and writes the padding value elsewhere; reshape and stop_gradient share the buffer.
 */

/** out[i] = x[base + Σ_d coord_d(i)·strides[d]] over `shape` (coalesced first): a new tensor of `outAval`. */
export function stridedGather(rt: Runtime, x: GpuInput, outAval: { shape: Shape; dtype: GpuInput['dtype'] }, shape: Shape, strides: readonly number[], base: number) {
  const c = coalesce(shape, [strides]);
  const r = c.shape.length;
  const n = sizeOf(outAval.shape);
  return launch(rt, outAval, {
    key: `gather_strided:${r}`,
    wgsl: () => `${bindings('u32', ['u32'])}\n${main1D(`  var src = p[1];\n${decode('i', r, 2, 2 + r, 'src')}\n  out[i] = x0[src];`)}`,
    inputs: [x.storage],
    params: [n, base, ...c.shape, ...c.strides[0]!],
    grid: grid1D(n),
  });
}

const transposeKernel: GpuKernel = (rt, [x], { perm }: { perm: readonly number[] }, [o]) => {
  const st = stridesOf(x!.shape);
  return [stridedGather(rt, x!, o!, o!.shape, perm.map((p) => st[p]!), 0)];
};

const broadcastKernel: GpuKernel = (rt, [x], { dims }: { dims: readonly number[] }, [o]) => {
  const st = stridesOf(x!.shape);
  const strides = o!.shape.map((_, d) => {
    const k = dims.indexOf(d);
    return k < 0 || x!.shape[k] === 1 ? 0 : st[k]!;
  });
  const out = stridedGather(rt, x!, o!, o!.shape, strides, 0);
  if (x!.host && x!.host.size === 1) markUniform(out, Number((x!.host.buffer as ArrayLike<number>)[0]));
  return [out];
};

const sliceKernel: GpuKernel = (rt, [x], { starts }: { starts: readonly number[] }, [o]) => {
  const st = stridesOf(x!.shape);
  const base = starts.reduce((acc, s, d) => acc + s * st[d]!, 0);
  return [stridedGather(rt, x!, o!, o!.shape, st, base)];
};

const padKernel: GpuKernel = (rt, [x], { lo, value }: { lo: readonly number[]; value: number }, [o]) => {
  const r = o!.shape.length;
  const n = sizeOf(o!.shape);
  // params: n, value, outShape[r], lo[r], inShape[r], inStrides[r]
  const OS = 2, LO = 2 + r, IS = 2 + 2 * r, ST = 2 + 3 * r;
  const body = `  var rem = i;
  var src = 0u;
  var inside = true;
  for (var d = ${r}u; d > 0u; d--) {
    let s = p[${OS}u + d - 1u];
    let c = i32(rem % s) - i32(p[${LO}u + d - 1u]);
    rem = rem / s;
    if (c < 0i || c >= i32(p[${IS}u + d - 1u])) { inside = false; } else { src += u32(c) * p[${ST}u + d - 1u]; }
  }
  if (inside) { out[i] = x0[src]; } else { out[i] = p[1]; }`;
  return [
    launch(rt, o!, {
      key: `pad:${r}`,
      wgsl: () => `${bindings('u32', ['u32'])}\n${main1D(body)}`,
      inputs: [x!.storage],
      params: [n, wordOf(value, x!.dtype), ...o!.shape, ...lo, ...x!.shape, ...stridesOf(x!.shape)],
      grid: grid1D(n),
    }),
  ];
};

/** Each input is copied into its box of the output: out[base + Σ coord·outStride] = x[i]. */
const concatenateKernel: GpuKernel = (rt, xs, { axis }: { axis: number }, [o]) => {
  const out = allocateOut(rt, o!);
  const ost = stridesOf(o!.shape);
  let off = 0;
  for (const x of xs) {
    const n = sizeOf(x.shape);
    const c = coalesce(x.shape, [ost]);
    const r = c.shape.length;
    rt.dispatcher.run({
      key: `scatter_strided:${r}`,
      wgsl: () => `${bindings('u32', ['u32'])}\n${main1D(`  var dst = p[1];\n${decode('i', r, 2, 2 + r, 'dst')}\n  out[dst] = x0[i];`)}`,
      out: out.storage,
      inputs: [x.storage],
      params: [n, off * ost[axis]!, ...c.shape, ...c.strides[0]!],
      grid: grid1D(n),
    });
    off += x.shape[axis]!;
  }
  return [out];
};

/** Shares the input's buffer under the output's shape (buffers are immutable). */
const shareKernel: GpuKernel = (_rt, [x], _p, [o]) => [shareStorage(o!.shape, o!.dtype, x!.storage)];

export const layoutKernels: Record<string, GpuKernel> = {
  reshape: shareKernel,
  stop_gradient: shareKernel,
  transpose: transposeKernel,
  broadcast_in_dim: broadcastKernel,
  slice: sliceKernel,
  pad: padKernel,
  concatenate: concatenateKernel,
};
