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
import type { Impl, MlpProblem, MlpResult, Runner, SummaryResult } from '../harness.js';

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

/** The MLP problem's parameters (w1, b1, w2, …; weights [in, out]), inputs and labels as jax-js arrays. */
function mlpArrays(p: MlpProblem): { params: Params; x: JArray; labels: JArray } {
  const params: Params = [];
  for (let l = 1; l < p.sizes.length; l++) {
    params.push(arr(p.params[2 * l - 2]!, [p.sizes[l - 1]!, p.sizes[l]!]));
    params.push(arr(p.params[2 * l - 1]!, [p.sizes[l]!]));
  }
  return { params, x: arr(p.x, [p.batch, p.sizes[0]!]), labels: np.array(p.labels.slice(), { dtype: np.int32 }) };
}

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

/** ψ(η) = L(θ + Σ_s η_s·u_s) for η ∈ ℝ^S, over traced (or concrete) arguments; leaves them alive (takes `.ref`s). */
const reducedLoss = (params: Params, u: Params, x: JArray, labels: JArray) => (eta: JArray): JArray => {
  const etas = [...eta];
  return mlpLoss(params.map((p, s) => p.ref.add(u[s]!.ref.mul(etas[s]!))), x.ref, labels.ref);
};

/** ∂³ψ(η0)[e, e, e]: three nested jvps; consumes `eta0` and `e`. */
const thirdAlong = (psi: (eta: JArray) => JArray, eta0: JArray, e: JArray): JArray =>
  jax.jvp((a: JArray) => jax.jvp((b: JArray) => jax.jvp(psi, [b], [e.ref])[1], [a], [e.ref])[1], [eta0], [e])[1];

/**
 * The order-3 summary in jax-js, written as a JAX user would: ψ as a function of η, then
 * `valueAndGrad(ψ)(0)` for (L, ḡ), `hessian(ψ)(0)` (jacfwd of grad: S tangents, vmapped) for H̄,
 * and for order3 three nested `jvp`s along e_s, vmapped over the basis. Everything arrives as an
 * argument (no closed-over arrays), so the whole function can be `jit`-compiled; consumes its arguments.
 */
function mlpSummary(params: Params, u: Params, x: JArray, labels: JArray, eta0: JArray, basis: JArray): JArray[] {
  const psi = reducedLoss(params, u, x, labels);
  const [loss, g] = jax.valueAndGrad(psi)(eta0.ref);
  const H = jax.hessian(psi)(eta0.ref);
  const order3 = jax.vmap((e: JArray) => thirdAlong(psi, eta0.ref, e))(basis);
  jax.tree.dispose([params, u, x, labels, eta0]);
  return [loss, g, H, order3];
}

/**
 * The same summary one group at a time, partax's default strategy: (L, ḡ) once, then for each s
 * a Hessian-vector product jvp(grad ψ)(0)[e_s] (row s of H̄) and ∂³ψ(0)[e_s, e_s, e_s]. Each piece
 * is its own function of the arguments, so each can be `jit`-compiled alone (jax-js's wasm jit
 * cannot hold the whole summary at batch 1000: it runs past its 4 GiB memory). Consume their arguments.
 */
const perGroup = {
  valueAndGrad(params: Params, u: Params, x: JArray, labels: JArray, eta0: JArray): JArray[] {
    const out = jax.valueAndGrad(reducedLoss(params, u, x, labels))(eta0);
    jax.tree.dispose([params, u, x, labels]);
    return out;
  },
  hessianRow(params: Params, u: Params, x: JArray, labels: JArray, eta0: JArray, e: JArray): JArray {
    const out = jax.jvp(jax.grad(reducedLoss(params, u, x, labels)), [eta0], [e])[1];
    jax.tree.dispose([params, u, x, labels]);
    return out;
  },
  third(params: Params, u: Params, x: JArray, labels: JArray, eta0: JArray, e: JArray): JArray {
    const out = thirdAlong(reducedLoss(params, u, x, labels), eta0, e);
    jax.tree.dispose([params, u, x, labels]);
    return out;
  },
};

/** How jax-js computes the summary: 'natural' ({@link mlpSummary}) or 'per-group' ({@link perGroup}). */
export type JaxSummaryStrategy = 'natural' | 'per-group';

/** Calls `.dispose()` on a jit-compiled function (plain functions have none). */
const disposeFn = (f: object): void => {
  if ('dispose' in f && typeof f.dispose === 'function') f.dispose();
};

/**
 * jax-js on `device` (`note` describes it in the name); with `useJit`, the computations are
 * wrapped in `jit` (fused, cached kernels). `summary` picks how the partition summary is written.
 */
export function jaxjs(device: 'wasm' | 'webgpu' | 'cpu', useJit: boolean, note?: string, summary: JaxSummaryStrategy = 'natural'): Impl {
  const per = summary === 'per-group' ? ', per group' : '';
  return {
    name: `jax-js (${device}${note ? ` ${note}` : ''}${useJit ? ', jit' : ''}${per})`,
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
          disposeFn(mm);
        },
      };
    },
    mlp(p: MlpProblem): Runner<MlpResult> {
      const { params, x, labels } = mlpArrays(p);
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
          disposeFn(vg);
        },
      };
    },
    summary(p: MlpProblem, u: readonly Float32Array[]): Runner<SummaryResult> {
      const { params, x, labels } = mlpArrays(p);
      const dirs = params.map((q, i) => arr(u[i]!, q.shape));
      const S = params.length;
      const eta0 = np.zeros([S], { dtype: np.float32 });
      const basis = np.eye(S, undefined, { dtype: np.float32 });
      const wrap = <F extends (...a: any[]) => jax.JsTree<JArray>>(f: F) => (useJit ? jax.jit(f) : f) as F;
      const natural = wrap(mlpSummary);
      const pieces = { vg: wrap(perGroup.valueAndGrad), row: wrap(perGroup.hessianRow), third: wrap(perGroup.third) };
      const args = () => [jax.tree.ref(params), jax.tree.ref(dirs), x.ref, labels.ref, eta0.ref] as const;
      const compute = async (): Promise<JArray[]> => {
        if (summary === 'natural') return natural(...args(), basis.ref);
        const [loss, g] = pieces.vg(...args()) as JArray[];
        const rows: JArray[] = [];
        const thirds: JArray[] = [];
        for (const e of basis.ref) {
          // wait for each piece, as jax-js advises for loops: queued pieces keep their buffers (4 GiB at batch 1000)
          rows.push(await jax.blockUntilReady(pieces.row(...args(), e.ref)));
          thirds.push(await jax.blockUntilReady(pieces.third(...args(), e)));
        }
        return [loss!, g!, np.stack(rows), np.stack(thirds)];
      };
      return {
        async run() {
          const [loss, g, H, order3] = await compute();
          return {
            loss: (await loss!.data())[0]!,
            g: (await g!.data()) as Float32Array,
            H: (await H!.data()) as Float32Array,
            order3: (await order3!.data()) as Float32Array,
          };
        },
        dispose: () => {
          jax.tree.dispose([params, dirs, x, labels, eta0, basis]);
          [natural, ...Object.values(pieces)].forEach(disposeFn);
        },
      };
    },
  };
}
