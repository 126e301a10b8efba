import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as px from '../src/index.js';
import { ConcretizationError, EscapedTracerError, type Tensor } from '../src/index.js';
import { cpuBackend } from '../src/backends/cpu/index.js';
import { flatten } from '../src/core/tree.js';
import { arbSeed, arbShape, arbTensorOf, assertClose, seededTensor, RUNS } from './harness/index.js';
import { arbProg, inputsOf, programFn } from './harness/programs.js';
import { linearizeOutputs } from '../src/transforms/vjp.js';

/**
 * Laws of the transforms (src/transforms/): linearity of jvp, jacfwd = jacrev, Hessian symmetry
 * and closed forms, vmap against stacking (inAxes incl. null and non-zero axes, outAxes), vmap
 * commuting with grad, nested transforms that must not confuse their perturbations, escaped
 * tracers and concretization errors, and the cost of forward-over-reverse hvp.
 */

const X: [number, number] = [-2, 2];
const arbX = (s: readonly number[], range = X) => arbTensorOf(s, 'float64', range) as fc.Arbitrary<Tensor>;
/** AD-vs-AD identities are exact up to rounding. */
const AD = { rtol: 1e-10, atol: 1e-12 } as const;

/** A small menu of smooth tensor → tensor functions (any input shape; vector outputs of varied shape). */
const MENU: readonly [string, (x: Tensor) => Tensor][] = [
  ['tanh(x)·exp(sin x)', (x) => px.mul(px.tanh(x), px.exp(px.sin(x)))],
  ['x · Σx²', (x) => px.mul(x, px.sum(px.square(x)))],
  ['softmax(flat x)', (x) => px.softmax(px.reshape(x, [x.size]))],
  ['outer(flat x, cos flat x)', (x) => px.outer(px.reshape(x, [x.size]), px.cos(px.reshape(x, [x.size])))],
  ['logsumexp(x) − x', (x) => px.sub(px.logsumexp(x), x)],
  ['[Σ sin x, Π-ish] stack', (x) => px.stack([px.sum(px.sin(x)), px.mean(px.mul(x, px.exp(px.mul(x, 0.3))))])],
  ['sqrt(1 + x²) transposed', (x) => px.transpose(px.sqrt(px.add(px.square(x), 1)))],
];
const arbMenuFn = fc.constantFrom(...MENU);
/** Scalar versions (for grad/hessian): Σ c·f(x) with fixed weights would hide nothing, so use Σ sin(f(x)). */
const scalarOf = (f: (x: Tensor) => Tensor) => (x: Tensor) => px.sum(px.sin(f(x)));

const smallShape = arbShape({ rank: [0, 2], size: [1, 4] });

test('jvp is linear in the tangent: J(αt + βs) = αJt + βJs (float64)', () => {
  const gen = smallShape.chain((s) => fc.tuple(arbMenuFn, arbX(s), arbSeed, fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true })));
  fc.assert(
    fc.property(gen, ([[name, f], x, seed, a, b]) => {
      const t = seededTensor(x.shape, seed);
      const s = seededTensor(x.shape, seed + 1);
      const j = (v: Tensor) => px.jvp(f, [x], [v])[1];
      const lhs = j(px.add(px.mul(t, a), px.mul(s, b)));
      const rhs = px.add(px.mul(j(t), a), px.mul(j(s), b));
      assertClose(lhs, rhs, { rtol: 1e-9, atol: 1e-10 }, `${name}: linearity`);
      assertClose(j(px.zerosLike(x)), px.zerosLike(f(x)), { atol: 0 }, `${name}: J·0 = 0`);
    }),
    RUNS,
  );
});

test('linearize(f, x) evaluates the same linear map as jvp, for several tangents, without re-tracing f (float64)', () => {
  const gen = smallShape.chain((s) => fc.tuple(arbMenuFn, arbX(s), arbSeed));
  fc.assert(
    fc.property(gen, ([[name, f], x, seed]) => {
      let calls = 0;
      const counted = (a: Tensor) => (calls++, f(a));
      const [y, fJvp] = px.linearize(counted, x);
      assert.equal(calls, 1, `${name}: linearize traces f once`);
      const outs = [0, 1, 2].map((k) => fJvp(seededTensor(x.shape, seed + k)));
      assert.equal(calls, 1, `${name}: applying the linear map does not re-run f`);
      assertClose(y, f(x), { atol: 0 }, `${name}: linearize primal`);
      outs.forEach((o, k) => assertClose(o, px.jvp(f, [x], [seededTensor(x.shape, seed + k)])[1], AD, `${name}: linearize tangent ${k}`));
    }),
    RUNS,
  );
});

test('linearizeOutputs: the chosen outputs\' tangents are jvp\'s (zero ones null), and a choice runs no more of the map than all outputs (generated programs, float64)', () => {
  fc.assert(
    fc.property(arbProg(), arbSeed, fc.array(fc.nat(), { maxLength: 4 }), (prog, seed, picks) => {
      const f = programFn(prog, true);
      const xs = inputsOf(prog, seed);
      const ts = xs.map((x, k) => seededTensor(x.shape, seed + 11 * k + 1));
      const [outs, fJvp] = linearizeOutputs(f, ...xs);
      const which = picks.map((k) => k % outs.length);
      const [, want] = px.jvp(f, xs, ts);
      const counted = (w: readonly number[]) => {
        let n = 0;
        const r = px.shareEvaluations(() => fJvp(w, ...ts), { onEvaluate: () => void n++ })();
        return [r, n] as const;
      };
      const [got, nSome] = counted(which);
      got.forEach((g, i) => assertClose(g ?? px.zerosLike(want[which[i]!]!), want[which[i]!]!, AD, `tangent of output ${which[i]}`));
      assert.ok(nSome <= counted(outs.map((_, i) => i))[1], 'evaluations for the chosen outputs ≤ for all');
      assert.throws(() => fJvp([outs.length], ...ts), /linearizeOutputs: output index \d+ is out of range for a function of \d+ outputs/);
    }),
    RUNS,
  );
});

test('jacfwd(f) = jacrev(f), of layout out ++ in, whose rows are the vjps and columns the jvps (float64)', () => {
  fc.assert(
    fc.property(smallShape.chain((s) => fc.tuple(arbMenuFn, arbX(s), arbSeed)), ([[name, f], x, seed]) => {
      const jf = px.jacfwd(f)(x) as Tensor;
      const jr = px.jacrev(f)(x) as Tensor;
      const y = f(x);
      assert.deepEqual(jf.shape, [...y.shape, ...x.shape], `${name}: jacfwd layout`);
      assertClose(jf, jr, AD, `${name}: jacfwd = jacrev`);
      // J·t equals jvp
      const t = seededTensor(x.shape, seed);
      const J = px.reshape(jf, [y.size, x.size]);
      const jt = px.reshape(px.matmul(J, px.reshape(t, [x.size])), y.shape);
      assertClose(jt, px.jvp(f, [x], [t])[1], AD, `${name}: J·t = jvp`);
    }),
    RUNS,
  );
});

test('jacfwd = jacrev for a function of a tree (record of two tensors) with a tree output', () => {
  const gen = fc.tuple(smallShape, smallShape).chain(([s1, s2]) => fc.tuple(arbX(s1), arbX(s2)));
  fc.assert(
    fc.property(gen, ([a, b]) => {
      const f = (p: { a: Tensor; b: Tensor }) => ({ u: px.mul(px.tanh(p.a), px.sum(p.b)), v: px.sum(px.mul(px.exp(p.b), px.sum(p.a))) });
      const jf = flatten(px.jacfwd(f)({ a, b }));
      const jr = flatten(px.jacrev(f)({ a, b }));
      assert.equal(jf.leaves.length, 4);
      jf.leaves.forEach((l, i) => assertClose(l, jr.leaves[i]!, AD, `tree jacobian leaf ${i}`));
      // the (u, a) block is diag-shaped: d u / d a has shape u ++ a
      assert.deepEqual(jf.leaves[0]!.shape, [...a.shape, ...a.shape]);
    }),
    RUNS,
  );
});

test('hessian(f) is symmetric and equals jacrev(jacrev(f)) and jacfwd(jacfwd(f)); hvp = H·v (float64)', () => {
  fc.assert(
    fc.property(arbShape({ rank: [0, 2], size: [1, 3] }).chain((s) => fc.tuple(arbMenuFn, arbX(s), arbSeed)), ([[name, f0], x, seed]) => {
      const f = scalarOf(f0);
      const H = px.hessian(f)(x) as Tensor;
      const n = x.size;
      assert.deepEqual(H.shape, [...x.shape, ...x.shape], `${name}: hessian layout`);
      const M = px.reshape(H, [n, n]);
      assertClose(M, px.transpose(M), AD, `${name}: H = Hᵀ`);
      assertClose(H, px.jacrev(px.jacrev(f))(x) as Tensor, AD, `${name}: H = jacrev(jacrev)`);
      assertClose(H, px.jacfwd(px.jacfwd(f))(x) as Tensor, AD, `${name}: H = jacfwd(jacfwd)`);
      const v = seededTensor(x.shape, seed);
      const hv = px.reshape(px.matmul(M, px.reshape(v, [n])), x.shape);
      assertClose(px.hvp(f, x, v), hv, AD, `${name}: hvp = H·v`);
    }),
    RUNS,
  );
});

test('closed forms: the Hessian of xᵀAx is A + Aᵀ; the Hessian of logsumexp is diag(p) − ppᵀ (float64)', () => {
  const gen = fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(arbX([n]), arbX([n, n])));
  fc.assert(
    fc.property(gen, ([x, A]) => {
      const quad = (v: Tensor) => px.dot(v, px.matmul(A, v));
      assertClose(px.hessian(quad)(x) as Tensor, px.add(A, px.transpose(A)), { rtol: 1e-13, atol: 1e-13 }, 'Hessian of xᵀAx');
      const p = px.softmax(x);
      const want = px.sub(px.mul(px.eye(x.size, 'float64'), p), px.outer(p, p));
      assertClose(px.hessian((v: Tensor) => px.logsumexp(v))(x) as Tensor, want, { rtol: 1e-12, atol: 1e-14 }, 'Hessian of logsumexp');
    }),
    RUNS,
  );
});

// ---- vmap -------------------------------------------------------------------------------------

/** Per-example functions of (x, y), both [m, k], for the vmap laws (outputs of rank 0–2). */
const PAIR_MENU: readonly [string, (x: Tensor, y: Tensor) => Tensor][] = [
  ['x·y + sin x', (x, y) => px.add(px.mul(x, y), px.sin(x))],
  ['Σx · y', (x, y) => px.mul(px.sum(x), y)],
  ['x yᵀ', (x, y) => px.matmul(x, px.transpose(y))],
  ['softmax(x)·tanh(y) over axis 0', (x, y) => px.mul(px.softmax(x, 0), px.tanh(y))],
  ['concat [x, y] axis 1', (x, y) => px.concat([x, y], 1)],
  ['max(x, 1) − mean(y)', (x, y) => px.sub(px.max(x, 1), px.mean(y))],
  ['where(x > y, x, y²)', (x, y) => px.where(px.gt(x, y), x, px.square(y))],
  ['pad(x)[1:] · y row 0', (x, y) => px.mul(px.slice(px.pad(x, [[1, 0], [0, 0]]), [1]), px.take(y, [0], 0))],
  ['reshape(x, [-1]) · flat y', (x, y) => px.mul(px.reshape(x, [-1]), px.reshape(px.exp(y), [x.size]))],
  ['Σ logsumexp(x, 1)·y', (x, y) => px.sum(px.mul(px.expandDims(px.logsumexp(x, 1), 1), y))],
  ['takeAlongAxis(y, argmax x)', (x, y) => px.takeAlongAxis(y, px.expandDims(px.argmax(x, 1), 1), 1)],
];

/** A batch of B examples, stored with the batch at `axis` (null: one shared, unbatched example). */
const batched = (rows: Tensor, axis: number | null): Tensor => (axis === null ? px.squeeze(px.slice(rows, [0], [1]), 0) : px.moveAxis(rows, 0, axis));
const rowOf = (rows: Tensor, axis: number | null, i: number): Tensor => (axis === null ? px.squeeze(px.slice(rows, [0], [1]), 0) : px.squeeze(px.slice(rows, [i], [i + 1]), 0));

/** f from the menu, B examples of x and y ([B, m, k] each), inAxes for each (null or 0–2, not both null), an outAxes draw. */
const arbVmapCase = fc
  .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }))
  .chain(([b, m, k]) =>
    fc.tuple(
      fc.constantFrom(...PAIR_MENU),
      arbX([b, m, k]),
      arbX([b, m, k]),
      fc.tuple(fc.constantFrom(null, 0, 1, 2), fc.constantFrom(null, 0, 1, 2)).filter(([a, c]) => a !== null || c !== null),
      fc.integer({ min: -3, max: 2 }),
    ),
  );

test('vmap(f)(xs, ys) equals stacking f over the examples, for inAxes null/0/1/2 and outAxes (incl. negative)', () => {
  fc.assert(
    fc.property(arbVmapCase, ([[name, f], xr, yr, [ax, ay], oa]) => {
      const b = xr.shape[0]!;
      const outs = Array.from({ length: b }, (_, i) => f(rowOf(xr, ax, i), rowOf(yr, ay, i)));
      const r = outs[0]!.rank;
      const outAxis = ((oa % (r + 1)) + (r + 1)) % (r + 1) - (oa < 0 ? r + 1 : 0);
      const got = px.vmap(f, { inAxes: [ax, ay], outAxes: outAxis })(batched(xr, ax), batched(yr, ay));
      assertClose(got, px.stack(outs, outAxis), { rtol: 1e-13, atol: 1e-13 }, `${name}: inAxes [${ax},${ay}] outAxes ${outAxis}`);
    }),
    RUNS,
  );
});

test('vmap commutes with grad: vmap(grad f) = rows of grad f; grad(Σ vmap f) = vmap(grad f) with outAxes = inAxes', () => {
  fc.assert(
    fc.property(
      arbVmapCase.filter(([, , , [ax]]) => ax !== null),
      ([[name, f0], xr, yr, [ax, ay]]) => {
        const f = (x: Tensor, y: Tensor) => px.sum(px.sin(f0(x, y)));
        const b = xr.shape[0]!;
        const xs = batched(xr, ax);
        const ys = batched(yr, ay);
        const per = px.vmap(px.grad(f), { inAxes: [ax, ay] })(xs, ys);
        const rows = px.stack(Array.from({ length: b }, (_, i) => px.grad(f)(rowOf(xr, ax, i), rowOf(yr, ay, i))));
        assertClose(per, rows, { rtol: 1e-12, atol: 1e-13 }, `${name}: vmap(grad) = rows of grad`);
        const total = px.grad((x: Tensor) => px.sum(px.vmap(f, { inAxes: [ax, ay] })(x, ys)))(xs);
        const perAtAx = px.vmap(px.grad(f), { inAxes: [ax, ay], outAxes: ax! })(xs, ys);
        assertClose(total, perAtAx, { rtol: 1e-12, atol: 1e-13 }, `${name}: grad(Σ vmap f) = vmap(grad f)`);
      },
    ),
    RUNS,
  );
});

test('vmap of a tree argument (a record with a shared, unbatched leaf via inAxes null) and nested vmap', () => {
  const gen = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 })).chain(([b, c, n]) =>
    fc.tuple(arbX([b, c, n]), arbX([n, n]), arbX([n])),
  );
  fc.assert(
    fc.property(gen, ([xs, w, bias]) => {
      const layer = (p: { w: Tensor; b: Tensor }, x: Tensor) => px.tanh(px.add(px.matmul(p.w, x), p.b));
      const nested = px.vmap(px.vmap((x: Tensor, p: { w: Tensor; b: Tensor }) => layer(p, x), { inAxes: [0, null] }), { inAxes: [0, null] });
      const got = nested(xs, { w, b: bias });
      const want = px.stack(
        Array.from({ length: xs.shape[0]! }, (_, i) =>
          px.stack(Array.from({ length: xs.shape[1]! }, (_, j) => layer({ w, b: bias }, px.reshape(px.slice(xs, [i, j], [i + 1, j + 1]), [xs.shape[2]!])))),
        ),
      );
      assertClose(got, want, { rtol: 1e-13, atol: 1e-13 }, 'nested vmap with a shared record');
    }),
    RUNS,
  );
});

// ---- nested transforms: perturbation confusion, escaped tracers, concretization ---------------

test('nested derivatives do not confuse perturbations: d/dx [x · d/dy (x·y)] = 2x (grad/grad, jvp/jvp, mixed)', () => {
  const gen = arbShape({ rank: [0, 3], size: [1, 4] }).chain((s) => fc.tuple(arbX(s), arbX(s)));
  fc.assert(
    fc.property(gen, ([x0, y0]) => {
      const two = px.mul(x0, 2);
      const one = px.onesLike(y0);
      // grad over grad: inner gradient of Σ x·y w.r.t. y is x
      const gg = px.grad((x: Tensor) => px.sum(px.mul(x, px.grad((y: Tensor) => px.sum(px.mul(x, y)))(y0))))(x0);
      assertClose(gg, two, AD, 'grad(x ↦ Σ x·grad_y(Σ x·y))');
      // jvp over jvp: inner directional derivative along 1 is x
      const inner = (x: Tensor) => px.jvp((y: Tensor) => px.mul(x, y), [y0], [one])[1];
      const jj = px.jvp((x: Tensor) => px.mul(x, inner(x)), [x0], [px.onesLike(x0)])[1];
      assertClose(jj, two, AD, 'jvp(x ↦ x·jvp_y(x·y))');
      // mixed: grad over jvp, jvp over grad
      assertClose(px.grad((x: Tensor) => px.sum(px.mul(x, inner(x))))(x0), two, AD, 'grad over jvp');
      const gInner = (x: Tensor) => px.grad((y: Tensor) => px.sum(px.mul(x, y)))(y0);
      assertClose(px.jvp((x: Tensor) => px.mul(x, gInner(x)), [x0], [px.onesLike(x0)])[1], two, AD, 'jvp over grad');
      // vmap of an inner grad inside an outer grad, closing over the outer x
      const ys = px.stack([y0, px.neg(y0)]);
      const vInner = (x: Tensor) => px.mean(px.vmap((y: Tensor) => px.grad((y2: Tensor) => px.sum(px.mul(x, y2)))(y))(ys), 0);
      assertClose(px.grad((x: Tensor) => px.sum(px.mul(x, vInner(x))))(x0), two, AD, 'grad over vmap over grad');
    }),
    RUNS,
  );
});

test('a tracer stored from inside grad/jvp/vmap and used after the transform returned raises EscapedTracerError', () => {
  const x0 = px.tensor([1, 2, 3], 'float64');
  const leakers: [string, (keep: (t: Tensor) => void) => void][] = [
    ['grad', (keep) => px.grad((x: Tensor) => (keep(x), px.sum(x)))(x0)],
    ['jvp', (keep) => px.jvp((x: Tensor) => (keep(x), px.sin(x)), [x0], [x0])],
    ['vjp', (keep) => px.vjp((x: Tensor) => (keep(px.mul(x, 2)), px.sin(x)), x0)],
    ['vmap', (keep) => px.vmap((x: Tensor) => (keep(x), px.exp(x)))(x0)],
    ['hessian', (keep) => px.hessian((x: Tensor) => (keep(x), px.sum(px.mul(x, x))))(x0)],
  ];
  for (const [name, leak] of leakers) {
    let leaked: Tensor | undefined;
    leak((t) => (leaked = t));
    assert.ok(leaked !== undefined, `${name}: the tracer was captured`);
    assert.throws(() => px.add(leaked!, 1), EscapedTracerError, `${name}: add(leaked, 1)`);
    assert.throws(() => px.exp(leaked!), (e: unknown) => e instanceof EscapedTracerError && /escaped tracer/.test((e as Error).message), `${name}: exp(leaked)`);
    assert.throws(() => px.grad((y: Tensor) => px.sum(px.mul(y, leaked!)))(x0), EscapedTracerError, `${name}: leaked inside a later grad`);
  }
  // escaping an inner transform and using the tracer in the outer one (still running) also raises
  assert.throws(
    () =>
      px.grad((x: Tensor) => {
        let inner: Tensor | undefined;
        px.grad((y: Tensor) => ((inner = px.mul(y, x)), px.sum(inner)))(x);
        return px.sum(px.mul(inner!, x));
      })(x0),
    EscapedTracerError,
  );
});

test('dataSync()/item()/toNested() of a traced value inside grad, jvp or vmap raise ConcretizationError; data() rejects', async () => {
  const x0 = px.tensor([0.5, -1], 'float64');
  const uses: [string, (t: Tensor) => unknown][] = [
    ['data', (t) => t.dataSync()],
    ['item', (t) => px.sum(t).item()],
    ['toNested', (t) => t.toNested()],
  ];
  for (const [what, use] of uses) {
    assert.throws(() => px.grad((x: Tensor) => (use(x), px.sum(x)))(x0), ConcretizationError, `${what} in grad`);
    assert.throws(() => px.jvp((x: Tensor) => (use(x), x), [x0], [x0]), ConcretizationError, `${what} in jvp`);
    assert.throws(() => px.vmap((x: Tensor) => (use(x), x))(x0), ConcretizationError, `${what} in vmap`);
  }
  assert.throws(
    () => px.grad((x: Tensor) => (x.dataSync(), px.sum(x)))(x0),
    (e: unknown) => e instanceof ConcretizationError && /traced/.test((e as Error).message) && /\[2\]/.test((e as Error).message),
    'the message says the value is traced and gives its shape',
  );
  let read: Promise<unknown> | undefined;
  px.grad((x: Tensor) => ((read = x.data()), px.sum(x)))(x0);
  await assert.rejects(read!, ConcretizationError, 'await data() of a traced value rejects');
});

// ---- cost: forward-over-reverse hvp is O(1) passes, whatever the parameter count ----------------

/** Counts the primitive applications the CPU backend executes while `run` runs. */
function countPrimitives(run: () => void): number {
  const original = cpuBackend.execute;
  let n = 0;
  (cpuBackend as { execute: typeof original }).execute = (prim, inputs, params, outAvals) => {
    n++;
    return original.call(cpuBackend, prim, inputs, params, outAvals);
  };
  try {
    run();
  } finally {
    (cpuBackend as { execute: typeof original }).execute = original;
  }
  return n;
}

test('hvp on a tanh MLP costs a number of primitive applications that does not grow with the parameter count P', (t) => {
  // count on the CPU oracle whatever PARTAX_BACKEND selects: tensors made below live on 'cpu'
  const previous = px.defaultBackend();
  px.setBackend('cpu');
  t.after(() => px.setBackend(previous));
  const d = 4;
  const nEx = 8;
  const x = seededTensor([nEx, d], 1);
  const y = seededTensor([nEx, 1], 2);
  const counts: { P: number; hvp: number; loss: number }[] = [];
  for (const width of [2, 8, 32, 128]) {
    const params = { w1: seededTensor([d, width], 3), b1: seededTensor([width], 4), w2: seededTensor([width, width], 5), b2: seededTensor([width], 6), w3: seededTensor([width, 1], 7) };
    const v = { w1: seededTensor([d, width], 8), b1: seededTensor([width], 9), w2: seededTensor([width, width], 10), b2: seededTensor([width], 11), w3: seededTensor([width, 1], 12) };
    const loss = (p: typeof params) => {
      const h1 = px.tanh(px.add(px.matmul(x, p.w1), p.b1));
      const h2 = px.tanh(px.add(px.matmul(h1, p.w2), p.b2));
      return px.mean(px.square(px.sub(px.matmul(h2, p.w3), y)));
    };
    const P = flatten(params).leaves.reduce((s, l) => s + l.size, 0);
    let hv: unknown;
    const hvpCount = countPrimitives(() => (hv = px.hvp(loss, params, v)));
    const lossCount = countPrimitives(() => loss(params));
    counts.push({ P, hvp: hvpCount, loss: lossCount });
    // the value is right too: compare with a central difference of the gradient along v
    const h = 1e-6;
    const shift = (s: number) => Object.fromEntries(Object.entries(params).map(([k, t]) => [k, px.add(t, px.mul(v[k as keyof typeof v], s))])) as typeof params;
    const gp = flatten(px.grad(loss)(shift(h))).leaves;
    const gm = flatten(px.grad(loss)(shift(-h))).leaves;
    flatten(hv).leaves.forEach((l, i) => assertClose(l, px.div(px.sub(gp[i]!, gm[i]!), 2 * h), { rtol: 1e-5, atol: 1e-7 }, `hvp vs difference of grad (width ${width}) leaf ${i}`));
  }
  const first = counts[0]!;
  assert.ok(first.loss > 0 && first.hvp > first.loss, `primitive applications were counted: ${JSON.stringify(counts)}`);
  for (const c of counts) {
    assert.equal(c.hvp, first.hvp, `hvp primitive count changed with P: ${JSON.stringify(counts)}`);
    assert.ok(c.hvp <= 12 * c.loss, `hvp costs ${c.hvp} primitive applications, more than 12 loss evaluations (${c.loss} each)`);
  }
  assert.ok(counts.at(-1)!.P > 100 * first.P, 'the parameter count really grew');
});

test('hasAux: the aux output comes back as concrete values, undifferentiated, and the gradient ignores it (also nested in an outer grad)', () => {
  fc.assert(
    fc.property(arbTensorOf([3], 'float64'), (x) => {
      const f = (a: Tensor): [Tensor, { sq: Tensor; n: number }] => [px.sum(px.tanh(a)), { sq: px.mul(a, a), n: 3 }];
      const [g, aux] = px.grad(f, { hasAux: true })(x) as unknown as [Tensor, { sq: Tensor; n: number }];
      assertClose(g, px.grad((a: Tensor) => px.sum(px.tanh(a)))(x), { rtol: 0, atol: 0 }, 'grad ignores aux');
      assertClose(aux.sq, px.mul(x, x), { rtol: 0, atol: 0 }, 'aux value');
      assert.equal(aux.n, 3);
      // inside an outer grad, aux is a tracer of the outer transform only: differentiable there
      const outer = px.grad((a: Tensor) => {
        const [, inner] = px.grad(f, { hasAux: true })(a) as unknown as [Tensor, { sq: Tensor }];
        return px.sum(inner.sq);
      })(x);
      assertClose(outer, px.mul(x, 2), { rtol: 1e-12, atol: 0 }, 'd/dx Σ aux = 2x');
    }),
    RUNS,
  );
});
