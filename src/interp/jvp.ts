import type { Tensor } from '../core/tensor.js';
import type { Primitive } from '../prim/primitive.js';
import { keepHiddenClasses, Trace, Tracer } from '../prim/bind.js';

/** Forward mode: each tracer carries a primal and a tangent (null is a symbolic zero). */
export class JVPTracer extends Tracer {
  constructor(
    trace: JVPTrace,
    readonly primal: Tensor,
    readonly tangent: Tensor | null,
  ) {
    super(trace, { shape: primal.shape, dtype: primal.dtype });
  }
}

/** The forward-mode interpreter: applies each primitive's jvp rule. */
export class JVPTrace extends Trace {
  constructor() {
    super('jvp');
  }
  lift(x: Tensor): JVPTracer {
    return new JVPTracer(this, x, null);
  }
  process(prim: Primitive, args: readonly Tracer[], params: unknown): Tensor[] {
    const ts = args as readonly JVPTracer[];
    const [outs, tangents] = prim.jvp(
      ts.map((t) => t.primal),
      ts.map((t) => t.tangent),
      params,
    );
    return outs.map((o, i) => new JVPTracer(this, o, tangents[i] ?? null));
  }
  /** Splits an output of the traced function into primal and tangent. */
  unpack(x: Tensor): [Tensor, Tensor | null] {
    return x instanceof JVPTracer && x.trace === this ? [x.primal, x.tangent] : [x, null];
  }
}

// one trace and one tracer kept alive, so their hidden classes survive full collections (bind.ts)
keepHiddenClasses((x) => {
  const t = new JVPTrace();
  t.close();
  return [t, new JVPTracer(t, x, x), new JVPTracer(t, x, null)];
});
