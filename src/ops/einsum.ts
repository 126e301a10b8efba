import { isFloat, type DType } from '../core/dtype.js';
import { DTypeError, ShapeError } from '../core/errors.js';
import { showShape, sizeOf } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { fromBuffer } from './create.js';
import { matmul } from './matmul.js';
import { sum } from './reduce.js';
import { reshape, take, transpose } from './shape-ops.js';

/**
 * einsum by rewriting: each operand first loses its repeated labels (a diagonal, by one gather
 * on a flattened axis) and the labels nobody else needs (a sum); then operands are contracted
 * pairwise, left to right, as one batched matmul [B, M, K] × [B, K, N] after transposes and
 * reshapes. Only existing primitives are used, so every transform applies.
 */

interface Term {
  readonly labels: string;
  readonly x: Tensor;
}

const LETTER = /^[A-Za-z]$/;

function parse(spec: string, nOps: number): { inputs: string[]; output: string } {
  const bad = (why: string): never => {
    throw new ShapeError(`einsum: malformed spec '${spec}': ${why}`);
  };
  if (typeof spec !== 'string') throw new TypeError('einsum: the spec must be a string such as "ij,jk->ik"');
  const s = spec.replace(/\s+/g, '');
  if (s.includes('.')) bad("ellipsis '...' is not supported (name every axis)");
  const arrows = s.split('->');
  if (arrows.length > 2) bad("more than one '->'");
  const inputs = arrows[0]!.split(',');
  for (const t of [...inputs, arrows[1] ?? ''])
    for (const ch of t) if (!LETTER.test(ch)) bad(`'${ch}' is not a label (labels are single letters a-z, A-Z)`);
  if (inputs.length !== nOps) bad(`it names ${inputs.length} operand(s) but ${nOps} tensor(s) were given`);
  const counts = new Map<string, number>();
  for (const t of inputs) for (const ch of t) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let output: string;
  if (arrows.length === 2) {
    output = arrows[1]!;
    if (new Set(output).size !== output.length) bad(`the output '${output}' repeats a label`);
    for (const ch of output) if (!counts.has(ch)) bad(`output label '${ch}' appears in no input`);
  } else {
    // implicit mode (numpy): labels seen exactly once, in alphabetical order
    output = [...counts.entries()].filter(([, n]) => n === 1).map(([ch]) => ch).sort().join('');
  }
  return { inputs, output };
}

/** Removes repeated labels of one operand by taking the diagonal over them ('ii' → 'i'). */
function diagonal(t: Term, spec: string): Term {
  let { labels, x } = t;
  for (;;) {
    const ch = [...labels].find((c, i) => labels.indexOf(c) !== i);
    if (ch === undefined) return { labels, x };
    const axes = [...labels].flatMap((c, i) => (c === ch ? [i] : []));
    const n = x.shape[axes[0]!]!;
    for (const a of axes)
      if (x.shape[a] !== n)
        throw new ShapeError(`einsum: '${spec}': label '${ch}' is repeated in one operand of shape ${showShape(x.shape)} with different sizes`);
    const rest = [...[...labels].keys()].filter((i) => !axes.includes(i));
    // move the repeated axes last, flatten them to n^k, take the positions i·(1 + n + … + n^(k−1))
    const moved = transpose(x, [...rest, ...axes]);
    const flat = reshape(moved, [...rest.map((i) => x.shape[i]!), n ** axes.length]);
    let step = 0;
    for (let e = 0; e < axes.length; e++) step += n ** e;
    const idx = fromBuffer(Int32Array.from({ length: n }, (_, i) => i * step), 'int32', [n]);
    x = take(flat, idx, rest.length);
    labels = rest.map((i) => labels[i]!).join('') + ch;
  }
}

/** Sums out the labels of `t` that are not in `keep`. */
function sumOut(t: Term, keep: ReadonlySet<string>): Term {
  const axes = [...t.labels].flatMap((c, i) => (keep.has(c) ? [] : [i]));
  if (axes.length === 0) return t;
  return { labels: [...t.labels].filter((c) => keep.has(c)).join(''), x: sum(t.x, axes) };
}

const permFor = (from: string, to: string): number[] => [...to].map((c) => from.indexOf(c));

/** Contracts two operands (no repeated labels) keeping `keep` labels: a batched matmul. */
function contract(a: Term, b: Term, keep: ReadonlySet<string>): Term {
  const inB = new Set(b.labels);
  const inA = new Set(a.labels);
  const batch = [...a.labels].filter((c) => inB.has(c) && keep.has(c)).join('');
  const summed = [...a.labels].filter((c) => inB.has(c) && !keep.has(c)).join('');
  const aOnly = [...a.labels].filter((c) => !inB.has(c)).join('');
  const bOnly = [...b.labels].filter((c) => !inA.has(c)).join('');
  const size = (t: Term, ls: string) => [...ls].map((c) => t.x.shape[t.labels.indexOf(c)]!);
  const [bs, ms, ks, ns] = [size(a, batch), size(a, aOnly), size(a, summed), size(b, bOnly)];
  const am = reshape(transpose(a.x, permFor(a.labels, batch + aOnly + summed)), [sizeOf(bs), sizeOf(ms), sizeOf(ks)]);
  const bm = reshape(transpose(b.x, permFor(b.labels, batch + summed + bOnly)), [sizeOf(bs), sizeOf(ks), sizeOf(ns)]);
  return { labels: batch + aOnly + bOnly, x: reshape(matmul(am, bm), [...bs, ...ms, ...ns]) };
}

/**
 * Einstein summation over one or more operands: `spec` lists each operand's axis labels (single
 * letters), then `->` and the output labels. Labels shared by operands are multiplied; labels
 * absent from the output are summed; a label repeated within one operand takes its diagonal.
 * Without `->` the output is the labels that occur once, sorted (numpy's implicit mode).
 * Ellipsis (`...`) and broadcasting of size-1 axes are not supported.
 *
 *     einsum('ij,jk->ik', a, b)   // matmul
 *     einsum('bij,bjk->bik', a, b) // batched matmul
 *     einsum('i,i->', u, v)       // inner product;  einsum('i,j->ij', u, v): outer product
 *     einsum('ij->ji', a)         // transpose;       einsum('ii->', a): trace; einsum('ii->i', a): diagonal
 */
export function einsum<D extends DType>(spec: string, ...operands: Tensor<D>[]): Tensor<D> {
  const { inputs, output } = parse(spec, operands.length);
  operands.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new TypeError(`einsum: operand ${i} of '${spec}' is not a tensor`);
    if (x.shape.length !== inputs[i]!.length)
      throw new ShapeError(`einsum: '${spec}': operand ${i} has shape ${showShape(x.shape)} (rank ${x.shape.length}) but its term '${inputs[i]}' names ${inputs[i]!.length} axes`);
    if (x.dtype !== operands[0]!.dtype)
      throw new DTypeError(`einsum: '${spec}': operand ${i} is ${x.dtype} but operand 0 is ${operands[0]!.dtype} (use astype)`);
  });
  if (operands.length > 1 && !isFloat(operands[0]!.dtype))
    throw new DTypeError(`einsum: '${spec}': contracting operands needs float32 or float64, got ${operands[0]!.dtype}`);
  // every occurrence of a label must have one size
  const sizes = new Map<string, [number, number]>();
  inputs.forEach((t, i) =>
    [...t].forEach((c, j) => {
      const d = operands[i]!.shape[j]!;
      const prev = sizes.get(c);
      if (prev && prev[0] !== d)
        throw new ShapeError(
          `einsum: '${spec}': label '${c}' has size ${prev[0]} in operand ${prev[1]} (${showShape(operands[prev[1]]!.shape)}) but ${d} in operand ${i} (${showShape(operands[i]!.shape)})`,
        );
      sizes.set(c, prev ?? [d, i]);
    }),
  );
  const terms = operands.map((x, i) => diagonal({ labels: inputs[i]!, x }, spec));
  // labels needed by the output or by operands after position i
  const keepAfter = (i: number) => new Set([...output, ...terms.slice(i + 1).flatMap((t) => [...t.labels])]);
  let acc = sumOut(terms[0]!, new Set([...keepAfter(0)]));
  for (let i = 1; i < terms.length; i++) {
    const keep = keepAfter(i);
    const both = new Set([...keep, ...acc.labels]);
    const next = sumOut(terms[i]!, both);
    acc = contract(sumOut(acc, new Set([...keep, ...next.labels])), next, keep);
  }
  return transpose(acc.x, permFor(acc.labels, output)) as Tensor<D>;
}
