/**
 * NewtonSummary on the Rosenbrock function f(x, y) = (1 − x)² + 100·(y − x²)², from (−1.2, 1).
 *
 * Each coordinate is its own group (the canonical partition of {x, y}), so the summary is the
 * exact 2×2 Hessian scaled by the direction, and the learning rates come from the anisotropic
 * Nesterov cubic regularisation: no learning rate is tuned by hand. Beside it, plain gradient
 * descent with the best fixed step we found, for the same number of steps.
 *
 *     node --import tsx examples/newton-summary-rosenbrock.ts [steps]
 */
import { add, grad, mul, optim, partition, sub, tensor, valueAndGrad, type Tensor } from '../src/index.js';

type P = { x: Tensor<'float64'>; y: Tensor<'float64'> };
const rosenbrock = (p: P): Tensor => {
  const a = sub(1, p.x);
  const b = sub(p.y, mul(p.x, p.x));
  return add(mul(a, a), mul(mul(b, b), 100));
};

const steps = Number(process.argv[2] ?? 200);
const start: P = { x: tensor(-1.2, 'float64', []), y: tensor(1, 'float64', []) };

// the paper's optimizer, built from parts: plain gradient direction, canonical partition,
// cubic regularisation λ_int = 1, no damping of the chosen rates
const opt = optim.newtonSummary({
  partition: partition.canonical,
  direction: optim.identity(),
  damping: 1,
  dampingInt: 1,
});
let params = start;
let state = opt.init(params);
for (let t = 0; t < steps; t++) {
  const g = grad(rosenbrock)(params);
  const [updates, next] = opt.update(g, state, params, { loss: rosenbrock, hgBatch: [] });
  params = optim.applyUpdates(params, updates);
  state = next;
  if (t % Math.max(1, Math.floor(steps / 10)) === 0 || t === steps - 1)
    console.log(
      `step ${String(t).padStart(4)}  f = ${rosenbrock(params).item().toExponential(3)}  (x, y) = (${params.x.item().toFixed(6)}, ${params.y.item().toFixed(6)})  η = [${state.newton.lrs.map((v) => v.toExponential(2)).join(', ')}]  ${state.newton.last?.branch ?? ''}`,
    );
}

// gradient descent with a fixed step, for comparison
const sgd = optim.sgd(1e-3);
let p2 = start;
let s2 = sgd.init(p2);
for (let t = 0; t < steps; t++) {
  const [, g] = valueAndGrad(rosenbrock)(p2);
  const [u, n] = sgd.update(g, s2, p2);
  p2 = optim.applyUpdates(p2, u);
  s2 = n;
}
const fNs = rosenbrock(params).item();
const fGd = rosenbrock(p2).item();
console.log(`after ${steps} steps: NewtonSummary f = ${fNs.toExponential(3)}, gradient descent (lr 1e-3) f = ${fGd.toExponential(3)}`);
console.log(`distance to the minimum (1, 1): ${Math.hypot(params.x.item() - 1, params.y.item() - 1).toExponential(3)}`);
