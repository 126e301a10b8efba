import fc from 'fast-check';
import * as P from '../../src/index.js';
import type { FloatDType, Tensor } from '../../src/index.js';
import { arbShape, seededTensor } from './index.js';

/**
 * Generated programs of primitives (elementwise chains, reductions, matmuls, views, concatenation,
 * padding…) for the laws of jit on every backend (laws/jit.laws.ts, laws/webgpu-jit.laws.ts).
 */

/** One generated operation: a menu index and three numbers it interprets (operands, axes, flags). */
export type Op = readonly [number, number, number, number];

/** Brings `b` to a shape that broadcasts with `a` (its sum, a scalar, when it does not). */
function compatible(a: Tensor, b: Tensor): Tensor {
  const n = Math.max(a.rank, b.rank);
  const ok = Array.from({ length: n }, (_, i) => {
    const da = a.shape[a.rank - n + i] ?? 1;
    const db = b.shape[b.rank - n + i] ?? 1;
    return da === db || da === 1 || db === 1;
  }).every(Boolean);
  return ok ? b : P.sum(b);
}

/**
 * The menu of operations of generated programs. `smooth` programs (for derivative laws) use only
 * operations that are differentiable and bounded on their inputs.
 */
export function applyOp(op: Op, nodes: readonly Tensor[], smooth: boolean, float64 = true): Tensor {
  const [kind, i, j, p] = op;
  const a = nodes[i % nodes.length]!;
  const b = compatible(a, nodes[j % nodes.length]!);
  const axis = a.rank === 0 ? undefined : p % a.rank;
  const menu: (() => Tensor)[] = [
    () => P.tanh(a),
    () => P.sin(a),
    () => P.mul(a, b),
    () => P.add(a, b),
    () => P.sub(a, P.mul(b, 0.5)),
    () => P.sum(a, axis, { keepdims: (p & 4) !== 0 }),
    () => (a.rank === 2 ? P.matmul(a, P.transpose(a)) : a.rank === 1 ? P.matmul(a, a) : P.cos(a)),
    () => P.reshape(a, p % 2 ? [a.size] : [...a.shape, 1]),
    () => P.transpose(a),
    () => P.broadcastTo(P.expandDims(a, 0), [2, ...a.shape]),
    () => (a.rank > 0 && a.shape[0]! > 1 ? P.slice(a, [1], [a.shape[0]!]) : P.neg(a)),
    () => P.mean(a, axis),
    () => P.where(P.gt(a, b), a, P.mul(b, 2)),
    () => (a.rank > 0 ? P.concat([a, P.tanh(a)], 0) : P.cos(a)),
    () => P.max(a, axis),
    () => P.maximum(a, b),
    () => (a.rank > 0 ? P.logSoftmax(a, -1) : P.sigmoid(a)),
    () => (a.rank > 0 ? P.pad(a, a.shape.map((_, k) => [k === 0 ? 1 : 0, 0] as const)) : P.square(a)),
  ];
  const rough: (() => Tensor)[] = [
    () => P.exp(a),
    () => P.log(P.abs(a)),
    () => P.sqrt(a),
    () => P.div(a, b),
    () => P.abs(a),
    () => P.pow(P.abs(a), b),
    () => P.minimum(a, b),
    () => P.astype(P.lt(a, b), a.dtype),
    () => P.floor(P.mul(a, 3)),
    () => P.min(a, axis),
    () => P.astype(P.astype(a, a.dtype === 'float64' ? 'float32' : float64 ? 'float64' : 'int32'), a.dtype),
  ];
  const all = smooth ? menu : [...menu, ...rough];
  return all[kind % all.length]!();
}

/** A generated program: input shapes, operations over earlier nodes, which nodes are returned. */
export interface Prog {
  readonly shapes: readonly number[][];
  readonly ops: readonly Op[];
  readonly outs: readonly number[];
}

export const arbProg = (maxOps = 10): fc.Arbitrary<Prog> =>
  fc.record({
    shapes: fc.array(arbShape({ rank: [0, 3], size: [1, 4] }), { minLength: 1, maxLength: 3 }),
    ops: fc.array(fc.tuple(fc.nat(40), fc.nat(), fc.nat(), fc.nat()), { minLength: 1, maxLength: maxOps }),
    outs: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
  });

/**
 * The function a program computes: the chosen nodes (the last node always among them). Without
 * `float64` (backends that lack it, webgpu), the rough menu's float64 round trip goes through int32.
 */
export function programFn(prog: Prog, smooth = false, float64 = true) {
  return (...inputs: Tensor[]): Tensor[] => {
    const nodes: Tensor[] = [...inputs];
    for (const op of prog.ops) nodes.push(applyOp(op, nodes, smooth, float64));
    return [nodes[nodes.length - 1]!, ...prog.outs.map((o) => nodes[o % nodes.length]!)];
  };
}

/** A scalar function of a program, for the derivative laws: Σ sin(last node) + Σ of the other outputs. */
export function scalarFn(prog: Prog) {
  const f = programFn(prog, true);
  return (...xs: Tensor[]): Tensor => f(...xs).map((y, k) => P.sum(k === 0 ? P.sin(y) : y)).reduce((s, t) => P.add(s, t));
}

/** Inputs of a program's shapes, values in [−1.5, 1.5], from a seed. */
export const inputsOf = (prog: Prog, seed: number, dtype: FloatDType = 'float64'): Tensor[] =>
  prog.shapes.map((s, k) => P.astype(seededTensor(s, seed + 7 * k, [-1.5, 1.5]), dtype));
