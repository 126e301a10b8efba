import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import * as P from '../src/index.js';
import { ArrayTensor, type Aval, type Tensor } from '../src/index.js';
import type { Buffer } from '../src/core/dtype.js';
import { cpuBackend, hasCpuKernel } from '../src/backends/cpu/index.js';
import { elementwiseExpr } from '../src/backends/webgpu/elementwise.js';
import { hasWebGPUKernel } from '../src/backends/webgpu/backend.js';
import { arityOf } from '../src/core/scalar.js';
import { compileLoop } from '../src/jit/codegen.js';
import type { Primitive } from '../src/prim/primitive.js';
import { backendFor, getBackend } from '../src/backends/registry.js';
import { blockSwap, hasWasmKernel, setWasmThreads, setWasmThreadSplit, wasmAvailable, wasmBackend, wasmKernelNames, wasmSplitShapes, wasmThreads, wasmThreadSplit } from '../src/backends/wasm/index.js';
import { primitives } from '../src/prim/primitive.js';
import { Arena, ArenaFullError } from '../src/backends/wasm/arena.js';
import { getKernels } from '../src/backends/wasm/kernels.js';
import { workerFailure } from '../src/backends/wasm/pool.js';
import { sleb, uleb } from '../src/backends/wasm/leb128.js';
import { RUNS, runs } from './harness/index.js';

/**
 * Every backend present against the CPU oracle. For cpu-wasm: each primitive it runs in
 * WebAssembly gives the CPU kernel's values on generated shapes (odd sizes, 0, 1, batches, sizes
 * above and below the SIMD width and the small-input cut-off), float64 to a few ulps of the
 * result's scale and float32 to a bound proportional to the reduction length; results do not
 * depend on the thread count; grad of an MLP loss agrees end to end; backend selection follows
 * setBackend / PARTAX_BACKEND and mixed inputs resolve to a common backend.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
type F = 'float32' | 'float64';
const EPS: Record<F, number> = { float32: 2 ** -24, float64: 2 ** -53 };
/** The smallest subnormal: each rounded product of tiny values may lose up to this much. */
const TINY: Record<F, number> = { float32: 2 ** -149, float64: 2 ** -1074 };

const skip = wasmAvailable ? false : 'cpu-wasm: this runtime has no WebAssembly SIMD; backend absent, laws skipped';
if (skip) console.log(`# ${skip}`);

/** A concrete tensor on the CPU backend from a generated float array. */
const host = (vals: readonly number[], dtype: F, shape: readonly number[]): ArrayTensor =>
  new ArrayTensor(shape, dtype, dtype === 'float32' ? Float32Array.from(vals) : Float64Array.from(vals), 'cpu');

/** The record of the primitive `name`. */
const prim = (name: string) => {
  const p = primitives().get(name);
  assert.ok(p, `no primitive '${name}'`);
  return p;
};

/** Runs one primitive's kernel on both backends. */
function both(name: string, xs: ArrayTensor[], params: unknown, out: Aval[]): [Buffer, Buffer] {
  return [wasmBackend.execute(prim(name), xs, params, out)[0]!, cpuBackend.execute(prim(name), xs, params, out)[0]!];
}

/** Asserts |got − want| ≤ bound[i] elementwise (bound a number or per element); equal values and NaN = NaN pass. */
function within(got: Buffer, want: Buffer, bound: number | ArrayLike<number>, label: string): void {
  assert.equal(got.length, want.length, `${label}: lengths ${got.length} vs ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const b = typeof bound === 'number' ? bound : bound[i]!;
    const d = Math.abs(got[i]! - want[i]!);
    const same = got[i] === want[i] || (Number.isNaN(got[i]!) && Number.isNaN(want[i]!));
    if (!same && !(d <= b)) assert.fail(`${label}: element ${i}: cpu-wasm ${got[i]} vs cpu ${want[i]} (|d| = ${d.toExponential(3)} > ${b.toExponential(3)})`);
  }
}

const arbDtype = fc.constantFrom<F>('float32', 'float64');
const arbVals = (n: number) => fc.array(fc.double({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n });
/** A dimension: mostly small and odd-friendly, sometimes 0 or large enough for several tiles. */
const arbDim = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(0, 1) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 13 }) }, { weight: 2, arbitrary: fc.integer({ min: 14, max: 70 }) });

/** The float32/float64 bound for a sum of `len` rounded terms whose absolute values sum to `scale`. */
const dotBound = (dtype: F, len: number, scale: number) => (len + 2) * (2 * EPS[dtype] * scale + TINY[dtype]);

/** Element bounds for C = A·B: (K + 2)·ε·(|A|·|B|) per element. */
function matmulBounds(a: ArrayTensor, b: ArrayTensor, dtype: F): Float64Array {
  const abs = (t: ArrayTensor) => new ArrayTensor(t.shape, 'float64', Float64Array.from(t.buffer as Buffer, Math.abs), 'cpu');
  const shape = [...a.shape.slice(0, -1), b.shape[b.shape.length - 1]!];
  const s = cpuBackend.execute(prim('matmul'), [abs(a), abs(b)], {}, [{ shape, dtype: 'float64' }])[0]!;
  const k = a.shape[a.shape.length - 1]!;
  return Float64Array.from(s, (v) => dotBound(dtype, k, v));
}

const matmulCase = fc
  .record({ dtype: arbDtype, batch: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), m: arbDim, k: arbDim, n: arbDim })
  .chain(({ dtype, batch, m, k, n }) => {
    const bs = batch.reduce((p, d) => p * d, 1);
    return fc.record({
      dtype: fc.constant(dtype),
      a: arbVals(bs * m * k).map((v) => host(v, dtype, [...batch, m, k])),
      b: arbVals(bs * k * n).map((v) => host(v, dtype, [...batch, k, n])),
    });
  });

const outAval = (shape: readonly number[], dtype: F): Aval[] => [{ shape, dtype }];

test('cpu-wasm matmul = cpu oracle (batched, odd and empty sizes; float64 and float32 within (K+2)·ε·|A||B|)', { skip }, () => {
  fc.assert(
    fc.property(matmulCase, ({ dtype, a, b }) => {
      const shape = [...a.shape.slice(0, -1), b.shape[b.shape.length - 1]!];
      const [got, want] = both('matmul', [a, b], {}, outAval(shape, dtype));
      assert.ok(got instanceof (dtype === 'float32' ? Float32Array : Float64Array), 'matmul: output dtype');
      within(got, want, matmulBounds(a, b, dtype), `matmul ${dtype} [${a.shape}]·[${b.shape}]`);
    }),
    RUNS,
  );
});

test('cpu-wasm matmul: results do not depend on the thread count (bitwise), large odd sizes agree with the oracle', { skip }, () => {
  const before = wasmThreads();
  const policy = wasmThreadSplit();
  setWasmThreadSplit('always'); // every product here splits on two threads
  try {
    // the last one's B (2.5 MB) is packed by both threads before the product; the others' by the caller while the worker wakes
    for (const [dtype, m, k, n] of [['float32', 131, 129, 133], ['float64', 97, 260, 75], ['float32', 301, 515, 9], ['float32', 37, 1200, 520]] as const) {
      const rnd = (len: number, seed: number) => Array.from({ length: len }, (_, i) => Math.sin(seed * 1e3 + i * 1.7));
      const a = host(rnd(m * k, 1), dtype, [m, k]);
      const b = host(rnd(k * n, 2), dtype, [k, n]);
      const av = outAval([m, n], dtype);
      setWasmThreads(1);
      const one = wasmBackend.execute(prim('matmul'), [a, b], {}, av)[0]!;
      setWasmThreads(2);
      const two = wasmBackend.execute(prim('matmul'), [a, b], {}, av)[0]!;
      assert.deepEqual(two, one, `matmul ${dtype} ${m}×${k}×${n}: 2 threads differ from 1`);
      assert.equal(workerFailure(), undefined, 'the worker thread started and answered');
      within(one, cpuBackend.execute(prim('matmul'), [a, b], {}, av)[0]!, matmulBounds(a, b, dtype), `matmul ${dtype} ${m}×${k}×${n}`);
    }
  } finally {
    setWasmThreads(before);
    setWasmThreadSplit(policy);
  }
});

test('cpu-wasm matmul with threads by measurement: both ways run while the gate warms up, every call gives the one-thread bits, the shape is reported', { skip }, () => {
  const before = wasmThreads();
  const policy = wasmThreadSplit();
  try {
    const [m, k, n] = [139, 127, 131]; // a shape no other law multiplies: the gate starts afresh
    const rnd = (len: number, seed: number) => Array.from({ length: len }, (_, i) => Math.cos(seed * 1e3 + i * 0.9));
    const a = host(rnd(m * k, 3), 'float32', [m, k]);
    const b = host(rnd(k * n, 4), 'float32', [k, n]);
    const av = outAval([m, n], 'float32');
    setWasmThreads(1);
    const one = wasmBackend.execute(prim('matmul'), [a, b], {}, av)[0]!;
    setWasmThreads(2);
    setWasmThreadSplit('measure');
    for (let i = 0; i < 12; i++) assert.deepEqual(wasmBackend.execute(prim('matmul'), [a, b], {}, av)[0]!, one, `call ${i} on 2 threads differs from 1`);
    const shape = wasmSplitShapes().find((r) => r.key === `2 float32 1×${m}×${k}×${n} 00 eager`);
    assert.ok(shape, `the gate measured the shape (it knows ${wasmSplitShapes().map((r) => r.key).join('; ')})`);
    assert.equal(shape.calls, 12);
    assert.ok(shape.splits >= 3 && shape.calls - shape.splits >= 3, `both ways ran while warming up: ${shape.splits} of 12 split`);
    for (const kept of [shape.serialMs, shape.splitMs]) assert.ok(kept.length >= 3 && kept.length <= 8, `3 to 8 wall times kept of each way: ${kept.length}`);
    assert.ok(shape.favoured === 'split' || shape.favoured === 'serial');
    // inside a compiled program the same shape is measured apart (no eager garbage around it)
    P.withBackend('cpu-wasm', () => {
      const f = P.jit((x: Tensor, y: Tensor) => P.matmul(x, y));
      const [x, y] = [P.tensor(Array.from(a.buffer as Float32Array), 'float32', [m, k]), P.tensor(Array.from(b.buffer as Float32Array), 'float32', [k, n])];
      for (let i = 0; i < 4; i++) assert.deepEqual(Array.from(f(x, y).dataSync() as Float32Array), Array.from(one as Float32Array), `jitted call ${i} on 2 threads differs from 1`);
    });
    const jitted = wasmSplitShapes().find((r) => r.key === `2 float32 1×${m}×${k}×${n} 00 jit`);
    assert.equal(jitted?.calls, 4, `the jitted calls have their own measurements (the gate knows ${wasmSplitShapes().map((r) => r.key).join('; ')})`);
    assert.throws(() => setWasmThreadSplit('sometimes' as never), /setWasmThreadSplit: expected 'measure' or 'always', got "sometimes"/);
  } finally {
    setWasmThreads(before);
    setWasmThreadSplit(policy);
  }
});

test('cpu-wasm float32 matmul over a long K stays within the blocked bound (KC + K/KC + 2)·ε·Σ|a·b| (KC = 256), where a running sum loses every term after a dominant one', { skip }, () => {
  // row i of A: products in [0.5, 1) and one dominant 2^24·v early on: a float32 running sum then
  // rounds every later term away (each below half an ulp of 2^24), losing ≥ 0.5·(K − p)
  const gen = fc.record({ m: fc.integer({ min: 1, max: 9 }), n: fc.integer({ min: 1, max: 17 }), k: fc.integer({ min: 3000, max: 20_000 }), seed: fc.integer({ min: 1, max: 2 ** 30 }) });
  fc.assert(
    fc.property(gen, ({ m, n, k, seed }) => {
      let r = seed;
      const rand = () => (r = (Math.imul(r, 1103515245) + 12345) >>> 0) / 2 ** 32;
      const a = new Float32Array(m * k).map(() => 0.5 + rand() / 2);
      for (let i = 0; i < m; i++) a[i * k + Math.floor((rand() * k) / 4)] = 2 ** 24 * (1 + rand());
      const got = wasmBackend.execute(prim('matmul'), [host(Array.from(a), 'float32', [m, k]), host(new Array(k * n).fill(1), 'float32', [k, n])], {}, outAval([m, n], 'float32'))[0]!;
      const gamma = (256 + Math.ceil(k / 256) + 2) * EPS.float32;
      for (let i = 0; i < m; i++) {
        let exact = 0;
        for (let q = 0; q < k; q++) exact += a[i * k + q]!; // float64, exact here
        for (let j = 0; j < n; j++) {
          const err = Math.abs(got[i * n + j]! - exact);
          assert.ok(err <= gamma * exact, `${m}×${k}×${n} row ${i} col ${j}: ${got[i * n + j]} vs exact ${exact}: error ${err} > ${(gamma * exact).toFixed(1)}`);
        }
      }
    }),
    runs(30),
  );
});

const ewCase = fc
  .record({ dtype: arbDtype, shape: fc.array(fc.integer({ min: 0, max: 23 }), { minLength: 0, maxLength: 3 }) })
  .chain(({ dtype, shape }) => {
    const n = shape.reduce((p, d) => p * d, 1);
    return fc.record({
      dtype: fc.constant(dtype),
      x: arbVals(n).map((v) => host(v, dtype, shape)),
      y: arbVals(n).map((v) => host(v.map((u) => (u === 0 ? 0.5 : u)), dtype, shape)),
    });
  });

test('cpu-wasm elementwise add/sub/mul/div/max/min and neg/abs/sqrt = cpu oracle exactly (IEEE, correctly rounded)', { skip }, () => {
  const binary = ['add', 'sub', 'mul', 'div', 'max', 'min'].filter((p) => wasmKernelNames.includes(p));
  const unary = ['neg', 'abs', 'sqrt'].filter((p) => wasmKernelNames.includes(p));
  fc.assert(
    fc.property(ewCase, ({ dtype, x, y }) => {
      const av = outAval(x.shape, dtype);
      for (const p of binary) {
        const [got, want] = both(p, [x, y], {}, av);
        within(got, want, 0, `${p} ${dtype} [${x.shape}]`);
      }
      const ax = new ArrayTensor(x.shape, dtype, (x.buffer as Float64Array).map(Math.abs), 'cpu');
      for (const p of unary) {
        const [got, want] = both(p, [p === 'sqrt' ? ax : x], {}, av);
        within(got, want, 0, `${p} ${dtype} [${x.shape}]`);
      }
    }),
    RUNS,
  );
});

/** The same values as `t` in a region of the wasm memory (a resident tensor, read in place by the kernels). */
function resident(t: ArrayTensor): ArrayTensor {
  const r = getKernels().heap.resident(t.dtype, t.size)!;
  r.set(t.buffer as Float64Array);
  return new ArrayTensor(t.shape, t.dtype, r, 'cpu-wasm');
}

/** `t` itself, or its values as a resident tensor. */
const placed = (t: ArrayTensor, inWasm: boolean): ArrayTensor => (inWasm ? resident(t) : t);

/** A deferred swap of the last two axes of `x` (what the eager interpreter gets for `transpose`). */
function deferredT(x: ArrayTensor): ArrayTensor {
  const r = x.shape.length;
  const perm = [...x.shape.keys()].map((i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
  return wasmBackend.defer!(prim('transpose'), [x], { perm }, [{ shape: perm.map((p) => x.shape[p]!), dtype: x.dtype }])!;
}

/** The stored transpose of the last two axes of `x`, by the CPU kernel. */
const storedT = (x: ArrayTensor): ArrayTensor => {
  const r = x.shape.length;
  const perm = [...x.shape.keys()].map((i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
  const shape = perm.map((p) => x.shape[p]!);
  return new ArrayTensor(shape, x.dtype, cpuBackend.execute(prim('transpose'), [x], { perm }, [{ shape, dtype: x.dtype }])[0]!, 'cpu');
};

test('cpu-wasm matmul with either operand a deferred transpose (x·Wᵀ, xᵀ·g, g·Wᵀ; batched, odd and empty sizes) = cpu oracle, packed from the source without storing the transpose', { skip }, () => {
  const flags = fc.record({ ta: fc.boolean(), tb: fc.boolean(), ra: fc.boolean(), rb: fc.boolean() });
  fc.assert(
    fc.property(matmulCase, flags, ({ dtype, a, b }, { ta, tb, ra, rb }) => {
      // op(A) = a: as a deferred transpose, its source holds aᵀ
      const opA = ta ? deferredT(placed(storedT(a), ra)) : placed(a, ra);
      const opB = tb ? deferredT(placed(storedT(b), rb)) : placed(b, rb);
      const shape = [...a.shape.slice(0, -1), b.shape[b.shape.length - 1]!];
      const got = wasmBackend.execute(prim('matmul'), [opA, opB], {}, outAval(shape, dtype))[0]!;
      const want = cpuBackend.execute(prim('matmul'), [a, b], {}, outAval(shape, dtype))[0]!;
      within(got, want, matmulBounds(a, b, dtype), `matmul ${dtype} [${a.shape}]${ta ? 'ᵀ' : ''}·[${b.shape}]${tb ? 'ᵀ' : ''}`);
      if (ta) assert.ok(opA.deferred, 'the transposed A was read from its source, not stored');
      if (tb) assert.ok(opB.deferred, 'the transposed B was read from its source, not stored');
    }),
    RUNS,
  );
});

/** A binary op with one operand broadcast from a block of the output's axes (a scalar, a row, a column…). */
const broadcastCase = fc
  .record({
    dtype: arbDtype,
    shape: fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 4, max: 40 })), { minLength: 0, maxLength: 3 }),
    cut: fc.tuple(fc.nat(), fc.nat()),
    rank0: fc.boolean(),
    op: fc.constantFrom('add', 'sub', 'mul', 'div', 'max', 'min'),
    left: fc.boolean(),
    inWasm: fc.tuple(fc.boolean(), fc.boolean()),
  })
  .chain(({ dtype, shape, cut, rank0, op, left, inWasm }) => {
    const r = shape.length;
    const [p, q] = [Math.min(cut[0], cut[1]) % (r + 1), Math.max(cut[0], cut[1]) % (r + 1)].sort((x, y) => x - y) as [number, number];
    // numpy's broadcast of trailing axes: the source is shape[p..q) then 1s; a scalar may also be rank 0
    const scalar = p === q && rank0;
    const srcShape = scalar ? [] : [...shape.slice(p, q), ...shape.slice(q).map(() => 1)];
    const dims = scalar ? [] : srcShape.map((_, i) => p + i);
    const n = shape.reduce((x, d) => x * d, 1);
    const m = srcShape.reduce((x, d) => x * d, 1);
    return fc.record({
      dtype: fc.constant(dtype),
      op: fc.constant(op),
      left: fc.constant(left),
      inWasm: fc.constant(inWasm),
      shape: fc.constant(shape),
      dims: fc.constant(dims),
      full: arbVals(n).map((v) => host(v, dtype, shape)),
      src: arbVals(m).map((v) => host(v.map((u) => (u === 0 ? 0.75 : u)), dtype, srcShape)),
    });
  });

test('cpu-wasm binary ops with a deferred broadcast operand (a scalar, a bias row, a column; on either side) = cpu oracle exactly, reading the source in place', { skip }, () => {
  fc.assert(
    fc.property(broadcastCase, ({ dtype, op, left, inWasm, shape, dims, full, src }) => {
      const av = outAval(shape, dtype);
      const params = { shape, dims };
      const bc = wasmBackend.defer!(prim('broadcast_in_dim'), [placed(src, inWasm[0])], params, av);
      assert.ok(bc, `a broadcast of one block of axes is deferred (${src.shape} → ${shape}, dims ${dims})`);
      const x = placed(full, inWasm[1]);
      const got = wasmBackend.execute(prim(op), left ? [bc, x] : [x, bc], {}, av)[0]!;
      const stored = new ArrayTensor(shape, dtype, cpuBackend.execute(prim('broadcast_in_dim'), [src], params, av)[0] as Float32Array | Float64Array, 'cpu');
      const want = cpuBackend.execute(prim(op), left ? [stored, full] : [full, stored], {}, av)[0]!;
      within(got, want, 0, `${op} ${dtype} ${left ? `bcast(${src.shape})·[${shape}]` : `[${shape}]·bcast(${src.shape})`}`);
      if (full.size >= 256) assert.ok(bc.deferred, 'above the cut-off the broadcast is read in place, never stored');
    }),
    RUNS,
  );
});

test('cpu-wasm float32 exp, expm1, tanh and log = cpu oracle within 1 float32 ulp (wide, tiny, huge, subnormal, negative, ±0, ±∞, NaN inputs)', { skip }, () => {
  // the primitives cpu-wasm finds a kernel for by their scalar expression, not by name
  const transcendental = [...primitives().values()].filter((p) => !wasmKernelNames.includes(p.name) && hasWasmKernel(p)).map((p) => p.name);
  assert.deepEqual(transcendental.sort(), ['exp', 'expm1', 'log', 'tanh']);
  const special = [0, -0, 1e-45, -1e-45, 1e-40, 1e-30, -1e-8, 0.5493, 0.70710677, 0.7071068, 1, 1.0000001, 1.4142135, 1.4142137, 2, 9.01, 19.99, 20.01, 88.72, 88.73, -103.97, -104, Infinity, -Infinity, NaN, 3.4e38, -3.4e38];
  const value = fc.oneof(
    fc.double({ min: -30, max: 30, noNaN: true }),
    fc.float({ noNaN: false }),
    fc.constantFrom(...special),
  );
  const ulps = (a: number, b: number) => {
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) return 0;
    const ia = new Int32Array(Float32Array.of(a).buffer)[0]!;
    const ib = new Int32Array(Float32Array.of(b).buffer)[0]!;
    return Math.abs(ia - ib);
  };
  fc.assert(
    fc.property(fc.array(value, { minLength: 256, maxLength: 700 }), (vals) => {
      const x = host(vals, 'float32', [vals.length]);
      for (const p of transcendental) {
        const [got, want] = both(p, [x], {}, outAval(x.shape, 'float32'));
        for (let i = 0; i < got.length; i++)
          if (ulps(got[i]!, want[i]!) > 1) assert.fail(`${p}(${(x.buffer as Float32Array)[i]}): cpu-wasm ${got[i]} vs cpu ${want[i]} (${ulps(got[i]!, want[i]!)} ulps)`);
      }
    }),
    RUNS,
  );
});

test('cpu-wasm reduce_sum over any axes = cpu oracle (float32 within (n+2)·ε·Σ|x|)', { skip }, () => {
  const c = fc
    .record({ dtype: arbDtype, shape: fc.array(fc.integer({ min: 0, max: 19 }), { minLength: 1, maxLength: 4 }) })
    .chain(({ dtype, shape }) =>
      fc.record({
        dtype: fc.constant(dtype),
        x: arbVals(shape.reduce((p, d) => p * d, 1)).map((v) => host(v, dtype, shape)),
        axes: fc.subarray(shape.map((_, i) => i), { minLength: 1 }),
      }),
    );
  fc.assert(
    fc.property(c, ({ dtype, x, axes }) => {
      const shape = x.shape.filter((_, i) => !axes.includes(i));
      const av = outAval(shape, dtype);
      const [got, want] = both('reduce_sum', [x], { axes }, av);
      const absx = new ArrayTensor(x.shape, 'float64', Float64Array.from(x.buffer as Buffer, Math.abs), 'cpu');
      const scale = cpuBackend.execute(prim('reduce_sum'), [absx], { axes }, outAval(shape, 'float64'))[0]!;
      const len = axes.reduce((p, a) => p * x.shape[a]!, 1);
      within(got, want, Float64Array.from(scale, (s) => dotBound(dtype, len, s)), `reduce_sum ${dtype} [${x.shape}] axes [${axes}]`);
    }),
    RUNS,
  );
});

test('cpu-wasm transpose = cpu oracle bitwise for every permutation (block swaps in wasm, float64/float32/int32)', { skip }, () => {
  const c = fc
    .record({ dtype: fc.constantFrom('float32', 'float64', 'int32'), shape: fc.array(fc.integer({ min: 0, max: 11 }), { minLength: 1, maxLength: 4 }) })
    .chain(({ dtype, shape }) =>
      fc.record({
        dtype: fc.constant(dtype),
        shape: fc.constant(shape),
        perm: fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length }),
        vals: arbVals(shape.reduce((p, d) => p * d, 1)),
      }),
    );
  let swaps = 0;
  fc.assert(
    fc.property(c, ({ dtype, shape, perm, vals }) => {
      const x =
        dtype === 'int32' ? new ArrayTensor(shape, 'int32', Int32Array.from(vals, (v) => Math.round(v * 1e6)), 'cpu') : host(vals, dtype, shape);
      if (blockSwap(shape, perm) !== null && x.size >= 256) swaps++;
      const [got, want] = both('transpose', [x], { perm }, [{ shape: perm.map((p) => shape[p]!), dtype }]);
      assert.deepEqual(got, want, `transpose ${dtype} [${shape}] perm [${perm}]`);
    }),
    RUNS,
  );
  assert.ok(swaps > 0, 'some generated cases reach the wasm kernel');
  assert.deepEqual(blockSwap([2, 3, 4, 5], [0, 3, 1, 2]), [2, 12, 5, 1]);
  assert.deepEqual(blockSwap([2, 3, 4, 5], [1, 0, 2, 3]), [1, 2, 3, 20]);
  assert.equal(blockSwap([2, 3, 4], [2, 1, 0]), null);
  assert.deepEqual(blockSwap([2, 3, 4], [1, 2, 0]), [1, 2, 12, 1]);
  assert.equal(blockSwap([2, 3], [0, 1]), null);
});

test('cpu-wasm: primitives without a wasm kernel (and int inputs) give the CPU values', { skip }, () => {
  const x = host([1, -2, 3, 4.5, -0.25, 6], 'float64', [2, 3]);
  const i = new ArrayTensor([6], 'int32', Int32Array.from([1, -2, 3, 4, 5, -6]), 'cpu');
  for (const [prim, xs, params, out] of [
    ['tanh', [x], {}, outAval([2, 3], 'float64')],
    ['transpose', [x], { perm: [1, 0] }, outAval([3, 2], 'float64')],
    ['exp', [x], {}, outAval([2, 3], 'float64')],
    ['add', [i, i], {}, [{ shape: [6], dtype: 'int32' }]],
    ['reduce_max', [x], { axes: [1] }, outAval([2], 'float64')],
  ] as const) {
    const [got, want] = both(prim, [...xs], params, [...out]);
    assert.deepEqual(got, want, `${prim}: cpu-wasm differs from cpu`);
  }
});

/** A one-hidden-layer tanh MLP with log-softmax NLL, big enough that every wasm kernel runs. */
function mlpLoss(params: { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor }, x: Tensor, y: Tensor): Tensor {
  const h = P.tanh(P.add(P.matmul(x, params.w1), params.b1));
  const logits = P.add(P.matmul(h, params.w2), params.b2);
  return P.neg(P.mean(P.sum(P.mul(P.logSoftmax(logits, -1), y), 1)));
}

test('end to end: valueAndGrad of an MLP loss on cpu-wasm = on cpu (float64 1e-12, float32 1e-4 relative)', { skip }, () => {
  const before = P.defaultBackend();
  try {
    fc.assert(
      fc.property(arbDtype, fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 40 }), (dtype, seed, batch) => {
        const shapes = { w1: [17, 33], b1: [33], w2: [33, 7], b2: [7] } as const;
        const vals = (shape: readonly number[], s: number) => Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => Math.sin(seed + s * 7.3 + i * 0.37));
        const run = (backend: string) => {
          P.setBackend(backend);
          const params = Object.fromEntries(Object.entries(shapes).map(([k, s], j) => [k, P.tensor(vals(s, j), dtype, s)])) as unknown as {
            w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor;
          };
          const x = P.tensor(vals([batch, 17], 9), dtype, [batch, 17]);
          const y = P.oneHot(P.tensor(Array.from({ length: batch }, (_, i) => (seed + i) % 7), 'int32', [batch]), 7, dtype);
          const [loss, g] = P.valueAndGrad((p: typeof params) => mlpLoss(p, x, y))(params);
          assert.equal((loss as ArrayTensor).backend, backend, 'loss lives on the selected backend');
          return [loss, g.w1, g.b1, g.w2, g.b2] as Tensor[];
        };
        const got = run('cpu-wasm');
        const want = run('cpu');
        const rtol = dtype === 'float64' ? 1e-12 : 1e-4;
        got.forEach((t, j) => {
          const w = want[j]!.dataSync() as Buffer;
          const scale = Math.max(...Array.from(w, Math.abs), 1e-30);
          within(t.dataSync() as Buffer, w, rtol * scale, `MLP ${dtype} batch ${batch}: output ${j}`);
        });
      }),
      runs(100),
    );
  } finally {
    P.setBackend(before);
  }
});

test('backend selection: setBackend tags new tensors and results; mixed inputs use the selected backend; unknown names are errors', { skip }, () => {
  const before = P.defaultBackend();
  try {
    P.setBackend('cpu');
    const onCpu = P.ones([3], 'float32') as ArrayTensor;
    P.setBackend('cpu-wasm');
    const onWasm = P.ones([3], 'float32') as ArrayTensor;
    assert.equal(onCpu.backend, 'cpu');
    assert.equal(onWasm.backend, 'cpu-wasm');
    assert.equal((P.add(onWasm, onWasm) as ArrayTensor).backend, 'cpu-wasm');
    assert.equal((P.add(onCpu, onCpu) as ArrayTensor).backend, 'cpu', 'inputs on one backend stay there');
    assert.equal((P.add(onCpu, onWasm) as ArrayTensor).backend, 'cpu-wasm', 'mixed: the selected backend');
    P.setBackend('cpu');
    assert.equal((P.add(onWasm, onCpu) as ArrayTensor).backend, 'cpu', 'mixed: the selected backend');
    assert.equal(backendFor([]).name, 'cpu');
    assert.equal(backendFor([{ backend: 'cpu-wasm' }, { backend: 'cpu-wasm' }]).name, 'cpu-wasm');
    assert.throws(() => P.setBackend('tpu'), /unknown backend 'tpu' \(available: cpu, cpu-wasm/);
    assert.equal(getBackend('cpu-wasm'), wasmBackend);
  } finally {
    P.setBackend(before);
  }
});

test('PARTAX_BACKEND selects the backend at startup; unset, the default is cpu-wasm (fresh processes)', { skip }, () => {
  const code = "import('./src/index.ts').then((P) => { const t = P.ones([2], 'float32'); console.log(P.defaultBackend(), t.backend); })";
  const run = (backend: string | undefined) => {
    const env = { ...process.env };
    if (backend === undefined) delete env.PARTAX_BACKEND;
    else env.PARTAX_BACKEND = backend;
    return execFileSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, env, encoding: 'utf8' }).trim();
  };
  assert.equal(run('cpu-wasm'), 'cpu-wasm cpu-wasm');
  assert.equal(run('cpu'), 'cpu cpu');
  assert.equal(run(undefined), 'cpu-wasm cpu-wasm');
});

test('module builder: LEB128 encodings (spec examples), generated kernels instantiate on the arena, oversized work is refused', { skip }, () => {
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(uleb(0), [0]);
  assert.deepEqual(uleb(2 ** 32 - 1), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
  assert.deepEqual(sleb(-1), [0x7f]);
  assert.deepEqual(sleb(63), [0x3f]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.throws(() => new Arena(1).ensure(3 * 2 ** 30, 'a test'), ArenaFullError, 'over 2 GiB: ArenaFullError, so the CPU kernel runs it');
  const ks = getKernels();
  for (const name of ['gemm_f32', 'gemm_f64', 'packb_f32', 'ew2_add_f32', 'sum_rows_f64', 'sum_mid_f32']) assert.equal(typeof ks.exports[name], 'function', name);
});

// ---- coverage: every backend runs every primitive; every elementwise record renders in both codegens ----

const DTYPES = ['float32', 'float64', 'int32', 'bool'] as const;
type D = (typeof DTYPES)[number];

/** Parameters to try for the elementwise primitives that have some (the rest take none). */
const SAMPLE_PARAMS: Record<string, readonly unknown[]> = {
  convert: DTYPES.map((dtype) => ({ dtype })),
  integer_pow: [-3, -1, 0, 1, 2, 5].map((y) => ({ y })),
};

/** Every dtype combination of `n` operands, with the output avals the shape rule gives (combinations it rejects are left out). */
function accepted(p: Primitive, params: unknown, n: number): { types: D[]; out: D }[] {
  const combos: D[][] = n === 0 ? [[]] : DTYPES.flatMap((d) => (n === 1 ? [[d]] : combosOf(n - 1).map((c) => [d, ...c])));
  return combos.flatMap((types) => {
    try {
      return [{ types, out: p.abstractEval(types.map((dtype) => ({ shape: [1], dtype })), params)[0]!.dtype as D }];
    } catch {
      return [];
    }
  });
}
const combosOf = (n: number): D[][] => (n === 0 ? [[]] : DTYPES.flatMap((d) => combosOf(n - 1).map((c) => [d, ...c])));

/** Elements per checked loop. */
const N = 48;

const SPECIAL: Record<D, readonly number[]> = {
  float32: [0, -0, 1, -1, 0.5, -2.25, 3, 7.5, 1e-3, 88.5, -100, Infinity, -Infinity, NaN],
  float64: [0, -0, 1, -1, 0.5, -2.25, 3, 7.5, 1e-300, 710, -745, Infinity, -Infinity, NaN],
  int32: [0, 1, -1, 2, -3, 7, 46341, 2147483647, -2147483648],
  bool: [0, 1],
};
const valuesOf = (d: D) =>
  fc.oneof(
    fc.constantFrom(...SPECIAL[d]),
    d === 'bool' ? fc.constantFrom(0, 1) : d === 'int32' ? fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) : fc.double({ min: -20, max: 20 }),
  );

test('every backend covers every primitive: a cpu kernel; on cpu-wasm a WebAssembly kernel or the cpu kernel it falls back to; a webgpu kernel', () => {
  const prims = [...primitives().values()];
  assert.ok(prims.length >= 40, `only ${prims.length} primitives registered`);
  const missing = prims.flatMap((p) => [
    ...(hasCpuKernel(p) ? [] : [`${p.name}: no cpu kernel`]),
    ...(hasWasmKernel(p) || hasCpuKernel(p) ? [] : [`${p.name}: no cpu-wasm kernel and no cpu kernel to fall back to`]),
    ...(hasWebGPUKernel(p) ? [] : [`${p.name}: no webgpu kernel`]),
  ]);
  assert.deepEqual(missing, []);
  // cpu-wasm's kernels by name are kernels of primitives that exist
  assert.deepEqual(wasmKernelNames.filter((n) => !primitives().has(n)), []);
});

test('every elementwise primitive is fusable in both codegens: for each dtype its shape rule accepts, jit\'s JavaScript loop of its scalar expression equals the cpu kernel bit for bit, and its WGSL renders', () => {
  const elementwise = [...primitives().values()].filter((p) => p.fusion.role === 'elementwise');
  assert.ok(elementwise.length >= 30, `only ${elementwise.length} elementwise primitives`);
  for (const p of elementwise) {
    const scalar = p.fusion.role === 'elementwise' ? p.fusion.scalar : null;
    let cases = 0;
    for (const params of SAMPLE_PARAMS[p.name] ?? [{}]) {
      const e = scalar!(params);
      for (const { types, out } of accepted(p, params, arityOf(e))) {
        cases++;
        if (!types.includes('float64') && out !== 'float64')
          assert.doesNotThrow(() => elementwiseExpr(e, types, types.map((_, k) => `a${k}`)), `${p.name}(${types}) ${JSON.stringify(params)}: WGSL`);
        const { fn, source } = compileLoop({
          shape: [N],
          nOuter: 1,
          reads: types.map(() => ({ strides: [1], offset: 0 })),
          ops: [{ expr: e, dtype: out, argDtypes: types, args: types.map((_, index) => ({ kind: 'read' as const, index })) }],
          result: { kind: 'op', index: 0 },
          reduce: null,
          outDtype: out,
        });
        fc.assert(
          fc.property(fc.tuple(...types.map((d) => fc.array(valuesOf(d), { minLength: 1, maxLength: N }))), (cols) => {
            // operand k cycles through its values, so operands of different lengths meet in many pairs
            const xs = types.map((d, k) => new ArrayTensor([N], d, allocOf(d, Array.from({ length: N }, (_, i) => cols[k]![i % cols[k]!.length]!)), 'cpu'));
            const want = cpuBackend.execute(p, xs, params, [{ shape: [N], dtype: out }])[0]!;
            const got = allocOf(out, new Array<number>(N).fill(0));
            fn(...xs.map((x) => x.buffer as Buffer), got);
            for (let i = 0; i < N; i++)
              if (!Object.is(got[i], want[i]))
                assert.fail(`${p.name}(${types.map((d, k) => `${d} ${xs[k]!.buffer[i]}`).join(', ')}) ${JSON.stringify(params)}: jit loop ${got[i]}, cpu kernel ${want[i]}\n${source}`);
          }),
          runs(20),
        );
      }
    }
    assert.ok(cases > 0, `${p.name}: no dtype accepted`);
  }
});

/** A typed array of dtype `d` holding `v`. */
const allocOf = (d: D, v: readonly number[]): Buffer =>
  d === 'float32' ? Float32Array.from(v) : d === 'float64' ? Float64Array.from(v) : d === 'int32' ? Int32Array.from(v) : Uint8Array.from(v);
