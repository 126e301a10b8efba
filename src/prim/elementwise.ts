import { DTypeError } from '../core/errors.js';
import type { DType } from '../core/dtype.js';
import { isFloat } from '../core/dtype.js';
import * as S from '../core/scalar.js';
import type { ScalarExpr } from '../core/scalar.js';
import type { Tensor } from '../core/tensor.js';
import { bind1 } from './bind.js';
import { elementwiseVmap } from './broadcast.js';
import { zerosLike } from './constant.js';
import { lit } from './lit.js';
import { jetByCoefficient, type JetRule, type Primitive, primitive, type PrimitiveDef } from './primitive.js';
import { requireFloat, sameAvals } from './rules.js';

/**
 * Elementwise primitives: unary and binary float maths, comparisons, select and dtype casts. Each
 * record carries its scalar expression (what it computes on one element, rendered by every code
 * generator) and its batching rule follows from being elementwise.
 */

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Declares an elementwise primitive: the definition less its batching rule and fusion role, plus its scalar expression. */
function elementwise<P>(def: DistributiveOmit<PrimitiveDef<P>, 'vmap' | 'fusion'> & { readonly scalar: ScalarExpr | ((params: P) => ScalarExpr) }): Primitive<P> {
  const { scalar, ...rest } = def;
  const p: Primitive<P> = primitive<P>({
    ...rest,
    vmap: (args, batched, params, size) => elementwiseVmap(p, args, batched, params, size),
    fusion: { role: 'elementwise', scalar: typeof scalar === 'function' ? scalar : () => scalar },
  } as PrimitiveDef<P>);
  return p;
}

const X = S.X;
const Y = S.Y;

/** The tangent of a unary primitive at float x, with y = f(x) and the tangent dx. */
type UnaryJvp = (x: Tensor, y: Tensor, dx: Tensor) => Tensor;
/** How a unary primitive differentiates: a tangent rule, or a declared fact. */
type UnaryDerivative = UnaryJvp | { readonly zero: true } | { readonly linear: true };
/** The Taylor coefficients y_1 … y_K of y = f(x) from x's series [x₀, x_1 … x_K] and y₀ = f(x₀). */
type UnaryJet = (x: Series, y0: Tensor) => (Tensor | null)[];

/** A unary primitive's Taylor-mode rule from its series map (float arguments only carry series). */
const unaryJet =
  (p: () => Primitive<{}>, coefficients: UnaryJet): JetRule<{}> =>
  ([x], [s]) => {
    const y = bind1(p(), [x!]);
    return [[y], [isFloat(x!.dtype) ? coefficients([x!, ...s!], y) : s!.map(() => null)]];
  };

function unary(name: string, scalar: ScalarExpr, derivative: UnaryDerivative, opts: { intOk?: boolean; jet?: UnaryJet } = {}): Primitive<{}> {
  const abstractEval = ([x]: readonly { shape: readonly number[]; dtype: DType }[]) => {
    if (!opts.intOk) requireFloat(name, x!.dtype);
    else if (x!.dtype === 'bool') throw new DTypeError(`${name}: not defined for bool tensors`);
    return [x!];
  };
  if (typeof derivative !== 'function') {
    if ('zero' in derivative) return elementwise<{}>({ name, scalar, abstractEval, zeroDerivative: true });
    const p: Primitive<{}> = elementwise<{}>({ name, scalar, abstractEval, linear: true, transpose: ([ct]) => [ct == null ? null : bind1(p, [ct])] });
    return p;
  }
  const p: Primitive<{}> = elementwise<{}>({
    name,
    scalar,
    abstractEval,
    jvp: ([x], [dx]) => {
      const y = bind1(p, [x!]);
      return [[y], [dx == null || !isFloat(x!.dtype) ? null : derivative(x!, y, dx)]];
    },
    ...(opts.jet ? { jet: unaryJet(() => p, opts.jet) } : {}),
  });
  return p;
}

const ZERO = { zero: true } as const;

export const negP = unary('neg', S.call('neg', X), { linear: true }, { intOk: true });
export const expP = unary('exp', S.call('exp', X), (_x, y, dx) => mul(dx, y), { jet: (x, y0) => odeJet(x, y0, (y, m) => y[m] ?? null) });
export const logP = unary('log', S.call('log', X), (x, _y, dx) => div(dx, x), { jet: (x) => logJet(x, x[0]!) });
export const log1pP = unary('log1p', S.call('log1p', X), (x, _y, dx) => div(dx, add(x, lit(1, x))), { jet: (x) => logJet(x, add(x[0]!, lit(1, x[0]!))) });
export const expm1P = unary('expm1', S.call('expm1', X), (_x, y, dx) => mul(dx, add(y, lit(1, y))), {
  jet: (x, y0) => odeJet(x, y0, (y, m) => (m === 0 ? add(y0, lit(1, y0)) : (y[m] ?? null))),
});
export const sqrtP = unary('sqrt', S.call('sqrt', X), (_x, y, dx) => div(dx, mul(y, lit(2, y))), { jet: sqrtJet });
export const tanhP = unary(
  'tanh',
  S.call('tanh', X),
  (_x, y, dx) => {
    const y2 = mul(y, y);
    return mul(dx, sub(lit(1, y2), y2));
  },
  { jet: tanhJet },
);
export const sinP = unary('sin', S.call('sin', X), (x, _y, dx) => mul(dx, cos(x)), { jet: (x, y0) => sinCosJet(x, y0, cos(x[0]!), 'sin') });
export const cosP = unary('cos', S.call('cos', X), (x, _y, dx) => neg(mul(dx, sin(x))), { jet: (x, y0) => sinCosJet(x, sin(x[0]!), y0, 'cos') });
export const absP = unary('abs', S.call('abs', X), (x, _y, dx) => mul(dx, sign(x)), {
  intOk: true,
  // |x| is linear along a curve through x₀ ≠ 0 (and its jvp gives 0 at 0): y_k = sign(x₀)·x_k
  jet: (x) => {
    const s = sign(x[0]!);
    return x.slice(1).map((c) => (c == null ? null : mul(c, s)));
  },
});
/** sign(x): 1, −1, or x itself (so ±0 and NaN are kept). */
export const signP = unary('sign', S.select(S.call('gt', X, S.lit(0)), S.lit(1), S.select(S.call('lt', X, S.lit(0)), S.lit(-1), X)), ZERO, { intOk: true });
export const floorP = unary('floor', S.call('floor', X), ZERO);

/** The tangent of a binary primitive at float x, y with out = f(x, y) and the tangents (not both null). */
type BinaryJvp = (x: Tensor, y: Tensor, out: Tensor, dx: Tensor | null, dy: Tensor | null) => Tensor | null;
/** The Taylor coefficients 1 … K of f(a, b) from the float arguments' series [a₀, a_1 … a_K], [b₀, …] and out = f(a₀, b₀). */
type BinaryJet = (a: Series, b: Series, out: Tensor) => (Tensor | null)[];

function binary(
  name: string,
  scalar: ScalarExpr,
  jvp: BinaryJvp,
  opts: { intOk?: boolean; transpose?: Primitive['transpose']; jet?: BinaryJet | 'byCoefficient' } = {},
): Primitive<{}> {
  const tangent = (x: Tensor, y: Tensor, out: Tensor, dx: Tensor | null, dy: Tensor | null): Tensor | null =>
    !isFloat(x.dtype) || (dx == null && dy == null) ? null : jvp(x, y, out, dx, dy);
  const jet: JetRule<{}> | undefined =
    opts.jet === 'byCoefficient'
      ? jetByCoefficient(() => p, ([x, y], [dx, dy], _params, [out]) => [tangent(x!, y!, out!, dx ?? null, dy ?? null)])
      : opts.jet && ((binaryJet) => ([x, y], [sa, sb]) => {
          const out = bind1(p, [x!, y!]);
          return [[out], [isFloat(x!.dtype) ? binaryJet([x!, ...sa!], [y!, ...sb!], out) : sa!.map(() => null)]];
        })(opts.jet);
  const p: Primitive<{}> = elementwise<{}>({
    name,
    scalar,
    abstractEval: (avals) => {
      const a = sameAvals(name, avals);
      if (!opts.intOk) requireFloat(name, a.dtype);
      else if (a.dtype === 'bool') throw new DTypeError(`${name}: not defined for bool tensors`);
      return [a];
    },
    jvp: ([x, y], [dx, dy]) => {
      const out = bind1(p, [x!, y!]);
      return [[out], [tangent(x!, y!, out, dx ?? null, dy ?? null)]];
    },
    ...(jet ? { jet } : {}),
    ...(opts.transpose ? { linear: true as const, transpose: opts.transpose } : {}),
  } as DistributiveOmit<PrimitiveDef<{}>, 'vmap' | 'fusion'> & { readonly scalar: ScalarExpr });
  return p;
}

const addT = (a: Tensor | null, b: Tensor | null): Tensor | null => (a == null ? b : b == null ? a : add(a, b));

export const addP = binary('add', S.call('add', X, Y), (_x, _y, _o, dx, dy) => addT(dx, dy), {
  intOk: true,
  jet: 'byCoefficient',
  transpose: ([ct], args) => args.map((a) => (a.linear && ct != null ? ct : null)),
});
export const subP = binary('sub', S.call('sub', X, Y), (_x, _y, _o, dx, dy) => addT(dx, dy == null ? null : neg(dy)), {
  intOk: true,
  jet: 'byCoefficient',
  transpose: ([ct], [a, b]) => [a!.linear && ct != null ? ct : null, b!.linear && ct != null ? neg(ct) : null],
});
export const mulP = binary('mul', S.call('mul', X, Y), (x, y, _o, dx, dy) => addT(dx == null ? null : mul(dx, y), dy == null ? null : mul(x, dy)), {
  intOk: true,
  // Leibniz: (a·b)_k = Σ_j a_j·b_{k−j}
  jet: (a, b) => a.slice(1).map((_, i) => cauchy(a, b, i + 1, mul)),
  transpose: ([ct], [a, b]) => {
    if (a!.linear && b!.linear) throw new Error('mul: transpose of a product of two linear arguments (not a linear function)');
    if (ct == null) return [null, null];
    return a!.linear ? [mul(ct, (b as { value: Tensor }).value), null] : [null, mul((a as { value: Tensor }).value, ct)];
  },
});
export const divP = binary('div', S.call('div', X, Y), (_x, y, out, dx, dy) => {
  const num = dy == null ? dx! : dx == null ? neg(mul(dy, out)) : sub(dx, mul(dy, out));
  return div(num, y);
}, {
  jet: divJet,
  transpose: ([ct], [a, b]) => {
    if (b!.linear) throw new Error('div: transpose with a linear denominator (not a linear function)');
    return [ct == null ? null : div(ct, (b as { value: Tensor }).value), null];
  },
});
export const powP = binary('pow', S.call('pow', X, Y), (x, y, out, dx, dy) => {
  const tx = dx == null ? null : mul(dx, mul(y, pow(x, sub(y, lit(1, y)))));
  // d/dy x^y = log(x) x^y; where x^y = 0 (x = 0, y > 0) the term is 0, not 0·(−∞).
  const ty = dy == null ? null : mul(dy, select(eq(out, lit(0, out)), zerosLike(out), mul(log(x), out)));
  return addT(tx, ty);
});
/**
 * integer_pow(x; y): x^y for a constant integer y, negative allowed, x^0 = 1 everywhere (NaN
 * included), as JAX's `lax.integer_pow`; `pow(x, k)` with an integer number k binds it. Its
 * derivative y·x^(y−1)·dx is written with integer_pow itself, so every order stays finite at x = 0
 * (x^0 = 1 and the tangent of x^0 is a symbolic zero), where `pow`'s rule y·x^(y−1) with a tensor
 * exponent meets 0·x^(−1) = 0·∞ = NaN from the second order on.
 */
export const integerPowP: Primitive<{ y: number }> = elementwise<{ y: number }>({
  name: 'integer_pow',
  scalar: ({ y }) => S.ipow(X, y),
  abstractEval: ([x], { y }) => {
    requireFloat('pow', x!.dtype);
    if (!Number.isInteger(y) || Math.abs(y) > 2 ** 31 - 1) throw new DTypeError(`pow: integer_pow needs a 32-bit integer exponent, got ${y}`);
    return [x!];
  },
  jvp: ([x], [dx], p) => {
    const out = bind1(integerPowP, [x!], p);
    if (dx == null || p.y === 0) return [[out], [null]];
    if (p.y === 1) return [[out], [dx]];
    const lower = integerPow(x!, p.y - 1);
    return [[out], [mul(dx, mul(lower, lit(p.y, lower)))]];
  },
  // Faà di Bruno with f⁽ᵐ⁾(x₀)/m! = C(y, m)·x₀^(y−m), finite at x₀ = 0 as the jvp rule is
  jet: ([x], [s], p) => {
    const out = bind1(integerPowP, [x!], p);
    return [[out], [composeSeries([x!, ...s!], (m) => (p.y >= 0 && m > p.y ? null : scaleBy(integerPow(x!, p.y - m), binomial(p.y, m))))]];
  },
});
/** max(x, y), NaN in either propagating (x when x > y or x is NaN, else y). */
export const maxP = binary('max', S.select(S.call('or', S.call('gt', X, Y), S.call('isnan', X)), X, Y), (x, y, _o, dx, dy) => tieSplit(x, y, dx, dy), { intOk: true, jet: 'byCoefficient' });
/** min(x, y), NaN in either propagating. */
export const minP = binary('min', S.select(S.call('or', S.call('lt', X, Y), S.call('isnan', X)), X, Y), (x, y, _o, dx, dy) => tieSplit(y, x, dx, dy), { intOk: true, jet: 'byCoefficient' });

/** Tangent of max(x, y): dx where x > y, dy where y > x, their mean at ties (as JAX). */
function tieSplit(x: Tensor, y: Tensor, dx: Tensor | null, dy: Tensor | null): Tensor {
  const zx = dx ?? zerosLike(x);
  const zy = dy ?? zerosLike(y);
  const both = add(zx, zy);
  const half = mul(both, lit(0.5, both));
  return select(gt(x, y), zx, select(lt(x, y), zy, half));
}

/** Comparisons: same-dtype arguments, bool result, no derivative. */
function compare(name: 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne' | 'and' | 'or'): Primitive<{}> {
  return elementwise<{}>({
    name,
    scalar: S.call(name, X, Y),
    abstractEval: (avals) => [{ shape: sameAvals(name, avals).shape, dtype: 'bool' }],
    zeroDerivative: true,
  });
}
export const ltP = compare('lt');
export const leP = compare('le');
export const gtP = compare('gt');
export const geP = compare('ge');
export const eqP = compare('eq');
export const neP = compare('ne');
export const andP = compare('and');
export const orP = compare('or');
export const notP: Primitive<{}> = elementwise<{}>({
  name: 'not',
  scalar: S.call('not', X),
  abstractEval: ([x]) => {
    if (x!.dtype !== 'bool') throw new DTypeError(`logicalNot: needs a bool tensor, got ${x!.dtype}`);
    return [x!];
  },
  zeroDerivative: true,
});

/** select(cond, a, b): a where cond, else b. Linear in a and b. */
export const selectP: Primitive<{}> = elementwise<{}>({
  name: 'select',
  scalar: S.select(S.arg(0), S.arg(1), S.arg(2)),
  abstractEval: ([c, a, b]) => {
    if (c!.dtype !== 'bool') throw new DTypeError(`where: condition must be bool, got ${c!.dtype}`);
    const v = sameAvals('where', [a!, b!]);
    sameAvals('where', [{ shape: c!.shape, dtype: v.dtype }, v]);
    return [v];
  },
  linear: true,
  jvp: ([c, a, b], [, da, db]) => {
    const out = bind1(selectP, [c!, a!, b!]);
    if (da == null && db == null) return [[out], [null]];
    return [[out], [select(c!, da ?? zerosLike(a!), db ?? zerosLike(b!))]];
  },
  jet: jetByCoefficient(
    () => selectP,
    ([c, a, b], [, da, db]) => [da == null && db == null ? null : select(c!, da ?? zerosLike(a!), db ?? zerosLike(b!))],
  ),
  transpose: ([ct], [c, a, b]) => {
    if (ct == null) return [null, null, null];
    const cond = (c as { value: Tensor }).value;
    const z = zerosLike(ct);
    return [null, a!.linear ? select(cond, ct, z) : null, b!.linear ? select(cond, z, ct) : null];
  },
});

/** convert(dtype): an explicit dtype cast. Linear between float dtypes. */
export const convertP: Primitive<{ dtype: DType }> = elementwise<{ dtype: DType }>({
  name: 'convert',
  scalar: ({ dtype }) => S.convert(X, dtype),
  abstractEval: ([x], { dtype }) => [{ shape: x!.shape, dtype }],
  linear: true,
  jvp: ([x], [dx], params) => {
    const out = bind1(convertP, [x!], params);
    return [[out], [convertTangent(x!, dx ?? null, params.dtype)]];
  },
  jet: jetByCoefficient(() => convertP, ([x], [dx], params) => [convertTangent(x!, dx ?? null, params.dtype)]),
  transpose: ([ct], [a]) => [ct == null ? null : convert(ct, (a as { aval: { dtype: DType } }).aval.dtype)],
});

/** The tangent of a cast: cast too between float dtypes, none to or from an integer or bool dtype. */
const convertTangent = (x: Tensor, dx: Tensor | null, dtype: DType): Tensor | null =>
  dx != null && isFloat(dtype) && isFloat(x.dtype) ? convert(dx, dtype) : null;

// ---------- strict wrappers: same shapes and dtypes, no broadcasting, no casting ----------

type Un = <D extends DType>(x: Tensor<D>) => Tensor<D>;
type Bin = <D extends DType>(x: Tensor<D>, y: Tensor<D>) => Tensor<D>;
type Cmp = <D extends DType>(x: Tensor<D>, y: Tensor<D>) => Tensor<'bool'>;
const un = (p: Primitive): Un => ((x: Tensor) => bind1(p, [x])) as Un;
const bin = (p: Primitive): Bin => ((x: Tensor, y: Tensor) => bind1(p, [x, y])) as Bin;

/** −x */
export const neg = un(negP);
/** eˣ */
export const exp = un(expP);
/** natural logarithm */
export const log = un(logP);
/** log(1 + x) */
export const log1p = un(log1pP);
/** eˣ − 1 */
export const expm1 = un(expm1P);
/** √x */
export const sqrt = un(sqrtP);
/** tanh x */
export const tanh = un(tanhP);
/** sin x */
export const sin = un(sinP);
/** cos x */
export const cos = un(cosP);
/** |x| */
export const abs = un(absP);
/** sign(x) ∈ {−1, 0, 1} (±0 and NaN kept) */
export const sign = un(signP);
/** ⌊x⌋ */
export const floor = un(floorP);
/** x + y */
export const add = bin(addP);
/** x − y */
export const sub = bin(subP);
/** x · y */
export const mul = bin(mulP);
/** x / y */
export const div = bin(divP);
/** x ** y */
export const pow = bin(powP);
/** x ** y for a constant integer y */
export const integerPow = <D extends DType>(x: Tensor<D>, y: number): Tensor<D> => bind1(integerPowP, [x], { y }) as Tensor<D>;
/** elementwise max(x, y) (NaN in x propagates) */
export const max = bin(maxP);
/** elementwise min(x, y) (NaN in x propagates) */
export const min = bin(minP);
/** x < y */
export const lt = bin(ltP) as Cmp;
/** x ≤ y */
export const le = bin(leP) as Cmp;
/** x > y */
export const gt = bin(gtP) as Cmp;
/** x ≥ y */
export const ge = bin(geP) as Cmp;
/** x == y */
export const eq = bin(eqP) as Cmp;
/** x != y */
export const ne = bin(neP) as Cmp;
/** logical and */
export const and = bin(andP) as Cmp;
/** logical or */
export const or = bin(orP) as Cmp;
/** logical not of a bool tensor */
export const not = (x: Tensor<'bool'>): Tensor<'bool'> => bind1(notP, [x]) as Tensor<'bool'>;
/** a where the bool tensor cond is true, else b */
export const select = <D extends DType>(cond: Tensor, a: Tensor<D>, b: Tensor<D>): Tensor<D> => bind1(selectP, [cond, a, b]) as Tensor<D>;
/** x cast to `dtype` */
export const convert = <D extends DType>(x: Tensor, dtype: D): Tensor<D> => bind1(convertP, [x], { dtype }) as Tensor<D>;

// ---------- Taylor series arithmetic, for the jet rules ----------
//
// A series is [x₀, x₁, …, x_K]: x(t) = Σ_k x_k·t^k (normalised coefficients x_k = x⁽ᵏ⁾(0)/k!), x₀
// the primal and never null, null any zero coefficient (nothing is computed for it). The rules are
// the classical recurrences of Taylor arithmetic (Griewank & Walther, Evaluating Derivatives, ch.
// 13): products by Leibniz's rule, quotients and roots by solving the product for the unknown
// coefficient, and each function with a first-order ODE y′ = g·x′ by k·y_k = Σ_j j·x_j·g_{k−j}.

/** A truncated Taylor series [x₀, x₁ … x_K] (normalised coefficients; null: zero). */
export type Series = readonly (Tensor | null)[];

/** The sum of the non-null terms; null when there are none. */
function sumTerms(terms: readonly (Tensor | null)[]): Tensor | null {
  let acc: Tensor | null = null;
  for (const t of terms) acc = addT(acc, t);
  return acc;
}

/** c·x (x itself for c = 1; null for a null x). */
export const scaleBy = (x: Tensor | null, c: number): Tensor | null => (x == null ? null : c === 1 ? x : c === -1 ? neg(x) : mul(x, lit(c, x)));

const negT = (x: Tensor | null): Tensor | null => (x == null ? null : neg(x));
const subT = (a: Tensor | null, b: Tensor | null): Tensor | null => (b == null ? a : a == null ? neg(b) : sub(a, b));

/** Σ_{j = lo … hi} product(a_j, b_{k−j}), null terms skipped: coefficient k of a product of series (Leibniz). */
export function cauchy(a: Series, b: Series, k: number, product: (x: Tensor, y: Tensor) => Tensor, lo = 0, hi = k): Tensor | null {
  const terms: Tensor[] = [];
  for (let j = lo; j <= hi; j++) {
    const x = a[j];
    const y = b[k - j];
    if (x != null && y != null) terms.push(product(x, y));
  }
  return sumTerms(terms);
}

/** [null, 1·x₁, 2·x₂, …, K·x_K]: t·x′(t), the series whose coefficients the ODE recurrences weigh. */
const derivativeWeighted = (x: Series): Series => x.map((c, j) => (j === 0 ? null : scaleBy(c, j)));

/**
 * The coefficients 1 … K of y with y′ = g·x′ and y(0) = y₀, where g's coefficient m depends on y's
 * up to m (`gAt(y, m)`): k·y_k = Σ_{j=1…k} j·x_j·g_{k−j}.
 */
function odeJet(x: Series, y0: Tensor, gAt: (y: Series, m: number) => Tensor | null): (Tensor | null)[] {
  const xw = derivativeWeighted(x);
  const y: (Tensor | null)[] = [y0];
  const g: (Tensor | null)[] = [];
  for (let k = 1; k < x.length; k++) {
    g.push(gAt(y, k - 1));
    y.push(scaleBy(cauchy(xw, g, k, mul, 1, k), 1 / k));
  }
  return y.slice(1);
}

/** log(d(t)) for a series x with d = x + c, d₀ given: d·y′ = x′, so y_k = (x_k − (1/k)·Σ_{j=1…k−1} j·y_j·x_{k−j}) / d₀. */
function logJet(x: Series, d0: Tensor): (Tensor | null)[] {
  const y: (Tensor | null)[] = [null];
  // j·y_j, kept as the coefficients are found
  const yw: (Tensor | null)[] = [null];
  for (let k = 1; k < x.length; k++) {
    const num = subT(x[k] ?? null, scaleBy(cauchy(yw, x, k, mul, 1, k - 1), 1 / k));
    y.push(num == null ? null : div(num, d0));
    yw.push(scaleBy(y[k]!, k));
  }
  return y.slice(1);
}

/**
 * tanh by Faà di Bruno: its Taylor factors are f⁽ᵐ⁾/m! = q_m(y)·(1 − y²) with y = tanh x₀ and
 * q₁ = 1, q_{m+1} = (q_m′·(1 − y²) − 2y·q_m)/(m + 1) (q₂ = −y, q₃ = y² − 1/3, q₄ = 2y/3 − y³),
 * each polynomial evaluated once; 1 − y² is written as the jvp rule writes it (a shared evaluation
 * serves both).
 */
function tanhJet(x: Series, y0: Tensor): (Tensor | null)[] {
  const y2 = mul(y0, y0);
  const f1 = sub(lit(1, y2), y2);
  const q = tanhFactorPolynomials(x.length - 1);
  return composeSeries(x, (m) => (m === 1 ? f1 : mul(evalParityPolynomial(q[m]!, y0, y2), f1)));
}

/** The coefficients (by power of y) of q_1 … q_K of {@link tanhJet}. */
function tanhFactorPolynomials(K: number): number[][] {
  const q: number[][] = [[], [1]];
  for (let m = 1; m < K; m++) {
    const c = q[m]!;
    const next = new Array<number>(c.length + 1).fill(0);
    // q′·(1 − y²)
    for (let i = 1; i < c.length; i++) {
      next[i - 1]! += i * c[i]!;
      next[i + 1]! -= i * c[i]!;
    }
    // − 2y·q
    for (let i = 0; i < c.length; i++) next[i + 1]! -= 2 * c[i]!;
    q.push(next.map((v) => v / (m + 1)));
  }
  return q;
}

/** Σ_i c_i·yⁱ for a polynomial of one parity (only odd or only even powers), by Horner in y² (`y2`). */
function evalParityPolynomial(c: readonly number[], y: Tensor, y2: Tensor): Tensor {
  const odd = c.findIndex((v) => v !== 0) % 2 === 1;
  // q = y^odd · Σ_i r_i·(y²)^i
  const r = c.filter((_, i) => i % 2 === (odd ? 1 : 0));
  const d = r.length - 1;
  if (d === 0) return odd ? scaleBy(y, r[0]!)! : lit(r[0]!, y);
  let acc = scaleBy(y2, r[d]!)!;
  for (let i = d - 1; i >= 1; i--) acc = mul(r[i] === 0 ? acc : add(acc, lit(r[i]!, y)), y2);
  if (r[0] !== 0) acc = add(acc, lit(r[0]!, y));
  return odd ? mul(acc, y) : acc;
}

/** √x: y² = x, so y_k = (x_k − Σ_{j=1…k−1} y_j·y_{k−j}) / (2·y₀). */
function sqrtJet(x: Series, y0: Tensor): (Tensor | null)[] {
  const twice = mul(y0, lit(2, y0));
  const y: (Tensor | null)[] = [y0];
  for (let k = 1; k < x.length; k++) {
    const num = subT(x[k] ?? null, cauchy(y, y, k, mul, 1, k - 1));
    y.push(num == null ? null : div(num, twice));
  }
  return y.slice(1);
}

/** a / b: b·y = a, so y_k = (a_k − Σ_{j=1…k} b_j·y_{k−j}) / b₀. */
function divJet(a: Series, b: Series, out: Tensor): (Tensor | null)[] {
  const y: (Tensor | null)[] = [out];
  for (let k = 1; k < a.length; k++) {
    const num = subT(a[k] ?? null, cauchy(b, y, k, mul, 1, k));
    y.push(num == null ? null : div(num, b[0]!));
  }
  return y.slice(1);
}

/** sin and cos together (s′ = c·x′, c′ = −s·x′); the coefficients of the one asked for. */
function sinCosJet(x: Series, s0: Tensor, c0: Tensor, which: 'sin' | 'cos'): (Tensor | null)[] {
  const xw = derivativeWeighted(x);
  const s: (Tensor | null)[] = [s0];
  const c: (Tensor | null)[] = [c0];
  const K = x.length - 1;
  for (let k = 1; k <= K; k++) {
    // the last coefficient of the other function is not needed
    s.push(k < K || which === 'sin' ? scaleBy(cauchy(xw, c, k, mul, 1, k), 1 / k) : null);
    c.push(k < K || which === 'cos' ? negT(scaleBy(cauchy(xw, s, k, mul, 1, k), 1 / k)) : null);
  }
  return (which === 'sin' ? s : c).slice(1);
}

/**
 * f(x(t)) by Faà di Bruno: with δ(t) = x(t) − x₀, y_k = Σ_{m=1…k} (f⁽ᵐ⁾(x₀)/m!)·[δᵐ]_k, given the
 * Taylor factors f⁽ᵐ⁾(x₀)/m! (`factor(m)`, null when zero).
 */
function composeSeries(x: Series, factor: (m: number) => Tensor | null): (Tensor | null)[] {
  const K = x.length - 1;
  const delta: Series = [null, ...x.slice(1)];
  const out: (Tensor | null)[] = Array.from({ length: K }, () => null);
  let power: Series = delta;
  for (let m = 1; m <= K; m++) {
    if (m > 1) {
      const prev = power;
      power = delta.map((_, k) => (k < m ? null : cauchy(delta, prev, k, mul, 1, k - m + 1)));
    }
    if (power.every((c) => c == null)) continue;
    const f = factor(m);
    if (f == null) continue;
    for (let k = m; k <= K; k++) {
      const pk = power[k];
      if (pk != null) out[k - 1] = addT(out[k - 1] ?? null, mul(pk, f)); // as the jvp rules write dx·f′(x): the first coefficient is their tangent
    }
  }
  return out;
}

/** The generalised binomial coefficient C(n, m) = n(n−1)…(n−m+1)/m! (n any integer). */
function binomial(n: number, m: number): number {
  let c = 1;
  for (let i = 0; i < m; i++) c = (c * (n - i)) / (i + 1);
  return c;
}
