import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as px from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { sizeOf, stridesOf } from '../../src/core/shape.js';
import { withBackend } from '../../src/backends/transfer.js';
import { wasmAvailable } from '../../src/backends/wasm/index.js';
import { assertIndexError } from '../harness/index-errors.js';
import { arbSeed, arbShape, arbTensorOf, assertClose, checkDerivatives, RUNS } from '../harness/index.js';

/**
 * Laws of the gathering ops (prim/gather.ts: gather and its transpose scatter_add, through
 * take / takeAlongAxis / oneHot): derivatives at orders 1–3 vs central differences, the adjoint
 * identity (which exercises scatter_add, with repeated indices), values against explicit loops,
 * and vmap over x, over the indices, or both, against stacking.
 */

const X: [number, number] = [-2, 2];
const ints = (shape: readonly number[], n: number) =>
  fc.array(fc.integer({ min: 0, max: n - 1 }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) }).map((v) => px.tensor(v, 'int32', shape) as Tensor<'int32'>);

/** x of rank 1–4, an axis, and int32 indices (rank 0–2, repeats allowed) into that axis. */
const arbTake = arbShape({ rank: [1, 4] }).chain((s) =>
  fc.integer({ min: -s.length, max: s.length - 1 }).chain((axis) =>
    arbShape({ rank: [0, 2], size: [1, 4] }).chain((is) => fc.tuple(arbTensorOf(s, 'float64', X) as fc.Arbitrary<Tensor>, ints(is, s[(axis + s.length) % s.length]!), fc.constant(axis))),
  ),
);

/** take as an explicit loop: out[pre, i…, post] = x[pre, idx[i…], post]. */
function loopTake(x: Tensor, idx: Tensor, axis: number): Tensor {
  const a = (axis + x.rank) % x.rank;
  const pre = sizeOf(x.shape.slice(0, a));
  const post = sizeOf(x.shape.slice(a + 1));
  const n = x.shape[a]!;
  const id = idx.dataSync() as Int32Array;
  const xd = x.dataSync() as Float64Array;
  const out = new Float64Array(pre * id.length * post);
  let o = 0;
  for (let p = 0; p < pre; p++) for (const i of id) for (let q = 0; q < post; q++) out[o++] = xd[(p * n + i) * post + q]!;
  return px.fromBuffer(out, 'float64', [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)]);
}

test('take along any axis (indices of rank 0–2, repeats): orders 1–3; adjoint identity (scatter_add) (float64)', () => {
  fc.assert(
    fc.property(arbTake, arbSeed, ([x, idx, axis], seed) => checkDerivatives(`take(axis=${axis})`, ([a]) => px.take(a!, idx, axis), [x], seed)),
    RUNS,
  );
});

test('take agrees with an explicit loop; a plain index array works like an int32 tensor', () => {
  fc.assert(
    fc.property(arbTake, ([x, idx, axis]) => {
      const got = px.take(x, idx, axis);
      assertClose(got, loopTake(x, idx, axis), { atol: 0 }, 'take vs loop');
      if (idx.rank === 1) assertClose(px.take(x, Array.from(idx.dataSync() as Int32Array), axis), got, { atol: 0 }, 'take(number[])');
    }),
    RUNS,
  );
});

/** x of rank 1–4, an axis, and indices shaped like x except along the axis (length 1–4). */
const arbAlong = arbShape({ rank: [1, 4] }).chain((s) =>
  fc.integer({ min: -s.length, max: s.length - 1 }).chain((axis) => {
    const a = (axis + s.length) % s.length;
    return fc.integer({ min: 1, max: 4 }).chain((k) =>
      fc.tuple(arbTensorOf(s, 'float64', X) as fc.Arbitrary<Tensor>, ints(s.map((d, i) => (i === a ? k : d)), s[a]!), fc.constant(axis)),
    );
  }),
);

test('takeAlongAxis along any axis: orders 1–3; adjoint identity (float64)', () => {
  fc.assert(
    fc.property(arbAlong, arbSeed, ([x, idx, axis], seed) =>
      checkDerivatives(`takeAlongAxis(axis=${axis})`, ([a]) => px.takeAlongAxis(a!, idx, axis), [x], seed),
    ),
    RUNS,
  );
});

test('takeAlongAxis agrees with an explicit loop: out[…, j, …] = x[…, idx[…, j, …], …]', () => {
  fc.assert(
    fc.property(arbAlong, ([x, idx, axis]) => {
      const a = (axis + x.rank) % x.rank;
      const si = stridesOf(idx.shape);
      const sx = stridesOf(x.shape);
      const id = idx.dataSync() as Int32Array;
      const xd = x.dataSync() as Float64Array;
      const want = new Float64Array(idx.size);
      for (let j = 0; j < idx.size; j++) {
        let k = 0;
        for (let d = 0; d < x.rank; d++) {
          const c = Math.floor(j / si[d]!) % idx.shape[d]!;
          k += (d === a ? id[j]! : c) * sx[d]!;
        }
        want[j] = xd[k]!;
      }
      assertClose(px.takeAlongAxis(x, idx, axis), px.fromBuffer(want, 'float64', idx.shape), { atol: 0 }, 'takeAlongAxis vs loop');
    }),
    RUNS,
  );
});

/** labels (rank 0–3) with depth 1–6, and x of shape [...labels, depth]. */
const arbOneHot = arbShape({ rank: [0, 3] }).chain((s) =>
  fc.integer({ min: 1, max: 6 }).chain((depth) => fc.tuple(ints(s, depth), fc.constant(depth), arbTensorOf([...s, depth], 'float64', X) as fc.Arbitrary<Tensor>)),
);

test('oneHot: oneHot(l)[…, k] = [l = k]; Σ oneHot(l)·x over the last axis = takeAlongAxis(x, l); derivative through x at orders 1–3', () => {
  fc.assert(
    fc.property(arbOneHot, arbSeed, ([labels, depth, x], seed) => {
      const h = px.oneHot(labels, depth, 'float64');
      assert.deepEqual(h.shape, [...labels.shape, depth]);
      const l = labels.dataSync() as Int32Array;
      const want = new Float64Array(h.size);
      l.forEach((v, i) => (want[i * depth + v] = 1));
      assertClose(h, px.fromBuffer(want, 'float64', h.shape), { atol: 0 }, 'oneHot vs loop');
      const picked = px.sum(px.mul(h, x), -1);
      assertClose(picked, px.squeeze(px.takeAlongAxis(x, px.expandDims(labels, -1), -1), -1), { atol: 0 }, 'Σ oneHot·x');
      checkDerivatives('oneHot·x', ([a]) => px.mul(px.oneHot(labels, depth, 'float64'), a!), [x], seed);
    }),
    RUNS,
  );
});

test('vmap(take) over x, over the indices, or both equals stacking take over the rows (and so does its grad)', () => {
  const gen = fc.tuple(fc.integer({ min: 1, max: 4 }), arbShape({ rank: [1, 3], size: [1, 4] })).chain(([b, s]) =>
    fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
      arbShape({ rank: [0, 2], size: [1, 3] }).chain((is) =>
        fc.tuple(
          arbTensorOf([b, ...s], 'float64', X) as fc.Arbitrary<Tensor>,
          ints([b, ...is], s[axis]!),
          fc.constant(axis),
          fc.constantFrom<[0 | null, 0 | null]>([0, null], [null, 0], [0, 0]),
        ),
      ),
    ),
  );
  fc.assert(
    fc.property(gen, ([xs, is, axis, [ax, ai]]) => {
      const b = xs.shape[0]!;
      const row = (t: Tensor, i: number) => px.squeeze(px.slice(t, [i], [i + 1]), 0);
      const xi = (i: number) => (ax === null ? row(xs, 0) : row(xs, i));
      const ii = (i: number) => (ai === null ? (row(is, 0) as Tensor<'int32'>) : (row(is, i) as Tensor<'int32'>));
      const xArg = ax === null ? row(xs, 0) : xs;
      const iArg = ai === null ? row(is, 0) : is;
      const got = px.vmap((x: Tensor, i: Tensor) => px.take(x, i as Tensor<'int32'>, axis), { inAxes: [ax, ai] })(xArg, iArg);
      const want = px.stack(Array.from({ length: b }, (_, k) => px.take(xi(k), ii(k), axis)));
      assertClose(got, want, { atol: 0 }, `vmap(take) inAxes [${ax},${ai}]`);
      // the batched transpose (scatter_add) through vmap(grad)
      const f = (x: Tensor, i: Tensor) => px.sum(px.sin(px.take(x, i as Tensor<'int32'>, axis)));
      if (ax === 0) {
        const g = px.vmap(px.grad(f), { inAxes: [0, ai] })(xs, iArg);
        const gw = px.stack(Array.from({ length: b }, (_, k) => px.grad(f)(xi(k), ii(k))));
        assertClose(g, gw, { rtol: 1e-14, atol: 1e-15 }, `vmap(grad(take)) inAxes [0,${ai}]`);
      }
    }),
    RUNS,
  );
});

// ---- out-of-range indices ----------------------------------------------------------------------

/** The host backends present (cpu-wasm where WebAssembly SIMD runs; its absence is printed). */
const HOST_BACKENDS = wasmAvailable ? ['cpu', 'cpu-wasm'] : ['cpu'];
if (!wasmAvailable) console.log('# gather laws: cpu-wasm absent (no WebAssembly SIMD), checked on cpu only');

/** Indices in [−2, n + 1]: in range most of the time, sometimes negative or past the end. */
const wildInts = (shape: readonly number[], n: number) =>
  fc
    .array(fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: n - 1 }) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: n + 1 }) }), {
      minLength: sizeOf(shape),
      maxLength: sizeOf(shape),
    })
    .map((v) => px.tensor(v, 'int32', shape) as Tensor<'int32'>);

/** ∇ₓ Σ sin(take(x, idx, axis)) as an explicit loop: cos of each taken element, added back where it came from. */
function loopGradTake(x: Tensor, idx: Tensor, axis: number): Tensor {
  const pre = sizeOf(x.shape.slice(0, axis));
  const post = sizeOf(x.shape.slice(axis + 1));
  const n = x.shape[axis]!;
  const xd = x.dataSync() as Float64Array;
  const g = new Float64Array(x.size);
  for (let p = 0; p < pre; p++) for (const i of idx.dataSync() as Int32Array) for (let q = 0; q < post; q++) g[(p * n + i) * post + q]! += Math.cos(xd[(p * n + i) * post + q]!);
  return px.fromBuffer(g, 'float64', x.shape);
}

const outside = (idx: Tensor, n: number): Set<number> => new Set(Array.from(idx.dataSync() as Int32Array).filter((v) => v < 0 || v >= n));

/**
 * Runs `f`: with no index in `bad`, returns its value; otherwise asserts that it threw a ShapeError
 * naming `op`, one of the bad indices and the axis size `n`, and returns null.
 */
function runChecked(f: () => Tensor, op: string, bad: ReadonlySet<number>, n: number, label: string): Tensor | null {
  let err: unknown = null;
  let out: Tensor | null = null;
  try {
    out = f();
    out.dataSync();
  } catch (e) {
    err = e;
  }
  if (bad.size === 0) {
    if (err) throw err;
    return out;
  }
  assertIndexError(err, op, bad, n, label);
  return null;
}

test('out-of-range indices: take, vmap(take) (indices batched), grad(take) (scatter_add) and jit(take) raise an error naming op, index and size; valid ones give the loop (cpu, cpu-wasm)', () => {
  const gen = fc.tuple(fc.integer({ min: 1, max: 3 }), arbShape({ rank: [1, 3], size: [1, 4] })).chain(([b, s]) =>
    fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
      arbShape({ rank: [0, 2], size: [1, 3] }).chain((is) =>
        fc.tuple(arbTensorOf(s, 'float64', X) as fc.Arbitrary<Tensor>, wildInts([b, ...is], s[axis]!), fc.constant(axis)),
      ),
    ),
  );
  fc.assert(
    fc.property(gen, ([x, is, axis]) => {
      const n = x.shape[axis]!;
      const bad = outside(is, n);
      const row = (k: number) => px.squeeze(px.slice(is, [k], [k + 1]), 0) as Tensor<'int32'>;
      for (const backend of HOST_BACKENDS)
        withBackend(backend, () => {
          const first = row(0);
          const got = runChecked(() => px.take(x, first, axis), 'take', outside(first, n), n, `${backend} take`);
          if (got) assertClose(got, loopTake(x, first, axis), { atol: 0 }, `${backend} take vs loop`);
          const v = runChecked(() => px.vmap((i: Tensor) => px.take(x, i as Tensor<'int32'>, axis))(is), 'take', bad, n, `${backend} vmap(take)`);
          if (v) assertClose(v, px.stack(Array.from({ length: is.shape[0]! }, (_, k) => loopTake(x, row(k), axis))), { atol: 0 }, `${backend} vmap(take) vs loop`);
          const xs = px.stack(Array.from({ length: is.shape[0]! }, () => x));
          runChecked(() => px.vmap((a: Tensor, i: Tensor) => px.take(a, i as Tensor<'int32'>, axis))(xs, is), 'take', bad, n, `${backend} vmap(take) both batched`);
          const g = runChecked(() => px.grad((a: Tensor) => px.sum(px.sin(px.take(a, first, axis))))(x), 'take', outside(first, n), n, `${backend} grad(take)`);
          if (g) assertClose(g, loopGradTake(x, first, axis), { rtol: 1e-15, atol: 1e-15 }, `${backend} grad(take) vs loop`);
          const j = runChecked(() => px.jit((a: Tensor, i: Tensor) => px.take(a, i as Tensor<'int32'>, axis))(x, first), 'take', outside(first, n), n, `${backend} jit(take)`);
          if (j) assertClose(j, loopTake(x, first, axis), { atol: 0 }, `${backend} jit(take) vs loop`);
          runChecked(() => px.jit(px.vmap((i: Tensor) => px.take(x, i as Tensor<'int32'>, axis)))(is), 'take', bad, n, `${backend} jit(vmap(take))`);
        });
    }),
    RUNS,
  );
});

test('out-of-range indices: takeAlongAxis, oneHot and nll raise an error naming op, index and size (eager and jit, cpu and cpu-wasm), never read another row', () => {
  const along = arbShape({ rank: [1, 3], size: [1, 4] }).chain((s) =>
    fc.integer({ min: 0, max: s.length - 1 }).chain((a) =>
      fc.integer({ min: 1, max: 3 }).chain((k) => fc.tuple(arbTensorOf(s, 'float64', X) as fc.Arbitrary<Tensor>, wildInts(s.map((d, i) => (i === a ? k : d)), s[a]!), fc.constant(a))),
    ),
  );
  fc.assert(
    fc.property(along, ([x, idx, axis]) => {
      const n = x.shape[axis]!;
      const bad = outside(idx, n);
      for (const backend of HOST_BACKENDS)
        withBackend(backend, () => {
          const want = bad.size === 0 ? px.takeAlongAxis(x, idx, axis) : null;
          const eager = runChecked(() => px.takeAlongAxis(x, idx, axis), 'takeAlongAxis', bad, n, `${backend} takeAlongAxis`);
          const jitted = runChecked(() => px.jit((a: Tensor, i: Tensor) => px.takeAlongAxis(a, i as Tensor<'int32'>, axis))(x, idx), 'takeAlongAxis', bad, n, `${backend} jit(takeAlongAxis)`);
          if (want) {
            assertClose(eager!, want, { atol: 0 }, 'takeAlongAxis');
            assertClose(jitted!, want, { atol: 0 }, 'jit(takeAlongAxis)');
          }
          const labels = px.reshape(idx, [idx.size]) as Tensor<'int32'>;
          const h = runChecked(() => px.oneHot(labels, n, 'float64'), 'oneHot', bad, n, `${backend} oneHot`);
          if (h) assert.deepEqual(Array.from(px.sum(h, -1).dataSync()), Array.from({ length: idx.size }, () => 1), 'oneHot rows sum to 1');
          const logits = px.broadcastTo(px.reshape(x, [1, x.size]), [idx.size, x.size]);
          const c = x.size;
          const nllBad = outside(labels, c);
          const l = runChecked(() => px.nn.nll(logits, labels), 'nll', nllBad, c, `${backend} nll`);
          if (l) {
            const lab = labels.dataSync() as Int32Array;
            const xv = x.dataSync() as Float64Array;
            assertClose(l, -lab.reduce((s, v) => s + xv[v]!, 0) / lab.length, { rtol: 1e-15, atol: 1e-15 }, 'nll vs loop');
          }
          runChecked(() => px.jit((z: Tensor, y: Tensor) => px.nn.nll(z, y as Tensor<'int32'>))(logits, labels), 'nll', nllBad, c, `${backend} jit(nll)`);
        });
    }),
    RUNS,
  );
});
