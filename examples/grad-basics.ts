/**
 * Derivatives of a small scalar function to third order, beside finite differences.
 *
 *     node --import tsx examples/grad-basics.ts [--points N]
 *
 * f(x) = sin(x)·e^{x/2} + x³/6. `grad` composes: grad(grad(grad(f))) is the third derivative,
 * and vmap runs each derivative over all the points at once. Each AD derivative is checked against a
 * central difference of the derivative one order lower (float64), and forward mode (jvp of jvp of
 * jvp) must agree with reverse mode.
 */
import { add, div, exp, grad, jvp, linspace, mul, onesLike, scalar, sin, vmap, type Tensor } from '../src/index.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const nPoints = arg('points', 5);

/** f(x) = sin(x)·e^{x/2} + x³/6 on a scalar tensor. */
const f = (x: Tensor): Tensor => add(mul(sin(x), exp(mul(x, 0.5))), div(mul(mul(x, x), x), 6));

// Reverse mode, composed: the k-th derivative is grad applied k times.
const derivs = [f, grad(f), grad(grad(f)), grad(grad(grad(f)))] as ((x: Tensor) => Tensor)[];
// Forward mode: the third derivative as jvp of jvp of jvp along the unit tangent.
const fwd = (g: (x: Tensor) => Tensor) => (x: Tensor): Tensor => jvp(g, [x], [onesLike(x)])[1];
const third = fwd(fwd(fwd(f)));

const xs = linspace(-2, 2, nPoints, 'float64');
const values = derivs.map((d) => vmap(d)(xs).dataSync() as Float64Array);
const forward3 = vmap(third)(xs).dataSync() as Float64Array;

/** Central difference of a scalar function of a number, with step h. */
const h = 1e-5;
const central = (d: (x: Tensor) => Tensor, x: number): number => {
  const at = (v: number) => d(scalar(v, 'float64')).item();
  return (at(x + h) - at(x - h)) / (2 * h);
};

const fmt = (v: number) => v.toFixed(8).padStart(13);
const head = ['x', 'f', "f' (AD)", "f' (FD)", "f'' (AD)", "f'' (FD)", "f''' (AD)", "f''' (FD)"];
console.log('f(x) = sin(x)·exp(x/2) + x³/6, derivatives by grad composed k times (AD) and by a central');
console.log('difference of the (k−1)-th AD derivative (FD), float64, h = 1e-5\n');
console.log(head.map((s) => s.padStart(13)).join(''));
let maxRel = 0;
let maxFwd = 0;
const x = xs.dataSync() as Float64Array;
for (let i = 0; i < x.length; i++) {
  const row = [x[i]!, values[0]![i]!];
  for (let k = 1; k <= 3; k++) {
    const ad = values[k]![i]!;
    const fd = central(derivs[k - 1]!, x[i]!);
    maxRel = Math.max(maxRel, Math.abs(ad - fd) / Math.max(1, Math.abs(fd)));
    row.push(ad, fd);
  }
  maxFwd = Math.max(maxFwd, Math.abs(forward3[i]! - values[3]![i]!));
  console.log(row.map(fmt).join(''));
}
console.log(`\nmax relative error AD vs FD: ${maxRel.toExponential(2)}`);
console.log(`max |f''' forward (jvp³) − f''' reverse (grad³)|: ${maxFwd.toExponential(2)}`);
