/**
 * Peer: TensorFlow.js. `@tensorflow/tfjs` brings the pure-JS `cpu` backend (tfjs-node, the native
 * one, does not install here); `@tensorflow/tfjs-backend-wasm` adds XNNPACK kernels in WebAssembly
 * (SIMD, single-threaded in Node), loaded from the package's own .wasm files.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Impl, MlpProblem, MlpResult, Runner } from '../harness.js';

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
      const params: tf.Tensor[] = [];
      for (let l = 1; l < p.sizes.length; l++) {
        params.push(tf.tensor2d(p.params[2 * l - 2]!, [p.sizes[l - 1]!, p.sizes[l]!]));
        params.push(tf.tensor1d(p.params[2 * l - 1]!));
      }
      const x = tf.tensor2d(p.x, [p.batch, p.sizes[0]!]);
      const labels = tf.tensor1d(p.labels, 'int32');
      const classes = p.sizes[p.sizes.length - 1]!;
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
  };
}
