/**
 * Generated float32 exp and tanh, computed in float64 lanes and rounded once to float32, so they
 * agree with the CPU oracle (Math.exp / Math.tanh, then rounded to float32) to within one float32
 * ulp, almost always exactly:
 *
 *   ew1_exp_f32(x, out, n)    out[i] = exp(x[i])
 *   ew1_tanh_f32(x, out, n)   out[i] = tanh(x[i])
 *
 * Two elements per step: v128.load64_zero + f64x2.promote_low_f32x4, then
 *   y = n·ln2 + r with n = nearest(y/ln2), |r| ≤ ln2/2 (Cody–Waite split of ln2),
 *   q = expm1(r) by its Taylor series to r¹² (truncation < 2e-16 relative),
 *   2ⁿ from the exponent bits ((n + 1023) << 52),
 *   exp(y) = 2ⁿ + 2ⁿ·q,   expm1(y) = 2ⁿ·q + (2ⁿ − 1)   (no cancellation for y ≥ 0),
 *   tanh(x) = sign(x) · q/(q + 2) with q = expm1(2·min(|x|, 20)) (tanh(20) rounds to 1),
 * then f32x4.demote_f64x2_zero and a 64-bit lane store; an odd last element goes through the
 * same code with 32-bit loads and stores. exp clamps its argument to [−110, 100] first (beyond,
 * float32 exp is 0 or ∞ anyway), so 2ⁿ stays a normal double; NaN propagates, tanh(±0) = ±0.
 * float64 exp and tanh stay on the CPU kernels (Math.exp / Math.tanh), whose last-ulp accuracy
 * this scheme would not match.
 */
import type { ScalarFn } from '../../core/scalar.js';
import type { ModuleBuilder } from './module-builder.js';

/** The scalar functions with a kernel here: a primitive whose scalar expression is one of them applied to its operand runs it. */
export const TRANSCENDENTAL_OPS = ['exp', 'tanh'] as const satisfies readonly ScalarFn[];
export type TranscendentalOp = (typeof TRANSCENDENTAL_OPS)[number];

/** The exported name of a float32 transcendental kernel. */
export const transcendentalName = (op: TranscendentalOp): string => `ew1_${op}_f32`;

const LN2_HI = 0.6931471803691238; // ln 2 with its low 20 bits clear, so n·LN2_HI is exact
const LN2_LO = 1.9082149292705877e-10;
const INV_LN2 = 1.4426950408889634;
/** 1/k! for k = 12 … 1: Horner from the highest power. */
const TAYLOR = Array.from({ length: 12 }, (_, i) => 12 - i).map((k) => 1 / Array.from({ length: k }, (_, j) => j + 1).reduce((p, v) => p * v, 1));

/** Adds `ew1_exp_f32` and `ew1_tanh_f32` to `mod`. */
export function addTranscendentalKernels(mod: ModuleBuilder): void {
  for (const op of TRANSCENDENTAL_OPS) {
    mod.func(transcendentalName(op), ['i32', 'i32', 'i32'], [], (f) => {
      const [x, out, n] = [0, 1, 2].map((k) => f.param(k)) as [number, number, number];
      const i = f.local('i32');
      const end = f.local('i32');
      const end2 = f.local('i32');
      const v = f.local('v128');
      const y = f.local('v128');
      const k = f.local('v128');
      const r = f.local('v128');
      const q = f.local('v128');
      const s = f.local('v128');
      const splat = (c: number) => f.f64(c).op('f64x2.splat');

      /** q = expm1(r), s = 2ⁿ for y = n·ln2 + r (y in local `y`). */
      const expParts = () => {
        f.get(y).f64(INV_LN2).op('f64x2.splat').op('f64x2.mul').op('f64x2.nearest').set(k);
        f.get(y).get(k).f64(LN2_HI).op('f64x2.splat').op('f64x2.mul').op('f64x2.sub');
        f.get(k).f64(LN2_LO).op('f64x2.splat').op('f64x2.mul').op('f64x2.sub').set(r);
        splat(TAYLOR[0]!);
        for (const c of TAYLOR.slice(1)) f.get(r).op('f64x2.mul').f64(c).op('f64x2.splat').op('f64x2.add');
        f.get(r).op('f64x2.mul').set(q);
        f.get(k).op('i32x4.trunc_sat_f64x2_s_zero').op('i64x2.extend_low_i32x4_s');
        f.i32(1023).op('i32x4.splat').op('i64x2.extend_low_i32x4_s').op('i64x2.add').i32(52).op('i64x2.shl').set(s);
      };

      /** The result for the f64x2 input in `v`, left on the stack. */
      const compute = () => {
        if (op === 'exp') {
          f.get(v).f64(-110).op('f64x2.splat').op('f64x2.max').f64(100).op('f64x2.splat').op('f64x2.min').set(y);
          expParts();
          f.get(s).get(s).get(q).op('f64x2.mul').op('f64x2.add');
        } else {
          f.get(v).op('f64x2.abs').f64(20).op('f64x2.splat').op('f64x2.min').f64(2).op('f64x2.splat').op('f64x2.mul').set(y);
          expParts();
          // q ← expm1(y) = 2ⁿ·q + (2ⁿ − 1); tanh = q / (q + 2) with the sign of x
          f.get(s).get(q).op('f64x2.mul').get(s).f64(1).op('f64x2.splat').op('f64x2.sub').op('f64x2.add').set(q);
          f.get(v);
          f.get(q).get(q).f64(2).op('f64x2.splat').op('f64x2.add').op('f64x2.div');
          f.f64(-0).op('f64x2.splat').op('v128.bitselect');
        }
      };

      const step = (bits: 32 | 64) => {
        f.get(out).get(i).op('i32.add');
        f.get(x).get(i).op('i32.add').mem(bits === 64 ? 'v128.load64_zero' : 'v128.load32_zero').op('f64x2.promote_low_f32x4').set(v);
        compute();
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
