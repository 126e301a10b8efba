import { collapse, type LoopFn, type LoopOp, type LoopSpec, type Ref } from '../core/loop.js';
import { type ArithmeticFn, type CompareFn, type LogicFn, renderScalar, type ScalarDialect } from '../core/scalar.js';

export type { LoopFn, LoopOp, LoopRead, LoopSpec, Ref } from '../core/loop.js';

/**
 * JavaScript source for a fused loop (the CPU analogue of a fused GPU kernel): one pass over an
 * index space, reading each input with strides, computing every member in a local, and storing
 * only the result (or accumulating a reduction). Compiled with `new Function` and cached by source.
 *
 * The loops reproduce eager results exactly: eager kernels store every intermediate in a typed
 * array, so a float32 intermediate is rounded with `Math.fround` and an int32 one wrapped with
 * `| 0`, and each expression, the scalar expression of the primitive's record, means what the CPU
 * kernel computes (NaN handling of max/min included);
 * reductions accumulate in a double in the same order as the CPU reduction kernel.
 */

/** JavaScript functions of the scalar operations (neg and the infix ones are written inline). */
const MATH: Partial<Record<ArithmeticFn, string>> = {
  exp: 'Math.exp', log: 'Math.log', log1p: 'Math.log1p', expm1: 'Math.expm1', sqrt: 'Math.sqrt', tanh: 'Math.tanh',
  sin: 'Math.sin', cos: 'Math.cos', abs: 'Math.abs', floor: 'Math.floor', pow: 'Math.pow',
};
const INFIX: Partial<Record<ArithmeticFn | CompareFn, string>> = { add: '+', sub: '-', mul: '*', div: '/', lt: '<', le: '<=', gt: '>', ge: '>=', eq: '===', ne: '!==' };
/** int32 results that can leave the int32 range: wrapped as a store into an Int32Array would. */
const INT_WRAP = new Set<ArithmeticFn>(['neg', 'abs', 'add', 'sub']);

/** A JavaScript number literal (negative ones parenthesised, −0 kept). */
const jsNumber = (v: number): string => (Object.is(v, -0) ? '(-0)' : v < 0 ? `(${v})` : String(v));

/**
 * JavaScript for scalar expressions, operand i being the identifier `args[i]`: doubles as the CPU
 * kernels compute them (int32 multiplication by Math.imul, int32 sums and negations wrapped), so
 * only the store into the result's dtype remains to round (see {@link expression}).
 */
const jsDialect = (args: readonly string[]): ScalarDialect => ({
  arg: (i) => args[i]!,
  lit: (v) => jsNumber(v),
  arithmetic(fn, [a, b], d) {
    let e: string;
    if (fn === 'mul' && d === 'int32') e = `Math.imul(${a}, ${b})`;
    else if (fn === 'neg') e = `(-${a})`;
    else if (INFIX[fn]) e = `(${a} ${INFIX[fn]} ${b})`;
    else e = `${MATH[fn]}(${b === undefined ? a : `${a}, ${b}`})`;
    return d === 'int32' && INT_WRAP.has(fn) ? `(${e} | 0)` : e;
  },
  compare: (fn, [a, b]) => (fn === 'isnan' ? `(${a} !== ${a})` : `(${a} ${INFIX[fn]} ${b})`),
  logic: (fn: LogicFn, [a, b]) => (fn === 'not' ? `(!${a})` : `(${a} ${fn === 'and' ? '&&' : '||'} ${b})`),
  select: (c, a, b) => `(${c} ? ${a} : ${b})`,
  convert: (x, _from, to) => (to === 'int32' ? `(${x} | 0)` : to === 'bool' ? `(${x} ? 1 : 0)` : x),
  ipow: (x, n) => `Math.pow(${x}, ${n})`,
  truthy: (x) => x, // JavaScript's truthiness: 0 and NaN are false
  fromCondition: (c) => `(${c} ? 1 : 0)`,
});

/** The expression of one operation, rounded as a store into its dtype would. */
function expression(op: LoopOp, args: readonly string[]): string {
  const e = renderScalar(op.expr, op.argDtypes, jsDialect(args));
  return op.dtype === 'float32' ? `Math.fround(${e})` : e;
}

const term = (base: string, i: string, s: number): string => {
  const t = s === 1 ? i : `${i} * ${s}`;
  return base === '0' ? t : `${base} + ${t}`;
};

/**
 * The source of a function that returns the loop (parameters r0…r{n−1}, out, s0…); the outer function
 * holds the double accumulators of an `accumulate` reduction into a float32/int32 output.
 */
export function loopSource(spec: LoopSpec): string {
  const acc = spec.reduce ? (spec.accumulate ?? null) : null;
  const R = spec.reads.length; // with `accumulate`, stride vector R is the output position
  const { shape, nOuter, strides } = collapse(
    spec.shape,
    acc ? spec.shape.length : spec.nOuter,
    acc ? [...spec.reads.map((r) => r.strides), acc.outStrides] : spec.reads.map((r) => r.strides),
  );
  const n = shape.length;
  const lastAxis = (s: readonly number[]) => {
    for (let a = n - 1; a >= 0; a--) if (s[a] !== 0) return a;
    return -1;
  };
  const readLevel = strides.map(lastAxis);
  if (acc) readLevel[R] = n - 1; // the output position is needed innermost
  const opLevel: number[] = [];
  const levelOf = (r: Ref) => (r.kind === 'read' ? readLevel[r.index]! : opLevel[r.index]!);
  spec.ops.forEach((op, k) => (opLevel[k] = op.args.reduce((l, r) => Math.max(l, levelOf(r)), -1)));
  const name = (r: Ref) => (r.kind === 'read' ? `x${r.index}` : `t${r.index}`);
  const pos = [...spec.reads.map((r) => String(r.offset)), '0'];
  const reduce = spec.reduce;
  const result = name(spec.result);
  const init = reduce === 'sum' ? '0' : reduce === 'max' ? '-Infinity' : 'Infinity';
  const scratch = acc !== null && spec.outDtype !== 'float64';
  const stores = spec.reduce ? [] : (spec.stores ?? []);
  const params = [...spec.reads.map((_, r) => `r${r}`), 'out', ...stores.map((_, q) => `s${q}`)].join(', ');
  const lines: string[] = ['"use strict";'];
  if (scratch) lines.push(`const scratch = new Float64Array(${acc.outSize});`);
  lines.push(`return function loop(${params}) {`, 'let o = 0;');
  if (acc) lines.push(`const acc = ${scratch ? 'scratch' : 'out'};`, `acc.fill(${init});`);
  const combine = (target: string) =>
    reduce === 'sum'
      ? `${target} += ${result};`
      : `if (${result} ${reduce === 'max' ? '>' : '<'} ${target} || ${result} !== ${result}) ${target} = ${result};`;
  const body = (a: number) => {
    // the level's positions and reads, then the operations whose operands are all available here
    strides.forEach((s, r) => {
      if (a >= 0 && s[a] !== 0 && readLevel[r]! >= a) {
        lines.push(`const p${r}_${a} = ${term(pos[r]!, `i${a}`, s[a]!)};`);
        pos[r] = `p${r}_${a}`;
      }
      if (readLevel[r] === a && r < R) lines.push(`const x${r} = r${r}[${pos[r]}];`);
    });
    spec.ops.forEach((op, k) => {
      if (opLevel[k] === a) lines.push(`const t${k} = ${expression(op, op.args.map(name))};`);
    });
    if (reduce && !acc && a === nOuter - 1) lines.push(`let acc = ${init};`);
    if (a < n - 1) {
      lines.push(`for (let i${a + 1} = 0; i${a + 1} < ${shape[a + 1]}; i${a + 1}++) {`);
      body(a + 1);
      lines.push('}');
    } else {
      stores.forEach((ref, q) => lines.push(`s${q}[o] = ${name(ref)};`));
      lines.push(!reduce ? `out[o++] = ${result};` : acc ? combine(`acc[${pos[R]}]`) : combine('acc'));
    }
    if (reduce && !acc && a === nOuter - 1) lines.push('out[o++] = acc;');
  };
  body(-1);
  if (scratch) lines.push(`for (let q = 0; q < ${acc.outSize}; q++) out[q] = scratch[q];`);
  lines.push('};');
  return lines.join('\n');
}

const compiled = new Map<string, LoopFn>();
/** Distinct loop sources kept compiled (least recently compiled ones are dropped past this). */
const MAX_COMPILED = 4096;

/** Compiles a loop (memoised by its source, so equal loops share one function and its JIT state). */
export function compileLoop(spec: LoopSpec): { fn: LoopFn; source: string } {
  const source = loopSource(spec);
  let fn = compiled.get(source);
  if (!fn) {
    fn = new Function(source)() as LoopFn;
    compiled.set(source, fn);
    if (compiled.size > MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
  }
  return { fn, source };
}

/** Number of distinct compiled loops (for tests and diagnostics). */
export const compiledLoopCount = (): number => compiled.size;
