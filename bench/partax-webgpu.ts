/**
 * partax on its WebGPU backend as a bench implementation (the same ops and loss as bench/partax.ts;
 * inputs uploaded once, results read back with `await data()`). `activate()` starts WebGPU
 * and throws when no adapter exists, so a bench can skip it:
 *
 *     const gpu = await partaxWebgpu.activate!().then(() => true, () => false);
 */
import * as P from '../src/index.js';
import { initWebGPU } from '../src/backends/webgpu/index.js';
import type { Impl, MlpProblem, MlpResult, Runner } from './harness.js';
import { mlpLoss } from './partax.js';

type F32 = P.Tensor<'float32'>;
type Params = Record<string, F32>;

/** A Float32Array as a tensor on the GPU (copied first, so the shared bench inputs stay untouched). */
const gpu = (buf: Float32Array, shape: readonly number[]): Promise<F32> => P.toBackend(P.fromBuffer(buf.slice(), 'float32', shape), 'webgpu');

export const partaxWebgpu: Impl = {
  name: 'partax (webgpu)',
  async activate() {
    await initWebGPU();
    P.setBackend('webgpu');
  },
  matmul(a, b, n): Runner<Float32Array> {
    const ready = Promise.all([gpu(a, [n, n]), gpu(b, [n, n])]);
    return {
      run: async () => {
        const [ta, tb] = await ready;
        return (await P.matmul(ta, tb).data()) as Float32Array;
      },
    };
  },
  mlp(p: MlpProblem): Runner<MlpResult> {
    const layers = p.sizes.length - 1;
    const ready = (async () => {
      const params: Params = {};
      for (let l = 1; l <= layers; l++) {
        params[`w${l}`] = await gpu(p.params[2 * l - 2]!, [p.sizes[l - 1]!, p.sizes[l]!]);
        params[`b${l}`] = await gpu(p.params[2 * l - 1]!, [p.sizes[l]!]);
      }
      const x = await gpu(p.x, [p.batch, p.sizes[0]!]);
      const labels = await P.toBackend(P.fromBuffer(p.labels.slice(), 'int32', [p.batch]), 'webgpu');
      return { params, vg: P.valueAndGrad((ps: Params) => mlpLoss(ps, x, labels as P.Tensor<'int32'>, layers)) };
    })();
    return {
      async run() {
        const { params, vg } = await ready;
        const [loss, g] = vg(params) as [F32, Params];
        const grads: Float32Array[] = [];
        for (let l = 1; l <= layers; l++) grads.push((await g[`w${l}`]!.data()) as Float32Array, (await g[`b${l}`]!.data()) as Float32Array);
        return { loss: (await loss.data())[0]!, grads };
      },
    };
  },
};
