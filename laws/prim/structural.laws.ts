import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as px from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { sizeOf, stridesOf } from '../../src/core/shape.js';
import { flatten, unflatten } from '../../src/core/tree.js';
import { arbSeed, arbShape, arbTensorOf, assertClose, checkDerivatives, RUNS } from '../harness/index.js';

/**
 * Laws of the structural ops (prim/structural.ts through ops/shape-ops.ts): derivatives at orders
 * 1–3 vs central differences and the adjoint identity (through a sin composite, since the ops are
 * linear), plus round trips and values against explicit index loops.
 */

const X: [number, number] = [-2, 2];
const arbX = (s: readonly number[]) => arbTensorOf(s, 'float64', X) as fc.Arbitrary<Tensor>;

/** A structural op applied to one generated tensor, with its generated parameters. */
function law<P>(name: string, gen: fc.Arbitrary<[Tensor, P]>, f: (x: Tensor, p: P) => Tensor): void {
  test(`${name}: grad/jvp match central differences at orders 1–3; adjoint identity (float64)`, () => {
    fc.assert(
      fc.property(gen, arbSeed, ([x, p], seed) => checkDerivatives(`${name}(${JSON.stringify(p)})`, ([a]) => f(a!, p), [x], seed)),
      RUNS,
    );
  });
}

const primeFactors = (n: number): number[] => (n === 1 ? [] : n % 2 === 0 ? [2, ...primeFactors(n / 2)] : n % 3 === 0 ? [3, ...primeFactors(n / 3)] : [n]);

/** A shape and another shape with the same number of elements (regrouped factors, maybe a −1). */
const arbReshape = arbShape().chain((s) => {
  const factors = s.flatMap(primeFactors);
  return fc
    .tuple(
      fc.shuffledSubarray(factors, { minLength: factors.length, maxLength: factors.length }),
      fc.array(fc.integer({ min: 0, max: 2 }), { minLength: factors.length + 1, maxLength: factors.length + 1 }),
      fc.boolean(),
    )
    .map(([fs, cuts, inferOne]) => {
      // cut k after factor i: 0 = keep multiplying, 1 = new axis, 2 = new axis and a size-1 axis
      const out: number[] = [];
      let acc = 1;
      fs.forEach((f, i) => {
        acc *= f;
        if (cuts[i]! > 0 || i === fs.length - 1) {
          out.push(acc);
          acc = 1;
          if (cuts[i] === 2) out.push(1);
        }
      });
      if (cuts[fs.length] === 2) out.unshift(1);
      if (inferOne && out.length > 0) out[0] = -1;
      return [s, out.slice(0, 6)] as const;
    })
    .filter(([s0, t]) => t.includes(-1) || sizeOf(t) === sizeOf(s0))
    .chain(([s0, t]) => fc.tuple(arbX(s0), fc.constant(t)));
});
law('reshape', arbReshape, (x, s) => px.reshape(x, s));

const arbPerm = (r: number) => fc.shuffledSubarray([...Array(r).keys()], { minLength: r, maxLength: r });
law('transpose', arbShape().chain((s) => fc.tuple(arbX(s), arbPerm(s.length))), (x, p) => px.transpose(x, p));
law('transpose (default: reversed axes)', arbShape().chain((s) => fc.tuple(arbX(s), fc.constant(null))), (x) => px.transpose(x));
law(
  'moveAxis',
  arbShape({ rank: [1, 4] }).chain((s) => fc.tuple(arbX(s), fc.tuple(fc.integer({ min: -s.length, max: s.length - 1 }), fc.integer({ min: -s.length, max: s.length - 1 })))),
  (x, [a, b]) => px.moveAxis(x, a, b),
);

/** x's shape is the target with some leading axes dropped and some axes set to 1. */
const arbBroadcastTo = arbShape().chain((s) =>
  fc
    .tuple(fc.integer({ min: 0, max: s.length }), fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }))
    .chain(([drop, ones]) => fc.tuple(arbX(s.map((d, i) => (ones[i] ? 1 : d)).slice(drop)), fc.constant(s))),
);
law('broadcastTo', arbBroadcastTo, (x, s) => px.broadcastTo(x, s));
law('expandDims', arbShape({ rank: [0, 3] }).chain((s) => fc.tuple(arbX(s), fc.integer({ min: -s.length - 1, max: s.length }))), (x, a) => px.expandDims(x, a));

/** A shape with some size-1 axes, and which of them to squeeze (undefined: all). */
const arbSqueeze = arbShape({ rank: [0, 4] }).chain((s) =>
  fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).chain((ones) => {
    const shape = s.map((d, i) => (ones[i] ? 1 : d));
    const unit = shape.flatMap((d, i) => (d === 1 ? [i] : []));
    const axes: fc.Arbitrary<number[] | undefined> = fc.oneof(fc.constant(undefined), fc.subarray(unit));
    return fc.tuple(arbX(shape), axes);
  }),
);
law('squeeze', arbSqueeze, (x, a) => px.squeeze(x, a));

/** A box inside the shape, with begin/end sometimes given from the end (negative). */
const arbSlice = arbShape({ rank: [0, 4] }).chain((s) =>
  fc
    .tuple(...s.map((d) => fc.integer({ min: 0, max: d - 1 }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: b + 1, max: d }), fc.boolean()))))
    .chain((box) => {
      const begin = box.map(([b, , neg], i) => (neg ? b - s[i]! : b));
      const end = box.map(([, e, neg], i) => (neg && e < s[i]! ? e - s[i]! : e));
      return fc.tuple(arbX(s), fc.constant([begin, end] as [number[], number[]]));
    }),
);
law('slice', arbSlice, (x, [b, e]) => px.slice(x, b, e));

law(
  'pad',
  arbShape({ rank: [0, 4] }).chain((s) =>
    fc.tuple(arbX(s), fc.tuple(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), { minLength: s.length, maxLength: s.length }), fc.double({ min: -3, max: 3, noNaN: true }))),
  ),
  (x, [w, v]) => px.pad(x, w as [number, number][], v),
);

/** Several tensors: concat (sizes differ along the axis) and stack (equal shapes). */
test('concat along any axis (1–3 parts of different lengths): orders 1–3; adjoint identity (float64)', () => {
  const gen = arbShape({ rank: [1, 4] }).chain((s) =>
    fc.integer({ min: -s.length, max: s.length - 1 }).chain((axis) =>
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }).chain((lens) =>
        fc.tuple(fc.tuple(...lens.map((n) => arbX(s.map((d, i) => (i === (axis + s.length) % s.length ? n : d))))), fc.constant(axis)),
      ),
    ),
  );
  fc.assert(
    fc.property(gen, arbSeed, ([xs, axis], seed) => checkDerivatives(`concat(axis=${axis})`, (ys) => px.concat(ys, axis), xs, seed)),
    RUNS,
  );
});

test('stack along any new axis (1–3 parts): orders 1–3; adjoint identity (float64)', () => {
  const gen = arbShape({ rank: [0, 3] }).chain((s) =>
    fc.tuple(fc.array(arbX(s), { minLength: 1, maxLength: 3 }), fc.integer({ min: -s.length - 1, max: s.length })),
  );
  fc.assert(
    fc.property(gen, arbSeed, ([xs, axis], seed) => checkDerivatives(`stack(axis=${axis})`, (ys) => px.stack(ys, axis), xs, seed)),
    RUNS,
  );
});

// ---- round trips and values ----------------------------------------------------------------

const same = (a: Tensor, b: Tensor, label: string) => {
  assert.deepEqual(a.shape, b.shape, `${label}: shape`);
  assertClose(a, b, { atol: 0 }, label);
};

test('reshape round trip: reshape(reshape(x, s), shape(x)) = x and keeps row-major order', () => {
  fc.assert(
    fc.property(arbReshape, ([x, s]) => {
      const y = px.reshape(x, s);
      assert.equal(y.size, x.size);
      same(px.reshape(y, x.shape), x, 'reshape round trip');
      assert.deepEqual(Array.from(y.dataSync() as Float64Array), Array.from(x.dataSync() as Float64Array), 'row-major order');
    }),
    RUNS,
  );
});

test('transpose round trip: transpose by perm then by its inverse is the identity; out[i…] = x[perm…] (loop)', () => {
  fc.assert(
    fc.property(arbShape().chain((s) => fc.tuple(arbX(s), arbPerm(s.length))), ([x, perm]) => {
      const inv = new Array<number>(perm.length);
      perm.forEach((p, i) => (inv[p] = i));
      const y = px.transpose(x, perm);
      same(px.transpose(y, inv), x, 'transpose round trip');
      // explicit loop: y[j] = x[k] where index_x[perm[i]] = index_y[i]
      const sx = stridesOf(x.shape);
      const sy = stridesOf(y.shape);
      const xd = x.dataSync() as Float64Array;
      const want = new Float64Array(y.size);
      for (let j = 0; j < y.size; j++) {
        let k = 0;
        for (let i = 0; i < perm.length; i++) k += (Math.floor(j / sy[i]!) % y.shape[i]!) * sx[perm[i]!]!;
        want[j] = xd[k]!;
      }
      same(y, px.fromBuffer(want, 'float64', y.shape), 'transpose vs loop');
    }),
    RUNS,
  );
});

test('slice of pad recovers x; concat of slices recovers x; unstacking a stack recovers the parts', () => {
  const gen = arbShape({ rank: [1, 4] }).chain((s) =>
    fc.tuple(arbX(s), fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), { minLength: s.length, maxLength: s.length }), fc.integer({ min: 0, max: s.length - 1 })),
  );
  fc.assert(
    fc.property(gen, ([x, w, axis]) => {
      const p = px.pad(x, w as [number, number][], 7);
      same(px.slice(p, w.map(([lo]) => lo), w.map(([lo], i) => lo + x.shape[i]!)), x, 'slice ∘ pad');
      const n = x.shape[axis]!;
      const cut = Math.floor(n / 2);
      const parts = [0, cut, n].slice(cut === 0 ? 1 : 0);
      const pieces = parts.slice(0, -1).map((b, i) => px.slice(x, x.shape.map((_, k) => (k === axis ? b : 0)), x.shape.map((d, k) => (k === axis ? parts[i + 1]! : d))));
      same(px.concat(pieces, axis), x, 'concat of slices');
      const st = px.stack([x, px.neg(x)], axis);
      same(px.squeeze(px.slice(st, st.shape.map(() => 0), st.shape.map((d, k) => (k === axis ? 1 : d))), axis), x, 'unstack part 0');
    }),
    RUNS,
  );
});

test('tree round trip: unflatten(flatten(t)) = t for nested records/arrays of tensors and statics', () => {
  const leaf = arbShape({ rank: [0, 2] }).chain((s) => arbX(s));
  const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.constantFrom(1, 'name', null, true),
      fc.array(tie('tree'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom('w', 'b', 'layers', 'x0'), tie('tree'), { maxKeys: 3, noNullPrototype: true }),
    ),
  }));
  fc.assert(
    fc.property(tree, (t) => {
      const { leaves, def } = flatten(t);
      const back = unflatten(def, leaves);
      assert.deepStrictEqual(back, t);
      // leaves are the very same tensor objects, in order
      assert.ok(flatten(back).leaves.every((l, i) => l === leaves[i]));
    }),
    RUNS,
  );
});
