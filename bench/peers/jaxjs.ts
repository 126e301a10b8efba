/**
 * Peer: @jax-js/jax (JAX-style arrays compiled to WebAssembly or WebGPU kernels).
 *
 * Node notes, found by reading its dist code:
 * - Its array constructor tests `data instanceof Float16Array` on every non-float32/int32/uint32
 *   typed array (e.g. a Float64Array), and Node 20 has no Float16Array global: a ReferenceError.
 *   Only `instanceof` (and `new` for float16 arrays, which this bench never makes) touch it, so an
 *   empty class is enough: {@link ensureFloat16ArrayGlobal}.
 * - Its `init()` reads the `navigator` global for WebGPU, which Node 20 lacks; the default wasm
 *   device needs no init. For WebGPU we pass Dawn (npm `webgpu`) as `navigator.gpu`.
 * - It counts references: every function consumes its array arguments, and `.ref` keeps one alive.
 * - In Node there is no web `Worker`, so its wasm kernels run on one thread (as partax does).
 */
import * as jax from '@jax-js/jax';
import type { Impl, MlpProblem, MlpResult, Runner } from '../harness.js';

const { numpy: np, nn } = jax;
type JArray = jax.Array;

/** Defines an empty `Float16Array` global where the runtime lacks one (Node < 22). */
export function ensureFloat16ArrayGlobal(): void {
  const g = globalThis as { Float16Array?: unknown };
  if (g.Float16Array === undefined) g.Float16Array = class Float16Array {};
}

/**
 * Starts jax-js's WebGPU device through Dawn. Returns the adapter's description (e.g. "llvmpipe",
 * Mesa's software rasteriser, on a machine without a GPU), or null (reason on stderr) when there is none.
 */
export async function initWebGpu(): Promise<string | null> {
  try {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const gpu = create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) return null;
    const g = globalThis as { navigator?: unknown };
    if (g.navigator === undefined) g.navigator = { gpu, userAgent: 'node' };
    const devices = await jax.init('webgpu');
    if (!devices.includes('webgpu')) return null;
    const info = adapter.info;
    return info.architecture === 'software' ? `${info.device.split('-')[0]}, software` : info.device || info.vendor || 'gpu';
  } catch (e) {
    console.error(`jax-js webgpu: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}

const arr = (buf: Float32Array, shape: number[]): JArray => np.array(buf.slice()).reshape(shape);

type Params = JArray[];

/** The MLP loss in jax-js, the same formula as bench/partax.ts; consumes its arguments. */
function mlpLoss(params: Params, x: JArray, labels: JArray): JArray {
  const layers = params.length / 2;
  let h = x;
  for (let l = 0; l < layers; l++) {
    const z = np.add(np.matmul(h, params[2 * l]!), params[2 * l + 1]!);
    h = l < layers - 1 ? np.tanh(z) : z;
  }
  const classes = h.shape[h.shape.length - 1]!;
  const logp = nn.logSoftmax(h, -1);
  return np.negative(np.mean(np.sum(np.multiply(logp, nn.oneHot(labels, classes)), 1)));
}

/** jax-js on `device` (`note` describes it in the name); with `useJit`, the computations are wrapped in `jit` (fused, cached kernels). */
export function jaxjs(device: 'wasm' | 'webgpu' | 'cpu', useJit: boolean, note?: string): Impl {
  return {
    name: `jax-js (${device}${note ? ` ${note}` : ''}${useJit ? ', jit' : ''})`,
    async activate() {
      ensureFloat16ArrayGlobal();
      jax.defaultDevice(device);
    },
    matmul(a, b, n): Runner<Float32Array> {
      const ja = arr(a, [n, n]);
      const jb = arr(b, [n, n]);
      const mm = useJit ? jax.jit((x: JArray, y: JArray) => np.matmul(x, y)) : (x: JArray, y: JArray) => np.matmul(x, y);
      return {
        run: async () => (await mm(ja.ref, jb.ref).data()) as Float32Array,
        dispose: () => {
          ja.dispose();
          jb.dispose();
          if ('dispose' in mm && typeof mm.dispose === 'function') mm.dispose();
        },
      };
    },
    mlp(p: MlpProblem): Runner<MlpResult> {
      const params: Params = [];
      for (let l = 1; l < p.sizes.length; l++) {
        params.push(arr(p.params[2 * l - 2]!, [p.sizes[l - 1]!, p.sizes[l]!]));
        params.push(arr(p.params[2 * l - 1]!, [p.sizes[l]!]));
      }
      const x = arr(p.x, [p.batch, p.sizes[0]!]);
      const labels = np.array(p.labels.slice(), { dtype: np.int32 });
      const vg0 = jax.valueAndGrad(mlpLoss);
      const vg = useJit ? jax.jit(vg0) : vg0;
      return {
        async run() {
          const [loss, grads] = vg(jax.tree.ref(params), x.ref, labels.ref) as [JArray, JArray[]];
          const out: Float32Array[] = [];
          for (const g of grads) out.push((await g.data()) as Float32Array);
          return { loss: (await loss.data())[0]!, grads: out };
        },
        dispose: () => {
          jax.tree.dispose(params);
          x.dispose();
          labels.dispose();
          if ('dispose' in vg && typeof vg.dispose === 'function') vg.dispose();
        },
      };
    },
  };
}
