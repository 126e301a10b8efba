import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as px from '../src/index.js';
import { ShapeError, type Tensor } from '../src/index.js';
import { arbSeed, arbShape, arbTensorOf, assertClose, inner, seededTensor, RUNS, runs } from './harness/index.js';
import { arbProg, inputsOf, programFn } from './harness/programs.js';


/**
 * Laws of the public pieces the summaries are built from: symbolic-zero tangents in `jvp` and
 * `linearize` (null or undefined for any argument or subtree), `linearTranspose` (the transpose
 * of a linear function, traced without evaluating it) and `shareEvaluations` (memoised concrete
 * evaluations, exactly value-preserving).
 */

const AD = { rtol: 1e-10, atol: 1e-12 } as const;
const arbX = (s: readonly number[]) => arbTensorOf(s, 'float64', [-2, 2]) as fc.Arbitrary<Tensor>;
const smallShape = arbShape({ rank: [0, 2], size: [1, 4] });

/** Tensor → tensor functions of any input shape. */
const MENU: readonly [string, (x: Tensor) => Tensor][] = [
  ['tanh(x)·exp(sin x)', (x) => px.mul(px.tanh(x), px.exp(px.sin(x)))],
  ['x · Σx²', (x) => px.mul(x, px.sum(px.square(x)))],
  ['softmax(flat x)', (x) => px.softmax(px.reshape(x, [x.size]))],
  ['logsumexp(x) − x', (x) => px.sub(px.logsumexp(x), x)],
];
const arbMenuFn = fc.constantFrom(...MENU);

/** A function of a record {a, b} and a second tensor c that mixes all three nonlinearly. */
const mixed = (f: (x: Tensor) => Tensor, g: (x: Tensor) => Tensor) => (p: { a: Tensor; b: Tensor }, c: Tensor) =>
  [px.mul(f(p.a), px.sum(px.sin(g(p.b)))), px.add(px.sum(px.tanh(c)), px.sum(px.mul(p.a, p.a)))] as [Tensor, Tensor];

const arbMixed = fc
  .tuple(smallShape, smallShape, smallShape)
  .chain(([sa, sb, sc]) => fc.tuple(arbMenuFn, arbMenuFn, arbX(sa), arbX(sb), arbX(sc), arbSeed));

test('jvp and linearize take null or undefined for any tangent argument or subtree: the same values as explicit zeros (float64)', () => {
  fc.assert(
    fc.property(arbMixed, ([[nf, f], [ng, g], a, b, c, seed]) => {
      const h = mixed(f, g);
      const ta = seededTensor(a.shape, seed);
      const tc = seededTensor(c.shape, seed + 1);
      const p = { a, b };
      const zb = px.zerosLike(b);
      const label = `${nf} / ${ng}`;
      const [, fLin] = px.linearize(h, p, c);
      const cases: [string, Parameters<typeof fLin>, [{ a: Tensor; b: Tensor }, Tensor]][] = [
        ['b null', [{ a: ta, b: null }, tc], [{ a: ta, b: zb }, tc]],
        ['b undefined, c null', [{ a: ta, b: undefined }, null], [{ a: ta, b: zb }, px.zerosLike(c)]],
        ['the record null', [null, tc], [{ a: px.zerosLike(a), b: zb }, tc]],
      ];
      for (const [what, sparse, dense] of cases) {
        const want = px.jvp(h, [p, c], dense)[1];
        const fromJvp = px.jvp(h, [p, c], sparse)[1];
        const fromLin = fLin(...sparse);
        want.forEach((w, i) => {
          assertClose(fromJvp[i]!, w, AD, `${label}: jvp, ${what}, output ${i}`);
          assertClose(fromLin[i]!, w, AD, `${label}: linearize, ${what}, output ${i}`);
        });
      }
      // every tangent absent: zeros, and no primitive runs for them
      let evaluated = 0;
      const zeros = px.shareEvaluations(() => fLin(null, undefined), { onEvaluate: () => evaluated++ })();
      zeros.forEach((z, i) => assertClose(z, px.zerosLike(h(p, c)[i]!), { atol: 0 }, `${label}: all-null tangents give zeros`));
      assert.equal(evaluated, 0, `${label}: all-null tangents evaluate no primitive`);
    }),
    RUNS,
  );
});

test('linearize\'s map adds nothing to a zero tangent: the tangent of F(a) + G(b) along (t, null) is F\'s own linearised tangent, bit for bit (−0 kept), with no add evaluated beyond F\'s', () => {
  fc.assert(
    fc.property(arbProg(), arbSeed, (prog, seed) => {
      fc.pre(prog.shapes.length === 1);
      const F = (x: Tensor) => programFn(prog, true)(x)[0]!;
      const [a] = inputsOf(prog, seed);
      const b = seededTensor(a!.shape, seed + 3);
      const h = (x: Tensor, y: Tensor) => {
        const f = F(x);
        return px.add(f, px.mul(px.sum(px.tanh(y)), px.add(px.zerosLike(f), 1)));
      };
      // a tangent with a −0 entry: x + 0 would make it +0
      const t = px.mul(seededTensor(a!.shape, seed + 5), -0);
      const [, fLin] = px.linearize(h, a!, b);
      let adds = 0;
      const fromLin = px.shareEvaluations(() => fLin(t, null), { onEvaluate: (prim) => void (prim === 'add' && adds++) })();
      const bits = (x: Tensor) => Array.from(x.dataSync(), (v) => (Object.is(v, -0) ? '-0' : String(v)));
      const [, fLinF] = px.linearize(F, a!);
      let addsF = 0;
      const alone = px.shareEvaluations(() => fLinF(t), { onEvaluate: (prim) => void (prim === 'add' && addsF++) })();
      assert.deepEqual(bits(fromLin), bits(alone), 'the tangent of F alone');
      assert.equal(adds, addsF, 'no add with the zero tangent (only those of F\'s own tangent)');
    }),
    RUNS,
  );
});

test('a tangent tree that matches neither the primal nor a primal with null subtrees is rejected, naming both structures', () => {
  const p = { a: px.tensor([1, 2], 'float64'), b: px.tensor([3], 'float64') };
  const f = (q: typeof p) => px.sum(px.mul(q.a, px.sum(q.b)));
  const [, fLin] = px.linearize(f, p);
  assert.throws(() => fLin({ a: px.tensor([1, 1], 'float64') } as never), (e: Error) => e instanceof ShapeError && /linearize: the structure of tangents differs from that of the primals at '0': a record \{a, b\} vs a record \{a\} \(the primals: \[\{a: \*, b: \*\}\]; tangents: \[\{a: \*\}\]\)/.test(e.message));
  assert.throws(() => px.jvp(f, [p], [{ a: null, b: px.tensor([1, 1], 'float64') }]), (e: Error) => e instanceof ShapeError && /jvp: tangents leaf 1 has shape \[2\] but the primal has \[1\]/.test(e.message));
});

test('linearTranspose(t ↦ J·t) is Jᵀ: it equals vjp and satisfies ⟨J·t, c⟩ = ⟨t, Jᵀ·c⟩, and never evaluates f at the primals (float64)', () => {
  fc.assert(
    fc.property(arbMixed, ([[nf, f], [ng, g], a, b, c, seed]) => {
      const h = mixed(f, g);
      const p = { a, b };
      const lin = (t: { a: Tensor; b: Tensor }, tc: Tensor) => px.jvp(h, [p, c], [t, tc])[1];
      const t = { a: seededTensor(a.shape, seed), b: seededTensor(b.shape, seed + 1) };
      const tc = seededTensor(c.shape, seed + 2);
      const [o0, o1] = h(p, c);
      const ct: [Tensor, Tensor] = [seededTensor(o0.shape, seed + 3), seededTensor(o1.shape, seed + 4)];
      // the primals give only shapes: NaN primals transpose the same map
      const nan = (x: Tensor) => px.full(x.shape, NaN, 'float64');
      const [tp, tcBar] = px.linearTranspose(lin, { a: nan(a), b: nan(b) }, nan(c))(ct);
      const [vp, vc] = px.vjp(h, p, c)[1](ct);
      const label = `${nf} / ${ng}`;
      assertClose(tp.a, vp.a, AD, `${label}: Jᵀc vs vjp (a)`);
      assertClose(tp.b, vp.b, AD, `${label}: Jᵀc vs vjp (b)`);
      assertClose(tcBar, vc, AD, `${label}: Jᵀc vs vjp (c)`);
      const [j0, j1] = lin(t, tc);
      const lhs = inner(j0, ct[0]) + inner(j1, ct[1]);
      const rhs = inner(t.a, tp.a) + inner(t.b, tp.b) + inner(tc, tcBar);
      assertClose(lhs, rhs, { rtol: 1e-9, atol: 1e-10 * (1 + Math.abs(lhs)) }, `${label}: adjoint identity`);
    }),
    RUNS,
  );
});

test('linearTranspose rejects a function that is not linear in its arguments, naming the primitive', () => {
  const x = px.tensor([0.5, -1], 'float64');
  assert.throws(() => px.linearTranspose((t: Tensor) => px.tanh(t), x), /linearTranspose: primitive 'tanh' is applied to a tangent/);
  assert.throws(() => px.linearTranspose((t: Tensor) => px.mul(t, 2), x)(px.tensor([1, 2, 3], 'float64')), /linearTranspose: cotangent leaf 0 has shape \[3\] but the primal has \[2\]/);
});

/** Functions built from ops on their input alone (no constant made inside), so that two calls on the same input apply the same primitives to the same tensors. */
const PURE: readonly [string, (x: Tensor) => Tensor][] = [
  ['tanh(x)·exp(sin x)', (x) => px.mul(px.tanh(x), px.exp(px.sin(x)))],
  ['x · Σx²', (x) => px.mul(x, px.sum(px.mul(x, x)))],
  ['cos(x)·x + x', (x) => px.add(px.mul(px.cos(x), x), x)],
];

test('shareEvaluations is exactly value-preserving, computes a repeated subcomputation on the same tensors once, and keeps nothing past its byte budget', () => {
  fc.assert(
    fc.property(smallShape.chain((s) => fc.tuple(arbMenuFn, fc.constantFrom(...PURE), arbX(s))), ([[name, f], [pureName, g], x]) => {
      const bits = (t: Tensor) => Array.from(t.dataSync());
      // value-preserving, through a gradient (whose rules make their own constants)
      const df = (y: Tensor) => px.grad((z: Tensor) => px.sum(px.sin(f(z))))(y) as Tensor;
      assert.deepEqual(bits(px.shareEvaluations(df)(x)), bits(df(x)), `${name}: shared = unshared, bit for bit`);
      let once = 0;
      px.shareEvaluations(g, { onEvaluate: () => once++ })(x);
      assert.ok(once > 0, `${pureName}: g runs some primitive`);
      let twice = 0;
      const [first, second] = px.shareEvaluations((y: Tensor): [Tensor, Tensor] => [g(y), g(y)], { onEvaluate: () => twice++ })(x);
      assert.equal(twice, once, `${pureName}: the second g(x) is served from the first`);
      assert.equal(second, first, `${pureName}: the same tensor object`);
      // nested: the inner call joins the outer one, and its observer sees what runs inside it
      let outer = 0;
      let inside = 0;
      px.shareEvaluations(() => [g(x), px.shareEvaluations(g, { onEvaluate: () => inside++ })(x)], { onEvaluate: () => outer++ })();
      assert.equal(outer, once, `${pureName}: the nested call shares the outer cache`);
      assert.equal(inside, 0, `${pureName}: nothing new runs inside the nested call`);
      // with no budget every evaluation runs: twice what one g(x) runs unshared, which can exceed
      // `once` — at x ∈ {0, 1}, x·x = x and g's own x·Σx² repeats its first product
      let single = 0;
      px.shareEvaluations(g, { maxBytes: 0, onEvaluate: () => single++ })(x);
      assert.ok(single >= once, `${pureName}: sharing never adds an evaluation`);
      let unkept = 0;
      const [u1, u2] = px.shareEvaluations((y: Tensor): [Tensor, Tensor] => [g(y), g(y)], { maxBytes: 0, onEvaluate: () => unkept++ })(x);
      assert.equal(unkept, 2 * single, `${pureName}: with no budget every evaluation runs`);
      assert.deepEqual(bits(u2), bits(u1), `${pureName}: and gives the same values`);
      assert.deepEqual(bits(u1), bits(g(x)), `${pureName}: which are g's`);
    }),
    runs(30),
  );
});

test('shareEvaluations rejects a byte budget that is negative or not a number, naming it', () => {
  const f = (x: Tensor) => px.tanh(x);
  assert.throws(() => px.shareEvaluations(f, { maxBytes: -1 }), /shareEvaluations: maxBytes must be a non-negative number of bytes, got -1/);
  assert.throws(() => px.shareEvaluations(f, { maxBytes: NaN }), /shareEvaluations: maxBytes .* got NaN/);
});
