import { isFloat } from '../core/dtype.js';
import { DTypeError, ShapeError } from '../core/errors.js';
import { shapeEq, showShape } from '../core/shape.js';
import { ArrayTensor, type Aval, type Tensor } from '../core/tensor.js';
import { registerCpuKernel } from '../backends/cpu/index.js';
import { registerWebGPUKernel } from '../backends/webgpu/backend.js';
import { backendFor } from '../backends/registry.js';
import { JVPTrace, JVPTracer } from '../interp/jvp.js';
import { evalJaxpr, inAvals, type Jaxpr, outAvals, partialEval, registerStageInline, stageFlat } from '../interp/stage.js';
import { bind, Tracer } from '../prim/bind.js';
import { BatchTrace, BatchTracer, toFront } from '../interp/vmap.js';
import { full } from '../ops/create.js';
import { type Primitive, primitive } from '../prim/primitive.js';
import { batchBroadcast } from '../prim/broadcast.js';
import { vjp } from '../transforms/vjp.js';
import { compileProgram, type Program } from './program.js';
import { compileWebGPUProgram } from './webgpu-program.js';

/**
 * `jit_call(args; jaxpr)`: applies a staged program as one primitive. This is how a jitted
 * function meets an enclosing transform (`grad(jit(f))`, `vmap(jit(f))`, `jvp(jit(f))`): the
 * transform sees one primitive whose rules transform the program, and the result is again a
 * compiled program, so the transformed computation still runs fused.
 *
 * - jvp: the jvp of `jaxpr` is traced into one program and split by partial evaluation into a
 *   forward program F (primal outputs and the residuals the tangents need) and a tangent program J
 *   (residuals and tangents in, tangents out); the rule returns `jit_call(F)` and `jit_call(J)`.
 *   J is linear in its tangent inputs, which is what the linear trace of `grad` needs, and never
 *   recomputes the forward pass.
 * - transpose (of such a linear call): `jit_call(T)` with T traced from the vjp of the program with
 *   respect to its linear arguments.
 * - vmap: `jit_call(V)` with V traced from the vmap of the program (outputs batched on axis 0).
 *
 * Derived programs are traced once per (program, which arguments are tangents / linear / batched,
 * batch size) and kept as long as the program is. Inside a staging trace a `jit_call` is inlined,
 * so nested jits give one flat program.
 */

/** Parameters of `jit_call`: the program it applies. */
export interface JitCallParams {
  readonly jaxpr: Jaxpr;
  /** Name of the jitted function, for messages and listings. */
  readonly name: string;
}

const aval = (a: Aval): string => `${a.dtype}${showShape(a.shape)}`;
const nonNull = <T>(x: T | null): x is T => x !== null;

/** Transformed programs derived from a program, by kind and pattern. */
const derived = new WeakMap<Jaxpr, Map<string, unknown>>();
function memo<T>(j: Jaxpr, key: string, make: () => T): T {
  let m = derived.get(j);
  if (!m) derived.set(j, (m = new Map()));
  if (!m.has(key)) m.set(key, make());
  return m.get(key) as T;
}

function staged(f: (...xs: Tensor[]) => readonly Tensor[], avals: readonly Aval[]): Jaxpr {
  const { jaxpr, captured } = stageFlat(f, avals);
  if (captured.length) throw new Error('jit_call: a derived program closed over a tracer (internal error)');
  return jaxpr;
}

/**
 * The jvp of `j` for a tangent mask, split by partial evaluation into the forward program
 * (inputs: primals; outputs: primal outputs, then residuals) and the tangent program (inputs:
 * residuals, then the given tangents; outputs: the non-zero tangents, marked in `outMask`).
 */
function jvpPrograms(j: Jaxpr, mask: readonly boolean[]): { primal: Jaxpr; tangent: Jaxpr; nResiduals: number; outMask: boolean[] } {
  return memo(j, `jvp:${mask.map(Number).join('')}`, () => {
    let outMask: boolean[] = [];
    const n = j.inputs.length;
    const nOut = j.outputs.length;
    const avals = [...inAvals(j), ...inAvals(j).filter((_, i) => mask[i])];
    const full = staged((...xs) => {
      const jt = new JVPTrace();
      try {
        let k = n;
        const ins = xs.slice(0, n).map((p, i) => (mask[i] ? new JVPTracer(jt, p, xs[k++]!) : p));
        const pairs = evalJaxpr(j, ins).map((o) => jt.unpack(o));
        outMask = pairs.map(([, t]) => t !== null);
        return [...pairs.map(([p]) => p), ...pairs.map(([, t]) => t).filter(nonNull)];
      } finally {
        jt.close();
      }
    }, avals);
    const split = partialEval(full, avals.map((_, i) => i >= n), nOut);
    return { primal: split.known, tangent: split.unknown, nResiduals: split.nResiduals, outMask };
  });
}

/** The transpose program of a program linear in the arguments of `linear`: inputs [...other args, ...output cotangents]. */
function transposeProgram(j: Jaxpr, linear: readonly boolean[]): Jaxpr {
  return memo(j, `transpose:${linear.map(Number).join('')}`, () => {
    const ins = inAvals(j);
    const fixed = ins.filter((_, i) => !linear[i]);
    const lin = ins.filter((_, i) => linear[i]);
    return staged(
      (...xs) => {
        const others = xs.slice(0, fixed.length);
        const cts = xs.slice(fixed.length);
        const apply = (...l: Tensor[]) => {
          let a = 0;
          let b = 0;
          return evalJaxpr(j, ins.map((_, i) => (linear[i] ? l[a++]! : others[b++]!)));
        };
        // the program is linear in these arguments: any point linearises it; zeros are at hand
        const [, back] = vjp(apply, ...lin.map((a) => full(a.shape, 0, a.dtype) as Tensor));
        return back(cts);
      },
      [...fixed, ...outAvals(j)],
    );
  });
}

/** The batched program of `j`: batched inputs carry the batch on axis 0, as do all outputs. */
function vmapProgram(j: Jaxpr, batched: readonly boolean[], size: number): Jaxpr {
  return memo(j, `vmap:${size}:${batched.map(Number).join('')}`, () =>
    staged(
      (...xs) => {
        const bt = new BatchTrace(size);
        try {
          const outs = evalJaxpr(j, xs.map((x, i) => (batched[i] ? new BatchTracer(bt, x, 0) : x)));
          return outs.map((o) => {
            if (o instanceof BatchTracer && o.trace === bt) return o.bdim === null ? batchBroadcast(o.value, size) : toFront(o.value, o.bdim);
            return batchBroadcast(o, size);
          });
        } finally {
          bt.close();
        }
      },
      inAvals(j).map((a, i) => (batched[i] ? { shape: [size, ...a.shape], dtype: a.dtype } : a)),
    ),
  );
}

/** The `jit_call` primitive (see the file comment above). */
export const jitCallP: Primitive<JitCallParams> = primitive<JitCallParams>({
  name: 'jit_call',
  abstractEval: (avals, { jaxpr, name }) => {
    const want = inAvals(jaxpr);
    if (avals.length !== want.length) throw new ShapeError(`jit(${name}): ${avals.length} arguments for a program of ${want.length} inputs`);
    avals.forEach((a, i) => {
      const w = want[i]!;
      if (!shapeEq(a.shape, w.shape)) throw new ShapeError(`jit(${name}): argument ${i} is ${aval(a)} but the program was traced for ${aval(w)}`);
      if (a.dtype !== w.dtype) throw new DTypeError(`jit(${name}): argument ${i} is ${aval(a)} but the program was traced for ${aval(w)}`);
    });
    return outAvals(jaxpr);
  },
  // linear in the arguments its program is linear in (a tangent program J, see the file comment)
  linear: true,
  jvp: (primals, tangents, params) => {
    const mask = tangents.map((t, i) => t != null && isFloat(primals[i]!.dtype));
    const nulls = params.jaxpr.outputs.map(() => null);
    if (!mask.some(Boolean)) return [applyProgram(primals, params), nulls];
    const jp = jvpPrograms(params.jaxpr, mask);
    if (!jp.outMask.some(Boolean)) return [applyProgram(primals, params), nulls];
    // the forward program also returns the residuals, so the tangent map never recomputes it
    const fwd = applyProgram(primals, { jaxpr: jp.primal, name: params.name });
    const outs = fwd.slice(0, params.jaxpr.outputs.length);
    const residuals = fwd.slice(outs.length);
    const given = tangents.filter((t, i): t is Tensor => mask[i]! && t != null);
    const ts = applyProgram([...residuals, ...given], { jaxpr: jp.tangent, name: `jvp(${params.name})` });
    let k = 0;
    return [outs, jp.outMask.map((m) => (m ? ts[k++]! : null))];
  },
  transpose: (cts, args, params) => {
    if (cts.every((c) => c == null)) return args.map(() => null);
    const linear = args.map((a) => a.linear);
    const tp = transposeProgram(params.jaxpr, linear);
    const others = args.flatMap((a) => (a.linear ? [] : [a.value]));
    const full0 = cts.map((c, i) => c ?? (full(params.jaxpr.outputs[i]!.aval.shape, 0, params.jaxpr.outputs[i]!.aval.dtype) as Tensor));
    const res = applyProgram([...others, ...full0], { jaxpr: tp, name: `transpose(${params.name})` });
    let k = 0;
    return args.map((a) => (a.linear ? res[k++]! : null));
  },
  vmap: (args, batched, params, size) => {
    const vp = vmapProgram(params.jaxpr, batched, size);
    const outs = applyProgram(args, { jaxpr: vp, name: `vmap(${params.name})` });
    return [outs, outs.map(() => true)];
  },
});

/** Backends whose tensors are host ArrayTensors (compiled programs run on them). */
const HOST = new Set(['cpu', 'cpu-wasm']);

/** Whether every constant of a program is a host tensor (one traced under webgpu may hold GPU constants). */
const hostConsts = new WeakMap<Jaxpr, boolean>();
function constsOnHost(j: Jaxpr): boolean {
  let ok = hostConsts.get(j);
  if (ok === undefined) hostConsts.set(j, (ok = j.consts.every((c) => c.value instanceof ArrayTensor && HOST.has(c.value.backend))));
  return ok;
}

/**
 * Applies a program to arguments: under a transform (any argument a tracer) as the primitive
 * `jit_call`, which the transform interprets; on host tensors by running the compiled program;
 * on webgpu tensors by running the program compiled to fused WGSL kernels (webgpu-program.ts); on
 * another backend, or unfused, by evaluating it equation by equation with that backend's kernels,
 * so no backend ever needs a `jit_call` kernel of its own.
 */
export function applyProgram(args: readonly Tensor[], params: JitCallParams, donated?: readonly boolean[], fuse = true): Tensor[] {
  if (args.some((a) => a instanceof Tracer)) return bind(jitCallP, args, params);
  if (fuse && args.length > 0 && backendOf(args) === 'webgpu') return programFor(params.jaxpr, 'webgpu').runTensors!(args);
  if (args.every((a) => a instanceof ArrayTensor)) {
    const host = args as readonly ArrayTensor[];
    const backend = backendFor(host).name;
    if (HOST.has(backend) && constsOnHost(params.jaxpr)) {
      const bufs = programFor(params.jaxpr, backend, fuse).run(
        host.map((a) => a.buffer),
        donated,
      );
      return bufs.map((b, i) => {
        const a = params.jaxpr.outputs[i]!.aval;
        return new ArrayTensor(a.shape, a.dtype, b, backend);
      });
    }
  }
  return evalJaxpr(params.jaxpr, args);
}

/** The backend that evaluates primitives on these concrete tensors (host and device tensors both name theirs). */
export const backendOf = (ts: readonly Tensor[]): string =>
  backendFor(ts.map((t) => ({ backend: (t as { readonly backend?: string }).backend ?? 'cpu' }))).name;

/** Compiled programs, per program and backend (and whether fusion is on). */
const programs = new WeakMap<Jaxpr, Map<string, Program>>();

/** The compiled program of `j` for a backend (compiled on first use, then kept with the program). */
export function programFor(j: Jaxpr, backend: string, fuse = true): Program {
  let m = programs.get(j);
  if (!m) programs.set(j, (m = new Map()));
  const key = `${backend}|${fuse}`;
  let p = m.get(key);
  if (!p) m.set(key, (p = backend === 'webgpu' && fuse ? compileWebGPUProgram(j) : compileProgram(j, backend, { fuse })));
  return p;
}

// A jit_call bound on concrete tensors (evalPrimitive: the linear trace applies it to the known
// factor of a scaled tangent) runs its compiled program, on the host (cpu-wasm falls back to this
// CPU kernel too) or on webgpu; under staging it is inlined. jit itself calls applyProgram.
registerCpuKernel('jit_call', (xs: readonly ArrayTensor[], p: JitCallParams) =>
  applyProgram(xs, p).map((t) => (t as ArrayTensor).buffer),
);
registerWebGPUKernel('jit_call', (xs, p: JitCallParams) => applyProgram(xs, p));
registerStageInline('jit_call', (args, p: JitCallParams) => evalJaxpr(p.jaxpr, args));
