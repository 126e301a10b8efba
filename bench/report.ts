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
  /** Scaled difference from the reference's result (max|a−b| / max|b|). */
  readonly err?: number;
  readonly failed?: string;
}

const HEAD = ['case', 'implementation', 'median ms', 'cpu ms', 'GFLOP/s', 'time / partax', 'runs', 'max err vs partax'];

function cells(r: Row): string[] {
  if (r.failed !== undefined) return [r.case, r.impl, 'failed', '', '', '', '', r.failed.slice(0, 60)];
  return [
    r.case,
    r.impl,
    r.ms!.toFixed(r.ms! < 10 ? 2 : 1),
    r.cpuMs!.toFixed(r.cpuMs! < 10 ? 2 : 1),
    r.gflops === undefined || Number.isNaN(r.gflops) ? '' : r.gflops.toFixed(2),
    `${r.ratio!.toFixed(2)}×`,
    String(r.reps),
    r.err === undefined ? '' : r.err === 0 ? '0' : r.err.toExponential(1),
  ];
}

/** An aligned plain-text table. */
export function textTable(rows: readonly Row[]): string {
  const body = rows.map(cells);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((c) => c[i]!.length)));
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
