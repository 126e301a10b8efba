import { type DType } from '../core/dtype.js';
import { DTypeError, ShapeError } from '../core/errors.js';
import { broadcastShapes, shapeEq, type Shape, showShape } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import * as lax from '../prim/elementwise.js';
import { broadcastTo as broadcastTrailing } from '../prim/broadcast.js';
import { full } from './create.js';

export { arange, full, ones, onesLike, zeros, zerosLike } from './create.js';

/**
 * Elementwise arithmetic with numpy broadcasting: the strict wrappers of prim/elementwise.ts after
 * bringing both arguments to one shape. Plain numbers take the tensor's dtype.
 */

/** A tensor or a plain number (a weakly typed scalar). */
export type TensorLike = Tensor | number;

/** Broadcasts `x` to `shape` (numpy rules); names the op on failure. */
export function broadcastTo<D extends DType>(x: Tensor<D>, shape: Shape, op = 'broadcastTo'): Tensor<D> {
  if (shapeEq(x.shape, shape)) return x;
  const out = broadcastShapes(op, x.shape, shape);
  if (!shapeEq(out, shape)) throw new ShapeError(`${op}: cannot broadcast ${showShape(x.shape)} to ${showShape(shape)}`);
  return broadcastTrailing(x, shape);
}

/** Brings two arguments to one shape and dtype (numbers follow the tensor). */
function align(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new DTypeError(`${op}: at least one argument must be a tensor`);
  const dt = typeof a === 'number' ? (b as Tensor).dtype : (a as Tensor).dtype;
  const ta = typeof a === 'number' ? full([], a, dt) : a;
  const tb = typeof b === 'number' ? full([], b, dt) : b;
  if (ta.dtype !== tb.dtype) throw new DTypeError(`${op}: dtypes ${ta.dtype} and ${tb.dtype} differ (no implicit promotion; use astype)`);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  return [broadcastTo(ta, shape, op), broadcastTo(tb, shape, op)];
}

type Out<A, B> = A extends Tensor<infer D> ? Tensor<D> : B extends Tensor<infer D> ? Tensor<D> : Tensor;
const bin = (f: (a: Tensor, b: Tensor) => Tensor, op: string) => <A extends TensorLike, B extends TensorLike>(a: A, b: B): Out<A, B> => {
  const [x, y] = align(op, a, b);
  return f(x, y) as Out<A, B>;
};

/** a + b */
export const add = bin(lax.add, 'add');
/** a − b */
export const sub = bin(lax.sub, 'sub');
/** a · b (elementwise) */
export const mul = bin(lax.mul, 'mul');
/** a / b (floats only) */
export const div = bin(lax.div, 'div');
const powTensor = bin(lax.pow, 'pow');
/**
 * a ** b (floats only). With `b` an integer number k (`pow(x, 3)`, |k| < 2^31), it is x^k by the integer_pow
 * primitive, exact at every order of derivative at x = 0 (as JAX's integer_pow); otherwise the
 * general power, whose derivative in a is b·a^(b−1) and in b is log(a)·a^b.
 */
export const pow = <A extends TensorLike, B extends TensorLike>(a: A, b: B): Out<A, B> =>
  typeof b === 'number' && Number.isInteger(b) && Math.abs(b) < 2 ** 31 && typeof a !== 'number' ? (lax.integerPow(a, b) as Out<A, B>) : powTensor(a, b);
/** elementwise max(a, b); ties share the derivative equally */
export const maximum = bin(lax.max, 'maximum');
/** elementwise min(a, b) */
export const minimum = bin(lax.min, 'minimum');
/** a < b (bool) */
export const lt = bin(lax.lt, 'lt') as (a: TensorLike, b: TensorLike) => Tensor<'bool'>;
/** a ≤ b (bool) */
export const le = bin(lax.le, 'le') as (a: TensorLike, b: TensorLike) => Tensor<'bool'>;
/** a > b (bool) */
export const gt = bin(lax.gt, 'gt') as (a: TensorLike, b: TensorLike) => Tensor<'bool'>;
/** a ≥ b (bool) */
export const ge = bin(lax.ge, 'ge') as (a: TensorLike, b: TensorLike) => Tensor<'bool'>;
/** a == b (bool) */
export const eq = bin(lax.eq, 'eq') as (a: TensorLike, b: TensorLike) => Tensor<'bool'>;
/** a != b (bool) */
export const ne = bin(lax.ne, 'ne') as (a: TensorLike, b: TensorLike) => Tensor<'bool'>;
/** logical and of bool tensors */
export const logicalAnd = bin(lax.and, 'logicalAnd') as (a: Tensor<'bool'>, b: Tensor<'bool'>) => Tensor<'bool'>;
/** logical or of bool tensors */
export const logicalOr = bin(lax.or, 'logicalOr') as (a: Tensor<'bool'>, b: Tensor<'bool'>) => Tensor<'bool'>;
/** logical not of a bool tensor */
export const logicalNot = lax.not as (a: Tensor<'bool'>) => Tensor<'bool'>;

/** −x */
export const neg = lax.neg;
/** eˣ */
export const exp = lax.exp;
/** natural logarithm */
export const log = lax.log;
/** log(1 + x), accurate near 0 */
export const log1p = lax.log1p;
/** eˣ − 1, accurate near 0 */
export const expm1 = lax.expm1;
/** √x */
export const sqrt = lax.sqrt;
/** 1/√x */
export const rsqrt = <D extends DType>(x: Tensor<D>): Tensor<D> => div(1, sqrt(x));
/** |x| (derivative sign(x), 0 at 0) */
export const abs = lax.abs;
/** sign(x) ∈ {−1, 0, 1}; derivative 0 */
export const sign = lax.sign;
/** ⌊x⌋; derivative 0 */
export const floor = lax.floor;
/** tanh x */
export const tanh = lax.tanh;
/** sin x */
export const sin = lax.sin;
/** cos x */
export const cos = lax.cos;
/** x² */
export const square = <D extends DType>(x: Tensor<D>): Tensor<D> => mul(x, x);
/** logistic σ(x) = 1/(1+e⁻ˣ), computed as (1 + tanh(x/2))/2 for stability */
export const sigmoid = <D extends DType>(x: Tensor<D>): Tensor<D> => mul(add(tanh(mul(x, 0.5)), 1), 0.5);
/** max(x, 0), with derivative 0 at 0 (as PyTorch) */
export const relu = <D extends DType>(x: Tensor<D>): Tensor<D> => where(gt(x, 0), x, zerosLikeT(x));
/**
 * log(1 + eˣ), stable for large |x|. Written as two analytic branches, x + log1p(e⁻ˣ) for x > 0 and
 * log1p(eˣ) otherwise, each fed a clamped input so the branch not taken stays finite; the
 * relu(x) + log1p(e^−|x|) form has kinks that cancel in value but not in derivatives, and gives
 * softplus′(0) = 0 instead of 1/2.
 */
export const softplus = <D extends DType>(x: Tensor<D>): Tensor<D> => {
  const pos = gt(x, 0);
  const xp = where(pos, x, 0);
  const xn = where(pos, 0, x);
  return where(pos, add(xp, log1p(exp(neg(xp)))), log1p(exp(xn))) as Tensor<D>;
};

const zerosLikeT = <D extends DType>(x: Tensor<D>): Tensor<D> => full(x.shape, 0, x.dtype);

/** cond ? a : b elementwise, with broadcasting of all three. */
export function where<A extends TensorLike, B extends TensorLike>(cond: Tensor<'bool'>, a: A, b: B): Out<A, B> {
  const [ta, tb] = align('where', a, b);
  if (cond.dtype !== 'bool') throw new DTypeError(`where: condition must be bool, got ${cond.dtype}`);
  const shape = broadcastShapes('where', cond.shape, ta.shape);
  return lax.select(broadcastTo(cond, shape, 'where'), broadcastTo(ta, shape, 'where'), broadcastTo(tb, shape, 'where')) as Out<A, B>;
}

/** An explicit dtype cast (the only way dtypes change). */
export function astype<D extends DType>(x: Tensor, dtype: D): Tensor<D> {
  return (x.dtype === dtype ? x : lax.convert(x, dtype)) as Tensor<D>;
}
