import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { add, grad, jit, mul, optim, partition, sum, type Tensor, tensor } from '../src/index.js';
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

test('on WebGPU, a jitted Adam step (gradient, update, applyUpdates) traces once and follows the eager steps within float32 rounding; its bias corrections are float32 (no float64 there)', { skip: unavailable ?? false }, async () => {
  await withBackend('webgpu', async () => {
    const L = (p: Q) => add(sum(mul(mul(p.a, p.a), p.a)), mul(sum(p.b), sum(mul(p.a, p.a))));
    const opt = optim.adamw(0.05, { weightDecay: 0.1 });
    const step = (p: Q, s: unknown) => {
      const [u, next] = opt.update(grad(L)(p), s as never, p);
      return [optim.applyUpdates(p, u), next] as const;
    };
    const jitted = jit(step);
    const p0 = { a: tensor([0.3, -0.7, 1.1], 'float32'), b: tensor([0.5, -0.2], 'float32') };
    let [pe, se] = [p0 as Q, opt.init(p0) as unknown];
    let [pj, sj] = [p0 as Q, opt.init(p0) as unknown];
    for (let t = 0; t < 5; t++) {
      [pe, se] = step(pe, se);
      [pj, sj] = jitted(pj, sj);
    }
    assert.equal(jitted.traceCount(), 1, 'one trace for 5 steps');
    // float32 kernels (fused or not) on the same inputs: within a few ulp per step over 5 steps
    for (const k of ['a', 'b'] as const) {
      const [x, y] = [await values(pj[k]), await values(pe[k])];
      x.forEach((v, i) => assert.ok(Math.abs(v - y[i]!) <= 1e-5 * (1 + Math.abs(y[i]!)), `${k}[${i}]: jit ${v} vs eager ${y[i]}`));
    }
  });
});
