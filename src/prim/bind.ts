import { ConcretizationError, EscapedTracerError } from '../core/errors.js';
import type { DType } from '../core/dtype.js';
import { keepAlive } from '../core/keep-alive.js';
import { setTracingTest } from '../core/unrecorded.js';
import { ArrayTensor, type Aval, Tensor } from '../core/tensor.js';
import type { Primitive } from './record.js';
import { evalPrimitive } from './eval.js';

/**
 * One level of interpretation (a jvp, a linearisation, a vmap…). Levels nest: a trace started
 * inside another gets a higher level, and `bind` hands each primitive to the highest level among
 * its arguments, so nested transforms never confuse their perturbations.
 */
export abstract class Trace {
  /** False once the transform that opened this trace has returned. */
  alive = true;
  readonly level: number;
  constructor(readonly kind: string) {
    this.level = stack.length;
    stack.push(this);
  }
  /** Ends the trace; its tracers become escaped tracers. */
  close(): void {
    this.alive = false;
    const i = stack.lastIndexOf(this);
    if (i >= 0) stack.splice(i, 1);
  }
  /** Wraps a value of a lower level as a tracer of this trace. */
  abstract lift(x: Tensor): Tracer;
  /** Interprets one primitive application whose arguments are tracers of this trace. */
  abstract process(prim: Primitive, args: readonly Tracer[], params: unknown): Tensor[];
}

const stack: Trace[] = [];

/** Whether any transform is tracing now (a trace is open). */
export const tracing = (): boolean => stack.length > 0;
setTracingTest(tracing);

/** A tensor standing for a value inside a transform. */
export abstract class Tracer<D extends DType = DType> extends Tensor<D> {
  constructor(
    readonly trace: Trace,
    readonly aval: Aval,
  ) {
    super();
  }
  get shape() {
    return this.aval.shape;
  }
  get dtype(): D {
    return this.aval.dtype as D;
  }
  dataSync(): never {
    throw new ConcretizationError(
      `dataSync(): this tensor is traced by ${this.trace.kind} (shape [${this.shape.join(',')}], ${this.dtype}); its concrete value is not known inside the transform`,
    );
  }
}

/** Applies a primitive to tensors, dispatching to the highest active trace among them. */
export function bind(prim: Primitive, args: readonly Tensor[], params: unknown): Tensor[] {
  let top: Trace | null = null;
  for (const a of args) {
    if (a instanceof Tracer) {
      if (!a.trace.alive)
        throw new EscapedTracerError(
          `${prim.name}: an argument is a tracer of a ${a.trace.kind} transform that has already returned (an escaped tracer); return values from the transformed function instead of storing them outside`,
        );
      if (top === null || a.trace.level > top.level) top = a.trace;
    }
  }
  if (top === null) return evalPrimitive(prim, args, params);
  const t = top;
  return t.process(prim, args.map((a) => (a instanceof Tracer && a.trace === t ? a : t.lift(a))), params);
}

/**
 * Keeps the objects `make` returns alive for the life of the process (core/keep-alive.ts), so that
 * V8 keeps the hidden classes (maps) their kind of object reaches. Traces and tracers live only
 * while a transform runs; a full collection between two transforms (the cpu-wasm heap forces one
 * every ~20 eager training steps) finds none alive and drops their maps, and V8 then deoptimizes
 * every function compiled against them (`bind`, the tracers' getters, the shape helpers…) and
 * compiles it again on a background thread: 289 compilations, 1.5 s of the second core's time per
 * 200 eager Adam steps at batch 100, before; 108 with the anchors. `make` receives a concrete tensor
 * to build tracers of, and any trace it opens must be closed before it returns.
 */
export function keepHiddenClasses(make: (x: ArrayTensor) => readonly object[]): void {
  keepAlive(...make(new ArrayTensor([1], 'float32', new Float32Array(1))));
}

/** Applies a single-output primitive. */
export const bind1 = (prim: Primitive, args: readonly Tensor[], params: unknown = {}): Tensor => bind(prim, args, params)[0]!;
