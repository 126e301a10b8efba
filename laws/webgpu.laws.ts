import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import {
  abs, add, argmax, broadcastTo, nn, oneHot, onesLike, vjp, argmin, astype, cholesky, concat, cos, det, div, type DType, eigh, eq, exp, expm1, floor, ge, grad, gt, jit, jvp, le, log, log1p,
  logicalAnd, logicalNot, logicalOr, logsumexp, lt, matmul, max, maximum, mean, min, minimum, mul, ne, neg, pad, pow, reshape,
  sign, sin, slice, slogdet, solve, sqrt, stopGradient, sub, sum, take, takeAlongAxis, tanh, type Tensor, tensor, transpose, triangularSolve, vmap, where,
} from '../src/index.js';
import { defaultBackend, setBackend } from '../src/backends/registry.js';
import { toBackend, withBackend } from '../src/backends/transfer.js';
import {
  configureWebGPU, GpuTensor, hasWebGPUKernel, initWebGPU, type MatmulVariant, setMatmulVariant, shutdownWebGPU, WebGPUError, webgpuStats, webgpuSync,
} from '../src/backends/webgpu/index.js';
import { runtime } from '../src/backends/webgpu/runtime.js';
import { bind1 } from '../src/prim/bind.js';
import { primitive, primitives } from '../src/prim/primitive.js';
import { registerCpuKernel } from '../src/backends/cpu/index.js';
import { mlpApply, type MlpParams } from '../src/nn/mlp.js';
import { assertIndexError } from './harness/index-errors.js';
import { arbAxes, arbBroadcastShapes, arbShape, runs } from './harness/index.js';

/**
 * WebGPU laws: every primitive, and its jvp and grad, gives on the webgpu backend the values of the
 * CPU oracle (both in float32; tolerances grow with the reduction length), over generated small
 * shapes; an MLP's gradient end to end; memory stays flat over a training loop; errors are clear.
 *
 * lavapipe (Mesa's software Vulkan, what CI has) is slow, so these laws draw 25 cases each
 * (GPU_RUNS) instead of the suite's 100. Without a WebGPU adapter every law here is SKIPPED with
 * the reason, never passed. The file shuts the device down in `after`, so the process exits.
 */

const unavailable: string | null = await initWebGPU({ timeoutMs: 20_000 }).then(
  () => null,
  (e: unknown) => `no WebGPU adapter: ${e instanceof Error ? e.message : String(e)}`,
);
if (unavailable) console.log(`# webgpu laws SKIPPED: ${unavailable}`);
else setBackend('cpu'); // every law names its backend (PARTAX_BACKEND=webgpu would have made webgpu the default)
after(() => shutdownWebGPU());

/** 25 cases per law: each runs dozens of kernels on a CPU-emulated GPU. */
const GPU_RUNS = runs(25);
const law = (name: string, fn: () => Promise<void> | void) => test(name, { skip: unavailable ?? false }, fn);

// ---- host specs of inputs, built on either backend -------------------------------------------

/** An input as host data: built with `tensor()` on whichever backend is the default. */
interface Host {
  readonly values: readonly number[];
  readonly shape: readonly number[];
  readonly dtype: DType;
}
const build = (h: Host): Tensor => tensor(h.values as number[], h.dtype, h.shape);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const maxAbs = (hs: readonly Host[]) => Math.max(1, ...hs.flatMap((h) => h.values.map(Math.abs)));

/** float32 values in `range` for `shape`. */
const arbF32 = (shape: readonly number[], range: [number, number] = [-2, 2]) =>
  fc
    .array(fc.double({ min: range[0], max: range[1], noNaN: true }), { minLength: size(shape), maxLength: size(shape) })
    .map((v): Host => ({ values: Array.from(Float32Array.from(v)), shape, dtype: 'float32' }));
/** float32 values with |x| in [lo, hi] (away from a kink or a pole at 0). */
const arbAway = (shape: readonly number[], lo: number, hi: number) =>
  fc
    .array(fc.tuple(fc.double({ min: lo, max: hi, noNaN: true }), fc.boolean()), { minLength: size(shape), maxLength: size(shape) })
    .map((v): Host => ({ values: Array.from(Float32Array.from(v, ([m, s]) => (s ? m : -m))), shape, dtype: 'float32' }));
/** Small integers (ties are likely) as `dtype`. */
const arbInts = (shape: readonly number[], dtype: DType, lo = -3, hi = 3) =>
  fc.array(fc.integer({ min: lo, max: hi }), { minLength: size(shape), maxLength: size(shape) }).map((v): Host => ({ values: v, shape, dtype }));
const arbBools = (shape: readonly number[]) => fc.array(fc.boolean(), { minLength: size(shape), maxLength: size(shape) }).map((v): Host => ({ values: v.map(Number), shape, dtype: 'bool' }));
const smallShape = arbShape({ rank: [0, 3], size: [1, 5] });

type Tol = { rtol: number; atol: number };
/** Elementwise float32 results: a few ulps, plus the driver's error in transcendentals. */
const EW: Tol = { rtol: 2e-5, atol: 1e-6 };
/** A sum of n terms of size ≤ scale: float32 recursive summation is within n·ε·Σ|x| ≤ n²·ε·scale. */
const sumTol = (n: number, scale: number): Tol => ({ rtol: 2e-5, atol: 1e-6 + 2 * n * n * 2 ** -24 * scale });
/** Derivatives chain several kernels; the cotangent sums add their own rounding. */
const dTol = (n: number, scale: number): Tol => ({ rtol: 1e-4, atol: 1e-5 * scale + 2 * n * n * 2 ** -24 * scale * scale });

/** Asserts elementwise |gpu − cpu| ≤ atol + rtol·|cpu| (NaN matches NaN), naming the worst element. */
function close(gpu: ArrayLike<number>, cpu: ArrayLike<number>, tol: Tol, label: string): void {
  assert.equal(gpu.length, cpu.length, `${label}: sizes differ`);
  for (let i = 0; i < cpu.length; i++) {
    const a = Number(gpu[i]);
    const b = Number(cpu[i]);
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    const d = Math.abs(a - b);
    if (!(d <= tol.atol + tol.rtol * Math.abs(b)) && a !== b)
      assert.fail(`${label}: element ${i}: webgpu ${a}, cpu ${b} (|d| = ${d.toExponential(3)}, tol ${(tol.atol + tol.rtol * Math.abs(b)).toExponential(3)})`);
  }
}

type Out = Tensor | readonly Tensor[];
const outs = (o: Out): readonly Tensor[] => (o instanceof Array ? o : [o as Tensor]);

/** Runs `f` on both backends from the same host inputs and compares every output. */
async function agree(label: string, f: (...xs: Tensor[]) => Out, inputs: readonly Host[], tol: Tol): Promise<void> {
  const cpu = outs(withBackend('cpu', () => f(...inputs.map(build))));
  const gpuInputs = withBackend('webgpu', () => inputs.map(build));
  const gpu = outs(withBackend('webgpu', () => f(...gpuInputs)));
  assert.equal(gpu.length, cpu.length);
  for (let k = 0; k < cpu.length; k++) {
    const [g, c] = [gpu[k]!, cpu[k]!];
    // every output was computed on the GPU, unless the op returned an input unchanged (astype to its own dtype…)
    assert.ok(g instanceof GpuTensor || gpuInputs.includes(g), `${label}: output ${k} is not on the GPU (${g.toString()})`);
    assert.deepEqual(g.shape, c.shape, `${label}: shapes differ`);
    assert.equal(g.dtype, c.dtype, `${label}: dtypes differ`);
    close(await g.data(), c.dataSync(), tol, `${label} [output ${k}]`);
  }
}

/** The value law and, for differentiable cases, the jvp and grad laws of f in its float32 inputs. */
async function agreeWithDerivatives(label: string, f: (...xs: Tensor[]) => Tensor, inputs: readonly Host[], tol: Tol, dtol: Tol, diff = true): Promise<void> {
  await agree(label, f, inputs, tol);
  if (!diff) return;
  const n = inputs.length;
  const fl = inputs.flatMap((h, i) => (h.dtype === 'float32' ? [i] : []));
  /** The arguments xs with the float ones replaced by ys. */
  const withFloats = (xs: readonly Tensor[], ys: readonly Tensor[]) => xs.map((x, i) => (fl.includes(i) ? ys[fl.indexOf(i)]! : x));
  // tangents: a fixed smooth pattern (the primal inputs are what fast-check varies)
  const tangents = fl.map((k): Host => ({ ...inputs[k]!, values: inputs[k]!.values.map((_, i) => Math.fround(Math.sin(1 + i * 0.7))) }));
  await agree(
    `${label} jvp`,
    (...xs) => jvp((...ys: Tensor[]) => f(...withFloats(xs.slice(0, n), ys)), fl.map((k) => xs[k]!), xs.slice(n))[1] as Tensor,
    [...inputs, ...tangents],
    dtol,
  );
  const fs = (...xs: Tensor[]) => sum(mul(f(...xs), cosOf(f(...xs))));
  await agree(`${label} grad`, (...xs) => grad((ys: Tensor[]) => fs(...withFloats(xs, ys)))(fl.map((k) => xs[k]!)) as Tensor[], inputs, dtol);
}
/** A fixed, shape-dependent cotangent pattern (so the grad law is not just a sum). */
const cosOf = (y: Tensor) => cos(mul(reshape(tensor(Array.from({ length: y.size }, (_, i) => i), 'float32', [y.size]), y.shape), 0.37));

// ---- elementwise ----------------------------------------------------------------------------------

const unary: [string, (x: Tensor) => Tensor, (s: readonly number[]) => fc.Arbitrary<Host>, boolean][] = [
  ['neg', neg, (s) => arbF32(s), true],
  ['exp', exp, (s) => arbF32(s, [-3, 3]), true],
  ['log', log, (s) => arbF32(s, [0.05, 4]), true],
  ['log1p', log1p, (s) => arbF32(s, [-0.9, 3]), true],
  ['expm1', expm1, (s) => arbF32(s, [-2, 2]), true],
  ['sqrt', sqrt, (s) => arbF32(s, [0.05, 4]), true],
  ['tanh', tanh, (s) => arbF32(s, [-3, 3]), true],
  ['sin', sin, (s) => arbF32(s, [-4, 4]), true],
  ['cos', cos, (s) => arbF32(s, [-4, 4]), true],
  ['abs', abs, (s) => arbAway(s, 0.05, 2), true],
  ['sign', sign, (s) => arbAway(s, 0, 2), false],
  ['floor', floor, (s) => arbF32(s, [-3, 3]), false],
  // integer_pow: by squaring on the GPU, Math.pow on the CPU; 0 included (x^0 = 1, derivatives finite)
  ['pow(x, 3)', (x) => pow(x, 3), (s) => arbF32(s, [-2, 2]), true],
  ['pow(x, 2) at 0', (x) => pow(mul(x, 0), 2), (s) => arbF32(s, [-2, 2]), true],
  ['pow(x, 0)', (x) => pow(x, 0), (s) => arbF32(s, [-2, 2]), false], // its tangent is a symbolic zero (made on the host)
  ['pow(x, -2)', (x) => pow(x, -2), (s) => arbAway(s, 0.5, 2), true],
];
for (const [name, op, arb, diff] of unary)
  law(`${name}: values, jvp and grad agree with the CPU oracle (float32)`, async () => {
    await fc.assert(
      fc.asyncProperty(smallShape.chain(arb), async (x) => agreeWithDerivatives(name, op, [x], EW, dTol(1, maxAbs([x]) + 1), diff)),
      GPU_RUNS,
    );
  });

/** Two broadcastable shapes (exercises broadcast_in_dim) with values for each. */
const arbPair = (a: (s: readonly number[]) => fc.Arbitrary<Host>, b: (s: readonly number[]) => fc.Arbitrary<Host>) =>
  arbBroadcastShapes({ rank: [0, 3], size: [1, 4] }).chain(([s, t]) => fc.tuple(a(s), b(t)));

const binary: [string, (a: Tensor, b: Tensor) => Tensor, fc.Arbitrary<[Host, Host]>][] = [
  ['add', add, arbPair(arbF32, arbF32)],
  ['sub', sub, arbPair(arbF32, arbF32)],
  ['mul', mul, arbPair(arbF32, arbF32)],
  ['div', div, arbPair(arbF32, (s) => arbAway(s, 0.25, 2))],
  ['pow', pow, arbPair((s) => arbF32(s, [0.2, 2]), (s) => arbF32(s, [-2, 2]))],
  ['maximum', maximum, arbPair(arbF32, arbF32)],
  ['minimum', minimum, arbPair(arbF32, arbF32)],
];
for (const [name, op, arb] of binary)
  law(`${name} (broadcasting): values, jvp and grad agree with the CPU oracle (float32)`, async () => {
    await fc.assert(fc.asyncProperty(arb, async (xs) => agreeWithDerivatives(name, op, xs, EW, dTol(4, maxAbs(xs) ** 2 + 1))), GPU_RUNS);
  });

law('comparisons and logic agree on float32, int32 and bool (ties included)', async () => {
  const cmps: [string, (a: Tensor, b: Tensor) => Tensor][] = [['lt', lt], ['le', le], ['gt', gt], ['ge', ge], ['eq', eq], ['ne', ne]];
  await fc.assert(
    fc.asyncProperty(
      smallShape.chain((s) => fc.tuple(fc.constantFrom<DType>('float32', 'int32'), fc.constant(s))).chain(([d, s]) => fc.tuple(arbInts(s, d), arbInts(s, d), arbBools(s), arbBools(s))),
      async ([a, b, p, q]) => {
        for (const [name, op] of cmps) await agree(`${name} ${a.dtype}`, op, [a, b], { rtol: 0, atol: 0 });
        const asBool = (t: Tensor) => t as Tensor<'bool'>;
        await agree('and', (u, v) => logicalAnd(asBool(u!), asBool(v!)), [p, q], { rtol: 0, atol: 0 });
        await agree('or', (u, v) => logicalOr(asBool(u!), asBool(v!)), [p, q], { rtol: 0, atol: 0 });
        await agree('not', (u) => logicalNot(asBool(u!)), [p], { rtol: 0, atol: 0 });
        await agree('eq bool', eq, [p, q], { rtol: 0, atol: 0 });
      },
    ),
    GPU_RUNS,
  );
});

law('int32 arithmetic agrees exactly (add, sub, mul, neg, abs, sign, max, min, sum, argmax)', async () => {
  await fc.assert(
    fc.asyncProperty(arbShape({ rank: [1, 3], size: [1, 4] }).chain((s) => fc.tuple(arbInts(s, 'int32', -1000, 1000), arbInts(s, 'int32', -1000, 1000))), async ([a, b]) => {
      const exact = { rtol: 0, atol: 0 };
      for (const [name, op] of [['add', add], ['sub', sub], ['mul', mul], ['maximum', maximum], ['minimum', minimum]] as const) await agree(`${name} int32`, op, [a, b], exact);
      for (const [name, op] of [['neg', neg], ['abs', abs], ['sign', sign]] as const) await agree(`${name} int32`, op, [a], exact);
      await agree('sum int32', (x) => sum(x, -1), [a], exact);
      await agree('argmax int32', (x) => argmax(x, -1), [a], exact);
    }),
    GPU_RUNS,
  );
});

law('where and astype agree (float32 ↔ int32 ↔ bool); the where jvp/grad too', async () => {
  await fc.assert(
    fc.asyncProperty(smallShape.chain((s) => fc.tuple(arbBools(s), arbF32(s, [-3, 3]), arbF32(s), arbInts(s, 'int32'))), async ([c, x, y, i]) => {
      await agreeWithDerivatives('where', (cond, a, b) => where(cond as Tensor<'bool'>, a!, b!), [c, x, y], EW, dTol(1, 4));
      const exact = { rtol: 0, atol: 0 };
      for (const to of ['int32', 'bool', 'float32'] as const) {
        await agree(`astype float32→${to}`, (t) => astype(t, to), [x], exact);
        await agree(`astype int32→${to}`, (t) => astype(t, to), [i], exact);
        await agree(`astype bool→${to}`, (t) => astype(t, to), [c], exact);
      }
    }),
    GPU_RUNS,
  );
});

// ---- structure -------------------------------------------------------------------------------------

law("where's gradient at a point where the branch not taken has an infinite derivative: NaN at every rank on webgpu as on the CPU (grad Σ where(x > 0, log x, 0) at 0), eager and under jit", async () => {
  const f = (x: Tensor) => sum(where(gt(x, 0), log(x), 0));
  for (const values of [[0], [0, 1, -1, 0.5]])
    for (const shape of values.length === 1 ? [[], [1], [1, 1]] : [[4], [2, 2]]) {
      const x: Host = { values, shape, dtype: 'float32' };
      await agree(`grad at [${shape}]`, (v) => grad(f)(v!) as Tensor, [x], EW);
      await agree(`jit(grad) at [${shape}]`, (v) => jit(grad(f))(v!) as Tensor, [x], EW);
      const want = values.map((v) => (v > 0 ? 1 / v : v < 0 ? 0 : NaN));
      close(await withBackend('webgpu', () => grad(f)(build(x)) as Tensor).data(), want, EW, `grad at [${shape}] vs 1/x, 0, NaN`);
    }
});

law('transpose, reshape, slice, pad and concatenate agree, with their jvp and grad', async () => {
  const arb = arbShape({ rank: [1, 4], size: [1, 4] }).chain((s) =>
    fc.record({
      x: arbF32(s),
      y: arbF32(s),
      perm: fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length, maxLength: s.length }),
      box: fc.tuple(...s.map((d) => fc.tuple(fc.integer({ min: 0, max: d }), fc.integer({ min: 0, max: d })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const))),
      lo: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: s.length, maxLength: s.length }),
      hi: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: s.length, maxLength: s.length }),
      value: fc.constantFrom(0, -1.5, 2),
      axis: fc.integer({ min: 0, max: s.length - 1 }),
    }),
  );
  await fc.assert(
    fc.asyncProperty(arb, async ({ x, y, perm, box, lo, hi, value, axis }) => {
      const d = dTol(2, 4);
      await agreeWithDerivatives('transpose', (t) => transpose(t, perm), [x], EW, d);
      await agreeWithDerivatives('reshape', (t) => reshape(t, [t.size]), [x], EW, d);
      await agreeWithDerivatives('slice', (t) => slice(t, box.map((b) => b[0]), box.map((b) => b[1])), [x], EW, d);
      await agreeWithDerivatives('pad', (t) => pad(t, lo.map((l, i) => [l, hi[i]!] as [number, number]), value), [x], EW, d);
      await agreeWithDerivatives('concatenate', (a, b) => concat([a!, b!, a!], axis), [x, y], EW, d);
      await agreeWithDerivatives('stopGradient', (t) => mul(stopGradient(t), t), [x], EW, d);
    }),
    GPU_RUNS,
  );
});

// ---- reductions ----------------------------------------------------------------------------------

law('sum, mean, max, min over any axes, argmax/argmin and logsumexp agree (tolerance grows with the length)', async () => {
  const arb = arbShape({ rank: [1, 4], size: [1, 5] }).chain((s) => fc.tuple(arbF32(s), arbAxes(s.length), fc.integer({ min: 0, max: s.length - 1 }), fc.constant(s)));
  await fc.assert(
    fc.asyncProperty(arb, async ([x, axes, axis, s]) => {
      const n = size(s);
      const t = sumTol(n, maxAbs([x]));
      await agreeWithDerivatives('sum', (v) => sum(v, axes), [x], t, dTol(n, 2));
      await agreeWithDerivatives('mean', (v) => mean(v, axes), [x], t, dTol(n, 2));
      await agreeWithDerivatives('max', (v) => max(v, axes), [x], EW, dTol(n, 2));
      await agreeWithDerivatives('min', (v) => min(v, axes), [x], EW, dTol(n, 2));
      await agree('argmax', (v) => argmax(v, axis), [x], { rtol: 0, atol: 0 });
      await agree('argmin', (v) => argmin(v, axis), [x], { rtol: 0, atol: 0 });
      await agreeWithDerivatives('logsumexp', (v) => logsumexp(v, axis), [x], sumTol(n, 8), dTol(n, 8));
    }),
    GPU_RUNS,
  );
});

law('logsumexp with infinite entries (all −∞ rows, +∞ entries) agrees with the CPU: value and gradient, eager and under jit', async () => {
  const arb = fc
    .record({ rows: fc.integer({ min: 1, max: 4 }), cols: fc.integer({ min: 1, max: 4 }) })
    .chain(({ rows, cols }) =>
      fc
        .array(fc.oneof({ weight: 3, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) }, { weight: 3, arbitrary: fc.constant(-Infinity) }, { weight: 1, arbitrary: fc.constant(Infinity) }), {
          minLength: rows * cols,
          maxLength: rows * cols,
        })
        .map((v): Host => ({ values: Array.from(Float32Array.from(v)), shape: [rows, cols], dtype: 'float32' })),
    );
  const lse = (x: Tensor) => logsumexp(x, -1);
  const lseGrad = (x: Tensor) => {
    const [y, back] = vjp(lse, x);
    return [y, (back(onesLike(y)) as unknown as [Tensor])[0]];
  };
  await fc.assert(
    fc.asyncProperty(arb, async (x) => {
      await agree('logsumexp ±∞ (value, gradient)', lseGrad, [x], EW);
      await agree('jit logsumexp ±∞ (value, gradient)', jit(lseGrad), [x], EW);
    }),
    GPU_RUNS,
  );
});

law('long reductions (one workgroup per output) agree: full sums, max and argmax of up to 20 000 elements', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 300, max: 20_000 }), fc.integer({ min: 1, max: 3 }), async (n, rows) => {
      const values = Array.from({ length: rows * n }, (_, i) => Math.fround(Math.sin(i * 1.3) * 2));
      const x: Host = { values, shape: [rows, n], dtype: 'float32' };
      await agree('sum (long)', (v) => sum(v), [x], sumTol(rows * n, 2));
      await agree('sum rows (long)', (v) => sum(v, 1), [x], sumTol(n, 2));
      await agree('max (long)', (v) => max(v, 1), [x], EW);
      await agree('argmin (long)', (v) => argmin(v, 1), [x], { rtol: 0, atol: 0 });
    }),
    runs(8),
  );
});

// ---- gather / scatter -------------------------------------------------------------------------------

law('take (gather) agrees, and its grad (scatter_add, repeated indices) too; takeAlongAxis', async () => {
  const arb = arbShape({ rank: [1, 3], size: [1, 5] }).chain((s) =>
    fc.tuple(
      arbF32(s),
      fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
        fc.tuple(fc.constant(axis), fc.array(fc.integer({ min: 0, max: s[axis]! - 1 }), { minLength: 1, maxLength: 7 })),
      ),
    ),
  );
  await fc.assert(
    fc.asyncProperty(arb, async ([x, [axis, idx]]) => {
      const i: Host = { values: idx, shape: [idx.length], dtype: 'int32' };
      await agreeWithDerivatives('take', (v, ix) => take(v!, ix as Tensor<'int32'>, axis), [x, i], EW, dTol(idx.length, 2), false);
      // derivative in x only (indices are int32)
      await agree('take grad', (v, ix) => grad((w: Tensor) => sum(mul(take(w, ix as Tensor<'int32'>, axis), take(w, ix as Tensor<'int32'>, axis))))(v!), [x, i], dTol(idx.length, 4));
      const along: Host = { values: x.values.map((_, k) => idx[k % idx.length]! % x.shape[axis]!), shape: x.shape, dtype: 'int32' };
      await agree('takeAlongAxis', (v, ix) => takeAlongAxis(v!, ix as Tensor<'int32'>, axis), [x, along], EW);
    }),
    GPU_RUNS,
  );
});

// ---- matmul -----------------------------------------------------------------------------------------

for (const variant of ['register', 'workgroup'] as MatmulVariant[])
  law(`matmul (${variant} kernel): batched products of any sizes agree, with jvp and grad`, async () => {
    setMatmulVariant(variant);
    try {
      const arb = fc
        .record({ b: fc.integer({ min: 0, max: 2 }), m: fc.integer({ min: 1, max: 9 }), k: fc.integer({ min: 1, max: 9 }), n: fc.integer({ min: 1, max: 9 }) })
        .chain(({ b, m, k, n }) => {
          const batch = b === 0 ? [] : Array.from({ length: b }, () => 2);
          return fc.tuple(arbF32([...batch, m, k]), arbF32([...batch, k, n]), fc.constant(k));
        });
      await fc.assert(fc.asyncProperty(arb, async ([a, b, k]) => agreeWithDerivatives('matmul', matmul, [a, b], sumTol(k, 4), dTol(k * 3, 4))), GPU_RUNS);
      // tile edges: sizes that are not multiples of any tile, and K = 0
      for (const [m, k, n] of [[67, 45, 33], [1, 130, 65], [129, 3, 1], [5, 0, 4]] as const) {
        const a: Host = { values: Array.from({ length: m * k }, (_, i) => Math.fround(Math.cos(i))), shape: [m, k], dtype: 'float32' };
        const b: Host = { values: Array.from({ length: k * n }, (_, i) => Math.fround(Math.sin(i))), shape: [k, n], dtype: 'float32' };
        await agree(`matmul ${m}×${k}×${n}`, matmul, [a, b], sumTol(k, 1));
      }
    } finally {
      setMatmulVariant('auto');
    }
  });

for (const variant of ['register', 'workgroup'] as MatmulVariant[])
  law(`matmul (${variant} kernel) over a long K stays within the blocked float32 bound (KC1 + K/KC1 + K/KC2)·ε·Σ|a·b| of the exact product, where a running sum loses every term after a dominant one`, async () => {
    setMatmulVariant(variant);
    try {
      // row m of A: products in [0.5, 1) and one dominant 2^24·v at position p: a running float32
      // sum then rounds every later term away (each is below half an ulp of 2^24), losing ≥ 0.5·(K − p)
      const arb = fc.record({
        m: fc.integer({ min: 1, max: 3 }),
        n: fc.integer({ min: 1, max: 3 }),
        k: variant === 'register' ? fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 12_000, max: 20_000 }) }, { weight: 1, arbitrary: fc.constant(2 ** 20 + 4096) }) : fc.integer({ min: 12_000, max: 20_000 }),
        seed: fc.integer({ min: 1, max: 2 ** 30 }),
      });
      await fc.assert(
        fc.asyncProperty(arb, async ({ m, n, k, seed }) => {
          let r = seed;
          const rand = () => ((r = (Math.imul(r, 1103515245) + 12345) >>> 0) / 2 ** 32);
          const a = new Float32Array(m * k).map(() => 0.5 + rand() / 2);
          for (let i = 0; i < m; i++) a[i * k + Math.floor((rand() * k) / 4)] = 2 ** 24 * (1 + rand());
          const b = new Float32Array(k * n).fill(1);
          const got = await withBackend('webgpu', () => matmul(tensor(a, 'float32', [m, k]), tensor(b, 'float32', [k, n]))).data();
          const gamma = (1024 + Math.ceil(k / 1024) + Math.ceil(k / 2 ** 20) + 2) * 2 ** -24; // KC1 = 1024, KC2 = 2^20
          for (let i = 0; i < m; i++) {
            let exact = 0;
            for (let q = 0; q < k; q++) exact += a[i * k + q]!; // float64, exact here (< 2^53)
            for (let j = 0; j < n; j++) {
              const err = Math.abs(got[i * n + j]! - exact);
              assert.ok(err <= gamma * exact, `${m}×${k}×${n}, row ${i} col ${j}: ${got[i * n + j]} vs exact ${exact}: error ${err} > ${(gamma * exact).toFixed(1)}`);
            }
          }
        }),
        runs(8), // 2^20 + 4096 (register only: past KC2) takes a second on lavapipe
      );
    } finally {
      setMatmulVariant('auto');
    }
  });

law('matmul over more than 65 535 batches (a workgroup loops over several batches) agrees with the CPU on both kernels', async () => {
  const b = 70_000; // the grid holds 65 535 batches: workgroup z also computes batch z + 65 535
  const x: Host = { values: Array.from({ length: b * 2 }, (_, i) => Math.fround(Math.sin(i))), shape: [b, 1, 2], dtype: 'float32' };
  const y: Host = { values: Array.from({ length: b * 2 }, (_, i) => Math.fround(Math.cos(i))), shape: [b, 2, 1], dtype: 'float32' };
  for (const variant of ['register', 'workgroup'] as MatmulVariant[]) {
    setMatmulVariant(variant);
    try {
      await agree(`matmul ${variant} [${b},1,2]×[${b},2,1]`, matmul, [x, y], sumTol(2, 1));
    } finally {
      setMatmulVariant('auto');
    }
  }
});

// ---- linear algebra ----------------------------------------------------------------------------------

/** S = B·Bᵀ/n + I: symmetric positive definite with eigenvalues in [1, 1 + max|B|²], well conditioned. */
const spd = (b: Tensor) => {
  const n = b.shape[b.shape.length - 1]!;
  return add(div(matmul(b, transpose(b, [...b.shape.slice(0, -2).map((_, i) => i), b.shape.length - 1, b.shape.length - 2])), n), eyeLike(n));
};
const eyeLike = (n: number) => tensor(Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0)), 'float32', [n, n]);
/** [batch?, n, n] float32 entries and an [.., n, k] right-hand side. */
const arbSystem = fc
  .record({ batch: fc.integer({ min: 0, max: 2 }), n: fc.integer({ min: 1, max: 6 }), k: fc.integer({ min: 1, max: 3 }) })
  .chain(({ batch, n, k }) => {
    const lead = batch === 0 ? [] : [batch];
    return fc.tuple(arbF32([...lead, n, n], [-1, 1]), arbF32([...lead, n, k]), fc.constant(n));
  });

law('cholesky, triangular_solve, solve, det and slogdet agree with the CPU oracle (well-conditioned SPD systems), with jvp and grad', async () => {
  await fc.assert(
    fc.asyncProperty(arbSystem, async ([b, r, n]) => {
      const t: Tol = { rtol: 1e-4, atol: 1e-5 * n };
      const d = dTol(4 * n, 4);
      await agreeWithDerivatives('cholesky', (x) => cholesky(spd(x)), [b], t, d);
      await agreeWithDerivatives('triangularSolve', (x, y) => triangularSolve(cholesky(spd(x!)), y!, { lower: true }), [b, r], t, d);
      await agreeWithDerivatives('triangularSolve (Lᵀ)', (x, y) => triangularSolve(cholesky(spd(x!)), y!, { lower: true, transposeA: true }), [b, r], t, d);
      await agreeWithDerivatives('solve', (x, y) => solve(add(spd(x!), mul(x!, 0.5)), y!), [b, r], t, d);
      await agreeWithDerivatives('det', (x) => det(add(spd(x), mul(x, 0.5))), [b], t, d);
      await agreeWithDerivatives('slogdet', (x) => { const [sg, la] = slogdet(add(spd(x), mul(x, -0.5))); return add(mul(sg, 10), la); }, [b], t, d);
    }),
    GPU_RUNS,
  );
});

law('where the CPU raises a LinAlgError the GPU gives NaN; singular det and slogdet are 0 and (0, −∞) on both', async () => {
  const notPd = await toBackend(tensor([[1, 2], [2, 1]]), 'webgpu');
  const singular = await toBackend(tensor([[1, 2], [2, 4]]), 'webgpu');
  const nanEverywhere = (v: ArrayLike<number>) => Array.from(v).every(Number.isNaN);
  assert.ok(nanEverywhere(await cholesky(notPd).data()), 'cholesky of an indefinite matrix');
  assert.ok(nanEverywhere(await solve(singular, tensor([1, 1])).data()), 'solve with a singular matrix');
  assert.deepEqual(Array.from(await det(singular).data()), [0]);
  const [sg, la] = slogdet(singular);
  assert.deepEqual([...(await sg.data()), ...(await la.data())], [0, -Infinity]);
  assert.deepEqual([withBackend('cpu', () => det(tensor([[1, 2], [2, 4]]))).item()], [0]);
});

law('eigh agrees with the CPU oracle on well-separated spectra (diag(1..n) + a small symmetric part), with jvp and grad; V·diag(w)·Vᵀ = A', async () => {
  const arb = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 6 })).chain(([batch, n]) => arbF32(batch === 0 ? [n, n] : [batch, n, n], [-1, 1]));
  await fc.assert(
    fc.asyncProperty(arb, async (b) => {
      const n = b.shape[b.shape.length - 1]!;
      const diag = tensor(Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 + Math.floor(k / n) : 0)), 'float32', [n, n]);
      const sym = (x: Tensor) => add(diag, mul(add(x, transpose(x, [...x.shape.slice(0, -2).map((_, i) => i), x.rank - 1, x.rank - 2])), 0.05));
      const t: Tol = { rtol: 1e-4, atol: 2e-5 * n };
      await agreeWithDerivatives('eigh w', (x) => eigh(sym(x))[0], [b], t, dTol(8 * n, 4));
      await agreeWithDerivatives('eigh V', (x) => eigh(sym(x))[1], [b], t, dTol(8 * n, 4));
      await agree('eigh reconstruction', (x) => {
        const [w, v] = eigh(sym(x));
        return sub(matmul(mul(v, reshape(w, [...w.shape.slice(0, -1), 1, n])), transpose(v, [...v.shape.slice(0, -2).map((_, i) => i), v.rank - 1, v.rank - 2])), sym(x));
      }, [b], { rtol: 0, atol: 1e-5 * n });
    }),
    GPU_RUNS,
  );
});

// ---- end to end ---------------------------------------------------------------------------------------

/** A tanh MLP's parameters and a batch, as host data. */
const arbMlp = fc
  .record({ sizes: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 4 }), n: fc.integer({ min: 1, max: 5 }), seed: fc.integer({ min: 0, max: 1000 }) })
  .map(({ sizes, n, seed }) => {
    const val = (i: number) => Math.fround(Math.sin(seed + i * 0.61) * 0.8);
    let c = 0;
    const host = (shape: number[]): Host => ({ values: Array.from({ length: size(shape) }, () => val(c++)), shape, dtype: 'float32' });
    const layers = sizes.slice(1).flatMap((out, i) => [host([out, sizes[i]!]), host([out])]);
    return { sizes, layers, x: host([n, sizes[0]!]), y: host([n, sizes[sizes.length - 1]!]) };
  });

law('an MLP (tanh, mse): the gradient of every parameter, a jvp, jit, grad(jit) and vmap agree with the CPU oracle', async () => {
  await fc.assert(
    fc.asyncProperty(arbMlp, async ({ sizes, layers, x, y }) => {
      const config = { sizes, activation: 'tanh', output: 'identity' };
      const params = (ts: readonly Tensor[]): MlpParams => ({ layers: sizes.slice(1).map((_, i) => ({ weight: ts[2 * i]!, bias: ts[2 * i + 1]! })) });
      const loss = (ts: Tensor[], xb: Tensor, yb: Tensor) => mean(mul(sub(mlpApply(config, params(ts), xb), yb), sub(mlpApply(config, params(ts), xb), yb)));
      const L = layers.length;
      const width = Math.max(...sizes);
      await agree('mlp grad', (...ts) => grad((ps: Tensor[]) => loss(ps, ts[L]!, ts[L + 1]!))(ts.slice(0, L)) as Tensor[], [...layers, x, y], dTol(width * 4, 2));
      await agree('mlp jvp', (...ts) => jvp((ps: Tensor[]) => loss(ps, ts[L]!, ts[L + 1]!), [ts.slice(0, L)], [ts.slice(0, L).map((t) => mul(t, 0.5))])[1] as Tensor, [...layers, x, y], dTol(width * 4, 2));
      await agree('mlp jit', (...ts) => jit((ps: Tensor[], xb: Tensor, yb: Tensor) => loss(ps, xb, yb))(ts.slice(0, L), ts[L]!, ts[L + 1]!), [...layers, x, y], dTol(width * 4, 2));
      await agree('mlp grad(jit)', (...ts) => grad(jit((ps: Tensor[]) => loss(ps, ts[L]!, ts[L + 1]!)))(ts.slice(0, L)) as Tensor[], [...layers, x, y], dTol(width * 4, 2));
      await agree('mlp vmap', (...ts) => vmap((xi: Tensor) => mlpApply(config, params(ts.slice(0, L)), reshape(xi, [1, sizes[0]!])))(ts[L]!), [...layers, x, y], dTol(width, 2));
    }),
    GPU_RUNS,
  );
});

/** Primitives no backend evaluates: jit applies its programs itself (equation by equation off the CPU). */
const NOT_BACKEND_EVALUATED = ['jit_call'];

law('every primitive has a WGSL kernel', () => {
  const missing = [...primitives().values()].filter((p) => !hasWebGPUKernel(p) && !NOT_BACKEND_EVALUATED.includes(p.name) && !p.name.startsWith('test_')).map((p) => p.name).sort();
  assert.deepEqual(missing, []);
});

// ---- memory, caches, transfers, errors --------------------------------------------------------------

law('memory stays flat over 300 training steps that await their loss (finalizers return the buffers; the pool forces a GC past its watermark)', async () => {
  const prev = defaultBackend();
  setBackend('webgpu');
  configureWebGPU({ gcFloorBytes: 4 * 2 ** 20 }); // a small floor, so that 300 small steps cross it many times
  try {
    const sizes = [16, 32, 8];
    const config = { sizes, activation: 'tanh', output: 'identity' };
    const w = (o: number, i: number, s: number) => tensor(Array.from({ length: o * i }, (_, k) => Math.sin(s + k) * 0.3), 'float32', [o, i]);
    let params: MlpParams = { layers: [{ weight: w(32, 16, 1), bias: tensor(new Float32Array(32)) }, { weight: w(8, 32, 2), bias: tensor(new Float32Array(8)) }] };
    const x = tensor(Array.from({ length: 64 * 16 }, (_, k) => Math.cos(k)), 'float32', [64, 16]);
    const y = tensor(Array.from({ length: 64 * 8 }, (_, k) => Math.sin(k * 0.3)), 'float32', [64, 8]);
    const loss = (p: MlpParams) => mean(mul(sub(mlpApply(config, p, x), y), sub(mlpApply(config, p, x), y)));
    const live: number[] = [];
    let first = 0;
    let last = 0;
    for (let step = 0; step < 300; step++) {
      const g = grad(loss)(params) as MlpParams;
      params = { layers: params.layers.map((l, i) => ({ weight: sub(l.weight, mul(g.layers[i]!.weight, 0.1)), bias: sub(l.bias, mul(g.layers[i]!.bias, 0.1)) })) };
      const v = (await loss(params).data())[0]!;
      if (step === 0) first = v;
      last = v;
      live.push(webgpuStats()!.liveBytes);
    }
    assert.ok(last < first, `the loss decreases (${first} → ${last})`);
    const early = Math.max(...live.slice(0, 100));
    const late = Math.max(...live.slice(200));
    assert.ok(late <= 2 * early, `live GPU bytes grow: max ${early} over steps 0–99, ${late} over steps 200–299`);
    await webgpuSync();
  } finally {
    configureWebGPU({ gcFloorBytes: 64 * 2 ** 20 });
    setBackend(prev);
  }
});

law('uploads recycle free buffers: a loop that sends a new host batch every step (a data loader) stops creating buffers, and every step computes with its own batch', async () => {
  configureWebGPU({ gcFloorBytes: 4 * 2 ** 20 });
  try {
    const w = await toBackend(tensor(Array.from({ length: 256 * 8 }, (_, k) => Math.sin(k) * 0.3), 'float32', [256, 8]), 'webgpu');
    const wHost = tensor(Array.from({ length: 256 * 8 }, (_, k) => Math.sin(k) * 0.3), 'float32', [256, 8]);
    const created: number[] = [];
    for (let step = 0; step < 200; step++) {
      const values = Array.from({ length: 1024 * 256 }, (_, k) => Math.cos(k * 0.001 + step));
      const x = tensor(values, 'float32', [1024, 256]); // 1 MiB on the host, uploaded by the GPU matmul
      const gpu = (await withBackend('webgpu', () => sum(tanh(matmul(x, w)))).data())[0]!;
      const cpu = withBackend('cpu', () => sum(tanh(matmul(tensor(values, 'float32', [1024, 256]), wHost)))).dataSync()[0]!;
      assert.ok(Math.abs(gpu - cpu) <= 1e-4 * Math.max(1, Math.abs(cpu)), `step ${step}: the GPU used another batch (${gpu} vs ${cpu})`);
      created.push(webgpuStats()!.created);
    }
    const late = created[199]! - created[99]!;
    assert.ok(late <= 10, `${late} buffers created over steps 100–199 (uploads should reuse released buffers)`);
  } finally {
    configureWebGPU({ gcFloorBytes: 64 * 2 ** 20 });
  }
});

law('kernels compile once: a repeated call compiles nothing, and new shapes of the same rank reuse the pipelines (matmul: one per block size)', async () => {
  const prev = defaultBackend();
  setBackend('webgpu');
  try {
    const f = (n: number) => sum(tanh(transpose(add(tensor(new Float32Array(n * 3).fill(0.5), 'float32', [n, 3]), 1))), 1);
    const g = (n: number) => matmul(tensor(new Float32Array(n * 3).fill(0.5), 'float32', [n, 3]), tensor(new Float32Array(3 * n).fill(0.25), 'float32', [3, n]));
    await f(4).data();
    await g(40).data();
    const before = webgpuStats()!.pipelines;
    for (const n of [5, 17, 33]) await f(n).data();
    await g(40).data();
    assert.equal(webgpuStats()!.pipelines, before);
  } finally {
    setBackend(prev);
  }
});

law('transfers: toBackend round-trips bit for bit; CPU and GPU tensors mix in one primitive (upload); data() on the GPU says to await', async () => {
  const host = tensor([1.5, -2.25, 3e-8, 1e30], 'float32');
  const g = await toBackend(host, 'webgpu');
  assert.ok(g instanceof GpuTensor);
  assert.throws(() => g.dataSync(), (e: Error) => e instanceof WebGPUError && /await x\.data\(\)/.test(e.message));
  const back = await toBackend(g, 'cpu');
  assert.deepEqual(Array.from(back.dataSync()), Array.from(host.dataSync()));
  assert.deepEqual(Array.from(await host.data()), Array.from(host.dataSync()));
  const mixed = add(g, host);
  assert.ok(mixed instanceof GpuTensor);
  assert.deepEqual(Array.from(await mixed.data()), Array.from(host.dataSync(), (v) => Math.fround(v + v)));
  const bools = await toBackend(tensor([1, 0, 1], 'bool'), 'webgpu');
  assert.deepEqual(Array.from(await bools.data()), [1, 0, 1]);
});

law('float64 on webgpu is a DTypeError saying WGSL has no f64 (creation, a float64 input, a cast)', async () => {
  const f64 = tensor([1, 2], 'float64');
  const cond = await toBackend(tensor([1, 0], 'bool'), 'webgpu');
  withBackend('webgpu', () => {
    assert.throws(() => tensor([1, 2], 'float64'), (e: Error) => e.name === 'DTypeError' && /WGSL has no f64/.test(e.message));
    assert.throws(() => where(cond as Tensor<'bool'>, f64, f64), (e: Error) => e.name === 'DTypeError' && /WGSL has no f64/.test(e.message));
    assert.throws(() => astype(tensor([1, 2]), 'float64'), (e: Error) => e.name === 'DTypeError' && /WGSL has no f64/.test(e.message));
  });
  await assert.rejects(toBackend(f64, 'webgpu'), /WGSL has no f64/);
});

/** A primitive with a CPU kernel and no WGSL kernel, to exercise the host fallback. */
const hostOnlyP = primitive<{}>({
  name: 'test_host_only_double',
  abstractEval: ([x]) => [x!],
  jvp: () => {
    throw new Error('not differentiable');
  },
  vmap: () => {
    throw new Error('not batchable');
  },
});
registerCpuKernel('test_host_only_double', ([x]) => [Float32Array.from(x!.buffer as Float32Array, (v) => 2 * v)]);

law('a primitive without a kernel runs on the CPU for host inputs, and asks for toBackend when an input is on the GPU', async () => {
  const onHost = withBackend('webgpu', () => bind1(hostOnlyP, [tensor([1, 2.5])]));
  close(await onHost.data(), [2, 5], EW, 'host fallback');
  const onGpu = await toBackend(tensor([1, 2.5]), 'webgpu');
  assert.throws(() => bind1(hostOnlyP, [onGpu]), (e: Error) => e instanceof WebGPUError && /toBackend/.test(e.message));
});

/**
 * Runs `f` on webgpu and reads its result: with no index in `bad`, returns the values; otherwise
 * asserts that it threw (host indices, at once) or that the readback threw (GPU indices, through
 * the device's error flag) a ShapeError naming `op`, one of the bad indices and the size `n`.
 */
async function gpuChecked(f: () => Tensor, op: string, bad: ReadonlySet<number>, n: number, label: string): Promise<ArrayLike<number> | null> {
  let err: unknown = null;
  let values: ArrayLike<number> | null = null;
  try {
    values = await withBackend('webgpu', f).data();
  } catch (e) {
    err = e;
  }
  if (bad.size === 0) {
    if (err) throw err;
    return values;
  }
  assertIndexError(err, op, bad, n, label);
  return null;
}

law('out-of-range indices, from the host or computed on the GPU: take, takeAlongAxis, oneHot, nll, vmap, grad and jit raise the CPU\'s error naming op, index and size (GPU indices at the readback); valid ones agree with the CPU', async () => {
  const arb = arbShape({ rank: [1, 3], size: [1, 4] }).chain((s) =>
    fc.tuple(
      arbF32(s),
      fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
        fc.tuple(
          fc.constant(axis),
          fc.array(fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: s[axis]! - 1 }) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: s[axis]! + 1 }) }), {
            minLength: 1,
            maxLength: 5,
          }),
        ),
      ),
      fc.boolean(),
    ),
  );
  await fc.assert(
    fc.asyncProperty(arb, async ([xh, [axis, idx], onGpu]) => {
      const n = xh.shape[axis]!;
      const bad = new Set(idx.filter((v) => v < 0 || v >= n));
      const x = build(xh);
      // indices on the GPU have no host copy: only the kernel's flag can catch them
      const ih = tensor(idx, 'int32') as Tensor<'int32'>;
      const i = onGpu ? ((await toBackend(ih, 'webgpu')) as Tensor<'int32'>) : ih;
      const where = onGpu ? 'GPU indices' : 'host indices';
      const check = async (label: string, op: string, f: (i: Tensor<'int32'>) => Tensor, bd = bad, size = n) => {
        const got = await gpuChecked(() => f(i), op, bd, size, `${label} (${where})`);
        if (got) close(got, withBackend('cpu', () => f(ih)).dataSync() as ArrayLike<number>, EW, `${label} (${where})`);
      };
      await check('take', 'take', (j) => take(x, j, axis));
      await check('grad(take)', 'take', (j) => grad((w: Tensor) => sum(mul(take(w, j, axis), take(w, j, axis))))(x) as Tensor);
      await check('oneHot', 'oneHot', (j) => oneHot(j, n));
      await check('vmap(take)', 'take', (j) => vmap((k: Tensor) => take(x, k as Tensor<'int32'>, axis))(reshape(j, [j.size, 1])));
      // takeAlongAxis and nll: indices shaped like x off the axis, combined into flat indices
      const along = reshape(i, [...xh.shape.map((_, d) => (d === axis ? i.size : 1))]);
      const alongShape = xh.shape.map((d, a) => (a === axis ? i.size : d));
      await check('takeAlongAxis', 'takeAlongAxis', (j) => takeAlongAxis(x, broadcastTo(reshape(j, along.shape), alongShape) as Tensor<'int32'>, axis));
      await check('jit(takeAlongAxis)', 'takeAlongAxis', (j) => jit((a: Tensor, k: Tensor) => takeAlongAxis(a, k as Tensor<'int32'>, axis))(x, broadcastTo(reshape(j, along.shape), alongShape)));
      const logits = broadcastTo(reshape(x, [1, x.size]), [i.size, x.size]);
      const nllBad = new Set(idx.filter((v) => v < 0 || v >= x.size));
      await check('nll', 'nll', (j) => nn.nll(logits, j), nllBad, x.size);
    }),
    GPU_RUNS,
  );
});

law('a lost device gives a WebGPUError (never a hang), and initWebGPU starts a new one', async () => {
  const g = await toBackend(tensor([1, 2, 3]), 'webgpu');
  runtime('test').handle.device.destroy();
  await new Promise((r) => setTimeout(r, 50));
  assert.throws(() => withBackend('webgpu', () => add(g, g)), (e: Error) => e instanceof WebGPUError && /lost/.test(e.message));
  await assert.rejects(g.data(), (e: Error) => e instanceof WebGPUError);
  await initWebGPU();
  const h = await toBackend(tensor([1, 2, 3]), 'webgpu');
  assert.deepEqual(Array.from(await withBackend('webgpu', () => add(h, h)).data()), [2, 4, 6]);
});
