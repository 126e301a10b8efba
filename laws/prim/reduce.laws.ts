import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as px from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { normAxes, sizeOf, stridesOf } from '../../src/core/shape.js';
import { arbAxes, arbSeed, arbShape, arbTensorOf, assertClose, checkDerivatives, distinctValues, RUNS } from '../harness/index.js';

/**
 * Laws of the reductions (prim/reduce.ts through ops/reduce.ts), over generated shapes (ranks 0–4,
 * sizes 1–6), any subset of axes (undefined, one axis, a list, negative axes) and keepdims:
 * derivatives at orders 1–3 vs central differences (float64), the adjoint identity, and values
 * against an explicit loop over the reduced axes.
 */

type Axes = number | number[] | undefined;
type Reduction = (x: Tensor, axes: Axes, keepdims: boolean) => Tensor;

/** A tensor, axes to reduce and a keepdims flag. */
const arbReduceCase = (opts: { distinct?: boolean; minRank?: number } = {}) =>
  arbShape({ rank: [opts.minRank ?? 0, 4] }).chain((s) =>
    fc.tuple(
      arbTensorOf(s, 'float64', [-2, 2]).map((x) => (opts.distinct ? (distinctValues(x) as Tensor) : x)),
      arbAxes(s.length),
      fc.boolean(),
    ),
  );

function reductionLaw(name: string, f: Reduction, distinct = false): void {
  test(`${name} over any axes (keepdims either way): grad/jvp match central differences at orders 1–3; adjoint (float64)`, () => {
    fc.assert(
      fc.property(arbReduceCase({ distinct }), arbSeed, ([x, axes, keepdims], seed) =>
        checkDerivatives(`${name}(axes=${JSON.stringify(axes)}, keepdims=${keepdims})`, ([a]) => f(a!, axes, keepdims), [x], seed),
      ),
      RUNS,
    );
  });
}

reductionLaw('sum', (x, a, k) => px.sum(x, a, { keepdims: k }));
reductionLaw('mean', (x, a, k) => px.mean(x, a, { keepdims: k }));
// max/min: values are distinct and ≥ 2/n apart, so the extremum is unique under finite differences.
reductionLaw('max', (x, a, k) => px.max(x, a, { keepdims: k }), true);
reductionLaw('min', (x, a, k) => px.min(x, a, { keepdims: k }), true);
reductionLaw('logsumexp', (x, a, k) => px.logsumexp(x, a, { keepdims: k }));

/** One-axis ops: softmax and logSoftmax along a generated axis (rank ≥ 1). */
function axisLaw(name: string, f: (x: Tensor, axis: number) => Tensor): void {
  test(`${name} along any axis: grad/jvp match central differences at orders 1–3; adjoint (float64)`, () => {
    const gen = arbShape({ rank: [1, 4] }).chain((s) => fc.tuple(arbTensorOf(s, 'float64', [-3, 3]), fc.integer({ min: -s.length, max: s.length - 1 })));
    fc.assert(
      fc.property(gen, arbSeed, ([x, axis], seed) => checkDerivatives(`${name}(axis=${axis})`, ([a]) => f(a!, axis), [x], seed)),
      RUNS,
    );
  });
}
axisLaw('softmax', px.softmax);
axisLaw('logSoftmax', px.logSoftmax);

/** The reduction as an explicit loop: out[kept index] = fold over the reduced axes. */
function loopReduce(x: Tensor, axes: Axes, keepdims: boolean, init: number, step: (acc: number, v: number) => number): Tensor {
  const ax = normAxes('loop', axes, x.shape.length);
  const outShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const out = new Float64Array(sizeOf(outShape)).fill(init);
  const st = stridesOf(x.shape);
  const so = stridesOf(outShape);
  const d = x.dataSync() as Float64Array;
  for (let i = 0; i < d.length; i++) {
    let o = 0;
    for (let k = 0; k < x.shape.length; k++) if (!ax.includes(k)) o += (Math.floor(i / st[k]!) % x.shape[k]!) * so[k]!;
    out[o] = step(out[o]!, d[i]!);
  }
  return px.fromBuffer(out, 'float64', keepdims ? outShape : x.shape.filter((_, i) => !ax.includes(i)));
}

test('sum, max, min, mean, logsumexp agree with an explicit loop over the reduced axes (float64)', () => {
  fc.assert(
    fc.property(arbReduceCase(), ([x, axes, keepdims]) => {
      const o = { keepdims };
      const n = sizeOf(normAxes('n', axes, x.shape.length).map((a) => x.shape[a]!));
      const s = loopReduce(x, axes, keepdims, 0, (a, v) => a + v);
      assertClose(px.sum(x, axes, o), s, { rtol: 1e-13, atol: 1e-13 }, 'sum');
      assertClose(px.max(x, axes, o), loopReduce(x, axes, keepdims, -Infinity, Math.max), { atol: 0 }, 'max');
      assertClose(px.min(x, axes, o), loopReduce(x, axes, keepdims, Infinity, Math.min), { atol: 0 }, 'min');
      assertClose(px.mean(x, axes, o), px.div(s, n), { rtol: 1e-13, atol: 1e-13 }, 'mean');
      const lse = px.log(loopReduce(x, axes, keepdims, 0, (a, v) => a + Math.exp(v)));
      assertClose(px.logsumexp(x, axes, o), lse, { rtol: 1e-13, atol: 1e-13 }, 'logsumexp');
    }),
    RUNS,
  );
});

test('softmax sums to 1 along its axis and exp(logSoftmax) = softmax; logsumexp stays finite for huge inputs', () => {
  const gen = arbShape({ rank: [1, 4] }).chain((s) => fc.tuple(arbTensorOf(s, 'float64', [-50, 50]), fc.integer({ min: -s.length, max: s.length - 1 })));
  fc.assert(
    fc.property(gen, ([x, axis]) => {
      const p = px.softmax(x, axis);
      assertClose(px.sum(p, axis), px.ones(px.sum(p, axis).shape, 'float64'), { rtol: 1e-13, atol: 1e-13 }, 'Σ softmax');
      assertClose(px.exp(px.logSoftmax(x, axis)), p, { rtol: 1e-12, atol: 1e-15 }, 'exp ∘ logSoftmax');
      const big = px.add(x, 1e6);
      assertClose(px.logsumexp(big, axis), px.add(px.logsumexp(x, axis), 1e6), { rtol: 1e-13, atol: 0 }, 'logsumexp(x + 10⁶)');
    }),
    RUNS,
  );
});

test('closed forms: ∇ sum = 1, ∇ mean = 1/n, ∇ max = one-hot of the argmax, ∇ logsumexp = softmax (float64)', () => {
  const gen = arbShape({ rank: [1, 4] }).chain((s) => arbTensorOf(s, 'float64', [-2, 2]).map((x) => distinctValues(x) as Tensor));
  fc.assert(
    fc.property(gen, (x) => {
      const one = px.onesLike(x);
      assertClose(px.grad((a: Tensor) => px.sum(a))(x), one, { atol: 0 }, '∇ sum');
      assertClose(px.grad((a: Tensor) => px.mean(a))(x), px.div(one, x.size), { rtol: 1e-15, atol: 0 }, '∇ mean');
      const flat = px.reshape(x, [x.size]);
      const hot = px.reshape(px.oneHot(px.argmax(flat), x.size, 'float64'), x.shape);
      assertClose(px.grad((a: Tensor) => px.max(a))(x), hot, { atol: 0 }, '∇ max');
      const soft = px.reshape(px.softmax(flat), x.shape);
      assertClose(px.grad((a: Tensor) => px.logsumexp(a))(x), soft, { rtol: 1e-13, atol: 1e-15 }, '∇ logsumexp');
    }),
    RUNS,
  );
});

/** assertClose that also accepts equal infinities (±∞ = ±∞) and NaN where NaN is expected. */
function assertCloseExtended(a: Tensor, b: Tensor, label: string): void {
  assert.deepEqual(a.shape, b.shape, `${label}: shapes`);
  const x = a.dataSync() as Float64Array;
  const y = b.dataSync() as Float64Array;
  y.forEach((w, i) => {
    const v = x[i]!;
    if (v === w || (Number.isNaN(v) && Number.isNaN(w))) return;
    if (!(Math.abs(v - w) <= 1e-15 + 1e-14 * Math.abs(w))) assert.fail(`${label}: element ${i}: got ${v} expected ${w}`);
  });
}

/** Values in [−3, 3] with some entries −∞ and fewer +∞ (whole slices of −∞ are likely in small shapes). */
const arbWithInfinities = (shape: readonly number[]) =>
  fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) },
        { weight: 3, arbitrary: fc.constant(-Infinity) },
        { weight: 1, arbitrary: fc.constant(Infinity) },
      ),
      { minLength: sizeOf(shape), maxLength: sizeOf(shape) },
    )
    .map((v) => px.tensor(v, 'float64', shape) as Tensor);

/**
 * logsumexp of one slice and its gradient, by the rules logsumexp documents: all −∞ gives −∞ and
 * gradient 0; a +∞ entry gives +∞, gradient NaN on the +∞ entries and 0 elsewhere; otherwise the
 * shifted sum and the softmax weights (0 on −∞ entries).
 */
function lseSlice(v: readonly number[]): { value: number; grad: number[] } {
  const m = Math.max(...v);
  if (m === -Infinity) return { value: -Infinity, grad: v.map(() => 0) };
  if (m === Infinity) return { value: Infinity, grad: v.map((a) => (a === Infinity ? NaN : 0)) };
  const s = v.reduce((acc, a) => acc + Math.exp(a - m), 0);
  return { value: m + Math.log(s), grad: v.map((a) => Math.exp(a - m) / s) };
}

test('logsumexp with infinite entries: −∞ for an all −∞ slice (gradient 0), +∞ with a +∞ entry (gradient NaN there, 0 elsewhere), softmax weights otherwise; eager, jit and vmap; the Hessian-vector product of an all −∞ slice is 0', () => {
  const gen = arbShape({ rank: [1, 3], size: [1, 4] }).chain((s) => fc.tuple(arbWithInfinities(s), fc.integer({ min: 0, max: s.length - 1 })));
  fc.assert(
    fc.property(gen, ([x, axis]) => {
      // slices along `axis`, moved last: rows of the reference
      const perm = [...x.shape.keys()].filter((a) => a !== axis).concat(axis);
      const rows = px.reshape(px.transpose(x, perm), [-1, x.shape[axis]!]);
      const ref = Array.from({ length: rows.shape[0]! }, (_, r) => lseSlice(Array.from(px.slice(rows, [r, 0], [r + 1, rows.shape[1]!]).dataSync() as Float64Array)));
      const wantValue = px.tensor(ref.map((r) => r.value), 'float64');
      const wantGrad = px.tensor(ref.flatMap((r) => r.grad), 'float64', rows.shape);
      const f = (a: Tensor) => px.logsumexp(a, -1);
      const check = (label: string, value: Tensor, g: Tensor) => {
        assertCloseExtended(value, wantValue, `${label} value`);
        assertCloseExtended(g, wantGrad, `${label} gradient`);
      };
      const ones = px.onesLike(wantValue);
      const [v, back] = px.vjp(f, rows);
      const backOnes = () => (back(ones) as unknown as [Tensor])[0];
      check('eager', v, backOnes());
      const jitted = px.jit((a: Tensor) => {
        const [y, b] = px.vjp(f, a);
        return [y, (b(px.onesLike(y)) as unknown as [Tensor])[0]];
      })(rows);
      check('jit', jitted[0]!, jitted[1]!);
      check('vmap', px.vmap((r: Tensor) => px.logsumexp(r))(rows), px.vmap(px.grad((r: Tensor) => px.logsumexp(r), { allowNaN: true }))(rows));
      // along the original axis, without moving it
      assertCloseExtended(px.logsumexp(x, axis), px.reshape(wantValue, x.shape.filter((_, a) => a !== axis)), 'along the axis');
      // second order on the all −∞ slices: Hessian-vector products are 0, not NaN
      const dead = ref.map((r) => r.value === -Infinity);
      if (dead.some(Boolean)) {
        const t = px.onesLike(rows);
        const hv = px.jvp((a: Tensor) => (px.vjp(f, a)[1](ones) as unknown as [Tensor])[0], [rows], [t])[1] as Tensor;
        const hvRows = Array.from({ length: rows.shape[0]! }, (_, r) => Array.from(px.slice(hv, [r, 0], [r + 1, rows.shape[1]!]).dataSync() as Float64Array));
        hvRows.forEach((h, r) => dead[r] && assert.deepEqual(h, h.map(() => 0), `Hessian·t of the all −∞ row ${r}`));
      }
    }),
    RUNS,
  );
});

test('max at a tie shares the derivative equally among the tied elements', () => {
  const x = px.tensor([1, 3, 3, 0], 'float64');
  assertClose(px.grad((a: Tensor) => px.max(a))(x), px.tensor([0, 0.5, 0.5, 0], 'float64'), { atol: 0 }, '∇ max at a tie');
  assert.equal(px.max(x).item(), 3);
});
