import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as P from '../src/index.js';
import { hostDispatches } from '../src/backends/dispatch-count.js';
import { jit } from '../src/jit/jit.js';
import { RUNS, arbSeed } from './harness/index.js';
import { seededTensor } from './harness/index.js';

/**
 * Laws of the host dispatch counter (src/backends/dispatch-count.ts), which the bench reports for
 * eager and jitted steps: run eagerly, a function dispatches once per primitive it binds; under
 * shareEvaluations, once per distinct evaluation, which is the number of equations jit stages from
 * it (repeats merged, interp/cse.ts) plus the primitives that tracing evaluates on constants (a
 * scalar broadcast once); jitted, it dispatches once per kernel or generated loop of
 * its compiled program (aliases and layouts are free; a run of loops the backend compiled into one
 * call counts once), counted from the program's steps.
 */

/** One operation of a generated program over n×n nodes: a menu index and two earlier nodes. */
type Op = readonly [number, number, number];

const MENU: ((a: P.Tensor, b: P.Tensor) => P.Tensor)[] = [
  (a) => P.tanh(a),
  (a) => P.sin(a),
  (a, b) => P.mul(a, b),
  (a, b) => P.add(a, b),
  (a, b) => P.sub(a, P.mul(b, 0.5)),
  (a, b) => P.matmul(a, b),
  (a) => P.transpose(a),
  (a, b) => P.maximum(a, b),
  (a) => P.add(P.sum(a, 1, { keepdims: true }), a),
];

/**
 * A program returning every node it computes, so none is dead and staging keeps every equation
 * (the generic generator of laws/harness/programs.ts computes operands some operations ignore).
 */
const allNodes = (ops: readonly Op[]) => (x: P.Tensor, y: P.Tensor): P.Tensor[] => {
  const nodes: P.Tensor[] = [x, y];
  for (const [k, i, j] of ops) nodes.push(MENU[k % MENU.length]!(nodes[i % nodes.length]!, nodes[j % nodes.length]!));
  return nodes.slice(2);
};

const arbOps = fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { minLength: 1, maxLength: 10 });

/** Host dispatches made while running `f`. */
function dispatchesOf(f: () => unknown): number {
  const before = hostDispatches();
  f();
  return hostDispatches() - before;
}

for (const backend of ['cpu', 'cpu-wasm'] as const) {
  test(`dispatch count on ${backend}: eager = staged equations, jit = kernel and loop steps`, () => {
    P.withBackend(backend, () =>
      fc.assert(
        fc.property(arbOps, fc.integer({ min: 1, max: 5 }), arbSeed, (ops, n, seed) => {
          const f = allNodes(ops);
          const xs = [0, 1].map((k) => P.astype(seededTensor([n, n], seed + k), 'float32')) as [P.Tensor, P.Tensor];
          const jf = jit(f);
          let lowered: ReturnType<typeof jf.lower> | undefined;
          // staging merges repeated equations (interp/cse.ts) as shareEvaluations merges repeated
          // evaluations: eagerly under it, one dispatch per staged equation; without it, at least that
          const onConstants = dispatchesOf(() => (lowered = P.shareEvaluations(() => jf.lower(...xs))()));
          const eager = dispatchesOf(() => P.shareEvaluations(f)(...xs));
          // (a one-element tensor enters shareEvaluations' keys by its value, so with n = 1 it merges
          // equal values that staging, which has none, keeps apart)
          const staged = lowered!.jaxpr.equations.length + onConstants;
          if (n > 1) assert.equal(eager, staged, `eager dispatches of\n${lowered!.text}\n(${onConstants} while tracing)`);
          else assert.ok(eager <= staged, `eager dispatches of\n${lowered!.text}\n(${onConstants} while tracing): ${eager} > ${staged}`);
          assert.ok(dispatchesOf(() => f(...xs)) >= eager, 'eager without sharing dispatches at least as often');
          const steps = lowered!.program.steps;
          // one per kernel step and per loop, a run of loops the backend compiled into one call counting once
          let expected = 0;
          for (let i = 0; i < steps.length; i++) {
            const s = steps[i]!;
            if (s.kind === 'kernel' || s.kind === 'loop') expected++;
            if (s.kind === 'loop' && s.run) i += s.run.length - 1;
          }
          assert.equal(lowered!.program.stats.dispatches, expected, 'the program counts its own dispatches');
          const jitted = dispatchesOf(() => jf(...xs));
          assert.equal(jitted, expected, `jit dispatches of\n${lowered!.program.describe()}`);
          assert.equal(jf.traceCount(), 1, 'lower then call: one trace');
        }),
        RUNS,
      ),
    );
  });
}

test('dispatch count: a fused elementwise chain under jit is one dispatch, eagerly one per op', () => {
  const x = P.fromBuffer(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), 'float32', [64]);
  const chain = (a: P.Tensor) => P.tanh(P.add(P.mul(P.exp(P.neg(a)), 1.5), a));
  const jc = jit(chain);
  const tracing = dispatchesOf(() => jc.lower(x));
  assert.equal(dispatchesOf(() => chain(x)) - tracing, 5, 'neg, exp, mul, add, tanh (and the constant 1.5 made while tracing)');
  assert.equal(dispatchesOf(() => jc(x)), 1, 'one fused loop');
});
