import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as px from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { sizeOf, stridesOf } from '../../src/core/shape.js';
import { arbSeed, arbTensorOf, assertClose, checkDerivatives, distinctValues, RUNS, throwsWith, runs } from '../harness/index.js';

/**
 * Laws of conv2d, maxPool2d and avgPool2d (src/ops/conv.ts, pool.ts, patches.ts): values against
 * direct nested loops written here, derivatives against central differences (float64) at orders
 * 1–2 with the adjoint identity between jvp and vjp (harness `checkDerivatives`), vmap against
 * stacking, and the error messages of bad inputs.
 */

type P2 = [number, number];

interface ConvCase {
  x: Tensor;
  w: Tensor;
  b: Tensor | undefined;
  stride: P2;
  padding: P2;
  dilation: P2;
  groups: number;
}

const arbP2 = (min: number, max: number) => fc.tuple(fc.integer({ min, max }), fc.integer({ min, max }));

/** A conv configuration whose output is never empty: H ≥ the dilated kernel minus the padding. */
const arbConvCase = (opts: { maxBatch?: number; bias?: boolean } = {}): fc.Arbitrary<ConvCase> =>
  fc
    .record({
      n: fc.integer({ min: 1, max: opts.maxBatch ?? 2 }),
      groups: fc.integer({ min: 1, max: 2 }),
      cg: fc.integer({ min: 1, max: 2 }),
      og: fc.integer({ min: 1, max: 2 }),
      k: arbP2(1, 3),
      stride: arbP2(1, 2),
      padding: arbP2(0, 2),
      dilation: arbP2(1, 2),
      extra: arbP2(0, 3),
      bias: opts.bias === false ? fc.constant(false) : fc.boolean(),
    })
    .chain((c) => {
      const hw = [0, 1].map((i) => Math.max(1, c.dilation[i]! * (c.k[i]! - 1) + 1 - 2 * c.padding[i]!) + c.extra[i]!) as P2;
      const xs = [c.n, c.groups * c.cg, hw[0], hw[1]];
      const ws = [c.groups * c.og, c.cg, c.k[0], c.k[1]];
      return fc.tuple(arbTensorOf(xs), arbTensorOf(ws), arbTensorOf([c.groups * c.og])).map(
        ([x, w, b]): ConvCase => ({ x, w, b: c.bias ? b : undefined, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups }),
      );
    });

const show = (c: ConvCase) =>
  `x ${JSON.stringify(c.x.shape)} w ${JSON.stringify(c.w.shape)} stride ${c.stride} padding ${c.padding} dilation ${c.dilation} groups ${c.groups} bias ${c.b !== undefined}`;

const convOf = (c: ConvCase) => (x: Tensor, w: Tensor, b?: Tensor) =>
  px.conv2d(x, w, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, ...(b ? { bias: b } : {}) });

/** Direct nested-loop conv2d (PyTorch cross-correlation), in float64 arrays. */
function convReference(c: ConvCase): Tensor {
  const [n, cin, h, wd] = c.x.shape as number[] as [number, number, number, number];
  const [o, cg, kh, kw] = c.w.shape as number[] as [number, number, number, number];
  const og = o / c.groups;
  const oh = Math.floor((h + 2 * c.padding[0] - c.dilation[0] * (kh - 1) - 1) / c.stride[0]) + 1;
  const ow = Math.floor((wd + 2 * c.padding[1] - c.dilation[1] * (kw - 1) - 1) / c.stride[1]) + 1;
  const x = c.x.dataSync() as Float64Array;
  const w = c.w.dataSync() as Float64Array;
  const b = c.b?.dataSync() as Float64Array | undefined;
  const out = new Float64Array(n * o * oh * ow);
  for (let ni = 0; ni < n; ni++)
    for (let oi = 0; oi < o; oi++) {
      const g = Math.floor(oi / og);
      for (let p = 0; p < oh; p++)
        for (let q = 0; q < ow; q++) {
          let s = b ? b[oi]! : 0;
          for (let ci = 0; ci < cg; ci++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const y = p * c.stride[0] - c.padding[0] + i * c.dilation[0];
                const z = q * c.stride[1] - c.padding[1] + j * c.dilation[1];
                if (y < 0 || y >= h || z < 0 || z >= wd) continue;
                const cx = g * cg + ci;
                s += w[((oi * cg + ci) * kh + i) * kw + j]! * x[((ni * cin + cx) * h + y) * wd + z]!;
              }
          out[((ni * o + oi) * oh + p) * ow + q] = s;
        }
    }
  assert.ok(cin === cg * c.groups);
  return px.fromBuffer(out, 'float64', [n, o, oh, ow]);
}

test('conv2d equals a direct nested-loop cross-correlation (random stride/padding/dilation/groups/bias, float64)', () => {
  fc.assert(
    fc.property(arbConvCase(), (c) => {
      assertClose(convOf(c)(c.x, c.w, c.b), convReference(c), { rtol: 1e-12, atol: 1e-12 }, show(c));
    }),
    RUNS,
  );
});

test('conv2d in float32 agrees with the float64 reference to float32 precision', () => {
  fc.assert(
    fc.property(arbConvCase({ bias: false }), (c) => {
      const y = convOf(c)(px.astype(c.x, 'float32'), px.astype(c.w, 'float32'));
      assert.equal(y.dtype, 'float32');
      assertClose(px.astype(y, 'float64'), convReference(c), { rtol: 1e-5, atol: 1e-5 }, show(c));
    }),
    RUNS,
  );
});

test('conv2d in x, w and bias: jvp and grad match central differences; adjoint ⟨J·t, c⟩ = ⟨t, Jᵀ·c⟩; grad of a scalar of grad and jvp(jvp) match differences of the first derivatives (float64)', () => {
  fc.assert(
    fc.property(arbConvCase({ maxBatch: 1 }), arbSeed, (c, seed) => {
      const f = convOf(c);
      const args = c.b ? [c.x, c.w, c.b] : [c.x, c.w];
      checkDerivatives(`conv2d(${show(c)})`, ([x, w, b]) => f(x!, w!, b), args, seed, { order: 2 });
    }),
    RUNS,
  );
});

test('conv2d: third derivatives (grad³, jvp³) match central differences of the second (small cases, float64)', () => {
  fc.assert(
    fc.property(arbConvCase({ maxBatch: 1, bias: false }), arbSeed, (c, seed) => {
      const f = convOf(c);
      checkDerivatives(`conv2d(${show(c)})`, ([x, w]) => f(x!, w!), [c.x, c.w], seed, { order: 3 });
    }),
    runs(100),
  );
});

test('vmap(conv2d) over x, over w, and over both equals stacking the per-example convolutions', () => {
  fc.assert(
    fc.property(arbConvCase({ maxBatch: 1 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 }), (c, batch, mode) => {
      const f = convOf(c);
      const xs = Array.from({ length: batch }, (_, i) => px.add(c.x, i * 0.37));
      const ws = Array.from({ length: batch }, (_, i) => px.mul(c.w, 1 - i * 0.21));
      const stackX = px.stack(xs);
      const stackW = px.stack(ws);
      let got: Tensor;
      let want: Tensor;
      if (mode === 0) {
        got = px.vmap((x: Tensor) => f(x, c.w, c.b))(stackX);
        want = px.stack(xs.map((x) => f(x, c.w, c.b)));
      } else if (mode === 1) {
        got = px.vmap((w: Tensor) => f(c.x, w, c.b), { inAxes: 0 })(stackW);
        want = px.stack(ws.map((w) => f(c.x, w, c.b)));
      } else {
        got = px.vmap((x: Tensor, w: Tensor) => f(x, w, c.b))(stackX, stackW);
        want = px.stack(xs.map((x, i) => f(x, ws[i]!, c.b)));
      }
      assertClose(got, want, { rtol: 1e-12, atol: 1e-12 }, `${show(c)} mode ${mode}`);
    }),
    RUNS,
  );
});

test('vmap(grad(conv loss)) equals the stacked per-example gradients (per-example gradients of a conv layer)', () => {
  fc.assert(
    fc.property(arbConvCase({ maxBatch: 1, bias: false }), fc.integer({ min: 1, max: 3 }), (c, batch) => {
      const f = convOf(c);
      const loss = (w: Tensor, x: Tensor) => px.sum(px.tanh(f(x, w)));
      const xs = Array.from({ length: batch }, (_, i) => px.sub(c.x, i * 0.5));
      const got = px.vmap(px.grad(loss), { inAxes: [null, 0] })(c.w, px.stack(xs));
      const want = px.stack(xs.map((x) => px.grad(loss)(c.w, x)));
      assertClose(got, want, { rtol: 1e-11, atol: 1e-12 }, show(c));
    }),
    RUNS,
  );
});

// ----------------------------------------------------------------------------------------------
// pooling
// ----------------------------------------------------------------------------------------------

interface PoolCase {
  x: Tensor;
  kernel: P2;
  stride: P2;
  padding: P2;
  dilation: P2;
}

/** A pooling configuration with padding ≤ ⌊kernel/2⌋ and a non-empty output. */
const arbPoolCase = (opts: { dilation?: boolean; distinct?: boolean } = {}): fc.Arbitrary<PoolCase> =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 2 }),
      c: fc.integer({ min: 1, max: 2 }),
      kernel: arbP2(1, 3),
      stride: arbP2(1, 3),
      pad: arbP2(0, 1),
      dilation: opts.dilation ? arbP2(1, 2) : fc.constant([1, 1] as P2),
      extra: arbP2(0, 3),
    })
    .chain((c) => {
      const eff = [0, 1].map((i) => c.dilation[i]! * (c.kernel[i]! - 1) + 1);
      const padding = [0, 1].map((i) => Math.min(c.pad[i]!, Math.floor(c.kernel[i]! / 2))) as P2;
      const hw = [0, 1].map((i) => Math.max(1, eff[i]! - 2 * padding[i]!) + c.extra[i]!);
      return arbTensorOf([c.n, c.c, hw[0]!, hw[1]!]).map(
        (x): PoolCase => ({ x: opts.distinct ? distinctValues(x) : x, kernel: c.kernel, stride: c.stride, padding, dilation: c.dilation }),
      );
    });

const showPool = (c: PoolCase) => `x ${JSON.stringify(c.x.shape)} kernel ${c.kernel} stride ${c.stride} padding ${c.padding} dilation ${c.dilation}`;

/** Direct nested-loop pooling: max over the window in (i, j) order (padding −∞) or the mean with zero padding counted. */
function poolReference(c: PoolCase, kind: 'max' | 'avg'): Tensor {
  const [n, ch, h, w] = c.x.shape as number[] as [number, number, number, number];
  const [kh, kw] = c.kernel;
  const oh = Math.floor((h + 2 * c.padding[0] - c.dilation[0] * (kh - 1) - 1) / c.stride[0]) + 1;
  const ow = Math.floor((w + 2 * c.padding[1] - c.dilation[1] * (kw - 1) - 1) / c.stride[1]) + 1;
  const x = c.x.dataSync() as Float64Array;
  const st = stridesOf(c.x.shape);
  const out = new Float64Array(n * ch * oh * ow);
  let k = 0;
  for (let a = 0; a < n; a++)
    for (let b = 0; b < ch; b++)
      for (let p = 0; p < oh; p++)
        for (let q = 0; q < ow; q++) {
          let m = -Infinity;
          let s = 0;
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) {
              const y = p * c.stride[0] - c.padding[0] + i * c.dilation[0];
              const z = q * c.stride[1] - c.padding[1] + j * c.dilation[1];
              if (y < 0 || y >= h || z < 0 || z >= w) continue;
              const v = x[a * st[0]! + b * st[1]! + y * st[2]! + z]!;
              if (v > m || Number.isNaN(v)) m = v; // PyTorch's rule: the first of equal maxima (−0 before +0 stays −0; Math.max would give +0)
              s += v;
            }
          out[k++] = kind === 'max' ? m : s / (kh * kw);
        }
  return px.fromBuffer(out, 'float64', [n, ch, oh, ow]);
}

const maxOf = (c: PoolCase) => (x: Tensor) => px.maxPool2d(x, { kernel: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation });
const avgOf = (c: PoolCase) => (x: Tensor) => px.avgPool2d(x, { kernel: c.kernel, stride: c.stride, padding: c.padding });

/** True when some dilated window sees only padding (its max is −∞): kept out of derivative laws. */
const seesOnlyPadding = (c: PoolCase) => (poolReference(c, 'max').dataSync() as Float64Array).some((v) => v === -Infinity);

test('maxPool2d equals a direct loop exactly (−∞ padding, dilation; floor mode)', () => {
  fc.assert(
    fc.property(arbPoolCase({ dilation: true }), (c) => {
      const got = maxOf(c)(c.x);
      const want = poolReference(c, 'max');
      assert.deepEqual(got.shape, want.shape, showPool(c));
      assert.deepEqual(Array.from(got.dataSync() as Float64Array), Array.from(want.dataSync() as Float64Array), showPool(c));
    }),
    RUNS,
  );
});

test('avgPool2d equals a direct loop (zero padding counted in the mean; floor mode)', () => {
  fc.assert(
    fc.property(arbPoolCase(), (c) => assertClose(avgOf(c)(c.x), poolReference(c, 'avg'), { rtol: 1e-14, atol: 1e-15 }, showPool(c))),
    RUNS,
  );
});

test('maxPool2d on distinct values (no ties): derivatives of orders 1–3 match central differences; adjoint (float64)', () => {
  fc.assert(
    fc.property(arbPoolCase({ dilation: true, distinct: true }).filter((c) => !seesOnlyPadding(c)), arbSeed, (c, seed) =>
      checkDerivatives(`maxPool2d(${showPool(c)})`, ([x]) => maxOf(c)(x!), [c.x], seed),
    ),
    RUNS,
  );
});

test('avgPool2d: derivatives of orders 1–3 match central differences; adjoint (float64)', () => {
  fc.assert(
    fc.property(arbPoolCase(), arbSeed, (c, seed) => checkDerivatives(`avgPool2d(${showPool(c)})`, ([x]) => avgOf(c)(x!), [c.x], seed)),
    RUNS,
  );
});

test('maxPool2d gradient routes each output cotangent to its window maximum (counts per input, no ties)', () => {
  fc.assert(
    fc.property(arbPoolCase({ distinct: true }), (c) => {
      const g = px.grad((x: Tensor) => px.sum(maxOf(c)(x)))(c.x);
      // expected: how many windows have this element as their maximum
      const [n, ch, h, w] = c.x.shape as number[] as [number, number, number, number];
      const x = c.x.dataSync() as Float64Array;
      const counts = new Float64Array(x.length);
      const y = poolReference(c, 'max');
      const [, , oh, ow] = y.shape as number[] as [number, number, number, number];
      for (let a = 0; a < n * ch; a++)
        for (let p = 0; p < oh; p++)
          for (let q = 0; q < ow; q++) {
            let best = -1;
            for (let i = 0; i < c.kernel[0]; i++)
              for (let j = 0; j < c.kernel[1]; j++) {
                const yy = p * c.stride[0] - c.padding[0] + i;
                const zz = q * c.stride[1] - c.padding[1] + j;
                if (yy < 0 || yy >= h || zz < 0 || zz >= w) continue;
                const idx = a * h * w + yy * w + zz;
                if (best < 0 || x[idx]! > x[best]!) best = idx;
              }
            counts[best]!++;
          }
      assertClose(g, px.fromBuffer(counts, 'float64', c.x.shape), { rtol: 0, atol: 0 }, showPool(c));
      assert.equal(sizeOf(g.shape), x.length);
    }),
    RUNS,
  );
});

test('maxPool2d with tied maxima shares the derivative equally among them (as max does)', () => {
  const x = px.tensor([[[[1, 1], [0, 1]]]], 'float64');
  const g = px.grad((t: Tensor) => px.sum(px.maxPool2d(t, { kernel: 2 })))(x);
  assertClose(g, px.tensor([[[[1 / 3, 1 / 3], [0, 1 / 3]]]], 'float64'), { rtol: 1e-15, atol: 0 }, 'tie split');
});

test('vmap(maxPool2d) and vmap(avgPool2d) equal stacking', () => {
  fc.assert(
    fc.property(arbPoolCase({ dilation: true }).filter((c) => !seesOnlyPadding(c)), fc.integer({ min: 1, max: 3 }), (c, batch) => {
      const xs = Array.from({ length: batch }, (_, i) => px.mul(c.x, 1 + i));
      for (const f of [maxOf(c), avgOf({ ...c, dilation: [1, 1] })])
        assertClose(px.vmap(f)(px.stack(xs)), px.stack(xs.map(f)), { rtol: 0, atol: 0 }, showPool(c));
    }),
    RUNS,
  );
});

// ----------------------------------------------------------------------------------------------
// bad inputs
// ----------------------------------------------------------------------------------------------


test('conv2d rejects bad inputs with messages naming conv2d and both shapes', () => {
  const x = px.zeros([1, 4, 5, 5], 'float64');
  const w = px.zeros([6, 2, 3, 3], 'float64');
  throwsWith(() => px.conv2d(px.zeros([4, 5, 5], 'float64'), w), px.ShapeError, 'conv2d', '[4,5,5]', '[6,2,3,3]', 'rank 4');
  throwsWith(() => px.conv2d(x, px.zeros([6, 2, 3], 'float64')), px.ShapeError, 'conv2d', '[1,4,5,5]', '[6,2,3]');
  throwsWith(() => px.conv2d(x, w), px.ShapeError, 'conv2d', '[1,4,5,5]', '[6,2,3,3]', 'groups');
  throwsWith(() => px.conv2d(x, w, { groups: 3 }), px.ShapeError, 'conv2d', '[1,4,5,5]', '[6,2,3,3]', 'divisible');
  throwsWith(() => px.conv2d(x, px.zeros([6, 4, 7, 3], 'float64')), px.ShapeError, 'conv2d', '[1,4,5,5]', '[6,4,7,3]', 'does not fit');
  throwsWith(() => px.conv2d(x, w, { groups: 2, stride: 0 }), px.ShapeError, 'conv2d', 'stride', '[1,4,5,5]');
  throwsWith(() => px.conv2d(x, w, { groups: 2, padding: -1 }), px.ShapeError, 'conv2d', 'padding');
  throwsWith(() => px.conv2d(x, w, { groups: 2, dilation: [1, 1.5] as unknown as [number, number] }), px.ShapeError, 'conv2d', 'dilation');
  throwsWith(() => px.conv2d(x, w, { groups: 2, bias: px.zeros([5], 'float64') }), px.ShapeError, 'conv2d', 'bias', '[5]', '[6]');
  throwsWith(() => px.conv2d(x, px.zeros([6, 2, 3, 3], 'float32'), { groups: 2 }), px.DTypeError, 'conv2d', 'float64', 'float32');
  throwsWith(() => px.conv2d(px.zeros([1, 4, 5, 5], 'int32'), px.zeros([6, 2, 3, 3], 'int32'), { groups: 2 }), px.DTypeError, 'conv2d', 'int32');
});

test('pooling rejects bad inputs with messages naming the op and the shape', () => {
  const x = px.zeros([1, 2, 4, 4], 'float64');
  throwsWith(() => px.maxPool2d(px.zeros([2, 4, 4], 'float64'), { kernel: 2 }), px.ShapeError, 'maxPool2d', '[2,4,4]');
  throwsWith(() => px.avgPool2d(x, { kernel: 5 }), px.ShapeError, 'avgPool2d', '[1,2,4,4]', 'does not fit');
  throwsWith(() => px.maxPool2d(x, { kernel: 3, padding: 2 }), px.ShapeError, 'maxPool2d', 'padding', 'half');
  throwsWith(() => px.avgPool2d(x, { kernel: 0 }), px.ShapeError, 'avgPool2d', 'kernel');
  throwsWith(() => px.maxPool2d(px.zeros([1, 2, 4, 4], 'int32'), { kernel: 2 }), px.DTypeError, 'maxPool2d', 'int32');
});
