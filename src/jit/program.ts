import { allocate, type Buffer, type DType, dtypeOfBuffer } from '../core/dtype.js';
import { unrecorded } from '../core/unrecorded.js';
import { showShape, sizeOf, stridesOf } from '../core/shape.js';
import { type Aval, ArrayTensor, type Tensor } from '../core/tensor.js';
import type { Backend } from '../backends/backend.js';
import { getBackend } from '../backends/registry.js';
import { countHostDispatch } from '../backends/dispatch-count.js';
import { runningCompiled } from '../backends/compiled-context.js';
import type { Eqn, Jaxpr, Var } from '../interp/stage.js';
import { compileLoop, type LoopFn, type LoopOp, type LoopRead, type LoopSpec, type Ref } from './codegen.js';
import type { LoopRunFn } from '../core/loop.js';
import { applyView, eqnKind, type Group, identityView, keepsContiguous, planFusion, type Uses, usesOf, type View } from './fusion.js';

/**
 * A staged program compiled for one backend: a list of steps (backend kernels, buffer aliases,
 * generated fused loops) and a buffer plan.
 *
 * Buffer planning: a liveness pass gives each variable the step of its last read; after that step
 * its buffer is released (reference-counted, since reshape outputs share their input's buffer).
 * Released buffers this program allocated (and donated inputs) go to a pool keyed by dtype and
 * length, and later loop outputs of that size take them instead of allocating; a loop whose input
 * dies at that loop writes its output over the input, in place (this is how a matmul's elementwise
 * epilogue runs over the matmul output). Inputs, constants and outputs are never overwritten;
 * nothing is kept between calls, so no buffer handed out is ever reused. At the end of a call the
 * dead buffers it allocated go back to the backend (`Backend.release`: on cpu-wasm their regions
 * are taken again by the next call instead of fresh, untouched pages), and a host constant is
 * copied into the backend's memory once, when the program is compiled (`Backend.allocate`).
 *
 * Fused loops need host typed arrays: they are generated for the `cpu` and `cpu-wasm` backends;
 * on any other backend every equation runs as that backend's kernel. A host backend may compile a
 * loop itself (`Backend.compileLoop`: cpu-wasm's WebAssembly SIMD) and run consecutive loops it
 * compiled as one call (`Backend.compileLoopRun`); a transpose read only by backend kernels is
 * handed to them as a deferred layout where the backend reads it in place (`Backend.defer`).
 */

/** Backends whose buffers are host typed arrays (fusion and aliasing apply). */
const HOST_BACKENDS = new Set(['cpu', 'cpu-wasm']);

/** One step of a compiled program. `free` lists the variables whose last read is this step. */
export type Step =
  | { readonly kind: 'kernel'; readonly eqn: Eqn; readonly outAvals: readonly Aval[]; free: number[] }
  | {
      readonly kind: 'alias';
      readonly from: number;
      readonly to: number;
      readonly prim: string;
      /**
       * A layout view (a transpose) read only by backend kernels, on a backend that reads some
       * layouts in place (`Backend.defer`: cpu-wasm's GEMM packs a transposed operand from its
       * source): the kernels get it deferred, stored only if one of them reads its buffer.
       */
      readonly layout?: Eqn;
      free: number[];
    }
  | {
      readonly kind: 'loop';
      readonly fn: LoopFn;
      readonly source: string;
      /** Who compiled the loop: 'js' (jit's generated JavaScript) or the backend that compiled it itself. */
      readonly by: string;
      /** Variable id of each read, in the loop's parameter order. */
      readonly reads: readonly number[];
      readonly out: Var;
      /** Further outputs: values of members that are also stored (a multi-output loop). */
      readonly stores: readonly Var[];
      /** Reads (by position) whose buffer the output may take over when it dies here. */
      readonly inPlace: readonly number[];
      /** Names of the equations the loop computes (members, reduction, absorbed views). */
      readonly covers: readonly string[];
      /** A copy loop storing one view (not a fusion). */
      readonly copy: boolean;
      /** On the first loop of a run the backend compiled into one call: the run's function and its number of loops. */
      run?: { readonly fn: LoopRunFn; readonly length: number };
      /** The loop description, for a loop the backend compiled (runs are compiled from these). */
      readonly spec?: LoopSpec;
      free: number[];
    }
  | {
      /** A generated WebGPU kernel computing a fusion group (see webgpu-program.ts). */
      readonly kind: 'gpu';
      readonly source: string;
      readonly grid: readonly [number, number, number];
      /** Variable id of each input binding, in binding order. */
      readonly reads: readonly number[];
      readonly out: Var;
      readonly covers: readonly string[];
      free: number[];
    };

type LoopStep = Extract<Step, { kind: 'loop' }>;

/** What compilation did, for inspection and the fusion laws. */
export interface ProgramStats {
  /** Equations in the program. */
  readonly equations: number;
  /** Elementwise equations (unary, binary, compare, select, convert) in the program. */
  readonly elementwise: number;
  /** Generated compute loops (each one pass over its index space, no intermediate buffers). */
  readonly loops: number;
  /** Loops computing two or more equations. */
  readonly fusedLoops: number;
  /** Equations computed inside loops (members, reductions and absorbed views). */
  readonly fusedEquations: number;
  /** Steps that call a backend kernel. */
  readonly kernels: number;
  /** Stored views (transpose, broadcast, slice) run as generated copy loops. */
  readonly copies: number;
  /** Steps that only alias a buffer (reshape, stop_gradient). */
  readonly aliases: number;
  /** Views (transposes) handed to backend kernels as layouts read in place, never stored. */
  readonly layouts: number;
  /** Loops that may write over a dying input (e.g. the epilogue of a matmul). */
  readonly inPlaceLoops: number;
  /** Host dispatches of one call: kernel steps, and loops (a run of loops the backend compiled into one call counts once). */
  readonly dispatches: number;
}

/** A compiled program. */
export interface Program {
  readonly jaxpr: Jaxpr;
  readonly backend: string;
  readonly steps: readonly Step[];
  readonly stats: ProgramStats;
  /**
   * Runs the program on input buffers (in `jaxpr.inputs` order). `donated[i]` lets the program
   * reuse input i's buffer once it is dead (the caller must not read it afterwards).
   */
  run(inputs: readonly Buffer[], donated?: readonly boolean[], timings?: Float64Array): Buffer[];
  /** Device backends (webgpu), whose buffers are not host arrays: runs the program on tensors. */
  runTensors?(inputs: readonly Tensor[]): Tensor[];
  /** A readable listing of the steps (with milliseconds per step when `timings` from `run` are given). */
  describe(timings?: Float64Array): string;
}

/** Options of {@link compileProgram}. */
export interface CompileOptions {
  /** Generate fused loops (default true); false runs one backend kernel per equation. */
  readonly fuse?: boolean;
}

/** Compiles a staged program for the backend `backendName`. */
export function compileProgram(j: Jaxpr, backendName: string, opts: CompileOptions = {}): Program {
  const backend = getBackend(backendName);
  const host = HOST_BACKENDS.has(backend.name);
  const uses = usesOf(j);
  const plan = host && opts.fuse !== false ? planFusion(j, uses, { stores: true }) : null;
  const uniform = plan ? uniformConsts(j) : new Set<number>();
  const steps: Step[] = [];
  j.equations.forEach((e, k) => {
    if (plan) {
      const g = plan.groupOf[k]!;
      if (g >= 0) {
        if (plan.groups[g]!.root === k) steps.push(loopStep(j, plan.groups[g]!, uses.producer, uniform, backend));
        return;
      }
      if (eqnKind(e) === 'view' && !plan.materialize[k]) return;
    }
    // a view that keeps its (stored, so contiguous) input contiguous is that buffer, shared
    if (host && keepsContiguous(e))
      steps.push({ kind: 'alias', from: e.inputs[0]!.id, to: e.outputs[0]!.id, prim: e.prim.name, free: [] });
    else if (plan && eqnKind(e) === 'view' && backend.defer && readByKernelsOnly(j, e, uses, plan.groupOf))
      steps.push({ kind: 'alias', from: e.inputs[0]!.id, to: e.outputs[0]!.id, prim: e.prim.name, layout: e, free: [] });
    else if (plan && eqnKind(e) === 'view') steps.push(copyStep(e, uniform));
    else steps.push({ kind: 'kernel', eqn: e, outAvals: e.outputs.map((v) => v.aval), free: [] });
  });
  if (backend.compileLoopRun) hoistLoops(steps, backend.name);
  planFrees(j, steps);
  if (backend.compileLoopRun) formRuns(steps, backend);
  const constBuffers = j.consts.map((c) => (uniform.has(c.v.id) ? hostBuffer(c.value) : ownConst(backend, hostBuffer(c.value))));
  const loops = steps.filter((s) => s.kind === 'loop' && !s.copy) as LoopStep[];
  const stats: ProgramStats = {
    equations: j.equations.length,
    elementwise: j.equations.filter((e) => eqnKind(e) === 'elementwise').length,
    loops: loops.length,
    fusedLoops: loops.filter((s) => s.covers.length >= 2).length,
    fusedEquations: loops.reduce((n, s) => n + s.covers.length, 0),
    kernels: steps.filter((s) => s.kind === 'kernel').length,
    copies: steps.filter((s) => s.kind === 'loop' && s.copy).length,
    aliases: steps.filter((s) => s.kind === 'alias' && !s.layout).length,
    layouts: steps.filter((s) => s.kind === 'alias' && s.layout).length,
    inPlaceLoops: loops.filter((s) => s.inPlace.length > 0).length,
    dispatches: dispatchCount(steps),
  };
  return {
    jaxpr: j,
    backend: backend.name,
    steps,
    stats,
    run: (inputs, donated, timings) => runningCompiled(runProgram, j, steps, backend, constBuffers, inputs, donated, timings),
    describe: (timings) => describe(steps, timings),
  };
}

const hostBuffer = (t: Tensor): Buffer => (t as ArrayTensor).buffer as Buffer;

/**
 * A constant's buffer in the backend's own memory, copied once when the program is compiled
 * (cpu-wasm: resident, so its kernels read it in place on every call instead of copying it in);
 * the buffer itself where it is there already, or the backend has no memory of its own or refuses.
 * Uniform constants, which loops read as one element, stay where they are.
 */
function ownConst(backend: Backend, b: Buffer): Buffer {
  if (!backend.allocate || !(b.buffer instanceof ArrayBuffer) || b.length === 0) return b;
  // the program keeps it for its life: no record of temporaries open now may free it
  const own = unrecorded(() => backend.allocate!(dtypeOfBuffer(b), b.length));
  if (!own || own.buffer instanceof ArrayBuffer) return b;
  own.set(b as never);
  return own;
}

/** Whether the value of `e` is no program output and is read only by equations that run as backend kernels. */
function readByKernelsOnly(j: Jaxpr, e: Eqn, uses: Uses, groupOf: Int32Array): boolean {
  const out = e.outputs[0]!.id;
  const us = uses.users[out]!;
  return !uses.outputs.has(out) && us.length > 0 && us.every((u) => groupOf[u]! < 0 && eqnKind(j.equations[u]!) === 'other');
}

/**
 * Constants whose elements are all equal (scalars broadcast eagerly while tracing, e.g. the 0.5 of
 * `mul(x, 0.5)`): loops read their first element with stride 0 instead of streaming the buffer.
 */
function uniformConsts(j: Jaxpr): Set<number> {
  return new Set(j.consts.filter((c) => uniformHostValue(c.value) !== undefined).map((c) => c.v.id));
}

/** The value of every element of a host tensor of at least `minSize` elements that are all equal, else undefined. */
export function uniformHostValue(t: Tensor, minSize = 2): number | undefined {
  if (!(t instanceof ArrayTensor)) return undefined;
  const b = t.buffer as Buffer;
  if (b.length < minSize || b.length === 0) return undefined;
  const first = b[0]!;
  for (let i = 1; i < b.length; i++) if (!Object.is(b[i], first)) return undefined;
  return Number(first);
}

/** Builds the loop of a fusion group: its index space, strided reads and operations (compiled by the backend when it can, else JavaScript). */
function loopStep(j: Jaxpr, g: Group, producer: Int32Array, uniform: ReadonlySet<number>, backend: Backend): Step {
  const { spec, readVars, readViews, covers } = groupLoop(j, g, producer, uniform, true);
  const own = backend.compileLoop?.(spec);
  const { fn, source } = own ? { fn: own, source: `(compiled by ${backend.name})` } : compileLoop(spec);
  const out = j.equations[g.root]!.outputs[0]!;
  const contiguous = stridesOf(g.shape);
  const inPlace: number[] = [];
  if (!g.reduce)
    readViews.forEach((v, r) => {
      const identity = v.offset === 0 && sizeOf(v.src.aval.shape) === sizeOf(g.shape) && g.shape.every((d, a) => d === 1 || v.strides[a] === contiguous[a]);
      const once = readVars.filter((id) => id === v.src.id).length === 1;
      if (identity && once && v.src.aval.dtype === out.aval.dtype) inPlace.push(r);
    });
  const stores = g.stores.map((m) => j.equations[m]!.outputs[0]!);
  return { kind: 'loop', fn, source, by: own ? backend.name : 'js', reads: readVars, out, stores, inPlace, covers, copy: false, ...(own ? { spec } : {}), free: [] };
}

/** The loop of a fusion group, before code generation (host loops and WebGPU kernels share it). */
export interface GroupLoop {
  readonly spec: LoopSpec;
  /** Variable id of each read, in the spec's read order (a variable read through two views appears twice). */
  readonly readVars: readonly number[];
  /** The view of each read. */
  readonly readViews: readonly View[];
  /** Names of the equations the loop computes (absorbed views, members, reduction). */
  readonly covers: readonly string[];
}

/**
 * The loop spec of a fusion group: its index space (a reduction's reduced axes innermost, unless
 * `inputOrder` lets a reduction keeping the last axis accumulate in the input's order), one strided
 * read per distinct view of a stored variable (constants in `uniform` read with stride 0), and the
 * members' operations.
 */
export function groupLoop(j: Jaxpr, g: Group, producer: Int32Array, uniform: ReadonlySet<number>, inputOrder: boolean): GroupLoop {
  const eqns = j.equations;
  const root = eqns[g.root]!;
  const rank = g.shape.length;
  // a reduction that keeps the last axis accumulates in the input's order (contiguous reads); any
  // other runs with the reduced axes innermost, as the CPU reduction kernel visits them
  const reduced = g.reduce?.axes ?? [];
  const accumulate = inputOrder && g.reduce !== null && rank > 0 && !reduced.includes(rank - 1);
  const perm = g.reduce && !accumulate ? [...g.shape.keys()].filter((a) => !reduced.includes(a)).concat(reduced) : [...g.shape.keys()];
  const views = new Set(g.views);
  const opIndex = new Map<number, number>(g.members.map((m, i) => [m, i]));
  const reads: LoopRead[] = [];
  const readVars: number[] = [];
  const readViews: View[] = [];
  const readKey = new Map<string, number>();
  const resolve = (v: Var): View => {
    const p = producer[v.id]!;
    if (p >= 0 && views.has(p)) return applyView(eqns[p]!, resolve(eqns[p]!.inputs[0]!));
    return uniform.has(v.id) ? { src: v, shape: v.aval.shape, strides: v.aval.shape.map(() => 0), offset: 0 } : identityView(v);
  };
  const ref = (v: Var): Ref => {
    const p = producer[v.id]!;
    const op = p >= 0 ? opIndex.get(p) : undefined;
    if (op !== undefined) return { kind: 'op', index: op };
    const view = resolve(v);
    if (view.shape.length !== rank || view.shape.some((d, a) => d !== g.shape[a]))
      throw new Error(`jit: fused read of ${showShape(view.shape)} in a loop over ${showShape(g.shape)}`);
    const strides = perm.map((a) => view.strides[a]!);
    const key = `${view.src.id}|${strides.join(',')}|${view.offset}`;
    let r = readKey.get(key);
    if (r === undefined) {
      r = reads.length;
      readKey.set(key, r);
      reads.push({ strides, offset: view.offset });
      readVars.push(view.src.id);
      readViews.push(view);
    }
    return { kind: 'read', index: r };
  };
  const ops: LoopOp[] = g.members.map((m) => {
    const e = eqns[m]!;
    const f = e.prim.fusion;
    if (f.role !== 'elementwise') throw new Error(`jit: ${e.prim.name} is not elementwise`);
    return { expr: f.scalar(e.params), dtype: e.outputs[0]!.aval.dtype, argDtypes: e.inputs.map((v) => v.aval.dtype), args: e.inputs.map(ref) };
  });
  const result: Ref = g.reduce ? ref(root.inputs[0]!) : { kind: 'op', index: opIndex.get(g.root)! };
  const out = root.outputs[0]!;
  let outStrides: number[] | undefined;
  if (accumulate) {
    const kept = stridesOf(out.aval.shape);
    let k = 0;
    outStrides = g.shape.map((_, a) => (reduced.includes(a) ? 0 : kept[k++]!));
  }
  const spec: LoopSpec = {
    shape: perm.map((a) => g.shape[a]!),
    nOuter: rank - reduced.length,
    reads,
    ops,
    result,
    stores: g.stores.map((m): Ref => ({ kind: 'op', index: opIndex.get(m)! })),
    reduce: g.reduce?.kind ?? null,
    outDtype: out.aval.dtype,
    ...(outStrides ? { accumulate: { outStrides, outSize: sizeOf(out.aval.shape) } } : {}),
  };
  const covers = [...g.views.map((k) => eqns[k]!.prim.name), ...g.members.map((k) => eqns[k]!.prim.name), ...(g.reduce ? [root.prim.name] : [])];
  return { spec, readVars, readViews, covers };
}

/** A stored view (transpose, broadcast, slice) as a generated copy loop with its shape baked in. */
function copyStep(e: Eqn, uniform: ReadonlySet<number>): Step {
  const src = e.inputs[0]!;
  const base = uniform.has(src.id) ? { src, shape: src.aval.shape, strides: src.aval.shape.map(() => 0), offset: 0 } : identityView(src);
  const v = applyView(e, base);
  const out = e.outputs[0]!;
  const { fn, source } = compileLoop({
    shape: v.shape,
    nOuter: v.shape.length,
    reads: [{ strides: v.strides, offset: v.offset }],
    ops: [],
    result: { kind: 'read', index: 0 },
    reduce: null,
    outDtype: out.aval.dtype,
  });
  return { kind: 'loop', fn, source, by: 'js', reads: [src.id], out, stores: [], inPlace: [], covers: [e.prim.name], copy: true, free: [] };
}

/** Whether `s` is a loop the backend `by` compiled itself (one that can join a run). */
const runnable = (s: Step | undefined, by: string): s is LoopStep => s !== undefined && s.kind === 'loop' && s.by === by && s.spec !== undefined;

/** Most loops in one run (one call's parameter list grows with each). */
const MAX_RUN = 32;

/**
 * Moves each loop `by` compiled up to just after an earlier such loop, when no step in between
 * defines what it reads (the bias gradient's reduction runs right after the loop that produced its
 * input, not after the next matmul), so that runs grow longer. Order among the other steps is kept.
 */
function hoistLoops(steps: Step[], by: string): void {
  const out: Step[] = [];
  for (const s of steps) {
    let at = out.length;
    if (runnable(s, by) && !runnable(out[at - 1], by)) {
      const reads = new Set(readsOf(s));
      let earliest = 0;
      out.forEach((t, k) => defsOf(t).some((id) => reads.has(id)) && (earliest = k + 1));
      for (let q = out.length - 1; q >= Math.max(1, earliest); q--)
        if (runnable(out[q - 1], by)) {
          at = q;
          break;
        }
    }
    out.splice(at, 0, s);
  }
  steps.splice(0, steps.length, ...out);
}

/** Groups consecutive loops `backend` compiled into runs of one call each (after liveness, which stays per loop). */
function formRuns(steps: Step[], backend: Backend): void {
  for (let i = 0; i < steps.length; ) {
    let k = i;
    while (k < steps.length && k - i < MAX_RUN && runnable(steps[k], backend.name)) k++;
    if (k - i >= 2) {
      const members = steps.slice(i, k) as LoopStep[];
      const fn = backend.compileLoopRun!(members.map((m) => m.spec!));
      if (fn) members[0]!.run = { fn, length: members.length };
    }
    i = Math.max(k, i + 1);
  }
}

/** Host dispatches of one call of a program (see {@link ProgramStats.dispatches}). */
function dispatchCount(steps: readonly Step[]): number {
  let n = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.kind === 'kernel') n++;
    else if (s.kind === 'loop') {
      n++;
      if (s.run) i += s.run.length - 1;
    }
  }
  return n;
}

const readsOf = (s: Step): readonly number[] => (s.kind === 'kernel' ? s.eqn.inputs.map((v) => v.id) : s.kind === 'alias' ? [s.from] : s.reads);
const defsOf = (s: Step): readonly number[] =>
  s.kind === 'kernel' ? s.eqn.outputs.map((v) => v.id) : s.kind === 'alias' ? [s.to] : s.kind === 'loop' ? [s.out.id, ...s.stores.map((v) => v.id)] : [s.out.id];

/** Liveness: each variable is released after the step of its last read (never for outputs). */
export function planFrees(j: Jaxpr, steps: Step[]): void {
  const last = new Int32Array(j.nVars).fill(-1);
  for (const v of j.inputs) last[v.id] = 0;
  for (const c of j.consts) last[c.v.id] = 0;
  steps.forEach((s, i) => {
    for (const id of defsOf(s)) last[id] = i; // an unread definition dies where it is made
    for (const id of readsOf(s)) last[id] = i;
  });
  const outputs = new Set(j.outputs.map((v) => v.id));
  const defined = new Set<number>([...j.inputs.map((v) => v.id), ...j.consts.map((c) => c.v.id)]);
  for (const s of steps) for (const id of defsOf(s)) defined.add(id);
  for (const id of defined) if (!outputs.has(id) && steps.length > 0) steps[last[id]!]!.free.push(id);
}

const poolKey = (dtype: DType, n: number) => `${dtype}:${n}`;

function runProgram(
  j: Jaxpr,
  steps: readonly Step[],
  backend: Backend,
  constBuffers: readonly Buffer[],
  inputs: readonly Buffer[],
  donated?: readonly boolean[],
  timings?: Float64Array,
): Buffer[] {
  if (inputs.length !== j.inputs.length) throw new Error(`jit: program of ${j.inputs.length} inputs called with ${inputs.length} buffers`);
  return new ProgramCall(j, backend, constBuffers, inputs, donated).run(steps, timings);
}

// Memory is tracked by storage, not typed-array object: two views of one ArrayBuffer share a
// count, and only an array spanning its whole store is ever reused. A view into shared memory (a
// cpu-wasm resident tensor: one region of the wasm memory, owned by that view) is its own storage.
const storeOf = (b: Buffer): object => (b.buffer instanceof ArrayBuffer ? b.buffer : b);
const ownable = (b: Buffer): boolean => !(b.buffer instanceof ArrayBuffer) || (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength);

/** The generic (JavaScript) loops of backend-compiled loop steps, made when one first declines to run. */
const fallbacks = new WeakMap<LoopStep, LoopFn>();

/** Runs a loop step on its buffers: its loop, or the generic one where the backend's declines (returns false: no memory for it now). */
function runLoop(s: LoopStep, bufs: Buffer[]): void {
  if (s.fn(...bufs) !== false) return;
  let generic = fallbacks.get(s);
  if (generic === undefined) {
    if (s.spec === undefined) throw new Error('jit: a loop declined to run and has no spec for the generic loop (internal error)');
    generic = compileLoop(s.spec).fn;
    fallbacks.set(s, generic);
  }
  generic(...bufs);
}

/**
 * The buffers of one call of a program: values by variable, reference counts by storage, the
 * stores this call may overwrite once dead, and a pool of dead ones by dtype and size. A class
 * rather than closures made per call: V8 keeps the optimized code of its methods across full
 * collections, which drop that of closures no live function holds.
 */
class ProgramCall {
  private readonly vals: (Buffer | undefined)[];
  private readonly refs = new Map<object, number>();
  /** Stores this call may overwrite once dead: its own allocations and donated inputs. */
  private readonly owned = new Set<object>();
  /** Stores this call allocated (or its kernels returned fresh): the dead ones go back to the backend at the end. */
  private readonly made = new Set<object>();
  private readonly pool = new Map<string, Buffer[]>();
  /** Deferred layouts by variable (see the alias step), which kernels read in place. */
  private readonly layouts: (ArrayTensor | undefined)[];

  constructor(
    private readonly j: Jaxpr,
    private readonly backend: Backend,
    constBuffers: readonly Buffer[],
    inputs: readonly Buffer[],
    donated: readonly boolean[] | undefined,
  ) {
    this.vals = new Array<Buffer | undefined>(j.nVars);
    this.layouts = new Array<ArrayTensor | undefined>(j.nVars);
    for (let i = 0; i < j.inputs.length; i++) {
      this.vals[j.inputs[i]!.id] = inputs[i]!;
      this.hold(inputs[i]!);
    }
    for (let i = 0; i < j.consts.length; i++) {
      const b = constBuffers[i]!;
      this.vals[j.consts[i]!.v.id] = b;
      this.hold(b);
    }
    if (donated) {
      for (let i = 0; i < inputs.length; i++) if (donated[i] && ownable(inputs[i]!)) this.owned.add(storeOf(inputs[i]!));
      // a store that is also a constant's or a kept (non-donated) input's is not the program's to reuse
      for (let i = 0; i < inputs.length; i++) if (!donated[i]) this.owned.delete(storeOf(inputs[i]!));
      for (const c of j.consts) this.owned.delete(storeOf(hostBuffer(c.value)));
    }
  }

  private hold(b: Buffer): void {
    const store = storeOf(b);
    this.refs.set(store, (this.refs.get(store) ?? 0) + 1);
  }

  private own(b: Buffer): void {
    this.owned.add(storeOf(b));
    this.made.add(storeOf(b));
  }

  /** Sets variable `id` to `b`, held; a buffer the call had not seen (a kernel's fresh output) becomes its own. */
  private define(id: number, b: Buffer): void {
    if (!this.refs.has(storeOf(b)) && ownable(b)) this.own(b); // kernels may also return an input's buffer
    this.vals[id] = b;
    this.hold(b);
  }

  private tensorOf(v: Var): ArrayTensor {
    return this.layouts[v.id] ?? new ArrayTensor(v.aval.shape, v.aval.dtype, this.vals[v.id]!, this.backend.name);
  }

  private release(id: number): void {
    const b = this.vals[id]!;
    this.vals[id] = undefined;
    this.layouts[id] = undefined;
    const store = storeOf(b);
    const n = this.refs.get(store)! - 1;
    if (n > 0) {
      this.refs.set(store, n);
      return;
    }
    this.refs.delete(store);
    if (this.owned.delete(store)) {
      const key = poolKey(dtypeOfBuffer(b), b.length);
      const list = this.pool.get(key);
      if (list) list.push(b);
      else this.pool.set(key, [b]);
    }
  }

  private releaseAll(ids: readonly number[]): void {
    for (const id of ids) this.release(id);
  }

  /** A buffer for output `v`: a dead one of its size from the pool, else a new one (resident where the backend allocates). */
  private fresh(v: Var): Buffer {
    const [dtype, n] = [v.aval.dtype, sizeOf(v.aval.shape)];
    const reused = this.pool.get(poolKey(dtype, n))?.pop();
    if (reused) {
      this.owned.add(storeOf(reused));
      return reused;
    }
    const b = this.backend.allocate?.(dtype, n) ?? allocate(dtype, n);
    this.own(b);
    return b;
  }

  /** The buffers of a loop step (reads, output, stores): its outputs are taken (in place over a dying read where allowed) and defined. */
  private prepareLoop(s: LoopStep): Buffer[] {
    let out: Buffer | undefined;
    for (const r of s.inPlace) {
      const b = this.vals[s.reads[r]!]!;
      if (this.owned.has(storeOf(b)) && this.refs.get(storeOf(b)) === 1 && s.free.includes(s.reads[r]!)) {
        out = b;
        break;
      }
    }
    out ??= this.fresh(s.out);
    const bufs: Buffer[] = [];
    for (const id of s.reads) bufs.push(this.vals[id]!);
    bufs.push(out);
    this.vals[s.out.id] = out;
    this.hold(out);
    for (const v of s.stores) {
      const b = this.fresh(v);
      bufs.push(b);
      this.vals[v.id] = b;
      this.hold(b);
    }
    return bufs;
  }

  /** Runs the steps and returns the outputs' buffers. */
  run(steps: readonly Step[], timings: Float64Array | undefined): Buffer[] {
    const { backend } = this;
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      const t0 = timings ? performance.now() : 0;
      if (s.kind === 'kernel') {
        const e = s.eqn;
        const args: ArrayTensor[] = [];
        for (const v of e.inputs) args.push(this.tensorOf(v));
        countHostDispatch();
        const outs = backend.execute(e.prim, args, e.params, s.outAvals);
        for (let o = 0; o < e.outputs.length; o++) this.define(e.outputs[o]!.id, outs[o]!);
      } else if (s.kind === 'alias') {
        const b = this.vals[s.from]!;
        const e = s.layout;
        const t = e && backend.defer!(e.prim, [this.tensorOf(e.inputs[0]!)], e.params, [e.outputs[0]!.aval]);
        if (e && !t) {
          // the backend does not read this layout in place: store it
          countHostDispatch();
          this.define(s.to, backend.execute(e.prim, [this.tensorOf(e.inputs[0]!)], e.params, [e.outputs[0]!.aval])[0]!);
        } else {
          if (t) this.layouts[s.to] = t;
          this.vals[s.to] = b; // the deferred view keeps its source's storage alive
          this.hold(b);
        }
      } else if (s.kind === 'gpu') {
        throw new Error('jit: a WebGPU kernel step in a host program (internal error)');
      } else if (s.run) {
        // a run of loops the backend compiled into one call: each loop's buffers are planned
        // (and its dead inputs released) in order, then the whole run executes at once
        const members = steps.slice(i, i + s.run.length) as LoopStep[];
        const bufs: Buffer[][] = [];
        for (let k = 0; k < members.length; k++) {
          bufs.push(this.prepareLoop(members[k]!));
          if (k < members.length - 1) this.releaseAll(members[k]!.free);
        }
        if (s.run.fn(bufs)) countHostDispatch();
        else
          for (let k = 0; k < members.length; k++) {
            countHostDispatch();
            runLoop(members[k]!, bufs[k]!);
          }
        this.releaseAll(members[members.length - 1]!.free);
        if (timings) timings[i] = timings[i]! + performance.now() - t0;
        i += members.length - 1;
        continue;
      } else {
        const bufs = this.prepareLoop(s);
        countHostDispatch();
        runLoop(s, bufs);
      }
      this.releaseAll(s.free);
      if (timings) timings[i] = timings[i]! + performance.now() - t0;
    }
    // the dead buffers this call made go back to the backend now, so the next call (or kernel) takes
    // the same memory again instead of fresh pages (on cpu-wasm a first touch costs a page fault)
    // while these wait for a major collection; donated inputs are left to theirs
    if (backend.release) for (const list of this.pool.values()) for (const b of list) if (this.made.has(storeOf(b))) backend.release(b);
    const out: Buffer[] = [];
    for (const v of this.j.outputs) out.push(this.vals[v.id]!);
    return out;
  }
}

export function describe(steps: readonly Step[], timings?: Float64Array): string {
  const v = (id: number) => `v${id}`;
  return steps
    .map((s, i) => (timings ? `${timings[i]!.toFixed(3).padStart(9)} ms  ` : '') + line(s))
    .join('\n');
  function line(s: Step): string {
      const free = s.free.length ? `   (free ${s.free.map(v).join(' ')})` : '';
      if (s.kind === 'kernel') return `${s.eqn.outputs.map((o) => v(o.id)).join(', ')} = kernel ${s.eqn.prim.name}(${s.eqn.inputs.map((i) => v(i.id)).join(', ')})${free}`;
      if (s.kind === 'alias') return `${v(s.to)} = ${s.layout ? 'layout' : 'alias'} ${s.prim}(${v(s.from)})${free}`;
      if (s.kind === 'gpu') return `${v(s.out.id)}:${s.out.aval.dtype}${showShape(s.out.aval.shape)} = wgsl{${s.covers.join(' ')}}(${s.reads.map(v).join(', ')})${free}`;
      const inPlace = s.inPlace.length ? ` [may write over ${s.inPlace.map((r) => v(s.reads[r]!)).join('/')}]` : '';
      const outs = [s.out, ...s.stores].map((o) => `${v(o.id)}:${o.aval.dtype}${showShape(o.aval.shape)}`).join(', ');
      const run = s.run ? `[one call for this loop and the next ${s.run.length - 1}] ` : '';
      return `${run}${outs} = ${s.copy ? 'copy' : s.by === 'js' ? 'loop' : `${s.by} loop`}{${s.covers.join(' ')}}(${s.reads.map(v).join(', ')})${inPlace}${free}`;
  }
}

