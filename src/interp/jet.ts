import type { Tensor } from '../core/tensor.js';
import type { JetRule, Primitive } from '../prim/primitive.js';
import { bind, keepHiddenClasses, Trace, Tracer } from '../prim/bind.js';
import { zerosLike } from '../prim/constant.js';
import { scaleBy } from '../prim/elementwise.js';
import { inlineRuleOf } from './stage.js';

/**
 * Taylor mode: each tracer carries a primal x₀ and the normalised Taylor coefficients x_1 … x_K of
 * a curve x(t) = x₀ + x_1·t + … + x_K·t^K through it (null: a symbolic zero), and each primitive
 * maps them to the coefficients of its output along the curve — one pass for the K-th derivative
 * along a direction, where K nested jvps would carry 2^K streams.
 */
export class JetTracer extends Tracer {
  constructor(
    trace: JetTrace,
    readonly primal: Tensor,
    readonly series: readonly (Tensor | null)[],
  ) {
    super(trace, { shape: primal.shape, dtype: primal.dtype });
  }
}

const zeros = (k: number): null[] => Array.from({ length: k }, () => null);

/** The Taylor-mode interpreter of order K: applies each primitive's jet rule (derived from its jvp rule where it has none). */
export class JetTrace extends Trace {
  constructor(readonly order: number) {
    super('jet');
  }
  lift(x: Tensor): JetTracer {
    return new JetTracer(this, x, zeros(this.order));
  }
  process(prim: Primitive, args: readonly Tracer[], params: unknown): Tensor[] {
    // a call primitive (jit_call) is interpreted through its program, equation by equation
    const inline = inlineRuleOf(prim.name);
    if (inline) return inline(args, params);
    const ts = args as readonly JetTracer[];
    const primals = ts.map((t) => t.primal);
    if (ts.every((t) => t.series.every((c) => c == null))) return bind(prim, primals, params).map((o) => this.lift(o));
    const [outs, series] = (prim.jet ?? jetFromJvp(prim))(
      primals,
      ts.map((t) => t.series),
      params,
    );
    return outs.map((o, i) => new JetTracer(this, o, series[i] ?? zeros(this.order)));
  }
  /** Splits an output of the traced function into its primal and its coefficients. */
  unpack(x: Tensor): [Tensor, readonly (Tensor | null)[]] {
    return x instanceof JetTracer && x.trace === this ? [x.primal, x.series] : [x, zeros(this.order)];
  }
}

/**
 * The Taylor-mode rule of a primitive from its jvp rule (JAX's `def_deriv`, generalised): along
 * the curve, y′(t) = J(x(t))·x′(t), and the jvp rule computes exactly that product when it is
 * applied to x(t) and x′(t) as series one order lower. So the rule runs the jvp rule under a jet
 * trace of order K − 1 on x(t) = Σ x_j·t^j and x′(t) = Σ (j+1)·x_{j+1}·t^j, and reads
 * y_{m+1} = [y′]_m / (m + 1). Exact (no finite differences) and differentiable, since the jvp
 * rules are written with ops; the recursion ends at order 0, where a jet is an evaluation.
 */
function jetFromJvp<P>(prim: Primitive<P>): JetRule<P> {
  return (primals, series, params) => {
    const K = series[0]!.length;
    const inner = new JetTrace(K - 1);
    try {
      const xs = primals.map((p, i) => new JetTracer(inner, p, series[i]!.slice(0, K - 1)));
      const dxs = primals.map((p, i) => {
        const s = series[i]!;
        if (s.every((c) => c == null)) return null;
        return new JetTracer(inner, s[0] ?? zerosLike(p), s.slice(1).map((c, j) => scaleBy(c, j + 2)));
      });
      const [outs, tangents] = prim.jvp(xs, dxs, params);
      return [
        outs.map((o) => inner.unpack(o)[0]),
        tangents.map((t) => {
          if (t == null) return zeros(K);
          const [d0, ds] = inner.unpack(t);
          return [d0, ...ds.map((d, m) => scaleBy(d, 1 / (m + 2)))];
        }),
      ];
    } finally {
      inner.close();
    }
  };
}

// one trace and tracer kept alive, so their hidden classes survive full collections (prim/bind.ts)
keepHiddenClasses((x) => {
  const t = new JetTrace(3);
  t.close();
  return [t, t.lift(x)];
});
