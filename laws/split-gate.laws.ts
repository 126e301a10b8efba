import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { GATE_DEFAULTS, splitGate, type GateOptions } from '../src/backends/wasm/split-gate.js';
import { mulberry32, RUNS } from './harness/index.js';

/**
 * Laws of the split gate (src/backends/wasm/split-gate.ts), which decides by measurement whether
 * cpu-wasm's GEMM splits a product over its threads. The gate is driven here by simulated wall
 * times: two ways of generated costs, each call's time drawn within a generated noise band around
 * its way's cost, the costs of the two ways at least 1.5× apart so that the bands never overlap
 * and an exploration of the slower way is never a close call (1.5 · 0.9 > 1.15 · 1.1).
 */

/** Costs of one phase: the serial way's and the split way's, in ms. */
interface Phase {
  readonly serial: number;
  readonly split: number;
  readonly calls: number;
}

/**
 * Drives a gate through the phases (each call chosen `splitFirst` or not, its choice pushed on
 * `choices` when given); returns, per phase, how many calls took the slower way.
 */
function drive(phases: readonly Phase[], noise: number, seed: number, opts: Partial<GateOptions> = {}, splitFirst = false, choices?: boolean[]): number[] {
  const gate = splitGate(opts);
  const rnd = mulberry32(seed);
  return phases.map((ph) => {
    let slower = 0;
    for (let i = 0; i < ph.calls; i++) {
      const split = gate.choose('shape', splitFirst);
      choices?.push(split);
      if (split !== ph.split < ph.serial) slower++;
      gate.record('shape', split, (split ? ph.split : ph.serial) * (1 + noise * (2 * rnd() - 1)));
    }
    return slower;
  });
}

/** A cost in ms, and a factor ≥ 1.5 between the two ways (either way the faster). */
const arbCosts = fc.record({
  cost: fc.double({ min: 0.01, max: 50, noNaN: true }),
  factor: fc.double({ min: 1.5, max: 4, noNaN: true }),
  splitFaster: fc.boolean(),
});
const costs = (c: { cost: number; factor: number; splitFaster: boolean }) =>
  c.splitFaster ? { split: c.cost, serial: c.cost * c.factor } : { split: c.cost * c.factor, serial: c.cost };

const { warm, window, minInterval, maxInterval, learn } = GATE_DEFAULTS;

test('split gate: on a steady machine the slower way runs only while warming up and at explorations whose interval doubles (under 2% of 3,000 calls)', () => {
  fc.assert(
    fc.property(arbCosts, fc.double({ min: 0, max: 0.1, noNaN: true }), fc.integer({ min: 20, max: 3000 }), fc.integer(), (c, noise, calls, seed) => {
      const [slower] = drive([{ ...costs(c), calls }], noise, seed);
      // warm-up: a cold call and `warm` timed calls of the slower way; one exploration every 16 calls while learning (128 calls); then at each interval 16, 32, 64, 64, …
      const bound = warm + 1 + Math.ceil(learn / minInterval) + Math.ceil(Math.log2(maxInterval / minInterval)) + 1 + Math.ceil(calls / maxInterval);
      assert.ok(slower! <= bound, `${slower} of ${calls} calls took the slower way (bound ${bound})`);
      if (calls === 3000) assert.ok(slower! < 60, `${slower} of 3,000 calls took the slower way: 2% or more`);
    }),
    RUNS,
  );
});

test('split gate: when the machine changes (the faster way becomes the slower), the gate follows within a bounded number of calls', () => {
  fc.assert(
    fc.property(arbCosts, arbCosts, fc.double({ min: 0, max: 0.1, noNaN: true }), fc.integer({ min: 20, max: 1500 }), fc.integer(), (c1, c2, noise, before, seed) => {
      const p1 = costs(c1);
      const p2 = costs({ ...c2, splitFaster: !c1.splitFaster });
      const after = 2000;
      const [, slower] = drive([{ ...p1, calls: before }, { ...p2, calls: after }], noise, seed);
      // the longest wait for an exploration, then enough explorations (each soon after a win) to refill the window
      const bound = maxInterval + window * minInterval + window;
      assert.ok(slower! <= bound, `${slower} of ${after} calls after the change took the slower way (bound ${bound})`);
    }),
    RUNS,
  );
});

test('split gate: where both ways are close (0.1% to 10% apart), the slower one runs on at most the warm-up and one call in 16', () => {
  fc.assert(
    fc.property(fc.double({ min: 0.01, max: 50, noNaN: true }), fc.double({ min: 1.001, max: 1.1, noNaN: true }), fc.boolean(), fc.integer({ min: 20, max: 3000 }), (cost, factor, splitFaster, calls) => {
      const [slower] = drive([{ ...costs({ cost, factor, splitFaster }), calls }], 0, 1);
      const bound = warm + 1 + Math.ceil(calls / minInterval) + 1;
      assert.ok(slower! <= bound, `${slower} of ${calls} calls took the slower way (bound ${bound}; the ways ${factor}× apart)`);
    }),
    RUNS,
  );
});

test('split gate: a split is charged the work it displaces from busy cores, and a way that is slow every other call its expected cost', () => {
  // serial 1.0 ms while the other core is busy (load 0.8) or idle (0.1); split 0.7 ms
  for (const [load, want] of [[0.8, 'serial'], [0.1, 'split']] as const) {
    const gate = splitGate();
    for (let i = 0; i < 200; i++) {
      const split = gate.choose('k');
      gate.record('k', split, split ? 0.7 : 1.0, split ? undefined : load);
    }
    const [r] = gate.shapes();
    assert.equal(r!.favoured, want, `load ${load}: 0.7 ms split × (1 + ${load}) against 1 ms serial`);
    assert.ok(r!.otherLoad.length > 0 && r!.otherLoad.every((l) => l === load));
  }
  // split alternately 0.5 and 1.7 ms (mean 1.1, a median of five either 0.5 or 1.7) against serial 0.9 ms
  const gate = splitGate();
  let splits = 0;
  let flip = false;
  for (let i = 0; i < 400; i++) {
    const split = gate.choose('k');
    if (split) flip = !flip;
    if (split && i >= 100) splits++;
    gate.record('k', split, split ? (flip ? 0.5 : 1.7) : 0.9);
  }
  assert.equal(gate.shapes()[0]!.favoured, 'serial');
  assert.ok(splits <= 300 / 8, `${splits} of the last 300 calls split`);
});

test('split gate: a shape chosen split-first starts split, and still turns serial where the serial way proves cheaper', () => {
  fc.assert(
    fc.property(arbCosts, fc.double({ min: 0, max: 0.1, noNaN: true }), fc.integer({ min: 100, max: 2000 }), fc.integer(), (c, noise, calls, seed) => {
      const choices: boolean[] = [];
      const [slower] = drive([{ ...costs(c), calls }], noise, seed, {}, true, choices);
      assert.ok(choices.slice(0, minInterval).every((s) => s), 'the first calls split');
      // split faster: serial only at explorations; serial faster: split until the serial way is warm (explored every 16 calls)
      const bound = (warm + 2) * minInterval + Math.ceil(learn / minInterval) + Math.ceil(Math.log2(maxInterval / minInterval)) + 1 + Math.ceil(calls / maxInterval);
      assert.ok(slower! <= bound, `${slower} of ${calls} calls took the slower way (bound ${bound}; split ${c.splitFaster ? 'faster' : 'slower'})`);
    }),
    RUNS,
  );
});

test('split gate: shapes are measured apart, the favoured way is reported, options are checked', () => {
  const gate = splitGate();
  for (let i = 0; i < 40; i++)
    for (const [key, serial, split] of [['a', 1, 0.5], ['b', 1, 2]] as const) {
      const s = gate.choose(key);
      gate.record(key, s, s ? split : serial);
    }
  const byKey = Object.fromEntries(gate.shapes().map((r) => [r.key, r]));
  assert.equal(byKey.a!.favoured, 'split');
  assert.equal(byKey.b!.favoured, 'serial');
  assert.equal(byKey.a!.calls, 40);
  assert.equal(byKey.a!.splitMs.length, window, 'the favoured way keeps its last `window` times');
  assert.ok(byKey.a!.serialMs.length >= warm && byKey.a!.serialMs.length < window, `the cold call is not kept, explorations are: ${byKey.a!.serialMs.length}`);
  assert.ok(byKey.a!.splits >= 40 - warm - 3 && byKey.b!.splits <= warm + 3, `splits ${byKey.a!.splits}, ${byKey.b!.splits}`);
  gate.reset();
  assert.deepEqual(gate.shapes(), []);
  assert.throws(() => splitGate({ warm: 4, window: 3 }), /splitGate: inconsistent options .*"warm":4/);
  assert.throws(() => splitGate({ minInterval: 1 }), /need warm ≥ 1, window ≥ warm, 2 ≤ minInterval/);
});
