import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { writeAll, writeFileAtomic } from '../../io/atomic-write.js';
import { fileError } from '../../io/file-error.js';
import type { HgRecord } from '../../optim/summary-newton.js';
import { eigvalsSymmetric } from '../../optim/small-linalg.js';

/**
 * `metrics.jsonl`: one JSON object per line. A `step` line after every step (loss, accuracy on
 * the batch, learning rates in force, seconds since the run started, and on newton-summary's hg
 * steps the summary H̄, ḡ and its statistics), an `epoch` line after every epoch (mean training
 * loss and accuracy over the epoch, test loss and accuracy). Times are training seconds summed
 * over sessions, so a resumed run continues the clock.
 */

/** What one hg step of newton-summary computed, for plots: H̄ and ḡ with a few statistics. */
export interface HgStats {
  /** The loss on the hg batch. */
  readonly loss: number;
  /** H̄ (S×S) and ḡ (S). */
  readonly H: number[][];
  readonly g: number[];
  /** Diagonal, trace and extreme eigenvalues of H̄. */
  readonly diag: number[];
  readonly trace: number;
  readonly eigMin: number;
  readonly eigMax: number;
  /** The learning rates the solver returned, before clipping, averaging and damping. */
  readonly lrsRaw: number[];
  readonly found: boolean;
  readonly branch: string;
  readonly notes: readonly string[];
}

/** A `step` line. */
export interface StepRecord {
  readonly type: 'step';
  /** Steps done, counting this one (1, 2, …). */
  readonly step: number;
  /** The epoch (0-based) and batch of this step. */
  readonly epoch: number;
  readonly batch: number;
  readonly loss: number;
  /** Fraction of the batch classified right (classification only, else null). */
  readonly accuracy: number | null;
  readonly lrs: number[];
  readonly time: number;
  readonly hg?: HgStats;
}

/** An `epoch` line, after `epoch` epochs are done. */
export interface EpochRecord {
  readonly type: 'epoch';
  readonly epoch: number;
  readonly step: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number | null;
  readonly testLoss: number;
  readonly testAccuracy: number | null;
  readonly time: number;
}

export type MetricsRecord = StepRecord | EpochRecord;

/** The statistics of an hg record. */
export function hgStats(rec: HgRecord): HgStats {
  const diag = rec.H.map((r, i) => r[i]!);
  let eig: number[] = [];
  try {
    eig = rec.H.every((r) => r.every(Number.isFinite)) ? eigvalsSymmetric(rec.H) : [];
  } catch {
    eig = [];
  }
  return {
    loss: rec.loss,
    H: rec.H,
    g: rec.g,
    diag,
    trace: diag.reduce((a, b) => a + b, 0),
    eigMin: eig.length ? Math.min(...eig) : NaN,
    eigMax: eig.length ? Math.max(...eig) : NaN,
    lrsRaw: rec.lrsRaw,
    found: rec.found,
    branch: rec.branch,
    notes: rec.notes,
  };
}

/**
 * An append-only `metrics.jsonl`. Opened for a resumed run with `keepUpTo = step`, it first drops
 * the lines of steps after the checkpoint (written before a crash) and any line cut short, so the
 * file describes exactly the steps the parameters went through; that rewrite is atomic, and is
 * skipped when nothing is to be dropped. Every line is written whole or the write fails with a
 * FileError naming the file (a full disk), never silently cut.
 */
export class MetricsLog {
  private fd: number;
  /** The loss of the run's first step (from the file when resuming), or null before any step. */
  firstLoss: number | null = null;
  constructor(
    readonly path: string,
    keepUpTo: number | null = null,
  ) {
    try {
      if (keepUpTo !== null && existsSync(path)) {
        const text = readFileSync(path, 'utf8');
        const all = text.split('\n');
        if (all[all.length - 1] === '') all.pop();
        const kept = all.filter((line) => {
          try {
            const r = JSON.parse(line) as { type?: unknown; step?: unknown; loss?: unknown };
            const keep = typeof r.step === 'number' && r.step <= keepUpTo;
            if (keep && r.type === 'step' && r.step === 1 && typeof r.loss === 'number') this.firstLoss = r.loss;
            return keep;
          } catch {
            return false;
          }
        });
        if (kept.length !== all.length || !(text === '' || text.endsWith('\n'))) writeFileAtomic(path, kept.map((l) => `${l}\n`).join(''));
      }
      this.fd = openSync(path, keepUpTo === null ? 'w' : 'a');
    } catch (e) {
      throw fileError(e, 'open the metrics file', path);
    }
  }
  /** Appends one record as a line. */
  write(r: MetricsRecord): void {
    if (r.type === 'step' && r.step === 1) this.firstLoss = r.loss;
    try {
      writeAll(this.fd, Buffer.from(`${JSON.stringify(r)}\n`, 'utf8'));
    } catch (e) {
      throw fileError(e, 'append to', this.path);
    }
  }
  /** Closes the file (idempotent). */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
