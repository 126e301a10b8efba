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
import { type Primitive, primitive, type PrimitiveDef } from './primitive.js';
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

function unary(name: string, scalar: ScalarExpr, derivative: UnaryDerivative, opts: { intOk?: boolean } = {}): Primitive<{}> {
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
  });
  return p;
}

const ZERO = { zero: true } as const;

export const negP = unary('neg', S.call('neg', X), { linear: true }, { intOk: true });
export const expP = unary('exp', S.call('exp', X), (_x, y, dx) => mul(dx, y));
export const logP = unary('log', S.call('log', X), (x, _y, dx) => div(dx, x));
export const log1pP = unary('log1p', S.call('log1p', X), (x, _y, dx) => div(dx, add(x, lit(1, x))));
export const expm1P = unary('expm1', S.call('expm1', X), (_x, y, dx) => mul(dx, add(y, lit(1, y))));
export const sqrtP = unary('sqrt', S.call('sqrt', X), (_x, y, dx) => div(dx, mul(y, lit(2, y))));
export const tanhP = unary('tanh', S.call('tanh', X), (_x, y, dx) => {
  const y2 = mul(y, y);
  return mul(dx, sub(lit(1, y2), y2));
});
export const sinP = unary('sin', S.call('sin', X), (x, _y, dx) => mul(dx, cos(x)));
export const cosP = unary('cos', S.call('cos', X), (x, _y, dx) => neg(mul(dx, sin(x))));
export const absP = unary('abs', S.call('abs', X), (x, _y, dx) => mul(dx, sign(x)), { intOk: true });
/** sign(x): 1, −1, or x itself (so ±0 and NaN are kept). */
export const signP = unary('sign', S.select(S.call('gt', X, S.lit(0)), S.lit(1), S.select(S.call('lt', X, S.lit(0)), S.lit(-1), X)), ZERO, { intOk: true });
export const floorP = unary('floor', S.call('floor', X), ZERO);

/** The tangent of a binary primitive at float x, y with out = f(x, y) and the tangents (not both null). */
type BinaryJvp = (x: Tensor, y: Tensor, out: Tensor, dx: Tensor | null, dy: Tensor | null) => Tensor | null;

function binary(name: string, scalar: ScalarExpr, jvp: BinaryJvp, opts: { intOk?: boolean; transpose?: Primitive['transpose'] } = {}): Primitive<{}> {
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
      const t = !isFloat(x!.dtype) || (dx == null && dy == null) ? null : jvp(x!, y!, out, dx ?? null, dy ?? null);
      return [[out], [t]];
    },
    ...(opts.transpose ? { linear: true as const, transpose: opts.transpose } : {}),
  } as DistributiveOmit<PrimitiveDef<{}>, 'vmap' | 'fusion'> & { readonly scalar: ScalarExpr });
  return p;
}

const addT = (a: Tensor | null, b: Tensor | null): Tensor | null => (a == null ? b : b == null ? a : add(a, b));

export const addP = binary('add', S.call('add', X, Y), (_x, _y, _o, dx, dy) => addT(dx, dy), {
  intOk: true,
  transpose: ([ct], args) => args.map((a) => (a.linear && ct != null ? ct : null)),
});
export const subP = binary('sub', S.call('sub', X, Y), (_x, _y, _o, dx, dy) => addT(dx, dy == null ? null : neg(dy)), {
  intOk: true,
  transpose: ([ct], [a, b]) => [a!.linear && ct != null ? ct : null, b!.linear && ct != null ? neg(ct) : null],
});
export const mulP = binary('mul', S.call('mul', X, Y), (x, y, _o, dx, dy) => addT(dx == null ? null : mul(dx, y), dy == null ? null : mul(x, dy)), {
  intOk: true,
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
});
/** max(x, y), NaN in either propagating (x when x > y or x is NaN, else y). */
export const maxP = binary('max', S.select(S.call('or', S.call('gt', X, Y), S.call('isnan', X)), X, Y), (x, y, _o, dx, dy) => tieSplit(x, y, dx, dy), { intOk: true });
/** min(x, y), NaN in either propagating. */
export const minP = binary('min', S.select(S.call('or', S.call('lt', X, Y), S.call('isnan', X)), X, Y), (x, y, _o, dx, dy) => tieSplit(y, x, dx, dy), { intOk: true });

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
    return [[out], [dx != null && isFloat(params.dtype) && isFloat(x!.dtype) ? convert(dx, params.dtype) : null]];
  },
  transpose: ([ct], [a]) => [ct == null ? null : convert(ct, (a as { aval: { dtype: DType } }).aval.dtype)],
});

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
