import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as P from '../src/index.js';
import { ArrayTensor, type Tensor } from '../src/index.js';
import { cpuBackend } from '../src/backends/cpu/index.js';
import { hostDispatches } from '../src/backends/dispatch-count.js';
import { compileFusedLoop } from '../src/backends/wasm/fused-kernel.js';
import { ArenaFullError } from '../src/backends/wasm/arena.js';
import { getKernels } from '../src/backends/wasm/kernels.js';
import { wasmAvailable } from '../src/backends/wasm/index.js';
import type { LoopOp, LoopSpec, Ref } from '../src/core/loop.js';
import { arityOf, type ScalarExpr } from '../src/core/scalar.js';
import { compileLoop } from '../src/jit/codegen.js';
import { jit } from '../src/jit/jit.js';
import { primitives } from '../src/prim/primitive.js';
import { arbSeed, runs, TOL } from './harness/index.js';
import { collect } from './harness/collect.js';

/**
 * jit's fused loops compiled to WebAssembly SIMD on cpu-wasm (src/backends/wasm/fused-kernel.ts):
 *
 * - every elementwise record compiles for float32, int32 and bool operands (save float32 → int32
 *   casts, int32 division and powers, sin, cos, log1p), and its loop equals the CPU kernel: bit
 *   for bit for IEEE and wrapping int32 arithmetic, comparisons, select, casts, abs/neg/floor/sqrt;
 *   within one float32 ulp for exp, expm1, tanh, log, pow and integer powers;
 * - generated loops (chains of records, strided, broadcast and scalar reads, tails of every length,
 *   stored second outputs, sum/max/min reductions over any axes in both of jit's orders) equal jit's
 *   JavaScript loop of the same description: bit for bit, sums within one float32 ulp;
 * - generated programs jitted on cpu-wasm, with full collections between calls and freed regions
 *   poisoned, give the CPU oracle's eager numbers (harness tolerances) and never read a freed buffer.
 */

const skip = wasmAvailable ? false : 'cpu-wasm: this runtime has no WebAssembly SIMD; backend absent, laws skipped';
if (skip) console.log(`# ${skip}`);

/** Distance in float32 units in the last place (0 for equal values and for two NaNs). */
function ulps(a: number, b: number): number {
  if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) return 0;
  if (Number.isNaN(a) || Number.isNaN(b)) return Infinity;
  const key = (x: number) => {
    const i = new Int32Array(Float32Array.of(x).buffer)[0]!;
    return i < 0 ? -2147483648 - i : i; // monotone in x, −0 next to +0
  };
  return Math.abs(key(a) - key(b));
}

type Lane = 'float32' | 'int32' | 'bool';
type Col = Float32Array | Int32Array | Uint8Array;

/** Runs a compiled loop on resident buffers holding `cols` and returns copies of its outputs (result, then stores) of dtypes `outs`. */
function runWasm(fn: (...b: Col[]) => void, cols: readonly Col[], outs: readonly (readonly [Lane, number])[]): Col[] {
  const heap = getKernels().heap;
  const dtypeOf = (c: Col): Lane => (c instanceof Float32Array ? 'float32' : c instanceof Int32Array ? 'int32' : 'bool');
  const ins = cols.map((c) => {
    const r = heap.resident(dtypeOf(c), Math.max(1, c.length))!;
    r.set(c);
    return r;
  });
  const os = outs.map(([d, n]) => heap.resident(d, Math.max(1, n))!.subarray(0, n));
  fn(...ins, ...os);
  return os.map((o) => o.slice());
}

/** Runs a compiled float32 loop (see {@link runWasm}). */
const runWasm32 = (fn: unknown, cols: readonly Float32Array[], outs: readonly number[]): Float32Array[] =>
  runWasm(fn as never, cols, outs.map((n) => ['float32', n] as const)) as Float32Array[];

const N = 37; // nine vectors of four and a tail of one

const SPECIAL: Record<Lane, readonly number[]> = {
  float32: [0, -0, 1, -1, 0.5, -2.25, 3, 7.5, 1e-3, 1e-40, 88.5, -100, 3.4e38, Infinity, -Infinity, NaN],
  int32: [0, 1, -1, 2, -3, 7, 46341, 2147483647, -2147483648],
  bool: [0, 1],
};
const valueOf = (d: Lane) =>
  fc.oneof(
    fc.constantFrom(...SPECIAL[d]),
    d === 'bool' ? fc.constantFrom(0, 1) : d === 'int32' ? fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) : fc.oneof(fc.double({ min: -20, max: 20 }), fc.float({ noNaN: false })),
  );
const colOf = (d: Lane, v: readonly number[]): Col => (d === 'float32' ? Float32Array.from(v) : d === 'int32' ? Int32Array.from(v) : Uint8Array.from(v));
const LANES: readonly Lane[] = ['float32', 'int32', 'bool'];
const combos = (n: number): Lane[][] => (n === 0 ? [[]] : LANES.flatMap((d) => combos(n - 1).map((c) => [d, ...c])));

/** Every elementwise record with parameters to try and each combination of float32/int32/bool operands its shape rule accepts. */
const laneRecords = () =>
  [...primitives().values()].flatMap((p) => {
    if (p.fusion.role !== 'elementwise') return [];
    const paramsList = p.name === 'integer_pow' ? [-3, -1, 0, 1, 2, 3, 5].map((y) => ({ y })) : p.name === 'convert' ? LANES.map((dtype) => ({ dtype })) : [{}];
    return paramsList.flatMap((params) => {
      const expr = (p.fusion as { scalar: (q: unknown) => ScalarExpr }).scalar(params);
      return combos(arityOf(expr)).flatMap((types) => {
        try {
          const out = p.abstractEval(types.map((dtype) => ({ shape: [1], dtype })), params as never)[0]!.dtype;
          return out === 'float64' ? [] : [{ p, params, expr, types, out: out as Lane }];
        } catch {
          return []; // not defined on these operands
        }
      });
    });
  });

test('every elementwise record compiles to a fused wasm loop over float32, int32 and bool lanes equal to the CPU kernel (bitwise; float32 transcendentals and integer powers within 1 ulp)', { skip }, () => {
  const compiled = new Set<string>();
  for (const { p, params, expr, types, out } of laneRecords()) {
    const spec: LoopSpec = {
      shape: [N],
      nOuter: 1,
      reads: types.map(() => ({ strides: [1], offset: 0 })),
      ops: [{ expr, dtype: out, argDtypes: types, args: types.map((_, index) => ({ kind: 'read' as const, index })) }],
      result: { kind: 'op', index: 0 },
      reduce: null,
      outDtype: out,
    };
    const fn = compileFusedLoop(spec);
    if (fn === null) continue;
    compiled.add(`${p.name}(${types})`);
    const bound = out === 'float32' && ['exp', 'expm1', 'tanh', 'log', 'integer_pow', 'pow'].includes(p.name) ? 1 : 0;
    fc.assert(
      fc.property(fc.tuple(...types.map((d) => fc.array(valueOf(d), { minLength: 1, maxLength: N }))), (raw) => {
        const cols = types.map((d, k) => colOf(d, Array.from({ length: N }, (_, i) => raw[k]![i % raw[k]!.length]!)));
        const want = cpuBackend.execute(p, cols.map((c, k) => new ArrayTensor([N], types[k]!, c, 'cpu')), params, [{ shape: [N], dtype: out }])[0]!;
        const [got] = runWasm(fn as never, cols, [[out, N]]);
        for (let i = 0; i < N; i++) {
          const d = out === 'float32' ? ulps(got![i]!, want[i]!) : Object.is(got![i], want[i]) ? 0 : Infinity;
          if (d > bound) assert.fail(`${p.name}(${cols.map((c, k) => `${types[k]} ${c[i]}`).join(', ')}) ${JSON.stringify(params)}: wasm loop ${got![i]}, cpu kernel ${want[i]} (${d} ulps > ${bound})`);
        }
      }),
      runs(20),
    );
  }
  const unary = ['neg', 'abs', 'sqrt', 'floor', 'exp', 'expm1', 'tanh', 'log', 'integer_pow'].map((n) => `${n}(float32)`);
  const binary = ['add', 'sub', 'mul', 'div', 'max', 'min', 'lt', 'pow'].map((n) => `${n}(float32,float32)`);
  const expected = [...unary, ...binary, 'add(int32,int32)', 'mul(int32,int32)', 'max(int32,int32)', 'eq(int32,int32)', 'select(bool,float32,float32)', 'and(bool,bool)', 'not(bool)', 'convert(bool)', 'convert(int32)'];
  for (const name of expected) assert.ok(compiled.has(name), `${name} compiles to a fused wasm loop (compiled: ${[...compiled].join(' ')})`);
});

/** Records whose float32 loops are bitwise equal to jit's JavaScript loops (no transcendental). */
const EXACT = ['add', 'sub', 'mul', 'div', 'max', 'min', 'neg', 'abs', 'sqrt', 'floor'];

interface LoopCase {
  readonly shape: number[];
  readonly reads: { strides: number[]; offset: number; size: number }[];
  readonly ops: LoopOp[];
  readonly stores: Ref[];
}

/** A generated loop: a shape of rank 0–3, reads that are contiguous, transposed, broadcast or scalar, a chain of exact records. */
const arbLoop: fc.Arbitrary<LoopCase> = fc
  .record({
    shape: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 0, maxLength: 3 }),
    reads: fc.array(fc.tuple(fc.nat(3), fc.nat(5)), { minLength: 1, maxLength: 4 }),
    ops: fc.array(fc.tuple(fc.nat(EXACT.length - 1), fc.nat(), fc.nat()), { minLength: 1, maxLength: 8 }),
    stores: fc.array(fc.nat(), { maxLength: 2 }),
  })
  .map(({ shape, reads, ops, stores }) => {
    const rank = shape.length;
    const contiguous = (s: readonly number[]) => s.map((_, a) => s.slice(a + 1).reduce((p, d) => p * d, 1));
    const rs = reads.map(([kind, offset]) => {
      // 0: contiguous, 1: reversed axes (a transpose), 2: the last axis broadcast, 3: a scalar
      const size = shape.reduce((p, d) => p * d, 1);
      if (kind === 3 || rank === 0) return { strides: shape.map(() => 0), offset, size: offset + 1 };
      if (kind === 1) {
        const rev = contiguous([...shape].reverse()).reverse();
        return { strides: rev, offset, size: offset + size };
      }
      if (kind === 2) {
        const lead = contiguous(shape.slice(0, -1));
        return { strides: [...lead, 0], offset, size: offset + size / shape[rank - 1]! };
      }
      return { strides: contiguous(shape), offset, size: offset + size };
    });
    const loopOps: LoopOp[] = [];
    for (const [k, i, j] of ops) {
      const p = primitives().get(EXACT[k]!)!;
      const n = ['neg', 'abs', 'sqrt', 'floor'].includes(p.name) ? 1 : 2;
      const pick = (x: number): Ref => {
        const total = rs.length + loopOps.length;
        const at = x % total;
        return at < rs.length ? { kind: 'read', index: at } : { kind: 'op', index: at - rs.length };
      };
      const args = [pick(i), pick(j)].slice(0, n);
      loopOps.push({ expr: (p.fusion as { scalar: (q: unknown) => LoopOp['expr'] }).scalar({}), dtype: 'float32', argDtypes: args.map(() => 'float32'), args });
    }
    return { shape, reads: rs, ops: loopOps, stores: stores.map((s): Ref => ({ kind: 'op', index: s % loopOps.length })) };
  });

/** The spec of a generated loop; with `reduce`, over `axes` in one of the two orders jit uses (see program.ts groupLoop). */
function specOf(c: LoopCase, reduce: null | { kind: 'sum' | 'max' | 'min'; axes: number[]; accumulate: boolean }): LoopSpec {
  const rank = c.shape.length;
  const base = { ops: c.ops, result: { kind: 'op', index: c.ops.length - 1 } as Ref, outDtype: 'float32' as const };
  if (!reduce) return { ...base, shape: c.shape, nOuter: rank, reads: c.reads.map(({ strides, offset }) => ({ strides, offset })), stores: c.stores, reduce: null };
  const { kind, axes } = reduce;
  const accumulate = reduce.accumulate && rank > 0 && !axes.includes(rank - 1);
  const perm = accumulate ? [...c.shape.keys()] : [...c.shape.keys()].filter((a) => !axes.includes(a)).concat(axes);
  const outShape = c.shape.filter((_, a) => !axes.includes(a));
  const kept = outShape.map((_, a) => outShape.slice(a + 1).reduce((p, d) => p * d, 1));
  let k = 0;
  const outStrides = c.shape.map((_, a) => (axes.includes(a) ? 0 : kept[k++]!));
  return {
    ...base,
    shape: perm.map((a) => c.shape[a]!),
    nOuter: rank - axes.length,
    reads: c.reads.map(({ strides, offset }) => ({ strides: perm.map((a) => strides[a]!), offset })),
    reduce: kind,
    ...(accumulate ? { accumulate: { outStrides, outSize: outShape.reduce((p, d) => p * d, 1) } } : {}),
  };
}

const arbReduce = fc.option(
  fc.record({ kind: fc.constantFrom<'sum' | 'max' | 'min'>('sum', 'max', 'min'), mask: fc.nat(7), accumulate: fc.boolean() }),
  { nil: null },
);

test('generated fused wasm loops (strided, broadcast and scalar reads; tails; stored second outputs; sum/max/min reductions in both orders) = jit\'s JavaScript loops (bitwise; sums within 1 float32 ulp)', { skip }, () => {
  let reductions = 0;
  fc.assert(
    fc.property(arbLoop, arbReduce, arbSeed, (c, red, seed) => {
      const axes = red ? c.shape.map((_, a) => a).filter((a) => red.mask & (1 << a)) : [];
      const reduce = red && axes.length > 0 && c.shape.every((d) => d > 0) ? { kind: red.kind, axes, accumulate: red.accumulate } : null;
      const spec = specOf(c, reduce);
      const fn = compileFusedLoop(spec);
      // a reduction over unit axes only collapses to no reduction: jit keeps its JavaScript loop
      if (reduce && axes.every((a) => c.shape[a] === 1)) return;
      assert.ok(fn, `a float32 chain of arithmetic records compiles: ${JSON.stringify(spec)}`);
      if (reduce) reductions++;
      const outSize = reduce ? c.shape.filter((_, a) => !axes.includes(a)).reduce((p, d) => p * d, 1) : c.shape.reduce((p, d) => p * d, 1);
      const cols = c.reads.map((r, k) => Float32Array.from({ length: r.size }, (_, i) => 3 * Math.sin(seed + 13 * k + 0.7 * i)));
      const outs = [outSize, ...(reduce ? [] : c.stores.map(() => outSize))];
      const got = runWasm32(fn, cols, outs);
      const want = outs.map((n) => new Float32Array(n));
      compileLoop(spec).fn(...cols, ...want);
      want.forEach((w, q) =>
        w.forEach((v, i) => {
          const d = ulps(got[q]![i]!, v);
          // sums add float32 terms in double precision in another order: the float32 results differ only where a double lies within an ulp of a float32 rounding boundary
          if (d > (reduce?.kind === 'sum' ? 1 : 0) && !(v === 0 && got[q]![i] === 0))
            assert.fail(`output ${q}, element ${i}: wasm ${got[q]![i]}, JavaScript ${v}\n${JSON.stringify(spec)}`);
        }),
      );
    }),
    runs(200),
  );
  assert.ok(reductions > 0, 'some generated loops reduce');
});

/** Elementwise-heavy operations over nodes of one shape: chains, scalar and row/column operands, reductions, GEMMs. */
const MENU: ((a: Tensor, b: Tensor) => Tensor)[] = [
  (a) => P.tanh(a),
  (a, b) => P.mul(a, b),
  (a, b) => P.add(a, P.mul(b, 0.5)),
  (a, b) => P.div(a, P.add(P.abs(b), 1)),
  (a, b) => P.add(a, P.sum(b, 0)),
  (a, b) => P.mul(a, P.mean(b, 1, { keepdims: true })),
  (a, b) => P.div(P.matmul(P.matmul(a, P.transpose(b)), b), a.size),
  (a, b) => P.maximum(a, P.neg(b)),
  (a) => P.exp(P.tanh(a)),
  (a) => P.log(P.add(P.mul(a, a), 0.25)),
  (a) => P.sigmoid(a),
  (a) => P.sqrt(P.add(P.abs(a), 0.5)),
  (a) => P.sub(2, a),
  (a) => P.logSoftmax(a, -1),
  (a, b) => P.transpose(P.add(P.transpose(a), b.shape[0] === b.shape[1] ? b : P.transpose(b))),
];

interface MemProg {
  readonly shape: readonly [number, number];
  readonly ops: readonly (readonly [number, number, number])[];
}
const arbDim = fc.constantFrom(1, 3, 4, 8, 17, 33);
const arbMemProg: fc.Arbitrary<MemProg> = fc.record({
  shape: fc.tuple(arbDim, arbDim),
  ops: fc.array(fc.tuple(fc.nat(MENU.length - 1), fc.nat(), fc.nat()), { minLength: 1, maxLength: 8 }),
});
const runProg = (prog: MemProg) => (x: Tensor, y: Tensor): Tensor[] => {
  const nodes = [x, y];
  for (const [k, i, j] of prog.ops) nodes.push(MENU[k]!(nodes[i % nodes.length]!, nodes[j % nodes.length]!));
  return nodes.slice(2);
};
const inputsFor = (prog: MemProg, seed: number): [Tensor, Tensor] => {
  const [m, n] = prog.shape;
  const make = (s: number) => P.astype(P.fromBuffer(Float64Array.from({ length: m * n }, (_, i) => 1.5 * Math.sin(s + 0.7 * i)), 'float64', [m, n]), 'float32');
  return [make(seed), P.mul(make(seed + 1), 1)];
};

function assertNear(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  const { rtol, atol } = TOL.float32;
  assert.equal(got.length, want.length, `${label}: lengths`);
  for (let i = 0; i < got.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    if (Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w))) continue;
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w))) assert.fail(`${label}: element ${i}: jit on cpu-wasm ${g} vs eager cpu ${w}`);
  }
}

test('generated programs jitted on cpu-wasm, with collections between calls and freed regions poisoned, give the eager CPU numbers', { skip }, async () => {
  const heap = getKernels().heap;
  heap.poison = true;
  let withRuns = 0;
  try {
    await fc.assert(
      fc.asyncProperty(arbMemProg, arbSeed, async (prog, seed) => {
        const f = runProg(prog);
        const want = P.withBackend('cpu', () => f(...inputsFor(prog, seed)).map((t) => t.dataSync()));
        const jf = jit(f);
        const kept = P.withBackend('cpu-wasm', () => jf(...inputsFor(prog, seed)));
        await collect();
        for (let step = 0; step < 2; step++) {
          const again = P.withBackend('cpu-wasm', () => jf(...inputsFor(prog, seed)).map((t) => t.dataSync()));
          again.forEach((g, i) => assertNear(g, want[i]!, `call ${step + 2}, node ${i}`));
          await collect();
        }
        kept.forEach((t, i) => assertNear(t.dataSync(), want[i]!, `kept node ${i} after 3 collections`));
        assert.equal(jf.traceCount(), 1);
        if (P.withBackend('cpu-wasm', () => jf.lower(...inputsFor(prog, seed))).program.steps.some((s) => s.kind === 'loop' && s.run)) withRuns++;
      }),
      runs(40),
    );
  } finally {
    heap.poison = false;
  }
  assert.ok(withRuns > 0, 'some programs run several loops in one call');
});

test('a run of loops whose outputs cannot be resident (the heap refusing regions) runs loop by loop, one dispatch each, with the same values', { skip }, () => {
  const heap = getKernels().heap;
  const f = (x: Tensor, y: Tensor): Tensor[] => {
    const a = P.tanh(P.add(x, y));
    const b = P.sum(P.mul(a, a), 1);
    return [a, P.add(P.exp(P.neg(b)), 1)];
  };
  const x = P.withBackend('cpu-wasm', () => P.mul(P.fromBuffer(Float32Array.from({ length: 99 }, (_, i) => Math.sin(i)), 'float32', [9, 11]), 1));
  const y = P.withBackend('cpu-wasm', () => P.mul(P.fromBuffer(Float32Array.from({ length: 99 }, (_, i) => Math.cos(i)), 'float32', [9, 11]), 1));
  const want = P.withBackend('cpu', () => f(x, y).map((t) => t.dataSync()));
  const jf = jit(f);
  const program = P.withBackend('cpu-wasm', () => jf.lower(x, y)).program;
  const loops = program.steps.filter((s) => s.kind === 'loop').length;
  assert.ok(program.steps.some((s) => s.kind === 'loop' && s.run?.length === loops), program.describe());
  assert.equal(program.stats.dispatches, 1, 'resident: the whole program is one call');
  const limit = heap.maxResidentBytes;
  try {
    heap.maxResidentBytes = 0;
    const before = hostDispatches();
    const got = P.withBackend('cpu-wasm', () => jf(x, y)).map((t) => t.dataSync());
    assert.equal(hostDispatches() - before, loops, 'host outputs: one dispatch per loop');
    got.forEach((g, i) => assertNear(g, want[i]!, `output ${i}`));
  } finally {
    heap.maxResidentBytes = limit;
  }
});

test('a program whose wasm loops find no memory for their operands (the arena full) runs the generic loops, with the same values: never a crash', { skip }, () => {
  const heap = getKernels().heap;
  const f = (x: Tensor, y: Tensor): Tensor[] => {
    const a = P.tanh(P.add(P.mul(x, y), 1));
    return [a, P.sum(P.mul(a, x), 1)];
  };
  // host operands: a loop copies them into scratch regions of the wasm memory
  const x = P.withBackend('cpu-wasm', () => P.fromBuffer(Float32Array.from({ length: 37 * 53 }, (_, i) => Math.sin(i)), 'float32', [37, 53]));
  const y = P.withBackend('cpu-wasm', () => P.fromBuffer(Float32Array.from({ length: 37 * 53 }, (_, i) => Math.cos(0.5 * i)), 'float32', [37, 53]));
  const want = P.withBackend('cpu', () => f(x, y).map((t) => t.dataSync()));
  const jf = jit(f);
  const program = P.withBackend('cpu-wasm', () => jf.lower(x, y)).program;
  assert.ok(program.steps.some((s) => s.kind === 'loop' && s.by === 'cpu-wasm'), `the program has wasm loops:\n${program.describe()}`);
  const scratch = heap.scratch;
  let refused = 0;
  try {
    heap.scratch = (bytes: number, what: string) => {
      refused++;
      throw new ArenaFullError(`cpu-wasm: ${what} needs ${bytes} bytes (the law's arena is full)`);
    };
    const got = P.withBackend('cpu-wasm', () => jf(x, y)).map((t) => t.dataSync());
    assert.ok(refused > 0, 'the loops asked for scratch and were refused');
    got.forEach((g, i) => assertNear(g, want[i]!, `output ${i}`));
  } finally {
    heap.scratch = scratch;
  }
});
