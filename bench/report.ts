/** Bench results as rows, printed as an aligned text table and as a markdown table. */

/** One measurement: a case run by one implementation (or why it could not run). */
export interface Row {
  readonly case: string;
  readonly impl: string;
  /** Median wall time of one run, ms. */
  readonly ms?: number;
  /** Median CPU time of the process per run (all threads), ms. */
  readonly cpuMs?: number;
  readonly reps?: number;
  readonly gflops?: number;
  /** This implementation's time / the reference's (partax) time: above 1 means partax is faster. */
  readonly ratio?: number;
  /** This implementation's time / partax's single-thread time (the peers here run on one thread). */
  readonly ratio1?: number;
  /** Scaled difference from the reference's result (max|a−b| / max|b|). */
  readonly err?: number;
  /** The error is over the case's tolerance: the result is wrong. */
  readonly wrong?: boolean;
  readonly failed?: string;
}

const HEAD = ['case', 'implementation', 'median ms', 'cpu ms', 'GFLOP/s', 'time / partax', 'time / partax 1 thread', 'runs', 'max err vs partax'];

const ratioCell = (x: number | undefined) => (x === undefined ? '' : `${x.toFixed(2)}×`);

function cells(r: Row): string[] {
  if (r.failed !== undefined) return [r.case, r.impl, 'failed', '', '', '', '', '', r.failed];
  return [
    r.case,
    r.impl,
    r.ms!.toFixed(r.ms! < 10 ? 2 : 1),
    r.cpuMs!.toFixed(r.cpuMs! < 10 ? 2 : 1),
    r.gflops === undefined || Number.isNaN(r.gflops) ? '' : r.gflops.toFixed(2),
    ratioCell(r.ratio),
    ratioCell(r.ratio1),
    String(r.reps),
    (r.err === undefined ? '' : r.err === 0 ? '0' : r.err.toExponential(1)) + (r.wrong ? ' WRONG' : ''),
  ];
}

/**
 * Adds `ratio1` (time / the time of the implementation named `single`) to every row of each case
 * that has a row of `single`; rows of other cases are returned unchanged.
 */
export function withRatioTo(rows: readonly Row[], single: string): Row[] {
  const base = new Map(rows.filter((r) => r.impl === single && r.ms !== undefined).map((r) => [r.case, r.ms!]));
  return rows.map((r) => (r.ms !== undefined && base.has(r.case) ? { ...r, ratio1: r.ms / base.get(r.case)! } : r));
}

/** An aligned plain-text table. */
export function textTable(rows: readonly Row[]): string {
  const body = rows.map(cells);
  // a failure's reason (the last cell) may be long: it does not widen the column
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((c, k) => (i === HEAD.length - 1 && rows[k]!.failed !== undefined ? 0 : c[i]!.length))));
  const line = (c: readonly string[]) => c.map((s, i) => (i >= 2 ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ');
  const out = [line(HEAD), widths.map((w) => '-'.repeat(w)).join('  ')];
  let last = '';
  for (const [i, c] of body.entries()) {
    if (rows[i]!.case !== last && last !== '') out.push('');
    last = rows[i]!.case;
    out.push(line(c));
  }
  return out.join('\n');
}

/** A markdown table (numbers right-aligned). */
export function markdownTable(rows: readonly Row[]): string {
  const out = [`| ${HEAD.join(' | ')} |`, `|${HEAD.map((_, i) => (i >= 2 ? ' ---: ' : ' --- ')).join('|')}|`];
  for (const r of rows) out.push(`| ${cells(r).map((s) => s.replaceAll('|', '\\|')).join(' | ')} |`);
  return out.join('\n');
}
