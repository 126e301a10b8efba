import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import * as P from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { setBackend } from '../src/backends/registry.js';
import { toBackend, withBackend } from '../src/backends/transfer.js';
import { GpuTensor, initWebGPU, shutdownWebGPU, webgpuStats } from '../src/backends/webgpu/index.js';
import { arbSeed, arbShape, RUNS, seededTensor, runs } from './harness/index.js';
import { arbProg, inputsOf, programFn, scalarFn } from './harness/programs.js';

/**
 * Laws of jit on the webgpu backend, where each fusion group of the program (an elementwise chain
 * with the views feeding it, a reduction with its chain, a matmul's epilogue) runs as one generated
 * WGSL kernel: on generated programs jit(f) on the GPU equals f on the CPU oracle and f run eagerly
 * on the GPU (float32 tolerances), and so do its gradients; a chain of k elementwise ops is one
 * dispatch where eager execution makes k; fused reductions (both kernel layouts), kernels with
 * packed inputs and groups too wide to fuse agree with the oracle.
 *
 * Without a WebGPU adapter every law here is SKIPPED with the reason, never passed. The device is
 * shut down in `after`, so the process exits.
 */

const unavailable: string | null = await initWebGPU({ timeoutMs: 20_000 }).then(
  () => null,
  (e: unknown) => `no WebGPU adapter: ${e instanceof Error ? e.message : String(e)}`,
);
if (unavailable) console.log(`# webgpu jit laws SKIPPED: ${unavailable}`);
else setBackend('cpu'); // every law names its backend
after(() => shutdownWebGPU());

const law = (name: string, fn: () => Promise<void> | void) => test(name, { skip: unavailable ?? false }, fn);

/** Kernel dispatches recorded so far. */
const dispatches = (): number => webgpuStats()!.dispatches;

/**
 * |gpu − ref| ≤ tol·max(1, max|ref|) (+ `slack[i]`, a bound on element i's rounding where it is
 * known; none where that is not finite) elementwise (NaN matches NaN, ±∞ themselves); shapes and
 * dtypes equal. (An output may be a host tensor: a constant of the program, such as the zero
 * gradient of an unused input.)
 */
async function assertClose(gpu: Tensor, ref: Tensor, tol: number, label: string, slack?: ArrayLike<number>): Promise<void> {
  assert.deepEqual(gpu.shape, ref.shape, `${label}: shapes [${gpu.shape}] vs [${ref.shape}]`);
  assert.equal(gpu.dtype, ref.dtype, `${label}: dtypes`);
  const a = await gpu.data();
  const b = await ref.data();
  let scale = 1;
  for (let i = 0; i < b.length; i++) if (Number.isFinite(Number(b[i]))) scale = Math.max(scale, Math.abs(Number(b[i])));
  for (let i = 0; i < a.length; i++) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    const extra = slack?.[i] ?? 0;
    if (!(extra < Infinity)) continue; // the exact value overflows float32: no bound to check
    if (!(Math.abs(x - y) <= tol * scale + extra))
      assert.fail(`${label}: element ${i}: webgpu ${x}, expected ${y} (tolerance ${tol} × ${scale}${slack ? ` + ${extra.toExponential(3)}` : ''})`);
  }
}

async function assertCloseList(gpu: readonly Tensor[], ref: readonly Tensor[], tol: number, label: string): Promise<void> {
  assert.equal(gpu.length, ref.length, `${label}: number of outputs`);
  for (let k = 0; k < ref.length; k++) await assertClose(gpu[k]!, ref[k]!, tol, `${label} output ${k}`);
}

/** float32 values after ≤ 8 generated ops (sums of up to ~100 terms, matmuls): a few hundred ulps of the largest value. */
const TOL = 1e-4;
/** Gradients chain twice as many kernels, with sums in another order. */
const DTOL = 1e-3;

/** The float32 host inputs of a program and their GPU copies. */
async function inputsOn(prog: Parameters<typeof inputsOf>[0], seed: number): Promise<{ cpu: Tensor[]; gpu: Tensor[] }> {
  const cpu = inputsOf(prog, seed, 'float32');
  return { cpu, gpu: await Promise.all(cpu.map((x) => toBackend(x, 'webgpu'))) };
}

law('jit(f) on webgpu = f on the CPU oracle, on generated programs (float32; constants made on the cpu and on the webgpu default backend)', async () => {
  await fc.assert(
    fc.asyncProperty(arbProg(8), arbSeed, fc.boolean(), async (prog, seed, gpuDefault) => {
      const f = programFn(prog, true, false);
      const { cpu, gpu } = await inputsOn(prog, seed);
      const ref = f(...cpu);
      const jf = P.jit(f);
      const run = () => (gpuDefault ? withBackend('webgpu', () => jf(...gpu)) : jf(...gpu));
      await assertCloseList(run(), ref, TOL, 'first call');
      await assertCloseList(run(), ref, TOL, 'cached call');
      assert.equal(jf.traceCount(), 1);
    }),
    RUNS,
  );
});

law('jit(f) on webgpu = f run eagerly on webgpu, on generated programs with every op (exp, log, pow, div, floor, comparisons, casts)', async () => {
  await fc.assert(
    fc.asyncProperty(arbProg(8), arbSeed, async (prog, seed) => {
      const f = programFn(prog, false, false);
      const { gpu } = await inputsOn(prog, seed);
      await assertCloseList(P.jit(f)(...gpu), f(...gpu), TOL, 'jit vs eager');
    }),
    RUNS,
  );
});

law('integer powers fused under jit on webgpu (x^k by squaring in the kernel, k = −2 … 7, 0 included) equal eager webgpu and the CPU oracle, with their third derivatives', async () => {
  const ks = [-2, -1, 0, 1, 2, 3, 7];
  const f = (x: Tensor) => ks.map((k) => (k < 0 ? P.pow(P.add(P.abs(x), 1), k) : P.pow(P.tanh(x), k)));
  const d3 = (x: Tensor) => {
    const g = (y: Tensor) => P.grad((z: Tensor) => P.sum(P.pow(z, 3)))(y);
    return [P.grad((y: Tensor) => P.sum(P.grad((z: Tensor) => P.sum(g(z)))(y)))(x)];
  };
  await fc.assert(
    fc.asyncProperty(arbShape({ rank: [0, 2], size: [1, 5] }), arbSeed, async (shape, seed) => {
      const x = P.astype(seededTensor(shape, seed, [-1.5, 1.5]), 'float32');
      const xz = P.mul(x, P.astype(P.gt(x, 0), 'float32')); // zeros included
      const gx = await toBackend(xz, 'webgpu');
      await assertCloseList(P.jit(f)(gx), f(xz), TOL, 'jit(x^k) on webgpu vs cpu');
      await assertCloseList(P.jit(f)(gx), withBackend('webgpu', () => f(gx)), TOL, 'jit(x^k) vs eager webgpu');
      await assertCloseList(P.jit(d3)(gx), d3(xz), TOL, 'jit(d³ x³) on webgpu vs cpu');
    }),
    runs(25),
  );
});

law('int32 and bool programs under jit on webgpu equal the CPU exactly (wrapping arithmetic, comparisons, logic, where, casts)', async () => {
  const arbInts = (n: number, m: number) => fc.array(fc.integer({ min: -m, max: m }), { minLength: n, maxLength: n });
  const f = (x: Tensor, y: Tensor) => {
    const s = P.add(P.mul(x, y), P.neg(P.abs(x)));
    const m = P.maximum(P.sub(s, y), P.minimum(x, y));
    const c = P.logicalAnd(P.gt(m, 0), P.logicalNot(P.eq(x, y)));
    return [m, c, P.where(c, s, P.mul(y, 3)), P.astype(P.mul(P.astype(P.sign(x), 'float32'), 0.5), 'int32'), P.sum(s), P.max(m, 0)];
  };
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(arbInts(n, 2 ** 31 - 1), arbInts(n, 2 ** 31 - 1), fc.constant(n))),
      async ([u, v]) => {
        const a = P.tensor(u, 'int32');
        const b = P.tensor(v, 'int32');
        const out = P.jit(f)(await toBackend(a, 'webgpu'), await toBackend(b, 'webgpu'));
        await assertCloseList(out, f(a, b), 0, 'int32');
      },
    ),
    RUNS,
  );
});

law('grad(f) jitted on webgpu matches grad(f) on the CPU oracle: jit(grad(f)) and grad(jit(f)), on generated smooth programs', async () => {
  await fc.assert(
    fc.asyncProperty(arbProg(6), arbSeed, async (prog, seed) => {
      const f = scalarFn(prog);
      const { cpu, gpu } = await inputsOn(prog, seed);
      const argnums = cpu.map((_, i) => i);
      const ref = P.grad(f, { argnums })(...cpu) as Tensor[];
      await assertCloseList(P.jit(P.grad(f, { argnums }))(...gpu) as Tensor[], ref, DTOL, 'jit(grad(f))');
      await assertCloseList(P.grad(P.jit(f), { argnums })(...gpu) as Tensor[], ref, DTOL, 'grad(jit(f))');
    }),
    runs(50),
  );
});

law('a NaN made inside a fused kernel behaves as on the CPU: maximum/minimum, max/min reductions, eq/ne, casts to bool, where (NaN tests by bits), √x·√x (a shader compiler may fold the built-in sqrt’s square into |x|)', async () => {
  await fc.assert(
    fc.asyncProperty(arbShape({ rank: [1, 2], size: [1, 5] }), arbSeed, async (shape, seed) => {
      const xc = P.astype(seededTensor(shape, seed, [-2, 2]), 'float32');
      const yc = P.astype(seededTensor(shape, seed + 1, [-2, 2]), 'float32');
      const f = (x: Tensor, y: Tensor) => {
        const s = P.sqrt(x); // NaN where x < 0, never stored
        return [
          P.maximum(s, y), P.minimum(y, s), P.max(P.mul(s, y), -1), P.min(P.add(s, y)), P.eq(s, s), P.ne(s, s),
          P.astype(s, 'bool'), P.where(P.ne(s, s), y, s), P.sum(P.exp(s), 0),
        ];
      };
      // √x·√x alone in its kernel: Mesa folds the built-in's square into |x| there
      const square = (x: Tensor) => {
        const s = P.sqrt(x);
        return [P.mul(s, s)];
      };
      const [x, y] = [await toBackend(xc, 'webgpu'), await toBackend(yc, 'webgpu')];
      await assertCloseList(P.jit(f)(x, y), f(xc, yc), 1e-5, 'NaN semantics');
      await assertCloseList(P.jit(square)(x), square(xc), 1e-5, 'NaN semantics of √x·√x');
    }),
    RUNS,
  );
});

// ---- kernel counts ---------------------------------------------------------------------------------

/**
 * The float32 error model of the k-op chain. A kernel may evaluate each op g at its argument a as
 * g(a·(1 + η₁))·(1 + η₂) with |η₁|, |η₂| ≤ RHO: WGSL allows exp 3 + 2|x| ulp (η₂ = 3, η₁ = 2 ulp),
 * + − × are correctly rounded, and a fused kernel may contract x·y + z into one rounding (the
 * product's rounding, η₂ of the step before, skipped); sin, cos and tanh are taken to be as
 * accurate as exp. abs, max, neg and select are exact. RHO = 4 ulp covers all of these.
 */
const RHO = 4 * 2 ** -24;

/**
 * One elementwise step over two same-shaped tensors (unary on the chain c, or binary with the
 * inputs x, y), with its action on one element in float64 (`value`) and a bound on the error of
 * any float32 evaluation under the model above (`error`: from the bound e on the error of c to the
 * bound after the step). Then |fused − eager| ≤ 2·e at the end: both are such evaluations.
 */
interface Step {
  readonly op: (c: Tensor, x: Tensor, y: Tensor) => Tensor;
  /** Elementwise primitives it binds on tensors of the chain's shape (eagerly, a scalar's broadcast is one more kernel on webgpu). */
  readonly prims: number;
  readonly value: (c: number, x: number, y: number) => number;
  readonly error: (c: number, e: number, x: number, y: number) => number;
}
/** The reach of an argument's error: e plus η₁ (RHO·|c|), and the output's rounding RHO·(|g| + its error). */
const arg = (c: number, e: number) => e + RHO * Math.abs(c);
const out = (g: number, e: number) => e + RHO * (Math.abs(g) + e);

const STEPS: readonly Step[] = [
  // |tanh′|, |sin′| ≤ 1
  { op: (c) => P.tanh(c), prims: 1, value: Math.tanh, error: (c, e) => out(Math.tanh(c), arg(c, e)) },
  { op: (c) => P.sin(c), prims: 1, value: Math.sin, error: (c, e) => out(Math.sin(c), arg(c, e)) },
  // |e^(−a) − e^(−c)| ≤ e^(−c)·(e^r − 1) for |a − c| ≤ r: exp turns an error r of a large −c into e^(−c)·r
  { op: (c) => P.exp(P.neg(c)), prims: 2, value: (c) => Math.exp(-c), error: (c, e) => out(Math.exp(-c), Math.exp(-c) * Math.expm1(arg(c, e))) },
  { op: (c, x) => P.add(c, x), prims: 1, value: (c, x) => c + x, error: (c, e, x) => out(c + x, e) },
  { op: (c, _x, y) => P.mul(c, y), prims: 1, value: (c, _x, y) => c * y, error: (c, e, _x, y) => out(c * y, Math.abs(y) * e) },
  { op: (c, x) => P.maximum(c, x), prims: 1, value: (c, x) => Math.max(c, x), error: (_c, e) => e },
  { op: (c, _x, y) => P.sub(y, c), prims: 1, value: (c, _x, y) => y - c, error: (c, e, _x, y) => out(y - c, e) },
  { op: (c) => P.abs(c), prims: 1, value: Math.abs, error: (_c, e) => e },
  // a scalar constant: a literal of the fused kernel
  { op: (c) => P.mul(c, 1.5), prims: 1, value: (c) => 1.5 * c, error: (c, e) => out(1.5 * c, 1.5 * e) },
  // two ops (gt, select) and a scalar. Within e of 0.25 the comparison may go either way in either
  // kernel: the result is c or x, as far as |c − x| + e from the exact one
  {
    op: (c, x) => P.where(P.gt(c, 0.25), c, x),
    prims: 2,
    value: (c, x) => (c > 0.25 ? c : x),
    error: (c, e, x) => (Math.abs(c - 0.25) <= e ? e + Math.abs(c - x) : c > 0.25 ? e : 0),
  },
];

/** The bound 2·e on |fused − eager| of each element of a chain, from the float32 inputs x and y. */
function chainDiscrepancyBound(steps: readonly number[], x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (xi, i) => {
    const yi = y[i]!;
    let [c, e] = [xi, 0];
    for (const s of steps) [c, e] = [STEPS[s]!.value(c, xi, yi), STEPS[s]!.error(c, e, xi, yi)];
    return 2 * e;
  });
}

law('a chain of k elementwise ops (scalar constants included) on webgpu under jit is 1 kernel dispatch (eagerly ≥ k), compiled once; its values are the eager ones', async () => {
  await fc.assert(
    fc.asyncProperty(
      arbShape({ rank: [1, 3], size: [1, 6] }),
      fc.array(fc.nat(STEPS.length - 1), { minLength: 1, maxLength: 10 }),
      fc.constantFrom('cpu', 'webgpu'),
      arbSeed,
      async (shape, steps, defaultBackend, seed) => {
        const chain = (x: Tensor, y: Tensor) => steps.reduce((c, s) => STEPS[s]!.op(c, x, y), x);
        const k = steps.reduce((n, s) => n + STEPS[s]!.prims, 0);
        const [xc, yc] = [0, 1].map((d) => P.astype(seededTensor(shape, seed + d, [-2, 2]), 'float32'));
        const [x, y] = [await toBackend(xc!, 'webgpu'), await toBackend(yc!, 'webgpu')];
        // scalars are made on the default backend: host constants, or (webgpu) GPU broadcasts of them
        const jc = P.jit(chain);
        const [fused, eager] = withBackend(defaultBackend, () => {
          jc(x, y); // traces and compiles
          const [d0, p0] = [dispatches(), webgpuStats()!.pipelines];
          const fused = jc(x, y);
          assert.equal(dispatches() - d0, 1, `jitted chain of ${k} ops`);
          assert.equal(webgpuStats()!.pipelines, p0, 'a cached call compiles nothing');
          const d1 = dispatches();
          const eager = chain(x, y);
          assert.ok(dispatches() - d1 >= k, `eager chain: ${dispatches() - d1} dispatches for ${k} ops`);
          assert.equal(jc.lower(x, y).stats.loops, 1);
          return [fused, eager];
        });
        assert.ok(fused instanceof GpuTensor, 'the result stays on the GPU');
        // the fused kernel compiles each op in a new context, so its rounding may differ from the eager
        // kernels': the same TOL as the jit-vs-eager law above, plus the chain's own amplification of
        // rounding under the error model of STEPS (exp of a large value, then sin: e^c·ρ·c)
        const bound = chainDiscrepancyBound(steps, xc!.dataSync() as Float32Array, yc!.dataSync() as Float32Array);
        await assertClose(fused, eager, TOL, `fused vs eager (steps ${steps})`, bound);
      },
    ),
    RUNS,
  );
});

law('fusion through views and reductions on webgpu: a broadcast bias + chain + sum over any axes is 1 dispatch; a matmul epilogue is 2 (eagerly 4); values match the CPU', async () => {
  await fc.assert(
    fc.asyncProperty(
      arbShape({ rank: [2, 3], size: [1, 5] }),
      fc.nat(7),
      fc.boolean(),
      arbSeed,
      async (shape, axisMask, keepdims, seed) => {
        const axes = shape.map((_, a) => a).filter((a) => axisMask & (1 << a));
        const bias = shape.slice(1);
        const xc = P.astype(seededTensor(shape, seed, [-2, 2]), 'float32');
        const bc = P.astype(seededTensor(bias, seed + 1, [-2, 2]), 'float32');
        const f = (x: Tensor, b: Tensor) => P.sum(P.tanh(P.add(P.transpose(P.transpose(x)), b)), axes, { keepdims });
        const [x, b] = [await toBackend(xc, 'webgpu'), await toBackend(bc, 'webgpu')];
        const jf = P.jit(f);
        jf(x, b);
        const d0 = dispatches();
        const out = jf(x, b);
        assert.equal(dispatches() - d0, 1, 'broadcast + transpose + tanh + sum');
        await assertClose(out, f(xc, bc), TOL * shape.reduce((p, d) => p * d, 1), 'fused reduction');

        const n = shape[shape.length - 1]!;
        const x2c = P.reshape(xc, [-1, n]);
        const wc = P.astype(seededTensor([n, 3], seed + 2, [-1, 1]), 'float32');
        const b3c = P.astype(seededTensor([3], seed + 3), 'float32');
        const [x2, w, b3] = [await toBackend(x2c, 'webgpu'), await toBackend(wc, 'webgpu'), await toBackend(b3c, 'webgpu')];
        const layer = (x: Tensor, w: Tensor, b: Tensor) => P.tanh(P.add(P.matmul(x, w), b));
        const jl = P.jit(layer);
        jl(x2, w, b3);
        const d1 = dispatches();
        const y = jl(x2, w, b3);
        assert.equal(dispatches() - d1, 2, 'matmul, then its epilogue (broadcast bias, add, tanh)');
        const d2 = dispatches();
        layer(x2, w, b3);
        assert.equal(dispatches() - d2, 4, 'eager: matmul, broadcast, add, tanh');
        await assertClose(y, layer(x2c, wc, b3c), TOL * n, 'matmul epilogue');
      },
    ),
    RUNS,
  );
});

law('long fused reductions (one workgroup per output) agree with the CPU: sum, max, min of a chain over up to 20 000 elements', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom('sum', 'max', 'min'), arbSeed, async (n, rows, kind, seed) => {
      const xc = P.astype(seededTensor([rows, n], seed, [-1, 1]), 'float32');
      const r = kind === 'sum' ? P.sum : kind === 'max' ? P.max : P.min;
      const f = (x: Tensor) => r(P.mul(P.sin(x), P.exp(x)), 1);
      const x = await toBackend(xc, 'webgpu');
      const d0 = dispatches();
      const out = P.jit(f)(x);
      assert.equal(dispatches() - d0, 1);
      // |sin(x)·eˣ| ≤ 2.3 on [−1, 1]; each invocation adds n terms (or n/64, then a tree of 64): within
      // that many ε·Σ|t| of the CPU's sum
      const depth = n < 256 ? n : n / 64 + 8;
      await assertClose(out, f(xc), kind === 'sum' ? 1e-6 + depth * 2 ** -24 * 2.3 * n : 1e-6, `${kind} over ${n}`);
    }),
    runs(30),
  );
});

law('a group reading n inputs is one kernel up to 7 (inputs packed in one bind group past 3), and runs unfused beyond; values match the CPU', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 10 }), arbShape({ rank: [0, 2], size: [1, 5] }), arbSeed, async (n, shape, seed) => {
      const cs = Array.from({ length: n }, (_, i) => P.astype(seededTensor(shape, seed + i, [-2, 2]), 'float32'));
      const gs = await Promise.all(cs.map((c) => toBackend(c, 'webgpu')));
      const f = (...xs: Tensor[]) => xs.slice(1).reduce((s, x, i) => (i % 2 ? P.add(s, P.tanh(x)) : P.mul(s, x)), P.sin(xs[0]!));
      const jf = P.jit(f);
      jf(...gs);
      const d0 = dispatches();
      const out = jf(...gs);
      const ops = n + Math.floor((n - 1) / 2); // sin, n − 1 binary ops, a tanh for every other input
      assert.equal(dispatches() - d0, n <= 7 ? 1 : ops, `${n} inputs`);
      await assertClose(out, f(...cs), TOL, `${n} inputs`);
    }),
    runs(40),
  );
});
