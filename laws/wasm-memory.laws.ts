import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as P from '../src/index.js';
import { ArrayTensor, type Tensor } from '../src/index.js';
import { Arena } from '../src/backends/wasm/arena.js';
import { Heap } from '../src/backends/wasm/heap.js';
import { getKernels } from '../src/backends/wasm/kernels.js';
import { arbSeed, RUNS, runs } from './harness/index.js';
import { collect } from './harness/collect.js';
import { assertNear, seededInputs, WASM_TOL, type WasmFloat, wasmLawsSkip, withPoisonedHeap } from './harness/wasm-oracle.js';

/**
 * The memory of the cpu-wasm backend (src/backends/wasm/heap.ts): tensors live in the wasm memory,
 * kernels read them in place, and a region comes back when its tensor is collected.
 *
 * - Generated programs run with memory pressure (a full collection and a turn of the event loop
 *   between steps, freed regions filled with NaN bits and reused at once) give the CPU backend's
 *   numbers, step after step, and outputs kept across those collections still read right: no
 *   kernel reads a freed region, no region is freed while its tensor lives.
 * - The heap reuses regions: a training loop's memory top and live bytes stay flat over its steps.
 * - Where the heap refuses regions (a cap, a memory without SharedArrayBuffer), results are host
 *   buffers with the same values.
 */

const skip = wasmLawsSkip();
type F = WasmFloat;
const TOL = WASM_TOL;

/**
 * Continuous operations over nodes of one shape [m, n]: resident operands, scalar operands on
 * either side, row and column broadcasts, GEMMs with either operand transposed, reductions.
 */
const MENU: ((a: Tensor, b: Tensor) => Tensor)[] = [
  (a) => P.tanh(a),
  (a, b) => P.mul(a, b),
  (a, b) => P.add(a, b),
  (a, b) => P.sub(a, P.mul(b, 0.5)),
  (a, b) => P.div(a, P.add(P.abs(b), 1)),
  (a, b) => P.add(a, P.sum(b, 0)),
  (a, b) => P.mul(a, P.mean(b, 1, { keepdims: true })),
  (a, b) => P.div(P.matmul(P.matmul(a, P.transpose(b)), b), a.size),
  (a, b) => P.div(P.matmul(a, P.matmul(P.transpose(a), b)), a.size),
  (a, b) => P.maximum(a, b),
  (a, b) => P.minimum(a, P.neg(b)),
  (a) => P.exp(P.tanh(a)),
  (a) => P.sqrt(P.add(P.abs(a), 0.5)),
  (a) => P.sub(2, a),
  (a) => P.div(1, P.add(P.abs(a), 1)),
  (a, b) => P.transpose(P.add(P.transpose(a), P.transpose(b))),
];

interface Prog {
  readonly dtype: F;
  readonly shape: readonly [number, number];
  readonly ops: readonly (readonly [number, number, number])[];
}

/** Sizes around the 256-element cut-off below which elementwise kernels stay in JavaScript. */
const arbDim = fc.constantFrom(1, 3, 8, 16, 17, 33);
const arbProg: fc.Arbitrary<Prog> = fc.record({
  dtype: fc.constantFrom<F>('float32', 'float64'),
  shape: fc.tuple(arbDim, arbDim),
  ops: fc.array(fc.tuple(fc.nat(MENU.length - 1), fc.nat(), fc.nat()), { minLength: 1, maxLength: 8 }),
});

/** The program's nodes after the inputs (x, y). */
const run = (prog: Prog, x: Tensor, y: Tensor): Tensor[] => {
  const nodes = [x, y];
  for (const [k, i, j] of prog.ops) nodes.push(MENU[k]!(nodes[i % nodes.length]!, nodes[j % nodes.length]!));
  return nodes.slice(2);
};

const inputs = (prog: Prog, seed: number, backend: 'cpu' | 'cpu-wasm'): [Tensor, Tensor] => seededInputs(prog.shape, prog.dtype, seed, backend);

test('memory pressure: generated programs on cpu-wasm give the CPU numbers with collections between steps; kept outputs survive them', { skip }, async () => {
  const heap = getKernels().heap;
  heap.poison = true;
  try {
    await fc.assert(
      fc.asyncProperty(arbProg, arbSeed, async (prog, seed) => {
        const want = P.withBackend('cpu', () => run(prog, ...inputs(prog, seed, 'cpu')).map((t) => t.dataSync()));
        const kept = P.withBackend('cpu-wasm', () => run(prog, ...inputs(prog, seed, 'cpu-wasm')));
        await collect();
        for (let step = 0; step < 2; step++) {
          const again = P.withBackend('cpu-wasm', () => run(prog, ...inputs(prog, seed, 'cpu-wasm')).map((t) => t.dataSync()));
          again.forEach((g, i) => assertNear(g, want[i]!, TOL[prog.dtype], `step ${step}, node ${i}`));
          await collect();
        }
        kept.forEach((t, i) => assertNear(t.dataSync(), want[i]!, TOL[prog.dtype], `kept node ${i} after 3 collections`));
      }),
      RUNS,
    );
  } finally {
    heap.poison = false;
  }
});

test('the heap reuses regions: a training loop on cpu-wasm keeps its memory top and live bytes flat', { skip }, async () => {
  const heap = getKernels().heap;
  await P.withBackend('cpu-wasm', async () => {
    const k = P.random.split(P.random.key(3), 3);
    let w = P.mul(P.random.normal(k[0]!, [64, 48], 'float32'), 0.1);
    let v = P.mul(P.random.normal(k[1]!, [48, 10], 'float32'), 0.1);
    const x = P.random.normal(k[2]!, [100, 64], 'float32');
    const loss = (ps: [Tensor, Tensor]) => P.mean(P.square(P.matmul(P.tanh(P.matmul(x, ps[0])), ps[1])));
    const samples: { top: number; live: number; reused: number }[] = [];
    for (let step = 0; step < 40; step++) {
      const [, [gw, gv]] = P.valueAndGrad(loss)([w, v]) as [Tensor, [Tensor, Tensor]];
      w = P.sub(w, P.mul(gw, 0.1));
      v = P.sub(v, P.mul(gv, 0.1));
      await collect();
      const s = heap.stats();
      samples.push({ top: s.topBytes, live: s.liveBytes, reused: s.reused });
    }
    const [early, late] = [samples[9]!, samples[39]!];
    assert.equal(late.top, early.top, `memory top grew from ${early.top} to ${late.top} bytes between steps 10 and 40`);
    assert.ok(late.live <= early.live, `live bytes after a collection grew from ${early.live} to ${late.live} between steps 10 and 40`);
    assert.ok(late.reused - early.reused >= 30 * 10, `regions reused over 30 steps: ${late.reused - early.reused}`);
  });
});

test('a loop that never yields keeps the memory bounded: past the forced collection its live bytes stay under twice theirs then, tensors become host buffers, the memory top stops, and the numbers are the yielding loop\'s', { skip }, async () => {
  const heap = getKernels().heap;
  await collect(); // no collection pending from an earlier test
  const floor = heap.pressure.gcFloorBytes;
  const train = (steps: number, yielding: boolean) =>
    P.withBackend('cpu-wasm', async () => {
      const k = P.random.split(P.random.key(5), 3);
      let w = P.mul(P.random.normal(k[0]!, [64, 48], 'float32'), 0.1);
      let v = P.mul(P.random.normal(k[1]!, [48, 10], 'float32'), 0.1);
      const x = P.random.normal(k[2]!, [100, 64], 'float32');
      const loss = (ps: [Tensor, Tensor]) => P.mean(P.square(P.matmul(P.tanh(P.matmul(x, ps[0])), ps[1])));
      const tops: number[] = [];
      for (let step = 0; step < steps; step++) {
        const [, [gw, gv]] = P.valueAndGrad(loss)([w, v]) as [Tensor, [Tensor, Tensor]];
        w = P.sub(w, P.mul(gw, 0.1));
        v = P.sub(v, P.mul(gv, 0.1));
        if (yielding) await collect();
        tops.push(heap.stats().topBytes);
      }
      return { w: w.dataSync(), v: v.dataSync(), tops };
    });
  const reference = await train(60, true);
  heap.pressure.gcFloorBytes = 2 ** 20; // a forced collection within the first steps
  try {
    const top0 = heap.stats().topBytes;
    const before = heap.pressure.forcedGcs;
    const sync = await train(60, false); // no await between steps: the collection's finalizers cannot run
    assert.ok(heap.pressure.forcedGcs > before, 'the loop forced a collection');
    const pending = heap.pressure.liveAtCollection;
    assert.ok(pending > 0, 'which is still pending at its end');
    assert.ok(heap.stats().liveBytes <= 2 * pending, `live bytes ${heap.stats().liveBytes} stay under twice ${pending}, theirs at the collection`);
    // the tensors past the cap are host buffers; the kernels' scratch regions come back to their
    // free lists and are taken again, so the top stops once the cap is reached
    assert.equal(sync.tops[59], sync.tops[39], `the memory top grew from ${sync.tops[39]} to ${sync.tops[59]} bytes between steps 40 and 60 (it was ${top0} before the loop)`);
    assert.deepEqual(sync.w, reference.w, 'the weights are the yielding loop\'s, bit for bit');
    assert.deepEqual(sync.v, reference.v, 'the weights are the yielding loop\'s, bit for bit');
  } finally {
    heap.pressure.gcFloorBytes = floor;
    await collect();
  }
});

test('a region comes back when its tensor is collected and is taken again at once; nothing else frees it', { skip }, async () => {
  const heap = new Heap(new Arena(1)); // its own memory: no other test's regions in its free lists
  heap.poison = true;
  const make = () => heap.resident('float32', 1000)!;
  let a: Float32Array | null = make();
  const at = a.byteOffset;
  a.fill(7);
  const keep = make();
  keep.fill(3);
  await collect();
  assert.ok(a.every((v) => v === 7), 'a live view keeps its region through a collection');
  a = null;
  await collect();
  const b = make();
  assert.equal(b.byteOffset, at, 'the freed region of the same class is the next one taken');
  assert.ok(Number.isNaN(b[0]!), 'a freed region is poisoned (NaN bits) before it is taken again');
  assert.ok(keep.every((v) => v === 3), 'a region still referenced is never freed');
});

test('refused regions: under a cap, past 2 GiB, or in a memory without SharedArrayBuffer, results are host buffers with the same values', { skip }, () => {
  const heap = getKernels().heap;
  assert.equal(new Heap(new Arena(1, false)).resident('float64', 10), null, 'no tensor lives in an unshared memory (its buffer detaches on growth)');
  const before = heap.stats();
  assert.equal(heap.resident('float32', 2 ** 29 + 1), null, 'a tensor past the 2 GiB the kernels address is refused (a host buffer), not an error');
  assert.equal(heap.stats().topBytes, before.topBytes, 'and the memory did not grow for it');
  fc.assert(
    fc.property(arbProg, arbSeed, (prog, seed) => {
      const free = P.withBackend('cpu-wasm', () => run(prog, ...inputs(prog, seed, 'cpu-wasm')).map((t) => t.dataSync()));
      heap.maxResidentBytes = 0;
      try {
        const capped = P.withBackend('cpu-wasm', () => run(prog, ...inputs(prog, seed, 'cpu-wasm')));
        for (const t of capped) assert.ok((t as ArrayTensor).buffer.buffer instanceof ArrayBuffer, 'under a zero cap every result is a host buffer');
        capped.forEach((t, i) => assert.deepEqual(t.dataSync(), free[i], `node ${i}: the copying path gives the resident path's values`));
      } finally {
        heap.maxResidentBytes = Infinity;
      }
    }),
    runs(30),
  );
});

test('jit on cpu-wasm returns its dead intermediates at the end of a call: called again, it takes new regions only for its outputs, with the CPU numbers and earlier outputs intact', { skip }, () => {
  const heap = getKernels().heap;
  heap.poison = true;
  try {
    fc.assert(
      fc.property(arbProg, arbSeed, (prog, seed) => {
        const want = P.withBackend('cpu', () => run(prog, ...inputs(prog, seed, 'cpu')).map((t) => t.dataSync()));
        const last = want.length - 1;
        // only the last node is returned: every other node is an intermediate of the program
        const f = P.jit((x: Tensor, y: Tensor) => run(prog, x, y)[last]!);
        P.withBackend('cpu-wasm', () => {
          const [x, y] = inputs(prog, seed, 'cpu-wasm');
          const first = f(x, y);
          for (let call = 0; call < 3; call++) {
            const before = heap.stats().created;
            const again = f(x, y);
            const taken = heap.stats().created - before;
            // nothing is collected in between (no turn of the event loop): the regions come from the
            // intermediates the previous call returned, or are new for this call's one output
            assert.ok(taken <= 1, `call ${call + 2} took ${taken} new regions from the top of the memory for one output`);
            assertNear(again.dataSync(), want[last]!, TOL[prog.dtype], `call ${call + 2}`);
          }
          assertNear(first.dataSync(), want[last]!, TOL[prog.dtype], 'the first call’s output after three more calls');
        });
      }),
      RUNS,
    );
  } finally {
    heap.poison = false;
  }
});

test('a host constant a jitted cpu-wasm program closes over is copied into the memory once, at compile time: a call takes no more regions than with the constant resident, and gives the CPU numbers', { skip }, () => {
  const heap = getKernels().heap;
  const arbDims = fc.tuple(fc.constantFrom(1, 3, 4, 9, 33), fc.constantFrom(1, 5, 8, 17), fc.constantFrom(1, 2, 8, 13));
  fc.assert(
    fc.property(arbDims, arbSeed, fc.constantFrom<F>('float32', 'float64'), ([m, k, n], seed, dtype) => {
      const data = Float64Array.from({ length: m * k }, (_, i) => Math.sin(seed + 0.37 * i));
      const wData = Float64Array.from({ length: k * n }, (_, i) => Math.cos(seed - 0.53 * i));
      const body = (c: Tensor, w: Tensor) => P.add(P.tanh(P.matmul(c, w)), P.sum(c));
      const want = P.withBackend('cpu', () => body(P.fromBuffer(data, 'float64', [m, k]), P.fromBuffer(wData, 'float64', [k, n])).dataSync());
      P.withBackend('cpu-wasm', () => {
        const hostConst = P.fromBuffer(dtype === 'float32' ? Float32Array.from(data) : data.slice(), dtype, [m, k]);
        assert.ok((hostConst as ArrayTensor).buffer.buffer instanceof ArrayBuffer, 'a tensor made from user data is a host buffer');
        const residentConst = P.mul(hostConst, 1);
        const w = P.astype(P.fromBuffer(wData, 'float64', [k, n]), dtype);
        const taken = (c: Tensor) => {
          const f = P.jit((x: Tensor) => body(c, x));
          f(w);
          const before = heap.stats();
          const out = f(w);
          const after = heap.stats();
          assertNear(out.dataSync(), want, TOL[dtype], `constant ${c === hostConst ? 'host' : 'resident'}`);
          return after.created + after.reused - before.created - before.reused;
        };
        assert.equal(taken(hostConst), taken(residentConst), 'regions taken by a call with the constant a host buffer, and resident');
      });
    }),
    runs(30),
  );
});
