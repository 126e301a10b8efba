import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DTypeError, ShapeError } from '../src/index.js';
import { bernoulli, foldIn, key, keyData, normal, permutation, randint, split, threefry2x32, uniform, wrapKeyData } from '../src/random/index.js';
import { erf, erfc, erfinv } from '../src/random/erfinv.js';
import { RUNS, runs } from './harness/index.js';

/**
 * Laws of the PRNG: known answers (Threefry-2x32 test vectors, values printed by JAX), determinism,
 * independence of split streams, and the distributions of the samplers within statistical bounds.
 * The statistical bounds are 5σ (false alarm ≈ 6e-7 per check) so they hold for generated seeds.
 */

const N = 20000;
const arbSeed = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.maxSafeInteger());
const arbKey = arbSeed.map((s) => key(s));
const values = (x: { dataSync(): ArrayLike<number> }) => Array.from(x.dataSync());

test('Threefry-2x32 (20 rounds) reproduces the Random123 known-answer vectors', () => {
  const hex = (ws: number[]) => ws.map((w) => `0x${w.toString(16).padStart(8, '0')}`);
  assert.deepEqual(hex(threefry2x32(0, 0, 0, 0)), ['0x6b200159', '0x99ba4efe']);
  assert.deepEqual(hex(threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)), ['0x1cb996fc', '0xbb002be7']);
  assert.deepEqual(hex(threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3)), ['0xc4923a9c', '0x483df7a0']);
});

test('key, split, uniform and normal reproduce jax.random (threefry partitionable) values', () => {
  // jax.random.PRNGKey(s) then random.split(key): printed by JAX for seeds 0, 1, 2.
  assert.deepEqual(keyData(key(0)), [0, 0]);
  assert.deepEqual(split(key(0)).map(keyData), [[1797259609, 2579123966], [928981903, 3453687069]]);
  assert.deepEqual(split(key(1)).map(keyData), [[507451445, 1853169794], [1948878966, 4237131848]]);
  assert.deepEqual(split(key(2)).map(keyData), [[1821159224, 3364244817], [637334850, 3278974502]]);
  // 64-bit seeds: high word, low word (two's complement for negative seeds).
  assert.deepEqual(keyData(key(2 ** 32 + 5)), [1, 5]);
  assert.deepEqual(keyData(key(-1)), [0xffffffff, 0xffffffff]);
  assert.deepEqual(keyData(key(-1n)), [0xffffffff, 0xffffffff]);
  // random.uniform(k2, (4, 4)) and random.normal(k1, (4, 4)) with [k1, k2] = split(PRNGKey(0)), float32.
  const [k1, k2] = split(key(0));
  const jaxUniform = [
    0.00729382, 0.02089119, 0.5814265, 0.36183798, 0.22303772, 0.11928833, 0.12543893, 0.61683, 0.0950073, 0.9834225, 0.4248221, 0.8324801,
    0.0966121, 0.22702086, 0.3545748, 0.67104137,
  ];
  const jaxNormal = [
    1.0040143, -0.9063372, -0.7481722, -1.1713669, -0.8712328, 0.58883816, 0.72392994, -1.0255982, 1.661628, -1.8910251, -1.2889339, 0.13360691,
    -1.1530392, 0.23929629, 1.7448071, 0.5050189,
  ];
  const u = uniform(k2!, [4, 4]);
  const z = normal(k1!, [4, 4]);
  assert.deepEqual([u.dtype, z.dtype, u.shape, z.shape], ['float32', 'float32', [4, 4], [4, 4]]);
  // JAX printed 8 significant digits: uniform is bit-identical; normal is within 3 float32 ulps
  // (XLA evaluates erfinv with a float32 polynomial, we use a float64 erfinv rounded once).
  values(u).forEach((v, i) => assert.ok(Math.abs(v - jaxUniform[i]!) <= 5e-8 * Math.max(1, Math.abs(v)), `uniform[${i}] = ${v}, JAX ${jaxUniform[i]}`));
  values(z).forEach((v, i) => assert.ok(Math.abs(v - jaxNormal[i]!) <= 3 * 1.2e-7 * Math.max(1, Math.abs(v)), `normal[${i}] = ${v}, JAX ${jaxNormal[i]}`));
});

test('erf, erfc and erfinv match reference values and invert each other', () => {
  // Python's math.erf / math.erfc (correctly rounded to ~1 ulp).
  const ref: [number, number, number][] = [
    [0.1, 0.1124629160182849, 0.8875370839817152],
    [0.5, 0.5204998778130465, 0.4795001221869535],
    [1, 0.8427007929497149, 0.15729920705028513],
    [2, 0.9953222650189527, 0.004677734981047265],
    [3, 0.9999779095030014, 2.2090496998585438e-5],
    [5, 0.9999999999984626, 1.5374597944280351e-12],
    [8, 1, 1.1224297172982928e-29],
  ];
  for (const [x, e, ec] of ref) {
    assert.ok(Math.abs(erf(x) - e) <= 4e-16, `erf(${x}) = ${erf(x)}, expected ${e}`);
    assert.ok(Math.abs(erfc(x) - ec) <= 4e-15 * ec, `erfc(${x}) = ${erfc(x)}, expected ${ec}`);
    assert.equal(erf(-x), -erf(x));
  }
  // centre: erfinv(erf(y)) = y (well conditioned for |y| ≤ 1)
  fc.assert(
    fc.property(fc.double({ min: -1, max: 1, noNaN: true }), (y) => {
      const back = erfinv(erf(y));
      assert.ok(Math.abs(back - y) <= 1e-14 * Math.abs(y), `erfinv(erf(${y})) = ${back}`);
    }),
    RUNS,
  );
  // tails: erfc(erfinv(u)) = 1 − u in relative terms (1 − u is exact for u ≥ 1/2), down to 1 − u = 2^-53
  fc.assert(
    fc.property(fc.double({ min: 2 ** -53, max: 0.5, noNaN: true }), fc.boolean(), (q0, neg) => {
      const u = 1 - q0;
      const q = 1 - u;
      const y = erfinv(neg ? -u : u);
      assert.equal(Math.sign(y), neg ? -1 : 1);
      // a relative error ε in y moves erfc(y) by 2y²ε relatively: allow 4 ulps of y, plus erfc's own error
      const tol = (2 * y * y * 4 * 2 ** -52 + 2e-15) * q;
      assert.ok(Math.abs(erfc(Math.abs(y)) - q) <= tol, `erfc(erfinv(${u})) = ${erfc(Math.abs(y))}, expected ${q}`);
    }),
    RUNS,
  );
  assert.equal(erfinv(0), 0);
  assert.equal(erfinv(1), Infinity);
  assert.equal(erfinv(-1), -Infinity);
  assert.ok(Number.isNaN(erfinv(1.5)));
});

test('the same key gives the same numbers; sampling never changes the key', () => {
  fc.assert(
    fc.property(arbKey, fc.constantFrom('float32' as const, 'float64' as const), (k, dtype) => {
      const before = keyData(k);
      assert.deepEqual(values(normal(k, [3, 4], dtype)), values(normal(k, [3, 4], dtype)));
      assert.deepEqual(values(uniform(k, [7], dtype)), values(uniform(k, [7], dtype)));
      assert.deepEqual(values(randint(k, [5], -3, 9)), values(randint(k, [5], -3, 9)));
      assert.deepEqual(values(bernoulli(k, 0.3, [6])), values(bernoulli(k, 0.3, [6])));
      assert.deepEqual(values(permutation(k, 9)), values(permutation(k, 9)));
      assert.deepEqual(keyData(k), before);
      // element i depends on i alone: a larger draw extends a smaller one (row-major)
      assert.deepEqual(values(normal(k, [12], dtype)), values(normal(k, [3, 4], dtype)));
      assert.deepEqual(values(normal(k, [20], dtype)).slice(0, 12), values(normal(k, [12], dtype)));
    }),
    RUNS,
  );
});

test('split is deterministic, gives distinct keys, equals foldIn by index, and longer splits extend shorter ones', () => {
  fc.assert(
    fc.property(arbKey, fc.integer({ min: 2, max: 12 }), (k, n) => {
      const ks = split(k, n).map(keyData);
      assert.deepEqual(split(k, n).map(keyData), ks);
      const all = new Set([...ks, keyData(k)].map((w) => `${w[0]},${w[1]}`));
      assert.equal(all.size, n + 1, 'split keys collide with each other or with the parent');
      ks.forEach((w, i) => assert.deepEqual(keyData(foldIn(k, i)), w));
      assert.deepEqual(split(k, n + 3).slice(0, n).map(keyData), ks);
      assert.deepEqual(split(k).map(keyData), ks.slice(0, 2));
      assert.deepEqual(keyData(wrapKeyData(ks[0]!)), ks[0]);
    }),
    RUNS,
  );
});

test('split keys give different streams (no pair of 64 normals shared)', () => {
  fc.assert(
    fc.property(arbKey, (k) => {
      const [a, b] = split(k);
      const za = values(normal(a!, [64], 'float64'));
      const zb = values(normal(b!, [64], 'float64'));
      const zk = values(normal(k, [64], 'float64'));
      const sa = new Set(za);
      assert.ok(!zb.some((v) => sa.has(v)) && !zk.some((v) => sa.has(v)), 'streams of split keys share values');
      // and they are uncorrelated: |r| < 5/√64 bound is loose; use the exact sample correlation bound 5σ with σ ≈ 1/√64
      const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
      const ma = mean(za);
      const mb = mean(zb);
      const cov = za.reduce((s, v, i) => s + (v - ma) * (zb[i]! - mb), 0);
      const r = cov / Math.sqrt(za.reduce((s, v) => s + (v - ma) ** 2, 0) * zb.reduce((s, v) => s + (v - mb) ** 2, 0));
      assert.ok(Math.abs(r) < 5 / Math.sqrt(64), `split streams correlated: r = ${r}`);
    }),
    RUNS,
  );
});

/** Φ, the standard normal CDF. */
const Phi = (x: number) => 0.5 * erfc(-x / Math.SQRT2);

test(`normal: mean, variance and the Kolmogorov–Smirnov distance to N(0,1) within 5σ bounds (n = ${N})`, () => {
  fc.assert(
    fc.property(arbKey, fc.constantFrom('float32' as const, 'float64' as const), (k, dtype) => {
      const z = values(normal(k, [N], dtype));
      assert.ok(z.every(Number.isFinite), 'non-finite normal sample');
      const mean = z.reduce((s, v) => s + v, 0) / N;
      const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / (N - 1);
      assert.ok(Math.abs(mean) < 5 / Math.sqrt(N), `mean ${mean} (bound ${5 / Math.sqrt(N)})`);
      // Var(s²) = 2/(n−1) for normal data
      assert.ok(Math.abs(variance - 1) < 5 * Math.sqrt(2 / (N - 1)), `variance ${variance}`);
      // KS: P(√n·D > 2.6) < 1e-5
      z.sort((a, b) => a - b);
      let d = 0;
      z.forEach((v, i) => (d = Math.max(d, Math.abs(Phi(v) - i / N), Math.abs(Phi(v) - (i + 1) / N))));
      assert.ok(Math.sqrt(N) * d < 2.6, `KS statistic √n·D = ${Math.sqrt(N) * d}`);
    }),
    RUNS,
  );
});

test(`uniform: values in [min, max), mean and variance within 5σ bounds (n = ${N})`, () => {
  const arbRange = fc
    .tuple(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.double({ min: 1e-3, max: 1e3, noNaN: true }))
    .map(([lo, w]) => [lo, lo + w] as const);
  fc.assert(
    fc.property(arbKey, arbRange, fc.constantFrom('float32' as const, 'float64' as const), (k, [min, max], dtype) => {
      const lo = dtype === 'float32' ? Math.fround(min) : min;
      const hi = dtype === 'float32' ? Math.fround(max) : max;
      fc.pre(lo < hi);
      const u = values(uniform(k, [N], dtype, { min, max }));
      assert.ok(u.every((v) => v >= lo && v < hi), `a value outside [${lo}, ${hi})`);
      const w = hi - lo;
      const mean = u.reduce((s, v) => s + v, 0) / N;
      const variance = u.reduce((s, v) => s + (v - mean) ** 2, 0) / (N - 1);
      assert.ok(Math.abs(mean - (lo + hi) / 2) < (5 * w) / Math.sqrt(12 * N), `mean ${mean} for [${lo}, ${hi})`);
      // Var(s²) ≈ (μ4 − σ⁴)/n = (w⁴/80 − w⁴/144)/n for a uniform
      assert.ok(Math.abs(variance - (w * w) / 12) < 5 * w * w * Math.sqrt((1 / 80 - 1 / 144) / N), `variance ${variance}`);
    }),
    RUNS,
  );
});

test(`bernoulli: the frequency of true is p within 5σ (n = ${N}); p = 0 and p = 1 are exact`, () => {
  fc.assert(
    fc.property(arbKey, fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1, 0.5)), (k, p) => {
      const b = bernoulli(k, p, [N]);
      assert.equal(b.dtype, 'bool');
      const freq = values(b).reduce((s, v) => s + v, 0) / N;
      if (p === 0 || p === 1) assert.equal(freq, p);
      else assert.ok(Math.abs(freq - p) <= 5 * Math.sqrt((p * (1 - p)) / N) + 1 / N, `frequency ${freq} for p = ${p}`);
    }),
    RUNS,
  );
});

test(`randint: integers in [lo, hi), each value with frequency 1/(hi−lo) within 5σ (n = ${N})`, () => {
  fc.assert(
    fc.property(arbKey, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 20 }), fc.integer({ min: 1, max: 12 }), (k, lo, span) => {
      const r = randint(k, [N], lo, lo + span);
      assert.equal(r.dtype, 'int32');
      const counts = new Array<number>(span).fill(0);
      for (const v of values(r)) {
        assert.ok(Number.isInteger(v) && v >= lo && v < lo + span, `value ${v} outside [${lo}, ${lo + span})`);
        counts[v - lo]!++;
      }
      const p = 1 / span;
      counts.forEach((c, j) => assert.ok(Math.abs(c / N - p) <= 5 * Math.sqrt((p * (1 - p)) / N) + 1e-12, `value ${lo + j}: frequency ${c / N}`));
    }),
    RUNS,
  );
  // the full int32 range is reachable on both sides
  const wide = values(randint(key(7), [2000], -(2 ** 31), 2 ** 31));
  assert.ok(wide.some((v) => v < -(2 ** 30)) && wide.some((v) => v > 2 ** 30));
});

test('permutation is a permutation of 0..n−1, and all 24 orders of 4 are about equally likely', () => {
  fc.assert(
    fc.property(arbKey, fc.integer({ min: 0, max: 300 }), (k, n) => {
      const p = permutation(k, n);
      assert.deepEqual([p.dtype, p.shape], ['int32', [n]]);
      assert.deepEqual(values(p).sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    }),
    RUNS,
  );
  fc.assert(
    fc.property(arbKey, (k) => {
      const m = 2400;
      const counts = new Map<string, number>();
      for (const kk of split(k, m)) {
        const s = values(permutation(kk, 4)).join('');
        counts.set(s, (counts.get(s) ?? 0) + 1);
      }
      assert.equal(counts.size, 24, `only ${counts.size} of the 24 orders seen`);
      const p = 1 / 24;
      for (const [s, c] of counts) assert.ok(Math.abs(c / m - p) <= 5 * Math.sqrt((p * (1 - p)) / m), `order ${s}: frequency ${c / m}`);
    }),
    runs(20),
  );
});

test('bad inputs are refused with errors naming the function', () => {
  const k = key(0);
  assert.throws(() => key(1.5), /random\.key: seed must be a safe integer/);
  assert.throws(() => key(2 ** 60), /random\.key/);
  assert.throws(() => key('3' as never), /random\.key: seed must be an integer/);
  assert.throws(() => key(1n << 70n), /random\.key/);
  assert.throws(() => split(k, -1), /random\.split: n must be a non-negative integer/);
  assert.throws(() => split(0 as never), /random\.split: expected a PRNG key/);
  assert.throws(() => foldIn(k, -2), /random\.foldIn/);
  assert.throws(() => foldIn(k, 0.5), /random\.foldIn/);
  assert.throws(() => normal(k, [2, -1]), (e: Error) => e instanceof ShapeError && /random\.normal/.test(e.message));
  assert.throws(() => normal(k, [2], 'int32' as never), (e: Error) => e instanceof DTypeError && /random\.normal: dtype must be float32 or float64, got int32/.test(e.message));
  assert.throws(() => normal(42 as never, [2]), /random\.normal: expected a PRNG key/);
  assert.throws(() => uniform(k, [2], 'float32', { min: 1, max: 1 }), /random\.uniform: min \(1\) must be less than max \(1\)/);
  assert.throws(() => uniform(k, [2], 'float64', { min: 0, max: NaN }), /random\.uniform: min and max must be finite/);
  assert.throws(() => uniform(k, [2], 'float32', { min: 1, max: 1 + 1e-12 }), /random\.uniform: .* in float32/);
  assert.throws(() => bernoulli(k, 1.5, [2]), /random\.bernoulli: p must be a number in \[0, 1\], got 1.5/);
  assert.throws(() => bernoulli(k, NaN, [2]), /random\.bernoulli/);
  assert.throws(() => randint(k, [2], 3, 3), /random\.randint: lo \(3\) must be less than hi \(3\)/);
  assert.throws(() => randint(k, [2], 0, 2.5), /random\.randint: lo and hi must be integers/);
  assert.throws(() => randint(k, [2], 0, 2 ** 32), /random\.randint: .* does not fit int32/);
  assert.throws(() => permutation(k, -1), /random\.permutation/);
  assert.throws(() => wrapKeyData([1, 2 ** 32]), /random\.wrapKeyData: expected two uint32 words/);
  assert.throws(() => new (k.constructor as new (...a: unknown[]) => unknown)(Symbol('x'), 1, 2), /random\.Key/);
  assert.ok(Object.isFrozen(k) && Object.isFrozen(k.words));
});
