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
import { ArenaFullError } from './arena.js';
import { type FnBuilder, type ValType } from './fn-builder.js';
import { type KernelCall, withCall } from './kernel-call.js';
import { getKernels } from './kernels.js';
import { ModuleBuilder } from './module-builder.js';
import { type LaneType, no, Unsupported, VectorDialect } from './vector-dialect.js';

/** Most parameters of a generated function (engines accept 1000). */
const MAX_PARAMS = 900;

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
  const loop: CompiledLoop = { run, reads: R, reach, scratch };
  // false: no memory for the copies, and the caller runs its generic loop
  return (...bufs: Buffer[]) => callOrDecline(callLoop, loop, bufs);
}

/**
 * `withCall(body, ...args)`, or false when the wasm memory has no room for the call's copies or
 * scratch (the body has run nothing then: it takes them before it runs its loops).
 */
function callOrDecline<A extends unknown[]>(body: (call: KernelCall, ...args: A) => boolean, ...args: A): boolean {
  try {
    return withCall(body, ...args);
  } catch (e) {
    if (e instanceof ArenaFullError) return false;
    throw e;
  }
}

/** How a loop reads its buffers: how many it reads, how far into each, its scratch bytes. */
interface LoopLayout {
  readonly reads: number;
  readonly reach: readonly number[];
  readonly scratch: number;
}

/** A compiled loop: its function and its layout. */
interface CompiledLoop extends LoopLayout {
  readonly run: (...addrs: number[]) => void;
}

// module-level bodies for withCall, not closures made per call (see kernel-call.ts)
function callLoop(call: KernelCall, loop: CompiledLoop, bufs: readonly Buffer[]): boolean {
  const addrs: number[] = [];
  for (let i = 0; i < bufs.length; i++) addrs.push(i < loop.reads ? call.in(bufs[i]!, loop.reach[i]) : call.at(bufs[i]!));
  if (loop.scratch > 0) addrs.push(call.temp(loop.scratch, 'float64 sums'));
  loop.run(...addrs);
  return true;
}

/** Runs the compiled loops of a run on their buffers; false when an output is not resident (see compileFusedRun). */
function callRun(call: KernelCall, run: (...addrs: number[]) => void, loops: readonly LoopLayout[], bufs: readonly (readonly Buffer[])[]): boolean {
  const { arena } = call.ks;
  const need = new Map<Buffer, number>();
  for (let k = 0; k < bufs.length; k++) {
    const bs = bufs[k]!;
    for (let i = 0; i < bs.length; i++) {
      const b = bs[i]!;
      if (arena.owns(b)) continue;
      if (i >= loops[k]!.reads) return false;
      need.set(b, Math.max(need.get(b) ?? 0, loops[k]!.reach[i]!));
    }
  }
  const at = new Map<Buffer, number>();
  for (const [b, bytes] of need) at.set(b, call.in(b, bytes));
  const addrs: number[] = [];
  for (let k = 0; k < bufs.length; k++) {
    for (const b of bufs[k]!) addrs.push(at.get(b) ?? b.byteOffset);
    if (loops[k]!.scratch > 0) addrs.push(call.temp(loops[k]!.scratch, 'float64 sums'));
  }
  run(...addrs);
  return true;
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
    const loops: LoopLayout[] = specs.map((spec) => ({ reads: spec.reads.length, reach: reachOf(spec), scratch: scratchOf(spec) }));
    // false (an output not resident, or no memory for the copies): the caller runs the loops one by one
    fn = (bufs) => callOrDecline(callRun, run, loops, bufs);
  }
  runs.set(key, fn);
  if (runs.size > MAX_COMPILED) runs.delete(runs.keys().next().value!);
  return fn;
}
