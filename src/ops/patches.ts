import { ShapeError } from '../core/errors.js';
import { showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import type { DType } from '../core/dtype.js';
import { fromBuffer } from './create.js';
import { pad, reshape, take } from './shape-ops.js';

/**
 * The im2col "patches" construction shared by conv2d and the pooling ops. It is only pad + one
 * gather (with a constant int32 index tensor) + reshape, so every derivative of conv and pooling
 * (any order, jvp, vjp, vmap) comes from the pad/gather/scatter_add rules with no new primitive.
 */

/** A per-axis setting given as one number for both spatial axes or as [height, width]. */
export type Pair = number | readonly [number, number];

/** Normalised window geometry of a 2-D sliding window over an [.., H, W] input. */
export interface Window2d {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
}

/** Expands a {@link Pair} and checks each entry is an integer ≥ `min`; `ctx` names the call. */
export function pair(op: string, name: string, v: Pair | undefined, dflt: Pair, min: number, ctx: string): [number, number] {
  const p = v ?? dflt;
  const out: [number, number] = typeof p === 'number' ? [p, p] : [p[0], p[1]];
  if (!(Array.isArray(p) ? p.length === 2 : typeof p === 'number') || !out.every((d) => Number.isInteger(d) && d >= min))
    throw new ShapeError(`${op}: ${name} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(p)} (${ctx})`);
  return out;
}

/** Output size of one spatial axis: ⌊(n + 2p − d(k−1) − 1)/s⌋ + 1. */
export const outSize = (n: number, k: number, s: number, p: number, d: number): number => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

/** Output spatial size [OH, OW]; throws when the window does not fit (names `op` and `ctx`). */
export function outputHW(op: string, h: number, w: number, win: Window2d, ctx: string): [number, number] {
  const oh = outSize(h, win.kernel[0], win.stride[0], win.padding[0], win.dilation[0]);
  const ow = outSize(w, win.kernel[1], win.stride[1], win.padding[1], win.dilation[1]);
  if (oh < 1 || ow < 1) {
    const eff = win.kernel.map((k, i) => win.dilation[i]! * (k - 1) + 1);
    throw new ShapeError(
      `${op}: the ${eff.join('×')} (dilated) window does not fit in the ${h + 2 * win.padding[0]}×${w + 2 * win.padding[1]} padded input (${ctx}): output would be ${oh}×${ow}`,
    );
  }
  return [oh, ow];
}

/**
 * The constant gather index: for window offset k = i·kw + j and output position l = oh·OW + ow,
 * the flat position (oh·sh + i·dh)·Wp + (ow·sw + j·dw) in the padded Hp×Wp plane. Shape [K, L].
 */
function patchIndex(hp: number, wp: number, win: Window2d, oh: number, ow: number): Tensor<'int32'> {
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.stride;
  const [dh, dw] = win.dilation;
  const l = oh * ow;
  const idx = new Int32Array(kh * kw * l);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++) {
      const row = (i * kw + j) * l;
      for (let y = 0; y < oh; y++)
        for (let x = 0; x < ow; x++) idx[row + y * ow + x] = (y * sh + i * dh) * wp + (x * sw + j * dw);
    }
  if (hp * wp === 0) throw new ShapeError('patches: empty spatial plane');
  return fromBuffer(idx, 'int32', [kh * kw, l]);
}

/**
 * Patches of x [N, C, H, W]: returns [N, C, kh·kw, OH·OW] where entry [n, c, i·kw + j, oh·OW + ow]
 * is x_padded[n, c, oh·sh + i·dh, ow·sw + j·dw]; padding uses `padValue`. Also returns [OH, OW].
 * The caller has validated rank, and `outputHW` the geometry.
 */
export function patches<D extends DType>(x: Tensor<D>, win: Window2d, padValue: number, oh: number, ow: number): Tensor<D> {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (x.shape.length !== 4) throw new ShapeError(`patches: x must be [N,C,H,W], got ${showShape(x.shape)}`);
  const [ph, pw] = win.padding;
  const xp = ph === 0 && pw === 0 ? x : pad(x, [[0, 0], [0, 0], [ph, ph], [pw, pw]], padValue);
  const hp = h + 2 * ph;
  const wp = w + 2 * pw;
  const flat = reshape(xp, [n, c, hp * wp]);
  return take(flat, patchIndex(hp, wp, win, oh, ow), 2);
}
