import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { add, grad, mul, optim, partition, sum, type Tensor, tensor } from '../src/index.js';
import { setBackend } from '../src/backends/registry.js';
import { withBackend } from '../src/backends/transfer.js';
import { initWebGPU, shutdownWebGPU } from '../src/backends/webgpu/index.js';
import { flatten } from '../src/core/tree.js';
import { runs } from './harness/index.js';

/**
 * NewtonSummary on WebGPU through every combinator: its summary lives on the GPU and can only be
 * read with an await, so each combinator must pass `updateAsync` on (partitionBy, masked and
 * inject used to drop it, and their synchronous update then failed on the GPU read). Each run is
 * compared with NewtonSummary alone on the selected leaf, on the same backend: the same kernels on
 * the same inputs, so the numbers agree bit for bit. Without a WebGPU adapter the law is SKIPPED
 * with the reason.
 */

const unavailable: string | null = await initWebGPU({ timeoutMs: 20_000 }).then(
  () => null,
  (e: unknown) => `no WebGPU adapter: ${e instanceof Error ? e.message : String(e)}`,
);
if (unavailable) console.log(`# webgpu optimizer laws SKIPPED: ${unavailable}`);
else setBackend('cpu');
after(() => shutdownWebGPU());

type Q = { a: Tensor; b: Tensor };
const values = async (t: Tensor) => Array.from(await t.data());
const sameTree = async (x: unknown, y: unknown, what: string) => {
  const [fx, fy] = [flatten(x), flatten(y)];
  assert.deepEqual(fx.def, fy.def, `${what}: structure and plain values`);
  for (const [i, l] of fx.leaves.entries()) assert.deepEqual(await values(l), await values(fy.leaves[i]!), `${what} [leaf ${i}]`);
};

test('on WebGPU, NewtonSummary through masked, partitionBy and inject steps with updateAsync (update cannot read the GPU) and equals NewtonSummary alone on the selected leaf', { skip: unavailable ?? false }, async () => {
  const options = { partition: partition.canonical, damping: 0.5, dampingInt: 1, momLrs: 0.5, periodHg: 2 } as const;
  const arbVec = (n: number) => fc.array(fc.double({ min: 0.2, max: 1.5, noNaN: true }), { minLength: n, maxLength: n });
  await fc.assert(
    fc.asyncProperty(arbVec(3), arbVec(2), async (av, bv) => {
      // a smooth loss, convex near the data: ¼Σa⁴ + Σb² + (Σa²)(Σb²)
      const L = (p: Q) => {
        const [a2, b2] = [mul(p.a, p.a), mul(p.b, p.b)];
        return add(add(mul(sum(mul(a2, a2)), 0.25), sum(b2)), mul(sum(a2), sum(b2)));
      };
      const params = withBackend('webgpu', () => ({ a: tensor(av, 'float32'), b: tensor(bv, 'float32') }));
      const cases: [string, () => optim.GradientTransformation<any, any>][] = [
        ['masked', () => optim.masked(optim.newtonSummary(options), (path: string) => path === 'a')],
        ['partitionBy', () => optim.partitionBy((path: string) => (path === 'a' ? 'newton' : 'rest'), { newton: optim.newtonSummary(options), rest: optim.sgd(0.1) })],
        ['inject', () => optim.masked(optim.inject(({ damping }: { damping: number }) => optim.newtonSummary({ ...options, damping }), { damping: options.damping }), (path: string) => path === 'a')],
      ];
      for (const [name, make] of cases) {
        await withBackend('webgpu', async () => {
          const opt = make();
          const ref = optim.newtonSummary(options);
          let p = params;
          let sub = { a: p.a };
          let [st, sr] = [opt.init(p), ref.init(sub)];
          for (let t = 0; t < 3; t++) {
            const g = grad(L)(p) as Q;
            const current = p;
            const extra = { loss: (m: Partial<Q>) => L({ ...current, a: m.a! }), hgBatch: [] };
            if (t === 0) assert.throws(() => opt.update(g, st, p, extra), /can only be read asynchronously/, `${name}: the synchronous update cannot read the GPU`);
            const [u, next] = await optim.updateAsync(opt, g, st, p, extra);
            const [ur, nextRef] = await optim.updateAsync(ref, { a: g.a }, sr, sub, extra);
            assert.deepEqual(await values((u as Q).a), await values((ur as Q).a), `${name}: the selected leaf at step ${t}`);
            const inner = name === 'partitionBy' ? next.newton : name === 'inject' ? next.inner.inner : next.inner;
            await sameTree(inner.newton, nextRef.newton, `${name}: NewtonSummary's state at step ${t}`);
            [p, st, sr] = [optim.applyUpdates(p, u), next, nextRef];
            sub = optim.applyUpdates(sub, ur);
          }
        });
      }
    }),
    runs(5),
  );
});
