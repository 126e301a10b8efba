import type { DType } from '../../core/dtype.js';
import { type ArithmeticFn, type CompareFn, type LogicFn, renderScalar, type ScalarDialect, type ScalarExpr } from '../../core/scalar.js';
import { sizeOf } from '../../core/shape.js';
import type { KernelPrim } from '../backend.js';
import { WebGPUError } from './errors.js';
import { shareStorage } from './gpu-tensor.js';
import { type GpuKernel, launch } from './kernel.js';
import { bindings, grid1D, isNaNExpr, main1D, wgslType, type WgslType, wordOf } from './wgsl.js';

/**
 * Elementwise kernels in WGSL: one invocation per element, computing the scalar expression of the
 * primitive's record (rendered by {@link wgslDialect}). Operands have equal shapes (ops broadcast
 * beforehand with broadcast_in_dim), so every kernel is a flat loop.
 *
 * The float semantics follow the CPU oracle: max/min propagate NaN, sign keeps ±0 and NaN, pow
 * of a negative base is defined for integer exponents, truthiness treats NaN as false, eq and ne
 * see NaN by its bits. integer_pow multiplies by squaring (x^0 = 1), within a few float32
 * roundings of the CPU's pow.
 */

/**
 * Helpers used by the expressions below. NaN and ∞ are loaded from private variables (WGSL rejects
 * them as constant expressions). Vulkan lets `log` have an absolute error of 2⁻²¹ on [0.5, 2] (lavapipe shows 3e-3
 * relative error near 1) and `tanh` loses relative accuracy near 0, so log, log1p, expm1 and tanh
 * are computed here: log by frexp and the atanh series on [√½, √2), log1p by the same series in
 * s = x/(2+x), expm1 by its Taylor polynomial below |x| = ½, tanh from expm1. sqrt returns its NaN
 * for x < 0 explicitly: WGSL lets a compiler assume no NaN arises, and Mesa folds the built-in's
 * √x·√x into |x| (a NaN that eager execution, one kernel per op, keeps).
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
fn sqrt_(x: f32) -> f32 {
  if (x < 0.0) { return nan_(); }
  return sqrt(x);
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
`;

/** WGSL functions of float32 arithmetic that differ from the WGSL built-in (see {@link HELPERS}). */
const F32_FN: Partial<Record<ArithmeticFn, string>> = { log: 'log_', log1p: 'log1p_', expm1: 'expm1_', tanh: 'tanh_', pow: 'pow_', sqrt: 'sqrt_' };
const INFIX: Partial<Record<ArithmeticFn | CompareFn, string>> = { add: '+', sub: '-', mul: '*', div: '/', lt: '<', le: '<=', gt: '>', ge: '>=', eq: '==', ne: '!=' };
/** Arithmetic defined for int32 operands (the rest needs floats; the shape rules reject ints there). */
const INT_ARITHMETIC = new Set<ArithmeticFn>(['neg', 'abs', 'add', 'sub', 'mul']);

const typeName = (t: WgslType): string => (t === 'f32' ? 'float32' : t === 'i32' ? 'int32' : 'bool');

/**
 * The WGSL literal of `value` as an element of type `t`, exact (f32 by its bit pattern unless it is
 * a small integer; ±∞ and NaN, which WGSL rejects as constants, from the helpers).
 */
export function wgslLiteral(value: number, t: WgslType): string {
  if (t === 'u32') return value ? '1u' : '0u';
  if (t === 'i32') return value === -(2 ** 31) ? '(-2147483647i - 1i)' : `${value | 0}i`;
  if (Number.isNaN(value)) return 'nan_()';
  if (!Number.isFinite(value)) return value > 0 ? 'inf_()' : '-inf_()';
  return `bitcast<f32>(0x${wordOf(value, 'float32').toString(16)}u)`;
}

/** A literal inside an expression: small integers as WGSL numbers, the rest exactly by {@link wgslLiteral}. */
function literal(value: number, t: WgslType): string {
  if (t === 'f32' && Number.isInteger(value) && Math.abs(value) <= 2 ** 24 && !Object.is(value, -0)) return value < 0 ? `(${value}.0)` : `${value}.0`;
  const l = wgslLiteral(value, t);
  return l.startsWith('-') ? `(${l})` : l;
}

/** WGSL converting `v` of `from` to `to` (float → int truncates toward zero; NaN and overflow give 0). */
function convertExpr(from: WgslType, to: WgslType, v: string): string {
  if (to === 'f32') return `f32(${v})`;
  if (to === 'u32') return from === 'f32' ? `select(0u, 1u, truthy_f(${v}))` : `select(0u, 1u, ${v} != ${from === 'i32' ? '0i' : '0u'})`;
  return from === 'f32' ? `select(0i, i32(${v}), abs(${v}) < 2147483648.0)` : `i32(${v})`;
}

/** The WGSL of scalar expressions (operand i is the identifier `args[i]`), which may call the functions of {@link HELPERS}. */
const wgslDialect = (args: readonly string[]): ScalarDialect => ({
  arg: (i) => args[i]!,
  lit: (v, d) => literal(v, wgslType(d, 'literal')),
  arithmetic(fn, [a, b], d) {
    const t = wgslType(d, fn);
    if (t === 'u32' || (t === 'i32' && !INT_ARITHMETIC.has(fn))) throw new WebGPUError(`webgpu: no ${fn} kernel for ${typeName(t)}`);
    if (fn === 'neg') return `(-${a})`;
    const infix = INFIX[fn];
    if (infix) return `(${a} ${infix} ${b})`;
    return `${(t === 'f32' && F32_FN[fn]) || fn}(${b === undefined ? a : `${a}, ${b}`})`;
  },
  compare(fn, [a, b], d) {
    const t = wgslType(d, fn);
    if (fn === 'isnan') return t === 'f32' ? `isnan_(${a})` : 'false';
    const c = `${a} ${INFIX[fn]} ${b}`;
    if (t === 'f32' && fn === 'eq') return `(${c} && !isnan_(${a}))`;
    if (t === 'f32' && fn === 'ne') return `(${c} || isnan_(${a}))`;
    return `(${c})`;
  },
  logic: (fn: LogicFn, [a, b]) => (fn === 'not' ? `(!${a})` : `(${a} ${fn === 'and' ? '&&' : '||'} ${b})`),
  select: (c, a, b) => `select(${b}, ${a}, ${c})`,
  convert: (x, from, to) => convertExpr(wgslType(from, 'convert'), wgslType(to, 'convert'), x),
  ipow(x, n, d) {
    if (wgslType(d, 'pow') !== 'f32') throw new WebGPUError(`webgpu: no integer_pow kernel for ${d}`);
    return `ipow_(${x}, ${n}i)`;
  },
  truthy(x, d) {
    const t = wgslType(d, 'truthy');
    return t === 'f32' ? `truthy_f(${x})` : `(${x} != ${t === 'i32' ? '0i' : '0u'})`;
  },
  fromCondition: (c) => `select(0u, 1u, ${c})`,
});

/**
 * The WGSL of the scalar expression `e` on the identifiers `args`, operand i of dtype `types[i]`.
 * The eager kernels here and jit's fused kernels both use it, so an op is computed by the same
 * expression wherever it runs.
 *
 *     elementwiseExpr(maxP's expression, ['float32', 'float32'], ['t0', 'x1'])
 *     // 'select(x1, t0, ((t0 > x1) || isnan_(t0)))'
 */
export const elementwiseExpr = (e: ScalarExpr, types: readonly DType[], args: readonly string[]): string => renderScalar(e, types, wgslDialect(args));

/** The operand that `e` casts to its own WGSL type (a cast that moves no bits), else −1. */
const sameTypeCast = (e: ScalarExpr, types: readonly DType[]): number =>
  e.op === 'convert' && e.x.op === 'arg' && wgslType(types[e.x.index]!, 'convert') === wgslType(e.to, 'convert') ? e.x.index : -1;

/**
 * The kernel of an elementwise primitive: its scalar expression on each element (one pipeline per
 * expression and dtypes); a cast to the same WGSL type shares its input's buffer.
 */
function scalarKernel(prim: KernelPrim, scalar: (params: unknown) => ScalarExpr): GpuKernel {
  return (rt, xs, params, [o]) => {
    const types = xs.map((x) => x.dtype);
    const e = scalar(params);
    const same = sameTypeCast(e, types);
    if (same >= 0) return [shareStorage(o!.shape, o!.dtype, xs[same]!.storage)];
    const names = xs.map((_, k) => `a${k}`);
    const expr = elementwiseExpr(e, types, names);
    const out = wgslType(o!.dtype, prim.name);
    const ins = types.map((d) => wgslType(d, prim.name));
    return [
      launch(rt, o!, {
        key: `ew:${ins.join(',')}:${out}:${expr}`,
        wgsl: () => `${bindings(out, ins, false)}\n${main1D(`${names.map((a, k) => `  let ${a} = x${k}[i];\n`).join('')}  out[i] = ${expr};`, HELPERS, 'out')}`,
        inputs: xs.map((x) => x.storage),
        params: null,
        grid: grid1D(sizeOf(o!.shape)),
      }),
    ];
  };
}

const kernelsOfPrim = new WeakMap<KernelPrim, GpuKernel>();

/**
 * The kernel of an elementwise primitive, made from its record's scalar expression (once per
 * primitive), or null for a primitive that is not elementwise.
 */
export function elementwiseKernel(prim: KernelPrim): GpuKernel | null {
  const scalar = prim.fusion.scalar;
  if (!scalar) return null;
  let k = kernelsOfPrim.get(prim);
  if (!k) kernelsOfPrim.set(prim, (k = scalarKernel(prim, scalar)));
  return k;
}
