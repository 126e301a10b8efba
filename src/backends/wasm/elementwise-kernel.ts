/**
 * Generated elementwise kernels over contiguous arrays, float32 and float64:
 *
 *   ew2_<op>_<f32|f64>(a, b, out, n)   out[i] = a[i] op b[i]   op ∈ add sub mul div max min
 *   ew1_<op>_<f32|f64>(x, out, n)      out[i] = op(x[i])       op ∈ neg abs sqrt
 *   ew2b_<op>_<f32|f64>(a, s, out, outer, mid, inner, rev)
 *       out[o, m, i] = a[o, m, i] op s[m] (rev: s[m] op a[o, m, i]) over [outer, mid, inner]: a
 *       binary op with one operand broadcast, read in place: a scalar (mid = 1), a row such as a
 *       bias (inner = 1: vectors along m), a column (outer = 1: each s[m] splat along i), any
 *       broadcast whose source fills one contiguous block of the output's axes.
 *
 * Byte addresses, `n` elements; whole v128 vectors first, then a scalar tail. These operations are
 * correctly rounded in IEEE arithmetic, so they give the CPU oracle's values bit for bit
 * (float32 there is computed in double and rounded once, which is the same for + − × ÷ √).
 */
import type { FnBuilder, PlainOp } from './fn-builder.js';
import type { ModuleBuilder } from './module-builder.js';

export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'max', 'min'] as const;
export const UNARY_OPS = ['neg', 'abs', 'sqrt'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];
export type UnaryOp = (typeof UNARY_OPS)[number];

type Dt = 'float32' | 'float64';
const sfx = (d: Dt): string => (d === 'float32' ? 'f32' : 'f64');

/** The exported name of a binary elementwise kernel. */
export const binaryName = (op: BinaryOp, d: Dt): string => `ew2_${op}_${sfx(d)}`;
/** The exported name of a binary elementwise kernel whose second operand is broadcast (see the file comment). */
export const broadcastBinaryName = (op: BinaryOp, d: Dt): string => `ew2b_${op}_${sfx(d)}`;
/** The exported name of a unary elementwise kernel. */
export const unaryName = (op: UnaryOp, d: Dt): string => `ew1_${op}_${sfx(d)}`;

/**
 * Emits `for (i = 0; i < n·E; i += 16) vector(i)` then `for (; i < n·E; i += E) scalar(i)`, where
 * `i` is a byte offset local; the callbacks push nothing and read `i` themselves.
 */
export function emitVectorLoop(f: FnBuilder, n: number, E: number, vector: (i: number) => void, scalar: (i: number) => void): void {
  const i = f.local('i32');
  const end = f.local('i32');
  const vend = f.local('i32');
  f.get(n).i32(E).op('i32.mul').set(end);
  f.get(end).i32(~15).op('i32.and').set(vend);
  f.for(i, () => f.i32(0), vend, 16, () => vector(i));
  f.for(i, () => f.get(vend), end, E, () => scalar(i));
}

/** Adds every `ew2_*` and `ew1_*` kernel, for both float dtypes, to `mod`. */
export function addElementwiseKernels(mod: ModuleBuilder): void {
  for (const d of ['float32', 'float64'] as const) {
    const E = d === 'float32' ? 4 : 8;
    const v = d === 'float32' ? 'f32x4' : 'f64x2';
    const s = d === 'float32' ? 'f32' : 'f64';
    const load = `${s}.load` as const;
    const store = `${s}.store` as const;
    for (const op of BINARY_OPS) {
      mod.func(binaryName(op, d), ['i32', 'i32', 'i32', 'i32'], [], (f) => {
        const [a, b, out, n] = [0, 1, 2, 3].map((k) => f.param(k)) as [number, number, number, number];
        const at = (base: number, i: number) => f.get(base).get(i).op('i32.add');
        emitVectorLoop(
          f, n, E,
          (i) => {
            at(out, i);
            at(a, i).mem('v128.load');
            at(b, i).mem('v128.load');
            f.op(`${v}.${op}` as PlainOp).mem('v128.store');
          },
          (i) => {
            at(out, i);
            at(a, i).mem(load);
            at(b, i).mem(load);
            f.op(`${s}.${op}` as PlainOp).mem(store);
          },
        );
      });
    }
    for (const op of BINARY_OPS) {
      mod.func(broadcastBinaryName(op, d), ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (f) => {
        const [a, sb, out, outer, mid, inner, rev] = [0, 1, 2, 3, 4, 5, 6].map((k) => f.param(k)) as [number, number, number, number, number, number, number];
        const o = f.local('i32');
        const m = f.local('i32');
        const pa = f.local('i32');
        const po = f.local('i32');
        const ps = f.local('i32');
        const sv = f.local('v128');
        const sx = f.local(s);
        const at = (base: number, i: number) => f.get(base).get(i).op('i32.add');
        /** Pushes the operands in order (a then s, or s then a) with `pushA` and `pushS`. */
        const both = (reversed: boolean, pushA: () => void, pushS: () => void) => (reversed ? (pushS(), pushA()) : (pushA(), pushS()));
        const body = (reversed: boolean) =>
          f.get(inner).i32(1).op('i32.eq').if(
            // a row: out[o, :] = a[o, :] op s[:], vectors along m
            () => {
              f.get(a).set(pa).get(out).set(po);
              f.for(o, () => f.i32(0), outer, 1, () => {
                emitVectorLoop(
                  f, mid, E,
                  (i) => {
                    at(po, i);
                    both(reversed, () => at(pa, i).mem('v128.load'), () => at(sb, i).mem('v128.load'));
                    f.op(`${v}.${op}` as PlainOp).mem('v128.store');
                  },
                  (i) => {
                    at(po, i);
                    both(reversed, () => at(pa, i).mem(load), () => at(sb, i).mem(load));
                    f.op(`${s}.${op}` as PlainOp).mem(store);
                  },
                );
                f.get(pa).get(mid).i32(E).op('i32.mul').op('i32.add').set(pa);
                f.get(po).get(mid).i32(E).op('i32.mul').op('i32.add').set(po);
              });
            },
            // a splat per s[m]: out[o, m, :] = a[o, m, :] op s[m], vectors along i
            () => {
              f.get(a).set(pa).get(out).set(po);
              f.for(o, () => f.i32(0), outer, 1, () => {
                f.get(sb).set(ps);
                f.for(m, () => f.i32(0), mid, 1, () => {
                  f.get(ps).mem(load).tee(sx).op(`${v}.splat` as PlainOp).set(sv);
                  emitVectorLoop(
                    f, inner, E,
                    (i) => {
                      at(po, i);
                      both(reversed, () => at(pa, i).mem('v128.load'), () => f.get(sv));
                      f.op(`${v}.${op}` as PlainOp).mem('v128.store');
                    },
                    (i) => {
                      at(po, i);
                      both(reversed, () => at(pa, i).mem(load), () => f.get(sx));
                      f.op(`${s}.${op}` as PlainOp).mem(store);
                    },
                  );
                  f.get(pa).get(inner).i32(E).op('i32.mul').op('i32.add').set(pa);
                  f.get(po).get(inner).i32(E).op('i32.mul').op('i32.add').set(po);
                  f.inc(ps, E);
                });
              });
            },
          );
        f.get(rev).if(
          () => body(true),
          () => body(false),
        );
      });
    }
    for (const op of UNARY_OPS) {
      mod.func(unaryName(op, d), ['i32', 'i32', 'i32'], [], (f) => {
        const [x, out, n] = [0, 1, 2].map((k) => f.param(k)) as [number, number, number];
        const at = (base: number, i: number) => f.get(base).get(i).op('i32.add');
        emitVectorLoop(
          f, n, E,
          (i) => {
            at(out, i);
            at(x, i).mem('v128.load').op(`${v}.${op}` as PlainOp).mem('v128.store');
          },
          (i) => {
            at(out, i);
            at(x, i).mem(load).op(`${s}.${op}` as PlainOp).mem(store);
          },
        );
      });
    }
  }
}
