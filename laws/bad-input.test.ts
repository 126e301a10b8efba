import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as px from '../src/index.js';
import { ConcretizationError, DTypeError, ShapeError, type Tensor } from '../src/index.js';

/**
 * Bad input fails loudly at the edge, with an error of the right class whose message names the
 * function and both sides of the mismatch (shapes, dtypes, axes). Malformed tree JSON is covered
 * with the tree codecs, not here.
 */

/** Asserts `run` throws an instance of `cls` whose message contains every fragment, in order. */
function throwsWith(run: () => unknown, cls: new (...a: any[]) => Error, fragments: readonly (string | RegExp)[], label: string): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof cls, `${label}: expected ${cls.name}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    let rest = (e as Error).message;
    for (const f of fragments) {
      const m = typeof f === 'string' ? rest.indexOf(f) : rest.search(f);
      assert.ok(m >= 0, `${label}: message ${JSON.stringify((e as Error).message)} lacks ${String(f)}`);
      rest = rest.slice(m);
    }
    return true;
  });
}

const f32 = (shape: number[]) => px.zeros(shape, 'float32');
const f64 = (shape: number[]) => px.ones(shape, 'float64');

test('shape mismatch in a broadcasting op names the op and both shapes', () => {
  throwsWith(() => px.add(f32([2, 3]), f32([4])), ShapeError, ['add', '[2,3]', '[4]'], 'add [2,3] + [4]');
  throwsWith(() => px.mul(f32([4]), f32([2, 3])), ShapeError, ['mul', '[4]', '[2,3]'], 'mul [4] · [2,3]');
  throwsWith(() => px.where(px.tensor([true, false], 'bool'), f32([3]), f32([3])), ShapeError, ['where', '[2]', '[3]'], 'where');
  throwsWith(() => px.broadcastTo(f32([2, 3]), [3]), ShapeError, ['broadcastTo', '[2,3]', '[3]'], 'broadcastTo [2,3] → [3]');
  // inside a transform the message is the same
  throwsWith(() => px.grad((x: Tensor) => px.sum(px.add(x, f64([4]))))(f64([2, 3])), ShapeError, ['add', '[2,3]', '[4]'], 'add inside grad');
  throwsWith(() => px.vmap((x: Tensor) => px.add(x, f64([4])))(f64([5, 3])), ShapeError, ['add', '[3]', '[4]'], 'add inside vmap (per-example shapes)');
});

test('dtype mismatch names both dtypes (no silent promotion)', () => {
  throwsWith(() => px.add(f32([2]), f64([2])), DTypeError, ['add', 'float32', 'float64'], 'add f32 + f64');
  throwsWith(() => px.matmul(f32([2, 2]), f64([2, 2])), DTypeError, ['matmul', 'float32', 'float64'], 'matmul f32 · f64');
  throwsWith(() => px.concat([f32([2]), f64([2])]), DTypeError, ['concat', 'float32', 'float64'], 'concat f32, f64');
  throwsWith(() => px.where(px.tensor([true], 'bool'), f32([1]), f64([1])), DTypeError, ['where', 'float32', 'float64'], 'where f32 / f64');
  throwsWith(() => px.where(f32([1]) as never, f32([1]), f32([1])), DTypeError, ['where', 'bool', 'float32'], 'where with a float condition');
  throwsWith(() => px.exp(px.tensor([1], 'int32')), DTypeError, ['exp', 'int32'], 'exp of int32');
  throwsWith(() => px.take(f32([3]), px.tensor([0.5], 'float32') as never), DTypeError, ['take', 'int32', 'float32'], 'take with float indices');
});

test('matmul inner dimension mismatch: "matmul: x is [32,784], w is [748,200]: inner dimensions 784 and 748 differ"', () => {
  assert.throws(() => px.matmul(f32([32, 784]), f32([748, 200])), {
    name: 'ShapeError',
    message: 'matmul: x is [32,784], w is [748,200]: inner dimensions 784 and 748 differ',
  });
  assert.throws(() => px.matmul(f32([5, 2, 3]), f32([4])), { message: 'matmul: x is [5,2,3], w is [4]: inner dimensions 3 and 4 differ' });
  assert.throws(() => px.matmul(f32([3]), f32([2, 4, 5])), { message: 'matmul: x is [3], w is [2,4,5]: inner dimensions 3 and 4 differ' });
  throwsWith(() => px.matmul(f32([2, 3, 4]), f32([5, 4, 2])), ShapeError, ['matmul', '[2]', '[5]'], 'matmul batch dims that do not broadcast');
  throwsWith(() => px.dot(f32([3]), f32([4])), ShapeError, ['dot', '[3]', '[4]'], 'dot of vectors of different lengths');
  throwsWith(() => px.outer(f32([3, 1]), f32([4])), ShapeError, ['outer', '[3,1]', '[4]'], 'outer of a matrix');
});

test('grad of a function with a non-scalar output says so and names the shape', () => {
  throwsWith(() => px.grad((x: Tensor) => px.mul(x, 2))(f64([3])), ShapeError, ['grad', 'scalar', '[3]'], 'grad of x ↦ 2x');
  throwsWith(() => px.grad((x: Tensor) => [px.sum(x), px.sum(x)])(f64([3])), ShapeError, ['grad', 'scalar'], 'grad of a pair');
  throwsWith(() => px.grad((x: Tensor) => px.astype(px.sum(x), 'int32'))(f64([3])), DTypeError, ['grad', 'float', 'int32'], 'grad of an int output');
});

test('differentiating with respect to an int tensor is a DTypeError naming the dtype and shape', () => {
  const xi = px.tensor([1, 2, 3], 'int32');
  throwsWith(() => px.grad((x: Tensor) => px.sum(px.astype(x, 'float64')))(xi), DTypeError, ['grad', 'int32', '[3]'], 'grad w.r.t. int32');
  throwsWith(() => px.jacfwd((x: Tensor) => px.astype(x, 'float64'))(xi), DTypeError, ['jacfwd', 'int32'], 'jacfwd w.r.t. int32');
  throwsWith(() => px.jacrev((x: Tensor) => px.astype(x, 'float64'))(xi), DTypeError, ['jacrev', 'int32'], 'jacrev w.r.t. int32');
  throwsWith(
    () => px.grad((p: { w: Tensor; n: Tensor }) => px.sum(p.w), { argnums: 0 })({ w: f64([2]), n: xi }),
    DTypeError,
    ['grad', 'int32'],
    'grad w.r.t. a record with an int leaf',
  );
});

test('a NaN loss in grad/valueAndGrad raises unless allowNaN', () => {
  const nanLoss = (x: Tensor) => px.sum(px.log(px.sub(x, 10))); // log of a negative number
  const x = f64([2]);
  throwsWith(() => px.grad(nanLoss)(x), ConcretizationError, ['grad', 'NaN', 'allowNaN'], 'grad of a NaN loss');
  throwsWith(() => px.valueAndGrad(nanLoss)(x), ConcretizationError, ['grad', 'NaN', 'allowNaN'], 'valueAndGrad of a NaN loss');
  const [v, g] = px.valueAndGrad(nanLoss, { allowNaN: true })(x);
  assert.ok(Number.isNaN((v as Tensor).item()), 'allowNaN: the value is NaN');
  assert.deepEqual((g as Tensor).shape, [2], 'allowNaN: the gradient has the argument shape');
});

test('an unknown axis names the op, the axis and the rank', () => {
  const x = f32([2, 3]);
  throwsWith(() => px.sum(x, 5), ShapeError, ['sum', 'axis 5', 'rank 2'], 'sum(x, 5)');
  throwsWith(() => px.mean(x, [0, -3]), ShapeError, ['mean', 'axis -3', 'rank 2'], 'mean(x, [0, -3])');
  throwsWith(() => px.max(x, 2), ShapeError, ['max', 'axis 2', 'rank 2'], 'max(x, 2)');
  throwsWith(() => px.logsumexp(x, 7), ShapeError, ['logsumexp', 'axis 7'], 'logsumexp(x, 7)');
  throwsWith(() => px.softmax(x, 2), ShapeError, ['axis 2', 'rank 2'], 'softmax(x, 2)');
  throwsWith(() => px.argmax(x, -3), ShapeError, ['argmax', 'axis -3', 'rank 2'], 'argmax(x, -3)');
  throwsWith(() => px.sum(x, [1, 1]), ShapeError, ['sum', 'repeated axis'], 'sum(x, [1, 1])');
  throwsWith(() => px.expandDims(x, 4), ShapeError, ['expandDims', 'axis 4'], 'expandDims(x, 4)');
  throwsWith(() => px.squeeze(x, 0), ShapeError, ['squeeze', '[2,3]', 'size 2'], 'squeeze a non-unit axis');
  throwsWith(() => px.transpose(x, [0, 0]), ShapeError, ['transpose', '[0,0]', '[2,3]'], 'transpose by a non-permutation');
  throwsWith(() => px.take(x, [0], 2), ShapeError, ['take', 'axis 2'], 'take along axis 2 of a matrix');
});

test('other structural mismatches name both sides', () => {
  const x = f32([2, 3]);
  throwsWith(() => px.reshape(x, [4, 2]), ShapeError, ['reshape', '[2,3]', '[4,2]'], 'reshape 6 → 8 elements');
  throwsWith(() => px.reshape(x, [-1, 4]), ShapeError, ['reshape', '[2,3]', '[-1,4]'], 'reshape with an impossible −1');
  throwsWith(() => px.concat([x, f32([3, 3])], 1), ShapeError, ['concat', '[2,3]', '[3,3]'], 'concat off-axis mismatch');
  throwsWith(() => px.stack([x, f32([3, 2])]), ShapeError, ['stack', '[2,3]', '[3,2]'], 'stack of different shapes');
  throwsWith(() => px.slice(x, [0, 2], [2, 5]), ShapeError, ['slice', '[2,3]'], 'slice beyond the end');
  throwsWith(() => px.pad(x, [[1, 1]]), ShapeError, ['pad', 'rank 2'], 'pad with too few widths');
  throwsWith(() => px.takeAlongAxis(x, px.tensor([[0]], 'int32'), 1), ShapeError, ['takeAlongAxis', '[1,1]', '[2,3]'], 'takeAlongAxis indices off-axis mismatch');
  throwsWith(() => px.tensor([[1, 2], [3]], 'float32'), ShapeError, ['tensor', 'ragged'], 'ragged nested array');
});

test('transform arguments that do not match: tangents, cotangents, vmap batch sizes and axes', () => {
  const x = f64([3]);
  throwsWith(() => px.jvp((a: Tensor) => a, [x], [f64([4])]), ShapeError, ['jvp', '[4]', '[3]'], 'jvp tangent shape');
  throwsWith(() => px.jvp((a: Tensor) => a, [x], [f32([3])]), DTypeError, ['jvp', 'float32', 'float64'], 'jvp tangent dtype');
  throwsWith(() => px.jvp((a: Tensor, b: Tensor) => px.add(a, b), [x, x], [x] as never), ShapeError, ['jvp', 'structure'], 'jvp tangent tree structure');
  const [, back] = px.vjp((a: Tensor) => px.sin(a), x);
  throwsWith(() => back(f64([2])), ShapeError, ['vjp', '[2]', '[3]'], 'vjp cotangent shape');
  throwsWith(() => px.vmap((a: Tensor, b: Tensor) => px.add(a, b))(f64([3, 2]), f64([4, 2])), ShapeError, ['vmap', '3', '[3,2]', '4', '[4,2]'], 'vmap batch sizes differ');
  throwsWith(() => px.vmap((a: Tensor) => a, { inAxes: 2 })(f64([3, 2])), ShapeError, ['vmap', 'inAxes 2', '[3,2]'], 'vmap inAxes out of range');
  throwsWith(() => px.vmap((a: Tensor) => a, { inAxes: [0, 0] })(x), ShapeError, ['vmap', 'inAxes', '2', '1'], 'vmap inAxes of the wrong length');
  throwsWith(() => px.vmap((a: Tensor) => a, { inAxes: null })(x), ShapeError, ['vmap', 'no argument is batched'], 'vmap with nothing batched');
  throwsWith(() => px.grad((a: Tensor) => px.sum(a), { argnums: 2 })(x), ShapeError, ['grad', 'argnums 2'], 'grad argnums out of range');
  // the types reject this call too (hasAux wants [loss, aux]); an untyped caller gets the error
  // @ts-expect-error
  throwsWith(() => px.grad((a: Tensor) => px.sum(a), { hasAux: true })(x), TypeError, ['grad', 'hasAux', '[loss, aux]'], 'hasAux without a pair');
});
