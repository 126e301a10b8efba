/**
 * Case: float32 matmul C = A·B of square n×n matrices (2n³ flops), for every implementation.
 * The first implementation is the reference: the others' results are checked against it.
 */
import { scaledErr, time, uniform, type Impl, type TimeOptions } from '../harness.js';
import type { Row } from '../report.js';

/** Times C = A·B at each size in `sizes` for each implementation. */
export async function benchMatmul(impls: readonly Impl[], sizes: readonly number[], timing: TimeOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of sizes) {
    const a = uniform(1 + n, n * n);
    const b = uniform(2 + n, n * n);
    const flops = 2 * n ** 3;
    let ref: Float32Array | undefined;
    let refMs: number | undefined;
    for (const impl of impls) {
      const label = `matmul ${n}×${n} f32`;
      try {
        await impl.activate?.();
        const runner = impl.matmul(a, b, n);
        try {
          const t = await time(runner, timing);
          ref ??= t.result;
          refMs ??= t.medianMs;
          rows.push({
            case: label,
            impl: impl.name,
            ms: t.medianMs,
            cpuMs: t.cpuMs,
            reps: t.reps,
            gflops: flops / (t.medianMs * 1e6),
            ratio: t.medianMs / refMs,
            err: scaledErr(t.result, ref),
          });
        } finally {
          runner.dispose?.();
        }
      } catch (e) {
        rows.push({ case: label, impl: impl.name, failed: e instanceof Error ? e.message : String(e) });
      }
      console.error(`  done: matmul ${n} ${impl.name}`);
    }
  }
  return rows;
}
