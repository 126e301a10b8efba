import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  add, concat, eye, grad, hessian, mul, partition, reshape, stack, sum, summary, summaryN, summaryOverBatches,
  tensor, transpose, matmul, type Tensor, slice, shareEvaluations, tree, jit,
} from '../src/index.js';
import { activation } from '../src/nn/activations.js';
import { linear } from '../src/nn/linear.js';
import { directional, reducedLoss, sortedTuples } from '../src/summary/summary.js';
import { taylorInterpolation } from '../src/summary/taylor-interpolation.js';
import { compilePartition, type Member, type Partition } from '../src/summary/partition.js';
import { mlpApply, type MlpParams } from '../src/nn/mlp.js';
import { mse, nll } from '../src/nn/losses.js';
import { arbProblem, ravelTree, type SmallProblem, unravelLike, withValues } from './harness/models.js';
import { arbSeed, assertClose, RUNS, finiteDifference, seededTensor, runs } from './harness/index.js';

/** Laws of the partition summaries (issue 3). */

const T64 = { rtol: 1e-8, atol: 1e-10 };
const diag = (v: Tensor) => mul(eye(v.size, 'float64'), reshape(v, [1, v.size]));

test('finest partition with u = 1 gives the exact Hessian; with any u it gives U·H·U', () => {
  fc.assert(
    fc.property(arbProblem(), (pb) => {
      const fin = partition.finest(pb.params);
      const flatLoss = (v: Tensor) => pb.loss(unravelLike(pb.params, v));
      const theta = ravelTree(pb.params);
      const H = hessian(flatLoss)(theta) as Tensor;
      const ones = unravelLike(pb.params, add(mul(theta, 0), 1));
      const s1 = summary(pb.loss, pb.params, ones, fin, { order: 2 });
      assertClose(s1.H!, H, T64, 'H̄(finest, u=1) vs hessian');
      assertClose(s1.g, grad(flatLoss)(theta) as Tensor, T64, 'ḡ(finest, u=1) vs grad');
      const su = summary(pb.loss, pb.params, pb.u, fin, { order: 2 });
      const U = diag(ravelTree(pb.u));
      assertClose(su.H!, matmul(matmul(U, H), U), T64, 'H̄(finest, u) vs U·H·U');
    }),
    RUNS,
  );
});

test('trivial partition gives the scalars uᵀ∇L and uᵀHu', () => {
  fc.assert(
    fc.property(arbProblem(), (pb) => {
      const flatLoss = (v: Tensor) => pb.loss(unravelLike(pb.params, v));
      const theta = ravelTree(pb.params);
      const u = ravelTree(pb.u);
      const s = summary(pb.loss, pb.params, pb.u, partition.trivial(pb.params), { order: 2 });
      const g = grad(flatLoss)(theta) as Tensor;
      const H = hessian(flatLoss)(theta) as Tensor;
      assertClose(reshape(s.g, []), sum(mul(u, g)), T64, 'uᵀ∇L');
      assertClose(reshape(s.H!, []), sum(mul(u, matmul(H, u))), T64, 'uᵀHu');
    }),
    RUNS,
  );
});

/** A random coarsening map of S groups onto S' ≤ S groups, every new group used. */
const arbMerge = (S: number) =>
  fc.integer({ min: 1, max: S }).chain((S2) =>
    fc.array(fc.integer({ min: 0, max: S2 - 1 }), { minLength: S - S2, maxLength: S - S2 }).chain((extra) =>
      fc.shuffledSubarray([...Array.from({ length: S2 }, (_, i) => i), ...extra], { minLength: S, maxLength: S }),
    ),
  );

test('merging groups by a 0/1 matrix A maps ḡ to Aᵀḡ, H̄ to AᵀH̄A and D̄³ to its A-contraction', () => {
  fc.assert(
    fc.property(arbProblem({ maxDepth: 2 }).chain((pb) => fc.tuple(fc.constant(pb), arbMerge(partition.canonical(pb.params).length))), ([pb, map]) => {
      const base = partition.canonical(pb.params);
      const S = base.length;
      const S2 = Math.max(...map) + 1;
      const A = tensor(Array.from({ length: S * S2 }, (_, k) => (map[Math.floor(k / S2)] === k % S2 ? 1 : 0)), 'float64', [S, S2]);
      const s = summary(pb.loss, pb.params, pb.u, base, { order: 3, full3: true });
      const m = summary(pb.loss, pb.params, pb.u, partition.merge(base, map), { order: 3, full3: true });
      const At = transpose(A, [1, 0]);
      assertClose(m.g, matmul(At, s.g), T64, 'Aᵀḡ');
      assertClose(m.H!, matmul(matmul(At, s.H!), A), T64, 'AᵀH̄A');
      // D3'[a,b,c] = Σ A[s,a] A[t,b] A[v,c] D3[s,t,v]
      const d1 = reshape(matmul(At, reshape(s.D3!, [S, S * S])), [S2, S, S]);
      const d2 = transpose(matmul(At, reshape(transpose(d1, [1, 0, 2]), [S, S2 * S])), [0, 1]);
      const d2r = transpose(reshape(d2, [S2, S2, S]), [1, 0, 2]);
      const d3 = reshape(matmul(reshape(d2r, [S2 * S2, S]), A), [S2, S2, S2]);
      assertClose(m.D3!, d3, T64, 'A-contraction of D̄³');
    }),
    RUNS,
  );
});

test('H̄ and D̄³ are symmetric, order3 is the diagonal of D̄³, and ḡ, H̄ match finite differences of ψ', () => {
  fc.assert(
    fc.property(arbProblem(), (pb) => {
      const part = partition.canonical(pb.params);
      const s = summary(pb.loss, pb.params, pb.u, part, { order: 3, full3: true });
      const S = part.length;
      assertClose(s.H!, transpose(s.H!, [1, 0]), T64, 'H̄ symmetric');
      for (const perm of [[0, 2, 1], [1, 0, 2], [2, 1, 0], [1, 2, 0]]) assertClose(s.D3!, transpose(s.D3!, perm), T64, `D̄³ symmetric ${perm}`);
      const diagD3 = Array.from({ length: S }, (_, i) => (s.D3!.dataSync() as Float64Array)[i * S * S + i * S + i]!);
      assertClose(s.order3!, tensor(diagD3, 'float64', [S]), T64, 'order3 = diag D̄³');
      const psi = reducedLoss(pb.loss, pb.params, pb.u, compilePartition(part, pb.params));
      const eta0 = tensor(new Array(S).fill(0), 'float64', [S]);
      assertClose(s.g, finiteDifference(psi, eta0, 1e-5), { rtol: 1e-5, atol: 1e-7 }, 'ḡ vs finite differences');
      const rows = Array.from({ length: S }, (_, i) => finiteDifference((e: Tensor) => reshape(slice(grad(psi)(e) as Tensor, [i], [i + 1]), []), eta0, 1e-5));
      assertClose(s.H!, stack(rows), { rtol: 1e-5, atol: 1e-7 }, 'H̄ vs finite differences of ∇ψ');
    }),
    RUNS,
  );
});

test('summaryN(k) agrees with g (k = 1), H̄ (k = 2) and D̄³ (k = 3)', () => {
  fc.assert(
    fc.property(arbProblem({ maxDepth: 2 }), (pb) => {
      const part = partition.canonical(pb.params);
      const s = summary(pb.loss, pb.params, pb.u, part, { order: 3, full3: true });
      assertClose(summaryN(pb.loss, pb.params, pb.u, part, 1).dense(), s.g, T64, 'k=1');
      assertClose(summaryN(pb.loss, pb.params, pb.u, part, 2).dense(), s.H!, T64, 'k=2');
      assertClose(summaryN(pb.loss, pb.params, pb.u, part, 3).dense(), s.D3!, T64, 'k=3');
    }),
    runs(100),
  );
});

test("strategy 'vmap' (one batched pass) gives the summary of the default per-group loop: L, ḡ, H̄ and order3 (float64)", () => {
  fc.assert(
    fc.property(arbProblem({ maxDepth: 2 }), (pb) => {
      const part = partition.canonical(pb.params);
      const loop = summary(pb.loss, pb.params, pb.u, part, { order: 3 });
      const batched = summary(pb.loss, pb.params, pb.u, part, { order: 3, strategy: 'vmap' });
      for (const key of ['loss', 'g', 'H', 'order3'] as const) assertClose(batched[key]!, loop[key]!, T64, key);
    }),
    runs(40),
  );
});

test('Taylor interpolation recovers every order-k partial of a homogeneous polynomial from its k-th coefficients along the lines Σ j_m·e_m (k ≤ 5, plain float64)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), arbSeed, (S, k, seed) => {
      const tuples = sortedTuples(S, k);
      const plan = taylorInterpolation(S, k, tuples);
      // f(x) = Σ_i c_i·xⁱ over the multi-indices i of the tuples: ∂ⁱf = c_i·i!, and along the line
      // t·j the k-th derivative is k!·Σ_i c_i·jⁱ
      const c = Array.from(seededTensor([tuples.length], seed).dataSync() as Float64Array);
      const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
      const jets = plan.directions.map((j) => fact(k) * plan.directions.reduce((acc, i, q) => acc + c[q]! * i.reduce((p, im, m) => p * j[m]! ** im, 1), 0));
      plan.directions.forEach((i, t) => {
        let got = 0;
        for (let w = 0; w < plan.width; w++) got += plan.weights[t * plan.width + w]! * jets[plan.take[t * plan.width + w]!]!;
        const want = c[t]! * i.reduce((p, im) => p * fact(im), 1);
        // |γ| ≤ 1 over at most C(2k−1, k) terms of size ≤ k!·kᵏ·Σ|c|: rounding far below 1e-9 of that
        assert.ok(Math.abs(got - want) <= 1e-9 * fact(k) * k ** k * tuples.length, `S=${S} k=${k} tuple ${tuples[t]}: ${got} vs ${want}`);
      });
    }),
    runs(100),
  );
});

test('summaryN(k) equals the nested directional derivative of ψ along each sorted tuple (k = 1 … 4, float64)', () => {
  fc.assert(
    fc.property(arbProblem({ maxDepth: 1 }), fc.integer({ min: 1, max: 4 }), (pb, k) => {
      const part = partition.canonical(pb.params);
      const sn = summaryN(pb.loss, pb.params, pb.u, part, k);
      const S = sn.size;
      const cp = compilePartition(part, pb.params);
      const psi = reducedLoss(pb.loss, pb.params, pb.u, cp);
      const eta0 = mul(eye(S, 'float64'), 0);
      const basis = (s: number) => reshape(slice(eye(S, 'float64'), [s, 0], [s + 1, S]), [S]);
      const want = stack(sn.index.map((t) => directional(psi, reshape(slice(eta0, [0, 0], [1, S]), [S]), t.map(basis))));
      assertClose(sn.values, want, T64, `k=${k}`);
    }),
    runs(25),
  );
});

test('summaries over batches add up to the summary over their union (mean losses weighted by size)', () => {
  fc.assert(
    fc.property(arbProblem(), fc.integer({ min: 1, max: 3 }), (pb, cut0) => {
      if (pb.lossKind !== 'mse') return; // mse batches slice simply; nll is covered by the same linearity
      const n = pb.x.shape[0]!;
      const cut = Math.min(cut0, n - 1);
      const config = { sizes: pb.sizes, activation: pb.activation, output: 'identity' };
      const lossOn = (p: MlpParams<'float64'>, b: { x: Tensor<'float64'>; y: Tensor<'float64'> }) => mse(mlpApply(config, p, b.x), b.y);
      const part = partition.canonical(pb.params);
      const whole = summary(pb.loss, pb.params, pb.u, part, { order: 3 });
      if (cut < 1) return;
      const yy = pb.y as Tensor<'float64'>;
      const part1 = { x: slice(pb.x, [0, 0], [cut, pb.x.shape[1]!]), y: slice(yy, [0, 0], [cut, yy.shape[1]!]) };
      const part2 = { x: slice(pb.x, [cut, 0], [n, pb.x.shape[1]!]), y: slice(yy, [cut, 0], [n, yy.shape[1]!]) };
      const multi = summaryOverBatches(lossOn, pb.params, pb.u, part, [{ batch: part1, size: cut }, { batch: part2, size: n - cut }], { order: 3 });
      for (const k of ['loss', 'g', 'H', 'order3'] as const) assertClose(multi[k]!, whole[k]!, T64, k);
    }),
    RUNS,
  );
});

test('reparameterisation laws: a positively homogeneous rescaling of consecutive relu layers, with the direction rescaled alike, leaves the summary unchanged; scaling the direction of group s by c maps ḡ→Cḡ, H̄→CH̄C, order3→c³·order3', () => {
  fc.assert(
    fc.property(
      arbProblem({ activations: ['relu'] }).filter((pb) => pb.sizes.length >= 3),
      fc.constantFrom(0.25, 0.5, 2, 4),
      fc.array(fc.double({ min: -3, max: 3, noNaN: true }).filter((c) => Math.abs(c) > 0.1), { minLength: 8, maxLength: 8 }),
      (pb0, c, cs) => {
        // The invariance is exact in floating point only where rescaling is: c a power of two and no
        // value or product near underflow. Otherwise rounding moves a pre-activation that cancels to
        // ~0 across relu's kink, where L is not differentiable and both summaries are right (a seed
        // drew θ = 3e-323, scaled by 0.25 with rounding, and turned a unit off).
        const pb = withValues(pb0, flushBelow(1e-30));
        const part = partition.canonical(pb.params);
        const s = summary(pb.loss, pb.params, pb.u, part, { order: 3 });
        // layer 0 (weight and bias) × c, layer 1 weight × 1/c: relu(c·z)/c = relu(z), so L is unchanged
        const scaleLayers = (p: MlpParams<'float64'>): MlpParams<'float64'> => ({
          layers: p.layers.map((l, i) =>
            i === 0 ? { weight: mul(l.weight, c), bias: mul(l.bias, c) } : i === 1 ? { weight: mul(l.weight, 1 / c), bias: l.bias } : l,
          ),
        });
        const r = summary(pb.loss, scaleLayers(pb.params), scaleLayers(pb.u), part, { order: 3 });
        const tol = { rtol: 1e-7, atol: 1e-9 };
        assertClose(r.loss, s.loss, tol, 'loss');
        assertClose(r.g, s.g, tol, 'ḡ invariant');
        assertClose(r.H!, s.H!, tol, 'H̄ invariant');
        assertClose(r.order3!, s.order3!, tol, 'order3 invariant');
        // direction scaling per group
        const S = part.length;
        const cv = tensor(cs.slice(0, S), 'float64', [S]);
        const scaledU: MlpParams<'float64'> = {
          layers: pb.u.layers.map((l, i) => ({ weight: mul(l.weight, cs[2 * i]!), bias: mul(l.bias, cs[2 * i + 1]!) })),
        };
        const d = summary(pb.loss, pb.params, scaledU, part, { order: 3 });
        assertClose(d.g, mul(cv, s.g), tol, 'ḡ → Cḡ');
        assertClose(d.H!, mul(mul(reshape(cv, [S, 1]), s.H!), reshape(cv, [1, S])), tol, 'H̄ → CH̄C');
        assertClose(d.order3!, mul(mul(mul(cv, cv), cv), s.order3!), tol, 'order3 → c³ order3');
      },
    ),
    RUNS,
  );
});

/** Replaces values of magnitude below `tiny` by 0: products of a few such values stay clear of subnormals. */
const flushBelow = (tiny: number) => (t: Tensor<'float64'>): Tensor<'float64'> =>
  tensor(Array.from(t.dataSync(), (v) => (Math.abs(v) < tiny ? 0 : v)), 'float64', t.shape);

test('summary under jit = eager summary, and its staged program does the eager work: as many matmuls as eager evaluates with its eval cache', () => {
  fc.assert(
    fc.property(arbProblem(), fc.constantFrom('canonical', 'wb', 'finest'), arbSeed, (pb0, name, seed) => {
      // every matmul operand of more than one element, values seeded (no repeated edge values): the
      // eval cache keys a one-element tensor by its value, and so merges equal values that staging,
      // which has none, keeps apart
      fc.pre(pb0.x.shape[0]! > 1 && pb0.sizes.every((n) => n > 1));
      const pb = withSeededValues(pb0, seed);
      const part = partition.named(name, pb.params);
      const f = (p: typeof pb.params, u: typeof pb.u) => {
        const s = summary(pb.loss, p, u, part, { order: 3 });
        return [s.loss, s.g, s.H!, s.order3!];
      };
      let eagerMatmuls = 0;
      const eager = shareEvaluations(f, { onEvaluate: (prim) => void (prim === 'matmul' && eagerMatmuls++) })(pb.params, pb.u);
      const jf = jit(f);
      const staged = jf.lower(pb.params, pb.u).jaxpr.equations.filter((e) => e.prim.name === 'matmul').length;
      assert.equal(staged, eagerMatmuls, `${name}: staged matmuls = eager matmul evaluations`);
      jf(pb.params, pb.u).forEach((t, i) => assertClose(t, eager[i]!, T64, `${name}: output ${i} under jit`));
    }),
    runs(30),
  );
});

/** The same problem with θ, u and x replaced by seeded uniform values. */
function withSeededValues(pb: SmallProblem, seed: number): SmallProblem {
  let k = seed;
  return withValues(pb, (t) => seededTensor(t.shape, k++));
}

test('every pass of the order-3 summary runs at θ itself: each layer\'s product h_{ℓ−1}·W_ℓᵀ at θ is evaluated once, not once per group, and so is h_{ℓ−1}·u_ℓᵀ where a group moves a whole W_ℓ', () => {
  fc.assert(
    fc.property(arbProblem(), fc.constantFrom('canonical', 'wb', 'finest'), arbSeed, (pb0, name, seed) => {
      // operands are recognised by value: θ, u and x drawn from a continuous distribution (no
      // repeated edge values such as 0 or 1), so that distinct products have distinct operands
      const pb = withSeededValues(pb0, seed);
      // the primal forward, layer by layer, computed here: the operands of each layer's product
      const act = activation(pb.activation);
      // and the products of h_{ℓ−1} with the direction's u_ℓ (ḡ, H̄'s rows and order3 all need it;
      // with 'finest' each group moves one element of W_ℓ, so there is no one such product)
      const operands: [number[], number[]][] = [];
      const directional: [number[], number[]][] = [];
      let h: Tensor = pb.x;
      pb.params.layers.forEach((layer, i) => {
        operands.push([Array.from(h.dataSync()), Array.from(transpose(layer.weight, [1, 0]).dataSync())]);
        directional.push([Array.from(h.dataSync()), Array.from(transpose(pb.u.layers[i]!.weight, [1, 0]).dataSync())]);
        h = linear(layer, h);
        if (i < pb.params.layers.length - 1) h = act(h);
      });
      const sameValues = (t: Tensor, v: number[]) => t.size === v.length && Array.from(t.dataSync()).every((x, k) => Object.is(x, v[k]));
      const counts = operands.map(() => 0);
      const counted = directional.map(() => 0);
      const part = partition.named(name, pb.params);
      const s = shareEvaluations(() => summary(pb.loss, pb.params, pb.u, part, { order: 3 }), {
        onEvaluate: (prim, args) => {
          if (prim !== 'matmul') return;
          operands.forEach(([a, b], l) => {
            if (sameValues(args[0]!, a) && sameValues(args[1]!, b)) counts[l]!++;
          });
          directional.forEach(([a, b], l) => {
            if (sameValues(args[0]!, a) && sameValues(args[1]!, b)) counted[l]!++;
          });
        },
      })();
      assert.deepEqual(counts, operands.map(() => 1), `${name} (S = ${part.length}): evaluations of h_{ℓ−1}·W_ℓᵀ per layer`);
      if (name !== 'finest') assert.deepEqual(counted, directional.map(() => 1), `${name} (S = ${part.length}): evaluations of h_{ℓ−1}·u_ℓᵀ per layer`);
      assertClose(s.loss, pb.loss(pb.params), { atol: 0 }, 'L(θ), exactly');
    }),
    runs(30),
  );
});

test('partitions that miss an element, repeat one, or name an unknown parameter are rejected by name', () => {

  const params = { layers: [{ weight: tensor([[1, 2]], 'float64'), bias: tensor([0], 'float64') }] };
  assert.throws(() => compilePartition([['layers.0.weight']], params), /'layers\.0\.bias'.*no group/);
  assert.throws(() => compilePartition([['layers.0.weight', 'layers.0.bias'], ['layers.0.bias']], params), /element 0 of 'layers\.0\.bias' is in group 0 and again in group 1/);
  assert.throws(() => compilePartition([['layers.0.weight', 'layers.0.bias', 'layers.1.weight']], params), /unknown parameter 'layers\.1\.weight'/);
  assert.throws(() => compilePartition([[{ name: 'layers.0.weight', index: [0, 0] }, { name: 'layers.0.weight', index: [1] }, 'layers.0.bias']], params), /repeated in group 0/);
  assert.throws(() => compilePartition([[{ name: 'layers.0.weight', index: [2] }], ['layers.0.bias']], params), /selects element 2 of 'layers\.0\.weight', which has 2 elements/);
  assert.throws(() => partition.named('blocks:x', params), /unknown partition name 'blocks:x'/);
  void concat;
});

test('custom partitions decode from JSON, with malformed fields named by path', () => {

  const params = { layers: [{ weight: tensor([[1, 2]], 'float64'), bias: tensor([0], 'float64') }] };
  const p = partition.fromJSON('[["layers.0.weight"], [{"name": "layers.0.bias", "index": [0]}]]', params);
  assert.deepEqual(p, [['layers.0.weight'], [{ name: 'layers.0.bias', index: [0] }]]);
  assert.throws(() => partition.fromJSON('[["layers.0.weight"], [{"name": "layers.0.bias", "index": ["a"]}]]', params), /partition.*1\.0.*index/);
  assert.throws(() => partition.fromJSON('[["layers.0.weight"]', params), /partition/);
  assert.throws(() => partition.fromJSON([['layers.0.weight']], params), /'layers\.0\.bias'.*no group/);
});

/**
 * The per-element reference of a partition's meaning: every element's group, or the first error
 * met in member order (its message), with one index per element of every tensor a member names.
 */
function partitionByElement(part: Partition, sizes: ReadonlyMap<string, number>): Map<string, number[]> | string {
  const own = new Map([...sizes].map(([n, k]) => [n, new Array<number>(k).fill(-1)]));
  for (const [s, group] of part.entries()) {
    for (const m of group) {
      const name = typeof m === 'string' ? m : m.name;
      const o = own.get(name)!;
      for (const i of typeof m === 'string' ? o.keys() : m.index) {
        if (i >= o.length) return `selects element ${i} of '${name}'`;
        if (o[i] !== -1) return o[i] === s ? `element ${i} of '${name}' is repeated in group ${s}` : `element ${i} of '${name}' is in group ${o[i]} and again in group ${s}`;
        o[i] = s;
      }
    }
  }
  for (const [n, o] of own) if (o.includes(-1)) return o.length && o.every((g) => g === -1) ? `'${n}' (${o.length} elements) belongs to no group` : `element ${o.indexOf(-1)} of '${n}' belongs to no group`;
  return own;
}

test('compilePartition gives every element the group of the per-element reading, whole tensors kept whole; bad partitions fail with its error', () => {
  // generated: tensor sizes, each element's group, how each (tensor, group) piece is written (a
  // whole name when the piece is the tensor, else index lists), the member order, and sometimes a
  // repeated or stray member
  const arb = fc
    .array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 })
    .chain((sizes) =>
      fc.record({
        sizes: fc.constant(sizes),
        S: fc.integer({ min: 1, max: 3 }),
        groups: fc.tuple(...sizes.map((k) => fc.array(fc.nat(2), { minLength: k, maxLength: k }))),
        asIndex: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        order: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
        extra: fc.option(fc.record({ leaf: fc.nat(3), group: fc.nat(2), index: fc.option(fc.nat(6)) }), { freq: 3 }),
      }),
    );
  fc.assert(
    fc.property(arb, ({ sizes, S, groups, asIndex, order, extra }) => {
      const params = Object.fromEntries(sizes.map((k, l) => [`p${l}`, tensor(Array.from({ length: k }, (_, i) => i), 'float64')]));
      const part: Member[][] = Array.from({ length: S }, () => []);
      let piece = 0;
      groups.forEach((gs, l) => {
        const own = gs.map((g) => g % S);
        for (let s = 0; s < S; s++) {
          const index = own.flatMap((g, i) => (g === s ? [i] : []));
          if (index.length === 0) continue;
          const whole = index.length === own.length && !asIndex[piece++ % asIndex.length];
          part[s]!.push(whole ? `p${l}` : { name: `p${l}`, index });
        }
      });
      if (extra) {
        const l = extra.leaf % sizes.length;
        part[extra.group % S]!.push(extra.index === null ? `p${l}` : { name: `p${l}`, index: [extra.index] });
      }
      part.forEach((g, s) => g.push(...g.splice(0, order[s]! % (g.length || 1)))); // a rotation of each group's members
      const expected = partitionByElement(part, new Map(sizes.map((k, l) => [`p${l}`, k])));
      if (part.some((g) => g.length === 0)) return;
      if (typeof expected === 'string') {
        assert.throws(() => compilePartition(part, params), (e: Error) => e.message.includes(expected), `expected: ${expected}`);
        return;
      }
      const cp = compilePartition(part, params);
      cp.leaves.forEach((lg, l) => {
        const want = expected.get(`p${l}`)!;
        if (want.every((g) => g === want[0])) assert.deepEqual(lg, { path: `p${l}`, kind: 'whole', group: want[0] });
        else assert.deepEqual({ ...lg, groupOf: lg.kind === 'split' ? [...lg.groupOf] : null }, { path: `p${l}`, kind: 'split', groupOf: want });
      });
    }),
    runs(200),
  );
});
