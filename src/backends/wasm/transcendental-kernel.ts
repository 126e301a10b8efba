/**
 * Generated float32 exp, expm1, tanh and log, computed in float64 lanes and rounded once to
 * float32, so they agree with the CPU oracle (Math.exp / Math.expm1 / Math.tanh / Math.log, then
 * rounded to float32) to within one float32 ulp, almost always exactly:
 *
 *   ew1_exp_f32(x, out, n)    out[i] = exp(x[i])        (and expm1, tanh, log alike)
 *
 * The float64 routine ({@link emitF64x2}) is shared with the fused loops of jit (fused-kernel.ts),
 * which run it on both halves of an f32x4.
 *
 *   y = n·ln2 + r with n = nearest(y/ln2), |r| ≤ ln2/2 (Cody–Waite split of ln2),
 *   q = expm1(r) by its Taylor series to r¹² (truncation < 2e-16 relative), evaluated by Estrin's scheme,
 *   2ⁿ from the exponent bits ((n + 1023) << 52),
 *   exp(y) = 2ⁿ + 2ⁿ·q,   expm1(y) = 2ⁿ·q + (2ⁿ − 1)   (no cancellation for y ≥ 0; ±0 kept),
 *   tanh(x) = sign(x) · q/(q + 2) with q = expm1(2·min(|x|, 20)) (tanh(20) rounds to 1),
 *   log(x) = k·ln2 + 2·atanh(s), x = 2ᵏ·m with m in [√½, √2) from the exponent and mantissa bits,
 *     s = (m − 1)/(m + 1) (|s| ≤ 0.172), atanh by its odd series to s¹⁹ (truncation < 1e-15);
 *     log(±0) = −∞, log(+∞) = +∞, log of a negative or NaN is NaN.
 *
 * Two elements per step in the kernels: v128.load64_zero + f64x2.promote_low_f32x4, the routine,
 * then f32x4.demote_f64x2_zero and a 64-bit lane store; an odd last element goes through the same
 * code with 32-bit loads and stores. exp and expm1 clamp their argument to [−110, 100] first
 * (beyond, float32 exp is 0 or ∞ anyway), so 2ⁿ stays a normal double; NaN propagates, tanh(±0) =
 * ±0. The inputs are float32 values, so no float64 subnormal reaches log. float64 exp, tanh and
 * log stay on the CPU kernels (Math.exp …), whose last-ulp accuracy this scheme would not match.
 */
import type { ScalarFn } from '../../core/scalar.js';
import type { FnBuilder } from './fn-builder.js';
import type { ModuleBuilder } from './module-builder.js';

/** The scalar functions with a kernel here: a primitive whose scalar expression is one of them applied to its operand runs it. */
export const TRANSCENDENTAL_OPS = ['exp', 'expm1', 'tanh', 'log'] as const satisfies readonly ScalarFn[];
export type TranscendentalOp = (typeof TRANSCENDENTAL_OPS)[number];

/** Whether `fn` has a float64-lane routine here. */
export const isTranscendental = (fn: ScalarFn): fn is TranscendentalOp => (TRANSCENDENTAL_OPS as readonly ScalarFn[]).includes(fn);

/** The exported name of a float32 transcendental kernel. */
export const transcendentalName = (op: TranscendentalOp): string => `ew1_${op}_f32`;

const LN2_HI = 0.6931471803691238; // ln 2 with its low 20 bits clear, so n·LN2_HI is exact
const LN2_LO = 1.9082149292705877e-10;
const INV_LN2 = 1.4426950408889634;
/** a_i = 1/(i + 1)! for i = 0 … 11: expm1(r)/r = Σ a_i·rⁱ to r¹¹. */
const TAYLOR_UP = Array.from({ length: 12 }, (_, i) => 1 / Array.from({ length: i + 1 }, (_, j) => j + 1).reduce((p, v) => p * v, 1));
/** 1/(2i + 1) for i = 9 … 0: the atanh series in s² (Horner from the highest power). */
const ATANH = Array.from({ length: 10 }, (_, i) => 1 / (2 * (9 - i) + 1));

/** The v128 locals the float64 routine works in (declare once per function with {@link f64x2Locals}). */
export interface F64x2Locals {
  /** The input (f64x2), read and left unchanged. */
  readonly v: number;
  readonly y: number;
  readonly k: number;
  readonly r: number;
  readonly q: number;
  readonly s: number;
}

/** Declares the locals of {@link emitF64x2} in `f`. */
export const f64x2Locals = (f: FnBuilder): F64x2Locals => ({ v: f.local('v128'), y: f.local('v128'), k: f.local('v128'), r: f.local('v128'), q: f.local('v128'), s: f.local('v128') });

/** Emits `op` of the f64x2 in local `L.v`, leaving the f64x2 result on the stack (see the file comment). */
export function emitF64x2(f: FnBuilder, op: TranscendentalOp, L: F64x2Locals): void {
  const { v, y, k, r, q, s } = L;
  const splat = (c: number) => f.f64(c).op('f64x2.splat');

  /** q = expm1(r), s = 2ⁿ for y = n·ln2 + r (y in local `y`). */
  const expParts = () => {
    f.get(y).f64(INV_LN2).op('f64x2.splat').op('f64x2.mul').op('f64x2.nearest').set(k);
    f.get(y).get(k).f64(LN2_HI).op('f64x2.splat').op('f64x2.mul').op('f64x2.sub');
    f.get(k).f64(LN2_LO).op('f64x2.splat').op('f64x2.mul').op('f64x2.sub').set(r);
    // P(r) = Σ_{i<12} r^i/(i+1)! by Estrin's scheme (pairs a_i + a_{i+1}·r, joined by r², r⁴, r⁸):
    // a dependency chain of 8 operations where Horner's has 24, so the loop is not latency-bound
    f.get(r).get(r).op('f64x2.mul').set(q); // q = r² (q and s are free until the end)
    f.get(q).get(q).op('f64x2.mul').set(s); // s = r⁴
    const pair = (i: number) => splat(TAYLOR_UP[i + 1]!).get(r).op('f64x2.mul').f64(TAYLOR_UP[i]!).op('f64x2.splat').op('f64x2.add');
    const quad = (i: number) => {
      pair(i);
      pair(i + 2);
      f.get(q).op('f64x2.mul').op('f64x2.add');
    };
    quad(0);
    quad(4);
    f.get(s).op('f64x2.mul').op('f64x2.add');
    quad(8);
    f.get(s).get(s).op('f64x2.mul').op('f64x2.mul').op('f64x2.add');
    f.get(r).op('f64x2.mul').set(q);
    f.get(k).op('i32x4.trunc_sat_f64x2_s_zero').op('i64x2.extend_low_i32x4_s');
    f.i32(1023).op('i32x4.splat').op('i64x2.extend_low_i32x4_s').op('i64x2.add').i32(52).op('i64x2.shl').set(s);
  };
  const clampInto = (target: number) => f.get(v).f64(-110).op('f64x2.splat').op('f64x2.max').f64(100).op('f64x2.splat').op('f64x2.min').set(target);

  if (op === 'exp') {
    clampInto(y);
    expParts();
    f.get(s).get(s).get(q).op('f64x2.mul').op('f64x2.add');
  } else if (op === 'expm1') {
    clampInto(y);
    expParts();
    f.get(s).get(q).op('f64x2.mul').get(s).f64(1).op('f64x2.splat').op('f64x2.sub').op('f64x2.add').set(y);
    f.get(v).get(y).get(v).f64(0).op('f64x2.splat').op('f64x2.eq').op('v128.bitselect'); // expm1(−0) = −0
  } else if (op === 'tanh') {
    f.get(v).op('f64x2.abs').f64(20).op('f64x2.splat').op('f64x2.min').f64(2).op('f64x2.splat').op('f64x2.mul').set(y);
    expParts();
    // q ← expm1(y) = 2ⁿ·q + (2ⁿ − 1); tanh = q / (q + 2) with the sign of x
    f.get(s).get(q).op('f64x2.mul').get(s).f64(1).op('f64x2.splat').op('f64x2.sub').op('f64x2.add').set(q);
    f.get(v);
    f.get(q).get(q).f64(2).op('f64x2.splat').op('f64x2.add').op('f64x2.div');
    f.f64(-0).op('f64x2.splat').op('v128.bitselect');
  } else {
    // k = biased exponent as a double: its 11 bits or'ed into 2⁵² + e, minus 2⁵²
    f.get(v).i32(52).op('i64x2.shr_u').i64x2(0x7ffn).op('v128.and').i64x2(0x4330000000000000n).op('v128.or');
    f.f64(2 ** 52 + 1023).op('f64x2.splat').op('f64x2.sub').set(k);
    // m = the mantissa with exponent 0, in [1, 2); halved (and k + 1) past √2
    f.get(v).i64x2(0x000fffffffffffffn).op('v128.and').i64x2(0x3ff0000000000000n).op('v128.or').set(y);
    f.get(y).f64(Math.SQRT2).op('f64x2.splat').op('f64x2.gt').set(s);
    f.get(y).f64(0.5).op('f64x2.splat').op('f64x2.mul').get(y).get(s).op('v128.bitselect').set(y);
    f.get(k).f64(1).op('f64x2.splat').f64(0).op('f64x2.splat').get(s).op('v128.bitselect').op('f64x2.add').set(k);
    // s = (m − 1)/(m + 1), q = s²; log m = 2s·Σ q^i/(2i + 1)
    f.get(y).f64(1).op('f64x2.splat').op('f64x2.sub').get(y).f64(1).op('f64x2.splat').op('f64x2.add').op('f64x2.div').set(r);
    f.get(r).get(r).op('f64x2.mul').set(q);
    splat(ATANH[0]!);
    for (const c of ATANH.slice(1)) f.get(q).op('f64x2.mul').f64(c).op('f64x2.splat').op('f64x2.add');
    f.get(r).op('f64x2.mul').f64(2).op('f64x2.splat').op('f64x2.mul');
    // + k·ln2 (low part first)
    f.get(k).f64(LN2_LO).op('f64x2.splat').op('f64x2.mul').op('f64x2.add');
    f.get(k).f64(LN2_HI).op('f64x2.splat').op('f64x2.mul').op('f64x2.add').set(y);
    // specials: +∞ → +∞; ±0 → −∞; negative or NaN → NaN
    f.f64(Infinity).op('f64x2.splat').get(y).get(v).f64(Infinity).op('f64x2.splat').op('f64x2.eq').op('v128.bitselect').set(y);
    f.f64(-Infinity).op('f64x2.splat').get(y).get(v).f64(0).op('f64x2.splat').op('f64x2.eq').op('v128.bitselect').set(y);
    f.get(y).f64(NaN).op('f64x2.splat').get(v).f64(0).op('f64x2.splat').op('f64x2.ge').op('v128.bitselect');
  }
}

/** Adds `ew1_<op>_f32` for every op of {@link TRANSCENDENTAL_OPS} to `mod`. */
export function addTranscendentalKernels(mod: ModuleBuilder): void {
  for (const op of TRANSCENDENTAL_OPS) {
    mod.func(transcendentalName(op), ['i32', 'i32', 'i32'], [], (f) => {
      const [x, out, n] = [0, 1, 2].map((k) => f.param(k)) as [number, number, number];
      const i = f.local('i32');
      const end = f.local('i32');
      const end2 = f.local('i32');
      const L = f64x2Locals(f);

      const step = (bits: 32 | 64) => {
        f.get(out).get(i).op('i32.add');
        f.get(x).get(i).op('i32.add').mem(bits === 64 ? 'v128.load64_zero' : 'v128.load32_zero').op('f64x2.promote_low_f32x4').set(L.v);
        emitF64x2(f, op, L);
        f.op('f32x4.demote_f64x2_zero').storeLane(bits, 0);
      };

      f.get(n).i32(4).op('i32.mul').set(end);
      f.get(end).i32(~7).op('i32.and').set(end2);
      f.for(i, () => f.i32(0), end2, 8, () => step(64));
      f.get(end2).get(end).op('i32.lt_u').if(() => {
        f.get(end2).set(i);
        step(32);
      });
    });
  }
}
