/**
 * The loop every comparative case shares: for each implementation, build its runner, time it,
 * check its result against the first implementation's (the reference), and make a table row.
 */
import { time, type Impl, type Runner, type TimeOptions } from '../harness.js';
import type { Row } from '../report.js';

/** What a case supplies to {@link benchImpls}. */
export interface CaseSpec<T> {
  readonly label: string;
  /** Floating-point operations of one run, for the GFLOP/s column (absent: no column value). */
  readonly flops?: number;
  readonly runner: (impl: Impl) => Runner<T>;
  /** The scaled difference of a result from the reference's. */
  readonly err: (result: T, ref: T) => number;
  /** Largest acceptable error: a row above it is marked wrong (its time still shown). */
  readonly tol?: number;
  /** Shown in the progress line on stderr. */
  readonly tag: string;
}

/** Times one case on every implementation; a failing implementation gets a row saying why. */
export async function benchImpls<T>(impls: readonly Impl[], spec: CaseSpec<T>, timing: TimeOptions): Promise<Row[]> {
  const rows: Row[] = [];
  let ref: T | undefined;
  let refMs: number | undefined;
  for (const impl of impls) {
    try {
      await impl.activate?.();
      const runner = spec.runner(impl);
      try {
        const t = await time(runner, timing);
        ref ??= t.result;
        refMs ??= t.medianMs;
        const err = spec.err(t.result, ref);
        rows.push({
          case: spec.label,
          impl: impl.name,
          ms: t.medianMs,
          cpuMs: t.cpuMs,
          reps: t.reps,
          gflops: spec.flops === undefined ? undefined : spec.flops / (t.medianMs * 1e6),
          ratio: t.medianMs / refMs,
          err,
          ...(spec.tol !== undefined && !(err <= spec.tol) ? { wrong: true } : {}),
        });
      } finally {
        runner.dispose?.();
      }
    } catch (e) {
      rows.push({ case: spec.label, impl: impl.name, failed: e instanceof Error ? e.message : String(e) });
    }
    console.error(`  done: ${spec.tag} ${impl.name}`);
  }
  return rows;
}
