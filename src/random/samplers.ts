import { type DType, type FloatDType } from '../core/dtype.js';
import { DTypeError } from '../core/errors.js';
import { checkShape, type Shape, sizeOf } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { fromBuffer } from '../ops/create.js';
import { erfinv } from './erfinv.js';
import { checkKey, type Key } from './keys.js';
import { counterWords, threefryInto } from './threefry.js';

/**
 * Samplers: tensors of random numbers drawn from a key. Element i (row-major) is a function of
 * Threefry-2x32(key, counter i) alone, so a sample does not depend on how it is computed, and the
 * same key always gives the same tensor. Sampling never changes the key: use a fresh key (from
 * `split`/`foldIn`) for each draw you want to be independent.
 */

const TWO_POW_23 = 0x800000;
const TWO_POW_32 = 0x100000000;
const TWO_POW_52 = 2 ** 52;
const TWO_POW_53 = 2 ** 53;

/** Calls `visit(i, w0, w1)` with the two Threefry words of counter i, for i in [0, n). */
function eachWords(k: Key, n: number, visit: (i: number, w0: number, w1: number) => void): void {
  const [k0, k1] = k.words;
  const out: [number, number] = [0, 0];
  for (let i = 0; i < n; i++) {
    const hi = i < TWO_POW_32 ? 0 : counterWords(i)[0];
    threefryInto(k0, k1, hi, i >>> 0, out);
    visit(i, out[0], out[1]);
  }
}

/** A uniform float in [0, 1) on the 2^-53 grid from two words (the top 53 of their 64 bits). */
const unit53 = (w0: number, w1: number): number => (w0 * 0x200000 + (w1 >>> 11)) / TWO_POW_53;

function checkFloat(op: string, dtype: DType): asserts dtype is FloatDType {
  if (dtype !== 'float32' && dtype !== 'float64') throw new DTypeError(`${op}: dtype must be float32 or float64, got ${String(dtype)}`);
}

/**
 * Uniform draws on [0, 1): one value per element, on the float grid of `dtype` (k·2^-23 for float32
 * from the xor of the two words, k·2^-52 for float64 from the top 52 of the 64 bits), as JAX does.
 */
function unitUniform(k: Key, n: number, dtype: FloatDType): Float64Array {
  const out = new Float64Array(n);
  if (dtype === 'float32') eachWords(k, n, (i, w0, w1) => (out[i] = ((w0 ^ w1) >>> 9) / TWO_POW_23));
  else eachWords(k, n, (i, w0, w1) => (out[i] = (w0 * 0x100000 + (w1 >>> 12)) / TWO_POW_52));
  return out;
}

/** The largest value of `dtype` below `x` (x finite and positive-spaced: used to keep uniforms below max). */
function below(x: number, dtype: FloatDType): number {
  const f64 = new Float64Array([x]);
  if (dtype === 'float64') {
    const bits = new BigInt64Array(f64.buffer);
    bits[0] = x > 0 ? bits[0]! - 1n : x < 0 ? bits[0]! + 1n : -(2n ** 63n) + 1n; // below +0 is −min subnormal
    return f64[0]!;
  }
  const f32 = new Float32Array([x]);
  const b32 = new Int32Array(f32.buffer);
  b32[0] = x > 0 ? b32[0]! - 1 : x < 0 ? b32[0]! + 1 : -0x7fffffff;
  return f32[0]!;
}

/** Options of {@link uniform}: the half-open range [min, max) (default [0, 1)). */
export interface UniformOptions {
  readonly min?: number;
  readonly max?: number;
}

/**
 * Uniform samples on [min, max) of the given shape and float dtype (default float32, [0, 1)).
 * u = min + (max − min)·v with v on the dtype's grid in [0, 1), computed in the dtype's
 * arithmetic (min and max are first rounded to the dtype); float32 results equal `jax.random.uniform` bit for bit (values that round up to
 * `max` are moved to the largest float below it).
 *
 *     uniform(key(0), [2, 3], 'float64', { min: -1, max: 1 })
 */
export function uniform<D extends FloatDType = 'float32'>(k: Key, shape: Shape = [], dtype: D = 'float32' as D, opts: UniformOptions = {}): Tensor<D> {
  checkKey('random.uniform', k);
  checkShape('random.uniform', shape);
  checkFloat('random.uniform', dtype);
  const rnd = dtype === 'float32' ? Math.fround : (x: number) => x;
  const min = opts.min ?? 0;
  const max = opts.max ?? 1;
  if (typeof min !== 'number' || typeof max !== 'number' || !Number.isFinite(min) || !Number.isFinite(max))
    throw new RangeError(`random.uniform: min and max must be finite numbers, got min ${String(min)}, max ${String(max)}`);
  const lo = rnd(min);
  const hi = rnd(max);
  if (!(lo < hi)) throw new RangeError(`random.uniform: min (${min}) must be less than max (${max})${lo === hi && min !== max ? ` in ${dtype}` : ''}`);
  const width = rnd(hi - lo);
  if (!Number.isFinite(width)) throw new RangeError(`random.uniform: the range [${min}, ${max}) is wider than the largest ${dtype}`);
  const top = below(hi, dtype);
  const v = unitUniform(k, sizeOf(shape), dtype);
  const out = dtype === 'float32' ? new Float32Array(v.length) : v;
  for (let i = 0; i < v.length; i++) {
    const u = Math.max(lo, rnd(rnd(v[i]! * width) + lo));
    out[i] = u < hi ? u : top;
  }
  return fromBuffer(out as never, dtype, shape) as Tensor<D>;
}

/**
 * Standard normal samples N(0, 1) of the given shape and float dtype (default float32), by the
 * inverse CDF: z = √2·erfinv(u) with u uniform on (−1, 1) (JAX's construction; float32 results
 * match `jax.random.normal` to float32 rounding). Scale and shift them for N(μ, σ²).
 *
 *     const w = mul(normal(k, [784, 200], 'float32'), 0.05);
 */
export function normal<D extends FloatDType = 'float32'>(k: Key, shape: Shape = [], dtype: D = 'float32' as D): Tensor<D> {
  checkKey('random.normal', k);
  checkShape('random.normal', shape);
  checkFloat('random.normal', dtype);
  const rnd = dtype === 'float32' ? Math.fround : (x: number) => x;
  const lo = -below(1, dtype); // nextafter(−1, +∞): the smallest u, so that erfinv(u) is finite
  const width = rnd(1 - lo);
  const sqrt2 = rnd(Math.SQRT2);
  const v = unitUniform(k, sizeOf(shape), dtype);
  const out = dtype === 'float32' ? new Float32Array(v.length) : v;
  for (let i = 0; i < v.length; i++) {
    const u = Math.max(lo, rnd(rnd(v[i]! * width) + lo));
    out[i] = rnd(sqrt2 * rnd(erfinv(u)));
  }
  return fromBuffer(out as never, dtype, shape) as Tensor<D>;
}

/**
 * Booleans that are true with probability `p` (a number in [0, 1]), of the given shape:
 * element i is `v_i < p` for v_i uniform on the 2^-53 grid of [0, 1), so p = 0 gives all false and
 * p = 1 all true. (JAX compares a float32 uniform instead, so the bits differ from JAX's.)
 *
 *     const keep = bernoulli(k, 0.9, [32, 200]);   // a dropout mask
 */
export function bernoulli(k: Key, p: number, shape: Shape = []): Tensor<'bool'> {
  checkKey('random.bernoulli', k);
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`random.bernoulli: p must be a number in [0, 1], got ${String(p)}`);
  checkShape('random.bernoulli', shape);
  const out = new Uint8Array(sizeOf(shape));
  eachWords(k, out.length, (i, w0, w1) => (out[i] = unit53(w0, w1) < p ? 1 : 0));
  return fromBuffer(out, 'bool', shape);
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/**
 * Uniform integers in [lo, hi) (int32), of the given shape: element i is lo + ⌊v_i·(hi − lo)⌋ with
 * v_i uniform on the 2^-53 grid, so each value has probability (hi − lo)^-1 within a relative
 * 2^-20 (hi − lo ≤ 2^32). lo and hi are integers with lo < hi, lo ≥ −2^31 and hi ≤ 2^31.
 *
 *     randint(k, [5], 0, 10)   // five digits
 */
export function randint(k: Key, shape: Shape, lo: number, hi: number): Tensor<'int32'> {
  checkKey('random.randint', k);
  checkShape('random.randint', shape);
  if (!Number.isInteger(lo) || !Number.isInteger(hi)) throw new RangeError(`random.randint: lo and hi must be integers, got lo ${String(lo)}, hi ${String(hi)}`);
  if (!(lo < hi)) throw new RangeError(`random.randint: lo (${lo}) must be less than hi (${hi})`);
  if (lo < INT32_MIN || hi > INT32_MAX + 1) throw new RangeError(`random.randint: [${lo}, ${hi}) does not fit int32 (lo ≥ -2^31, hi ≤ 2^31)`);
  const span = hi - lo;
  const out = new Int32Array(sizeOf(shape));
  eachWords(k, out.length, (i, w0, w1) => (out[i] = lo + Math.min(span - 1, Math.floor(unit53(w0, w1) * span))));
  return fromBuffer(out, 'int32', shape);
}

/**
 * A uniformly random permutation of 0..n−1 (int32, shape [n]), for shuffling: the (forward)
 * Fisher–Yates shuffle, where step i = 1..n−1 swaps i with ⌊v_i·(i+1)⌋, v_i drawn from counter i.
 *
 *     const order = permutation(k, 60000);  // then take(x, order)
 */
export function permutation(k: Key, n: number): Tensor<'int32'> {
  checkKey('random.permutation', k);
  if (!Number.isInteger(n) || n < 0 || n > INT32_MAX) throw new RangeError(`random.permutation: n must be an integer in [0, 2^31), got ${String(n)}`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  eachWords(k, n, (i, w0, w1) => {
    if (i === 0) return;
    const j = Math.min(i, Math.floor(unit53(w0, w1) * (i + 1)));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  });
  return fromBuffer(out, 'int32', [n]);
}
