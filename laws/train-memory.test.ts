import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { leavesWithPaths } from '../src/core/tree.js';
import { autoencoder, lenet, mlp } from '../src/nn/index.js';
import { key } from '../src/random/index.js';
import { resolveConfig, type TrainOptions } from '../src/cli/train/config.js';
import { activationsPerExample, checkMemory, estimateMemory, formatBytes, type MemoryLimits, parameterShapes } from '../src/cli/train/memory.js';
import { setupTraining } from '../src/cli/train/setup.js';
import { partax } from './harness/cli.js';
import { RUNS, runs } from './harness/index.js';

/**
 * The memory estimate of `partax train`, made from the configuration before anything is
 * allocated: its parameter shapes are those `model.init` gives (names, shapes and order, for every
 * model kind), its parts add up and scale with the batch, and a configuration beyond the
 * machine's memory or JavaScript's array and string limits is refused with the estimate and the
 * limit in the message — by the command, before it creates a directory.
 */

const tmp = mkdtempSync(join(tmpdir(), 'partax-memory-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const shapesOfInit = (params: unknown) => leavesWithPaths(params).map(([p, t]) => [p, [...t.shape]]);
const size = fc.integer({ min: 1, max: 12 });

test('parameterShapes = the names and shapes of model.init, for mlps, autoencoders and LeNets of any sizes', () => {
  fc.assert(
    fc.property(fc.array(size, { minLength: 2, maxLength: 5 }), (sizes) => {
      const m = mlp({ sizes });
      assert.deepEqual(parameterShapes(m), shapesOfInit(m.init(key(0))));
      const a = autoencoder({ sizes });
      assert.deepEqual(parameterShapes(a), shapesOfInit(a.init(key(1))));
    }),
    RUNS,
  );
  fc.assert(
    fc.property(fc.tuple(size, size, size), fc.tuple(size, size), size, fc.integer({ min: 3, max: 5 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }), (channels, hidden, classes, kernel, dh, dw) => {
      // two k×k convolutions, each followed by a 2×2 pool, need at least 2(2k − 1) + 2k − 2 pixels a side
      const least = 2 * (2 * kernel - 1) + 2 * kernel - 2;
      const m = lenet({ channels, hidden, classes, kernel, imageSize: [least + dh, least + dw] });
      assert.deepEqual(parameterShapes(m), shapesOfInit(m.init(key(2))));
    }),
    runs(40),
  );
});

test('activationsPerExample of an mlp: the input plus each layer’s pre-activation and activation', () => {
  fc.assert(
    fc.property(fc.array(size, { minLength: 2, maxLength: 5 }), (sizes) => {
      assert.equal(activationsPerExample(mlp({ sizes })), sizes[0]! + 2 * sizes.slice(1).reduce((a, b) => a + b, 0));
      // the autoencoder runs the sizes down and back up
      const back = [...sizes].reverse().slice(1);
      assert.equal(activationsPerExample(autoencoder({ sizes })), sizes[0]! + 2 * [...sizes.slice(1), ...back].reduce((a, b) => a + b, 0));
    }),
    RUNS,
  );
});

test('estimateMemory: the parts add up; parameters 4 copies of P floats, adam state 2, sgd none; activations grow with the batch', () => {
  const base: TrainOptions = { dataset: 'spirals', samples: 400, hidden: [16, 8] };
  const sgd = resolveConfig({ ...base, optimizer: 'sgd' });
  const setup = setupTraining(sgd);
  const P = leavesWithPaths(setup.model.init(key(0))).reduce((s, [, t]) => s + t.size, 0);
  const e = estimateMemory(sgd, setup);
  assert.equal(e.parameters, P);
  assert.equal(e.bytes.parameters, 4 * 4 * P);
  assert.equal(e.bytes.optimizer, 0);
  assert.equal(e.bytes.optimizerBatch, 0);
  assert.equal(e.bytes.total, Object.entries(e.bytes).filter(([k]) => k !== 'total').reduce((s, [, v]) => s + v, 0));
  const adam = resolveConfig({ ...base, optimizer: 'adam' });
  assert.equal(estimateMemory(adam, setupTraining(adam)).bytes.optimizer, 2 * 4 * P);
  const newton = resolveConfig({ ...base });
  assert.ok(estimateMemory(newton, setupTraining(newton)).bytes.optimizerBatch > 0, 'newton-summary adds its summary');
  const bigBatch = resolveConfig({ ...base, optimizer: 'sgd', batchSize: 100_000 });
  const e2 = estimateMemory(bigBatch, setupTraining(bigBatch));
  assert.ok(e2.bytes.activations > e.bytes.activations, 'a larger batch (beyond the evaluation chunk) needs more');
  assert.equal(e.largest.name, 'layers.1.weight');
  assert.deepEqual(e.largest.shape, [8, 16]);
});

test('checkMemory: refused beyond the machine’s memory, a typed array’s or a string’s limit (naming the estimate and the limit); a warning beyond the free memory', () => {
  const c = resolveConfig({ dataset: 'spirals', samples: 400, hidden: [64] });
  const e = estimateMemory(c, setupTraining(c));
  const roomy: MemoryLimits = { totalBytes: 10 * e.bytes.total, freeBytes: 10 * e.bytes.total, maxArrayBytes: 2 ** 32, maxStringChars: 2 ** 29 };
  assert.deepEqual(checkMemory(e, roomy), {});
  const small = checkMemory(e, { ...roomy, totalBytes: e.bytes.total - 1 });
  assert.match(small.error ?? '', new RegExp(`needs about ${formatBytes(e.bytes.total)} .*more than this machine's memory of ${formatBytes(e.bytes.total - 1)}`));
  assert.match(checkMemory(e, { ...roomy, freeBytes: e.bytes.total - 1 }).warning ?? '', /more than the .* free now/);
  assert.match(checkMemory(e, { ...roomy, maxArrayBytes: e.largest.bytes - 1 }).error ?? '', new RegExp(`the parameter ${e.largest.name.replace('.', '\\.')} \\[.*\\] needs .* one JavaScript typed array may hold`));
  assert.match(checkMemory(e, { ...roomy, maxStringChars: e.checkpointChars - 1 }).error ?? '', /checkpoint .* more than the .* one JavaScript string may hold/);
});

test('partax train --hidden 1000000,1000000 is refused at once (exit 2) with the estimate and this machine’s memory; no directory is made', () => {
  const out = join(tmp, 'absurd');
  const r = partax(['train', '--dataset', 'spirals', '--hidden', '1000000,1000000', '--progress', 'none', '--out', out], { timeout: 60_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /partax train: this configuration needs about \d+(\.\d)? TiB \(1,000,006,000,002 parameters/);
  assert.match(r.stderr, new RegExp(`more than this machine's memory of ${formatBytes(totalmem()).replace('.', '\\.')}`));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(existsSync(out), false);
});
