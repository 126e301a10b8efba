import { allocate, type Buffer, type DType } from '../../core/dtype.js';

/** CPU kernels for elementwise primitives: one tight loop per operation, no per-element closures. */

type Unary = (x: Buffer, out: Buffer) => void;
type Binary = (a: Buffer, b: Buffer, out: Buffer) => void;

export const unaryKernels: Record<string, Unary> = {
  neg: (x, o) => { for (let i = 0; i < o.length; i++) o[i] = -x[i]!; },
  exp: (x, o) => { for (let i = 0; i < o.length; i++) o[i] = Math.exp(x[i]!); },
  log: (x, o) => { for (let i = 0; i < o.length; i++) o[i] = Math.log(x[i]!); },
  log1p: (x, o) => { for (let i = 0; i < o.length; i++) o[i] = Math.log1p(x[i]!); },
  expm1: (x, o) => { for (let i = 0; i < o.length; i++) o[i] = Math.expm1(x[i]!); },
  sqrt: (x, o) => { for (let i = 0; i < o.length; i++) o[i] = Math.sqrt(x[i]!); },
  tanh: (x, o) => { for (let i = 0; i < o.length; i++) o[i] = Math.tanh(x[i]!); },
  sin: (x, o) => { for (let i = 0; i < o.length; i++) o[i] = Math.sin(x[i]!); },
  cos: (x, o) => { for (let i = 0; i < o.length; i++) o[i] = Math.cos(x[i]!); },
  abs: (x, o) => { for (let i = 0; i < o.length; i++) o[i] = Math.abs(x[i]!); },
  sign: (x, o) => { for (let i = 0; i < o.length; i++) { const v = x[i]!; o[i] = v > 0 ? 1 : v < 0 ? -1 : v; } },
  floor: (x, o) => { for (let i = 0; i < o.length; i++) o[i] = Math.floor(x[i]!); },
  not: (x, o) => { for (let i = 0; i < o.length; i++) o[i] = x[i] ? 0 : 1; },
};

export const binaryKernels: Record<string, Binary> = {
  add: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i]! + b[i]!; },
  sub: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i]! - b[i]!; },
  mul: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i]! * b[i]!; },
  div: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i]! / b[i]!; },
  pow: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = Math.pow(a[i]!, b[i]!); },
  max: (a, b, o) => { for (let i = 0; i < o.length; i++) { const x = a[i]!, y = b[i]!; o[i] = x > y || Number.isNaN(x) ? x : y; } },
  min: (a, b, o) => { for (let i = 0; i < o.length; i++) { const x = a[i]!, y = b[i]!; o[i] = x < y || Number.isNaN(x) ? x : y; } },
  lt: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i]! < b[i]! ? 1 : 0; },
  le: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i]! <= b[i]! ? 1 : 0; },
  gt: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i]! > b[i]! ? 1 : 0; },
  ge: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i]! >= b[i]! ? 1 : 0; },
  eq: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i]! === b[i]! ? 1 : 0; },
  ne: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i]! !== b[i]! ? 1 : 0; },
  and: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i]! && b[i]! ? 1 : 0; },
  or: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = a[i]! || b[i]! ? 1 : 0; },
};

/** int32 arithmetic wraps like two's complement (as numpy), instead of rounding through doubles. */
export const int32Kernels: Record<string, Binary> = {
  mul: (a, b, o) => { for (let i = 0; i < o.length; i++) o[i] = Math.imul(a[i]!, b[i]!); },
};

/** x^y for an integer y (integer_pow): Math.pow, as the general pow kernel, so both round alike. */
export function integerPow(x: Buffer, y: number, out: Buffer): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.pow(x[i]!, y);
}

export function select(c: Buffer, a: Buffer, b: Buffer, out: Buffer): void {
  for (let i = 0; i < out.length; i++) out[i] = c[i] ? a[i]! : b[i]!;
}

/** dtype conversion; float → int truncates toward zero (as numpy's astype). */
export function convert(x: Buffer, to: DType): Buffer {
  const out = allocate(to, x.length);
  if (to === 'int32') for (let i = 0; i < x.length; i++) out[i] = Math.trunc(x[i]!);
  else if (to === 'bool') for (let i = 0; i < x.length; i++) out[i] = x[i] ? 1 : 0;
  else out.set(x);
  return out;
}
