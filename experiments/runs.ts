import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { savedConfig } from '../src/cli/train/command.js';
import { resolveConfig } from '../src/cli/train/config.js';
import { parseFlags } from '../src/cli/train/flags.js';

/**
 * One `partax train` run of the study: its command line, run in a subprocess into its own
 * directory, and the numbers read back from the files `partax train` writes (metrics.jsonl,
 * config.json, run.json). A finished run leaves `experiment.json` (its arguments and exit) beside
 * them; a later invocation finds it and reads the run back instead of training again, which makes
 * the study resumable. A directory without it (a run interrupted) is trained again from scratch;
 * so a finished run's checkpoint is deleted (the study never resumes inside a run).
 */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'partax.mjs');
/** The file a finished run leaves. */
export const DONE = 'experiment.json';

/** What a run was asked to do. */
export interface RunSpec {
  readonly task: string;
  /** 'newton-summary' or a baseline. */
  readonly optimizer: string;
  /** The NewtonSummary setting's id, or null for a baseline. */
  readonly setting: string | null;
  /** The learning rate given (baselines), or null. */
  readonly lr: number | null;
  readonly seed: number;
  /** The epochs it was given: the task's, or more for a baseline's equal-time run. */
  readonly epochsAsked: number;
  /** The `partax train` arguments, without --out / --progress / --checkpoint-every. */
  readonly args: readonly string[];
  /** Its directory. */
  readonly dir: string;
}

/** An epoch of a run: the numbers of its `epoch` line. */
export interface EpochPoint {
  readonly epoch: number;
  readonly step: number;
  readonly trainLoss: number;
  readonly testLoss: number;
  readonly testAccuracy: number | null;
  /** Training seconds at its end (steps and test evaluations). */
  readonly time: number;
}

/** The numbers of a finished run. */
export interface RunResult extends Omit<RunSpec, 'args'> {
  readonly command: string[];
  readonly status: 'ok' | 'diverged';
  readonly message: string | null;
  readonly steps: number;
  /** The last epoch's mean training loss, test loss and accuracy (null when it diverged). */
  readonly trainLoss: number | null;
  readonly testLoss: number | null;
  readonly testAccuracy: number | null;
  /** Seconds per epoch (median over its epochs, test evaluation included). */
  readonly epochSeconds: number | null;
  /** Training seconds in all. */
  readonly trainSeconds: number | null;
  /**
   * The share of the training time spent in hg steps beyond an ordinary step: (Σ over hg steps of
   * their time − the median time of the other steps) / the time of all steps. 0 for baselines.
   */
  readonly hgShare: number;
  readonly epochs: EpochPoint[];
  /** NewtonSummary: its groups and the rates in force after each hg step (step, rates). */
  readonly groups: string[] | null;
  readonly lrsAfterHg: [number, number[]][] | null;
  /** The steps at which H̄ was recorded. */
  readonly hgSteps: number[];
  /** Subprocess seconds (this invocation's, or the one that ran it). */
  readonly wallSeconds: number;
}

interface DoneNote {
  readonly args: string[];
  readonly diverged: boolean;
  readonly stderr: string;
  readonly wallSeconds: number;
}

/** The median of the values (NaN for none). */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The flags a run is trained with beyond its spec's (see {@link runOnce}). */
const runFlags = (spec: RunSpec): string[] => ['--out', spec.dir, '--progress', 'none', '--checkpoint-every', '0'];

/**
 * Whether `spec` ran to its end in an earlier invocation: the same arguments, or arguments that
 * `partax train` resolves to the configuration that run was trained with (its config.json, but
 * for its output directory) — a default pinned or flags reordered since, the runs moved — so a
 * finished run is never trained twice nor a changed one taken for it.
 */
export function isDone(spec: RunSpec): boolean {
  const p = join(spec.dir, DONE);
  if (!existsSync(p)) return false;
  const note = JSON.parse(readFileSync(p, 'utf8')) as DoneNote;
  if (note.args.join(' ') === spec.args.join(' ')) return true;
  const cfg = join(spec.dir, 'config.json');
  if (!existsSync(cfg)) return false;
  // where the run was written is not what it ran (a study's runs may have been moved)
  const { out: _now, ...now } = savedConfig(resolveConfig(parseFlags([...spec.args, ...runFlags(spec)]).options)) as Record<string, unknown>;
  const { out: _then, ...then } = JSON.parse(readFileSync(cfg, 'utf8')) as Record<string, unknown>;
  return canonicalJson(then) === canonicalJson(JSON.parse(JSON.stringify(now)));
}

/** JSON with object keys sorted, so that equal values print equal. */
function canonicalJson(x: unknown): string {
  return JSON.stringify(x, (_, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}

/** Trains `spec` in a subprocess (unless it is done) and reads its numbers; `reused` says which. */
export async function runOnce(spec: RunSpec): Promise<{ result: RunResult; reused: boolean }> {
  const reused = isDone(spec);
  if (!reused) {
    rmSync(spec.dir, { recursive: true, force: true });
    mkdirSync(dirname(spec.dir), { recursive: true });
    const full = [BIN, 'train', ...spec.args, ...runFlags(spec)];
    const t0 = performance.now();
    const { code, stderr, stdout } = await new Promise<{ code: number | null; stderr: string; stdout: string }>((res, rej) => {
      const p = spawn(process.execPath, full, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let [out, err] = ['', ''];
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('error', rej);
      p.on('close', (c) => res({ code: c, stderr: err, stdout: out }));
    });
    const wallSeconds = (performance.now() - t0) / 1000;
    const diverged = code === 1 && /diverged|non-finite/i.test(stderr);
    if (code !== 0 && !diverged) throw new Error(`experiments: partax train ${spec.args.join(' ')} failed (exit ${code}):\n${stderr}${stdout}`);
    // the report reads metrics, config and run.json only; the final checkpoint (120 MB for the deep
    // autoencoder) is dropped, as an interrupted run is trained again from scratch anyway
    rmSync(join(spec.dir, 'checkpoint.json'), { force: true });
    const note: DoneNote = { args: [...spec.args], diverged, stderr: stderr.trim(), wallSeconds };
    writeFileSync(join(spec.dir, DONE), `${JSON.stringify(note, null, 1)}\n`);
  }
  return { result: readRun(spec), reused };
}

/** The numbers of a finished run, from its directory. */
export function readRun(spec: RunSpec): RunResult {
  const note = JSON.parse(readFileSync(join(spec.dir, DONE), 'utf8')) as DoneNote;
  const lines = existsSync(join(spec.dir, 'metrics.jsonl'))
    ? readFileSync(join(spec.dir, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown> & { type: string })
    : [];
  const epochs = lines
    .filter((l) => l.type === 'epoch')
    .map((l) => ({ epoch: l['epoch'] as number, step: l['step'] as number, trainLoss: l['trainLoss'] as number, testLoss: l['testLoss'] as number, testAccuracy: (l['testAccuracy'] as number | null) ?? null, time: l['time'] as number }));
  const steps = lines.filter((l) => l.type === 'step') as unknown as { step: number; time: number; lrs: number[]; hg?: unknown }[];
  const last = note.diverged ? undefined : epochs[epochs.length - 1];
  // seconds of each step: its time less the previous step's (the first step's from 0)
  const dts = steps.map((s, i) => s.time - (i ? steps[i - 1]!.time : 0));
  const plain = median(dts.filter((_, i) => !steps[i]!.hg));
  const total = steps.length ? steps[steps.length - 1]!.time : 0;
  const extra = dts.reduce((a, dt, i) => a + (steps[i]!.hg ? Math.max(0, dt - (Number.isFinite(plain) ? plain : 0)) : 0), 0);
  const isNs = spec.optimizer === 'newton-summary';
  const groups = isNs && existsSync(join(spec.dir, 'run.json')) ? (JSON.parse(readFileSync(join(spec.dir, 'run.json'), 'utf8')) as { groups: string[][] }).groups.map((g) => g.join('+')) : null;
  const epochTimes = epochs.map((e, i) => e.time - (i ? epochs[i - 1]!.time : 0));
  return {
    task: spec.task,
    dir: spec.dir,
    optimizer: spec.optimizer,
    setting: spec.setting,
    lr: spec.lr,
    seed: spec.seed,
    epochsAsked: spec.epochsAsked,
    command: ['partax', 'train', ...spec.args],
    status: note.diverged ? 'diverged' : 'ok',
    message: note.diverged ? note.stderr.split('\n').slice(-3).join(' ') : null,
    steps: steps.length,
    trainLoss: last?.trainLoss ?? null,
    testLoss: last?.testLoss ?? null,
    testAccuracy: last?.testAccuracy ?? null,
    epochSeconds: last ? median(epochTimes) : null,
    trainSeconds: last?.time ?? null,
    hgShare: total > 0 ? extra / total : 0,
    epochs,
    groups,
    lrsAfterHg: isNs ? steps.filter((s) => s.hg !== undefined).map((s) => [s.step, s.lrs]) : null,
    hgSteps: steps.filter((s) => s.hg !== undefined).map((s) => s.step),
    wallSeconds: note.wallSeconds,
  };
}
