import { ShapeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { Tracer } from '../prim/bind.js';
import { flatten, numLeaves, type TreeDef, unflatten } from '../core/tree.js';
import { type Jaxpr, showJaxpr, stageFlat } from '../interp/stage.js';
import { applyProgram, backendOf, programFor } from './jit-call.js';
import type { Program, ProgramStats } from './program.js';

/** Options of {@link jit}. */
export interface JitOptions {
  /**
   * Positions of arguments whose tensors the compiled program may overwrite once it no longer
   * needs them (their buffers become scratch space or outputs). The caller gives them up: reading a
   * donated tensor, or any tensor sharing its buffer (a reshape of it), after the call is undefined.
   */
  readonly donate?: readonly number[];
  /** Most input signatures kept compiled, least recently used evicted first (default 64). */
  readonly cacheSize?: number;
  /** Generate fused loops (default true); false runs one backend kernel per equation. */
  readonly fuse?: boolean;
}

/** What `jitted.lower(...args)` shows: the staged program and its compiled form. */
export interface Lowered {
  readonly jaxpr: Jaxpr;
  /** The program as text, one equation a line. */
  readonly text: string;
  /** The program compiled for the arguments' backend. */
  readonly program: Program;
  readonly stats: ProgramStats;
}

/** A jitted function: call it like the original; the methods expose its signature cache. */
export interface Jitted<A extends readonly unknown[], R> {
  (...args: A): R;
  /** Number of signatures currently cached (at most `cacheSize`). */
  cacheSize(): number;
  /** Number of times the function has been traced so far. */
  traceCount(): number;
  /** Traces (or looks up) the program for these arguments without running it. */
  lower(...args: A): Lowered;
  /** Drops every cached program. */
  clearCache(): void;
}

interface Entry {
  readonly jaxpr: Jaxpr;
  readonly outDef: TreeDef;
  /** Tracers of enclosing transforms the function closed over (such entries are never cached). */
  readonly captured: readonly Tensor[];
  /** Per input leaf: whether it belongs to a donated argument. */
  readonly donated: readonly boolean[] | undefined;
}

const DEFAULT_CACHE_SIZE = 64;

/** A key for a tree structure: node kinds, record keys and the static (non-tensor) values. */
function defKey(d: TreeDef): string {
  switch (d.kind) {
    case 'leaf':
      return '*';
    case 'static': {
      const v = d.value;
      return typeof v === 'string' ? JSON.stringify(v) : Object.is(v, -0) ? '-0' : `${typeof v}:${String(v)}`;
    }
    case 'array': {
      let key = '[';
      for (let i = 0; i < d.children.length; i++) key += (i ? ',' : '') + defKey(d.children[i]!);
      return `${key}]`;
    }
    case 'record': {
      let key = '{';
      for (let i = 0; i < d.keys.length; i++) key += `${i ? ',' : ''}${JSON.stringify(d.keys[i]!)}:${defKey(d.children[i]!)}`;
      return `${key}}`;
    }
  }
}

/** The call signature: the structure's key, then each leaf's dtype and shape (written with loops: see core/keep-alive.ts). */
function signatureOf(def: TreeDef, leaves: readonly Tensor[]): string {
  let key = `${defKey(def)}|`;
  for (let i = 0; i < leaves.length; i++) key += `${i ? ';' : ''}${leaves[i]!.dtype}[${leaves[i]!.shape.join(',')}]`;
  return key;
}

/**
 * Just-in-time compilation: `jit(f)` returns a function that traces `f` once per input signature
 * (tree structure, shapes and dtypes of the tensor leaves, and the values of non-tensor leaves,
 * which are static), records its primitives into a program, and runs the compiled program on
 * every later call with that signature. The compiled program fuses elementwise chains (with the
 * broadcasts, transposes and slices feeding them) into single generated loops, fuses a reduction
 * with the elementwise chain feeding it, runs matmul epilogues in place over the matmul output,
 * and reuses dead intermediate buffers (within a call, and on cpu-wasm from one call to the
 * next). The values are those of eager execution: bitwise on the `cpu` backend (the loops
 * round every float32 intermediate as a stored one would be); on `cpu-wasm`, which compiles the
 * loops to WebAssembly SIMD (consecutive ones run as one call) and whose sums add in another
 * order, within float rounding. On `webgpu` each fused group is one generated WGSL kernel
 * (compiled once per shape), with the values of eager webgpu execution within float32 rounding
 * (a fused sum adds in its own order).
 *
 *     const step = jit((w: Tensor, x: Tensor) => tanh(add(matmul(x, w), 1)));
 *     step(w, x);            // traces and compiles
 *     step(w, x2);           // same shapes and dtypes: runs the compiled program
 *     step.cacheSize();      // 1
 *
 * The cache holds up to `cacheSize` signatures per jitted function (64 by default), evicting the
 * least recently used; a new shape, dtype, tree structure or static value traces again.
 *
 * Tracing semantics (as JAX): tensors `f` closes over are captured as constants at trace time (a
 * later change of the closure is not seen until the cache is cleared); control flow on tensor
 * values is not possible inside `f` (use `where`, or pass the value as a plain number, which is
 * static); side effects in `f` happen once per trace.
 *
 * Composition: `jit(grad(f))`, `jit(vmap(f))`, `jit(hessian(f))` trace the transformed function
 * into one program. Inside a transform (`grad(jit(f))`, `vmap(jit(f))`, `jvp(jit(f))`), the jitted
 * function is the primitive `jit_call`, whose rules transform its program (see jit-call.ts), so
 * the transformed computation is compiled too. Values `f` closes over that are tracers of an
 * enclosing transform become extra inputs of a program traced for that call only (not cached).
 */
export function jit<A extends readonly unknown[], R>(f: (...args: A) => R, opts: JitOptions = {}): Jitted<A, R> {
  if (typeof f !== 'function') throw new TypeError(`jit: expected a function, got ${typeof f}`);
  const maxSize = opts.cacheSize ?? DEFAULT_CACHE_SIZE;
  if (!Number.isInteger(maxSize) || maxSize < 1) throw new RangeError(`jit: cacheSize must be a positive integer, got ${maxSize}`);
  const donate = opts.donate ?? [];
  const fuse = opts.fuse !== false;
  const name = f.name || 'anonymous';
  const cache = new Map<string, Entry>();
  let traces = 0;

  const prepare = (args: A): { leaves: Tensor[]; entry: Entry } => {
    let flat: ReturnType<typeof flatten>;
    try {
      flat = flatten(args);
    } catch (e) {
      if (e instanceof Error) e.message = `jit(${name}): arguments: ${e.message}`;
      throw e;
    }
    const { leaves, def } = flat;
    for (const i of donate)
      if (!Number.isInteger(i) || i < 0 || i >= args.length)
        throw new ShapeError(`jit(${name}): donate index ${i} is out of range for a call with ${args.length} argument(s)`);
    const key = signatureOf(def, leaves);
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key); // most recently used last
      cache.set(key, hit);
      return { leaves, entry: hit };
    }
    traces++;
    let outDef: TreeDef | undefined;
    const { jaxpr, captured } = stageFlat((...xs) => {
      const out = f(...unflatten<A>(def, xs));
      let o: ReturnType<typeof flatten>;
      try {
        o = flatten(out);
      } catch (e) {
        if (e instanceof Error) e.message = `jit(${name}): the function's result: ${e.message}`;
        throw e;
      }
      outDef = o.def;
      return o.leaves;
    }, leaves);
    let donated: boolean[] | undefined;
    if (donate.length && def.kind === 'array') {
      donated = [];
      def.children.forEach((c, i) => {
        for (let n = numLeaves(c); n > 0; n--) donated!.push(donate.includes(i));
      });
    }
    const entry: Entry = { jaxpr, outDef: outDef!, captured, donated };
    if (captured.length === 0) {
      cache.set(key, entry);
      if (cache.size > maxSize) cache.delete(cache.keys().next().value!);
    }
    return { leaves, entry };
  };

  const jitted = (...args: A): R => {
    const { leaves, entry } = prepare(args);
    const outs = applyProgram([...leaves, ...entry.captured], { jaxpr: entry.jaxpr, name }, entry.donated, fuse);
    return unflatten<R>(entry.outDef, outs);
  };

  return Object.assign(jitted, {
    cacheSize: () => cache.size,
    traceCount: () => traces,
    lower: (...args: A): Lowered => {
      const { leaves, entry } = prepare(args);
      const program = programFor(entry.jaxpr, backendOf(leaves.filter((l) => !(l instanceof Tracer))), fuse);
      return { jaxpr: entry.jaxpr, text: showJaxpr(entry.jaxpr), program, stats: program.stats };
    },
    clearCache: () => cache.clear(),
  });
}
