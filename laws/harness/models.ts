import fc from 'fast-check';
import { type Tensor, tensor, concat, reshape, slice } from '../../src/index.js';
import { flatten, unflatten } from '../../src/core/tree.js';
import { mlpApply, type MlpParams } from '../../src/nn/mlp.js';
import { mse, nll } from '../../src/nn/losses.js';

/** Generated small models for the summary and optimizer laws. */

export interface SmallProblem {
  readonly sizes: number[];
  readonly activation: 'tanh' | 'sigmoid' | 'softplus' | 'relu';
  readonly lossKind: 'mse' | 'nll';
  readonly params: MlpParams<'float64'>;
  readonly u: MlpParams<'float64'>;
  readonly x: Tensor<'float64'>;
  readonly y: Tensor;
  /** The loss as a function of the parameter record. */
  readonly loss: (p: MlpParams<'float64'>) => Tensor;
}

const vals = (n: number, lo = -1, hi = 1) => fc.array(fc.double({ min: lo, max: hi, noNaN: true }), { minLength: n, maxLength: n });

function record(sizes: number[], v: number[]): MlpParams<'float64'> {
  let off = 0;
  const take = (shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = tensor(v.slice(off, off + n), 'float64', shape);
    off += n;
    return t;
  };
  return { layers: sizes.slice(1).map((n, i) => ({ weight: take([n, sizes[i]!]), bias: take([n]) })) };
}

/** An MLP (depth 1–3, widths 1–4), θ, u and a batch, with an mse or nll loss. */
export function arbProblem(opts: { activations?: SmallProblem['activation'][]; maxDepth?: number } = {}): fc.Arbitrary<SmallProblem> {
  const acts = opts.activations ?? ['tanh', 'sigmoid', 'softplus'];
  return fc
    .record({
      sizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: (opts.maxDepth ?? 3) + 1 }),
      activation: fc.constantFrom(...acts),
      lossKind: fc.constantFrom('mse' as const, 'nll' as const),
      n: fc.integer({ min: 1, max: 4 }),
    })
    .map((r) => ({ ...r, sizes: r.lossKind === 'nll' ? [...r.sizes.slice(0, -1), Math.max(2, r.sizes[r.sizes.length - 1]!)] : r.sizes }))
    .chain((r) => {
      const p = r.sizes.slice(1).reduce((acc, n, i) => acc + n * r.sizes[i]! + n, 0);
      const nOut = r.sizes[r.sizes.length - 1]!;
      return fc.record({
        r: fc.constant(r),
        theta: vals(p),
        u: vals(p),
        x: vals(r.n * r.sizes[0]!, -2, 2),
        yReal: vals(r.n * nOut),
        yInt: fc.array(fc.integer({ min: 0, max: nOut - 1 }), { minLength: r.n, maxLength: r.n }),
      });
    })
    .map(({ r, theta, u, x, yReal, yInt }) => {
      const xt = tensor(x, 'float64', [r.n, r.sizes[0]!]);
      const y = r.lossKind === 'nll' ? tensor(yInt, 'int32', [r.n]) : tensor(yReal, 'float64', [r.n, r.sizes[r.sizes.length - 1]!]);
      const base = { sizes: r.sizes, activation: r.activation, lossKind: r.lossKind, params: record(r.sizes, theta), u: record(r.sizes, u), x: xt, y };
      return { ...base, loss: lossOf(base) };
    });
}

/** The loss of a problem's model, sizes and targets on its batch `x`, as a function of the parameter record. */
function lossOf(pb: Omit<SmallProblem, 'loss'>): SmallProblem['loss'] {
  const config = { sizes: pb.sizes, activation: pb.activation, output: pb.lossKind === 'nll' ? 'log_softmax' : 'identity' };
  return (p) => (pb.lossKind === 'nll' ? nll(mlpApply(config, p, pb.x), pb.y as Tensor<'int32'>) : mse(mlpApply(config, p, pb.x), pb.y as Tensor<'float64'>));
}

/** The same problem (sizes, activation, loss, targets) with every tensor of θ, u and x replaced by `replace` of it (same shape). */
export function withValues(pb: SmallProblem, replace: (t: Tensor<'float64'>) => Tensor<'float64'>): SmallProblem {
  const fresh = (p: MlpParams<'float64'>): MlpParams<'float64'> => ({ layers: p.layers.map((l) => ({ weight: replace(l.weight), bias: replace(l.bias) })) });
  const base = { ...pb, params: fresh(pb.params), u: fresh(pb.u), x: replace(pb.x) };
  return { ...base, loss: lossOf(base) };
}

/** Concatenates a tree's leaves into one flat vector (flatten order). */
export const ravelTree = (t: unknown): Tensor => concat(flatten(t).leaves.map((l) => reshape(l, [l.size])), 0);

/** The inverse of {@link ravelTree} for the structure of `like`: a differentiable view. */
export function unravelLike<T>(like: T, v: Tensor): T {
  const { leaves, def } = flatten(like);
  let off = 0;
  return unflatten<T>(
    def,
    leaves.map((l) => {
      const piece = reshape(slice(v, [off], [off + l.size]), l.shape);
      off += l.size;
      return piece;
    }),
  );
}
