import { test } from 'node:test';
import fc from 'fast-check';
import * as px from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { broadcastShapes, sizeOf, stridesOf } from '../../src/core/shape.js';
import { arbBroadcastShapes, arbSeed, arbShape, arbTensorOf, assertClose, checkDerivatives, RUNS } from '../harness/index.js';

/**
 * Laws of the matrix products (prim/matmul.ts through ops/matmul.ts): numpy matmul with 1-D
 * promotion and broadcasting batch dimensions, dot and outer. Derivatives at orders 1–3 vs
 * central differences and the adjoint identity; values against an explicit triple loop; vmap over
 * either or both arguments (the batching rule's special cases) against stacking.
 */

const X: [number, number] = [-2, 2];
const arbX = (s: readonly number[]) => arbTensorOf(s, 'float64', X) as fc.Arbitrary<Tensor>;
const dim = fc.integer({ min: 1, max: 5 });

/**
 * Shapes for numpy matmul: a = [...ba, M, K] or [K], b = [...bb, K, N] or [K], where the batch
 * shapes ba, bb broadcast (ranks 0–2).
 */
const arbMatmulShapes = fc
  .tuple(arbBroadcastShapes({ rank: [0, 2], size: [1, 3] }), dim, dim, dim, fc.constantFrom('mm', 'vm', 'mv', 'vv'))
  .map(([[ba, bb], m, k, n, kind]) => {
    const a = kind[0] === 'v' ? [k] : [...ba, m, k];
    const b = kind[1] === 'v' ? [k] : [...bb, k, n];
    return [a, b] as [number[], number[]];
  });
const arbMatmul = arbMatmulShapes.chain(([sa, sb]) => fc.tuple(arbX(sa), arbX(sb)));

/** numpy matmul as an explicit loop (promotion, broadcasting, then removal of the promoted axes). */
function loopMatmul(a: Tensor, b: Tensor): Tensor {
  const as = a.rank === 1 ? [1, ...a.shape] : [...a.shape];
  const bs = b.rank === 1 ? [...b.shape, 1] : [...b.shape];
  const batch = broadcastShapes('loop', as.slice(0, -2), bs.slice(0, -2));
  const [m, k] = as.slice(-2) as [number, number];
  const n = bs[bs.length - 1]!;
  const ad = a.dataSync() as Float64Array;
  const bd = b.dataSync() as Float64Array;
  const nb = sizeOf(batch);
  const out = new Float64Array(nb * m * n);
  const offset = (shape: number[], idx: number, sz: number) => {
    // batch index idx of the broadcast batch → flat batch offset in an operand of batch `shape`
    const pad = [...Array(batch.length - shape.length).fill(1), ...shape];
    const st = stridesOf(pad);
    const sb = stridesOf(batch);
    let o = 0;
    for (let d = 0; d < batch.length; d++) o += (pad[d] === 1 ? 0 : Math.floor(idx / sb[d]!) % batch[d]!) * st[d]!;
    return o * sz;
  };
  for (let t = 0; t < nb; t++) {
    const oa = offset(as.slice(0, -2), t, m * k);
    const ob = offset(bs.slice(0, -2), t, k * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += ad[oa + i * k + q]! * bd[ob + q * n + j]!;
        out[(t * m + i) * n + j] = s;
      }
  }
  let shape = [...batch, m, n];
  if (a.rank === 1) shape = shape.filter((_, i) => i !== shape.length - 2);
  if (b.rank === 1) shape = shape.slice(0, -1);
  return px.fromBuffer(out, 'float64', shape);
}

test('matmul (batched, broadcasting batch dims, 1-D promotion): orders 1–3 in both arguments; adjoint identity (float64)', () => {
  fc.assert(
    fc.property(arbMatmul, arbSeed, ([a, b], seed) => checkDerivatives(`matmul [${a.shape}]·[${b.shape}]`, ([p, q]) => px.matmul(p!, q!), [a, b], seed)),
    RUNS,
  );
});

test('matmul agrees with an explicit triple loop (float64)', () => {
  fc.assert(
    fc.property(arbMatmul, ([a, b]) => assertClose(px.matmul(a, b), loopMatmul(a, b), { rtol: 1e-13, atol: 1e-13 }, `matmul [${a.shape}]·[${b.shape}] vs loop`)),
    RUNS,
  );
});

test('dot of vectors = Σ aᵢbᵢ, of matrices = matmul; outer(a, b)ᵢⱼ = aᵢbⱼ; orders 1–3; adjoint (float64)', () => {
  const gen = fc.tuple(dim, dim, fc.boolean()).chain(([m, n, vec]) =>
    fc.tuple(vec ? fc.tuple(arbX([n]), arbX([n])) : fc.tuple(arbX([m, n]), arbX([n, m])), fc.tuple(arbX([m]), arbX([n]))),
  );
  fc.assert(
    fc.property(gen, arbSeed, ([[a, b], [u, v]], seed) => {
      const d = px.dot(a, b);
      assertClose(d, a.rank === 1 ? px.sum(px.mul(a, b)) : loopMatmul(a, b), { rtol: 1e-13, atol: 1e-13 }, 'dot');
      checkDerivatives('dot', ([p, q]) => px.dot(p!, q!), [a, b], seed);
      const o = px.outer(u, v);
      const ud = u.dataSync() as Float64Array;
      const vd = v.dataSync() as Float64Array;
      assertClose(o, px.fromBuffer(Float64Array.from({ length: ud.length * vd.length }, (_, i) => ud[Math.floor(i / vd.length)]! * vd[i % vd.length]!), 'float64', [ud.length, vd.length]), { atol: 0 }, 'outer');
      checkDerivatives('outer', ([p, q]) => px.outer(p!, q!), [u, v], seed + 1);
    }),
    RUNS,
  );
});

test('vmap(matmul) over a, over b, or both (2-D and batched operands) equals stacking matmul over the rows', () => {
  const gen = fc.tuple(fc.integer({ min: 1, max: 4 }), dim, dim, dim, arbShape({ rank: [0, 1], size: [1, 3] }), fc.constantFrom<[0 | null, 0 | null]>([0, null], [null, 0], [0, 0])).chain(
    ([bsz, m, k, n, batch, axes]) => fc.tuple(arbX([bsz, ...batch, m, k]), arbX([bsz, ...batch, k, n]), fc.constant(axes)),
  );
  fc.assert(
    fc.property(gen, ([as, bs, [ia, ib]]) => {
      const row = (t: Tensor, i: number) => px.squeeze(px.slice(t, [i], [i + 1]), 0);
      const aArg = ia === null ? row(as, 0) : as;
      const bArg = ib === null ? row(bs, 0) : bs;
      const got = px.vmap(px.matmul, { inAxes: [ia, ib] })(aArg, bArg);
      const want = px.stack(Array.from({ length: as.shape[0]! }, (_, i) => px.matmul(ia === null ? aArg : row(as, i), ib === null ? bArg : row(bs, i))));
      assertClose(got, want, { rtol: 1e-13, atol: 1e-13 }, `vmap(matmul) inAxes [${ia},${ib}]`);
    }),
    RUNS,
  );
});
