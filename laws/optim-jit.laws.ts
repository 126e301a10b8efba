import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { add, div, full, grad, jit, mul, optim, sqrt, sum, tanh, type Tensor, tensor, tree } from '../src/index.js';
import { hostDispatches } from '../src/backends/dispatch-count.js';
import { withBackend } from '../src/backends/transfer.js';
import { decodeOrThrow } from '../src/core/decode.js';
import { flatten, showDef } from '../src/core/tree.js';
import { StateCodec, skeletonMismatch, stateToJSON } from '../src/io/state-codec.js';
import { optimizerEntry } from '../src/cli/train/optimizers.js';
import { arbTensorOf, RUNS, runs } from './harness/index.js';

/**
 * Laws of optimizers under jit: step counts are int32 tensors in the state, so a jitted training
 * step traces once per parameter structure and runs the eager numbers (bit for bit on the cpu
 * backend, whose compiled loops round as its kernels do); Adam's bias corrections and the built-in
 * schedules computed from the count tensor are the numbers the old plain-number count gave, bit for
 * bit; the float32 bias correction (webgpu) is within a few ulp; counts saturate; states with tensor
 * counts round-trip through the checkpoint codec, and states of the older layout migrate.
 */

type GT = optim.GradientTransformation<any, any>;
type FloatDType = 'float32' | 'float64';
const KEYS = ['w', 'b', 'layers', 'scale'] as const;

/** A parameter tree of one dtype: nested records and arrays (up to ~3 levels), at least one tensor. */
const arbParams = (dtype: FloatDType): fc.Arbitrary<tree.Tree> =>
  fc
    .letrec<{ tree: tree.Tree; node: tree.Tree; leaf: tree.Tree }>((tie) => ({
      tree: fc.oneof({ depthSize: 'small', maxDepth: 3 }, { arbitrary: tie('leaf'), weight: 2 }, { arbitrary: tie('node'), weight: 3 }),
      node: fc.oneof(fc.array(tie('tree'), { minLength: 1, maxLength: 3 }), fc.dictionary(fc.constantFrom(...KEYS), tie('tree'), { minKeys: 1, maxKeys: 3, noNullPrototype: true })),
      leaf: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }).chain((s) => arbTensorOf(s, dtype, [-1.5, 1.5])),
    }))
    .tree.filter((t) => tree.leaves(t).length > 0);

/** A dtype and a parameter tree of it. */
const arbDTypeParams = (fc.constantFrom('float32', 'float64') as fc.Arbitrary<FloatDType>).chain((dt) => fc.tuple(fc.constant(dt), arbParams(dt)));

/** A smooth non-quadratic loss of every leaf, so that the gradients change along the trajectory. */
const loss = (p: unknown): Tensor => tree.leaves(p).map((x) => sum(mul(tanh(x), x))).reduce((a, b) => add(a, b));

/** One training step: gradient, update, new parameters. */
const stepOf = (opt: GT) => (p: unknown, s: unknown) => {
  const [u, next] = opt.update(grad(loss)(p), s, p);
  return [optim.applyUpdates(p, u), next] as const;
};

/** Asserts two trees equal bit for bit: the same structure and static values, every element Object.is-equal. */
function assertBits(actual: unknown, expected: unknown, label: string) {
  const a = flatten(actual);
  const e = flatten(expected);
  assert.equal(showDef(a.def), showDef(e.def), `${label}: structure`);
  a.leaves.forEach((x, i) => {
    const y = e.leaves[i]!;
    assert.equal(x.dtype, y.dtype, `${label}: leaf ${i} dtype`);
    assert.deepEqual(Array.from(x.dataSync()), Array.from(y.dataSync()), `${label}: leaf ${i}`);
  });
}

const lr = 0.05;
/** The optimizers with a step count (or none), each built fresh. */
const OPTIMIZERS: [string, () => GT][] = [
  ['adam', () => optim.adam(lr, { b1: 0.8, b2: 0.95 })],
  ['adamw', () => optim.adamw(lr, { weightDecay: 0.1 })],
  ['rmsprop', () => optim.rmsprop(lr, { decay: 0.9, epsInSqrt: false })],
  ['momentum (dampening)', () => optim.momentum(lr, 0.9, { dampening: 0.1 })],
  ['nesterov momentum', () => optim.momentum(lr, 0.9, { nesterov: true })],
  ['sgd with a warmup-cosine schedule', () => optim.sgd(optim.warmupCosineDecaySchedule(0, lr, 2, 6))],
  ['clip + adam with a cosine schedule', () => optim.chain(optim.clipByGlobalNorm(1), optim.adam(optim.cosineDecaySchedule(lr, 5, 0.1)))],
  ['inject(adam) with a constant learning rate', () => optim.inject(({ lr: r }: { lr: number }) => optim.adam(r), { lr })],
  ['group rates, one scheduled', () => optim.chain(optim.traceMomentum({ momentum: 0.5 }), optim.scaleByGroupLearningRates((path: string) => (path.length % 2 ? 'a' : 'b'), { a: lr, b: optim.linearSchedule(lr, 0, 4) }))],
];
const STEPS = 4;

describe('optim under jit', () => {
  test('eager and jitted trajectories agree bit for bit on cpu over generated parameter trees, and the jitted step traces once per structure', () => {
    withBackend('cpu', () => {
      fc.assert(
        fc.property(arbDTypeParams, fc.integer({ min: 0, max: OPTIMIZERS.length - 1 }), ([dtype, params], k) => {
          const [name, make] = OPTIMIZERS[k]!;
          const opt = make();
          const eager = stepOf(opt);
          const jitted = jit(stepOf(opt));
          let [pe, se] = [params as unknown, opt.init(params)];
          let [pj, sj] = [params as unknown, opt.init(params)];
          for (let t = 0; t < STEPS; t++) {
            [pe, se] = eager(pe, se);
            [pj, sj] = jitted(pj, sj);
            assertBits(pj, pe, `${name} (${dtype}), params after step ${t + 1}`);
            assertBits(sj, se, `${name} (${dtype}), state after step ${t + 1}`);
          }
          assert.equal(jitted.traceCount(), 1, `${name}: one trace for ${STEPS} steps`);
          // another structure: one more trace, then none
          const other = { extra: [params], s: full([2], 0.5, dtype) };
          let [po, so] = [other as unknown, opt.init(other)];
          for (let t = 0; t < 2; t++) [po, so] = jitted(po, so);
          assert.equal(jitted.traceCount(), 2, `${name}: a new structure traces once`);
        }),
        runs(60),
      );
    });
  });

  test('Adam with a tensor count gives the numbers of the plain-number count (1 − bᵗ in double, rounded once), bit for bit, at any step', () => {
    withBackend('cpu', () => {
      fc.assert(
        fc.property(
          (fc.constantFrom('float32', 'float64') as fc.Arbitrary<FloatDType>).chain((dtype) =>
            fc.tuple(fc.constant(dtype), arbTensorOf([3, 2], dtype), arbTensorOf([3, 2], dtype), arbTensorOf([3, 2], dtype, [0, 2])),
          ),
          fc.integer({ min: 0, max: 10_000_000 }),
          fc.double({ min: 0.5, max: 0.99, noNaN: true }),
          fc.double({ min: 0.9, max: 0.99999, noNaN: true }),
          fc.constantFrom(0, 1e-12),
          ([dtype, g, m, v0], t0, b1, b2, epsRoot) => {
            const eps = 1e-8;
            const tx = optim.scaleByAdam({ b1, b2, eps, epsRoot });
            const [out, next] = tx.update({ g }, { count: full([], t0, 'int32'), mu: { g: m }, nu: { g: v0 } });
            // the update as it was written with a JavaScript-number count
            const t = t0 + 1;
            const mu = add(mul(m, b1), mul(g, 1 - b1));
            const nu = add(mul(v0, b2), mul(mul(g, g), 1 - b2));
            const want = div(div(mu, 1 - b1 ** t), add(sqrt(add(div(nu, 1 - b2 ** t), epsRoot)), eps));
            assertBits(out, { g: want }, `step ${t}`);
            assertBits(next, { count: full([], t, 'int32'), mu: { g: mu }, nu: { g: nu } }, `state after step ${t}`);
          },
        ),
        RUNS,
      );
    });
  });

  test('traceMomentum with a tensor count: the first step returns g exactly (−0 and NaN included), later steps μ·buf + (1 − τ)·g bit for bit', () => {
    withBackend('cpu', () => {
      fc.assert(
        fc.property(
          fc.constantFrom('float32', 'float64') as fc.Arbitrary<FloatDType>,
          fc.double({ min: 0.01, max: 0.99, noNaN: true }),
          fc.double({ min: 0, max: 0.9, noNaN: true }),
          fc.array(fc.oneof(fc.double({ min: -3, max: 3, noNaN: true }), fc.constantFrom(-0, 0, NaN, Infinity)), { minLength: 4, maxLength: 4 }),
          fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 4, maxLength: 4 }),
          (dtype, mu, tau, g0, g1) => {
            const tx = optim.traceMomentum({ momentum: mu, dampening: tau });
            const p = { w: full([4], 0, dtype) };
            const first = { w: tensor(g0, dtype) }; // −0, NaN and ∞ kept
            const [u0, s0] = tx.update(first, tx.init(p));
            assert.deepEqual(Array.from(u0.w.dataSync()), Array.from(first.w.dataSync()), 'step 0: the update is g');
            const second = { w: tensor(g1, dtype) };
            const [u1] = tx.update(second, s0);
            const want = add(mul((s0.trace as { w: Tensor }).w, mu), mul(second.w, 1 - tau));
            assert.deepEqual(Array.from(u1.w.dataSync()), Array.from(want.dataSync()), 'step 1: μ·buf + (1 − τ)·g');
          },
        ),
        RUNS,
      );
    });
  });

  test('the float32 bias correction (webgpu) is within 4 ulp of 1 − bᵗ, at every step and decay', () => {
    withBackend('cpu', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: optim.MAX_COUNT }), fc.double({ min: 0.5, max: 0.99999, noNaN: true }), fc.boolean(), (t0, decay, small) => {
          const t = small ? (t0 % 5000) + 1 : t0;
          const got = optim.biasCorrection(decay, full([], t, 'int32'), 'float32').item();
          const exact = -Math.expm1(t * Math.log(decay)); // 1 − decayᵗ in double, without cancellation
          // −expm1(float32(t)·float32(ln b)): t and ln b each rounded once (relative ε/2 each, with
          // ε = 2⁻²³), the product once, expm1 once (Math.expm1 then the float32 store): relative
          // error in the exponent x of 1.5ε and a result error ≤ (|x|·eˣ/(1 − eˣ))·1.5ε + ε/2, where the
          // factor is at most 1: ≤ 2ε = 2 ulp; 4 ulp leaves room for Math.expm1's own error
          const eps = 2 ** -23;
          assert.ok(Math.abs(got - exact) <= 4 * eps * exact, `t = ${t}, decay ${decay}: ${got} vs ${exact} (${Math.abs(got - exact) / exact / eps} ulp)`);
        }),
        RUNS,
      );
    });
  });

  test('the built-in schedules evaluated on the count tensor equal their number values bit for bit (float64), and jit through scaleByLearningRate', () => {
    withBackend('cpu', () => {
      const arbSchedule = fc.oneof(
        fc.double({ min: -2, max: 2, noNaN: true }).map((v) => optim.constantSchedule(v)),
        fc.record({ a: fc.double({ min: 0.1, max: 1, noNaN: true }), b: fc.integer({ min: 1, max: 50 }), s: fc.double({ min: 0.1, max: 2, noNaN: true }) }).map(({ a, b, s }) => optim.piecewiseConstantSchedule(a, { [b]: s, [b + 7]: s / 3 })),
        fc.record({ a: fc.double({ min: 0.1, max: 1, noNaN: true }), n: fc.integer({ min: 1, max: 40 }), g: fc.double({ min: 0.1, max: 0.99, noNaN: true }) }).map(({ a, n, g }) => optim.stepDecaySchedule(a, n, g)),
        fc.record({ a: fc.double({ min: -1, max: 1, noNaN: true }), e: fc.double({ min: -1, max: 1, noNaN: true }), n: fc.integer({ min: 1, max: 100 }), b: fc.integer({ min: 0, max: 30 }) }).map(({ a, e, n, b }) => optim.linearSchedule(a, e, n, b)),
        fc.record({ a: fc.double({ min: 0.1, max: 1, noNaN: true }), n: fc.integer({ min: 1, max: 200 }), al: fc.double({ min: 0, max: 0.5, noNaN: true }) }).map(({ a, n, al }) => optim.cosineDecaySchedule(a, n, al)),
        fc.record({ p: fc.double({ min: 0.01, max: 1, noNaN: true }), w: fc.integer({ min: 0, max: 20 }), d: fc.integer({ min: 1, max: 200 }) }).map(({ p, w, d }) => optim.warmupCosineDecaySchedule(0, p, w, w + d)),
      );
      fc.assert(
        fc.property(arbSchedule, fc.integer({ min: 0, max: 400 }), (s, t) => {
          const v = optim.scheduleAtCount(s, full([], t, 'int32'));
          assert.equal(v.dtype, 'float64');
          assert.ok(Object.is(v.item(), s(t)), `at ${t}: ${v.item()} vs ${s(t)}`);
        }),
        RUNS,
      );
    });
  });

  test('a schedule that is a plain function reads the count on the host: eager it equals the number schedule, under jit it is an error saying so', () => {
    withBackend('cpu', () => {
      const plain = (t: number) => 0.1 / (1 + t);
      const p = { w: full([2], 1, 'float64') };
      const run = (opt: GT, steps: number, jitted: boolean) => {
        const f = jitted ? jit(stepOf(opt)) : stepOf(opt);
        let [q, s] = [p as unknown, opt.init(p)];
        for (let t = 0; t < steps; t++) [q, s] = f(q, s);
        return q;
      };
      const schedule = optim.piecewiseConstantSchedule(0.1, { 1: 1 / 2, 2: 2 / 3, 3: 3 / 4 }); // not 0.1/(1+t) in floats: compare with tolerance
      const viaPlain = run(optim.sgd(plain), 4, false);
      const viaTensor = run(optim.sgd(schedule), 4, true);
      tree.zip(viaPlain, viaTensor).forEach(([a, b]) => Array.from(a!.dataSync()).forEach((x, i) => assert.ok(Math.abs(x - b!.dataSync()[i]!) <= 1e-15, `${x} vs ${b!.dataSync()[i]}`)));
      assert.ok(optim.sgd(plain).updateAsync, 'a plain schedule makes a host read (it has updateAsync)');
      assert.throws(() => run(optim.sgd(plain), 1, true), (e: Error) => e instanceof TypeError && /scaleByLearningRate: the learning rate, a plain function of the step number, needs the step count as a number on the host.*jit/.test(e.message));
      assert.throws(() => run(optim.inject(({ lr: r }: { lr: number }) => optim.sgd(r), { lr: plain }), 1, true), /inject: the schedule of 'lr' needs the step count/);
    });
  });

  test('jitted Adam on the host is one loop per parameter (μ′, ν′ and θ′ its outputs) and at most two scalar loops (count and bias corrections); a call dispatches exactly the compiled steps', () => {
    for (const backend of ['cpu', 'cpu-wasm']) {
      withBackend(backend, () => {
        fc.assert(
          fc.property(arbParams('float32'), (params) => {
            const opt = optim.adam(1e-3);
            // the optimizer alone (the gradient an input): nothing but its own loops
            const update = jit((g: unknown, s: unknown, p: unknown) => {
              const [u, next] = opt.update(g, s as never, p);
              return [optim.applyUpdates(p, u), next] as const;
            });
            const n = tree.leaves(params).length;
            const g = tree.map((x) => mul(x, 0.5), params);
            const steps = update.lower(g, opt.init(params), params).program.steps.filter((st) => st.kind === 'kernel' || st.kind === 'loop');
            const perParam = steps.filter((st) => st.kind === 'loop' && st.covers.includes('sqrt'));
            assert.equal(perParam.length, n, `${backend}: one update loop per parameter`);
            // μ′ and ν′ of the parameter's dtype (a scalar parameter's loop may take in the scalar loops too, and store the count)
            for (const st of perParam) if (st.kind === 'loop') assert.equal(st.stores.filter((v) => v.aval.dtype === st.out.aval.dtype).length, 2, `${backend}: the update loop also stores μ′ and ν′`);
            const shown = steps.map((st) => (st.kind === 'loop' ? `loop{${st.covers.join(' ')}}` : st.kind)).join(', ');
            assert.ok(steps.length <= n + 2, `${backend}: ${n} parameter loops and at most 2 scalar loops, got ${shown}`);
            // the whole step: one trace, and each call runs exactly its compiled steps
            const step = jit(stepOf(opt));
            let [p, s] = [params as unknown, opt.init(params)];
            for (let t = 0; t < 3; t++) [p, s] = step(p, s);
            const compiled = step.lower(p, s).program.stats.dispatches; // a run of loops compiled into one call counts once (laws/dispatch-count.laws.ts)
            const before = hostDispatches();
            step(p, s);
            assert.equal(hostDispatches() - before, compiled, `${backend}: a call dispatches its compiled steps, no more`);
            assert.equal(step.traceCount(), 1);
          }),
          runs(25),
        );
      });
    }
  });

  test('counts saturate at 2³¹ − 1 instead of wrapping', () => {
    withBackend('cpu', () => {
      const tx = optim.scaleByAdam();
      const g = { w: full([2], 1, 'float64') };
      let s = { ...tx.init(g), count: full([], optim.MAX_COUNT - 1, 'int32') };
      for (let k = 0; k < 3; k++) s = tx.update(g, s)[1];
      assert.equal(s.count.item(), optim.MAX_COUNT);
      assert.equal(optim.incrementCount(full([], -5, 'int32')).item(), -4);
    });
  });

  test('a state with tensor counts round-trips through the checkpoint codec (int32 kept) and continues bit for bit', () => {
    withBackend('cpu', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: OPTIMIZERS.length - 1 }), arbParams('float32'), (k, params) => {
          const [name, make] = OPTIMIZERS[k]!;
          const opt = make();
          const step = stepOf(opt);
          let [p, s] = [params as unknown, opt.init(params)];
          for (let t = 0; t < 2; t++) [p, s] = step(p, s);
          const back = decodeOrThrow(StateCodec, JSON.parse(JSON.stringify(stateToJSON(s))), 'state');
          assertBits(back, s, `${name}: decoded state`);
          assert.equal(skeletonMismatch(back, opt.init(params)), null, `${name}: the decoded state has the skeleton of init`);
          assertBits(step(p, back), step(p, s), `${name}: the step after the round trip`);
        }),
        runs(40),
      );
    });
  });

  test('a state saved before counts were tensors (checkpoint format 3) migrates to today’s layout and continues bit for bit, for every registry optimizer with a count', () => {
    withBackend('cpu', () => {
      const n = (c: unknown) => (c as Tensor).item();
      /**
       * Today's state after 3 steps in the layout partax wrote up to format 3 (from its code then):
       * counts as numbers, and {count} for the constant learning rate.
       */
      const OLD: Record<string, (s: any) => unknown> = {
        sgd: () => [{ count: 3 }],
        momentum: (s) => [{ trace: s[0].trace, count: n(s[0].count) }, { count: n(s[0].count) }],
        adam: (s) => [{ count: n(s[0].count), mu: s[0].mu, nu: s[0].nu }, { count: n(s[0].count) }],
        adamw: (s) => [{ count: n(s[0].count), mu: s[0].mu, nu: s[0].nu }, {}, { count: n(s[0].count) }],
        rmsprop: (s) => [{ nu: s[0].nu }, { count: 3 }],
      };
      const p = { layers: [{ weight: full([2, 3], 0.3, 'float32'), bias: full([3], -0.2, 'float32') }] };
      for (const [name, old] of Object.entries(OLD)) {
        const entry = optimizerEntry(name);
        const flags = Object.fromEntries(Object.entries(entry.flags).map(([k, f]) => [k, f.default]));
        const opt = entry.build(flags as never, { trainExamples: 100, jit: false }).transformation;
        const step = stepOf(opt);
        let [q, s] = [p as unknown, opt.init(p)];
        for (let t = 0; t < 3; t++) [q, s] = step(q, s);
        const migrated = entry.migrateState!(old(s), 3);
        assert.equal(skeletonMismatch(migrated, opt.init(p)), null, `${name}: the migrated state fits today's optimizer`);
        assertBits(migrated, s, `${name}: migrated state`);
        assertBits(step(q, migrated), step(q, s), `${name}: the next step`);
        assert.equal(entry.migrateState!(s, 4), s, `${name}: a format-4 state is left alone`);
      }
      // newton-summary: its direction's count became a tensor, its own (newton.count) stays a number
      const entry = optimizerEntry('newton-summary');
      const flags = Object.fromEntries(Object.entries(entry.flags).map(([k, f]) => [k, typeof f.default === 'function' ? (f.default as (c: { model: string }) => unknown)({ model: 'mlp' }) : f.default]));
      const s0 = entry.build(flags as never, { trainExamples: 100, jit: false }).transformation.init(p) as { direction: { trace: unknown; count: Tensor }; newton: { count: number } };
      const migrated = entry.migrateState!({ direction: { trace: s0.direction.trace, count: 0 }, newton: s0.newton }, 3);
      assert.equal(skeletonMismatch(migrated, s0), null, 'newton-summary: the migrated state fits today’s optimizer');
      assertBits(migrated, s0, 'newton-summary: migrated state');
    });
  });
});
