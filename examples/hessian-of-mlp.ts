/**
 * The exact Hessian of a tiny tanh MLP's loss with respect to all its parameters.
 *
 *     node --import tsx examples/hessian-of-mlp.ts [--hidden N] [--examples N]
 *
 * The parameters are one flat vector θ (P entries) that the model slices into weights and
 * biases, so hessian(loss)(θ) is a plain P×P matrix. hessian = jacfwd(jacrev(loss)) (forward over
 * reverse). We check that it is symmetric, that each column equals a central difference of the
 * gradient, and that hvp (one forward-over-reverse pass, no P×P matrix) gives H·v.
 */
import { add, grad, hessian, hvp, matmul, mean, reshape, slice, sub, tanh, square, tensor, type Tensor } from '../src/index.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const din = 2;
const hidden = arg('hidden', 3);
const nEx = arg('examples', 6);

/** Layout of θ: w1 [din, hidden], b1 [hidden], w2 [hidden, 1], b2 [1]. */
const layout: [string, number[]][] = [
  ['w1', [din, hidden]],
  ['b1', [hidden]],
  ['w2', [hidden, 1]],
  ['b2', [1]],
];
const P = layout.reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);

/** Splits θ into the named parameter tensors (slices and reshapes: all differentiable). */
function unpack(theta: Tensor): Record<string, Tensor> {
  let off = 0;
  return Object.fromEntries(
    layout.map(([name, shape]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const piece = reshape(slice(theta, [off], [off + n]), shape);
      off += n;
      return [name, piece];
    }),
  );
}

/** A deterministic toy regression set: y = sin(x₀) + x₀·x₁/2 on a grid. */
const xsData = Array.from({ length: nEx }, (_, i) => [Math.cos(1.3 * i), Math.sin(0.7 * i + 0.3)]);
const X = tensor(xsData, 'float64');
const Y = tensor(xsData.map(([a, b]) => [Math.sin(a!) + (a! * b!) / 2]), 'float64');

/** Mean squared error of the MLP x ↦ tanh(x·w1 + b1)·w2 + b2. */
const loss = (theta: Tensor): Tensor => {
  const p = unpack(theta);
  const h = tanh(add(matmul(X, p.w1!), p.b1!));
  return mean(square(sub(add(matmul(h, p.w2!), p.b2!), Y)));
};

const theta = tensor(Array.from({ length: P }, (_, i) => 0.5 * Math.sin(1.7 * i + 0.4)), 'float64');
const H = hessian(loss)(theta) as Tensor;
const Hd = H.dataSync() as Float64Array;

console.log(`tanh MLP ${din} → ${hidden} → 1 on ${nEx} examples: P = ${P} parameters (${layout.map(([n, s]) => `${n} [${s}]`).join(', ')})`);
console.log(`loss(θ) = ${loss(theta).item().toFixed(6)}\n`);
console.log(`Hessian H = hessian(loss)(θ), ${P}×${P}:`);
for (let i = 0; i < P; i++) console.log(Array.from(Hd.slice(i * P, (i + 1) * P), (v) => v.toFixed(4).padStart(8)).join(''));

// symmetry
let asym = 0;
for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) asym = Math.max(asym, Math.abs(Hd[i * P + j]! - Hd[j * P + i]!));

// columns against central differences of the gradient
const h = 1e-5;
const g = grad(loss);
let fdErr = 0;
for (let j = 0; j < P; j++) {
  const e = new Float64Array(P);
  e[j] = h;
  const step = tensor(e, 'float64');
  const gp = g(add(theta, step)).dataSync() as Float64Array;
  const gm = g(sub(theta, step)).dataSync() as Float64Array;
  for (let i = 0; i < P; i++) fdErr = Math.max(fdErr, Math.abs((gp[i]! - gm[i]!) / (2 * h) - Hd[i * P + j]!));
}

// hvp: one forward-over-reverse pass
const v = tensor(Array.from({ length: P }, (_, i) => Math.cos(i)), 'float64');
const hv = hvp(loss, theta, v).dataSync() as Float64Array;
const vd = v.dataSync() as Float64Array;
let hvpErr = 0;
for (let i = 0; i < P; i++) {
  let s = 0;
  for (let j = 0; j < P; j++) s += Hd[i * P + j]! * vd[j]!;
  hvpErr = Math.max(hvpErr, Math.abs(s - hv[i]!));
}

console.log(`\nmax |H − Hᵀ| = ${asym.toExponential(2)}`);
console.log(`max error vs finite differences of the gradient = ${fdErr.toExponential(2)}`);
console.log(`max |hvp(loss, θ, v) − H·v| = ${hvpErr.toExponential(2)}`);
