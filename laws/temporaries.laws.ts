import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as P from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { getKernels } from '../src/backends/wasm/kernels.js';
import { releasingTemporaries } from '../src/prim/temporaries.js';
import { arbSeed, RUNS } from './harness/index.js';
import { collect } from './harness/collect.js';
import { assertNear, seededInputs, WASM_TOL, type WasmFloat, wasmLawsSkip, withPoisonedHeap } from './harness/wasm-oracle.js';

/**
 * `releasingTemporaries` (src/prim/temporaries.ts) frees, as library code returns, the cpu-wasm
 * regions of the tensors it made and does not return:
 *
 * - soundness: generated programs (elementwise ops, GEMMs with transposed operands, reductions,
 *   broadcasts and transposes read in place, reshapes that share their input's region), run in
 *   nested scopes that return some of their nodes, give the CPU oracle's numbers; the returned
 *   tensors and the inputs still read right after freed regions were filled with NaN bits and
 *   taken again; a deferred input stored during a scope keeps its region; a throw frees nothing;
 * - it frees: an elementwise chain of twenty temporaries returning one tensor leaves one region live;
 * - a gradient's backward pass frees its temporaries: grads of generated programs give the
 *   oracle's, and a vjp function called twice (its residuals kept) gives the same cotangents;
 * - it does nothing under a transform (jit, grad): the trace's residuals stay; nor inside
 *   shareEvaluations, whose cache serves results again; a jit program compiled during a backward
 *   pass keeps the constants it copied in;
 * - eager Adam steps (scaleByAdam frees its temporaries) under memory pressure give the CPU
 *   oracle's parameters.
 */

const skip = wasmLawsSkip();

/** Operations on nodes of one shape [m, n]; some return views (transposes, broadcasts read in place, reshapes). */
const MENU: ((a: Tensor, b: Tensor) => Tensor)[] = [
  (a) => P.tanh(a),
  (a, b) => P.mul(a, b),
  (a, b) => P.add(a, P.sum(b, 0)),
  (a, b) => P.mul(a, P.mean(b, 1, { keepdims: true })),
  (a, b) => P.div(P.matmul(P.matmul(a, P.transpose(b)), b), a.size),
  (a, b) => P.sub(a, P.broadcastTo(P.sum(b, 0), a.shape)),
  (a) => P.reshape(P.reshape(P.exp(P.tanh(a)), [a.size]), a.shape),
  (a) => P.reshape(a, a.shape),
  (a, b) => P.transpose(P.add(P.transpose(a), P.transpose(b))),
  (a) => P.div(1, P.add(P.abs(a), 1)),
];

interface Prog {
  readonly dtype: WasmFloat;
  readonly shape: readonly [number, number];
  /** Operations of the inner scope, then of the outer one: [menu entry, operand, operand]. */
  readonly inner: readonly (readonly [number, number, number])[];
  readonly outer: readonly (readonly [number, number, number])[];
  /** Which nodes each scope returns (by position, modulo the node count). */
  readonly innerKeep: readonly number[];
  readonly outerKeep: readonly number[];
}

const arbDim = fc.constantFrom(1, 8, 17, 33);
const arbOps = fc.array(fc.tuple(fc.nat(MENU.length - 1), fc.nat(), fc.nat()), { minLength: 1, maxLength: 6 });
const arbProg: fc.Arbitrary<Prog> = fc.record({
  dtype: fc.constantFrom<WasmFloat>('float32', 'float64'),
  shape: fc.tuple(arbDim, arbDim),
  inner: arbOps,
  outer: arbOps,
  innerKeep: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
  outerKeep: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
});

const extend = (nodes: Tensor[], ops: Prog['inner']) => {
  for (const [k, i, j] of ops) nodes.push(MENU[k]!(nodes[i % nodes.length]!, nodes[j % nodes.length]!));
};
const pick = (nodes: readonly Tensor[], which: readonly number[]) => which.map((w) => nodes[w % nodes.length]!);

/** The program: an inner scope's nodes, of which it returns some; the outer scope builds on those and returns some. */
function run(prog: Prog, x: Tensor, y: Tensor, scoped: boolean): Tensor[] {
  const scope = <T>(f: () => T) => (scoped ? releasingTemporaries(f) : f());
  return scope(() => {
    const kept = scope(() => {
      const nodes = [x, y];
      extend(nodes, prog.inner);
      return pick(nodes, prog.innerKeep);
    });
    const nodes = [x, y, ...kept];
    extend(nodes, prog.outer);
    return pick(nodes, prog.outerKeep);
  });
}

const inputs = (prog: Prog, seed: number, backend: 'cpu' | 'cpu-wasm'): [Tensor, Tensor] => seededInputs(prog.shape, prog.dtype, seed, backend);

test('generated programs in nested scopes give the oracle\'s numbers; what they return and their inputs survive the freed regions being poisoned and taken again', { skip }, async () => {
  await withPoisonedHeap(async () => {
    await fc.assert(
      fc.asyncProperty(arbProg, arbSeed, async (prog, seed) => {
        const want = P.withBackend('cpu', () => run(prog, ...inputs(prog, seed, 'cpu'), false).map((t) => t.dataSync()));
        const [x, y] = inputs(prog, seed, 'cpu-wasm');
        const [x0, y0] = [x.dataSync(), y.dataSync()];
        const got = P.withBackend('cpu-wasm', () => run(prog, x, y, true));
        // the freed regions (NaN-filled) are taken again by a run that writes other values
        P.withBackend('cpu-wasm', () => run(prog, ...inputs(prog, seed + 7, 'cpu-wasm'), true).forEach((t) => t.dataSync()));
        got.forEach((t, i) => assertNear(t.dataSync(), want[i]!, WASM_TOL[prog.dtype], `returned node ${i}`));
        assert.deepEqual(x.dataSync(), x0, 'input x is intact');
        assert.deepEqual(y.dataSync(), y0, 'input y is intact');
        await collect();
        got.forEach((t, i) => assertNear(t.dataSync(), want[i]!, WASM_TOL[prog.dtype], `returned node ${i} after a collection`));
      }),
      RUNS,
    );
  });
});

test('grad of generated programs (its backward pass frees its temporaries) gives the oracle\'s gradient; a vjp function called twice gives the same cotangents', { skip }, async () => {
  await withPoisonedHeap(async () => {
    await fc.assert(
      fc.asyncProperty(arbProg, arbSeed, async (prog, seed) => {
        const loss = (x: Tensor, y: Tensor) => run(prog, x, y, false).reduce<Tensor>((acc, t) => P.add(acc, P.sum(P.square(t))), P.zeros([], prog.dtype));
        const want = P.withBackend('cpu', () => (P.grad(loss, { argnums: [0, 1] })(...inputs(prog, seed, 'cpu')) as Tensor[]).map((t) => t.dataSync()));
        const [x, y] = inputs(prog, seed, 'cpu-wasm');
        const got = P.withBackend('cpu-wasm', () => P.grad(loss, { argnums: [0, 1] })(x, y) as Tensor[]);
        const [out, back] = P.withBackend('cpu-wasm', () => P.vjp(loss, x, y));
        const once = back(P.onesLike(out)).map((t) => t.dataSync());
        P.withBackend('cpu-wasm', () => run(prog, ...inputs(prog, seed + 3, 'cpu-wasm'), true).forEach((t) => t.dataSync())); // poisoned regions taken again
        const twice = back(P.onesLike(out)).map((t) => t.dataSync());
        // float32 gradients go through twice the operations of the values
        const tol = { rtol: 4 * WASM_TOL[prog.dtype].rtol, atol: 4 * WASM_TOL[prog.dtype].atol };
        got.forEach((t, i) => assertNear(t.dataSync(), want[i]!, tol, `gradient ${i}`));
        once.forEach((c, i) => assert.deepEqual(twice[i], c, `cotangent ${i}: the second call of the vjp function`));
      }),
      RUNS,
    );
  });
});

test('a chain of twenty temporaries that returns one tensor leaves one region live (twenty-one without the scope)', { skip }, () => {
  P.withBackend('cpu-wasm', () => {
    const heap = getKernels().heap;
    const x = P.mul(P.ones([64, 64], 'float32'), 0.5);
    const chain = () => {
      let t = x;
      for (let i = 0; i < 10; i++) t = P.add(P.mul(t, 0.9), 0.1);
      return P.tanh(t);
    };
    const live = () => heap.stats().liveRegions;
    const before = live();
    const scoped = releasingTemporaries(chain);
    assert.equal(live() - before, 1, 'regions live after the scoped chain');
    const plain = chain();
    assert.equal(live() - before, 1 + 21, 'regions live after the chain without a scope (until they are collected)');
    assert.deepEqual(scoped.dataSync(), plain.dataSync());
  });
});

test('a deferred input stored during a scope keeps its region; a throw frees nothing', { skip }, async () => {
  await withPoisonedHeap(() => {
    P.withBackend('cpu-wasm', () => {
      const m = P.mul(P.astype(P.reshape(P.arange(1200), [40, 30]), 'float32'), 1); // resident
      const x = P.transpose(m); // deferred: read in place by the GEMM, stored (by the transpose kernel) by others
      const y = releasingTemporaries(() => P.sum(P.tanh(P.mul(x, 0.001)))); // mul stores x
      const want = Float32Array.from({ length: 1200 }, (_, i) => (i % 40) * 30 + Math.floor(i / 40));
      P.sum(P.exp(P.mul(P.ones([30, 40], 'float32'), 2))).dataSync(); // takes freed regions again
      assert.deepEqual(x.dataSync(), want, 'the deferred input, stored inside the scope, reads right after it');
      let stash: Tensor | undefined;
      assert.throws(
        () =>
          releasingTemporaries(() => {
            stash = P.tanh(P.mul(x, 0.5));
            throw new Error('boom');
          }),
        /boom/,
      );
      P.sum(P.exp(P.mul(P.ones([30, 40], 'float32'), 3))).dataSync();
      assert.deepEqual(stash!.dataSync(), Float32Array.from(want, (v) => Math.fround(Math.tanh(Math.fround(v * 0.5)))), 'a tensor made before a throw is not freed');
      assert.ok(Number.isFinite(y.item()));
    });
  });
});

test('under jit and grad the scope does nothing: the trace keeps its residuals and the results equal the unscoped ones', { skip }, async () => {
  await withPoisonedHeap(() => {
    P.withBackend('cpu-wasm', () => {
      const w = P.mul(P.sin(P.astype(P.reshape(P.arange(768), [24, 32]), 'float64')), 0.2); // above the size where kernels stay in JavaScript
      const inner = (p: Tensor, scoped: boolean) => {
        const body = () => P.mul(P.tanh(P.matmul(p, P.transpose(p))), 2);
        return scoped ? releasingTemporaries(body) : body();
      };
      const loss = (scoped: boolean) => (p: Tensor) => P.sum(P.square(inner(p, scoped)));
      const [g1, g0] = [P.grad(loss(true))(w), P.grad(loss(false))(w)];
      P.sum(P.exp(P.ones([64, 64], 'float64'))).dataSync(); // churn freed regions
      assert.deepEqual(g1.dataSync(), g0.dataSync(), 'grad through a scope');
      const [j1, j0] = [P.jit(loss(true))(w), P.jit(loss(false))(w)];
      assert.deepEqual(j1.dataSync(), j0.dataSync(), 'jit of a scope');
    });
  });
});

test('a jit program compiled during a backward pass keeps its constants: grad of a jitted function that closes over a host constant, called again after freed regions were taken', { skip }, async () => {
  await withPoisonedHeap(() => {
    P.withBackend('cpu-wasm', () => {
      const c = P.fromBuffer(Float64Array.from({ length: 600 }, (_, i) => Math.cos(i)), 'float64', [20, 30]); // a host buffer: the program copies it in
      const f = P.jit((w: Tensor) => P.sum(P.square(P.mul(P.tanh(w), c))));
      const w = P.mul(P.ones([20, 30], 'float64'), 0.3);
      const want = P.withBackend('cpu', () => P.grad((v: Tensor) => P.sum(P.square(P.mul(P.tanh(v), P.fromBuffer(c.dataSync(), 'float64', [20, 30])))))(P.mul(P.ones([20, 30], 'float64'), 0.3)).dataSync());
      for (let call = 0; call < 3; call++) {
        assertNear(P.grad(f)(w).dataSync(), want, WASM_TOL.float64, `call ${call}`);
        P.sum(P.exp(P.mul(P.ones([40, 40], 'float64'), 0.5))).dataSync(); // takes freed regions again
      }
    });
  });
});

test('inside shareEvaluations the scope frees nothing: a result the cache serves again reads right', { skip }, async () => {
  await withPoisonedHeap(() => {
    P.withBackend('cpu-wasm', () => {
      const x = P.mul(P.astype(P.reshape(P.arange(900), [30, 30]), 'float32'), 0.01);
      const want = P.tanh(P.mul(x, 1)).dataSync();
      const again = P.shareEvaluations(() => {
        releasingTemporaries(() => P.sum(P.tanh(x))); // tanh(x): cached, and not the scope's result
        P.sum(P.exp(P.mul(P.ones([40, 40], 'float32'), 0.5))).dataSync(); // takes freed regions again
        return P.tanh(x); // served from the cache
      })();
      assert.deepEqual(again.dataSync(), want);
    });
  });
});

test('eager Adam steps on cpu-wasm, whose update frees its temporaries, give the CPU oracle\'s parameters under memory pressure', { skip }, async () => {
  await withPoisonedHeap(async () => {
    const train = async (backend: 'cpu' | 'cpu-wasm') =>
      P.withBackend(backend, async () => {
        const k = P.random.split(P.random.key(11), 3);
        let ps = { w: P.mul(P.random.normal(k[0]!, [32, 24], 'float32'), 0.2), b: P.zeros([24], 'float32') };
        const x = P.random.normal(k[1]!, [20, 32], 'float32');
        const loss = (q: typeof ps) => P.mean(P.square(P.tanh(P.add(P.matmul(x, q.w), q.b))));
        const opt = P.optim.adam(0.05);
        let state = opt.init(ps);
        for (let step = 0; step < 6; step++) {
          const g = P.grad(loss)(ps);
          const [u, next] = opt.update(g, state, ps);
          ps = P.optim.applyUpdates(ps, u);
          state = next;
          if (backend === 'cpu-wasm') await collect();
        }
        return [ps.w.dataSync(), ps.b.dataSync(), (state[0] as { mu: { w: Tensor } }).mu.w.dataSync()];
      });
    const [want, got] = [await train('cpu'), await train('cpu-wasm')];
    got.forEach((g, i) => assertNear(g, want[i]!, WASM_TOL.float32, ['w', 'b', 'μ of w'][i]!));
  });
});
