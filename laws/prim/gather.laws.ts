import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as px from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { sizeOf, stridesOf } from '../../src/core/shape.js';
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
