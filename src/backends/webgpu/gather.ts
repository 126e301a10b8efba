import { type Shape, sizeOf } from '../../core/shape.js';
import { checkIndicesOnDevice } from './index-check.js';
import { type GpuKernel, launch } from './kernel.js';
import { bindings, grid1D, main1D, wgslType } from './wgsl.js';

/**
 * gather / scatter_add along one axis, with x viewed as [pre, A, post] and k indices.
 *
 * scatter_add is written as a gather: each output element [p, a, q] sums the updates [p, j, q]
 * whose index j points at a, looping over the k indices in order. No atomics (WGSL has no float
 * atomic add), deterministic, and summed in the CPU's order; it costs O(k) per output, fine for
 * the one-hot and label-sized index sets of the transforms, slow for a huge embedding gradient.
 *
 * Indices are checked first (index-check.ts): those from the host like the CPU does (a ShapeError
 * at once), those computed on the GPU by a kernel that raises the device's error flag, reported at
 * the next readback; the gather then reads 0 for them and scatter_add drops them.
 */

function dims(shape: Shape, axis: number) {
  return { pre: sizeOf(shape.slice(0, axis)), a: shape[axis]!, post: sizeOf(shape.slice(axis + 1)) };
}

const gatherKernel: GpuKernel = (rt, [x, idx], { axis }: { axis: number }, [o]) => {
  const { a, post } = dims(x!.shape, axis);
  checkIndicesOnDevice(rt, idx!, a, axis, 'take');
  const k = sizeOf(idx!.shape);
  const n = sizeOf(o!.shape);
  const body = `  let post = p[1];
  let k = p[2];
  let a = p[3];
  let q = i % post;
  let t = i / post;
  let j = t % k;
  let pre = t / k;
  let ix = x1[j];
  if (ix < 0i || u32(ix) >= a) { out[i] = 0u; return; }
  out[i] = x0[(pre * a + u32(ix)) * post + q];`;
  return [
    launch(rt, o!, {
      key: 'gather',
      wgsl: () => `${bindings('u32', ['u32', 'i32'])}\n${main1D(body)}`,
      inputs: [x!.storage, idx!.storage],
      params: [n, post, k, a],
      grid: grid1D(n),
    }),
  ];
};

const scatterAddKernel: GpuKernel = (rt, [u, idx], { axis, shape }: { axis: number; shape: Shape }, [o]) => {
  const t = wgslType(u!.dtype, 'scatterAdd');
  const { a, post } = dims(shape, axis);
  checkIndicesOnDevice(rt, idx!, a, axis, 'scatterAdd');
  const k = sizeOf(idx!.shape);
  const n = sizeOf(o!.shape);
  const body = `  let post = p[1];
  let k = p[2];
  let a = p[3];
  let q = i % post;
  let t = i / post;
  let dest = i32(t % a);
  let pre = t / a;
  var acc: ${t} = ${t === 'f32' ? '0.0' : '0i'};
  for (var j = 0u; j < k; j++) {
    if (x1[j] == dest) { acc += x0[(pre * k + j) * post + q]; }
  }
  out[i] = acc;`;
  return [
    launch(rt, o!, {
      key: `scatter_add:${t}`,
      wgsl: () => `${bindings(t, [t, 'i32'])}\n${main1D(body)}`,
      inputs: [u!.storage, idx!.storage],
      params: [n, post, k, a],
      grid: grid1D(n),
    }),
  ];
};

export const gatherKernels: Record<string, GpuKernel> = { gather: gatherKernel, scatter_add: scatterAddKernel };
