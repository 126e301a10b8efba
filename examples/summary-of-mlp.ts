/**
 * The partition summary of the paper's MLP on real MNIST digits, with H̄ drawn as a heat map.
 *
 *     node --import tsx examples/summary-of-mlp.ts [--batch 1000] [--hidden 200,100] [--steps 5]
 *                                                  [--seed 0] [--svg FILE] [--png]
 *
 * The model is the 784 → 200 → 100 → 10 tanh perceptron with a log-softmax output and the
 * negative log-likelihood loss, initialised from a key (weights N(0, 1/fan_in)). The direction u
 * is the momentum buffer after a few steps of SGD with momentum (`--steps 1`: the plain gradient),
 * so the summary describes the step NewtonSummary would take next. With the canonical partition
 * (one group per tensor, S = 6) and ψ(η) = L(θ + U·I·η), the summary is
 *
 *     ḡ = ∇ψ(0) (S),  H̄ = ∇²ψ(0) (S×S),  order3 = diag ∇³ψ(0) (S)
 *
 * computed by composing transforms, never forming the P×P Hessian. Each part is then checked
 * another way: ḡ against the full gradient summed over each group, every column of H̄ against a
 * Hessian-vector product, order3 against a jvp of an hvp. H̄ is printed as a text heat map and
 * written as an SVG (the same chart as `partax plot`'s hbar.svg).
 */
import { performance } from 'node:perf_hooks';
import { grad, hvp, jvp, nn, partition, random, summary, type Tensor, tree } from '../src/index.js';
import * as data from '../src/data/index.js';
import { writeHeatmap } from '../src/cli/plot/charts.js';

const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const num = (name: string, dflt: number): number => {
  const v = flag(name);
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isFinite(n)) throw new RangeError(`summary-of-mlp: --${name} expects a number, got '${v}'`);
  return n;
};
const batchSize = num('batch', 1000);
const hidden = (flag('hidden') ?? '200,100').split(',').map(Number);
const steps = num('steps', 5);
const seed = num('seed', 0);
const svgPath = flag('svg') ?? 'runs/summary-of-mlp/hbar.svg';
const png = process.argv.includes('--png');

// ---------------------------------------------------------------- data and model

const t0 = performance.now();
const { train } = data.mnistSplit();
const { mean, std } = data.inputStats(train);
const batch = data.standardize(data.subset(train, Array.from({ length: batchSize }, (_, i) => i)), mean, std);
const x = batch.x as Tensor<'float32'>;
const y = batch.y as Tensor<'int32'>;

const model = nn.mlp({ sizes: [784, ...hidden, 10], activation: 'tanh', output: 'log_softmax' });
type Params = nn.MlpParams<'float32'>;
const loss = (p: Params): Tensor => nn.nll(model.apply(p, x), y);

// a few steps of SGD with momentum (lr 0.1, β 0.9) on this batch; u is the momentum buffer
let params: Params = model.init(random.key(seed));
let velocity = tree.zerosLike(params);
for (let k = 0; k < steps; k++) {
  velocity = tree.add(tree.scale(velocity, 0.9), grad(loss)(params));
  if (k < steps - 1) params = tree.sub(params, tree.scale(velocity, 0.1));
}
const u = velocity;

// ---------------------------------------------------------------- the summary

const part = partition.canonical(params);
const names = part.map((g) => String(g[0]));
const S = names.length;
const t1 = performance.now();
const s = summary(loss, params, u, part, { order: 3 });
const t2 = performance.now();
const g = Array.from(s.g.dataSync());
const Hflat = Array.from(s.H!.dataSync());
const H = names.map((_, i) => Hflat.slice(i * S, (i + 1) * S));
const order3 = Array.from(s.order3!.dataSync());

const P = tree.leaves(params).reduce((n, l) => n + l.size, 0);
console.log(`MLP ${[784, ...hidden, 10].join('-')} (tanh, log-softmax, nll) on ${batchSize} real MNIST digits: P = ${P} parameters, S = ${S} groups`);
console.log(`direction u: ${steps === 1 ? 'the gradient' : `the momentum buffer after ${steps} steps of SGD with momentum`}; loss L(θ) = ${s.loss.item().toFixed(6)}`);
console.log(`summary (order 3) in ${((t2 - t1) / 1000).toFixed(2)} s (data and model ${((t1 - t0) / 1000).toFixed(2)} s)\n`);

const w = Math.max(...names.map((n) => n.length));
const e = (v: number) => v.toExponential(3).padStart(11);
console.log(`${'group'.padEnd(w)}   size          ḡ_s       H̄_ss   order3_s`);
names.forEach((n, i) => {
  const size = tree.leaves(params)[tree.paths(params).indexOf(n)]!.size;
  console.log(`${n.padEnd(w)} ${String(size).padStart(6)} ${e(g[i]!)} ${e(H[i]![i]!)} ${e(order3[i]!)}`);
});

// ---------------------------------------------------------------- H̄ as a text heat map

/** Shade of |v| by decades below the largest |H̄ᵢⱼ|: █ within 10×, ▓ 100×, ▒ 1000×, ░ 10⁴×, · smaller. */
const maxAbs = Math.max(...Hflat.map(Math.abs));
const shade = (v: number): string => {
  if (v === 0 || maxAbs === 0) return ' · ';
  const decades = Math.log10(maxAbs / Math.abs(v));
  const block = decades < 1 ? '█' : decades < 2 ? '▓' : decades < 3 ? '▒' : decades < 4 ? '░' : '·';
  return `${v > 0 ? '+' : '−'}${block}${block}`;
};
console.log(`\nH̄ (rows and columns: the groups; sign, and shade by |H̄ᵢⱼ| in decades below max |H̄ᵢⱼ| = ${maxAbs.toExponential(2)}: █ <10× ▓ <100× ▒ <10³× ░ <10⁴× · smaller)`);
names.forEach((n, i) => console.log(`${n.padStart(w)}  ${H[i]!.map(shade).join(' ')}`));
console.log(`${' '.repeat(w)}  ${names.map((_, j) => `g${j}`.padStart(3)).join(' ')}   (g0 … g${S - 1}: the groups in the order above)`);
console.log(`\nH̄ =`);
H.forEach((row) => console.log(row.map(e).join('')));

// ---------------------------------------------------------------- the same numbers another way

/** u restricted to group i (zero elsewhere): the column U·I·eᵢ. */
const paths = tree.paths(params);
const uOnly = (i: number): Params => {
  const { leaves, def } = tree.flatten(u);
  return tree.unflatten(def, leaves.map((l, k) => (paths[k] === names[i] ? l : tree.zerosLike(l)))) as Params;
};
const groupDot = (a: Params, i: number) => tree.vdot(a, uOnly(i)).item();
const relErr = (a: readonly number[], b: readonly number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!))) / Math.max(...b.map(Math.abs));

const fullGrad = grad(loss)(params);
const gOther = names.map((_, i) => groupDot(fullGrad, i));
const Hother = names.map((_, j) => {
  const col = hvp(loss, params, uOnly(j)); // H·U·I·eⱼ, one forward-over-reverse pass
  return names.map((__, i) => groupDot(col, i));
});
const o3other = names.map((_, i) => {
  const ui = uOnly(i);
  const curvature = (p: Params) => tree.vdot(hvp(loss, p, ui), ui); // uᵢᵀ H(θ) uᵢ
  return (jvp(curvature, [params], [ui])[1] as Tensor).item();
});
let asym = 0;
for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) asym = Math.max(asym, Math.abs(H[i]![j]! - H[j]![i]!));

console.log(`\nchecks (float32):`);
console.log(`max |H̄ − H̄ᵀ| / max |H̄| = ${(asym / maxAbs).toExponential(2)}`);
console.log(`max |ḡ − I·U·∇L| / max |ḡ| = ${relErr(g, gOther).toExponential(2)}`);
console.log(`max |H̄ − I·U·hvp(L, θ, U·I·eⱼ)| / max |H̄| = ${relErr(H.flat(), Hother.flat()).toExponential(2)}`);
console.log(`max |order3 − jvp(uᵢᵀ·hvp(L, ·, uᵢ))| / max |order3| = ${relErr(order3, o3other).toExponential(2)}`);

const written = await writeHeatmap(svgPath, H, names, {
  title: 'H̄ of the MLP on MNIST',
  subtitle: `${[784, ...hidden, 10].join('-')} tanh, ${batchSize} digits, canonical partition, u = ${steps === 1 ? 'gradient' : `momentum after ${steps} steps`}`,
  png,
});
console.log(`\nheat map written to ${written.join(' and ')}`);
