import fc from 'fast-check';

/**
 * How many cases every property law runs, and from which seed — one place for the whole of laws/.
 *
 * - `PARTAX_LAW_RUNS=10x` (or `x10`) multiplies every law's case count by 10; `PARTAX_LAW_RUNS=500`
 *   runs every property 500 times. Unset: each law's own count (100 unless it says otherwise).
 * - `PARTAX_LAW_SEED=<integer>` replays the seed fast-check printed with a failure
 *   (`Property failed after 67 tests { seed: 1234, path: "66:0", … }`); unset, each run draws a
 *   fresh seed, so repeated runs explore new cases.
 *
 * Every `fc.assert` in laws/ takes its options from {@link runs} (or `RUNS`), and the ones that
 * give none get the same numbers through `fc.configureGlobal`, set when the harness is imported.
 */

/** Parsed `PARTAX_LAW_RUNS`: a multiplier (`10x`, `x10`), an absolute count (`500`), or neither. */
export interface LawRunsSetting {
  readonly factor: number;
  readonly count: number | undefined;
}

/** Reads `PARTAX_LAW_RUNS`; anything but a positive integer, optionally with an `x`, is an error naming it. */
export function parseLawRuns(raw: string | undefined): LawRunsSetting {
  if (raw === undefined || raw.trim() === '') return { factor: 1, count: undefined };
  const m = /^\s*(?:[x×](\d+)|(\d+)[x×]|(\d+))\s*$/i.exec(raw);
  const n = m ? Number(m[1] ?? m[2] ?? m[3]) : NaN;
  if (!m || !Number.isSafeInteger(n) || n < 1)
    throw new Error(`PARTAX_LAW_RUNS='${raw}': expected a positive integer count (500) or multiplier (10x)`);
  return m[3] !== undefined ? { factor: 1, count: n } : { factor: n, count: undefined };
}

/** Reads `PARTAX_LAW_SEED`: a 32-bit integer seed as fast-check prints it, or undefined when unset. */
export function parseLawSeed(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < -(2 ** 31) || n >= 2 ** 32)
    throw new Error(`PARTAX_LAW_SEED='${raw}': expected the integer seed fast-check printed with the failure`);
  return n;
}

const SETTING = parseLawRuns(process.env.PARTAX_LAW_RUNS);
const SEED = parseLawSeed(process.env.PARTAX_LAW_SEED);

/** The case count of a law whose own count is `n`, after `PARTAX_LAW_RUNS`. */
export const scaledRuns = (n: number): number => SETTING.count ?? Math.max(1, Math.round(n * SETTING.factor));

/** The fast-check options {@link runs} sets (assignable to any property's parameters). */
export interface LawRunOptions {
  readonly numRuns: number;
  readonly includeErrorInReport: true;
  readonly seed?: number;
}

/**
 * fast-check options of a property law that runs `n` cases by default (100): the count scaled by
 * `PARTAX_LAW_RUNS`, the seed of `PARTAX_LAW_SEED` when set, and the law's error in the report.
 */
export function runs(n = 100): LawRunOptions {
  return { numRuns: scaledRuns(n), includeErrorInReport: true, ...(SEED === undefined ? {} : { seed: SEED }) };
}

fc.configureGlobal({ ...fc.readConfigureGlobal(), ...runs() });
