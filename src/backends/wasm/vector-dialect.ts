/**
 * Scalar expressions of primitive records rendered as WebAssembly SIMD instructions, four lanes at
 * a time, for the fused loops of fused-kernel.ts: float32 lanes (f32x4), int32 lanes (i32x4,
 * wrapping) and bool values as lane masks (all ones or zero). exp, expm1, tanh, log and pow run in
 * float64 lanes on each half of the vector (transcendental-kernel.ts) and are rounded once. What it
 * cannot render throws {@link Unsupported}, and the loop is left to jit's JavaScript.
 */
import type { ScalarExpr } from '../../core/scalar.js';
import type { FnBuilder } from './fn-builder.js';
import { emitF64x2, type F64x2Locals, f64x2Locals, isTranscendental, type TranscendentalOp } from './transcendental-kernel.js';

/** A loop this generator does not compile (jit keeps its JavaScript loop). */
export class Unsupported extends Error {}

/** Throws {@link Unsupported}: `why` names what the generator does not render. */
export const no = (why: string): never => {
  throw new Unsupported(why);
};

/** Largest |n| of an integer power computed by repeated multiplication. */
const MAX_IPOW = 16;

/** The lane types of the generated code: float32 and int32 lanes, and bool values as lane masks (all ones or zero). */
export type LaneType = 'float32' | 'int32' | 'bool';

/**
 * A node of a scalar expression before its code is emitted: a value of a lane type, a condition
 * (a lane mask), or a literal waiting for the type of the value it meets (as renderScalar does).
 */
type Node = { readonly kind: 'value'; readonly type: 'float32' | 'int32'; readonly emit: () => void } | { readonly kind: 'cond'; readonly emit: () => void } | { readonly kind: 'lit'; readonly value: number };

type PlainOpName = Parameters<FnBuilder['op']>[0];

/** Arithmetic and comparisons by lane type. */
const OPS: Record<'float32' | 'int32', Partial<Record<string, PlainOpName>>> = {
  float32: {
    add: 'f32x4.add', sub: 'f32x4.sub', mul: 'f32x4.mul', div: 'f32x4.div', neg: 'f32x4.neg', abs: 'f32x4.abs', sqrt: 'f32x4.sqrt', floor: 'f32x4.floor',
    lt: 'f32x4.lt', le: 'f32x4.le', gt: 'f32x4.gt', ge: 'f32x4.ge', eq: 'f32x4.eq', ne: 'f32x4.ne',
  },
  // wrapping int32 arithmetic, as the CPU kernels (neg and abs of −2³¹ wrap to −2³¹)
  int32: {
    add: 'i32x4.add', sub: 'i32x4.sub', mul: 'i32x4.mul', neg: 'i32x4.neg', abs: 'i32x4.abs',
    lt: 'i32x4.lt_s', le: 'i32x4.le_s', gt: 'i32x4.gt_s', ge: 'i32x4.ge_s', eq: 'i32x4.eq', ne: 'i32x4.ne',
  },
};
const COMPARISONS = new Set(['lt', 'le', 'gt', 'ge', 'eq', 'ne']);

/** Emits the vector code of scalar expressions into one function (locals shared by all of them). */
export class VectorDialect {
  private tmp = -1;
  private half: { v32: number; lo: number; L: F64x2Locals } | undefined;
  private powLocals: { x32: number; xh: number; yh: number; m: number } | undefined;

  constructor(private readonly f: FnBuilder) {}

  private temp(): number {
    if (this.tmp < 0) this.tmp = this.f.local('v128');
    return this.tmp;
  }

  /** A v128 local for a value that lives only between two instructions of the caller (shared with the expressions' own). */
  scratch(): number {
    return this.temp();
  }

  /**
   * Emits `e` with operand i in local `args[i]` of lane type `types[i]`, leaving the value of lane
   * type `out` on the stack (a bool result as a lane mask).
   */
  value(e: ScalarExpr, args: readonly number[], types: readonly LaneType[], out: LaneType): void {
    const n = this.node(e, args, types);
    if (out === 'bool') this.cond(n);
    else this.as(n, out);
  }

  private node(e: ScalarExpr, args: readonly number[], types: readonly LaneType[]): Node {
    const f = this.f;
    const sub = (x: ScalarExpr) => this.node(x, args, types);
    switch (e.op) {
      case 'arg': {
        const l = args[e.index] ?? no(`operand ${e.index}`);
        const t = types[e.index]!;
        return t === 'bool' ? { kind: 'cond', emit: () => f.get(l) } : { kind: 'value', type: t, emit: () => f.get(l) };
      }
      case 'lit':
        return { kind: 'lit', value: e.value };
      case 'convert':
        return this.convert(sub(e.x), e.to);
      case 'select': {
        const [c, a, b] = [sub(e.cond), sub(e.then), sub(e.else)];
        if (a.kind === 'cond' || b.kind === 'cond') {
          // a select of bool values: masks select as any bits do
          return { kind: 'cond', emit: () => (this.cond(a), this.cond(b), this.cond(c), f.op('v128.bitselect')) };
        }
        const t = this.common([a, b]);
        return { kind: 'value', type: t, emit: () => (this.as(a, t), this.as(b, t), this.cond(c), f.op('v128.bitselect')) };
      }
      case 'ipow': {
        const x = sub(e.x);
        if (this.common([x]) !== 'float32') no('an int32 power');
        return { kind: 'value', type: 'float32', emit: () => (this.as(x, 'float32'), this.ipow(e.n)) };
      }
      case 'call':
        return this.call(e.fn, e.args.map(sub));
    }
  }

  /** The lane type of the values among `ns` (literals follow it). */
  private common(ns: readonly Node[]): 'float32' | 'int32' {
    const v = ns.find((n): n is Extract<Node, { kind: 'value' }> => n.kind === 'value');
    if (!v) return no('an operation with no value operand to take a type from');
    return v.type;
  }

  /** Emits `n` as a value of lane type `t`. */
  private as(n: Node, t: 'float32' | 'int32' | LaneType): void {
    const f = this.f;
    if (n.kind === 'lit') {
      if (t === 'float32') f.f32(n.value).op('f32x4.splat');
      else if (t === 'int32' && Number.isInteger(n.value)) f.i32(n.value | 0).op('i32x4.splat');
      else no(`a literal ${n.value} as ${t}`);
    } else if (n.kind === 'cond') no('a condition where a value is needed');
    else if (n.type !== t) no(`a ${n.type} value where ${t} is needed`);
    else n.emit();
  }

  /** Emits `n` as a lane mask: a condition as it is, a value as "non-zero and not NaN". */
  private cond(n: Node): void {
    const f = this.f;
    if (n.kind === 'cond') return n.emit();
    if (n.kind === 'lit') return no('a literal used as a condition');
    n.emit();
    if (n.type === 'int32') {
      f.i32(0).op('i32x4.splat').op('i32x4.ne');
      return;
    }
    const t = this.temp();
    f.tee(t).f32(0).op('f32x4.splat').op('f32x4.ne').get(t).get(t).op('f32x4.eq').op('v128.and');
  }

  private convert(x: Node, to: string): Node {
    const f = this.f;
    if (to === 'bool') return { kind: 'cond', emit: () => this.cond(x) };
    if (to !== 'float32' && to !== 'int32') return no(`convert to ${to}`);
    if (x.kind === 'lit') return no('a convert of a literal');
    if (x.kind === 'cond') {
      // true → 1, false → 0
      return { kind: 'value', type: to, emit: () => (x.emit(), to === 'float32' ? f.f32(1).op('f32x4.splat') : f.i32(1).op('i32x4.splat'), f.op('v128.and')) };
    }
    if (x.type === to) return x;
    if (to === 'float32') return { kind: 'value', type: 'float32', emit: () => (x.emit(), f.op('f32x4.convert_i32x4_s')) };
    return no('a float32 to int32 convert (JavaScript wraps where SIMD saturates)');
  }

  private call(fn: string, xs: readonly Node[]): Node {
    const f = this.f;
    if (fn === 'and' || fn === 'or')
      return { kind: 'cond', emit: () => (this.cond(xs[0]!), this.cond(xs[1]!), f.op(fn === 'and' ? 'v128.and' : 'v128.or')) };
    if (fn === 'not') return { kind: 'cond', emit: () => (this.cond(xs[0]!), f.op('v128.not')) };
    const t = this.common(xs);
    if (fn === 'isnan') {
      if (t === 'int32') return { kind: 'cond', emit: () => f.i32(0).op('i32x4.splat') };
      return { kind: 'cond', emit: () => { const tmp = this.temp(); this.as(xs[0]!, t); f.tee(tmp).get(tmp).op('f32x4.ne'); } };
    }
    if (t === 'float32' && fn === 'pow') return { kind: 'value', type: t, emit: () => (this.as(xs[0]!, t), this.as(xs[1]!, t), this.pow()) };
    if (t === 'float32' && isTranscendental(fn as never))
      return { kind: 'value', type: t, emit: () => (this.as(xs[0]!, t), this.halves((L) => emitF64x2(f, fn as TranscendentalOp, L))) };
    const op = OPS[t][fn] ?? no(`${fn} on ${t}`);
    const emit = () => {
      for (const x of xs) this.as(x, t);
      f.op(op);
    };
    return COMPARISONS.has(fn) ? { kind: 'cond', emit } : { kind: 'value', type: t, emit };
  }

  /** The f32x4 on the stack through a float64-lane routine `op`, half by half (its input in local `L.v`). */
  private halves(op: (L: F64x2Locals) => void): void {
    const f = this.f;
    this.half ??= { v32: f.local('v128'), lo: f.local('v128'), L: f64x2Locals(f) };
    const { v32, lo, L } = this.half;
    f.tee(v32).op('f64x2.promote_low_f32x4').set(L.v);
    op(L);
    f.set(lo);
    f.get(v32).get(v32).shuffle([2, 3, 0, 1], 4).op('f64x2.promote_low_f32x4').set(L.v);
    op(L);
    f.set(L.v);
    f.get(lo).op('f32x4.demote_f64x2_zero').get(L.v).op('f32x4.demote_f64x2_zero').shuffle([0, 1, 4, 5], 4);
  }

  /**
   * x^y of the two f32x4 on the stack (x below y) as JavaScript's Math.pow computes it, in float64
   * lanes, rounded once: exp(y·log|x|) (exp and log of transcendental-kernel.ts; ±∞, 0 and NaN
   * follow from them, |x| = 1 with y = ±∞ giving 0·∞ = NaN as Math.pow does), then the sign for
   * an odd integer y and a negative (or −0) x, NaN for a finite negative x and a non-integer y,
   * and x^0 = 1 for every x.
   */
  private pow(): void {
    const f = this.f;
    this.half ??= { v32: f.local('v128'), lo: f.local('v128'), L: f64x2Locals(f) };
    this.powLocals ??= { x32: f.local('v128'), xh: f.local('v128'), yh: f.local('v128'), m: f.local('v128') };
    const { v32, lo, L } = this.half;
    const { x32, xh, yh, m } = this.powLocals;
    f.set(v32).set(x32); // v32: y, x32: x
    /** x^y of the low (or high) two lanes as f64x2, left on the stack. */
    const half = (high: boolean) => {
      const promote = (src: number, dst: number) => {
        f.get(src);
        if (high) f.get(src).shuffle([2, 3, 0, 1], 4);
        f.op('f64x2.promote_low_f32x4').set(dst);
      };
      promote(x32, xh);
      promote(v32, yh);
      f.get(xh).op('f64x2.abs').set(L.v);
      emitF64x2(f, 'log', L);
      f.get(yh).op('f64x2.mul').set(L.v);
      emitF64x2(f, 'exp', L); // |x|^y on the stack
      // m: y is an integer (floor(y) = y); the sign of x goes onto the result where y is also odd
      f.get(yh).op('f64x2.floor').get(yh).op('f64x2.eq').set(m);
      f.get(xh).i64x2(-0x8000000000000000n).op('v128.and').get(m).op('v128.and');
      f.get(yh).f64(0.5).op('f64x2.splat').op('f64x2.mul').op('f64x2.floor').f64(2).op('f64x2.splat').op('f64x2.mul').get(yh).op('f64x2.ne');
      f.op('v128.and').op('v128.xor');
      // NaN where x is finite and negative and y is not an integer; 1 where y = 0
      f.set(L.y);
      f.f64(NaN).op('f64x2.splat').get(L.y);
      f.get(xh).f64(0).op('f64x2.splat').op('f64x2.lt').get(xh).f64(-Infinity).op('f64x2.splat').op('f64x2.gt').op('v128.and').get(m).op('v128.andnot');
      f.op('v128.bitselect').set(L.y);
      f.f64(1).op('f64x2.splat').get(L.y).get(yh).f64(0).op('f64x2.splat').op('f64x2.eq').op('v128.bitselect');
    };
    half(false);
    f.set(lo);
    half(true);
    f.set(L.v);
    f.get(lo).op('f32x4.demote_f64x2_zero').get(L.v).op('f32x4.demote_f64x2_zero').shuffle([0, 1, 4, 5], 4);
  }

  /**
   * x^n of the f32x4 on the stack (x^0 = 1, NaN included): repeated squaring in float64 lanes
   * (products of float32 values are exact or nearly so there), 1/x^|n| for n < 0, rounded once.
   */
  private ipow(n: number): void {
    const f = this.f;
    if (!Number.isInteger(n) || Math.abs(n) > MAX_IPOW) no(`integer power ${n}`);
    if (n === 0) {
      f.op('drop').f32(1).op('f32x4.splat');
      return;
    }
    this.halves((L) => {
      // L.y: the running square, L.q: the product
      f.get(L.v).set(L.y);
      let started = false;
      for (let m = Math.abs(n), first = true; m > 0; m >>= 1, first = false) {
        if (!first) f.get(L.y).get(L.y).op('f64x2.mul').set(L.y);
        if (m & 1) {
          if (started) f.get(L.q).get(L.y).op('f64x2.mul').set(L.q);
          else f.get(L.y).set(L.q);
          started = true;
        }
      }
      if (n < 0) f.f64(1).op('f64x2.splat').get(L.q).op('f64x2.div');
      else f.get(L.q);
    });
  }
}
