import type { Buffer, DType } from '../core/dtype.js';
import type { Shape } from '../core/shape.js';

/**
 * JavaScript source for a fused loop (the CPU analogue of a fused GPU kernel): one pass over an
 * index space, reading each input with strides, computing every member in a local, and storing
 * only the result (or accumulating a reduction). Compiled with `new Function` and cached by source.
 *
 * The loops reproduce eager results exactly: eager kernels store every intermediate in a typed
 * array, so a float32 intermediate is rounded with `Math.fround` and an int32 one wrapped with
 * `| 0`, and each expression is the one the CPU kernel uses (NaN handling of max/min included);
 * reductions accumulate in a double in the same order as the CPU reduction kernel.
 */

/** An operand of a loop operation: a strided read or the value of an earlier operation. */
export type Ref = { readonly kind: 'read'; readonly index: number } | { readonly kind: 'op'; readonly index: number };

/** A strided input of a loop: element at loop multi-index i is `buf[offset + Σ i·strides]`. */
export interface LoopRead {
  readonly strides: readonly number[];
  readonly offset: number;
}

/** One elementwise operation of a loop. */
export interface LoopOp {
  readonly prim: string;
  readonly dtype: DType;
  readonly params: unknown;
  readonly args: readonly Ref[];
}

/**
 * A loop: the index space `shape`, whose first `nOuter` axes index the output (all of them
 * unless it reduces), the reads, the operations in evaluation order, and what is stored.
 *
 * A reduction runs in one of two orders, both visiting each output's elements in the order the
 * CPU reduction kernel does (so sums round identically): with the reduced axes innermost (the
 * index space is permuted so; one accumulator in a local), or, with `accumulate`, in the input's
 * own order (reads stay contiguous when the last axis is kept) adding into a double per output at
 * `Σ idx·outStrides`.
 */
export interface LoopSpec {
  readonly shape: Shape;
  readonly nOuter: number;
  readonly reads: readonly LoopRead[];
  readonly ops: readonly LoopOp[];
  readonly result: Ref;
  /** Further values stored at each output index (second outputs of an elementwise loop), one buffer each. */
  readonly stores?: readonly Ref[];
  readonly reduce: null | 'sum' | 'max' | 'min';
  readonly outDtype: DType;
  readonly accumulate?: { readonly outStrides: readonly number[]; readonly outSize: number };
}

/** A compiled loop: the input buffers (one per read), the output buffer, then one buffer per store. */
export type LoopFn = (...bufs: Buffer[]) => void;

const unary: Record<string, (a: string) => string> = {
  neg: (a) => `-${a}`,
  exp: (a) => `Math.exp(${a})`,
  log: (a) => `Math.log(${a})`,
  log1p: (a) => `Math.log1p(${a})`,
  expm1: (a) => `Math.expm1(${a})`,
  sqrt: (a) => `Math.sqrt(${a})`,
  tanh: (a) => `Math.tanh(${a})`,
  sin: (a) => `Math.sin(${a})`,
  cos: (a) => `Math.cos(${a})`,
  abs: (a) => `Math.abs(${a})`,
  sign: (a) => `(${a} > 0 ? 1 : ${a} < 0 ? -1 : ${a})`,
  floor: (a) => `Math.floor(${a})`,
  not: (a) => `(${a} ? 0 : 1)`,
  stop_gradient: (a) => a,
};

const binary: Record<string, (a: string, b: string) => string> = {
  add: (a, b) => `${a} + ${b}`,
  sub: (a, b) => `${a} - ${b}`,
  mul: (a, b) => `${a} * ${b}`,
  div: (a, b) => `${a} / ${b}`,
  pow: (a, b) => `Math.pow(${a}, ${b})`,
  max: (a, b) => `(${a} > ${b} || ${a} !== ${a} ? ${a} : ${b})`,
  min: (a, b) => `(${a} < ${b} || ${a} !== ${a} ? ${a} : ${b})`,
  lt: (a, b) => `(${a} < ${b} ? 1 : 0)`,
  le: (a, b) => `(${a} <= ${b} ? 1 : 0)`,
  gt: (a, b) => `(${a} > ${b} ? 1 : 0)`,
  ge: (a, b) => `(${a} >= ${b} ? 1 : 0)`,
  eq: (a, b) => `(${a} === ${b} ? 1 : 0)`,
  ne: (a, b) => `(${a} !== ${b} ? 1 : 0)`,
  and: (a, b) => `(${a} && ${b} ? 1 : 0)`,
  or: (a, b) => `(${a} || ${b} ? 1 : 0)`,
};

/** int32 results that can leave the int32 range before the store wraps them. */
const INT_WRAP = new Set(['neg', 'abs', 'add', 'sub']);

/** The expression of one operation, rounded or wrapped as a store into its dtype would. */
function expression(op: LoopOp, args: readonly string[]): string {
  const [a, b, c] = args as [string, string, string];
  let e: string;
  if (op.prim === 'select') e = `(${a} ? ${b} : ${c})`;
  else if (op.prim === 'convert') {
    const to = (op.params as { dtype: DType }).dtype;
    e = to === 'int32' ? `(${a} | 0)` : to === 'bool' ? `(${a} ? 1 : 0)` : a;
  } else if (op.prim === 'integer_pow') e = `Math.pow(${a}, ${(op.params as { y: number }).y})`;
  else if (op.prim === 'mul' && op.dtype === 'int32') e = `Math.imul(${a}, ${b})`;
  else if (unary[op.prim]) e = unary[op.prim]!(a);
  else if (binary[op.prim]) e = binary[op.prim]!(a, b);
  else throw new Error(`jit: no loop expression for primitive '${op.prim}'`);
  if (op.dtype === 'float32') return `Math.fround(${e})`;
  if (op.dtype === 'int32' && INT_WRAP.has(op.prim)) return `((${e}) | 0)`;
  return e;
}

/**
 * Drops unit axes and merges neighbours that every stride vector walks contiguously (never across
 * the boundary between output and reduced axes at `nOuter`).
 */
function collapse(shape0: Shape, nOuter0: number, strides0: readonly (readonly number[])[]): { shape: number[]; nOuter: number; strides: number[][] } {
  let shape = [...shape0];
  let nOuter = nOuter0;
  let strides = strides0.map((s) => [...s]);
  if (shape.some((d) => d === 0)) return { shape, nOuter, strides };
  const keep = shape.map((d) => d !== 1);
  nOuter = keep.slice(0, nOuter).filter(Boolean).length;
  shape = shape.filter((_, a) => keep[a]);
  strides = strides.map((s) => s.filter((_, a) => keep[a]));
  for (let a = shape.length - 2; a >= 0; a--) {
    if (a === nOuter - 1) continue;
    if (!strides.every((s) => s[a] === s[a + 1]! * shape[a + 1]!)) continue;
    shape[a] = shape[a]! * shape[a + 1]!;
    shape.splice(a + 1, 1);
    for (const s of strides) {
      s[a] = s[a + 1]!;
      s.splice(a + 1, 1);
    }
    if (a < nOuter) nOuter--;
  }
  return { shape, nOuter, strides };
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
