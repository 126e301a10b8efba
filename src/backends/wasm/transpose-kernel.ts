/**
 * Generated transposes that swap two adjacent blocks of axes: x viewed as [batch, R, C, inner]
 * becomes [batch, C, R, inner]. This covers every "swap the last two axes" (inner = 1; matmul's
 * transposed operands in backward passes) and moves of an axis past a block (vmap's batch moves).
 *
 *   transpose_<f32|f64>(src, dst, batch, R, C, inner)
 *
 * inner = 1: columns in strips of 8: for each strip, rows are read 8 contiguous values at a time
 * and written to 8 output rows, each written sequentially (8 write streams fit the caches).
 * inner > 1: each [inner] run is copied whole (vectors, then a scalar tail). Pure data movement,
 * so the result is bit-identical to the CPU kernel.
 */
import { emitVectorLoop } from './elementwise-kernel.js';
import type { ModuleBuilder } from './module-builder.js';

type Dt = 'float32' | 'float64';

/** The exported name of the block-swap transpose kernel. */
export const transposeName = (d: Dt): string => `transpose_${d === 'float32' ? 'f32' : 'f64'}`;

const STRIP = 8;

/** Adds `transpose_f32` and `transpose_f64` to `mod`. */
export function addTransposeKernels(mod: ModuleBuilder): void {
  for (const d of ['float32', 'float64'] as const) {
    const E = d === 'float32' ? 4 : 8;
    const load = d === 'float32' ? 'f32.load' : 'f64.load';
    const store = d === 'float32' ? 'f32.store' : 'f64.store';
    mod.func(transposeName(d), ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (f) => {
      const [src, dst, batch, R, C, inner] = [0, 1, 2, 3, 4, 5].map((k) => f.param(k)) as [number, number, number, number, number, number];
      const b = f.local('i32');
      const r = f.local('i32');
      const c = f.local('i32');
      const c0 = f.local('i32');
      const cEnd = f.local('i32');
      const s = f.local('i32');
      const t = f.local('i32');
      const sBase = f.local('i32');
      const dBase = f.local('i32');
      const run = f.local('i32');
      // byte sizes of one [R, C, inner] slab (same for input and output) and of one inner run
      const slab = f.local('i32');
      f.get(inner).i32(E).op('i32.mul').set(run);
      f.get(R).get(C).op('i32.mul').get(run).op('i32.mul').set(slab);
      f.get(inner).i32(1).op('i32.eq').if(
        () => {
          f.for(b, () => f.i32(0), batch, 1, () => {
            f.get(src).get(b).get(slab).op('i32.mul').op('i32.add').set(sBase);
            f.get(dst).get(b).get(slab).op('i32.mul').op('i32.add').set(dBase);
            f.for(c0, () => f.i32(0), C, STRIP, () => {
              f.get(c0).i32(STRIP).op('i32.add').tee(cEnd).get(C).get(cEnd).get(C).op('i32.lt_s').op('select').set(cEnd);
              f.for(r, () => f.i32(0), R, 1, () => {
                // s = sBase + (r·C + c0)·E ; t = dBase + (c0·R + r)·E, stepping by R·E per column
                f.get(sBase).get(r).get(C).op('i32.mul').get(c0).op('i32.add').i32(E).op('i32.mul').op('i32.add').set(s);
                f.get(dBase).get(c0).get(R).op('i32.mul').get(r).op('i32.add').i32(E).op('i32.mul').op('i32.add').set(t);
                f.for(c, () => f.get(c0), cEnd, 1, () => {
                  f.get(t).get(s).mem(load).mem(store);
                  f.inc(s, E);
                  f.get(t).get(R).i32(E).op('i32.mul').op('i32.add').set(t);
                });
              });
            });
          });
        },
        () => {
          f.for(b, () => f.i32(0), batch, 1, () => {
            f.for(r, () => f.i32(0), R, 1, () => {
              f.for(c, () => f.i32(0), C, 1, () => {
                // from src[b, r, c, :] to dst[b, c, r, :]
                f.get(src).get(b).get(slab).op('i32.mul').op('i32.add').get(r).get(C).op('i32.mul').get(c).op('i32.add').get(run).op('i32.mul').op('i32.add').set(s);
                f.get(dst).get(b).get(slab).op('i32.mul').op('i32.add').get(c).get(R).op('i32.mul').get(r).op('i32.add').get(run).op('i32.mul').op('i32.add').set(t);
                emitVectorLoop(
                  f, inner, E,
                  (i) => f.get(t).get(i).op('i32.add').get(s).get(i).op('i32.add').mem('v128.load').mem('v128.store'),
                  (i) => f.get(t).get(i).op('i32.add').get(s).get(i).op('i32.add').mem(load).mem(store),
                );
              });
            });
          });
        },
      );
    });
  }
}
