import { DTypeError } from '../core/errors.js';
import type { DType } from '../core/dtype.js';
import { isFloat } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { bind1 } from '../interp/trace.js';
import * as o from '../ops/arith.js';
import { type Primitive, primitive } from './primitive.js';
import { elementwiseVmap, requireFloat, sameAvals } from './rules.js';

/** Elementwise primitives: unary and binary float maths, comparisons, select and dtype casts. */

type UnaryJvp = (x: Tensor, y: Tensor, dx: Tensor) => Tensor;

function unary(name: string, jvp: UnaryJvp | null, opts: { intOk?: boolean; linear?: boolean } = {}): Primitive<{}> {
  const p: Primitive<{}> = primitive<{}>({
    name,
    abstractEval: ([x]) => {
      if (!opts.intOk) requireFloat(name, x!.dtype);
      else if (x!.dtype === 'bool') throw new DTypeError(`${name}: not defined for bool tensors`);
      return [x!];
    },
    jvp: ([x], [dx]) => {
      const y = bind1(p, [x!]);
      return [[y], [dx == null || jvp === null || !isFloat(x!.dtype) ? null : jvp(x!, y, dx)]];
    },
    transpose: opts.linear ? ([ct]) => [ct == null ? null : bind1(p, [ct])] : null,
    vmap: (args, batched, params, size) => elementwiseVmap(p, args, batched, params, size),
  });
  return p;
}

export const negP = unary('neg', (_x, _y, dx) => o.neg(dx), { intOk: true, linear: true });
export const expP = unary('exp', (_x, y, dx) => o.mul(dx, y));
export const logP = unary('log', (x, _y, dx) => o.div(dx, x));
export const log1pP = unary('log1p', (x, _y, dx) => o.div(dx, o.add(x, 1)));
export const expm1P = unary('expm1', (_x, y, dx) => o.mul(dx, o.add(y, 1)));
export const sqrtP = unary('sqrt', (_x, y, dx) => o.div(dx, o.mul(y, 2)));
export const tanhP = unary('tanh', (_x, y, dx) => o.mul(dx, o.sub(1, o.mul(y, y))));
export const sinP = unary('sin', (x, _y, dx) => o.mul(dx, o.cos(x)));
export const cosP = unary('cos', (x, _y, dx) => o.neg(o.mul(dx, o.sin(x))));
export const absP = unary('abs', (x, _y, dx) => o.mul(dx, o.sign(x)), { intOk: true });
export const signP = unary('sign', null, { intOk: true });
export const floorP = unary('floor', null);

type BinaryJvp = (x: Tensor, y: Tensor, out: Tensor, dx: Tensor | null, dy: Tensor | null) => Tensor | null;

function binary(
  name: string,
  jvp: BinaryJvp | null,
  opts: { intOk?: boolean; transpose?: Primitive['transpose'] } = {},
): Primitive<{}> {
  const p: Primitive<{}> = primitive<{}>({
    name,
    abstractEval: (avals) => {
      const a = sameAvals(name, avals);
      if (!opts.intOk) requireFloat(name, a.dtype);
      else if (a.dtype === 'bool') throw new DTypeError(`${name}: not defined for bool tensors`);
      return [a];
    },
    jvp: ([x, y], [dx, dy]) => {
      const out = bind1(p, [x!, y!]);
      const t = jvp === null || !isFloat(x!.dtype) || (dx == null && dy == null) ? null : jvp(x!, y!, out, dx ?? null, dy ?? null);
      return [[out], [t]];
    },
    transpose: opts.transpose ?? null,
    vmap: (args, batched, params, size) => elementwiseVmap(p, args, batched, params, size),
  });
  return p;
}

const addT = (a: Tensor | null, b: Tensor | null): Tensor | null => (a == null ? b : b == null ? a : o.add(a, b));

export const addP = binary('add', (_x, _y, _o, dx, dy) => addT(dx, dy), {
  intOk: true,
  transpose: ([ct], args) => args.map((a) => (a.linear && ct != null ? ct : null)),
});
export const subP = binary('sub', (_x, _y, _o, dx, dy) => addT(dx, dy == null ? null : o.neg(dy)), {
  intOk: true,
  transpose: ([ct], [a, b]) => [a!.linear && ct != null ? ct : null, b!.linear && ct != null ? o.neg(ct) : null],
});
export const mulP = binary('mul', (x, y, _o, dx, dy) => addT(dx == null ? null : o.mul(dx, y), dy == null ? null : o.mul(x, dy)), {
  intOk: true,
  transpose: ([ct], [a, b]) => {
    if (a!.linear && b!.linear) throw new Error('mul: transpose of a product of two linear arguments (not a linear function)');
    if (ct == null) return [null, null];
    return a!.linear ? [o.mul(ct, (b as { value: Tensor }).value), null] : [null, o.mul((a as { value: Tensor }).value, ct)];
  },
});
export const divP = binary('div', (_x, y, out, dx, dy) => {
  const num = dy == null ? dx! : dx == null ? o.neg(o.mul(dy, out)) : o.sub(dx, o.mul(dy, out));
  return o.div(num, y);
}, {
  transpose: ([ct], [a, b]) => {
    if (b!.linear) throw new Error('div: transpose with a linear denominator (not a linear function)');
    return [ct == null ? null : o.div(ct, (b as { value: Tensor }).value), null];
  },
});
export const powP = binary('pow', (x, y, out, dx, dy) => {
  const tx = dx == null ? null : o.mul(dx, o.mul(y, o.pow(x, o.sub(y, 1))));
  // d/dy x^y = log(x) x^y; where x^y = 0 (x = 0, y > 0) the term is 0, not 0·(−∞).
  const ty = dy == null ? null : o.mul(dy, o.where(o.eq(out, 0), o.zerosLike(out), o.mul(o.log(x), out)));
  return addT(tx, ty);
});
/**
 * integer_pow(x; y): x^y for a constant integer y, negative allowed, x^0 = 1 everywhere (NaN
 * included), as JAX's `lax.integer_pow`; `pow(x, k)` with an integer number k binds it. Its
 * derivative y·x^(y−1)·dx is written with integer_pow itself, so every order stays finite at x = 0
 * (x^0 = 1 and the tangent of x^0 is a symbolic zero), where `pow`'s rule y·x^(y−1) with a tensor
 * exponent meets 0·x^(−1) = 0·∞ = NaN from the second order on.
 */
export const integerPowP: Primitive<{ y: number }> = primitive<{ y: number }>({
  name: 'integer_pow',
  abstractEval: ([x], { y }) => {
    requireFloat('pow', x!.dtype);
    if (!Number.isInteger(y) || Math.abs(y) > 2 ** 31 - 1) throw new DTypeError(`pow: integer_pow needs a 32-bit integer exponent, got ${y}`);
    return [x!];
  },
  jvp: ([x], [dx], p) => {
    const out = bind1(integerPowP, [x!], p);
    if (dx == null || p.y === 0) return [[out], [null]];
    return [[out], [p.y === 1 ? dx : o.mul(dx, o.mul(bind1(integerPowP, [x!], { y: p.y - 1 }), p.y))]];
  },
  transpose: null,
  vmap: (args, batched, params, size) => elementwiseVmap(integerPowP, args, batched, params, size),
});
export const maxP = binary('max', (x, y, _o, dx, dy) => tieSplit(x, y, dx, dy), { intOk: true });
export const minP = binary('min', (x, y, _o, dx, dy) => tieSplit(y, x, dx, dy), { intOk: true });

/** Tangent of max(x, y): dx where x > y, dy where y > x, their mean at ties (as JAX). */
function tieSplit(x: Tensor, y: Tensor, dx: Tensor | null, dy: Tensor | null): Tensor {
  const zx = dx ?? o.zerosLike(x);
  const zy = dy ?? o.zerosLike(y);
  const half = o.mul(o.add(zx, zy), 0.5);
  return o.where(o.gt(x, y), zx, o.where(o.lt(x, y), zy, half));
}

/** Comparisons: same-dtype arguments, bool result, no derivative. */
function compare(name: string): Primitive<{}> {
  const p: Primitive<{}> = primitive<{}>({
    name,
    abstractEval: (avals) => [{ shape: sameAvals(name, avals).shape, dtype: 'bool' }],
    jvp: (xs) => [[bind1(p, xs)], [null]],
    transpose: null,
    vmap: (args, batched, params, size) => elementwiseVmap(p, args, batched, params, size),
  });
  return p;
}
export const ltP = compare('lt');
export const leP = compare('le');
export const gtP = compare('gt');
export const geP = compare('ge');
export const eqP = compare('eq');
export const neP = compare('ne');
export const andP = compare('and');
export const orP = compare('or');
export const notP: Primitive<{}> = primitive<{}>({
  name: 'not',
  abstractEval: ([x]) => {
    if (x!.dtype !== 'bool') throw new DTypeError(`logicalNot: needs a bool tensor, got ${x!.dtype}`);
    return [x!];
  },
  jvp: (xs) => [[bind1(notP, xs)], [null]],
  transpose: null,
  vmap: (args, batched, params, size) => elementwiseVmap(notP, args, batched, params, size),
});

/** select(cond, a, b): a where cond, else b. Linear in a and b. */
export const selectP: Primitive<{}> = primitive<{}>({
  name: 'select',
  abstractEval: ([c, a, b]) => {
    if (c!.dtype !== 'bool') throw new DTypeError(`where: condition must be bool, got ${c!.dtype}`);
    const v = sameAvals('where', [a!, b!]);
    sameAvals('where', [{ shape: c!.shape, dtype: v.dtype }, v]);
    return [v];
  },
  jvp: ([c, a, b], [, da, db]) => {
    const out = bind1(selectP, [c!, a!, b!]);
    if (da == null && db == null) return [[out], [null]];
    return [[out], [bind1(selectP, [c!, da ?? o.zerosLike(a!), db ?? o.zerosLike(b!)])]];
  },
  transpose: ([ct], [c, a, b]) => {
    if (ct == null) return [null, null, null];
    const cond = (c as { value: Tensor }).value;
    const z = o.zerosLike(ct);
    return [null, a!.linear ? bind1(selectP, [cond, ct, z]) : null, b!.linear ? bind1(selectP, [cond, z, ct]) : null];
  },
  vmap: (args, batched, params, size) => elementwiseVmap(selectP, args, batched, params, size),
});

/** convert(dtype): an explicit dtype cast. Linear between float dtypes. */
export const convertP: Primitive<{ dtype: DType }> = primitive<{ dtype: DType }>({
  name: 'convert',
  abstractEval: ([x], { dtype }) => [{ shape: x!.shape, dtype }],
  jvp: ([x], [dx], params) => {
    const out = bind1(convertP, [x!], params);
    return [[out], [dx != null && isFloat(params.dtype) && isFloat(x!.dtype) ? bind1(convertP, [dx], params) : null]];
  },
  transpose: ([ct], [a]) => [ct == null ? null : bind1(convertP, [ct], { dtype: (a as { aval: { dtype: DType } }).aval.dtype })],
  vmap: (args, batched, params, size) => elementwiseVmap(convertP, args, batched, params, size),
});
