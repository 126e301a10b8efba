import type { DType } from './dtype.js';

/**
 * The scalar expression of an elementwise primitive: what it computes on one element of each
 * operand, written once in the primitive's record as a small tree. Each code generator renders it
 * through a {@link ScalarDialect} (JavaScript for jit's fused loops, WGSL for the webgpu kernels and
 * fused kernels), and a backend may match it to a kernel of its own (cpu-wasm's float32 exp and
 * tanh), so no backend keeps a table of elementwise primitives by name.
 *
 * Operands are `arg(i)`. A value has a dtype: an operand's, or its operands' for arithmetic; a
 * literal takes the dtype of the value it meets. Comparisons, `isnan`, `and`, `or` and `not` give
 * a condition, which a bool result stores as 1 or 0 and which a value used as a condition is
 * tested for (non-zero and not NaN). Every operation means what the CPU kernels compute: IEEE
 * double arithmetic rounded once into the result's dtype, int32 arithmetic wrapping.
 *
 *     // sign(x): 1, −1, or x itself (±0 and NaN kept)
 *     select(call('gt', X, lit(0)), lit(1), select(call('lt', X, lit(0)), lit(-1), X))
 */

/** Operations on values of one dtype, giving a value of that dtype. */
export type ArithmeticFn = 'neg' | 'abs' | 'floor' | 'sqrt' | 'exp' | 'log' | 'log1p' | 'expm1' | 'tanh' | 'sin' | 'cos' | 'add' | 'sub' | 'mul' | 'div' | 'pow';
/** Comparisons of two values of one dtype, and the NaN test: conditions. */
export type CompareFn = 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne' | 'isnan';
/** Operations on conditions. */
export type LogicFn = 'and' | 'or' | 'not';
/** Every scalar operation applied by `call`. */
export type ScalarFn = ArithmeticFn | CompareFn | LogicFn;

/** A node of a scalar expression. */
export type ScalarExpr =
  | { readonly op: 'arg'; readonly index: number }
  | { readonly op: 'lit'; readonly value: number }
  | { readonly op: 'call'; readonly fn: ScalarFn; readonly args: readonly ScalarExpr[] }
  | { readonly op: 'select'; readonly cond: ScalarExpr; readonly then: ScalarExpr; readonly else: ScalarExpr }
  | { readonly op: 'convert'; readonly x: ScalarExpr; readonly to: DType }
  | { readonly op: 'ipow'; readonly x: ScalarExpr; readonly n: number };

/** Operand `index` of the primitive. */
export const arg = (index: number): ScalarExpr => ({ op: 'arg', index });
/** The constant `value`, in the dtype of the value it meets. */
export const lit = (value: number): ScalarExpr => ({ op: 'lit', value });
/** `fn` applied to `args`. */
export const call = (fn: ScalarFn, ...args: ScalarExpr[]): ScalarExpr => ({ op: 'call', fn, args });
/** `then` where `cond` holds, else `otherwise`. */
export const select = (cond: ScalarExpr, then: ScalarExpr, otherwise: ScalarExpr): ScalarExpr => ({ op: 'select', cond, then, else: otherwise });
/** `x` cast to `to` (float → int truncates toward zero). */
export const convert = (x: ScalarExpr, to: DType): ScalarExpr => ({ op: 'convert', x, to });
/** x^n for a constant integer n (x^0 = 1). */
export const ipow = (x: ScalarExpr, n: number): ScalarExpr => ({ op: 'ipow', x, n });

/** The first operand and the second, the names the records use. */
export const X = arg(0);
export const Y = arg(1);

/**
 * How one target language writes each operation. Every method returns an expression that can be
 * used as an operand as it is (parenthesised where the language needs it).
 */
export interface ScalarDialect {
  /** The operand `index`. */
  arg(index: number): string;
  /** A literal of `dtype`. */
  lit(value: number, dtype: DType): string;
  /** An arithmetic operation on values of `dtype`. */
  arithmetic(fn: ArithmeticFn, args: readonly string[], dtype: DType): string;
  /** A comparison of values of `dtype`: a condition. */
  compare(fn: CompareFn, args: readonly string[], dtype: DType): string;
  /** An operation on conditions. */
  logic(fn: LogicFn, args: readonly string[]): string;
  /** `then` where the condition holds, else `otherwise` (values of `dtype`). */
  select(cond: string, then: string, otherwise: string, dtype: DType): string;
  /** A value of `from` cast to `to`. */
  convert(x: string, from: DType, to: DType): string;
  /** x^n for a constant integer n, x of `dtype`. */
  ipow(x: string, n: number, dtype: DType): string;
  /** A value of `dtype` as a condition: non-zero and not NaN. */
  truthy(x: string, dtype: DType): string;
  /** A condition as a bool value, 1 or 0. */
  fromCondition(c: string): string;
}

/** A rendered node: a condition, a value of a dtype, or a literal still waiting for its dtype. */
type Rendered = { readonly kind: 'cond'; readonly code: string } | { readonly kind: 'value'; readonly code: string; readonly dtype: DType } | { readonly kind: 'lit'; readonly value: number };

const ARITHMETIC = new Set<ScalarFn>(['neg', 'abs', 'floor', 'sqrt', 'exp', 'log', 'log1p', 'expm1', 'tanh', 'sin', 'cos', 'add', 'sub', 'mul', 'div', 'pow']);
const COMPARE = new Set<ScalarFn>(['lt', 'le', 'gt', 'ge', 'eq', 'ne', 'isnan']);

/**
 * `e` in the language of `d`, for operands of the dtypes `argTypes`: a value expression (a condition
 * at the root becomes a bool value, 1 or 0). Throws when the expression does not type-check (a
 * literal with nothing to take its dtype from, a condition where a value is needed).
 */
export function renderScalar(e: ScalarExpr, argTypes: readonly DType[], d: ScalarDialect): string {
  const asValue = (r: Rendered, dtype: DType): string => {
    if (r.kind === 'lit') return d.lit(r.value, dtype);
    if (r.kind === 'cond') throw new Error('scalar expression: a condition where a value is needed (use select)');
    return r.code;
  };
  const asCondition = (r: Rendered): string => {
    if (r.kind === 'cond') return r.code;
    if (r.kind === 'lit') throw new Error('scalar expression: a literal used as a condition');
    return d.truthy(r.code, r.dtype);
  };
  /** The common dtype of value operands (literals follow it). */
  const common = (rs: readonly Rendered[], what: string): DType => {
    const t = rs.find((r): r is Extract<Rendered, { kind: 'value' }> => r.kind === 'value')?.dtype;
    if (t === undefined) throw new Error(`scalar expression: ${what} has no operand to take a dtype from`);
    return t;
  };
  const walk = (n: ScalarExpr): Rendered => {
    switch (n.op) {
      case 'arg': {
        const dtype = argTypes[n.index];
        if (dtype === undefined) throw new Error(`scalar expression: operand ${n.index} of ${argTypes.length}`);
        return { kind: 'value', code: d.arg(n.index), dtype };
      }
      case 'lit':
        return { kind: 'lit', value: n.value };
      case 'call': {
        const rs = n.args.map(walk);
        if (ARITHMETIC.has(n.fn)) {
          const t = common(rs, n.fn);
          return { kind: 'value', code: d.arithmetic(n.fn as ArithmeticFn, rs.map((r) => asValue(r, t)), t), dtype: t };
        }
        if (COMPARE.has(n.fn)) {
          const t = common(rs, n.fn);
          return { kind: 'cond', code: d.compare(n.fn as CompareFn, rs.map((r) => asValue(r, t)), t) };
        }
        return { kind: 'cond', code: d.logic(n.fn as LogicFn, rs.map(asCondition)) };
      }
      case 'select': {
        const [c, a, b] = [walk(n.cond), walk(n.then), walk(n.else)];
        const t = common([a, b], 'select');
        return { kind: 'value', code: d.select(asCondition(c), asValue(a, t), asValue(b, t), t), dtype: t };
      }
      case 'convert': {
        const x = walk(n.x);
        const from = common([x], 'convert');
        return { kind: 'value', code: d.convert(asValue(x, from), from, n.to), dtype: n.to };
      }
      case 'ipow': {
        const x = walk(n.x);
        const t = common([x], 'ipow');
        return { kind: 'value', code: d.ipow(asValue(x, t), n.n, t), dtype: t };
      }
    }
  };
  const root = walk(e);
  return root.kind === 'cond' ? d.fromCondition(root.code) : asValue(root, common([root], 'the expression'));
}

/** The single scalar operation `fn` applied to operand 0, if that is all `e` is (how a backend finds a kernel of its own). */
export function unaryCallOf(e: ScalarExpr): ScalarFn | null {
  return e.op === 'call' && e.args.length === 1 && e.args[0]!.op === 'arg' && e.args[0]!.index === 0 ? e.fn : null;
}

/** The operands `e` reads: one more than its largest operand index (0 for a constant expression). */
export function arityOf(e: ScalarExpr): number {
  switch (e.op) {
    case 'arg':
      return e.index + 1;
    case 'lit':
      return 0;
    case 'call':
      return Math.max(0, ...e.args.map(arityOf));
    case 'select':
      return Math.max(arityOf(e.cond), arityOf(e.then), arityOf(e.else));
    default:
      return arityOf(e.x);
  }
}
