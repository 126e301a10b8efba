import { ConcretizationError } from '../core/errors.js';
import { ArrayTensor, type Tensor } from '../core/tensor.js';
import { filled } from '../prim/constant.js';
import { argnumsList, checkDifferentiable, checkScalarOutput } from './args.js';
import { vjpWithAux } from './vjp.js';
import { flatten } from '../core/tree.js';

/** Options of {@link grad} and {@link valueAndGrad}. */
export interface GradOptions {
  /** Which argument(s) to differentiate: a position, or a list (then the result is a tuple). */
  readonly argnums?: number | readonly number[];
  /** The function returns `[loss, aux]`; aux is passed through undifferentiated. */
  readonly hasAux?: boolean;
  /** Allow a NaN loss instead of raising (default false). */
  readonly allowNaN?: boolean;
}

/**
 * The gradient's type: that of argument `argnums` (default 0), or for a list of positions the
 * tuple of those arguments' types (`argnums: [0, 1]` gives `[A[0], A[1]]`).
 */
type GradOf<A extends readonly unknown[], O extends GradOptions> = O['argnums'] extends readonly number[]
  ? ArgsAt<A, O['argnums']>
  : O['argnums'] extends number
    ? A[O['argnums']]
    : A[0];
/** The types of the arguments at positions N, as a tuple. */
type ArgsAt<A extends readonly unknown[], N extends readonly number[]> = { -readonly [K in keyof N]: A[N[K] & number] };
/** What the differentiated function returns: a scalar tensor, or `[loss, aux]` with `hasAux: true`. */
type LossOf<O extends GradOptions> = O['hasAux'] extends true ? readonly [Tensor, unknown] : O['hasAux'] extends false | undefined ? Tensor : Tensor | readonly [Tensor, unknown];
/** The aux output of a function returning `[loss, aux]`. */
type AuxOf<R> = R extends readonly [Tensor, infer X] ? X : never;
/** What `grad` returns: the gradient, or `[gradient, aux]` with `hasAux`. */
type GradResult<A extends readonly unknown[], R, O extends GradOptions> = O['hasAux'] extends true ? [GradOf<A, O>, AuxOf<R>] : GradOf<A, O>;

/**
 * `valueAndGrad(f)(...args)` returns `[f(...args), ∇f]` for a scalar-valued `f`; the gradient has
 * the structure of the selected argument(s). With `hasAux`, `f` returns `[loss, aux]` and the result
 * is `[[loss, aux], grad]`. Both parts are typed: the value as `f` returns it, the gradient as the
 * selected argument (a tuple of them for a list of `argnums`).
 *
 *     const [[loss, acc], [gw, gb]] = valueAndGrad((w: Tensor, b: Tensor) => [l(w, b), accuracy(w, b)] as const, { argnums: [0, 1], hasAux: true })(w, b);
 */
export function valueAndGrad<A extends readonly unknown[], R extends LossOf<O>, const O extends GradOptions = {}>(
  f: (...args: A) => R,
  opts?: O,
): (...args: A) => [R, GradOf<A, O>] {
  const argnums = opts?.argnums ?? 0;
  return (...args: A) => {
    const sel = argnumsList('grad', argnums, args.length);
    for (const i of sel) checkDifferentiable('grad', flatten(args[i]).leaves);
    const g = (...chosen: unknown[]) => {
      const full = [...args];
      sel.forEach((a, i) => (full[a] = chosen[i]));
      const r = f(...(full as unknown as A));
      if (opts?.hasAux) {
        if (!Array.isArray(r) || r.length !== 2) throw new TypeError('grad: with hasAux the function must return [loss, aux]');
        return [checkScalarOutput('grad', r[0]), r[1]];
      }
      return checkScalarOutput('grad', r);
    };
    const [y, back, aux] = vjpWithAux<unknown[], Tensor>('grad', g, sel.map((i) => args[i]), opts?.hasAux ?? false);
    if (!opts?.allowNaN && y instanceof ArrayTensor && Number.isNaN(y.buffer[0]))
      throw new ConcretizationError('grad: the function returned NaN (the loss is not a number); pass { allowNaN: true } to differentiate it anyway');
    const cts = back(filled([], 1, (y as Tensor).dtype));
    const gradient = typeof argnums === 'number' ? cts[0] : cts;
    return [(opts?.hasAux ? [y, aux] : y) as R, gradient as GradOf<A, O>];
  };
}

/**
 * `grad(f)(...args)`: the gradient of a scalar-valued `f` with respect to argument `argnums`
 * (default 0), with that argument's tree structure. Composes to any order: `grad(grad(grad(f)))`.
 * With `hasAux` the result is `[grad, aux]`.
 */
export function grad<A extends readonly unknown[], R extends LossOf<O>, const O extends GradOptions = {}>(f: (...args: A) => R, opts?: O): (...args: A) => GradResult<A, R, O> {
  const vg = valueAndGrad<A, R, O>(f, opts);
  return (...args: A) => {
    const [v, g] = vg(...args);
    return (opts?.hasAux ? [g, (v as readonly unknown[])[1]] : g) as GradResult<A, R, O>;
  };
}
