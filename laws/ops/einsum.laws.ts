import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as px from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { arbSeed, arbTensorOf, assertClose, checkDerivatives, RUNS, throwsWith } from '../harness/index.js';

/**
 * Laws of einsum (src/ops/einsum.ts): the common specs against matmul/sum/transpose/mul
 * compositions, random specs (repeated labels, sums, outer products, one to three operands,
 * implicit output) against a brute-force loop over every label assignment, derivatives against
 * central differences with the adjoint identity, vmap against stacking, and malformed specs.
 */

const TIGHT = { rtol: 1e-12, atol: 1e-12 };

/** Brute force: out[output labels] = Σ over all other labels of Π operands. */
function einsumReference(inputs: string[], output: string, xs: Tensor[]): Tensor {
  const size = new Map<string, number>();
  inputs.forEach((t, i) => [...t].forEach((c, j) => size.set(c, xs[i]!.shape[j]!)));
  const labels = [...size.keys()];
  const data = xs.map((x) => x.dataSync() as Float64Array);
  const outShape = [...output].map((c) => size.get(c)!);
  const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const val = new Map<string, number>();
  const flatIndex = (term: string, shape: readonly number[]) => [...term].reduce((acc, c, j) => acc * shape[j]! + val.get(c)!, 0);
  const rec = (k: number) => {
    if (k === labels.length) {
      let p = 1;
      inputs.forEach((t, i) => (p *= data[i]![flatIndex(t, xs[i]!.shape)]!));
      const o = flatIndex(output, outShape);
      out[o] = out[o]! + p;
      return;
    }
    for (let v = 0; v < size.get(labels[k]!)!; v++) {
      val.set(labels[k]!, v);
      rec(k + 1);
    }
  };
  rec(0);
  return px.fromBuffer(out, 'float64', outShape);
}

interface Case {
  spec: string;
  inputs: string[];
  output: string;
  xs: Tensor[];
}

/** A random spec over labels a–d (sizes 1–3): 1–3 operands of rank 0–3 with repeats allowed. */
const arbCase = (opts: { maxOps?: number; noRepeats?: boolean } = {}): fc.Arbitrary<Case> =>
  fc
    .record({
      sizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }),
      terms: fc.array(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 0, maxLength: 3 }), { minLength: 1, maxLength: opts.maxOps ?? 3 }),
      keep: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      order: fc.array(fc.integer(), { minLength: 4, maxLength: 4 }),
      implicit: fc.boolean(),
    })
    .map((r) => ({ ...r, terms: opts.noRepeats ? r.terms.map((t) => [...new Set(t)]) : r.terms }))
    .chain((r) => {
      const inputs = r.terms.map((t) => t.join(''));
      const used = [...new Set(inputs.join(''))].sort();
      const counts = new Map<string, number>();
      for (const ch of inputs.join('')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
      const output = r.implicit
        ? used.filter((c) => counts.get(c) === 1).join('')
        : used
            .filter((c) => r.keep['abcd'.indexOf(c)])
            .sort((a, b) => r.order['abcd'.indexOf(a)]! - r.order['abcd'.indexOf(b)]!)
            .join('');
      const spec = r.implicit ? inputs.join(',') : `${inputs.join(',')}->${output}`;
      const shapes = inputs.map((t) => [...t].map((c) => r.sizes['abcd'.indexOf(c)]!));
      return fc.tuple(...shapes.map((s) => arbTensorOf(s))).map((xs): Case => ({ spec, inputs, output, xs: xs as Tensor[] }));
    });

test('einsum over random specs (1–3 operands, repeated labels, sums, implicit output) equals a brute-force loop over all labels', () => {
  fc.assert(
    fc.property(arbCase(), (c) => {
      assertClose(px.einsum(c.spec, ...c.xs), einsumReference(c.inputs, c.output, c.xs), TIGHT, c.spec);
    }),
    RUNS,
  );
});

type T9 = [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
const mats = (shapes: number[][]) => fc.tuple(...shapes.map((s) => arbTensorOf(s) as fc.Arbitrary<Tensor>)).map((ts) => ts as T9);
const dim = fc.integer({ min: 1, max: 4 });

test("einsum's common specs equal matmul / sum / mul / transpose compositions", () => {
  fc.assert(
    fc.property(
      fc.tuple(dim, dim, dim, dim).chain(([b, i, j, k]) => fc.tuple(fc.constant(j), mats([[i, j], [j, k], [b, i, j], [b, j, k], [i], [i], [k, j], [i, j], [j, j]]))),
      ([j, [A, B, P, Q, u, v, C, D, S]]) => {
        assertClose(px.einsum('ij,jk->ik', A, B), px.matmul(A, B), TIGHT, 'ij,jk->ik');
        assertClose(px.einsum('bij,bjk->bik', P, Q), px.matmul(P, Q), TIGHT, 'bij,bjk->bik');
        assertClose(px.einsum('i,i->', u, v), px.sum(px.mul(u, v)), TIGHT, 'i,i->');
        const w = px.reshape(B, [-1]);
        assertClose(px.einsum('i,j->ij', u, w), px.outer(u, w), TIGHT, 'i,j->ij');
        assertClose(px.einsum('ij->ji', A), px.transpose(A), TIGHT, 'ij->ji');
        assertClose(px.einsum('ij->', A), px.sum(A), TIGHT, 'ij->');
        assertClose(px.einsum('ij->i', A), px.sum(A, 1), TIGHT, 'ij->i');
        assertClose(px.einsum('ij,ij->ij', A, D), px.mul(A, D), TIGHT, 'ij,ij->ij');
        assertClose(px.einsum('ij,kj->ik', A, C), px.matmul(A, px.transpose(C)), TIGHT, 'ij,kj->ik');
        assertClose(px.einsum('bij,bjk->', P, Q), px.sum(px.matmul(P, Q)), TIGHT, 'bij,bjk->');
        assertClose(px.einsum('ij,jk', A, B), px.matmul(A, B), TIGHT, 'implicit ij,jk');
        assertClose(px.einsum('ii->', S), px.sum(px.mul(S, px.eye(j, 'float64'))), TIGHT, 'ii-> (trace)');
        assertClose(px.einsum('ii->i', S), px.sum(px.mul(S, px.eye(j, 'float64')), 1), TIGHT, 'ii->i (diagonal)');
      },
    ),
    RUNS,
  );
});

test('einsum: jvp and grad match central differences, adjoint ⟨J·t, c⟩ = ⟨t, Jᵀ·c⟩, second derivatives match differences of the first (float64)', () => {
  fc.assert(
    fc.property(arbCase({ maxOps: 2 }), arbSeed, (c, seed) =>
      checkDerivatives(`einsum('${c.spec}')`, (xs) => px.einsum(c.spec, ...xs), c.xs, seed, { order: 2 }),
    ),
    RUNS,
  );
});

test('vmap(einsum) over the first operand equals stacking', () => {
  fc.assert(
    fc.property(arbCase({ maxOps: 2 }), fc.integer({ min: 1, max: 3 }), (c, batch) => {
      const [x0, ...rest] = c.xs;
      const x0s = Array.from({ length: batch }, (_, i) => px.add(x0!, i));
      const f = (x: Tensor) => px.einsum(c.spec, x, ...rest);
      assertClose(px.vmap(f)(px.stack(x0s)), px.stack(x0s.map(f)), TIGHT, c.spec);
    }),
    RUNS,
  );
});


test('einsum rejects malformed specs and mismatched operands with messages naming einsum and the spec', () => {
  const A = px.zeros([2, 3], 'float64');
  const B = px.zeros([4, 5], 'float64');
  throwsWith(() => px.einsum('ij,jk->ik', A), px.ShapeError, 'einsum', "'ij,jk->ik'", '2 operand');
  throwsWith(() => px.einsum('ij->ik', A), px.ShapeError, 'einsum', "'ij->ik'", "'k'");
  throwsWith(() => px.einsum('ij->ii', A), px.ShapeError, 'einsum', "'ij->ii'", 'repeats');
  throwsWith(() => px.einsum('...ij->ij', A), px.ShapeError, 'einsum', "'...ij->ij'", 'ellipsis');
  throwsWith(() => px.einsum('i1->i', A), px.ShapeError, 'einsum', "'i1->i'", "'1'");
  throwsWith(() => px.einsum('ij->i->j', A), px.ShapeError, 'einsum', "'ij->i->j'");
  throwsWith(() => px.einsum('ijk->i', A), px.ShapeError, 'einsum', "'ijk->i'", '[2,3]', 'rank 2');
  throwsWith(() => px.einsum('ij,jk->ik', A, B), px.ShapeError, 'einsum', "'ij,jk->ik'", "'j'", '[2,3]', '[4,5]');
  throwsWith(() => px.einsum('ii->i', A), px.ShapeError, 'einsum', "'ii->i'", '[2,3]');
  throwsWith(() => px.einsum('ij,jk->ik', A, px.zeros([3, 2], 'float32') as unknown as Tensor<'float64'>), px.DTypeError, 'einsum', 'float32', 'float64');
  throwsWith(() => px.einsum('ij,jk->ik', px.zeros([2, 3], 'int32'), px.zeros([3, 2], 'int32')), px.DTypeError, 'einsum', 'int32');
  // one-operand rewrites work on int32 (no product is formed)
  assert.deepEqual(px.einsum('ij->ji', px.tensor([[1, 2]], 'int32')).toNested(), [[1], [2]]);
});
