import { isFloat, type DType } from '../core/dtype.js';
import { DTypeError, ShapeError } from '../core/errors.js';
import { showShape } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { div } from './arith.js';
import { outputHW, type Pair, pair, patches, type Window2d } from './patches.js';
import { max, sum } from './reduce.js';
import { reshape } from './shape-ops.js';

/** Options of {@link maxPool2d} and {@link avgPool2d}. */
export interface Pool2dOptions {
  /** Window size over (H, W). */
  readonly kernel: Pair;
  /** Step of the window; default: the kernel size. */
  readonly stride?: Pair;
  /** Padding on both sides of (H, W), at most ⌊kernel/2⌋; default 0. */
  readonly padding?: Pair;
}

/** Options of {@link maxPool2d}: pooling options plus the spacing between window taps. */
export interface MaxPool2dOptions extends Pool2dOptions {
  /** Spacing between window taps over (H, W); default 1. */
  readonly dilation?: Pair;
}

function poolSetup(op: string, x: Tensor, opts: Pool2dOptions & { dilation?: Pair }) {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: x must be a tensor`);
  const ctx = `x is ${showShape(x.shape)}, kernel ${JSON.stringify(opts?.kernel)}`;
  if (x.shape.length !== 4) throw new ShapeError(`${op}: ${ctx}: x must have rank 4 [N,C,H,W]`);
  if (!isFloat(x.dtype)) throw new DTypeError(`${op}: needs a float32 or float64 tensor, got ${x.dtype} (${ctx})`);
  if (opts === undefined || opts.kernel === undefined) throw new ShapeError(`${op}: the kernel size is required (${ctx})`);
  const kernel = pair(op, 'kernel', opts.kernel, 1, 1, ctx);
  const win: Window2d = {
    kernel,
    stride: pair(op, 'stride', opts.stride, kernel, 1, ctx),
    padding: pair(op, 'padding', opts.padding, 0, 0, ctx),
    dilation: pair(op, 'dilation', opts.dilation, 1, 1, ctx),
  };
  // PyTorch's rule: padding ≤ ⌊kernel/2⌋ (with dilation a window may still see only padding: −∞ for max)
  win.padding.forEach((p, i) => {
    if (p > Math.floor(kernel[i]! / 2))
      throw new ShapeError(`${op}: padding ${p} is more than half the kernel size ${kernel[i]} on axis ${i === 0 ? 'H' : 'W'} (${ctx})`);
  });
  const [, , h, w] = x.shape as [number, number, number, number];
  const [oh, ow] = outputHW(op, h, w, win, ctx);
  return { win, oh, ow };
}

/**
 * 2-D max pooling of x [N, C, H, W] (PyTorch semantics, floor mode): y[n, c, p, q] is the maximum
 * of x over the window at (p·sh − ph + i·dh, q·sw − pw + j·dw), 0 ≤ i < kh, 0 ≤ j < kw; padding is
 * −∞, so it never wins (a dilated window that sees only padding gives −∞, as PyTorch). The derivative routes to the maximum (tied maxima share it equally, as
 * `max` does). Output [N, C, OH, OW] with OH = ⌊(H + 2ph − dh(kh−1) − 1)/sh⌋ + 1.
 *
 *     const y = maxPool2d(x, { kernel: 2 }); // [1,3,8,8] → [1,3,4,4]
 */
export function maxPool2d<D extends DType>(x: Tensor<D>, opts: MaxPool2dOptions): Tensor<D> {
  const { win, oh, ow } = poolSetup('maxPool2d', x, opts);
  const [n, c] = x.shape as [number, number];
  return reshape(max(patches(x, win, -Infinity, oh, ow), 2), [n, c, oh, ow]);
}

/**
 * 2-D average pooling of x [N, C, H, W] (PyTorch semantics, floor mode, count_include_pad):
 * y[n, c, p, q] = (1 / kh·kw) Σ_{i,j} x_pad[n, c, p·sh + i, q·sw + j], zero padding counted.
 *
 *     const y = avgPool2d(x, { kernel: 3, stride: 1, padding: 1 }); // same spatial size
 */
export function avgPool2d<D extends DType>(x: Tensor<D>, opts: Pool2dOptions): Tensor<D> {
  const { win, oh, ow } = poolSetup('avgPool2d', x, { ...opts, dilation: 1 });
  const [n, c] = x.shape as [number, number];
  const s = sum(patches(x, win, 0, oh, ow), 2);
  return reshape(div(s, win.kernel[0] * win.kernel[1]), [n, c, oh, ow]);
}
