/**
 * Peer: TensorFlow.js. `@tensorflow/tfjs` brings the pure-JS `cpu` backend (tfjs-node, the native
 * one, does not install here); `@tensorflow/tfjs-backend-wasm` adds XNNPACK kernels in WebAssembly
 * (SIMD, single-threaded in Node), loaded from the package's own .wasm files.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Impl, MlpProblem, MlpResult, Runner, SummaryResult } from '../harness.js';

let wasmReady: Promise<boolean> | undefined;

/** Registers tfjs's wasm backend, pointing it at the .wasm files inside node_modules; false if that fails. */
export function initTfjsWasm(): Promise<boolean> {
  wasmReady ??= (async () => {
    try {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const require = createRequire(import.meta.url);
      const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(`${dir}/`);
      return await tf.setBackend('wasm');
    } catch (e) {
      console.error(`tfjs wasm: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  })();
  return wasmReady;
}

/** The MLP loss in tfjs, the same formula as bench/partax.ts. */
function mlpLoss(params: tf.Tensor[], x: tf.Tensor, labels: tf.Tensor1D, classes: number): tf.Scalar {
  const layers = params.length / 2;
  let h = x;
  for (let l = 0; l < layers; l++) {
    const z = tf.add(tf.matMul(h, params[2 * l]!), params[2 * l + 1]!);
    h = l < layers - 1 ? tf.tanh(z) : z;
  }
  const logp = tf.logSoftmax(h, -1);
  return tf.neg(tf.mean(tf.sum(tf.mul(logp, tf.oneHot(labels, classes)), 1))) as tf.Scalar;
}

/** The MLP problem's parameters (w1, b1, w2, …; weights [in, out]), inputs and labels as tfjs tensors. */
function mlpTensors(p: MlpProblem): { params: tf.Tensor[]; x: tf.Tensor2D; labels: tf.Tensor1D; classes: number } {
  const params: tf.Tensor[] = [];
  for (let l = 1; l < p.sizes.length; l++) {
    params.push(tf.tensor2d(p.params[2 * l - 2]!, [p.sizes[l - 1]!, p.sizes[l]!]));
    params.push(tf.tensor1d(p.params[2 * l - 1]!));
  }
  return { params, x: tf.tensor2d(p.x, [p.batch, p.sizes[0]!]), labels: tf.tensor1d(p.labels, 'int32'), classes: p.sizes[p.sizes.length - 1]! };
}

/** Component `s` of a vector-valued function of η, as a scalar function (for tf.grad). */
const component = (f: (eta: tf.Tensor) => tf.Tensor, s: number) => (eta: tf.Tensor): tf.Scalar => tf.reshape(tf.slice(f(eta), [s], [1]), []) as tf.Scalar;

/**
 * The order-3 summary in tfjs, which has only reverse mode: ψ(η) = L(θ + Σ_s η_s·u_s), ḡ =
 * tf.grad(ψ)(0), row s of H̄ = tf.grad(η ↦ ∂_sψ(η))(0) (reverse over reverse, S passes), and
 * order3[s] = ∂_s of ∂_s of ∂_sψ (three nested tf.grad, S passes). Runs inside tf.tidy.
 */
function mlpSummary(params: readonly tf.Tensor[], u: readonly tf.Tensor[], x: tf.Tensor, labels: tf.Tensor1D, classes: number): tf.Tensor[] {
  return tf.tidy(() => {
    const S = params.length;
    const psi = (eta: tf.Tensor): tf.Scalar =>
      mlpLoss(params.map((p, s) => tf.add(p, tf.mul(u[s]!, tf.reshape(tf.slice(eta, [s], [1]), [])))), x, labels, classes);
    const eta0 = tf.zeros([S]);
    const gradPsi = tf.grad(psi);
    const rows: tf.Tensor[] = [];
    const o3: tf.Tensor[] = [];
    for (let s = 0; s < S; s++) {
      const d1 = component(gradPsi, s);
      rows.push(tf.grad(d1)(eta0));
      const d2 = component(tf.grad(d1), s);
      o3.push(tf.reshape(tf.slice(tf.grad(d2)(eta0), [s], [1]), []));
    }
    return [psi(eta0), gradPsi(eta0), tf.stack(rows), tf.stack(o3)];
  });
}

/**
 * Why tfjs cannot compute the summary, or undefined when it can. tfjs has reverse mode only, so
 * H̄ and order3 need tf.grad of tf.grad (of tf.grad); the probe checks that on tanh, whose second
 * derivative at 0.5 is −2·tanh(0.5)·(1 − tanh²(0.5)). In tfjs 4.22 the gradients of tanh, exp and
 * logSoftmax reuse their saved outputs, which the outer tape does not connect to the input: the
 * nested tf.grad throws on tanh alone, and inside the MLP (where other paths do connect) it
 * silently drops those terms (H̄ with a zero diagonal, order3 all zero).
 */
export function nestedGradProblem(): string | undefined {
  const x0 = 0.5;
  const t = Math.tanh(x0);
  const expected = -2 * t * (1 - t * t);
  try {
    const got = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.grad((y: tf.Tensor) => tf.tanh(y) as tf.Scalar)(x) as tf.Scalar)(tf.scalar(x0)).dataSync()[0]!);
    if (Math.abs(got - expected) <= 1e-4) return undefined;
    return `not expressible: tf.grad(tf.grad(tanh))(0.5) gives ${got}, not ${expected.toFixed(6)} (nested tf.grad drops tanh's second derivative)`;
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('.')[0];
    return `not expressible: tf.grad(tf.grad(tanh)) throws "${why}" (tanh's gradient reuses its saved output, which the outer tape does not connect to x)`;
  }
}

/** tfjs on `backend` ('cpu' or 'wasm'). */
export function tfjs(backend: 'cpu' | 'wasm'): Impl {
  return {
    name: `tfjs (${backend})`,
    async activate() {
      if (backend === 'wasm' && !(await initTfjsWasm())) throw new Error('tfjs: the wasm backend did not initialise');
      if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend ${backend} is not available`);
      await tf.ready();
    },
    matmul(a, b, n): Runner<Float32Array> {
      const ta = tf.tensor2d(a, [n, n]);
      const tb = tf.tensor2d(b, [n, n]);
      return {
        async run() {
          const c = tf.matMul(ta, tb);
          const out = (await c.data()) as Float32Array;
          c.dispose();
          return out;
        },
        dispose: () => tf.dispose([ta, tb]),
      };
    },
    mlp(p: MlpProblem): Runner<MlpResult> {
      const { params, x, labels, classes } = mlpTensors(p);
      const vg = tf.valueAndGrads((...ps: tf.Tensor[]) => mlpLoss(ps, x, labels, classes));
      return {
        async run() {
          const { value, grads } = vg(params);
          const out: Float32Array[] = [];
          for (const g of grads) out.push((await g.data()) as Float32Array);
          const loss = (await value.data())[0]!;
          tf.dispose([value, ...grads]);
          return { loss, grads: out };
        },
        dispose: () => tf.dispose([...params, x, labels]),
      };
    },
    summary(p: MlpProblem, u: readonly Float32Array[]): Runner<SummaryResult> {
      const problem = nestedGradProblem();
      if (problem !== undefined) throw new Error(problem);
      const { params, x, labels, classes } = mlpTensors(p);
      const dirs = params.map((q, i) => tf.tensor(u[i]!, q.shape));
      return {
        async run() {
          const out = mlpSummary(params, dirs, x, labels, classes);
          const [loss, g, H, order3] = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
          tf.dispose(out);
          return { loss: loss![0]!, g: g!, H: H!, order3: order3! };
        },
        dispose: () => tf.dispose([...params, ...dirs, x, labels]),
      };
    },
  };
}
