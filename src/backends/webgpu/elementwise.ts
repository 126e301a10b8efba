import type { DType } from '../../core/dtype.js';
import { sizeOf } from '../../core/shape.js';
import { shareStorage } from './gpu-tensor.js';
import { type GpuKernel, launch } from './kernel.js';
import { bindings, grid1D, isNaNExpr, main1D, wgslType, type WgslType } from './wgsl.js';

/**
 * Elementwise kernels in WGSL: one invocation per element. Inputs of a binary primitive have equal
 * shapes (ops broadcast beforehand with broadcast_in_dim), so every kernel is a flat loop.
 *
 * The float semantics follow the CPU oracle: max/min propagate NaN, sign keeps ±0 and NaN, pow
 * of a negative base is defined for integer exponents, truthiness treats NaN as false.
 * integer_pow multiplies by squaring (x^0 = 1), within a few float32 roundings of the CPU's pow.
 */

/**
 * Helpers used by the expressions below. NaN and ∞ are loaded from private variables (WGSL rejects
 * them as constant expressions). Vulkan lets `log` have an absolute error of 2⁻²¹ on [0.5, 2] (lavapipe shows 3e-3
 * relative error near 1) and `tanh` loses relative accuracy near 0, so log, log1p, expm1 and tanh
 * are computed here: log by frexp and the atanh series on [√½, √2), log1p by the same series in
 * s = x/(2+x), expm1 by its Taylor polynomial below |x| = ½, tanh from expm1.
 */
export const HELPERS = `
var<private> NAN_BITS: u32 = 0x7fc00000u;
var<private> INF_BITS: u32 = 0x7f800000u;
fn nan_() -> f32 { return bitcast<f32>(NAN_BITS); }
fn inf_() -> f32 { return bitcast<f32>(INF_BITS); }
fn isnan_(v: f32) -> bool { return ${isNaNExpr('v')}; }
fn truthy_f(v: f32) -> bool { return v != 0.0 && !isnan_(v); }
fn atanh2_(s: f32) -> f32 {
  let z = s * s;
  return 2.0 * s * (1.0 + z * (1.0 / 3.0 + z * (0.2 + z * (1.0 / 7.0 + z * (1.0 / 9.0 + z * (1.0 / 11.0 + z * (1.0 / 13.0 + z * (1.0 / 15.0 + z / 17.0))))))));
}
fn log_(x: f32) -> f32 {
  if (isnan_(x) || x < 0.0) { return nan_(); }
  if (x == 0.0) { return -inf_(); }
  if (x == inf_()) { return x; }
  let fe = frexp(x);
  var m = fe.fract;
  var e = f32(fe.exp);
  if (m < 0.70710678) { m = m * 2.0; e = e - 1.0; }
  return e * 0.693359375 + (atanh2_((m - 1.0) / (m + 1.0)) - e * 2.12194440e-4);
}
fn log1p_(x: f32) -> f32 {
  if (abs(x) >= 0.5 || isnan_(x)) { return log_(1.0 + x); }
  return atanh2_(x / (2.0 + x));
}
fn expm1_(x: f32) -> f32 {
  if (abs(x) >= 0.5 || isnan_(x)) { return exp(x) - 1.0; }
  return x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x * (1.0 / 720.0 + x * (1.0 / 5040.0 + x * (1.0 / 40320.0 + x / 362880.0))))))));
}
fn tanh_(x: f32) -> f32 {
  let t = expm1_(2.0 * min(abs(x), 15.0));
  let r = t / (t + 2.0);
  return select(r, -r, x < 0.0);
}
fn pow_(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  let r = exp2(y * log2(abs(x)));
  if (x < 0.0) {
    if (floor(y) != y) { return nan_(); }
    if (floor(y * 0.5) != y * 0.5) { return -r; }
  }
  return r;
}
fn ipow_(x: f32, n: i32) -> f32 {
  var base = x;
  var e = u32(abs(n));
  var r = 1.0;
  loop {
    if ((e & 1u) != 0u) { r = r * base; }
    e = e >> 1u;
    if (e == 0u) { break; }
    base = base * base;
  }
  return select(r, 1.0 / r, n < 0i);
}
fn sign_f(v: f32) -> f32 { return select(select(v, -1.0, v < 0.0), 1.0, v > 0.0); }
fn sign_i(v: i32) -> i32 { return select(select(0i, -1i, v < 0i), 1i, v > 0i); }
`;

/** WGSL of a unary primitive on `v` (an identifier) of type `t`. */
function unaryExpr(name: string, t: WgslType, v: string): string | null {
  if (t === 'f32')
    switch (name) {
      case 'neg': return `-${v}`;
      case 'exp': return `exp(${v})`;
      case 'log': return `log_(${v})`;
      case 'log1p': return `log1p_(${v})`;
      case 'expm1': return `expm1_(${v})`;
      case 'sqrt': return `sqrt(${v})`;
      case 'tanh': return `tanh_(${v})`;
      case 'sin': return `sin(${v})`;
      case 'cos': return `cos(${v})`;
      case 'abs': return `abs(${v})`;
      case 'sign': return `sign_f(${v})`;
      case 'floor': return `floor(${v})`;
    }
  if (t === 'i32')
    switch (name) {
      case 'neg': return `-${v}`;
      case 'abs': return `abs(${v})`;
      case 'sign': return `sign_i(${v})`;
    }
  if (t === 'u32' && name === 'not') return `select(1u, 0u, ${v} != 0u)`;
  return null;
}

/** WGSL of a binary primitive on `a`, `b` (identifiers) of type `t`. */
function binaryExpr(name: string, t: WgslType, a: string, b: string): string | null {
  const truthy = (x: string) => (t === 'f32' ? `truthy_f(${x})` : `(${x} != ${t === 'i32' ? '0i' : '0u'})`);
  const cmp = (c: string) => `select(0u, 1u, ${c})`;
  switch (name) {
    case 'lt': return cmp(`${a} < ${b}`);
    case 'le': return cmp(`${a} <= ${b}`);
    case 'gt': return cmp(`${a} > ${b}`);
    case 'ge': return cmp(`${a} >= ${b}`);
    case 'eq': return cmp(t === 'f32' ? `${a} == ${b} && !isnan_(${a})` : `${a} == ${b}`);
    case 'ne': return cmp(t === 'f32' ? `${a} != ${b} || isnan_(${a})` : `${a} != ${b}`);
    case 'and': return cmp(`${truthy(a)} && ${truthy(b)}`);
    case 'or': return cmp(`${truthy(a)} || ${truthy(b)}`);
  }
  if (t === 'u32') return null;
  switch (name) {
    case 'add': return `${a} + ${b}`;
    case 'sub': return `${a} - ${b}`;
    case 'mul': return `${a} * ${b}`;
  }
  if (t === 'i32')
    switch (name) {
      case 'max': return `max(${a}, ${b})`;
      case 'min': return `min(${a}, ${b})`;
    }
  if (t === 'f32')
    switch (name) {
      case 'div': return `${a} / ${b}`;
      case 'pow': return `pow_(${a}, ${b})`;
      case 'max': return `select(${b}, ${a}, ${a} > ${b} || isnan_(${a}))`;
      case 'min': return `select(${b}, ${a}, ${a} < ${b} || isnan_(${a}))`;
    }
  return null;
}

export const UNARY = ['neg', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'tanh', 'sin', 'cos', 'abs', 'sign', 'floor', 'not'] as const;
export const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min', 'lt', 'le', 'gt', 'ge', 'eq', 'ne', 'and', 'or'] as const;

function unaryKernel(name: string): GpuKernel {
  return (rt, [x], _p, [o]) => {
    const t = wgslType(x!.dtype, name);
    const expr = elementwiseExpr(name, t, null, ['v']);
    const n = sizeOf(o!.shape);
    return [
      launch(rt, o!, {
        key: `unary:${name}:${t}`,
        wgsl: () => `${bindings(wgslType(o!.dtype, name), [t], false)}\n${main1D(`  let v = x0[i];\n  out[i] = ${expr};`, HELPERS, 'out')}`,
        inputs: [x!.storage],
        params: null,
        grid: grid1D(n),
      }),
    ];
  };
}

function binaryKernel(name: string): GpuKernel {
  return (rt, [a, b], _p, [o]) => {
    const t = wgslType(a!.dtype, name);
    const expr = elementwiseExpr(name, t, null, ['a', 'b']);
    const n = sizeOf(o!.shape);
    return [
      launch(rt, o!, {
        key: `binary:${name}:${t}`,
        wgsl: () => `${bindings(wgslType(o!.dtype, name), [t, t], false)}\n${main1D(`  let a = x0[i];\n  let b = x1[i];\n  out[i] = ${expr};`, HELPERS, 'out')}`,
        inputs: [a!.storage, b!.storage],
        params: null,
        grid: grid1D(n),
      }),
    ];
  };
}

/** integer_pow(y): x^y by squaring, y baked into the source (one pipeline per exponent). */
const integerPowKernel: GpuKernel = (rt, [x], params: { y: number }, [o]) => {
  const t = wgslType(x!.dtype, 'pow');
  const expr = elementwiseExpr('integer_pow', t, params, ['v']);
  return [
    launch(rt, o!, {
      key: `integer_pow:${params.y}`,
      wgsl: () => `${bindings(t, [t], false)}\n${main1D(`  let v = x0[i];\n  out[i] = ${expr};`, HELPERS, 'out')}`,
      inputs: [x!.storage],
      params: null,
      grid: grid1D(sizeOf(o!.shape)),
    }),
  ];
};

/** select(cond, a, b): a where cond, else b. */
const selectKernel: GpuKernel = (rt, [c, a, b], _p, [o]) => {
  const t = wgslType(a!.dtype, 'select');
  const n = sizeOf(o!.shape);
  return [
    launch(rt, o!, {
      key: `select:${t}`,
      wgsl: () => `${bindings(t, ['u32', t, t], false)}\n${main1D(`  out[i] = ${elementwiseExpr('select', t, null, ['x0[i]', 'x1[i]', 'x2[i]'])};`, '', 'out')}`,
      inputs: [c!.storage, a!.storage, b!.storage],
      params: null,
      grid: grid1D(n),
    }),
  ];
};

/** WGSL converting `v` of `from` to `to` (float → int truncates toward zero; NaN and overflow give 0). */
function convertExpr(from: WgslType, to: WgslType, v: string): string {
  if (to === 'f32') return `f32(${v})`;
  if (to === 'u32') return from === 'f32' ? `select(0u, 1u, truthy_f(${v}))` : `select(0u, 1u, ${v} != ${from === 'i32' ? '0i' : '0u'})`;
  return from === 'f32' ? `select(0i, i32(${v}), abs(${v}) < 2147483648.0)` : `i32(${v})`;
}

/** convert(dtype): a cast; to the same dtype it shares the buffer. */
const convertKernel: GpuKernel = (rt, [x], { dtype }: { dtype: DType }, [o]) => {
  const from = wgslType(x!.dtype, 'convert');
  const to = wgslType(dtype, 'convert');
  if (from === to) return [shareStorage(o!.shape, o!.dtype, x!.storage)];
  const n = sizeOf(o!.shape);
  return [
    launch(rt, o!, {
      key: `convert:${from}:${to}`,
      wgsl: () => `${bindings(to, [from], false)}\n${main1D(`  let v = x0[i];\n  out[i] = ${convertExpr(from, to, 'v')};`, HELPERS, 'out')}`,
      inputs: [x!.storage],
      params: null,
      grid: grid1D(n),
    }),
  ];
};

/**
 * The WGSL expression of the elementwise primitive `prim` (a key of {@link elementwiseKernels}) on
 * the identifiers `args`, whose element type is `t` (the operands' type: for select, that of the
 * two branches, after a u32 condition; for convert, the source type). Expressions may call the
 * functions of {@link HELPERS}. The kernels here and jit's fused kernels both use it, so an op is
 * computed by the same expression wherever it runs.
 *
 *     elementwiseExpr('max', 'f32', null, ['t0', 'x1'])  // 'select(x1, t0, t0 > x1 || t0 != t0)'
 */
export function elementwiseExpr(prim: string, t: WgslType, params: unknown, args: readonly string[]): string {
  const [a, b, c] = args as [string, string, string];
  const e =
    prim === 'select'
      ? `select(${c}, ${b}, ${a} != 0u)`
      : prim === 'convert'
        ? convertExpr(t, wgslType((params as { dtype: DType }).dtype, 'convert'), a)
        : prim === 'integer_pow'
          ? t === 'f32' ? `ipow_(${a}, ${(params as { y: number }).y}i)` : null
        : args.length === 1
          ? unaryExpr(prim, t, a)
          : binaryExpr(prim, t, a, b);
  if (e === null) throw new Error(`webgpu: no ${prim} kernel for ${t === 'f32' ? 'float32' : t === 'i32' ? 'int32' : 'bool'}`);
  return e;
}

/** The elementwise kernels by primitive name. */
export const elementwiseKernels: Record<string, GpuKernel> = {
  ...Object.fromEntries(UNARY.map((n) => [n, unaryKernel(n)])),
  ...Object.fromEntries(BINARY.map((n) => [n, binaryKernel(n)])),
  select: selectKernel,
  convert: convertKernel,
  integer_pow: integerPowKernel,
};
