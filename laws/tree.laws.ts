import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { add, DTypeError, grad, mul, ShapeError, type Tensor, tensor, tree } from '../src/index.js';
import { arbTensorOf, assertClose, inner, RUNS, TOL } from './harness/index.js';

/**
 * Laws of the tree utilities over generated nested records and arrays of tensors: flatten and
 * unflatten are inverse, map is a functor and agrees with zip, tree arithmetic is a vector space
 * with the inner product vdot (bilinear, symmetric, equal to a loop over the leaves), norm² = vdot,
 * and all of it is differentiable.
 */

type FloatDType = 'float32' | 'float64';
const KEYS = ['a', 'b', 'weight', 'bias', 'layers', 'w_1'] as const;

/** A tree of tensors (rank ≤ 2, sizes ≤ 3), nested up to ~3 levels, with records and arrays. */
const arbTree = (dtype: FloatDType = 'float64', statics = false): fc.Arbitrary<tree.Tree> =>
  fc.letrec<{ tree: tree.Tree; node: tree.Tree; leaf: tree.Tree }>((tie) => ({
    tree: fc.oneof({ depthSize: 'small', maxDepth: 3 }, { arbitrary: tie('leaf'), weight: 1 }, { arbitrary: tie('node'), weight: 3 }),
    node: fc.oneof(fc.array(tie('tree'), { maxLength: 3 }), fc.dictionary(fc.constantFrom(...KEYS), tie('tree'), { maxKeys: 3, noNullPrototype: true })),
    leaf: statics
      ? fc.oneof({ weight: 4, arbitrary: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }).chain((s) => arbTensorOf(s, dtype)) }, { weight: 1, arbitrary: fc.constantFrom(null, 3, 'relu') })
      : fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }).chain((s) => arbTensorOf(s, dtype)),
  })).tree;

/** A tree with the structure and shapes of `t` and fresh values. */
const arbLike = (t: tree.Tree, dtype: FloatDType = 'float64') => {
  const { leaves, def } = tree.flatten(t);
  return fc.tuple(...leaves.map((x) => arbTensorOf(x.shape, dtype))).map((ls) => tree.unflatten(def, ls));
};
/** k trees of one structure. */
const arbSame = (k: number, dtype: FloatDType = 'float64') => arbTree(dtype).chain((t) => fc.tuple(fc.constant(t), ...Array.from({ length: k - 1 }, () => arbLike(t, dtype))));

/** Asserts two trees have one structure and leafwise close values (identical shapes and dtypes). */
function assertTreeClose(a: unknown, b: unknown, tol: { rtol?: number; atol?: number } = TOL.float64, label = 'tree') {
  assert.ok(tree.sameStructure(tree.structure(a), tree.structure(b)), `${label}: structures differ: ${tree.showStructure(tree.structure(a))} vs ${tree.showStructure(tree.structure(b))}`);
  tree.zip(a, b).forEach(([x, y], i) => {
    assert.equal(x!.dtype, y!.dtype, `${label}: leaf ${i} dtype`);
    assertClose(x!, y!, tol, `${label}: leaf ${i}`);
  });
}
const num = (x: Tensor) => x.item();

test('unflatten(flatten(t)) = t, leaves are in paths order, and paths name the leaves', () => {
  fc.assert(
    fc.property(arbTree('float64', true), (t) => {
      const { leaves, def } = tree.flatten(t);
      const back = tree.unflatten(def, leaves);
      assert.deepEqual(back, t);
      tree.leaves(back).forEach((x, i) => assert.equal(x, leaves[i], 'leaf identity'));
      assert.deepEqual(tree.leavesWithPaths(t).map(([, x]) => x), leaves);
      assert.equal(tree.paths(t).length, leaves.length);
      assert.equal(tree.numLeaves(def), leaves.length);
      assert.equal(new Set(tree.paths(t)).size, leaves.length, 'paths are unique');
    }),
    RUNS,
  );
  const w = tensor([1], 'float64');
  assert.deepEqual(tree.paths({ layers: [{ weight: w, bias: w }, { weight: w }], scale: w }), ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'scale']);
});

test('map is a functor: map(id) = t, map(f)∘map(g) = map(f∘g); statics stay in place', () => {
  const f = (x: Tensor) => mul(x, 3);
  const g = (x: Tensor) => add(x, 1);
  fc.assert(
    fc.property(arbTree('float64', true), (t) => {
      const id = tree.map((x) => x, t);
      assert.deepEqual(id, t);
      assertTreeClose(tree.map(f, tree.map(g, t)), tree.map((x) => f(g(x)), t), { rtol: 0, atol: 0 }, 'composition');
      assert.ok(tree.sameStructure(tree.structure(tree.map(f, t)), tree.structure(t)));
    }),
    RUNS,
  );
});

test('map over several trees agrees with zip, and with tree.add', () => {
  fc.assert(
    fc.property(arbSame(3), ([a, b, c]) => {
      const m = tree.map((x, y, z) => add(add(x, mul(y, 2)), mul(z, 3)), a, b, c);
      const z = tree.zip(a, b, c);
      assert.deepEqual(z.map((p) => p[0]), tree.leaves(a));
      assert.deepEqual(z.map((p) => p[2]), tree.leaves(c));
      assertTreeClose(m, tree.unflatten(tree.structure(a), z.map(([x, y, w]) => add(add(x!, mul(y!, 2)), mul(w!, 3)))), { rtol: 0, atol: 0 }, 'map vs zip');
      assertTreeClose(tree.map((x, y) => add(x, y), a, b), tree.add(a, b), { rtol: 0, atol: 0 }, 'map add');
      assert.deepEqual(tree.zip(a), tree.leaves(a).map((x) => [x]));
    }),
    RUNS,
  );
});

test("a record's own key '__proto__' (a record parsed from JSON) stays a key through flatten, unflatten and map", () => {
  const w = tensor([1, 2], 'float64');
  const t: Record<string, unknown> = {};
  Object.defineProperty(t, '__proto__', { value: w, enumerable: true, writable: true, configurable: true });
  t['a'] = w;
  assert.deepEqual(Object.keys(t), ['__proto__', 'a']);
  for (const back of [tree.unflatten(tree.structure(t), tree.leaves(t)), tree.map((x) => mul(x, 2), t)] as Record<string, unknown>[]) {
    assert.equal(Object.getPrototypeOf(back), Object.prototype, 'the prototype is untouched');
    assert.deepEqual(Object.keys(back), ['__proto__', 'a'], 'the own key is kept');
  }
  const doubled = tree.map((x) => mul(x, 2), t);
  for (const k of ['__proto__', 'a']) assert.deepEqual((Object.getOwnPropertyDescriptor(doubled, k)!.value as Tensor).dataSync(), Float64Array.from([2, 4]), k);
});

test('structure and shape mismatches are errors that name both sides', () => {
  const x = tensor([1, 2], 'float64');
  const y = tensor([[1, 2]], 'float64');
  assert.throws(
    () => tree.map((p, q) => add(p, q), { a: x, b: [x] }, { a: x, b: [x, x] } as never),
    (e: Error) => e instanceof ShapeError && /tree\.map/.test(e.message) && e.message.includes("at 'b': an array of 1 vs an array of 2") && e.message.includes('{a: *, b: [*]}') && e.message.includes('{a: *, b: [*, *]}'),
  );
  assert.throws(() => tree.zip({ a: x }, { b: x }), (e: Error) => e instanceof ShapeError && e.message.includes('{a: *}') && e.message.includes('{b: *}'));
  assert.throws(() => tree.add({ w: [x] }, { w: [y] }), (e: Error) => e instanceof ShapeError && e.message.includes("tree.add: at 'w.0' the shapes differ: [2] vs [1,2]"));
  assert.throws(() => tree.vdot({ w: x }, { w: tensor([1, 2], 'float32') } as never), (e: Error) => e instanceof DTypeError && e.message.includes("tree.vdot: at 'w' the dtypes differ: float64 vs float32"));
  assert.throws(() => tree.vdot({ a: x, b: tensor([1], 'float32') }, { a: x, b: tensor([1], 'float32') }), (e: Error) => e instanceof DTypeError && /tree\.vdot: the leaf at 'b' is float32 but the leaf at 'a' is float64/.test(e.message));
  assert.throws(() => tree.scale({ n: tensor([1], 'int32') }, 0.5), /tree\.scale: the leaf at 'n' is int32 but c = 0.5 is not an integer/);
  assert.throws(() => tree.scale({ n: x }, y), /tree\.scale: c must be a number or a scalar tensor/);
  assert.throws(
    () => tree.sub({ n: x }, { m: x } as never),
    /tree\.sub: the structure of the second tree differs from that of the first tree at the root: a record \{n\} vs a record \{m\} \(the first tree: \{n: \*\}; the second tree: \{m: \*\}\)/,
  );
});

test('vdot is bilinear, symmetric and equal to a loop over the leaves; norm² = vdot(t, t)', () => {
  fc.assert(
    fc.property(arbSame(3), fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }), ([a, b, c], alpha, beta) => {
      const loop = tree.zip(a, b).reduce((s, [x, y]) => s + inner(x!, y!), 0);
      const scaleOf = (t: tree.Tree) => tree.leaves(t).reduce((s, x) => s + inner(x, x), 0);
      const tol = { rtol: 1e-12, atol: 1e-12 * (1 + Math.sqrt(scaleOf(a) * scaleOf(b))) };
      assertClose(num(tree.vdot(a, b)), loop, tol, 'vdot vs loop');
      assertClose(num(tree.vdot(a, b)), num(tree.vdot(b, a)), tol, 'symmetry');
      const lhs = num(tree.vdot(tree.add(tree.scale(a, alpha), tree.scale(b, beta)), c));
      const rhs = alpha * num(tree.vdot(a, c)) + beta * num(tree.vdot(b, c));
      const tolLin = { rtol: 1e-12, atol: 1e-12 * (1 + (Math.abs(alpha) * Math.sqrt(scaleOf(a)) + Math.abs(beta) * Math.sqrt(scaleOf(b))) * Math.sqrt(scaleOf(c))) };
      assertClose(lhs, rhs, tolLin, 'linearity');
      assertClose(num(tree.norm(a)) ** 2, num(tree.vdot(a, a)), tol, 'norm²');
      assertClose(num(tree.norm(tree.scale(a, alpha))), Math.abs(alpha) * num(tree.norm(a)), tol, 'homogeneity');
    }),
    RUNS,
  );
  const empty = tree.vdot({}, {});
  assert.deepEqual([empty.dtype, empty.shape, empty.item()], ['float32', [], 0]);
});

test('add, sub, scale, zerosLike, onesLike and cast are the leafwise operations', () => {
  fc.assert(
    fc.property(arbSame(2), fc.double({ min: -3, max: 3, noNaN: true }), ([a, b], c) => {
      assertTreeClose(tree.sub(tree.add(a, b), b), a, TOL.float64, 'sub ∘ add');
      assertTreeClose(tree.add(a, tree.zerosLike(a)), a, { rtol: 0, atol: 0 }, 'zero');
      tree.zip(tree.scale(a, c), a).forEach(([s, x]) => assertClose(s!, tensor(Array.from(x!.dataSync(), (v) => v * c), 'float64', x!.shape), { rtol: 0, atol: 0 }, 'scale'));
      tree.leaves(tree.onesLike(a)).forEach((x) => assert.ok(Array.from(x.dataSync()).every((v) => v === 1)));
      const f32 = tree.cast(a, 'float32');
      tree.leaves(f32).forEach((x) => assert.equal(x.dtype, 'float32'));
      // float32 → float64 → float32 is exact
      assertTreeClose(tree.cast(tree.cast(f32, 'float64'), 'float32'), f32, { rtol: 0, atol: 0 }, 'cast round trip');
    }),
    RUNS,
  );
});

test('grad through tree.vdot and tree.norm: ∇ₚ⟨p, c⟩ = c, ∇ₚ⟨p, p⟩ = 2p, ∇ₚ‖p‖ = p/‖p‖, d/ds ⟨a, s·b⟩ = ⟨a, b⟩', () => {
  fc.assert(
    fc.property(arbSame(2), ([p, c]) => {
      assertTreeClose(grad((q: tree.Tree) => tree.vdot(q, c))(p), c, { rtol: 0, atol: 0 }, '∇⟨p, c⟩');
      assertTreeClose(grad((q: tree.Tree) => tree.vdot(q, q))(p), tree.scale(p, 2), TOL.float64, '∇⟨p, p⟩');
      const n = num(tree.norm(p));
      fc.pre(n > 1e-3);
      assertTreeClose(grad((q: tree.Tree) => tree.norm(q))(p), tree.scale(p, 1 / n), { rtol: 1e-12, atol: 1e-12 }, '∇‖p‖');
      const s = tensor(0.7, 'float64');
      assertClose(grad((t: Tensor) => tree.vdot(p, tree.scale(c, t)))(s), tree.vdot(p, c), { rtol: 1e-12, atol: 1e-12 }, 'd/ds');
    }),
    RUNS,
  );
});

test('typed records keep their type through map, add, sub and scale; cast retypes the leaves', () => {
  type Params = { layers: { weight: Tensor<'float32'>; bias: Tensor<'float32'> }[]; scale: Tensor<'float32'> };
  const w = tensor([[1, 2]], 'float32');
  const b = tensor([0.5], 'float32');
  const params: Params = { layers: [{ weight: w, bias: b }], scale: tensor(2, 'float32') };
  const mapped: Params = tree.map((x) => mul(x, 2), params);
  const stepped: Params = tree.sub(params, tree.scale(mapped, 0.1));
  const wide: { layers: { weight: Tensor<'float64'>; bias: Tensor<'float64'> }[]; scale: Tensor<'float64'> } = tree.cast(params, 'float64');
  // @ts-expect-error: the second tree must have the type of the first
  assert.throws(() => tree.add(params, { scale: b }), ShapeError);
  assert.deepEqual(Array.from(stepped.layers[0]!.weight.dataSync()), [0.800000011920929, 1.600000023841858]);
  assert.equal(wide.layers[0]!.bias.dtype, 'float64');
});
