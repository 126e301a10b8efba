import { isFloat, type DType } from '../core/dtype.js';
import { DTypeError, ShapeError } from '../core/errors.js';
import { showShape } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { add } from './arith.js';
import { matmul } from './matmul.js';
import { outputHW, type Pair, pair, patches, type Window2d } from './patches.js';
import { reshape, transpose } from './shape-ops.js';

/** Options of {@link conv2d}. */
export interface Conv2dOptions<D extends DType = DType> {
  /** Step of the window over (H, W); default 1. */
  readonly stride?: Pair;
  /** Zeros added on both sides of (H, W); default 0. */
  readonly padding?: Pair;
  /** Spacing between kernel taps over (H, W); default 1. */
  readonly dilation?: Pair;
  /** Channel groups: C and O must both be divisible by it; default 1. */
  readonly groups?: number;
  /** Added to each output channel: shape [O]. */
  readonly bias?: Tensor<D>;
}

/**
 * 2-D convolution (cross-correlation, PyTorch semantics) of x [N, C, H, W] with w [O, C/g, kh, kw]:
 *
 *     y[n, o, p, q] = b[o] + Σ_{c ∈ group(o), i, j} w[o, c, i, j] · x_pad[n, c, p·sh + i·dh, q·sw + j·dw]
 *
 * giving [N, O, OH, OW] with OH = ⌊(H + 2ph − dh(kh−1) − 1)/sh⌋ + 1 (and likewise OW). Built from
 * pad + gather (the im2col patches) + matmul, so it is differentiable to any order and batches
 * under vmap with no conv-specific rules.
 *
 *     const y = conv2d(x, w, { stride: 2, padding: 1, bias: b }); // x [8,3,32,32], w [16,3,3,3] → [8,16,16,16]
 */
export function conv2d<D extends DType>(x: Tensor<D>, w: Tensor<D>, opts: Conv2dOptions<D> = {}): Tensor<D> {
  const ctx = `x is ${showShape(x.shape)}, w is ${showShape(w.shape)}`;
  if (!(x instanceof Tensor) || !(w instanceof Tensor)) throw new TypeError('conv2d: x and w must be tensors');
  if (x.shape.length !== 4) throw new ShapeError(`conv2d: ${ctx}: x must have rank 4 [N,C,H,W]`);
  if (w.shape.length !== 4) throw new ShapeError(`conv2d: ${ctx}: w must have rank 4 [O,C/groups,kh,kw]`);
  if (x.dtype !== w.dtype) throw new DTypeError(`conv2d: x is ${x.dtype}, w is ${w.dtype}: dtypes differ (use astype)`);
  if (!isFloat(x.dtype)) throw new DTypeError(`conv2d: needs float32 or float64 tensors, got ${x.dtype} (${ctx})`);
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [o, cg, kh, kw] = w.shape as [number, number, number, number];
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(`conv2d: groups must be a positive integer, got ${groups} (${ctx})`);
  if (c % groups !== 0 || o % groups !== 0)
    throw new ShapeError(`conv2d: ${ctx}: ${c} input channels and ${o} output channels must both be divisible by groups = ${groups}`);
  if (cg !== c / groups)
    throw new ShapeError(`conv2d: ${ctx}: w has ${cg} input channels per group but x has ${c} channels with groups = ${groups} (${c / groups} per group)`);
  if (kh < 1 || kw < 1 || o < 1) throw new ShapeError(`conv2d: ${ctx}: empty kernel or no output channels`);
  const win: Window2d = {
    kernel: [kh, kw],
    stride: pair('conv2d', 'stride', opts.stride, 1, 1, ctx),
    padding: pair('conv2d', 'padding', opts.padding, 0, 0, ctx),
    dilation: pair('conv2d', 'dilation', opts.dilation, 1, 1, ctx),
  };
  const [oh, ow] = outputHW('conv2d', h, wd, win, ctx);
  const bias = opts.bias;
  if (bias !== undefined) {
    if (!(bias instanceof Tensor)) throw new TypeError('conv2d: bias must be a tensor');
    if (bias.shape.length !== 1 || bias.shape[0] !== o)
      throw new ShapeError(`conv2d: ${ctx}: bias is ${showShape(bias.shape)} but should be [${o}] (one per output channel)`);
    if (bias.dtype !== x.dtype) throw new DTypeError(`conv2d: bias is ${bias.dtype} but x and w are ${x.dtype}`);
  }
  const k = kh * kw;
  const l = oh * ow;
  const og = o / groups;
  // P: [N, C, K, L] → [N, g, Cg·K, L] → [g, Cg·K, N·L]
  const p = reshape(patches(x, win, 0, oh, ow), [n, groups, cg * k, l]);
  const cols = reshape(transpose(p, [1, 2, 0, 3]), [groups, cg * k, n * l]);
  const wm = reshape(w, [groups, og, cg * k]);
  // [g, Og, N·L] → [g, Og, N, OH, OW] → [N, g, Og, OH, OW] → [N, O, OH, OW]
  const y = reshape(matmul(wm, cols), [groups, og, n, oh, ow]);
  const out = reshape(transpose(y, [2, 0, 1, 3, 4]), [n, o, oh, ow]);
  return bias === undefined ? out : add(out, reshape(bias, [1, o, 1, 1]));
}
