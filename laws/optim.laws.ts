import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { add, grad, mul, optim, sub, sum, type Tensor, tensor } from '../src/index.js';
import { flatten } from '../src/core/tree.js';
import { cholesky, choleskySolve, eighJacobi, luSolve, matVec, norm2 } from '../src/optim/small-linalg.js';
import { arbTensorOf, RUNS, runs, scaledRuns } from './harness/index.js';

/**
 * Laws of the optimizer algebra (composition laws, textbook update equations, convergence) and of
 * the anisotropic Nesterov solver (grnewt's reference cases, the fixed-point equation, not-found
 * reasons), plus the small float64 linear algebra and brentq under it.
 */

type GT = optim.GradientTransformation<any, any>;

// ───────────────────────── generated trees ─────────────────────────

/** A small parameter record with three leaves of generated shapes (matrix, vector, scalar). */
const arbShapes = fc.record({ r: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 1, max: 3 }) });
const treeOf = ({ r, c }: { r: number; c: number }, range: [number, number] = [-2, 2]) =>
  fc
    .tuple(arbTensorOf([r, c], 'float64', range), arbTensorOf([c], 'float64', range), arbTensorOf([], 'float64', range))
    .map(([w, b, s]): P => ({ w, layer: { b, s } })); // plain records (fc.record may build null-prototype objects)
type P = { w: Tensor; layer: { b: Tensor; s: Tensor } };

/** Params and `steps` gradient trees of the same shapes. */
const arbRun = (steps: number) =>
  arbShapes.chain((sh) => fc.record({ params: treeOf(sh), grads: fc.array(treeOf(sh), { minLength: steps, maxLength: steps }) }));

/** All leaves' values, concatenated in flatten order. */
const flat = (t: unknown): number[] => flatten(t).leaves.flatMap((x) => Array.from(x.dataSync() as ArrayLike<number>));

function assertNums(actual: readonly number[], expected: readonly number[], tol: { rtol: number; atol: number }, label: string) {
  assert.equal(actual.length, expected.length, `${label}: lengths differ`);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e))) assert.fail(`${label}: element ${i}: got ${a}, expected ${e} (|d| = ${Math.abs(a - e).toExponential(3)})`);
  });
}
const EXACT = { rtol: 0, atol: 0 };
const TIGHT = { rtol: 1e-12, atol: 1e-14 };

/** Runs an optimizer over the gradient sequence (gradients given, not recomputed), returning updates and params per step. */
function runOpt(opt: GT, params: unknown, grads: readonly unknown[], extra?: unknown) {
  let state = opt.init(params);
  let p = params;
  const updates: number[][] = [];
  const ps: number[][] = [];
  for (const g of grads) {
    const [u, s] = opt.update(g, state, p, extra);
    state = s;
    p = optim.applyUpdates(p, u);
    updates.push(flat(u));
    ps.push(flat(p));
  }
  return { updates, params: ps, state };
}

/** A pool of transformations with state, to compose (each index builds a fresh one). */
const pool: ((k: number) => GT)[] = [
  (k) => optim.scale(0.5 + k),
  (k) => optim.traceMomentum({ momentum: 0.3 + 0.1 * k, dampening: 0.2 }),
  () => optim.scaleByAdam({ b1: 0.8, b2: 0.95 }),
  () => optim.scaleByRms({ decay: 0.7 }),
  () => optim.clipByGlobalNorm(0.7),
  (k) => optim.addDecayedWeights(0.1 * (k + 1)),
  () => optim.scaleByLearningRate(optim.cosineDecaySchedule(0.3, 3)),
  () => optim.identity(),
  () => optim.reduceOnPlateau({ patience: 0, factor: 0.5 }),
];
const arbIdx = fc.integer({ min: 0, max: pool.length - 1 });

// ───────────────────────── composition laws ─────────────────────────

describe('optim: composition laws', () => {
  test('chain(a, b) equals applying a then b by hand, state by state', () => {
    fc.assert(
      fc.property(arbRun(3), arbIdx, arbIdx, ({ params, grads }, i, j) => {
        const a = pool[i]!(0);
        const b = pool[j]!(1);
        const extra = { value: 1 };
        const viaChain = runOpt(optim.chain(a, b), params, grads, extra);
        let sa = a.init(params);
        let sb = b.init(params);
        let p: unknown = params;
        grads.forEach((g, t) => {
          const [ua, na] = a.update(g, sa, p, extra);
          const [ub, nb] = b.update(ua, sb, p, extra);
          sa = na;
          sb = nb;
          p = optim.applyUpdates(p, ub);
          assertNums(viaChain.updates[t]!, flat(ub), EXACT, `step ${t}`);
        });
      }),
      RUNS,
    );
  });

  test('chain is associative: chain(chain(a, b), c) = chain(a, chain(b, c)) = chain(a, b, c)', () => {
    fc.assert(
      fc.property(arbRun(3), arbIdx, arbIdx, arbIdx, ({ params, grads }, i, j, k) => {
        const mk = () => [pool[i]!(0), pool[j]!(1), pool[k]!(2)] as const;
        const [a1, b1, c1] = mk();
        const [a2, b2, c2] = mk();
        const [a3, b3, c3] = mk();
        const left = runOpt(optim.chain(optim.chain(a1, b1), c1), params, grads, { value: 2 });
        const right = runOpt(optim.chain(a2, optim.chain(b2, c2)), params, grads, { value: 2 });
        const flatChain = runOpt(optim.chain(a3, b3, c3), params, grads, { value: 2 });
        left.updates.forEach((u, t) => {
          assertNums(u, right.updates[t]!, EXACT, `left vs right, step ${t}`);
          assertNums(u, flatChain.updates[t]!, EXACT, `left vs flat, step ${t}`);
        });
      }),
      RUNS,
    );
  });

  test('identity is neutral: chain(identity(), a) = chain(a, identity()) = a; chain() = identity', () => {
    fc.assert(
      fc.property(arbRun(3), arbIdx, ({ params, grads }, i) => {
        const plain = runOpt(pool[i]!(0), params, grads, { value: 3 });
        const l = runOpt(optim.chain(optim.identity(), pool[i]!(0)), params, grads, { value: 3 });
        const r = runOpt(optim.chain(pool[i]!(0), optim.identity()), params, grads, { value: 3 });
        const empty = runOpt(optim.chain(), params, grads);
        plain.updates.forEach((u, t) => {
          assertNums(l.updates[t]!, u, EXACT, `identity left, step ${t}`);
          assertNums(r.updates[t]!, u, EXACT, `identity right, step ${t}`);
          assertNums(empty.updates[t]!, flat(grads[t]), EXACT, `chain(), step ${t}`);
        });
      }),
      RUNS,
    );
  });

  test('namedChain equals chain and keys its state by name', () => {
    fc.assert(
      fc.property(arbRun(3), arbIdx, arbIdx, ({ params, grads }, i, j) => {
        const named = optim.namedChain(['first', pool[i]!(0)], ['second', pool[j]!(1)]);
        const viaNamed = runOpt(named, params, grads, { value: 1 });
        const viaChain = runOpt(optim.chain(pool[i]!(0), pool[j]!(1)), params, grads, { value: 1 });
        viaNamed.updates.forEach((u, t) => assertNums(u, viaChain.updates[t]!, EXACT, `step ${t}`));
        assert.deepEqual(Object.keys(viaNamed.state), ['first', 'second']);
      }),
      RUNS,
    );
    assert.throws(() => optim.namedChain(['a', optim.identity()], ['a', optim.identity()]), /'a' is used twice/);
  });

  test('partitionBy routes each leaf to its label: equal to each transformation on its own leaves', () => {
    fc.assert(
      fc.property(arbRun(3), fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }), ({ params, grads }, lr1, lr2) => {
        const label = (p: string) => (p.startsWith('layer') ? 'small' : 'big');
        const opt = optim.partitionBy(label, { big: optim.momentum(lr1, 0.9), small: optim.adam(lr2) });
        const run = runOpt(opt, params, grads);
        // by hand: each optimizer on the whole tree, then pick its leaves
        const mom = runOpt(optim.momentum(lr1, 0.9), params, grads);
        const ad = runOpt(optim.adam(lr2), params, grads);
        const nBig = (params as P).w.size;
        run.updates.forEach((u, t) => {
          assertNums(u.slice(0, nBig), mom.updates[t]!.slice(0, nBig), EXACT, `big leaves, step ${t}`);
          assertNums(u.slice(nBig), ad.updates[t]!.slice(nBig), EXACT, `small leaves, step ${t}`);
        });
        // the labels given as a tree, with a label above a subtree, route identically
        const viaTree = runOpt(optim.partitionBy({ w: 'big', layer: 'small' }, { big: optim.momentum(lr1, 0.9), small: optim.adam(lr2) }), params, grads);
        viaTree.updates.forEach((u, t) => assertNums(u, run.updates[t]!, EXACT, `labels tree, step ${t}`));
      }),
      RUNS,
    );
  });

  test('partitionBy names a label that has no transformation', () => {
    const p = { w: tensor([1], 'float64'), b: tensor([2], 'float64') };
    assert.throws(() => optim.partitionBy((path: string) => path, { w: optim.sgd(1) }).init(p), /no transformation for label\(s\) 'b'/);
  });

  test('masked(t, mask) applies t to the selected leaves and passes the others through', () => {
    fc.assert(
      fc.property(arbRun(3), fc.boolean(), fc.boolean(), fc.boolean(), ({ params, grads }, mw, mb, ms) => {
        const opt = optim.masked(optim.adam(0.1), { w: mw, layer: { b: mb, s: ms } });
        const run = runOpt(opt, params, grads);
        const ad = runOpt(optim.adam(0.1), params, grads);
        const p = params as P;
        const sizes = [p.w.size, p.layer.b.size, 1];
        const flags = [mw, mb, ms];
        run.updates.forEach((u, t) => {
          let off = 0;
          sizes.forEach((n, k) => {
            const want = flags[k] ? ad.updates[t]!.slice(off, off + n) : flat(grads[t]).slice(off, off + n);
            assertNums(u.slice(off, off + n), want, EXACT, `leaf ${k}, step ${t}`);
            off += n;
          });
        });
      }),
      RUNS,
    );
  });

  test('inject: hyper-parameters in the state; equal to the plain optimizer, changeable between steps, schedules re-evaluated', () => {
    fc.assert(
      fc.property(arbRun(3), fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }), ({ params, grads }, lr, lr2) => {
        const inj = optim.inject(({ lr }: { lr: number }) => optim.momentum(lr, 0.5), { lr });
        const a = runOpt(inj, params, grads);
        const b = runOpt(optim.momentum(lr, 0.5), params, grads);
        a.updates.forEach((u, t) => assertNums(u, b.updates[t]!, EXACT, `step ${t}`));
        // change lr after the first step: the second update uses lr2 on the same momentum buffer
        let s = inj.init(params);
        const [, s1] = inj.update(grads[0], s, params);
        s = optim.setHyperparams(s1, { lr: lr2 });
        const [u2, s2] = inj.update(grads[1], s, params);
        assert.equal(s2.hyperparams.lr, lr2);
        const m = optim.traceMomentum({ momentum: 0.5 });
        const [, ms1] = m.update(grads[0], m.init(params), params);
        const [buf2] = m.update(grads[1], ms1, params);
        assertNums(flat(u2), flat(buf2).map((v) => -lr2 * v), TIGHT, 'after setHyperparams');
        // a schedule-valued hyper-parameter equals scaleByLearningRate(schedule)
        const sched = optim.linearSchedule(lr, lr2, 2);
        const c = runOpt(optim.inject(({ lr }: { lr: number }) => optim.sgd(lr), { lr: sched }), params, grads);
        const d = runOpt(optim.sgd(sched), params, grads);
        c.updates.forEach((u, t) => assertNums(u, d.updates[t]!, EXACT, `schedule, step ${t}`));
      }),
      RUNS,
    );
  });

  test('every combinator forwards updateAsync: chain, namedChain, partitionBy, masked and inject (and nestings) give update’s numbers bit for bit, and run a member that can only read asynchronously', async () => {
    /** u ↦ u / (1 + ‖u‖), with ‖u‖ read on the host: a transformation written as steps. */
    const hostNormScale = (): GT =>
      optim.fromSteps(
        () => ({}),
        function* (u, s) {
          const [n] = yield* optim.readHost([optim.globalNorm(u)]);
          return [optim.scale(1 / (1 + n![0]!)).update(u, {})[0], s] as const;
        },
        true,
      );
    /** The same map with only an asynchronous read: its synchronous update refuses to run. */
    const asyncOnly = (): GT => ({
      init: () => ({}),
      update: () => {
        throw new Error('asyncOnly: a synchronous read was attempted');
      },
      updateAsync: async <T,>(u: T, s: unknown) => {
        const n = (await optim.globalNorm(u).data())[0]!;
        return [optim.scale(1 / (1 + n)).update(u, {})[0], s] as const;
      },
    });
    const label = (path: string) => (path.startsWith('layer') ? 'small' : 'big');
    /** Each combinator (and two nestings) around a member `m` and two pool transformations. */
    const combinators = (m: () => GT, i: number, j: number, mask: { w: boolean; layer: boolean }): [string, GT][] => [
      ['chain', optim.chain(pool[i]!(0), m(), pool[j]!(1))],
      ['namedChain', optim.namedChain(['first', pool[i]!(0)], ['member', m()])],
      ['partitionBy', optim.partitionBy(label, { big: optim.chain(m(), pool[i]!(0)), small: pool[j]!(1) })],
      ['masked', optim.masked(optim.chain(pool[i]!(0), m()), mask)],
      ['inject', optim.inject(({ lr }: { lr: number }) => optim.chain(m(), optim.scale(lr)), { lr: optim.linearSchedule(1, 0.5, 2) })],
      ['masked(partitionBy(inject))', optim.masked(optim.partitionBy(label, { big: optim.inject(({ lr }: { lr: number }) => optim.chain(m(), optim.scale(lr)), { lr: 0.5 }), small: m() }), mask)],
      ['chain(namedChain)', optim.chain(optim.namedChain(['m', m()]), pool[j]!(1))],
    ];
    const extra = { value: 1 };
    await fc.assert(
      fc.asyncProperty(arbRun(3), arbIdx, arbIdx, fc.boolean(), fc.boolean(), async ({ params, grads }, i, j, mw, ml) => {
        const mask = { w: mw, layer: ml };
        const sync = combinators(hostNormScale, i, j, mask);
        const reading = combinators(hostNormScale, i, j, mask);
        const onlyAsync = combinators(asyncOnly, i, j, mask);
        for (const [k, [name, a]] of sync.entries()) {
          const b = reading[k]![1];
          const c = onlyAsync[k]![1];
          assert.ok(b.updateAsync && c.updateAsync, `${name}: a combinator holding a reading member has updateAsync`);
          let [sa, sb, sc] = [a.init(params), b.init(params), c.init(params)];
          let [pa, pb, pc] = [params as unknown, params as unknown, params as unknown];
          for (const [t, g] of grads.entries()) {
            const [ua, na] = a.update(g, sa, pa, extra);
            const [ub, nb] = await optim.updateAsync(b, g, sb, pb, extra);
            const [uc, nc] = await optim.updateAsync(c, g, sc, pc, extra);
            assertNums(flat(ub), flat(ua), EXACT, `${name}: updateAsync vs update, step ${t}`);
            assertNums(flat(uc), flat(ua), EXACT, `${name}: the asynchronous-only member, step ${t}`);
            assertNums(flat(nb), flat(na), EXACT, `${name}: states, step ${t}`);
            [sa, sb, sc] = [na, nb, nc];
            [pa, pb, pc] = [optim.applyUpdates(pa, ua), optim.applyUpdates(pb, ub), optim.applyUpdates(pc, uc)];
          }
          assert.throws(() => c.update(grads[0], c.init(params), params, extra), /asyncOnly: a synchronous read/, `${name}: update is synchronous`);
        }
        // without a reading member no combinator has updateAsync, and updateAsync falls back to update
        for (const [name, t] of combinators(() => optim.identity(), i, j, mask)) {
          assert.equal(t.updateAsync, undefined, `${name}: no updateAsync without host reads`);
          const [u] = await optim.updateAsync(t, grads[0], t.init(params), params, extra);
          assertNums(flat(u), flat(t.update(grads[0], t.init(params), params, extra)[0]), EXACT, `${name}: fallback`);
        }
      }),
      runs(30),
    );
  });

  test('scaleByGroupLearningRates multiplies each leaf by −lr of its group', () => {
    fc.assert(
      fc.property(arbRun(2), fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), ({ params, grads }, l1, l2) => {
        const opt = optim.scaleByGroupLearningRates((p: string) => (p === 'w' ? 'a' : 'b'), { a: l1, b: l2 });
        const run = runOpt(opt, params, grads);
        const nW = (params as P).w.size;
        run.updates.forEach((u, t) => {
          const g = flat(grads[t]);
          assertNums(u, g.map((v, i) => -(i < nW ? l1 : l2) * v), TIGHT, `step ${t}`);
        });
      }),
      RUNS,
    );
  });

  test('clipByGlobalNorm: the result has norm min(‖g‖, max) and the direction of g', () => {
    fc.assert(
      fc.property(arbRun(1), fc.double({ min: 0.01, max: 10, noNaN: true }), ({ grads }, maxNorm) => {
        const g = grads[0];
        const [u] = optim.clipByGlobalNorm(maxNorm).update(g, {});
        const gn = norm2(flat(g));
        const un = norm2(flat(u));
        assert.ok(Math.abs(un - Math.min(gn, maxNorm)) <= 1e-12 * (1 + gn), `norm ${un} vs min(${gn}, ${maxNorm})`);
        const k = gn > maxNorm ? maxNorm / gn : 1;
        assertNums(flat(u), flat(g).map((v) => k * v), TIGHT, 'direction');
        assert.ok(Math.abs(optim.globalNorm(g).item() - gn) <= 1e-12 * (1 + gn));
      }),
      RUNS,
    );
  });

  test('applyUpdates adds leaf by leaf and refuses mismatched structures and dtypes', () => {
    const p = { a: tensor([1, 2], 'float64') };
    assert.deepEqual(flat(optim.applyUpdates(p, { a: tensor([0.5, -1], 'float64') })), [1.5, 1]);
    assert.throws(() => optim.applyUpdates(p, { b: tensor([0.5, -1], 'float64') }), /structure/);
    assert.throws(() => optim.applyUpdates(p, { a: tensor([0.5, -1], 'float32') }), /float64 but its update is float32/);
    assert.throws(() => optim.applyUpdates(p, { a: tensor([0.5], 'float64') }), /shape \[2\] but its update \[1\]/);
    assert.throws(() => optim.addDecayedWeights(0.1).update(p, {}), /needs the current params/);
  });
});

// ───────────────────────── textbook update equations ─────────────────────────

/** Steps a per-element textbook optimizer over the flattened params/gradients; returns params after each step. */
function textbook(params: number[], grads: number[][], step: (p: number, g: number, i: number, t: number) => number): number[][] {
  let p = params.slice();
  return grads.map((g, t) => (p = p.map((v, i) => step(v, g[i]!, i, t))));
}

const STEPS = 4;
const arbLr = fc.double({ min: 1e-3, max: 0.5, noNaN: true });

describe('optim: the named optimizers follow their textbook equations step by step', () => {
  test('sgd: θ ← θ − lr·g', () => {
    fc.assert(
      fc.property(arbRun(STEPS), arbLr, ({ params, grads }, lr) => {
        const got = runOpt(optim.sgd(lr), params, grads).params;
        const want = textbook(flat(params), grads.map(flat), (p, g) => p - lr * g);
        got.forEach((p, t) => assertNums(p, want[t]!, TIGHT, `step ${t}`));
      }),
      RUNS,
    );
  });

  test('momentum = torch.optim.SGD(lr, momentum, dampening, nesterov): buf = g, then μ·buf + (1 − τ)·g', () => {
    const arbMom = fc.oneof(
      fc.record({ mu: fc.double({ min: 0, max: 0.99, noNaN: true }), tau: fc.double({ min: 0, max: 0.9, noNaN: true }), nesterov: fc.constant(false) }),
      fc.record({ mu: fc.double({ min: 0.01, max: 0.99, noNaN: true }), tau: fc.constant(0), nesterov: fc.constant(true) }),
    );
    fc.assert(
      fc.property(arbRun(STEPS), arbLr, arbMom, ({ params, grads }, lr, { mu, tau, nesterov }) => {
        const got = runOpt(optim.momentum(lr, mu, { dampening: tau, nesterov }), params, grads).params;
        const buf: number[] = [];
        const want = textbook(flat(params), grads.map(flat), (p, g, i, t) => {
          buf[i] = t === 0 ? g : mu * buf[i]! + (1 - tau) * g;
          return p - lr * (nesterov ? g + mu * buf[i]! : buf[i]!);
        });
        got.forEach((p, t) => assertNums(p, want[t]!, TIGHT, `step ${t}`));
      }),
      RUNS,
    );
  });

  const arbAdam = fc.record({
    b1: fc.double({ min: 0, max: 0.99, noNaN: true }),
    b2: fc.double({ min: 0.5, max: 0.999, noNaN: true }),
    eps: fc.double({ min: 1e-8, max: 1e-2, noNaN: true }),
  });
  const adamStep = (b1: number, b2: number, eps: number, wd: number, lr: number) => {
    const m: number[] = [];
    const v: number[] = [];
    return (p: number, g: number, i: number, t: number) => {
      m[i] = b1 * (m[i] ?? 0) + (1 - b1) * g;
      v[i] = b2 * (v[i] ?? 0) + (1 - b2) * g * g;
      const mh = m[i]! / (1 - b1 ** (t + 1));
      const vh = v[i]! / (1 - b2 ** (t + 1));
      return p - lr * (mh / (Math.sqrt(vh) + eps) + wd * p);
    };
  };

  test('adam: bias-corrected moments, θ ← θ − lr·m̂/(√v̂ + ε)', () => {
    fc.assert(
      fc.property(arbRun(STEPS), arbLr, arbAdam, ({ params, grads }, lr, { b1, b2, eps }) => {
        const got = runOpt(optim.adam(lr, { b1, b2, eps }), params, grads).params;
        const want = textbook(flat(params), grads.map(flat), adamStep(b1, b2, eps, 0, lr));
        got.forEach((p, t) => assertNums(p, want[t]!, TIGHT, `step ${t}`));
      }),
      RUNS,
    );
  });

  test('adamw: θ ← θ − lr·(m̂/(√v̂ + ε) + wd·θ)', () => {
    fc.assert(
      fc.property(arbRun(STEPS), arbLr, arbAdam, fc.double({ min: 0, max: 0.5, noNaN: true }), ({ params, grads }, lr, { b1, b2, eps }, wd) => {
        const got = runOpt(optim.adamw(lr, { b1, b2, eps, weightDecay: wd }), params, grads).params;
        const want = textbook(flat(params), grads.map(flat), adamStep(b1, b2, eps, wd, lr));
        got.forEach((p, t) => assertNums(p, want[t]!, TIGHT, `step ${t}`));
      }),
      RUNS,
    );
  });

  test('rmsprop: ν ← ρ·ν + (1 − ρ)·g²; θ ← θ − lr·g/√(ν + ε) (optax) or lr·g/(√ν + ε) (torch)', () => {
    fc.assert(
      fc.property(
        arbRun(STEPS),
        arbLr,
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.double({ min: 1e-8, max: 1e-2, noNaN: true }),
        fc.boolean(),
        ({ params, grads }, lr, decay, eps, epsInSqrt) => {
          const got = runOpt(optim.rmsprop(lr, { decay, eps, epsInSqrt }), params, grads).params;
          const nu: number[] = [];
          const want = textbook(flat(params), grads.map(flat), (p, g, i) => {
            nu[i] = decay * (nu[i] ?? 0) + (1 - decay) * g * g;
            return p - (lr * g) / (epsInSqrt ? Math.sqrt(nu[i]! + eps) : Math.sqrt(nu[i]!) + eps);
          });
          got.forEach((p, t) => assertNums(p, want[t]!, TIGHT, `step ${t}`));
        },
      ),
      RUNS,
    );
  });

  test('sgd with a schedule uses lr(t) at step t; weight decay before momentum is torch SGD(weight_decay)', () => {
    fc.assert(
      fc.property(arbRun(STEPS), arbLr, fc.double({ min: 0, max: 0.5, noNaN: true }), ({ params, grads }, lr, wd) => {
        const sched = optim.stepDecaySchedule(lr, 2, 0.5);
        const got = runOpt(optim.sgd(sched), params, grads).params;
        const want = textbook(flat(params), grads.map(flat), (p, g, _i, t) => p - sched(t) * g);
        got.forEach((p, t) => assertNums(p, want[t]!, TIGHT, `schedule, step ${t}`));
        const opt = optim.chain(optim.addDecayedWeights(wd), optim.traceMomentum({ momentum: 0.9 }), optim.scaleByLearningRate(lr));
        const got2 = runOpt(opt, params, grads).params;
        const buf: number[] = [];
        const want2 = textbook(flat(params), grads.map(flat), (p, g, i, t) => {
          const d = g + wd * p;
          buf[i] = t === 0 ? d : 0.9 * buf[i]! + d;
          return p - lr * buf[i]!;
        });
        got2.forEach((p, t) => assertNums(p, want2[t]!, TIGHT, `weight decay, step ${t}`));
      }),
      RUNS,
    );
  });
});

// ───────────────────────── convergence (as optax's alias tests) ─────────────────────────

describe('optim: sgd, momentum and adam reach the minimum of a quadratic and of Rosenbrock', () => {
  type XY = { x: Tensor; y: Tensor };
  const minimize = (opt: GT, loss: (p: XY) => Tensor, start: XY, target: [number, number], budget: number, tol: number) => {
    const g = grad(loss);
    let p = start;
    let s = opt.init(p);
    for (let k = 0; k < budget; k++) {
      const [u, s2] = opt.update(g(p), s, p);
      p = optim.applyUpdates(p, u);
      s = s2;
      if (Math.abs(p.x.item() - target[0]) < tol && Math.abs(p.y.item() - target[1]) < tol) return k + 1;
    }
    assert.fail(`did not reach (${target}) within ${budget} steps: at (${p.x.item()}, ${p.y.item()})`);
  };
  const start = (x: number, y: number): XY => ({ x: tensor(x, 'float64'), y: tensor(y, 'float64') });
  // quadratic (x − 1)² + (y + 2)², from (0, 0)
  const quadratic = (p: XY) => add(mul(sub(p.x, 1), sub(p.x, 1)), mul(add(p.y, 2), add(p.y, 2)));
  // Rosenbrock (1 − x)² + 100 (y − x²)², minimum at (1, 1), from (−1.2, 1)
  const rosenbrock = (p: XY) => {
    const r = sub(p.y, mul(p.x, p.x));
    return sum(add(mul(sub(1, p.x), sub(1, p.x)), mul(mul(r, r), 100)));
  };
  const cases: [string, () => GT, number, number][] = [
    ['sgd', () => optim.sgd(1e-3), 20_000, 20_000],
    ['momentum', () => optim.momentum(1e-3, 0.9), 5_000, 5_000],
    ['nesterov momentum', () => optim.momentum(1e-3, 0.9, { nesterov: true }), 5_000, 5_000],
    ['adam', () => optim.adam(1e-2), 10_000, 10_000],
  ];
  for (const [name, make, qBudget, rBudget] of cases)
    test(name, () => {
      minimize(name === 'sgd' ? optim.sgd(0.1) : make(), quadratic, start(0, 0), [1, -2], qBudget, 1e-3);
      minimize(make(), rosenbrock, start(-1.2, 1), [1, 1], rBudget, 1e-2);
    });
});

// ───────────────────────── schedules and plateau ─────────────────────────

describe('optim: schedules equal their closed forms; reduceOnPlateau reduces after patience', () => {
  const arbT = fc.integer({ min: 0, max: 500 });
  const arbV = fc.double({ min: -10, max: 10, noNaN: true });
  test('constant, piecewise, step decay, linear, warm-up, cosine, join', () => {
    fc.assert(
      fc.property(arbT, arbV, arbV, fc.integer({ min: 1, max: 100 }), fc.double({ min: 0, max: 1, noNaN: true }), (t, v, w, n, alpha) => {
        assert.equal(optim.constantSchedule(v)(t), v);
        const pw = optim.piecewiseConstantSchedule(v, { [n]: 0.5, [2 * n]: 0.1 });
        assert.equal(pw(t), t < n ? v : t < 2 * n ? v * 0.5 : v * 0.5 * 0.1);
        assert.equal(optim.stepDecaySchedule(v, n, 0.5)(t), v * 0.5 ** Math.floor(t / n));
        const lin = optim.linearSchedule(v, w, n)(t);
        assert.ok(Math.abs(lin - (t >= n ? w : v + ((w - v) * t) / n)) <= 1e-12 * (1 + Math.abs(v) + Math.abs(w)));
        assert.ok(Math.abs(optim.linearWarmup(w, n)(t) - (t >= n ? w : (w * t) / n)) <= 1e-12 * (1 + Math.abs(w)));
        const cos = optim.cosineDecaySchedule(v, n, alpha)(t);
        const c = 0.5 * (1 + Math.cos((Math.PI * Math.min(t, n)) / n));
        assert.ok(Math.abs(cos - v * ((1 - alpha) * c + alpha)) <= 1e-12 * (1 + Math.abs(v)));
        const joined = optim.joinSchedules([optim.constantSchedule(v), optim.linearSchedule(0, w, n)], [n]);
        assert.ok(Math.abs(joined(t) - (t < n ? v : optim.linearSchedule(0, w, n)(t - n))) <= 1e-15);
      }),
      RUNS,
    );
    // known values
    const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-15, `${a} vs ${b}`);
    near(optim.cosineDecaySchedule(1, 100)(50), 0.5);
    near(optim.cosineDecaySchedule(2, 100, 0.1)(100), 0.2);
    near(optim.cosineDecaySchedule(2, 100, 0.1)(0), 2);
    near(optim.warmupCosineDecaySchedule(0, 1, 10, 110)(5), 0.5);
    near(optim.warmupCosineDecaySchedule(0, 1, 10, 110)(10), 1);
    assert.ok(Math.abs(optim.warmupCosineDecaySchedule(0, 1, 10, 110)(60) - 0.5) < 1e-15);
  });

  test('reduceOnPlateau on a constant value: reductions at reports patience + 1, then every cooldown + patience + 1', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 3 }),
        fc.double({ min: 0.05, max: 0.95, noNaN: true }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        (patience, cooldown, factor, n, minScale) => {
          const opts = { patience, cooldown, factor, minScale };
          let s = optim.initialPlateauState(opts);
          for (let k = 0; k < n; k++) s = optim.plateauStep(opts, s, 1.0);
          // report 0 sets best; reductions at reports patience+1, patience+1 + (cooldown+patience+1), …
          const reductions = n - 1 < patience + 1 ? 0 : 1 + Math.floor((n - 1 - (patience + 1)) / (cooldown + patience + 1));
          let want = 1;
          for (let k = 0; k < reductions; k++) {
            const next = Math.max(want * factor, minScale);
            if (want - next > 1e-8) want = next;
          }
          assert.ok(Math.abs(s.scale - want) <= 1e-15, `scale ${s.scale}, expected ${want} after ${reductions} reductions`);
          // a value improving by more than the threshold never reduces
          let s2 = optim.initialPlateauState(opts);
          for (let k = 0; k < n; k++) s2 = optim.plateauStep(opts, s2, 1 - 0.01 * k);
          assert.equal(s2.scale, 1);
        },
      ),
      RUNS,
    );
  });

  test('reduceOnPlateau scales the updates by its scale; steps without a value keep it', () => {
    const opt = optim.reduceOnPlateau({ patience: 0, factor: 0.5 });
    const g = { a: tensor([2], 'float64') };
    let s = opt.init(g);
    const seen: number[] = [];
    for (const value of [1, 1, undefined, 1, 0.5]) {
      const [u, s2] = opt.update(g, s, undefined, value === undefined ? {} : { value });
      seen.push(flat(u)[0]!);
      s = s2;
    }
    assert.deepEqual(seen, [2, 1, 1, 0.5, 0.5]);
  });
});

// ───────────────────────── small linear algebra and brentq ─────────────────────────

/** Numbers in [−m, m] that are 0 or of magnitude ≥ 1e-3 (no subnormal corner cases: the solver's maths is not scale-free there). */
const arbNum = (m = 2) => fc.double({ min: -m, max: m, noNaN: true }).filter((v) => v === 0 || Math.abs(v) >= 1e-3);
const arbVec = (S: number, m = 2) => fc.array(arbNum(m), { minLength: S, maxLength: S });

/** A symmetric S×S matrix: SPD (A·Aᵀ + 0.1·I) or indefinite (symmetrised random). */
const arbSym = (S: number, kind: 'spd' | 'any') =>
  fc.array(arbNum(), { minLength: S * S, maxLength: S * S }).map((a) => {
    const A = Array.from({ length: S }, (_, i) => a.slice(i * S, (i + 1) * S));
    return Array.from({ length: S }, (_, i) =>
      Array.from({ length: S }, (_, j) =>
        kind === 'spd' ? A[i]!.reduce((s, v, k) => s + v * A[j]![k]!, 0) + (i === j ? 0.1 : 0) : (A[i]![j]! + A[j]![i]!) / 2,
      ),
    );
  });
const arbSize = fc.integer({ min: 1, max: 6 });

describe('optim: small float64 linear algebra', () => {
  test('Jacobi eigh: A = V·diag(λ)·Vᵀ, VᵀV = I, λ ascending, Σλ = trace', () => {
    fc.assert(
      fc.property(arbSize.chain((S) => arbSym(S, 'any')), (A) => {
        const { values, vectors: V } = eighJacobi(A);
        const S = A.length;
        const scale = 1 + Math.max(...A.flat().map(Math.abs));
        for (let i = 0; i < S; i++)
          for (let j = 0; j < S; j++) {
            const rec = values.reduce((s, l, k) => s + V[i]![k]! * l * V[j]![k]!, 0);
            assert.ok(Math.abs(rec - A[i]![j]!) <= 1e-13 * scale * S, `A[${i},${j}]: ${rec} vs ${A[i]![j]}`);
            const ortho = V.reduce((s, row) => s + row[i]! * row[j]!, 0);
            assert.ok(Math.abs(ortho - (i === j ? 1 : 0)) <= 1e-13 * S);
          }
        values.forEach((v, k) => k > 0 && assert.ok(v >= values[k - 1]!));
        const tr = A.reduce((s, r, i) => s + r[i]!, 0);
        assert.ok(Math.abs(values.reduce((s, v) => s + v, 0) - tr) <= 1e-13 * scale * S);
      }),
      RUNS,
    );
  });

  test('Cholesky and LU solve agree and satisfy A·x = b', () => {
    fc.assert(
      fc.property(
        arbSize.chain((S) => fc.tuple(arbSym(S, 'spd'), arbVec(S))),
        ([A, b]) => {
          const L = cholesky(A);
          assert.ok(L, 'SPD matrix must factor');
          const x1 = choleskySolve(L, b);
          const x2 = luSolve(A, b);
          const res = matVec(A, x1).map((v, i) => v - b[i]!);
          const cond = (() => {
            const ev = eighJacobi(A, { vectors: false }).values;
            return ev[ev.length - 1]! / ev[0]!;
          })();
          assert.ok(norm2(res) <= 1e-13 * cond * (1 + norm2(b)), `residual ${norm2(res)}`);
          assertNums(x1, x2, { rtol: 1e-12 * cond, atol: 1e-12 * cond * (1 + norm2(x2)) }, 'cholesky vs lu');
        },
      ),
      RUNS,
    );
    assert.equal(cholesky([[1, 2], [2, 1]]), null);
    assert.throws(() => luSolve([[1, 2], [2, 4]], [1, 1]), /singular/);
  });

  test("brentq follows SciPy's iterates (reference values from scipy.optimize.root_scalar 1.17, bracket method)", () => {
    // [f, a, b, root, iterations, function calls, converged] computed with SciPy.
    const ref: [(x: number) => number, number, number, number, number, number, boolean][] = [
      [(x) => x * x - 2, 0, 2, 1.4142135623731364, 8, 9, true],
      [(x) => x ** 3 - 2 * x - 5, 2, 3, 2.094551481542327, 7, 8, true],
      [(x) => Math.cos(x) - x, 0, 1, 0.7390851332151559, 7, 8, true],
      [(x) => Math.exp(x) - 10, -5, 10, 2.3025850929940455, 11, 12, true],
      [(x) => Math.atan(1e4 * (x - 0.3)), -1, 7, 0.300000000000325, 20, 21, true],
      [(x) => (x - 1) ** 3, -3, 10, 0.9999999999906876, 100, 102, false],
      [(x) => 3.7 - x, 0, 27, 3.7, 2, 3, true],
    ];
    for (const [f, a, b, root, it, calls, conv] of ref) {
      const r = optim.brentq(f, a, b);
      assert.ok(Math.abs(r.root - root) <= 1e-15 * Math.abs(root), `root ${r.root} vs ${root}`);
      assert.deepEqual([r.iterations, r.functionCalls, r.converged], [it, calls, conv]);
    }
    assert.throws(() => optim.brentq((x) => x * x + 1, -1, 1), /different signs/);
  });
});

// ───────────────────────── the Nesterov solver ─────────────────────────

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');
const caseDir = [path.join(repoRoot, 'test/fixtures/cases/public'), path.resolve(repoRoot, '../shared/cases/public')].find((d) => existsSync(d));

interface NesterovEntry {
  damping_int: number;
  lrs: number[] | null;
  found: boolean;
  r?: number;
  x0_computation: string;
  H_pd: boolean;
}
/** Decodes the parts of a `partax-case/1` file this law needs, with readable errors. */
function readCase(file: string): { H: number[]; g: number[]; order3: number[]; nesterov: NesterovEntry[] } {
  const c = JSON.parse(readFileSync(file, 'utf8')) as { format?: string; expected?: Record<string, unknown> };
  assert.equal(c.format, 'partax-case/1', `${file}: not a partax-case/1 file`);
  const e = c.expected ?? {};
  const nums = (k: string) => {
    const v = e[k];
    assert.ok(Array.isArray(v) && v.every((x) => typeof x === 'number'), `${file}: expected.${k} must be a list of numbers`);
    return v as number[];
  };
  const nesterov = e['nesterov'];
  assert.ok(Array.isArray(nesterov), `${file}: expected.nesterov must be a list`);
  return { H: nums('H'), g: nums('g'), order3: nums('order3'), nesterov: nesterov as NesterovEntry[] };
}
/** |a − e| ≤ 1e-7·|e| + max(1e-9·max|e|, 1e-12). */
const refClose = (a: readonly number[], e: readonly number[], label: string) => {
  const big = Math.max(...e.map(Math.abs));
  assertNums(a, e, { rtol: 1e-7, atol: Math.max(1e-9 * big, 1e-12) }, label);
};

describe('optim: the anisotropic Nesterov solver', () => {
  test('matches every reference case (grnewt nesterov_lrs): lrs, found, r', { skip: caseDir ? false : 'no case directory (test/fixtures/cases/public or ../shared/cases/public)' }, () => {
    const files = readdirSync(caseDir!).filter((f) => /^p.*\.json$/.test(f)).sort();
    assert.ok(files.length > 0, `no p*.json case in ${caseDir}`);
    let checked = 0;
    for (const f of files) {
      const c = readCase(path.join(caseDir!, f));
      for (const n of c.nesterov) {
        const label = `${f} λ=${n.damping_int}`;
        const res = optim.nesterovLrs(c.H, c.g, c.order3, n.damping_int);
        assert.equal(res.found, n.found, `${label}: found`);
        assert.equal(res.hPD, n.H_pd, `${label}: H_pd`);
        assert.equal(res.x0Computation, n.x0_computation, `${label}: x0 computation`);
        if (n.lrs === null) assert.equal(res.lrs, null, `${label}: lrs`);
        else refClose(res.lrs!, n.lrs, `${label}: lrs`);
        if (n.r !== undefined) refClose([res.r!], [n.r], `${label}: r`);
        checked++;
      }
    }
    assert.ok(checked > 0, 'no Nesterov entry checked');
  });

  /** A generated problem: H SPD or indefinite, g, order3 with some zeros (singular D), λ. */
  const arbProblem = arbSize.chain((S) =>
    fc.record({
      H: fc.oneof(arbSym(S, 'spd'), arbSym(S, 'any')),
      g: arbVec(S),
      order3: fc.array(fc.oneof(arbNum(3), fc.constant(0)), { minLength: S, maxLength: S }),
      lam: fc.double({ min: 0.05, max: 10, noNaN: true }),
    }),
  );

  test('when found: r* is a root of f to brentq\'s tolerance, and η solves η = (H + λ/2·‖Dη‖·D²)⁻¹·g (to 1e-10 when well-conditioned); when not, a reason is given', () => {
    let found = 0;
    let wellConditioned = 0;
    fc.assert(
      fc.property(arbProblem, ({ H, g, order3, lam }) => {
        const res = optim.nesterovLrs(H, g, order3, lam);
        if (!res.found) {
          assert.equal(res.lrs, null);
          assert.ok(typeof res.reason === 'string' && res.reason.length > 0, 'a not-found result must say why');
          return;
        }
        found++;
        const d = order3.map((v) => Math.abs(v) ** (1 / 3));
        const M = (x: number) => H.map((row, i) => row.map((v, j) => (i === j ? v + 0.5 * lam * x * d[i]! ** 2 : v)));
        const f = (x: number) => norm2(luSolve(M(x), g).map((v, i) => d[i]! * v)) - x;
        const r = res.r!;
        // f is decreasing on (x0, ∞) and brentq stops on a bracket narrower than xtol + rtol·r
        const w = 2 * (2e-12 + 4 * Number.EPSILON * r);
        assert.ok(r > res.x0! || r === res.x0, `r* = ${r} below x0 = ${res.x0}`);
        if (r - w > res.x0!) assert.ok(f(r - w) >= 0, `f(r* − w) = ${f(r - w)} < 0`);
        assert.ok(f(r + w) <= 0, `f(r* + w) = ${f(r + w)} > 0`);
        // η = M(r*)⁻¹·g, and M(r*) is positive definite — decided up to the error of the computed
        // λ_min: eighJacobi's eigenvalues are exact for M + E with |E_ij| ≤ 1e-13·S·max|M| (the
        // backward error the Jacobi law above bounds), so by Weyl's inequality |λ̂_min − λ_min| ≤
        // ‖E‖₂ ≤ S·max|E_ij|. A λ_min inside that band (H singular to working precision on the
        // groups where D = 0, whose block M(r) never changes) is PD or not by rounding alone, and
        // M(r*) is then ill-conditioned (the flag is checked below).
        const eta = res.lrs!;
        const Mr = M(r);
        const eigTol = 1e-13 * H.length ** 2 * Math.max(...Mr.flat().map(Math.abs));
        const lminComputed = eighJacobi(Mr, { vectors: false }).values[0]!;
        assert.ok(lminComputed > -eigTol, `M(r*) must be positive definite: λ_min = ${lminComputed} (error bound ${eigTol.toExponential(2)})`);
        // the fixed-point equation at ‖Dη‖, relative to the size of its terms; its residual is
        // (λ/2)·(‖Dη‖ − r*)·D²η, which brentq\'s tolerance bounds only when f is not too steep
        const rr = norm2(eta.map((v, i) => d[i]! * v));
        const hMax = Math.max(...H.flat().map(Math.abs));
        const d2Max = Math.max(...d.map((v) => v * v));
        if (res.illConditioned || res.mCondition! > 1e6 || lminComputed < 1e-3 * (hMax + 0.5 * lam * r * d2Max)) {
          if (res.mCondition! > 1e12) assert.ok(res.warnings.some((x) => /ill-conditioned/.test(x)), 'an ill-conditioned M(r*) must be flagged');
          return;
        }
        wellConditioned++;
        const resid = matVec(M(rr), eta).map((v, i) => v - g[i]!);
        const scale = norm2(g) + (hMax + 0.5 * lam * rr * d2Max) * norm2(eta) * H.length;
        assert.ok(norm2(resid) <= 1e-10 * scale, `residual ${norm2(resid).toExponential(3)} vs scale ${scale.toExponential(3)}`);
      }),
      runs(300),
    );
    // coverage: a third of the problems solved, most of those well-conditioned (a statistical claim
    // of the default sample of 300 or more; PARTAX_LAW_RUNS may make the count smaller)
    const n = scaledRuns(300);
    if (n >= 300)
      assert.ok(found > n / 3 && wellConditioned > found / 2, `only ${found} of ${n} generated problems had a solution, ${wellConditioned} well-conditioned`);
  });

  test('λ = 0 and H positive definite: η = H⁻¹·g (checked by residual and against λ → 0)', () => {
    fc.assert(
      fc.property(
        arbSize.chain((S) => fc.tuple(arbSym(S, 'spd'), arbVec(S), arbVec(S, 3))),
        ([H, g, order3]) => {
          const res = optim.nesterovLrs(H, g, order3, 0);
          assert.ok(res.found);
          const ev = eighJacobi(H, { vectors: false }).values;
          const cond = ev[ev.length - 1]! / ev[0]!;
          const resid = matVec(H, res.lrs!).map((v, i) => v - g[i]!);
          assert.ok(norm2(resid) <= 1e-13 * cond * (1 + norm2(g)), `residual ${norm2(resid)}`);
          const tiny = optim.nesterovLrs(H, g, order3, 1e-12);
          if (tiny.found) assertNums(tiny.lrs!, res.lrs!, { rtol: 1e-8 * cond, atol: 1e-8 * cond * (1 + norm2(res.lrs!)) }, 'λ → 0');
        },
      ),
      RUNS,
    );
  });

  test('λ = 0 with H not positive definite is an error naming the smallest eigenvalue', () => {
    assert.throws(() => optim.nesterovLrs([[1, 0], [0, -1]], [1, 1], [1, 1], 0), (e: Error) => e.name === 'NesterovError' && /not positive definite \(smallest eigenvalue -1/.test(e.message));
  });

  test('not-found cases terminate with a reason', () => {
    fc.assert(
      fc.property(
        arbSize.chain((S) => fc.tuple(arbSym(S, 'spd'), arbVec(S))),
        fc.double({ min: 0.05, max: 10, noNaN: true }),
        ([H, g], lam) => {
          // D ≡ 0 with H positive definite: f(0) = 0
          const res = optim.nesterovLrs(H, g, H.map(() => 0), lam);
          assert.equal(res.found, false);
          assert.equal(res.lrs, null);
          assert.match(res.reason!, /D ≡ 0 and H̄ positive definite/);
          // H negative on a group where D = 0: H + λ/2·x·D² is never positive definite
          const S = H.length + 1;
          const Hn = Array.from({ length: S }, (_, i) => Array.from({ length: S }, (_, j) => (i === S - 1 || j === S - 1 ? (i === j ? -1 : 0) : H[i]![j]!)));
          const t0 = performance.now();
          const res2 = optim.nesterovLrs(Hn, [...g, 1], [...H.map(() => 1), 0], lam);
          assert.ok(performance.now() - t0 < 2000, 'must terminate quickly');
          assert.equal(res2.found, false);
          assert.match(res2.reason!, /not positive definite on the groups where D = 0/);
        },
      ),
      RUNS,
    );
  });

  test('a singular H is flagged', () => {
    const res = optim.nesterovLrs([[1, 1], [1, 1]], [1, 0], [1, 1], 1);
    assert.ok(res.illConditioned);
    assert.ok(res.warnings.some((w) => /singular|ill-conditioned/.test(w)), res.warnings.join('; '));
  });
});
