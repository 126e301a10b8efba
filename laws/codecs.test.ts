import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as t from 'io-ts';
import { type DType, DecodeError, decodeOrThrow, fromBuffer, parseOrThrow, type Tensor, tensor, tensorCodec, tree, treeCodec, treeFromJSON, treeToJSON } from '../src/index.js';
import { allocate } from '../src/core/dtype.js';
import { sizeOf } from '../src/core/shape.js';
import { RUNS, runs } from './harness/index.js';

/**
 * The JSON codecs of tensor trees: tree → JSON → tree is the identity (through JSON text too),
 * every malformed input gives a DecodeError naming the path of the bad field, and fuzzed input
 * (random JSON, truncated text, mutated trees, arbitrary JS values) never crashes with anything
 * else and never hangs.
 */

const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

const arbValue = (dtype: DType): fc.Arbitrary<number> => {
  switch (dtype) {
    case 'float64':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'float32':
      return fc.float({ noNaN: true, noDefaultInfinity: true });
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'bool':
      return fc.constantFrom(0, 1);
  }
};
const arbLeaf = (dtypes: readonly DType[] = DTYPES): fc.Arbitrary<Tensor> =>
  fc.tuple(fc.constantFrom(...dtypes), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 })).chain(([dtype, shape]) =>
    fc.array(arbValue(dtype), { minLength: sizeOf(shape), maxLength: sizeOf(shape) }).map((vals) => {
      const buf = allocate(dtype, vals.length);
      vals.forEach((v, i) => (buf[i] = v));
      return fromBuffer(buf, dtype, shape);
    }),
  );
const KEYS = ['a', 'b', 'weight', 'bias', 'layers', 'shape_', 'dtype'] as const;
const arbTree = (dtypes: readonly DType[] = DTYPES): fc.Arbitrary<tree.Tree> =>
  fc.letrec<{ tree: tree.Tree; node: tree.Tree }>((tie) => ({
    tree: fc.oneof({ depthSize: 'small', maxDepth: 3 }, { arbitrary: arbLeaf(dtypes), weight: 1 }, { arbitrary: tie('node'), weight: 3 }),
    node: fc.oneof(fc.array(tie('tree'), { maxLength: 3 }), fc.dictionary(fc.constantFrom(...KEYS), tie('tree'), { maxKeys: 3, noNullPrototype: true })),
  })).tree;

/** Two trees are equal: one structure, and leaves of one dtype, shape and values (0 and −0 are equal: JSON has no −0). */
function assertTreeEqual(a: unknown, b: unknown) {
  assert.ok(tree.sameStructure(tree.structure(a), tree.structure(b)), `structures differ: ${tree.showStructure(tree.structure(a))} vs ${tree.showStructure(tree.structure(b))}`);
  tree.zip(a, b).forEach(([x, y], i) => {
    assert.equal(x!.dtype, y!.dtype, `leaf ${i}: dtype`);
    assert.deepEqual(x!.shape, y!.shape, `leaf ${i}: shape`);
    const xs = Array.from(x!.dataSync());
    const ys = Array.from(y!.dataSync());
    xs.forEach((v, j) => assert.ok(v === ys[j], `leaf ${i}, element ${j}: ${v} vs ${ys[j]}`));
  });
}

/** Runs a decoder on hostile input: it must return or throw a DecodeError, quickly. */
function decodesOrNamesTheProblem(run: () => unknown): 'ok' | 'error' {
  const t0 = performance.now();
  try {
    run();
    return 'ok';
  } catch (e) {
    if (!(e instanceof DecodeError)) throw new Error(`expected a DecodeError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    assert.ok(e.message.length > 0 && e.message.length < 4000, 'an empty or runaway message');
    return 'error';
  } finally {
    assert.ok(performance.now() - t0 < 1000, 'decoding took over a second');
  }
}

test('tree → JSON → tree is the identity (as a value and through JSON text), for every dtype', () => {
  fc.assert(
    fc.property(arbTree(), (tr) => {
      const json = treeToJSON(tr);
      assertTreeEqual(treeFromJSON(json), tr);
      assertTreeEqual(treeFromJSON(JSON.stringify(json)), tr);
      assert.deepEqual(treeCodec().encode(tr), json);
    }),
    RUNS,
  );
  // with the dtype given by the caller, the "dtype" fields may be left out
  fc.assert(
    fc.property(fc.constantFrom(...DTYPES).chain((d) => fc.tuple(fc.constant(d), arbTree([d]))), ([d, tr]) => {
      const text = JSON.stringify(treeToJSON(tr, { dtype: false }));
      assert.ok(!text.includes('"dtype"') || text.includes('"dtype":{') || text.includes('"dtype":['), 'dtype fields were written');
      assertTreeEqual(treeFromJSON(text, d), tr);
    }),
    RUNS,
  );
});

test('decoding errors name the input, the path of the bad field and the problem', () => {
  const msg = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof DecodeError, `not a DecodeError: ${String(e)}`);
      return e.message;
    }
    assert.fail('no error');
  };
  const weight = (w: unknown) => ({ params: { layers: [{ weight: w }] } });
  assert.equal(
    msg(() => decodeOrThrow(treeCodec('float64'), weight({ shape: [2, 3], data: [1, 2, 3, 4, 5] }), 'checkpoint')),
    'checkpoint: params.layers.0.weight.data: expected 6 numbers for shape [2,3], got 5',
  );
  assert.equal(msg(() => treeFromJSON(weight({ shape: [2], data: [1, NaN] }), 'float32', 'ck')), 'ck: params.layers.0.weight.data.1: expected a finite number, got NaN');
  assert.equal(msg(() => treeFromJSON(weight({ shape: [2], data: [1, '2'] }), 'float32', 'ck')), 'ck: params.layers.0.weight.data.1: expected a number, got "2"');
  assert.equal(msg(() => treeFromJSON(weight({ shape: [2], data: [1, null] }), 'float64', 'ck')), 'ck: params.layers.0.weight.data.1: expected a number, got null');
  assert.equal(msg(() => treeFromJSON(weight({ shape: [1], data: [1e39] }), 'float32', 'ck')), 'ck: params.layers.0.weight.data.0: 1e+39 is outside the float32 range');
  assert.equal(msg(() => treeFromJSON(weight({ shape: [1], data: [1.5] }), 'int32', 'ck')), 'ck: params.layers.0.weight.data.0: expected an int32 integer, got 1.5');
  assert.equal(msg(() => treeFromJSON(weight({ shape: [1], data: [2] }), 'bool', 'ck')), 'ck: params.layers.0.weight.data.0: expected true or false (dtype bool), got 2');
  assert.equal(msg(() => treeFromJSON(weight({ shape: [2, -1], data: [] }), 'float64', 'ck')), 'ck: params.layers.0.weight.shape.1: expected a non-negative integer (a dimension), got -1');
  assert.equal(msg(() => treeFromJSON(weight({ shape: 3, data: [] }), 'float64', 'ck')), 'ck: params.layers.0.weight.shape: expected an array of non-negative integers, got 3');
  assert.equal(msg(() => treeFromJSON(weight({ shape: [1], data: [1] }), undefined, 'ck')), 'ck: params.layers.0.weight: no dtype: add a "dtype" field to the tensor or give one to the decoder');
  assert.equal(msg(() => treeFromJSON(weight({ shape: [1], data: [1], dtype: 'int32' }), 'float64', 'ck')), 'ck: params.layers.0.weight.dtype: expected float64 (the dtype asked for), got int32');
  assert.equal(msg(() => treeFromJSON(weight({ shape: [1], data: [1], dtype: 'f64' }), undefined, 'ck')), 'ck: params.layers.0.weight.dtype: expected one of float32, float64, int32, bool, got "f64"');
  assert.equal(msg(() => treeFromJSON(weight({ shape: [1], data: [1], dtpye: 'float64' }), 'float64', 'ck')), `ck: params.layers.0.weight.dtpye: unknown field 'dtpye' (a tensor has "shape", "data" and an optional "dtype")`);
  assert.equal(msg(() => treeFromJSON({ a: [3] }, 'float64', 'ck')), 'ck: a.0: expected a tensor {"shape": [...], "data": [...]}, an array or a record, got 3');
  assert.equal(msg(() => treeFromJSON('{"a": [1', 'float64', 'ck')).split(' (')[0], 'ck: not valid JSON');
  assert.match(msg(() => treeFromJSON('['.repeat(5000) + ']'.repeat(5000), 'float64', 'deep')), /nested deeper than 200 levels/);
  assert.match(msg(() => treeFromJSON({ x: { shape: new Array(65).fill(1), data: [1] } }, 'float64', 'ck')), /ck: x\.shape: rank 65 is above the limit of 64 axes/);
  // several problems are all reported, each on its own line
  const many = msg(() => treeFromJSON({ a: { shape: [2], data: [1] }, b: [null], c: { shape: [1], data: ['x'] } }, 'float64', 'ck')).split('\n');
  assert.deepEqual(many.map((l) => l.split(':').slice(0, 2).join(':')), ['ck: a.data', 'ck: b.0', 'ck: c.data.0']);
  // the same formatting for any io-ts codec (case files, configs)
  const Config = t.type({ lr: t.number, layers: t.array(t.type({ size: t.number })) }, 'Config');
  assert.equal(msg(() => decodeOrThrow(Config, { lr: 0.1, layers: [{ size: 3 }, { size: 'big' }] }, 'config')), 'config: layers.1.size: expected number, got "big"');
  assert.equal(msg(() => decodeOrThrow(Config, { layers: [] }, 'config')), 'config: lr: expected number, got nothing (the field is missing)');
  assert.equal(msg(() => parseOrThrow(Config, '{"lr": 1,}', 'config')).split(' (')[0], 'config: not valid JSON');
  // typed single tensors
  const x: Tensor<'float64'> = decodeOrThrow(tensorCodec('float64'), { shape: [2], data: [1, 2] }, 'x');
  assert.deepEqual(Array.from(x.dataSync()), [1, 2]);
  assert.equal(msg(() => decodeOrThrow(tensorCodec('float64'), [1, 2], 'x')), 'x: expected a tensor {"shape": [...], "data": [...]}, got [1,2] (an array of 2)');
});

test('treeToJSON refuses what JSON cannot hold, naming the leaf', () => {
  assert.throws(() => treeToJSON({ a: [tensor([1, NaN], 'float64')] }), /treeToJSON: the tensor at 'a\.0' holds NaN at flat index 1/);
  assert.throws(() => treeToJSON({ a: tensor([Infinity], 'float32') }), /treeToJSON: the tensor at 'a' holds Infinity/);
  assert.throws(() => treeToJSON({ a: 3 } as never), /treeToJSON: the value at 'a' is 3; only tensors, arrays and records can be written/);
});

test('fuzz: random JSON values decode or give a DecodeError', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom<DType | undefined>(undefined, ...DTYPES), (v, d) => {
      decodesOrNamesTheProblem(() => treeFromJSON(v, d, 'fuzz'));
      decodesOrNamesTheProblem(() => decodeOrThrow(tensorCodec(d ?? 'float64'), v, 'fuzz'));
    }),
    runs(300),
  );
});

test('fuzz: arbitrary JS values (null prototypes, typed arrays, maps, bigints, sparse arrays…) decode or give a DecodeError', () => {
  const anything = fc.anything({
    maxDepth: 4,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
  });
  fc.assert(
    fc.property(anything, fc.constantFrom<DType | undefined>(undefined, ...DTYPES), (v, d) => {
      decodesOrNamesTheProblem(() => treeFromJSON(v, d, 'fuzz'));
      // also as the data or the shape of a leaf
      decodesOrNamesTheProblem(() => treeFromJSON({ w: { shape: [2], data: v } }, d ?? 'float64', 'fuzz'));
      decodesOrNamesTheProblem(() => treeFromJSON({ w: { shape: v, data: [1, 2] } }, d ?? 'float64', 'fuzz'));
      decodesOrNamesTheProblem(() => treeFromJSON({ w: { shape: [2], data: [1, v] } }, d ?? 'float64', 'fuzz'));
    }),
    runs(300),
  );
  // sparse arrays: holes are reported, not skipped
  // eslint-disable-next-line no-sparse-arrays
  assert.throws(() => treeFromJSON([, { shape: [1], data: [1] }], 'float64', 'ck'), /ck: 0: expected a tensor .* got nothing/);
  // eslint-disable-next-line no-sparse-arrays
  assert.throws(() => treeFromJSON({ w: { shape: [2], data: [1, ,] } }, 'float64', 'ck'), /ck: w\.data\.1: expected a number, got nothing/);
});

test('fuzz: truncated JSON text of valid trees gives a DecodeError', () => {
  fc.assert(
    fc.property(arbTree(), fc.double({ min: 0, max: 1, noNaN: true }), (tr, frac) => {
      const text = JSON.stringify(treeToJSON(tr));
      const cut = Math.floor(frac * (text.length - 1));
      assert.equal(decodesOrNamesTheProblem(() => treeFromJSON(text.slice(0, cut), undefined, 'truncated')), 'error');
    }),
    RUNS,
  );
});

/** A JSON value with the node at a random position replaced, deleted or retyped. */
const arbMutation = (v: unknown): fc.Arbitrary<unknown> => {
  const spots: (string | number)[][] = [];
  const walk = (x: unknown, path: (string | number)[]) => {
    spots.push(path);
    if (Array.isArray(x)) x.forEach((c, i) => walk(c, [...path, i]));
    else if (x && typeof x === 'object') for (const k of Object.keys(x)) walk((x as Record<string, unknown>)[k], [...path, k]);
  };
  walk(v, []);
  const replacement = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom<unknown>(undefined, NaN, Infinity, -1, 1.5, 2 ** 40, '1', [], {}, null, true, [-1], { shape: [], data: [] }),
  );
  return fc.tuple(fc.constantFrom(...spots), replacement).map(([path, r]) => {
    const copy = JSON.parse(JSON.stringify(v)) as unknown;
    if (path.length === 0) return r;
    let parent = copy as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = path[path.length - 1]!;
    if (r === undefined && !Array.isArray(parent)) delete parent[last];
    else parent[last] = r;
    return copy;
  });
};

test('fuzz: mutated trees decode to a tree that round-trips, or give a DecodeError', () => {
  fc.assert(
    fc.property(
      arbTree().chain((tr) => fc.tuple(fc.constant(tr), arbMutation(treeToJSON(tr)))),
      fc.constantFrom<DType | undefined>(undefined, ...DTYPES),
      ([, mutated], d) => {
        let decoded: tree.Tree | undefined;
        const r = decodesOrNamesTheProblem(() => (decoded = treeFromJSON(mutated, d, 'mutated')));
        if (r === 'ok') assertTreeEqual(treeFromJSON(JSON.stringify(treeToJSON(decoded!))), decoded);
      },
    ),
    runs(300),
  );
});

test('fuzz: mutated JSON text gives a tree or a DecodeError', () => {
  fc.assert(
    fc.property(
      arbTree(),
      fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom('[', ']', '{', '}', ',', ':', '"', '-', '1', 'e', '.', 'n', ' ', '')), { minLength: 1, maxLength: 4 }),
      (tr, edits) => {
        let text = JSON.stringify(treeToJSON(tr));
        for (const [at, ch] of edits) {
          const i = Math.floor(at * text.length);
          text = text.slice(0, i) + ch + text.slice(i + 1);
        }
        decodesOrNamesTheProblem(() => treeFromJSON(text, undefined, 'edited'));
      },
    ),
    RUNS,
  );
});

test('hostile sizes fail fast: huge shapes, long data, deep nesting', () => {
  assert.equal(decodesOrNamesTheProblem(() => treeFromJSON({ w: { shape: [1e9, 1e9, 1e9], data: [1] } }, 'float64', 'big')), 'error');
  assert.equal(decodesOrNamesTheProblem(() => treeFromJSON({ w: { shape: [2 ** 53, 2], data: [] } }, 'float64', 'big')), 'error');
  assert.equal(decodesOrNamesTheProblem(() => treeFromJSON({ w: { shape: [1e6], data: new Array(1e6).fill('x') } }, 'float64', 'big')), 'error');
  assert.equal(decodesOrNamesTheProblem(() => treeFromJSON({ w: { shape: [1], data: new Array(2 ** 31) } }, 'float64', 'big')), 'error');
  let deep: unknown = { shape: [1], data: [1] };
  for (let i = 0; i < 100000; i++) deep = [deep];
  assert.equal(decodesOrNamesTheProblem(() => treeFromJSON(deep, 'float64', 'deep')), 'error');
  const ok = treeFromJSON({ w: { shape: [1000, 100], data: new Array(1e5).fill(0.5) } }, 'float32', 'big') as { w: Tensor };
  assert.deepEqual(ok.w.shape, [1000, 100]);
});
