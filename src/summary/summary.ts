import { ShapeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { jvp } from '../transforms/jvp.js';
import { jet } from '../transforms/jet.js';
import { linearizeOutputs } from '../transforms/vjp.js';
import { linearTranspose } from '../transforms/linear-transpose.js';
import { shareEvaluations } from '../transforms/share-evaluations.js';
import type { MaybeZero } from '../transforms/args.js';
import { grad, valueAndGrad } from '../transforms/grad.js';
import { jacfwd } from '../transforms/jac.js';
import { vmap } from '../transforms/vmap.js';
import { eye, fromBuffer, ones, zeros } from '../ops/create.js';
import { sum } from '../ops/reduce.js';
import { add, astype, mul } from '../ops/arith.js';
import { slice, reshape, stack, take } from '../ops/shape-ops.js';
import { checkDirection, displace, groupDirection, scaleGroups } from './displace.js';
import { type CompiledPartition, compilePartitionCached, type Partition } from './partition.js';
import { taylorInterpolation } from './taylor-interpolation.js';

/**
 * The partition summary of a loss L along a direction u (Wolinski 2023): with
 * ψ(η) = L(θ + U·I_{P:S}·η) for η ∈ ℝ^S,
 *   ḡ = ∇ψ(0) = I_{S:P} U ∇L,   H̄ = ∇²ψ(0) = I_{S:P} U H U I_{P:S} (S×S, all cross terms),
 *   order3[s] = ∂³ψ(0)[e_s, e_s, e_s],   D̄³ = ∇³ψ(0) (S×S×S, on demand).
 * Everything is a derivative of ψ taken by composing transforms; the P×P Hessian is never formed.
 */
export interface Summary {
  /** L(θ), a scalar tensor. */
  readonly loss: Tensor;
  /** ḡ, shape [S]. */
  readonly g: Tensor;
  /** H̄, shape [S, S] (order ≥ 2). */
  readonly H?: Tensor;
  /** Diagonal of the third derivative, shape [S] (order 3). */
  readonly order3?: Tensor;
  /** The full third derivative, shape [S, S, S] (order 3 with `full3`). */
  readonly D3?: Tensor;
}

/** Options of {@link summary}. */
export interface SummaryOptions {
  /** Highest derivative order to compute (default 3). */
  readonly order?: 1 | 2 | 3;
  /** Also compute the full S×S×S third derivative (S² directional passes, batched). */
  readonly full3?: boolean;
  /**
   * How the S directional passes run: 'loop' (default) runs one pass per group, where every
   * parameter outside the group is a constant (symbolic-zero tangents: layers before the group cost
   * nothing extra); 'vmap' batches the S passes into one (larger kernels, no zero skipping).
   */
  readonly strategy?: 'loop' | 'vmap';
}

/** ψ(η) = L(θ + U·I·η) for a compiled partition. */
export const reducedLoss = <P>(loss: (p: P) => Tensor, params: P, u: P, cp: CompiledPartition) =>
  (eta: Tensor): Tensor => loss(displace(params, u, cp, eta));

const resolve = (partition: Partition | CompiledPartition, params: unknown): CompiledPartition =>
  'leaves' in partition && 'size' in partition ? (partition as CompiledPartition) : compilePartitionCached(partition as Partition, params);

/**
 * Nested directional derivative ∂ᵏf(x0)[d_1, …, d_k] (k forward passes nested, 2ᵏ streams; with
 * one direction repeated k times, {@link directionalPower} gives the same in one jet pass). `x0` and the directions are trees of the same structure, in which a
 * direction may leave any subtree `null` (a symbolic zero: that part of x stays fixed). Exact; no
 * finite differences.
 */
export function directional<X>(f: (x: X) => Tensor, x0: X, dirs: readonly MaybeZero<X>[]): Tensor {
  let g = f;
  for (const d of dirs) {
    const prev = g;
    g = (x: X) => jvp(prev, [x] as [X], [d] as [MaybeZero<X>])[1];
  }
  return g(x0);
}

/**
 * ∂ᵏf(x0)[d, …, d] (k times the same direction): the k-th Taylor term of t ↦ f(x0 + t·d), one
 * `jet` pass of k + 1 coefficients. `d` may leave any subtree `null` (that part of x stays fixed).
 */
export function directionalPower<X>(f: (x: X) => Tensor, x0: X, d: MaybeZero<X>, k: number): Tensor {
  const terms: MaybeZero<X>[] = [d, ...Array.from({ length: k - 1 }, () => null)];
  return jet(f, [x0] as [X], [terms])[1][k - 1]!;
}

/**
 * The loss and the reduced gradient at θ, [L(θ), [ḡ_0 … ḡ_{S−1}]] with ḡ_s = ∂L(θ)[U·I·e_s]: the transpose of
 * the linear map τ ↦ ∂L(θ)[U·I·τ] (τ ∈ ℝ^S) applied to 1, so that L's forward pass runs at θ
 * itself. The tangent of group s is a scalar times u, which the linear trace keeps factored:
 * `matmul(x, (τ_s·u)ᵀ)` is τ_s·(x·uᵀ), and ḡ_s = Σ ct ∘ (x·uᵀ) — elementwise, where the gradient
 * in parameter space would need the matmul xᵀ·ct per layer.
 */
function lossAndReducedGradient<P>(loss: (p: P) => Tensor, params: P, u: P, cp: CompiledPartition, dtype: Tensor['dtype']): [Tensor, Tensor[]] {
  const taus = Array.from({ length: cp.size }, () => zeros([], dtype));
  let value: Tensor | null = null;
  const slope = (...tau: Tensor[]): Tensor => {
    const [l, dl] = jvp(loss, [params] as [P], [scaleGroups('summary', u, cp, tau)] as [MaybeZero<P>]);
    value = l;
    return dl;
  };
  const g = linearTranspose(slope, ...taus)(ones([], dtype));
  return [value!, g];
}

/**
 * Computes the summary of `loss` at `params` along `u` for a partition (see {@link Summary}).
 * Cost: one linearisation of (L, ḡ) and its tangent map applied to the S group directions for
 * H̄; one Taylor-mode (`jet`) pass of four coefficients per group for order3; S² directional
 * passes for the full D̄³.
 *
 *     const s = summary((p) => nll(mlp(p, x), y), params, direction, partition.canonical(params), { order: 3 });
 */
export function summary<P>(loss: (p: P) => Tensor, params: P, u: P, partition: Partition | CompiledPartition, opts: SummaryOptions = {}): Summary {
  // the S passes all run the primal forward at θ and repeat the products x·u_sᵀ: share them
  return shareEvaluations(summaryUnshared<P>)(loss, params, u, partition, opts);
}

function summaryUnshared<P>(loss: (p: P) => Tensor, params: P, u: P, partition: Partition | CompiledPartition, opts: SummaryOptions): Summary {
  const order = opts.order ?? 3;
  if (![1, 2, 3].includes(order)) throw new ShapeError(`summary: order must be 1, 2 or 3, got ${order} (use summaryN for higher orders)`);
  const dtype = checkDirection('summary', params, u);
  const cp = resolve(partition, params);
  const S = cp.size;
  const eta0: Tensor = zeros([S], dtype);
  const psi = reducedLoss(loss, params, u, cp);
  const out: { -readonly [K in keyof Summary]: Summary[K] } = { loss: eta0, g: eta0 };
  if (order === 1) {
    const [l, g] = lossAndReducedGradient(loss, params, u, cp, dtype);
    [out.loss, out.g] = [l, stack(g)];
  } else if (opts.strategy === 'vmap') {
    // one batched pass: primal (L, ḡ) and the S columns H̄·e_s
    const basis = eye(S, dtype);
    const [[ls, gs], [, hCols]] = vmap((e: Tensor) => jvp(valueAndGrad(psi), [eta0], [e]))(basis) as unknown as [[Tensor, Tensor], [Tensor, Tensor]];
    out.loss = reshape(slice(ls, [0], [1]), []);
    out.g = reshape(slice(gs, [0, 0], [1, S]), [S]);
    out.H = hCols;
    if (order === 3) out.order3 = vmap((e: Tensor) => directionalPower(psi, eta0, e, 3))(basis);
  } else {
    // One linearisation of θ' ↦ (L, ḡ)(θ') at θ records the tangent map once (the primal forward
    // and backward run once, at θ itself); row s of H̄ is that map applied to the direction of group
    // s, U·I·e_s, whose zero tangents on the other groups' parameters are skipped, not computed.
    const [[l, ...g], fLin] = linearizeOutputs((p: P) => {
      const [value, reduced] = lossAndReducedGradient(loss, p, u, cp, dtype);
      return [value, ...reduced];
    }, params);
    out.loss = l!;
    out.g = stack(g);
    const dirs = Array.from({ length: S }, (_, s) => groupDirection(u, cp, s));
    // H̄ is symmetric: row s is evaluated for the columns t ≥ s only, and the rest mirrored. Only
    // what those outputs reach runs, so a group of a late layer (groups follow the parameters,
    // which models list input to output) needs no backward pass through the layers before it
    const upper = dirs.map((d, s) => fLin(Array.from({ length: S - s }, (_, k) => 1 + s + k), d as MaybeZero<P>));
    const entry = (s: number, t: number): Tensor => (s <= t ? upper[s]![t - s] : upper[t]![s - t]) ?? zeros([], dtype);
    out.H = stack(Array.from({ length: S }, (_, s) => stack(Array.from({ length: S }, (_, t) => entry(s, t)))));
    // ∂³ψ(0)[e_s, e_s, e_s] = ∂³L(θ)[v_s, v_s, v_s] with v_s = U·I·e_s: the third Taylor term of
    // t ↦ L(θ + t·v_s), one jet pass of four coefficients per group (three nested jvps would push
    // eight streams). Every pass runs at θ, so the S passes share the primal forward (and the
    // products x·u_sᵀ) through the cache
    if (order === 3) out.order3 = stack(dirs.map((d) => directionalPower(loss, params, d, 3)));
  }
  if (order === 3 && opts.full3) out.D3 = jacfwd(jacfwd(grad(psi)))(eta0) as Tensor;
  return out;
}

/** A symmetric order-k tensor over S groups stored once: the entries with s₁ ≤ s₂ ≤ … ≤ s_k. */
export interface SymmetricTensor {
  readonly order: number;
  readonly size: number;
  /** The sorted index tuples, in lexicographic order. */
  readonly index: readonly (readonly number[])[];
  /** The value of each tuple, as a tensor of shape [index.length]. */
  readonly values: Tensor;
  /** Expands to the dense S^k tensor. */
  dense(): Tensor;
}

/** All sorted k-tuples over 0..S−1 in lexicographic order. */
export function sortedTuples(S: number, k: number): number[][] {
  const out: number[][] = [];
  const rec = (prefix: number[], from: number) => {
    if (prefix.length === k) {
      out.push(prefix);
      return;
    }
    for (let s = from; s < S; s++) rec([...prefix, s], s);
  };
  rec([], 0);
  return out;
}

/**
 * The order-k reduced derivative ∇ᵏψ(0) for any k ≥ 1: every sorted tuple (s₁ … s_k) is a fixed
 * combination of k-th derivatives of ψ along the lines t ↦ t·Σ_m j_m·e_m, |j| = k (as many lines
 * as tuples; Griewank, Utke & Walther's interpolation, ./taylor-interpolation.ts), each one `jet`
 * pass of k + 1 coefficients, all lines batched with vmap.
 */
export function summaryN<P>(loss: (p: P) => Tensor, params: P, u: P, partition: Partition | CompiledPartition, k: number): SymmetricTensor {
  if (!Number.isInteger(k) || k < 1) throw new ShapeError(`summaryN: order k must be a positive integer, got ${k}`);
  const dtype = checkDirection('summaryN', params, u);
  const cp = resolve(partition, params);
  const S = cp.size;
  const psi = reducedLoss(loss, params, u, cp);
  const eta0 = zeros([S], dtype);
  const index = sortedTuples(S, k);
  const plan = taylorInterpolation(S, k, index);
  const lines = astype(fromBuffer(Float64Array.from(plan.directions.flat()), 'float64', [index.length, S]), dtype);
  const jets = vmap((d: Tensor) => directionalPower(psi, eta0, d, k))(lines);
  const weights = astype(fromBuffer(plan.weights, 'float64', [plan.weights.length]), dtype);
  const values = sum(reshape(mul(take(jets, fromBuffer(plan.take, 'int32', [plan.take.length]), 0), weights), [index.length, plan.width]), 1);
  return {
    order: k,
    size: S,
    index,
    values,
    dense: () => {
      // position of each dense multi-index in `index`, through its sorted tuple
      const pos = new Map(index.map((t, i) => [t.join(','), i]));
      const total = S ** k;
      const where = new Int32Array(total);
      for (let f = 0; f < total; f++) {
        const t: number[] = [];
        let r = f;
        for (let j = 0; j < k; j++) {
          t.unshift(r % S);
          r = Math.floor(r / S);
        }
        where[f] = pos.get([...t].sort((a, b) => a - b).join(','))!;
      }
      return reshape(take(values, Array.from(where), 0), Array.from({ length: k }, () => S));
    },
  };
}

/** One batch of a dataset for {@link summaryOverBatches}: its data and its number of examples. */
export interface WeightedBatch<B> {
  readonly batch: B;
  readonly size: number;
}

/**
 * The summary of a mean loss over a whole dataset, from the summaries of its batches: each batch's
 * summary is weighted by its share of the examples, so the result equals the summary on the union.
 */
export function summaryOverBatches<P, B>(
  loss: (p: P, batch: B) => Tensor,
  params: P,
  u: P,
  partition: Partition | CompiledPartition,
  batches: readonly WeightedBatch<B>[],
  opts: SummaryOptions = {},
): Summary {
  if (batches.length === 0) throw new ShapeError('summaryOverBatches: no batches');
  const total = batches.reduce((n, b) => n + b.size, 0);
  for (const b of batches) if (!(b.size > 0)) throw new ShapeError(`summaryOverBatches: batch size must be positive, got ${b.size}`);
  const cp = resolve(partition, params);
  let acc: Summary | null = null;
  for (const b of batches) {
    const s = summary((p: P) => loss(p, b.batch), params, u, cp, opts);
    const w = b.size / total;
    const scaled: Summary = Object.fromEntries(Object.entries(s).map(([key, v]) => [key, mul(v as Tensor, w)])) as unknown as Summary;
    acc = acc === null ? scaled : (Object.fromEntries(Object.entries(acc).map(([key, v]) => [key, add(v as Tensor, (scaled as unknown as Record<string, Tensor>)[key]!)])) as unknown as Summary);
  }
  return acc!;
}
