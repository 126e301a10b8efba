import type { Tensor } from '../core/tensor.js';
import { bind, keepHiddenClasses, Trace, Tracer } from '../prim/bind.js';
import type { Primitive } from '../prim/primitive.js';
import { moveAxis } from '../prim/structural.js';

/** Batching: a tracer is a value with an extra axis `bdim` (or null when unbatched). */
export class BatchTracer extends Tracer {
  constructor(
    trace: BatchTrace,
    readonly value: Tensor,
    readonly bdim: number | null,
  ) {
    const shape = bdim === null ? value.shape : value.shape.filter((_, i) => i !== bdim);
    super(trace, { shape, dtype: value.dtype });
  }
}

/** Moves axis `from` of x to the front. */
export const toFront = (x: Tensor, from: number): Tensor => moveAxis(x, from, 0);

/** The vmap interpreter: every rule sees batched arguments with the batch at axis 0. */
export class BatchTrace extends Trace {
  constructor(readonly size: number) {
    super('vmap');
  }
  lift(x: Tensor): BatchTracer {
    return new BatchTracer(this, x, null);
  }
  process(prim: Primitive, args: readonly Tracer[], params: unknown): Tensor[] {
    const ts = args as readonly BatchTracer[];
    if (ts.every((t) => t.bdim === null)) return bind(prim, ts.map((t) => t.value), params).map((o) => new BatchTracer(this, o, null));
    const vals = ts.map((t) => (t.bdim === null ? t.value : toFront(t.value, t.bdim)));
    const [outs, batched] = prim.vmap(vals, ts.map((t) => t.bdim !== null), params, this.size);
    return outs.map((o, i) => new BatchTracer(this, o, batched[i] ? 0 : null));
  }
}

// one trace and tracers kept alive, so their hidden classes survive full collections (prim/bind.ts)
keepHiddenClasses((x) => {
  const t = new BatchTrace(1);
  t.close();
  return [t, t.lift(x), new BatchTracer(t, x, 0)];
});
