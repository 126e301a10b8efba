/**
 * Building optimizers from parts. Three constructions on a small regression MLP:
 *  1. a hand-written transformation (sign of the gradient, "signSGD") chained with clipping
 *     and a cosine schedule;
 *  2. per-layer routing: Adam for the weights, momentum SGD for the biases (partitionBy);
 *  3. NewtonSummary whose direction is Adam's update instead of the momentum buffer, on the
 *     "weights vs biases" partition: the learning rates of the two groups are chosen by the
 *     summary, every 5 steps.
 *
 *     node --import tsx examples/custom-optimizer.ts [steps]
 */
import { grad, mean, mul, optim, partition, random, sign, sub, tanh, tensor, tree, type Tensor } from '../src/index.js';
import { linear } from '../src/nn/linear.js';

type Params = { layers: { weight: Tensor<'float64'>; bias: Tensor<'float64'> }[] };

// data: y = sin-like teacher on 64 points
const keys = random.split(random.key(0), 4);
const x = random.normal(keys[0]!, [64, 2], 'float64');
const y = tanh(mul(sub(x, 0.3), 1.5));
const init = (k: ReturnType<typeof random.key>): Params => {
  const [a, b] = random.split(k, 2);
  return {
    layers: [
      { weight: mul(random.normal(a!, [8, 2], 'float64'), 0.5), bias: tensor(new Array(8).fill(0), 'float64', [8]) },
      { weight: mul(random.normal(b!, [2, 8], 'float64'), 0.3), bias: tensor([0, 0], 'float64', [2]) },
    ],
  };
};
const loss = (p: Params): Tensor => {
  const h = tanh(linear(p.layers[0]!, x));
  const d = sub(linear(p.layers[1]!, h), y);
  return mean(mul(d, d));
};

/** 1. A custom transformation, written by hand: updates ↦ sign(updates), with no state. */
const scaleBySign = (): optim.GradientTransformation<Record<string, never>> => ({
  init: () => ({}),
  update: <T,>(updates: T, state: Record<string, never>) => [tree.map((g: Tensor) => sign(g), updates) as T, state] as const,
});

const steps = Number(process.argv[2] ?? 150);
const run = (name: string, opt: optim.GradientTransformation<any, any>, extra?: (p: Params) => unknown) => {
  let p = init(keys[1]!);
  let s = opt.init(p);
  const l0 = loss(p).item();
  for (let t = 0; t < steps; t++) {
    const g = grad(loss)(p);
    const [u, n] = opt.update(g, s, p, extra?.(p));
    p = optim.applyUpdates(p, u);
    s = n;
  }
  console.log(`${name.padEnd(46)} loss ${l0.toFixed(4)} → ${loss(p).item().toExponential(3)}`);
  return s;
};

run('signSGD + clip + cosine schedule', optim.chain(optim.clipByGlobalNorm(1), scaleBySign(), optim.scaleByLearningRate(optim.cosineDecaySchedule(0.02, steps))));
run('Adam on weights, momentum SGD on biases', optim.partitionBy((path: string) => (path.endsWith('weight') ? 'w' : 'b'), { w: optim.adam(0.02), b: optim.momentum(0.05, 0.9) }));
const s = run(
  'NewtonSummary with an Adam direction (wb)',
  optim.newtonSummary({ partition: partition.byName, direction: optim.scaleByAdam(), damping: 0.5, dampingInt: 10, periodHg: 5, momLrs: 0.5, removeNegative: true }),
  () => ({ loss, hgBatch: [] }),
);
console.log(`NewtonSummary's rates for [weights, biases]: [${(s as optim.NewtonSummaryState).newton.lrs.map((v) => v.toExponential(2)).join(', ')}]`);
