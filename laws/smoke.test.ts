import { test } from 'node:test';
import fc from 'fast-check';
import { grad, jvp, sum, tanh, exp, mul, type Tensor } from '../src/index.js';
import { arbTensor, assertClose, finiteDifference, RUNS } from './harness/index.js';

test('grad of Σ tanh(x)·exp(x) agrees with central differences (float64)', () => {
  const f = (x: Tensor) => sum(mul(tanh(x), exp(x)));
  fc.assert(
    fc.property(arbTensor({ rank: [0, 3], size: [1, 4] }), (x) => {
      assertClose(grad(f)(x), finiteDifference(f, x), { rtol: 1e-6, atol: 1e-7 }, 'grad vs fd');
      const [, dy] = jvp(f, [x], [x]);
      assertClose(dy, sum(mul(grad(f)(x), x)), { rtol: 1e-10, atol: 1e-12 }, 'jvp vs grad');
    }),
    RUNS,
  );
});
