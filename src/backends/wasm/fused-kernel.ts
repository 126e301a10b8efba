/**
 * jit's fused loops compiled to WebAssembly SIMD (the cpu-wasm side of `Backend.compileLoop`):
 * one generated function per loop description ({@link LoopSpec}) of a fusion group (an elementwise
 * chain with its stored second outputs, or a sum/max/min reduction with the chain feeding it),
 * four elements per step (f32x4, i32x4, bool values as lane masks) with a tail that runs the same
 * code on one lane. Every member's scalar expression (its primitive's record) is rendered to SIMD
 * instructions; exp, expm1, tanh, log and pow run the float64-lane routines of
 * transcendental-kernel.ts on both halves of the vector. Operands are read in place from the wasm
 * memory with the planner's strides: a contiguous read is a v128.load, a read that does not move
 * along the innermost axis (a scalar, a bias row's element) is one splat hoisted out of the inner
 * loop, with every operation that depends only on such reads, and any other stride is gathered
 * lane by lane. Outputs are written where they live. Shapes are baked in, so each module is
 * compiled once per loop signature and cached; {@link compileFusedRun} puts consecutive loops in
 * one module called once.
 *
 * Values: float32 arithmetic (+ − × ÷ √, comparisons, select, abs, neg, floor) is exactly the CPU
 * kernels' (a float32 operation rounds as the double one rounded to float32), int32 arithmetic
 * wraps as theirs; the transcendentals, pow and integer powers (computed in float64 lanes) are
 * within one float32 ulp of them, almost always equal; sums add float32 terms in float64 lanes
 * (another order than the CPU kernel's double accumulator). Not compiled here (jit runs its
 * JavaScript loop): float64 values (f64x2 would gain little over V8's own code), float32 → int32
 * casts (JavaScript wraps where SIMD saturates), int32 division and powers, sin, cos, log1p,
 * reductions into int32 or bool.
 */
import type { Buffer } from '../../core/dtype.js';
import { collapse, type LoopFn, type LoopRunFn, type LoopSpec, type Ref } from '../../core/loop.js';
import type { ScalarExpr } from '../../core/scalar.js';
import { type FnBuilder, type ValType } from './fn-builder.js';
import { withCall } from './kernel-call.js';
import { getKernels } from './kernels.js';
import { ModuleBuilder } from './module-builder.js';
import { emitF64x2, type F64x2Locals, f64x2Locals, isTranscendental, type TranscendentalOp } from './transcendental-kernel.js';

/** A loop this generator does not compile (jit keeps its JavaScript loop). */
class Unsupported extends Error {}

const no = (why: string): never => {
  throw new Unsupported(why);
};

/** Most parameters of a generated function (engines accept 1000). */
const MAX_PARAMS = 900;

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
class VectorDialect {
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

const laneType = (d: string): LaneType => (d === 'float32' || d === 'int32' || d === 'bool' ? d : no(`a ${d} value`));

/**
 * The lane type of every read of `spec` (from the operations that use it), after checking that the
 * loop is one this generator compiles: float32, int32 and bool values, float32 reductions.
 */
function readTypes(spec: LoopSpec): LaneType[] {
  laneType(spec.outDtype);
  if (spec.reduce && spec.outDtype !== 'float32') no(`a ${spec.outDtype} reduction`);
  if (spec.reduce && spec.shape.some((d) => d === 0)) no('an empty reduction');
  const types: (LaneType | undefined)[] = spec.reads.map(() => undefined);
  const use = (x: Ref, d: string) => {
    if (x.kind !== 'read') return;
    const t = laneType(d);
    if (types[x.index] !== undefined && types[x.index] !== t) no('a read used as two types');
    types[x.index] = t;
  };
  for (const op of spec.ops) {
    laneType(op.dtype);
    op.args.forEach((x, i) => use(x, op.argDtypes[i]!));
  }
  use(spec.result, spec.outDtype);
  for (const r of spec.reads) if (r.offset < 0 || r.strides.some((s) => s < 0)) no('a negative stride');
  return types.map((t) => t ?? 'float32'); // a read nothing uses (jit makes none) is loaded and ignored
}

/** Bytes per element of a lane type in memory (bool: one byte, 0 or 1). */
const bytesOf = (t: LaneType): number => (t === 'bool' ? 1 : 4);

/** The collapsed index space of `spec` (see {@link collapse}), with the output's strides of an accumulating reduction last. */
function layoutOf(spec: LoopSpec): { shape: number[]; nOuter: number; strides: number[][]; outStrides: number[] | null } {
  const acc = spec.reduce ? (spec.accumulate ?? null) : null;
  const R = spec.reads.length;
  const c = collapse(spec.shape, acc ? spec.shape.length : spec.reduce ? spec.nOuter : spec.shape.length, [
    ...spec.reads.map((r) => r.strides),
    ...(acc ? [acc.outStrides] : []),
  ]);
  return { shape: c.shape, nOuter: c.nOuter, strides: c.strides.slice(0, R), outStrides: acc ? c.strides[R]! : null };
}

/** Identity of a reduction (the value of an empty one). */
const IDENTITY = { sum: 0, max: -Infinity, min: Infinity } as const;

/**
 * Emits the function body of `spec`: parameters r0…, out, then s0… (the stores) or, for an
 * accumulating sum, the address of a float64 scratch of the output's size (byte addresses).
 *
 * Elementwise: each element is computed and stored at the running output position. A reduction
 * with its reduced axes innermost keeps its accumulators in registers per output (sums in two
 * f64x2, so float32 terms add in double precision as the CPU kernel's do, in another order;
 * max/min in an f32x4, NaN propagating); an accumulating one (the last axis kept) adds each
 * vector of its input into the outputs at their positions (a float64 scratch for sums).
 */
function emitLoop(f: FnBuilder, spec: LoopSpec): void {
  const R = spec.reads.length;
  const stores = spec.stores ?? [];
  const reduce = spec.reduce;
  const types = readTypes(spec);
  const es = types.map(bytesOf);
  const { shape, nOuter, strides, outStrides } = layoutOf(spec);
  if (shape.some((d) => d === 0)) return;
  const n = shape.length;
  if (reduce && !outStrides && nOuter >= n) no('a reduction over unit axes only');
  // an accumulating reduction walks the output along the inner axis, or (its kept axes being unit ones) stays on one output
  const innerOut = outStrides && n > 0 ? outStrides[n - 1]! : 0;
  if (innerOut !== 0 && innerOut !== 1) no('an accumulating reduction whose inner axis is not contiguous in the output');
  const vec = new VectorDialect(f);
  const outParams = [R, ...stores.map((_, q) => R + 1 + q)];
  const outRefs: Ref[] = reduce ? [] : [spec.result, ...stores];
  const outTypes: LaneType[] = [laneType(spec.outDtype), ...stores.map((x) => (x.kind === 'op' ? laneType(spec.ops[x.index]!.dtype) : types[x.index]!))];
  const scratchParam = R + 1;
  // byte positions of the reads at the current level, starting from their offsets
  const cur: number[] = spec.reads.map((r, i) => {
    if (r.offset === 0) return f.param(i);
    const l = f.local('i32');
    f.get(f.param(i)).i32(r.offset * es[i]!).op('i32.add').set(l);
    return l;
  });
  const o = f.local('i32'); // index of the output element (elementwise, innermost reductions)
  /** Pushes the address of element `o` of the output at parameter `param`, of `bytes` bytes per element. */
  const outAddr = (param: number, bytes: number) => {
    f.get(f.param(param)).get(o);
    if (bytes === 4) f.i32(2).op('i32.shl');
    f.op('i32.add');
  };
  f.i32(0).set(o);
  const inner = n - 1;
  const innerStride = (r: number) => (n === 0 ? 0 : strides[r]![inner]!);
  const invariantRead = spec.reads.map((_, r) => innerStride(r) === 0);
  const opInvariant: boolean[] = [];
  const isInvariant = (x: Ref) => (x.kind === 'read' ? invariantRead[x.index]! : opInvariant[x.index]!);
  spec.ops.forEach((op, k) => (opInvariant[k] = op.args.every(isInvariant)));
  const readLocal = spec.reads.map(() => f.local('v128'));
  const opLocal = spec.ops.map(() => f.local('v128'));
  const local = (x: Ref) => (x.kind === 'read' ? readLocal[x.index]! : opLocal[x.index]!);
  const computeOps = (invariant: boolean) =>
    spec.ops.forEach((op, k) => {
      if (opInvariant[k] !== invariant) return;
      vec.value(op.expr, op.args.map(local), op.args.map((x) => (x.kind === 'read' ? types[x.index]! : laneType(spec.ops[x.index]!.dtype))), laneType(op.dtype));
      f.set(opLocal[k]!);
    });
  const splat = (v: number) => f.f32(v).op('f32x4.splat');
  const laneZero = () => f.i64x2(0xffffffffn, 0n); // i32 lanes [−1, 0, 0, 0]
  const combine = reduce === 'max' ? 'f32x4.max' : 'f32x4.min';

  // accumulating reductions: the outputs (max/min) or a float64 scratch (sums) start at the identity
  const accBytes = reduce === 'sum' ? 8 : 4;
  const accBase = outStrides ? (reduce === 'sum' ? f.param(scratchParam) : f.param(R)) : -1;
  const outSize = spec.accumulate?.outSize ?? 0;
  if (outStrides) {
    const q = f.local('i32');
    const end = f.local('i32');
    f.i32(outSize).set(end);
    f.for(q, () => f.i32(0), end, 1, () => {
      f.get(accBase).get(q).i32(accBytes).op('i32.mul').op('i32.add');
      if (reduce === 'sum') f.f64(0).mem('f64.store');
      else f.f32(IDENTITY[reduce!]).mem('f32.store');
    });
  }
  // innermost reductions: accumulators per output
  const accLo = f.local('v128');
  const accHi = f.local('v128');
  const initAcc = () => {
    if (reduce === 'sum') f.f64(0).op('f64x2.splat').tee(accLo).set(accHi);
    else splat(IDENTITY[reduce!]).set(accLo);
  };
  const finishAcc = () => {
    outAddr(R, 4);
    if (reduce === 'sum') {
      f.get(accLo).get(accHi).op('f64x2.add').tee(accLo).extractLane('f64x2', 0).get(accLo).extractLane('f64x2', 1).op('f64.add').op('f32.demote_f64').mem('f32.store');
    } else {
      f.get(accLo).get(accLo).get(accLo).shuffle([2, 3, 0, 1], 4).op(combine).set(accLo);
      f.get(accLo).get(accLo).get(accLo).shuffle([1, 0, 3, 2], 4).op(combine).extractLane('f32x4', 0).mem('f32.store');
    }
    f.inc(o, 1);
  };

  /** Consumes the result vector of one step (`lanes` valid lanes) at the output position `pOut`. */
  const consume = (lanes: 4 | 1, pOut: number) => {
    if (!reduce) {
      outRefs.forEach((x, q) => {
        const t = outTypes[q]!;
        outAddr(outParams[q]!, bytesOf(t));
        f.get(local(x));
        if (t === 'bool') {
          // lane masks → bytes 0 or 1: and 1, then narrow 32 → 16 → 8 bits
          const tmp = vec.scratch();
          f.i32(1).op('i32x4.splat').op('v128.and').tee(tmp).get(tmp).op('i16x8.narrow_i32x4_u').tee(tmp).get(tmp).op('i8x16.narrow_i16x8_u');
          f.storeLane(lanes === 4 ? 32 : 8, 0);
        } else if (lanes === 4) f.mem('v128.store', 0, 2);
        else f.storeLane(32, 0);
      });
      f.inc(o, lanes);
      return;
    }
    const v = local(spec.result);
    if (!outStrides) {
      if (reduce === 'sum') {
        f.get(accLo).get(v).op('f64x2.promote_low_f32x4');
        if (lanes === 1) f.i64x2(-1n, 0n).op('v128.and');
        f.op('f64x2.add').set(accLo);
        if (lanes === 4) f.get(accHi).get(v).get(v).shuffle([2, 3, 0, 1], 4).op('f64x2.promote_low_f32x4').op('f64x2.add').set(accHi);
      } else {
        f.get(accLo).get(v);
        if (lanes === 1) {
          splat(IDENTITY[reduce]);
          laneZero();
          f.op('v128.bitselect'); // the empty lanes hold the identity
        }
        f.op(combine).set(accLo);
      }
      return;
    }
    if (innerOut === 0) {
      // every lane adds into the one output at pOut
      if (reduce === 'sum') {
        f.get(pOut).get(pOut).mem('f64.load').get(v).op('f64x2.promote_low_f32x4');
        if (lanes === 4) f.get(v).get(v).shuffle([2, 3, 0, 1], 4).op('f64x2.promote_low_f32x4').op('f64x2.add');
        else f.i64x2(-1n, 0n).op('v128.and');
        const t = vec.scratch();
        f.tee(t).extractLane('f64x2', 0).get(t).extractLane('f64x2', 1).op('f64.add').op('f64.add').mem('f64.store');
      } else {
        const t = vec.scratch();
        f.get(pOut).get(pOut).mem('f32.load').get(v);
        if (lanes === 1) {
          splat(IDENTITY[reduce]);
          laneZero();
          f.op('v128.bitselect');
        }
        f.tee(t).get(t).get(t).shuffle([2, 3, 0, 1], 4).op(combine).tee(t).get(t).get(t).shuffle([1, 0, 3, 2], 4).op(combine).extractLane('f32x4', 0);
        f.op(reduce === 'max' ? 'f32.max' : 'f32.min').mem('f32.store');
      }
      return;
    }
    // accumulate into the outputs at pOut (contiguous along the inner axis)
    if (reduce === 'sum') {
      if (lanes === 4) {
        f.get(pOut).get(pOut).mem('v128.load', 0, 3).get(v).op('f64x2.promote_low_f32x4').op('f64x2.add').mem('v128.store', 0, 3);
        f.get(pOut).get(pOut).mem('v128.load', 16, 3).get(v).get(v).shuffle([2, 3, 0, 1], 4).op('f64x2.promote_low_f32x4').op('f64x2.add').mem('v128.store', 16, 3);
      } else f.get(pOut).get(pOut).mem('f64.load').get(v).extractLane('f32x4', 0).op('f64.promote_f32').op('f64.add').mem('f64.store');
    } else if (lanes === 4) f.get(pOut).get(pOut).mem('v128.load', 0, 2).get(v).op(combine).mem('v128.store', 0, 2);
    else f.get(pOut).get(pOut).mem('f32.load').get(v).extractLane('f32x4', 0).op(reduce === 'max' ? 'f32.max' : 'f32.min').mem('f32.store');
  };

  const innermost = (ptr: readonly number[], outPtr: number) => {
    // hoisted: reads that do not move along the inner axis, and what depends only on them
    const toMask = () => f.i32(0).op('i32x4.splat').op('i32x4.ne'); // bytes 0/1 widened to lanes → lane masks
    spec.reads.forEach((_, r) => {
      if (!invariantRead[r]) return;
      f.get(ptr[r]!).mem(types[r] === 'bool' ? 'v128.load8_splat' : 'v128.load32_splat');
      if (types[r] === 'bool') toMask();
      f.set(readLocal[r]!);
    });
    computeOps(true);
    const len = n === 0 ? 1 : shape[inner]!;
    const moving = spec.reads.map((_, r) => r).filter((r) => !invariantRead[r]);
    const p = moving.map((r) => {
      const l = f.local('i32');
      f.get(ptr[r]!).set(l);
      return l;
    });
    const pOut = f.local('i32');
    if (outStrides) f.get(outPtr).set(pOut);
    const body = (lanes: 4 | 1) => {
      moving.forEach((r, m) => {
        const s = innerStride(r);
        const t = types[r]!;
        if (t === 'bool') {
          if (lanes === 1) f.get(p[m]!).mem('i32.load8_u').op('i32x4.splat');
          else if (s === 1) f.get(p[m]!).mem('v128.load32_zero', 0, 0).op('i16x8.extend_low_i8x16_u').op('i32x4.extend_low_i16x8_u');
          else {
            f.get(p[m]!).mem('i32.load8_u').op('i32x4.splat');
            for (let lane = 1; lane < 4; lane++) f.get(p[m]!).mem('i32.load8_u', lane * s).replaceLane(lane, 'i32');
          }
          toMask();
        } else if (lanes === 1) f.get(p[m]!).mem('v128.load32_zero');
        else if (s === 1) f.get(p[m]!).mem('v128.load', 0, 2);
        else {
          const [load, kind] = t === 'float32' ? (['f32.load', 'f32'] as const) : (['i32.load', 'i32'] as const);
          f.get(p[m]!).mem(load).op(kind === 'f32' ? 'f32x4.splat' : 'i32x4.splat');
          for (let lane = 1; lane < 4; lane++) f.get(p[m]!).mem(load, lane * s * 4).replaceLane(lane, kind);
        }
        f.set(readLocal[r]!);
      });
      computeOps(false);
      consume(lanes, pOut);
      moving.forEach((r, m) => f.inc(p[m]!, lanes * innerStride(r) * es[r]!));
      if (outStrides && innerOut !== 0) f.inc(pOut, lanes * accBytes);
    };
    const j = f.local('i32');
    const end = f.local('i32');
    const vecLen = len & ~3;
    if (vecLen > 0) {
      f.i32(vecLen).set(end);
      f.for(j, () => f.i32(0), end, 4, () => body(4));
    }
    if (len > vecLen) {
      f.i32(len).set(end);
      f.for(j, () => f.i32(vecLen), end, 1, () => body(1));
    }
  };

  const level = (a: number, ptr: readonly number[], outPtr: number) => {
    const first = reduce !== null && !outStrides && a === nOuter;
    if (first) initAcc();
    if (a >= inner) innermost(ptr, outPtr);
    else {
      const i = f.local('i32');
      const end = f.local('i32');
      f.i32(shape[a]!).set(end);
      const next = ptr.map((p, r) => (strides[r]![a] === 0 ? p : f.local('i32')));
      const os = outStrides ? outStrides[a]! : 0;
      const nextOut = os === 0 ? outPtr : f.local('i32');
      f.for(i, () => f.i32(0), end, 1, () => {
        ptr.forEach((p, r) => {
          const s = strides[r]![a]!;
          if (s !== 0) f.get(p).get(i).i32(s * es[r]!).op('i32.mul').op('i32.add').set(next[r]!);
        });
        if (os !== 0) f.get(outPtr).get(i).i32(os * accBytes).op('i32.mul').op('i32.add').set(nextOut);
        level(a + 1, next, nextOut);
      });
    }
    if (first) finishAcc();
  };
  level(0, cur, accBase);

  if (outStrides && reduce === 'sum') {
    // the float64 sums, rounded once into the float32 outputs
    const q = f.local('i32');
    const end = f.local('i32');
    f.i32(outSize).set(end);
    f.for(q, () => f.i32(0), end, 1, () => {
      f.get(f.param(R)).get(q).i32(4).op('i32.mul').op('i32.add');
      f.get(accBase).get(q).i32(8).op('i32.mul').op('i32.add').mem('f64.load').op('f32.demote_f64').mem('f32.store');
    });
  }
}

const cache = new Map<string, LoopFn | null>();
/** Distinct loop signatures kept compiled (the oldest dropped past this). */
const MAX_COMPILED = 1024;

/**
 * The WebAssembly function of the loop `spec`, wrapped as a {@link LoopFn} over its buffers (reads,
 * output, stores), or null when the loop is not one this generator compiles (see the file
 * comment). Resident buffers are passed by their offset in the wasm memory; any other is copied in
 * (an input) or out (an output) around the call.
 */
export function compileFusedLoop(spec: LoopSpec): LoopFn | null {
  const key = JSON.stringify(spec);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let fn: LoopFn | null;
  try {
    readTypes(spec);
    if (paramsOf(spec).length > MAX_PARAMS) no('more operands than a function takes');
    fn = instantiate(spec);
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    fn = null;
  }
  cache.set(key, fn);
  if (cache.size > MAX_COMPILED) cache.delete(cache.keys().next().value!);
  return fn;
}

/** Compiled fused loops (those this generator declined included), for tests and diagnostics. */
export const fusedLoopCacheSize = (): number => cache.size;

/** Bytes each read of `spec` reaches (a host buffer is copied in only that far: a scalar read of a constant broadcast while tracing copies one element). */
const reachOf = (spec: LoopSpec): number[] => {
  const types = readTypes(spec);
  return spec.reads.map((r, i) => bytesOf(types[i]!) * (spec.shape.some((d) => d === 0) ? 0 : 1 + r.offset + r.strides.reduce((s, st, a) => s + st * (spec.shape[a]! - 1), 0)));
};

/** Bytes of the float64 scratch of an accumulating sum (0 for any other loop). */
const scratchOf = (spec: LoopSpec): number => (spec.reduce === 'sum' && spec.accumulate ? spec.accumulate.outSize * 8 : 0);

/** The parameters of a loop's function: its reads, outputs, and scratch (see {@link emitLoop}). */
const paramsOf = (spec: LoopSpec): ValType[] =>
  Array.from({ length: spec.reads.length + 1 + (spec.reduce ? 0 : (spec.stores?.length ?? 0)) + (scratchOf(spec) > 0 ? 1 : 0) }, () => 'i32');

/** Compiles `mod` and instantiates it on the kernels' memory. */
function exportsOf(mod: ModuleBuilder): Record<string, (...addrs: number[]) => void> {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(mod.bytes() as BufferSource), { env: { memory: getKernels().arena.memory } });
  return instance.exports as Record<string, (...addrs: number[]) => void>;
}

function instantiate(spec: LoopSpec): LoopFn {
  const R = spec.reads.length;
  const run = exportsOf(new ModuleBuilder(getKernels().arena.limits).func('loop', paramsOf(spec), [], (f) => emitLoop(f, spec)))['loop']!;
  const reach = reachOf(spec);
  const scratch = scratchOf(spec);
  return (...bufs: Buffer[]) =>
    withCall((call) => {
      const addrs = bufs.map((b, i) => (i < R ? call.in(b, reach[i]) : call.at(b)));
      if (scratch > 0) addrs.push(call.temp(scratch, 'float64 sums'));
      run(...addrs);
    });
}

const runs = new Map<string, LoopRunFn | null>();

/**
 * The loops `specs` (each one {@link compileFusedLoop} compiles) as one module whose driver calls
 * them in order: one call from JavaScript for the whole sequence (null when their buffers together
 * exceed what one function takes). Every output must be resident (a
 * host output would live in scratch that a later loop of the run could not see): otherwise the run
 * returns false and the caller runs the loops one by one. Host inputs are copied in once, as far as
 * any loop reads them.
 */
export function compileFusedRun(specs: readonly LoopSpec[]): LoopRunFn | null {
  const key = JSON.stringify(specs);
  const hit = runs.get(key);
  if (hit !== undefined) return hit;
  let fn: LoopRunFn | null = null;
  if (specs.length >= 2 && specs.every((s) => compileFusedLoop(s) !== null) && specs.reduce((n, s) => n + paramsOf(s).length, 0) <= MAX_PARAMS) {
    const mod = new ModuleBuilder(getKernels().arena.limits);
    const params = specs.map(paramsOf);
    specs.forEach((spec, k) => mod.func(`l${k}`, params[k]!, [], (f) => emitLoop(f, spec)));
    mod.func('run', params.flat(), [], (f) => {
      let base = 0;
      params.forEach((ps, k) => {
        ps.forEach((_, p) => f.get(f.param(base + p)));
        f.call(k);
        base += ps.length;
      });
    });
    const run = exportsOf(mod)['run']!;
    const reach = specs.map(reachOf);
    const scratch = specs.map(scratchOf);
    const reads = specs.map((s) => s.reads.length);
    fn = (bufs) =>
      withCall((call) => {
        const { arena } = call.ks;
        const need = new Map<Buffer, number>();
        for (let k = 0; k < bufs.length; k++) {
          const bs = bufs[k]!;
          for (let i = 0; i < bs.length; i++) {
            const b = bs[i]!;
            if (arena.owns(b)) continue;
            if (i >= reads[k]!) return false;
            need.set(b, Math.max(need.get(b) ?? 0, reach[k]![i]!));
          }
        }
        const at = new Map<Buffer, number>();
        for (const [b, bytes] of need) at.set(b, call.in(b, bytes));
        const addrs: number[] = [];
        bufs.forEach((bs, k) => {
          for (const b of bs) addrs.push(at.get(b) ?? b.byteOffset);
          if (scratch[k]! > 0) addrs.push(call.temp(scratch[k]!, 'float64 sums'));
        });
        run(...addrs);
        return true;
      });
  }
  runs.set(key, fn);
  if (runs.size > MAX_COMPILED) runs.delete(runs.keys().next().value!);
  return fn;
}
