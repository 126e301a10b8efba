import { ConcretizationError } from './errors.js';
import type { ArrayFor, Buffer, DType } from './dtype.js';
import { frozenShape, sizeOf, type Shape, stridesOf } from './shape.js';
import { unrecorded } from './unrecorded.js';

/** The abstract value of a tensor: what tracing knows about it. */
export interface Aval {
  readonly shape: Shape;
  readonly dtype: DType;
}

/**
 * An immutable tensor handle. It is either concrete (an {@link ArrayTensor} holding a buffer on a
 * backend) or a tracer standing for a value inside a transform. The dtype is part of the type, so
 * records of tensors are typed records and mixing dtypes is a compile-time error where it can be.
 */
export abstract class Tensor<D extends DType = DType> implements Aval {
  /** Phantom field so that `Tensor<'float32'>` and `Tensor<'float64'>` are distinct types. */
  declare readonly __dtype?: D;
  abstract readonly shape: Shape;
  abstract readonly dtype: D;
  /** Number of axes. */
  get rank(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }
  /**
   * The elements, row-major, in a fresh typed array, read synchronously. Works for tensors held
   * in host memory (the cpu and cpu-wasm backends); a WebGPU tensor can only be read with
   * `await x.data()`, and this throws saying so. Throws inside a transform.
   */
  abstract dataSync(): ArrayFor<D>;
  /**
   * The elements, row-major, in a fresh typed array: the way to read a tensor on any backend
   * (a GPU buffer is mapped with a promise; host tensors resolve at once). `const v = await y.data()`.
   */
  async data(): Promise<ArrayFor<D>> {
    return this.dataSync();
  }
  /** The elements as nested arrays (a number for a scalar). */
  toNested(): NestedArray {
    const d = this.dataSync();
    const vals = Array.from(d as ArrayLike<number>, (v) => (this.dtype === 'bool' ? v !== 0 : v)) as (number | boolean)[];
    return nest(vals, this.shape);
  }
  /** The single element of a size-1 tensor, as a number. */
  item(): number {
    if (this.size !== 1) throw new ConcretizationError(`item: tensor of shape [${this.shape.join(',')}] has ${this.size} elements, not 1`);
    return this.dataSync()[0]!;
  }
  toString(): string {
    return `Tensor<${this.dtype}>[${this.shape.join(',')}]`;
  }
}

/** Nested arrays of numbers (or booleans), as `toNested` returns them. */
export type NestedArray = number | boolean | NestedArray[];

function nest(vals: (number | boolean)[], shape: Shape): NestedArray {
  if (shape.length === 0) return vals[0]!;
  const st = stridesOf(shape);
  const rec = (axis: number, off: number): NestedArray[] =>
    Array.from({ length: shape[axis]! }, (_, i) =>
      axis === shape.length - 1 ? vals[off + i]! : rec(axis + 1, off + i * st[axis]!),
    );
  return rec(0, 0);
}

let readYield: () => Promise<void> | undefined = () => undefined;

/**
 * Installs the hook an asynchronous read of a host tensor (`await x.data()`) awaits first: a
 * backend whose memory comes back from finalizers (cpu-wasm) returns a promise that resolves once
 * the event loop has turned, when a collection it forced has finalizers waiting to run, so a loop
 * that awaits its readbacks keeps that memory flat; undefined when nothing is waiting.
 */
export function setReadYield(f: () => Promise<void> | undefined): void {
  readYield = f;
}

/**
 * What a deferred tensor holds (see {@link ArrayTensor.deferred}): the result of a layout
 * primitive (its name and parameters, e.g. 'transpose' with `{ perm }`) applied to `source`, and
 * how the backend that deferred it reads it in place (its own description, opaque to others).
 */
export interface DeferredLayout {
  readonly prim: string;
  readonly params: unknown;
  readonly source: ArrayTensor;
  readonly view?: unknown;
}

/** A concrete tensor: a buffer on a backend, row-major and contiguous. Never mutated. */
export class ArrayTensor<D extends DType = DType> extends Tensor<D> {
  private stored: ArrayFor<D> | undefined;
  private pending: { readonly layout: DeferredLayout; readonly materialize: () => ArrayFor<D> } | undefined;

  /** The shape: a frozen copy of the one given. */
  readonly shape: Shape;
  constructor(
    shape: Shape,
    readonly dtype: D,
    /** The backing buffer; kernels only read it. */
    buffer: ArrayFor<D>,
    /** The backend that owns the buffer. */
    readonly backend: string = 'cpu',
  ) {
    super();
    this.shape = frozenShape(shape);
    this.stored = buffer;
  }

  /**
   * A tensor whose elements are `layout` (a broadcast, a transpose) of its source, stored only when
   * first read: a backend's kernels that can read the source in place (a GEMM taking a transposed
   * operand, a binary op taking a broadcast one) look at {@link deferred} and never store it.
   */
  static deferred<D extends DType>(shape: Shape, dtype: D, backend: string, layout: DeferredLayout, materialize: () => ArrayFor<D>): ArrayTensor<D> {
    const t = new ArrayTensor<D>(shape, dtype, undefined as unknown as ArrayFor<D>, backend);
    t.stored = undefined;
    t.pending = { layout, materialize };
    return t;
  }

  /** The backing buffer, row-major; kernels only read it (a deferred tensor is stored on first read). */
  get buffer(): ArrayFor<D> {
    if (this.stored === undefined) {
      // the buffer belongs to this tensor, which may be older than any record of temporaries open
      this.stored = unrecorded(this.pending!.materialize);
      this.pending = undefined; // the source may be collected now
    }
    return this.stored;
  }

  /** Adds to `out` the buffers this tensor holds: its own once stored; while deferred, its source's. */
  collectBuffers(out: Set<object>): void {
    if (this.stored !== undefined) out.add(this.stored);
    this.pending?.layout.source.collectBuffers(out);
  }

  /** The layout this tensor is of its source while it is not stored yet; undefined once it is. */
  get deferred(): DeferredLayout | undefined {
    return this.pending?.layout;
  }

  dataSync(): ArrayFor<D> {
    return (this.buffer as Buffer).slice() as ArrayFor<D>;
  }
  override async data(): Promise<ArrayFor<D>> {
    const turn = readYield();
    if (turn) await turn;
    return this.dataSync();
  }
}
