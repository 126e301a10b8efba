import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import * as t from 'io-ts';
import { DecodeError, decodeOrThrow } from '../../core/decode.js';
import type { EpochRecord } from '../train/metrics.js';

/**
 * Reading a `partax train` run directory for `partax plot`: its `metrics.jsonl` (one JSON object
 * a line, each decoded with io-ts; a bad line is an error naming the file and the line number) and
 * the group names of its partition (from `run.json`, else g0 … gS−1).
 *
 * The codecs here describe the file format that src/cli/train/metrics.ts writes, decoded on its own
 * so that plots read any file, including those of older or foreign runs. JSON has no NaN or
 * infinities (JSON.stringify writes null for them), so every measured number may be null, read as NaN.
 */

/** Raised for a run that cannot be plotted: a missing directory or file, a malformed line. */
export class PlotError extends Error {
  override name = 'PlotError';
}

/** A measured number: null (a NaN or infinity written by JSON.stringify) is read as NaN. */
const Num = new t.Type<number, number | null, unknown>(
  'number (or null for NaN)',
  (u): u is number => typeof u === 'number',
  (u, c) => (typeof u === 'number' ? t.success(u) : u === null ? t.success(NaN) : t.failure(u, c)),
  (n) => (Number.isFinite(n) ? n : null),
);
/** An accuracy: null is "none" (a regression or reconstruction run), not NaN, so such runs get no accuracy panel. */
const Accuracy = t.union([t.null, Num]);

/** A count (step, epoch, batch): a non-negative integer. */
const Count = new t.Type<number, number, unknown>(
  'non-negative integer',
  (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= 0,
  (u, c) => (typeof u === 'number' && Number.isInteger(u) && u >= 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** The hg statistics of a step: H̄ (S×S, square) and ḡ (S), with the rest optional. */
const HgCodec = t.intersection([
  t.type({ H: t.array(t.array(Num)), g: t.array(Num) }),
  t.partial({ loss: Num, diag: t.array(Num), trace: Num, eigMin: Num, eigMax: Num, lrsRaw: t.array(Num), found: t.boolean, branch: t.string }),
]);

const StepCodec = t.intersection([
  t.type({ type: t.literal('step'), step: Count, loss: Num, lrs: t.array(Num), time: Num }),
  t.partial({ epoch: Count, batch: Count, accuracy: Accuracy, hg: HgCodec }),
]);

const EpochCodec = t.intersection([
  t.type({ type: t.literal('epoch'), epoch: Count, step: Count, trainLoss: Num, testLoss: Num, time: Num }),
  t.partial({ trainAccuracy: Accuracy, testAccuracy: Accuracy }),
]);

/** One line of metrics.jsonl. */
export const MetricsLineCodec = t.union([StepCodec, EpochCodec], 'MetricsLine');

/** H̄ and ḡ of one hg step (as plotted). */
export interface HgPoint {
  readonly step: number;
  readonly H: readonly (readonly number[])[];
  readonly g: readonly number[];
  readonly eigMin: number;
  readonly eigMax: number;
}

/** A `step` line, as plotted. */
export interface StepPoint {
  readonly step: number;
  readonly loss: number;
  readonly accuracy: number | null;
  readonly lrs: readonly number[];
  readonly time: number;
  readonly hg?: HgPoint;
}

/** An `epoch` line, as plotted: the record `partax train` writes, without its tag. */
export type EpochPoint = Omit<EpochRecord, 'type'>;

/** A run directory read for plotting. */
export interface RunData {
  /** The directory as given. */
  readonly dir: string;
  /** A short name for legends and file names (the directory's base name, or more where two runs share it). */
  readonly name: string;
  readonly steps: readonly StepPoint[];
  readonly epochs: readonly EpochPoint[];
  /** One label per learning-rate group (from run.json's partition, else g0 … gS−1). */
  readonly groups: readonly string[];
}

/** Decodes the text of a metrics.jsonl; `file` names it in errors (`file:LINE: …`). */
export function parseMetrics(text: string, file: string): { steps: StepPoint[]; epochs: EpochPoint[] } {
  const steps: StepPoint[] = [];
  const epochs: EpochPoint[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${file}:${i + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new PlotError(`${where}: not valid JSON (${(e as Error).message})${i === lines.length - 1 ? ' — a line cut short while the run was writing?' : ''}`);
    }
    let r: t.TypeOf<typeof MetricsLineCodec>;
    try {
      r = decodeOrThrow(MetricsLineCodec, json, where);
    } catch (e) {
      throw new PlotError((e as DecodeError).message);
    }
    if (r.type === 'epoch') {
      epochs.push({ epoch: r.epoch, step: r.step, trainLoss: r.trainLoss, trainAccuracy: r.trainAccuracy ?? null, testLoss: r.testLoss, testAccuracy: r.testAccuracy ?? null, time: r.time });
      return;
    }
    let hg: HgPoint | undefined;
    if (r.hg) {
      const S = r.hg.H.length;
      if (!r.hg.H.every((row) => row.length === S) || r.hg.g.length !== S)
        throw new PlotError(`${where}: hg.H must be square and hg.g as long as its side, got H with rows of ${JSON.stringify(r.hg.H.map((row) => row.length))} and g of ${r.hg.g.length}`);
      hg = { step: r.step, H: r.hg.H, g: r.hg.g, eigMin: r.hg.eigMin ?? NaN, eigMax: r.hg.eigMax ?? NaN };
    }
    steps.push({ step: r.step, loss: r.loss, accuracy: r.accuracy ?? null, lrs: r.lrs, time: r.time, ...(hg ? { hg } : {}) });
  });
  return { steps, epochs };
}

/** run.json's partition: `groups`, a list of member names per group (other fields are ignored). */
const RunInfoCodec = t.partial({ groups: t.array(t.array(t.string)) });

/**
 * A readable label for each group of a partition: a group of one tensor is its name
 * (`layers.0.weight`); several tensors sharing a last path step are `*.weight`; every tensor is
 * `all`; otherwise `first … last`. Repeated labels get their index (`g2 *.weight`).
 *
 *     groupLabels([['layers.0.weight'], ['layers.0.bias']])   // ['layers.0.weight', 'layers.0.bias']
 *     groupLabels([['a.weight', 'b.weight'], ['a.bias', 'b.bias']])   // ['*.weight', '*.bias']
 */
export function groupLabels(groups: readonly (readonly string[])[]): string[] {
  const total = groups.reduce((n, g) => n + g.length, 0);
  const raw = groups.map((members) => {
    if (members.length === 1) return members[0]!;
    if (members.length === 0) return '(empty)';
    if (groups.length === 1 && members.length === total) return 'all';
    const lasts = new Set(members.map((m) => m.split('.').pop()));
    if (lasts.size === 1) return `*.${[...lasts][0]}`;
    return `${members[0]} … ${members[members.length - 1]}`;
  });
  return raw.map((l, i) => (raw.indexOf(l) !== raw.lastIndexOf(l) ? `g${i} ${l}` : l));
}

/** Group labels of a run with S groups: from run.json when it records S groups, else g0 … gS−1. */
function labelsFor(dir: string, S: number): string[] {
  const fallback = Array.from({ length: S }, (_, i) => `g${i}`);
  const path = join(dir, 'run.json');
  if (!existsSync(path)) return fallback;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PlotError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  let info: t.TypeOf<typeof RunInfoCodec>;
  try {
    info = decodeOrThrow(RunInfoCodec, json, path);
  } catch (e) {
    throw new PlotError((e as DecodeError).message);
  }
  return info.groups && info.groups.length === S ? groupLabels(info.groups) : fallback;
}

/**
 * Reads one run directory: a clear {@link PlotError} when it is missing, is not a directory, has no
 * metrics.jsonl, or has a malformed line (named by file and line number).
 */
export function readRun(dir: string): Omit<RunData, 'name'> {
  if (!existsSync(dir)) throw new PlotError(`no such directory '${dir}'`);
  if (!statSync(dir).isDirectory()) throw new PlotError(`'${dir}' is not a directory (give a run directory written by partax train)`);
  const file = join(dir, 'metrics.jsonl');
  if (!existsSync(file)) throw new PlotError(`'${dir}' has no metrics.jsonl (is it a run directory written by partax train?)`);
  const { steps, epochs } = parseMetrics(readFileSync(file, 'utf8'), file);
  if (steps.length === 0 && epochs.length === 0) throw new PlotError(`${file} is empty: the run has not finished a step yet`);
  const S = steps.length ? steps[steps.length - 1]!.lrs.length : 0;
  const bad = steps.find((s) => s.lrs.length !== S || (s.hg !== undefined && s.hg.g.length !== S));
  if (bad)
    throw new PlotError(`${file}: step ${bad.step} has ${bad.lrs.length} learning rates${bad.hg ? ` and an H̄ of side ${bad.hg.g.length}` : ''}, but the last step has ${S}: one run has one partition`);
  return { dir, steps, epochs, groups: labelsFor(dir, S) };
}

/** Reads several runs and names them by their directories' base names (longer relative paths where two collide). */
export function readRuns(dirs: readonly string[]): RunData[] {
  const runs = dirs.map(readRun);
  const bases = dirs.map((d) => basename(resolve(d)));
  return runs.map((r, i) => {
    const b = bases[i]!;
    const unique = bases.filter((x) => x === b).length === 1;
    return { ...r, name: unique ? b : relative(process.cwd(), resolve(dirs[i]!)) || b };
  });
}
