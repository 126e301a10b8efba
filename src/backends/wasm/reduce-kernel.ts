/**
 * Generated sum reductions over a contiguous block of axes, float32 and float64. A tensor viewed
 * as [outer, red, inner] with the middle block summed:
 *
 *   sum_rows_<f32|f64>(x, out, outer, red)          inner = 1: out[o] = Σ_r x[o, r]
 *       two v128 accumulators per row (to hide the add latency), then the lanes and a scalar tail.
 *   sum_mid_<f32|f64>(x, out, outer, red, inner)    out[o, j] = Σ_r x[o, r, j]
 *       row by row: out[o, :] += x[o, r, :], a contiguous vector add (the bias gradient's
 *       sum over the batch is this with outer = 1).
 *
 * Summation order differs from the CPU oracle's left-to-right double sum, so float32 results
 * agree within a tolerance proportional to `red` (the laws scale it so).
 */
import { emitVectorLoop } from './elementwise-kernel.js';
import type { ModuleBuilder } from './module-builder.js';

type Dt = 'float32' | 'float64';
const sfx = (d: Dt): string => (d === 'float32' ? 'f32' : 'f64');

/** The exported name of the last-axes sum kernel. */
export const sumRowsName = (d: Dt): string => `sum_rows_${sfx(d)}`;
/** The exported name of the middle-axes sum kernel. */
export const sumMidName = (d: Dt): string => `sum_mid_${sfx(d)}`;

/** Adds `sum_rows_*` and `sum_mid_*` for both float dtypes to `mod`. */
export function addReduceKernels(mod: ModuleBuilder): void {
  for (const d of ['float32', 'float64'] as const) {
    const f32 = d === 'float32';
    const E = f32 ? 4 : 8;
    const lanes = 16 / E;
    const v = f32 ? 'f32x4' : 'f64x2';
    const s = f32 ? 'f32' : 'f64';

    mod.func(sumRowsName(d), ['i32', 'i32', 'i32', 'i32'], [], (f) => {
      const [x, out, outer, red] = [0, 1, 2, 3].map((k) => f.param(k)) as [number, number, number, number];
      const o = f.local('i32');
      const p = f.local('i32');
      const pEnd = f.local('i32');
      const pVec2 = f.local('i32');
      const acc0 = f.local('v128');
      const acc1 = f.local('v128');
      const tot = f.local(s);
      const zero = () => (f32 ? f.f32(0).op('f32x4.splat') : f.f64(0).op('f64x2.splat'));
      f.get(x).set(p);
      f.for(o, () => f.i32(0), outer, 1, () => {
        zero().set(acc0);
        zero().set(acc1);
        f.get(p).get(red).i32(E).op('i32.mul').op('i32.add').set(pEnd);
        // pVec2: end of the part covered by pairs of vectors
        f.get(p).get(red).i32(E).op('i32.mul').i32(~31).op('i32.and').op('i32.add').set(pVec2);
        f.block(() => {
          f.get(p).get(pVec2).op('i32.ge_u').brIf(0);
          f.loop(() => {
            f.get(acc0).get(p).mem('v128.load').op(`${v}.add`).set(acc0);
            f.get(acc1).get(p).mem('v128.load', 16).op(`${v}.add`).set(acc1);
            f.inc(p, 32);
            f.get(p).get(pVec2).op('i32.lt_u').brIf(0);
          });
        });
        f.get(acc0).get(acc1).op(`${v}.add`).set(acc0);
        f.get(acc0).extractLane(v, 0);
        for (let l = 1; l < lanes; l++) f.get(acc0).extractLane(v, l).op(`${s}.add`);
        f.set(tot);
        f.block(() => {
          f.get(p).get(pEnd).op('i32.ge_u').brIf(0);
          f.loop(() => {
            f.get(tot).get(p).mem(`${s}.load`).op(`${s}.add`).set(tot);
            f.inc(p, E);
            f.get(p).get(pEnd).op('i32.lt_u').brIf(0);
          });
        });
        f.get(out).get(o).i32(E).op('i32.mul').op('i32.add').get(tot).mem(`${s}.store`);
      });
    });

    mod.func(sumMidName(d), ['i32', 'i32', 'i32', 'i32', 'i32'], [], (f) => {
      const [x, out, outer, red, inner] = [0, 1, 2, 3, 4].map((k) => f.param(k)) as [number, number, number, number, number];
      const o = f.local('i32');
      const r = f.local('i32');
      const src = f.local('i32');
      const dst = f.local('i32');
      f.get(x).set(src);
      f.for(o, () => f.i32(0), outer, 1, () => {
        f.get(out).get(o).get(inner).op('i32.mul').i32(E).op('i32.mul').op('i32.add').set(dst);
        // the first row initialises, the others add
        emitVectorLoop(
          f, inner, E,
          (i) => f.get(dst).get(i).op('i32.add').get(src).get(i).op('i32.add').mem('v128.load').mem('v128.store'),
          (i) => f.get(dst).get(i).op('i32.add').get(src).get(i).op('i32.add').mem(`${s}.load`).mem(`${s}.store`),
        );
        f.get(src).get(inner).i32(E).op('i32.mul').op('i32.add').set(src);
        f.for(r, () => f.i32(1), red, 1, () => {
          emitVectorLoop(
            f, inner, E,
            (i) => {
              f.get(dst).get(i).op('i32.add');
              f.get(dst).get(i).op('i32.add').mem('v128.load');
              f.get(src).get(i).op('i32.add').mem('v128.load');
              f.op(`${v}.add`).mem('v128.store');
            },
            (i) => {
              f.get(dst).get(i).op('i32.add');
              f.get(dst).get(i).op('i32.add').mem(`${s}.load`);
              f.get(src).get(i).op('i32.add').mem(`${s}.load`);
              f.op(`${s}.add`).mem(`${s}.store`);
            },
          );
          f.get(src).get(inner).i32(E).op('i32.mul').op('i32.add').set(src);
        });
      });
    });
  }
}
