/**
 * Case: float32 matmul C = A·B of square n×n matrices (2n³ flops), for every implementation.
 * The first implementation is the reference: the others' results are checked against it.
 */
import { scaledErr, uniform, type Impl, type TimeOptions } from '../harness.js';
import { benchImpls, type CaseSpec } from './rows.js';
import type { Row } from '../report.js';

/** Times C = A·B at each size in `sizes` for each implementation. */
export async function benchMatmul(impls: readonly Impl[], sizes: readonly number[], timing: TimeOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of sizes) {
    const a = uniform(1 + n, n * n);
    const b = uniform(2 + n, n * n);
    const spec: CaseSpec<Float32Array> = {
      label: `matmul ${n}×${n} f32`,
      flops: 2 * n ** 3,
      runner: (impl) => impl.matmul(a, b, n),
      err: scaledErr,
      tag: `matmul ${n}`,
    };
    rows.push(...(await benchImpls(impls, spec, timing)));
  }
  return rows;
}
