/**
 * partax (CPU backend) as a bench implementation: matmul and the MLP loss written with the public
 * ops of src/index.ts (matmul, add, tanh, logSoftmax, oneHot, mul, sum, mean, valueAndGrad).
 */
import * as P from '../src/index.js';
import type { Impl, MlpProblem, MlpResult, Runner } from './harness.js';

type F32 = P.Tensor<'float32'>;

/** The MLP's parameters as a record of tensors: w1, b1, w2, b2, … (weights [in, out]). */
type Params = Record<string, F32>;

/** Mean negative log-likelihood of `labels` under a tanh MLP with a log-softmax output. */
export function mlpLoss(params: Params, x: F32, labels: P.Tensor<'int32'>, layers: number): F32 {
  let h = x;
  for (let l = 1; l <= layers; l++) {
    const z = P.add(P.matmul(h, params[`w${l}`]!), params[`b${l}`]!);
    h = l < layers ? P.tanh(z) : z;
  }
  const logp = P.logSoftmax(h, -1);
  const classes = h.shape[h.shape.length - 1]!;
  return P.neg(P.mean(P.sum(P.mul(logp, P.oneHot(labels, classes)), 1)));
}

/** Wraps a Float32Array as a partax tensor (copied, so the shared bench inputs stay untouched). */
const f32 = (buf: Float32Array, shape: readonly number[]): F32 => P.fromBuffer(buf.slice(), 'float32', shape);

/** The MLP problem's parameters as partax tensors (w1, b1, w2, …; weights [in, out]), its inputs and labels. */
export function mlpTensors(p: MlpProblem): { params: Params; x: F32; labels: P.Tensor<'int32'>; layers: number } {
  const layers = p.sizes.length - 1;
  const params: Params = {};
  for (let l = 1; l <= layers; l++) {
    params[`w${l}`] = f32(p.params[2 * l - 2]!, [p.sizes[l - 1]!, p.sizes[l]!]);
    params[`b${l}`] = f32(p.params[2 * l - 1]!, [p.sizes[l]!]);
  }
  return { params, x: f32(p.x, [p.batch, p.sizes[0]!]), labels: P.fromBuffer(p.labels.slice(), 'int32', [p.batch]), layers };
}

/** Flat copies of a params-like record's tensors in the harness's order (w1, b1, w2, …). */
export function readParams(t: Params, layers: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let l = 1; l <= layers; l++) out.push(t[`w${l}`]!.dataSync(), t[`b${l}`]!.dataSync());
  return out;
}

/**
 * valueAndGrad of the MLP loss on the current backend (with `jit`, as one compiled program):
 * `step()` computes the loss and gradients (host tensors: computed on return, nothing read back),
 * `read` copies them out for checking.
 */
export function partaxMlp(p: MlpProblem, opts: { jit?: boolean } = {}) {
  const { params, x, labels, layers } = mlpTensors(p);
  const plain = P.valueAndGrad((ps: Params) => mlpLoss(ps, x, labels, layers));
  const vg = opts.jit ? P.jit(plain) : plain;
  return {
    step: () => vg(params) as [F32, Params],
    read: ([loss, g]: [F32, Params]): MlpResult => ({ loss: loss.item(), grads: readParams(g, layers) }),
  };
}

/**
 * partax on one of its CPU backends: 'cpu' (plain TypeScript, the oracle) or 'cpu-wasm' (SIMD
 * kernels); with `jit`, the MLP's valueAndGrad runs as one compiled program (as jax-js's jit row).
 */
export const partaxOn = (backend: 'cpu' | 'cpu-wasm', opts: { jit?: boolean } = {}): Impl => ({
  name: `partax (${backend}${opts.jit ? ', jit' : ''})`,
  async activate() {
    P.setBackend(backend);
  },
  matmul(a, b, n): Runner<Float32Array> {
    const ta = f32(a, [n, n]);
    const tb = f32(b, [n, n]);
    return { run: () => P.matmul(ta, tb).dataSync() };
  },
  mlp(p: MlpProblem): Runner<MlpResult> {
    const m = partaxMlp(p, opts);
    return { run: () => m.read(m.step()) };
  },
});

/** partax on the plain TypeScript CPU backend. */
export const partaxCpu: Impl = partaxOn('cpu');

