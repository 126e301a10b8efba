import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as P from '../src/index.js';
import { ConcretizationError, type DType, type FloatDType, type Tensor } from '../src/index.js';
import { jit } from '../src/jit/jit.js';
import { jitCallP } from '../src/jit/jit-call.js';
import { evalJaxpr, partialEval, showJaxpr, stageFlat } from '../src/interp/stage.js';
import { arbAxes, arbSeed, arbShape, finiteDifferenceWithError, RUNS, seededTensor } from './harness/index.js';
import { arbProg, inputsOf, programFn, scalarFn } from './harness/programs.js';

/**
 * Laws of `jit`: a jitted function computes what the function computes (on generated programs of
 * primitives, float64 and float32, and int32), composes with every transform in both orders, traces
 * once per signature with a bounded cache, is unchanged by donation, and really fuses.
 */

/**
 * |a − b| ≤ tol·max(1, max|b|) (+ `slack[i]`, a known error of b's element i) elementwise (NaN matches
 * NaN, ±∞ match themselves), shapes and dtypes equal.
 */
function assertSame(actual: Tensor, expected: Tensor, tol: number, label: string, slack?: ArrayLike<number>): void {
  assert.deepEqual(actual.shape, expected.shape, `${label}: shapes [${actual.shape}] vs [${expected.shape}]`);
  assert.equal(actual.dtype, expected.dtype, `${label}: dtypes`);
  const a = actual.dataSync() as ArrayLike<number>;
  const b = expected.dataSync() as ArrayLike<number>;
  let scale = 1;
  for (let i = 0; i < b.length; i++) if (Number.isFinite(b[i]!)) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    const extra = slack?.[i] ?? 0;
    if (!(Math.abs(x - y) <= tol * scale + extra))
      assert.fail(`${label}: element ${i}: got ${x}, expected ${y} (tolerance ${tol} × ${scale}${slack ? ` + ${extra.toExponential(3)}` : ''})`);
  }
}

const assertSameList = (as: readonly Tensor[], bs: readonly Tensor[], tol: number, label: string) => {
  assert.equal(as.length, bs.length, `${label}: number of outputs`);
  as.forEach((a, i) => assertSame(a, bs[i]!, tol, `${label} output ${i}`));
};

/** float64: the brief's bound (bitwise on the CPU backend in practice); float32: a few ulps. */
const TOL64 = 1e-12;
const TOL32 = 1e-6;

// ---- jit(f) = f ----------------------------------------------------------------------------------

test('jit(f) = f on generated programs of primitives (float64)', () => {
  fc.assert(
    fc.property(arbProg(), arbSeed, (prog, seed) => {
      const f = programFn(prog);
      const xs = inputsOf(prog, seed);
      const jf = jit(f);
      assertSameList(jf(...xs), f(...xs), TOL64, 'first call');
      assertSameList(jf(...xs), f(...xs), TOL64, 'cached call');
      assert.equal(jf.traceCount(), 1);
    }),
    RUNS,
  );
});

test('staging merges repeated work: a function that runs a program twice stages the equations of one run, and computes both runs\' values', () => {
  fc.assert(
    fc.property(arbProg(), arbSeed, (prog, seed) => {
      const f = programFn(prog);
      const twice = (...xs: Tensor[]) => [...f(...xs), ...f(...xs)];
      const xs = inputsOf(prog, seed);
      const once = jit(f).lower(...xs).jaxpr;
      const both = jit(twice).lower(...xs).jaxpr;
      assert.equal(both.equations.length, once.equations.length, 'equations of two runs = of one');
      assert.equal(both.consts.length, once.consts.length, 'constants of two runs = of one');
      assertSameList(jit(twice)(...xs), twice(...xs), TOL64, 'values');
    }),
    RUNS,
  );
});

test('jit(f) = f on generated programs of primitives (float32)', () => {
  fc.assert(
    fc.property(arbProg(), arbSeed, (prog, seed) => {
      const f = programFn(prog);
      const xs = inputsOf(prog, seed, 'float32');
      assertSameList(jit(f)(...xs), f(...xs), TOL32, 'float32');
    }),
    RUNS,
  );
});

test('jit(f) = f without fusion (one backend kernel per equation)', () => {
  fc.assert(
    fc.property(arbProg(6), arbSeed, (prog, seed) => {
      const f = programFn(prog);
      const xs = inputsOf(prog, seed);
      assertSameList(jit(f, { fuse: false })(...xs), f(...xs), TOL64, 'unfused');
    }),
    RUNS,
  );
});

test('jit(f) = f for int32 and bool programs (wrapping arithmetic, comparisons, casts)', () => {
  const arbInts = (n: number) => fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: n, maxLength: n });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(arbInts(n), arbInts(n))), ([u, v]) => {
      const a = P.tensor(u, 'int32');
      const b = P.tensor(v, 'int32');
      const f = (x: Tensor, y: Tensor) => {
        const s = P.add(P.mul(x, y), P.neg(P.abs(x)));
        const m = P.maximum(P.sub(s, y), P.minimum(x, y));
        const c = P.logicalAnd(P.gt(m, 0), P.logicalNot(P.eq(x, y)));
        return [m, c, P.where(c, s, P.mul(y, 3)), P.astype(P.astype(P.mul(x, 7), 'float64'), 'int32'), P.sum(s)];
      };
      assertSameList(jit(f)(a, b), f(a, b), 0, 'int32');
    }),
    RUNS,
  );
});

// ---- composition with the transforms, both ways --------------------------------------------------

const DTOL = 1e-10; // transformed programs may add cotangent contributions in another order

test('jit(grad(f)) = grad(f) = grad(jit(f)) on generated smooth programs; grad(jit(f)) matches central differences', () => {
  fc.assert(
    fc.property(arbProg(8), arbSeed, (prog, seed) => {
      const f = scalarFn(prog);
      const xs = inputsOf(prog, seed);
      const argnums = xs.map((_, i) => i);
      const ref = P.grad(f, { argnums })(...xs) as Tensor[];
      assertSameList(jit(P.grad(f, { argnums }))(...xs) as Tensor[], ref, DTOL, 'jit(grad(f))');
      const gj = P.grad(jit(f), { argnums })(...xs) as Tensor[];
      assertSameList(gj, ref, DTOL, 'grad(jit(f))');
      // the difference's own truncation error h²·f‴/6 is added: products of products reach high
      // degrees, and sin of them a large f‴ (see finiteDifferenceWithError)
      const fd = finiteDifferenceWithError((x0) => jit(f)(x0, ...xs.slice(1)), xs[0]!);
      assertSame(gj[0]!, fd.value, 1e-5, 'grad(jit(f)) vs central differences (± their truncation error)', fd.error);
    }),
    RUNS,
  );
});

test('jit(vmap(f)) = vmap(f) = vmap(jit(f)), with batched and unbatched arguments', () => {
  fc.assert(
    fc.property(arbProg(8), arbSeed, fc.integer({ min: 1, max: 3 }), fc.boolean(), (prog, seed, batch, firstOnly) => {
      const f = programFn(prog);
      const xs = inputsOf(prog, seed).map((x, k) => (firstOnly && k > 0 ? x : P.astype(seededTensor([batch, ...x.shape], seed + 100 + k), 'float64')));
      const inAxes = xs.map((_, k) => (firstOnly && k > 0 ? null : 0));
      const ref = P.vmap(f, { inAxes })(...xs);
      assertSameList(jit(P.vmap(f, { inAxes }))(...xs), ref, TOL64, 'jit(vmap(f))');
      assertSameList(P.vmap(jit(f), { inAxes })(...xs), ref, TOL64, 'vmap(jit(f))');
    }),
    RUNS,
  );
});

test('jit(jvp(f)) = jvp(f) = jvp(jit(f)) = linearize(jit(f))', () => {
  fc.assert(
    fc.property(arbProg(8), arbSeed, (prog, seed) => {
      const f = programFn(prog, true);
      const xs = inputsOf(prog, seed);
      const ts = xs.map((x, k) => seededTensor(x.shape, seed + 50 + k));
      const [y, dy] = P.jvp(f, xs, ts);
      const [jy, jdy] = jit((a: Tensor[], b: Tensor[]) => P.jvp(f, a, b))(xs, ts);
      assertSameList(jy, y, TOL64, 'jit(jvp) primal');
      assertSameList(jdy, dy, DTOL, 'jit(jvp) tangent');
      const [y2, dy2] = P.jvp(jit(f), xs, ts);
      assertSameList(y2, y, TOL64, 'jvp(jit) primal');
      assertSameList(dy2, dy, DTOL, 'jvp(jit) tangent');
      const [y3, fJvp] = P.linearize(jit(f), ...xs);
      assertSameList(y3, y, TOL64, 'linearize(jit) primal');
      assertSameList(fJvp(...ts), dy, DTOL, 'linearize(jit) linear map');
    }),
    RUNS,
  );
});

test('jit(hessian(f)) = hessian(f) = hessian(jit(f)) (symmetric), on generated smooth programs of one input', () => {
  fc.assert(
    fc.property(arbProg(6), arbSeed, (prog0, seed) => {
      const prog = { ...prog0, shapes: [prog0.shapes[0]!.slice(0, 2)] };
      const f = scalarFn(prog);
      const [x] = inputsOf(prog, seed);
      const ref = P.hessian(f)(x!) as Tensor;
      assertSame(jit(P.hessian(f))(x!) as Tensor, ref, DTOL, 'jit(hessian(f))');
      const hj = P.hessian(jit(f))(x!) as Tensor;
      assertSame(hj, ref, DTOL, 'hessian(jit(f))');
      const n = x!.size;
      const flat = P.reshape(hj, [n, n]);
      assertSame(flat, P.transpose(flat), DTOL, 'hessian(jit(f)) symmetric');
    }),
    RUNS,
  );
});

test('grad of grad through jit (third order): grad(jit(grad(jit(f)))) = grad(grad(f))', () => {
  const f = (x: Tensor) => P.sum(P.mul(P.tanh(x), P.sin(P.mul(x, x))));
  fc.assert(
    fc.property(arbSeed, fc.integer({ min: 1, max: 5 }), (seed, n) => {
      const x = seededTensor([n], seed);
      const v = seededTensor([n], seed + 1);
      const g1 = (y: Tensor) => P.sum(P.mul(P.grad(f)(y) as Tensor, v));
      const ref = P.grad(g1)(x) as Tensor;
      const g1j = (y: Tensor) => P.sum(P.mul(P.grad(jit(f))(y) as Tensor, v));
      assertSame(P.grad(jit(g1j))(x) as Tensor, ref, DTOL, 'grad(jit(grad(jit f)))');
      assertSame(jit(P.grad(g1j))(x) as Tensor, ref, DTOL, 'jit(grad(grad(jit f)))');
    }),
    RUNS,
  );
});

test('a jitted function closing over a tracer of an enclosing transform: grad(w ↦ jit(x ↦ x·w)(x₀)) is correct and not cached', () => {
  fc.assert(
    fc.property(arbSeed, fc.integer({ min: 1, max: 5 }), (seed, n) => {
      const x0 = seededTensor([n], seed);
      const w0 = seededTensor([n], seed + 1);
      let inner: ReturnType<typeof jit<[Tensor], Tensor>> | undefined;
      const loss = (w: Tensor) => {
        inner = jit((x: Tensor) => P.tanh(P.mul(x, w)));
        return P.sum(P.sin(inner(x0)));
      };
      const expect = P.mul(P.mul(P.cos(P.tanh(P.mul(x0, w0))), P.sub(1, P.square(P.tanh(P.mul(x0, w0))))), x0);
      assertSame(P.grad(loss)(w0) as Tensor, expect, 1e-12, 'closure gradient');
      assert.equal(inner!.cacheSize(), 0, 'a program closing over a tracer is not cached');
    }),
    RUNS,
  );
});

test('partial evaluation of a jvp program: known then unknown = the whole program, and the tangent half is linear (no forward recomputation)', () => {
  fc.assert(
    fc.property(arbProg(8), arbSeed, (prog0, seed) => {
      const prog = { ...prog0, shapes: [prog0.shapes[0]!] };
      const f = programFn(prog, true);
      const [x] = inputsOf(prog, seed);
      const t = seededTensor(x!.shape, seed + 3);
      const { jaxpr } = stageFlat((a, b) => {
        const [ys, dys] = P.jvp(f, [a!], [b!]);
        return [...ys, ...dys];
      }, [x!, t]);
      const nOut = jaxpr.outputs.length / 2;
      const { known, unknown, nResiduals } = partialEval(jaxpr, [false, true], nOut);
      const whole = evalJaxpr(jaxpr, [x!, t]);
      const fwd = evalJaxpr(known, [x!]);
      const tangents = evalJaxpr(unknown, [...fwd.slice(nOut), t]);
      assert.equal(fwd.length, nOut + nResiduals);
      assertSameList([...fwd.slice(0, nOut), ...tangents], whole, 0, 'known ∘ unknown');
      const nonlinear = unknown.equations.filter((e) => e.prim.transpose === null).map((e) => e.prim.name);
      assert.deepEqual(nonlinear, [], showJaxpr(unknown));
    }),
    RUNS,
  );
});

test('nested jit gives one flat program (the inner jit_call is inlined)', () => {
  const g = jit((x: Tensor) => P.tanh(P.mul(x, 2)));
  const f = jit((x: Tensor) => P.add(g(x), g(P.neg(x))));
  const x = P.tensor([0.5, -1, 2], 'float64');
  const lowered = f.lower(x);
  assert.ok(lowered.jaxpr.equations.every((e) => e.prim !== jitCallP), lowered.text);
  assertSame(f(x), P.add(P.tanh(P.mul(x, 2)), P.tanh(P.mul(P.neg(x), 2))), 0, 'nested');
  assert.equal(lowered.stats.loops, 1, lowered.program.describe());
});

// ---- the kernel cache -----------------------------------------------------------------------------

test('kernel cache: a second call with the same signature does not retrace; a new shape, dtype, structure or static value does', () => {
  fc.assert(
    fc.property(arbShape({ rank: [1, 3], size: [1, 4] }), arbSeed, (shape, seed) => {
      let sideEffects = 0;
      const f = jit((p: { x: Tensor; k: number }) => {
        sideEffects++;
        return P.mul(P.tanh(p.x), p.k);
      });
      const x = seededTensor(shape, seed);
      f({ x, k: 2 });
      f({ x: seededTensor(shape, seed + 1), k: 2 });
      assert.equal(f.traceCount(), 1, 'same signature, new values: no retrace');
      assert.equal(sideEffects, 1, 'the function body ran once');
      f({ x: seededTensor([...shape, 2], seed), k: 2 });
      assert.equal(f.traceCount(), 2, 'new shape');
      f({ x: P.astype(x, 'float32'), k: 2 });
      assert.equal(f.traceCount(), 3, 'new dtype');
      assertSame(f({ x, k: 3 }), P.mul(P.tanh(x), 3), 0, 'static value');
      assert.equal(f.traceCount(), 4, 'new static value');
      f({ x, k: 2 });
      f({ x: P.astype(x, 'float32'), k: 2 });
      assert.equal(f.traceCount(), 4, 'every signature still cached');
      assert.equal(f.cacheSize(), 4);
      const g = jit((a: Tensor | Tensor[]) => (Array.isArray(a) ? P.add(a[0]!, a[1]!) : a));
      g(x);
      g([x, x]);
      assert.equal(g.traceCount(), 2, 'new tree structure');
    }),
    RUNS,
  );
});

test('kernel cache: bounded, least recently used signature evicted first', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), (bound, extra) => {
      const f = jit((x: Tensor) => P.exp(x), { cacheSize: bound });
      const call = (n: number) => f(P.zeros([n], 'float64'));
      for (let n = 1; n <= bound + extra; n++) call(n);
      assert.equal(f.cacheSize(), bound);
      assert.equal(f.traceCount(), bound + extra);
      call(bound + extra); // the most recent one is cached
      assert.equal(f.traceCount(), bound + extra);
      call(extra); // evicted (the oldest survivors are extra+1 … bound+extra)
      assert.equal(f.traceCount(), bound + extra + 1);
      assert.equal(f.cacheSize(), bound);
    }),
    RUNS,
  );
  assert.equal(jit((x: Tensor) => x).cacheSize(), 0);
  assert.throws(() => jit((x: Tensor) => x, { cacheSize: 0 }), /cacheSize must be a positive integer, got 0/);
});

// ---- donation and buffer planning ------------------------------------------------------------------

test('donation does not change results, and the donated buffer is reused for the output', () => {
  fc.assert(
    fc.property(arbShape({ rank: [1, 3], size: [1, 5] }), arbSeed, fc.constantFrom<FloatDType>('float32', 'float64'), (shape, seed, dtype) => {
      const update = (p: Tensor, g: Tensor) => P.sub(p, P.mul(P.tanh(g), 0.1));
      const g = P.astype(seededTensor(shape, seed), dtype);
      const fresh = () => P.astype(seededTensor(shape, seed + 1), dtype);
      const expected = update(fresh(), g);
      assertSame(jit(update)(fresh(), g), expected, 0, 'not donated');
      const p = fresh() as P.ArrayTensor;
      const donated = jit(update, { donate: [0] });
      const out = donated(p, g) as P.ArrayTensor;
      assertSame(out, expected, 0, 'donated');
      assert.equal(out.buffer, p.buffer, 'the update was written over the donated parameter');
      assertSame(g, P.astype(seededTensor(shape, seed), dtype), 0, 'the kept argument is untouched');
    }),
    RUNS,
  );
});

test('buffer planning never overwrites inputs, constants or earlier outputs', () => {
  fc.assert(
    fc.property(arbProg(), arbSeed, (prog, seed) => {
      const f = programFn(prog);
      const xs = inputsOf(prog, seed);
      const copies = xs.map((x) => x.dataSync());
      const jf = jit(f);
      const first = jf(...xs);
      const firstCopies = first.map((y) => y.dataSync());
      jf(...inputsOf(prog, seed + 1));
      xs.forEach((x, i) => assert.deepEqual(x.dataSync(), copies[i], `input ${i} changed`));
      first.forEach((y, i) => assert.deepEqual(y.dataSync(), firstCopies[i], `output ${i} of the first call changed`));
    }),
    RUNS,
  );
});

test('a donated argument that is also passed undonated is not overwritten', () => {
  const x = P.tensor([1, 2, 3], 'float64') as P.ArrayTensor;
  const f = jit((a: Tensor, b: Tensor) => P.mul(P.exp(a), 2), { donate: [0] });
  const out = f(x, x) as P.ArrayTensor;
  assert.notEqual(out.buffer, x.buffer);
  assert.deepEqual(Array.from(x.dataSync()), [1, 2, 3]);
});

// ---- fusion actually happens -------------------------------------------------------------------------

test('fusion: an elementwise chain of k ops is one loop (fewer loops than elementwise equations)', () => {
  fc.assert(
    fc.property(arbShape({ rank: [1, 3], size: [1, 5] }), fc.array(fc.nat(5), { minLength: 2, maxLength: 12 }), (shape, kinds) => {
      const f = (x: Tensor, y: Tensor) =>
        kinds.reduce((h, k) => [() => P.tanh(h), () => P.mul(h, y), () => P.add(h, 1), () => P.sin(h), () => P.sub(y, h), () => P.maximum(h, y)][k]!(), x);
      const x = seededTensor(shape, 1);
      const y = seededTensor(shape, 2);
      const { stats, program } = jit(f).lower(x, y);
      assert.equal(stats.loops, 1, program.describe());
      assert.equal(stats.kernels, 0, program.describe());
      assert.ok(stats.loops < stats.elementwise, `${stats.loops} loops for ${stats.elementwise} elementwise equations`);
      assertSame(jit(f)(x, y), f(x, y), 0, 'chain');
    }),
    RUNS,
  );
});

test('fusion: a reduction over any axes fed by an elementwise chain is one loop and equals eager (sum, max, min; f32, f64)', () => {
  fc.assert(
    fc.property(
      arbShape({ rank: [1, 4], size: [1, 5] }).chain((s) => fc.tuple(fc.constant(s), arbAxes(s.length))),
      arbSeed,
      fc.constantFrom<FloatDType>('float32', 'float64'),
      fc.constantFrom('sum', 'max', 'min'),
      fc.boolean(),
      ([shape, axes], seed, dtype, kind, keepdims) => {
        const reduce = kind === 'sum' ? P.sum : kind === 'max' ? P.max : P.min;
        const f = (x: Tensor, y: Tensor) => reduce(P.mul(P.tanh(x), P.add(y, 1)), axes, { keepdims });
        const x = P.astype(seededTensor(shape, seed), dtype);
        const y = P.astype(seededTensor(shape, seed + 1), dtype);
        const jf = jit(f);
        const { stats, program } = jf.lower(x, y);
        assert.equal(stats.loops, 1, program.describe());
        assert.equal(stats.kernels, 0, program.describe());
        // a float32 sum: eager adds float32 terms in float32 lanes, the fused loop in float64, so
        // they may differ by the float32 summation bound (n + 4)·ε·Σ|tᵢ| of each output's n terms
        // (+4: the terms themselves, tanh within 1 ulp), which a sum that cancels (a small result
        // of many terms) can exceed its ε·|result| by far; a wrong fusion (a term lost or doubled)
        // is off by |tᵢ|, still far above it
        let slack: Float64Array | undefined;
        if (kind === 'sum' && dtype === 'float32') {
          const x64 = P.astype(x, 'float64');
          const abs = P.sum(P.abs(P.mul(P.tanh(x64), P.add(P.astype(y, 'float64'), 1))), axes, { keepdims }).dataSync() as Float64Array;
          const n = x.size / Math.max(abs.length, 1);
          slack = abs.map((a) => (n + 4) * 2 ** -24 * a);
        }
        assertSame(jf(x, y), f(x, y), dtype === 'float64' ? TOL64 : TOL32, `${kind} over ${JSON.stringify(axes)}`, slack);
      },
    ),
    RUNS,
  );
});

test('fusion: matmul + bias + tanh is a matmul kernel and one loop in place over its output; sum of squares is one loop', () => {
  const w = seededTensor([4, 3], 1);
  const b = seededTensor([3], 2);
  const x = seededTensor([5, 4], 3);
  const layer = (w: Tensor, b: Tensor, x: Tensor) => P.tanh(P.add(P.matmul(x, w), b));
  const lo = jit(layer).lower(w, b, x);
  assert.deepEqual([lo.stats.kernels, lo.stats.loops, lo.stats.inPlaceLoops], [1, 1, 1], lo.program.describe());
  const loop = lo.program.steps.find((s) => s.kind === 'loop')!;
  assert.ok(loop.kind === 'loop' && loop.covers.includes('broadcast_in_dim') && loop.covers.includes('tanh'));
  assertSame(jit(layer)(w, b, x), layer(w, b, x), 0, 'layer');
  const ss = (x: Tensor) => P.sum(P.square(P.sub(x, 1)), -1);
  const lss = jit(ss).lower(x);
  assert.deepEqual([lss.stats.loops, lss.stats.kernels, lss.stats.fusedEquations], [1, 0, 3], lss.program.describe());
  assertSame(jit(ss)(x), ss(x), 0, 'sum of squares');
});

test('fusion: the training step of a tanh MLP (jit(valueAndGrad)) has fewer loops than elementwise equations and equals eager', () => {
  const params = { w1: seededTensor([6, 5], 1), b1: seededTensor([5], 2), w2: seededTensor([5, 3], 3), b2: seededTensor([3], 4) };
  const x = seededTensor([4, 6], 5);
  const labels = P.tensor([0, 2, 1, 2], 'int32');
  const loss = (p: typeof params) => {
    const h = P.tanh(P.add(P.matmul(x, p.w1), p.b1));
    const logits = P.add(P.matmul(h, p.w2), p.b2);
    return P.neg(P.mean(P.sum(P.mul(P.logSoftmax(logits, -1), P.oneHot(labels, 3, 'float64')), 1)));
  };
  const vg = P.valueAndGrad(loss);
  const jvg = jit(vg);
  const { stats, program } = jvg.lower(params);
  assert.ok(stats.loops < stats.elementwise, program.describe());
  assert.ok(stats.fusedLoops >= 3, program.describe());
  const [l1, g1] = vg(params) as [Tensor, Record<string, Tensor>];
  const [l2, g2] = jvg(params) as [Tensor, Record<string, Tensor>];
  assertSame(l2, l1, TOL64, 'loss');
  for (const k of Object.keys(g1)) assertSame(g2[k]!, g1[k]!, TOL64, `grad ${k}`);
});

// ---- errors ------------------------------------------------------------------------------------------

test('errors name jit and the problem', () => {
  assert.throws(() => jit(42 as unknown as () => Tensor), /jit: expected a function, got number/);
  const x = P.tensor([1, 2], 'float64');
  assert.throws(() => jit((a: Tensor) => a, { donate: [1] })(x), /jit\(anonymous\)|donate index 1 is out of range for a call with 1 argument/);
  const branchy = jit(function branchy(a: Tensor) {
    return a.item() > 0 ? a : P.neg(a);
  });
  assert.throws(() => branchy(P.tensor([1], 'float64')), (e: unknown) => e instanceof ConcretizationError && /inside jit/.test(e.message) && /static/.test(e.message));
  assert.throws(() => jit((a: Tensor) => a)(new Map() as unknown as Tensor), /jit\(anonymous\): arguments: tree: unsupported node/);
});

test('outputs that are inputs, constants or reshapes of inputs come back intact', () => {
  const c = P.tensor([[1, 2]], 'float64');
  const f = jit((a: Tensor) => [a, c, P.reshape(a, [a.size]), P.stopGradient(a), 3] as const);
  const a = P.tensor([[5, 6], [7, 8]], 'float64');
  const [y0, y1, y2, y3, k] = f(a) as unknown as [Tensor, Tensor, Tensor, Tensor, number];
  assert.deepEqual(y0.toNested(), [[5, 6], [7, 8]]);
  assert.deepEqual(y1.toNested(), [[1, 2]]);
  assert.deepEqual(y2.toNested(), [5, 6, 7, 8]);
  assert.deepEqual(y3.toNested(), [[5, 6], [7, 8]]);
  assert.equal(k, 3);
  const dtypes: DType[] = [y0.dtype, y2.dtype];
  assert.deepEqual(dtypes, ['float64', 'float64']);
});
