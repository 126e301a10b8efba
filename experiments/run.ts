/**
 * `npm run experiments [-- OPTIONS]`: the NewtonSummary study of issue 14 — every task, setting,
 * baseline and seed of experiments/plan.ts through `partax train`, then docs/experiments.md, its
 * JSON and the plots (`partax plot`). Resumable: a run finished by an earlier invocation (found in
 * the output directory) is read back, not trained again. A progress bar on a terminal (lines
 * otherwise) on stderr.
 *
 *     npm run experiments                        # the full study (hours on 2 cores)
 *     npm run experiments -- --quick             # a smoke test of the whole pipeline (~10 minutes)
 *
 * Options: --quick; --out DIR (run directories; default runs/experiments[-quick]); --docs DIR (where
 * experiments.md, experiments.json and plots/ go; default docs); --seeds N; --tasks ID,…;
 * --settings ID,…; --baselines NAME,…; --epochs N; --train-size N (every task); --no-plots.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { BASELINE_NAMES, type Baseline, QUICK_SETTINGS, SETTINGS, tasks as allTasks } from './plan.js';
import { reportJson, reportMarkdown } from './report.js';
import { ROOT, type RunResult } from './runs.js';
import { runStudy, type StudyPlan, taskEpochs } from './study.js';

const USAGE = `usage: npm run experiments -- [--quick] [--out DIR] [--docs DIR] [--seeds N] [--tasks ID,…] [--settings ID,…] [--baselines NAME,…] [--epochs N] [--train-size N] [--no-plots]`;

class UsageError extends Error {}

/** The command line, checked: every bad value is named with what was expected. */
function parse(argv: readonly string[]) {
  const o: Record<string, string | true> = {};
  const VALUED = ['out', 'docs', 'seeds', 'tasks', 'settings', 'baselines', 'epochs', 'train-size'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [k, inline] = a.startsWith('--') ? (a.slice(2).split(/=(.*)/s) as [string, string | undefined]) : [a, undefined];
    if (k === 'quick' || k === 'no-plots' || k === 'help') o[k] = true;
    else if (VALUED.includes(k)) {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`experiments: --${k} needs a value`);
      o[k] = v;
    } else throw new UsageError(`experiments: unknown argument '${a}'\n${USAGE}`);
  }
  const int = (k: string, min: number): number | null => {
    if (o[k] === undefined) return null;
    const n = Number(o[k]);
    if (!/^\d+$/.test(String(o[k])) || n < min) throw new UsageError(`experiments: --${k} expects an integer ≥ ${min}, got '${o[k]}'`);
    return n;
  };
  const list = <T extends string>(k: string, known: readonly T[]): T[] | null => {
    if (o[k] === undefined) return null;
    const xs = String(o[k]).split(',');
    for (const x of xs) if (!known.includes(x as T)) throw new UsageError(`experiments: --${k}: unknown '${x}' (expected some of ${known.join(', ')})`);
    return xs as T[];
  };
  const quick = o['quick'] === true;
  const taskList = allTasks();
  const taskIds = list('tasks', taskList.map((t) => t.id));
  const settingIds = list('settings', SETTINGS.map((s) => s.id)) ?? (quick ? [...QUICK_SETTINGS] : SETTINGS.map((s) => s.id));
  if (!settingIds.includes('default')) settingIds.unshift('default'); // the defaults are always a contender
  const seeds = int('seeds', 1) ?? (quick ? 1 : 5);
  const trainSize = int('train-size', 1);
  const plan: StudyPlan = {
    tasks: taskList.filter((t) => !taskIds || taskIds.includes(t.id)),
    settings: SETTINGS.filter((s) => settingIds.includes(s.id)),
    baselines: list<Baseline>('baselines', BASELINE_NAMES) ?? BASELINE_NAMES,
    seeds: Array.from({ length: seeds }, (_, i) => i),
    quick,
    out: resolve(String(o['out'] ?? join(ROOT, quick ? 'runs/experiments-quick' : 'runs/experiments'))),
    extraArgs: trainSize === null ? [] : ['--train-size', String(trainSize)],
    epochs: int('epochs', 1),
  };
  return { plan, docs: resolve(String(o['docs'] ?? join(ROOT, 'docs'))), plots: o['no-plots'] !== true, help: o['help'] === true };
}

/** Progress on stderr: a bar on a terminal, a line per run otherwise. */
function progressDisplay() {
  const tty = process.stderr.isTTY === true;
  const bar = tty ? new cliProgress.SingleBar({ format: 'experiments |{bar}| {value}/{total} runs | {last}', stream: process.stderr, hideCursor: true, barsize: 30 }) : null;
  let total = 0;
  let done = 0;
  return {
    planned(n: number) {
      if (bar && total === 0) bar.start(n, 0, { last: '' });
      total = n;
      bar?.setTotal(n);
    },
    finished(r: RunResult, reused: boolean) {
      done++;
      const what = `${r.task} ${r.setting ? `ns:${r.setting}` : `${r.optimizer} lr ${r.lr}`} seed ${r.seed}: ${r.status === 'ok' ? `train loss ${r.trainLoss!.toPrecision(4)}` : 'DIVERGED'}${reused ? ' (done earlier)' : ` (${r.wallSeconds.toFixed(1)} s)`}`;
      if (bar) bar.update(done, { last: what });
      else process.stderr.write(`[${done}/${total}] ${what}\n`);
    },
    stop: () => bar?.stop(),
  };
}

/** Draws each task's plots with `partax plot` (seed 0 of each contender); returns the files, relative to `docs`. */
function plots(study: Awaited<ReturnType<typeof runStudy>>, plan: StudyPlan, docs: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const task of plan.tasks.filter((t) => !t.unavailable)) {
    const seed0 = study.runs.filter((r) => r.task === task.id && r.seed === 0 && r.status === 'ok');
    const pick = [
      ...seed0.filter((r) => r.setting === 'default' || r.setting === study.chosen),
      // the baselines' equal-epoch runs (not their equal-time runs, which have more epochs)
      ...plan.baselines.map((b) => seed0.find((r) => r.optimizer === b && r.lr === study.tuned[task.id]?.[b]?.lr && r.epochsAsked === taskEpochs(plan, task))).filter((r): r is RunResult => r !== undefined),
    ];
    if (!pick.length) continue;
    const ns = pick.find((r) => r.setting === 'default');
    const hg = ns?.hgSteps ?? [];
    const steps = hg.length ? [...new Set([hg[0]!, hg[Math.floor(hg.length / 2)]!, hg[hg.length - 1]!])] : [];
    const dir = join(docs, 'plots', task.id);
    rmSync(dir, { recursive: true, force: true });
    const dirs = pick.map((r) => r.dir);
    const args = [join(ROOT, 'bin', 'partax.mjs'), 'plot', ...dirs, '--out', dir, '--x', 'epoch,time', ...(steps.length ? ['--step', steps.join(',')] : [])];
    const p = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`experiments: partax plot failed for ${task.id} (exit ${p.status}):\n${p.stderr}${p.stdout}`);
    out[task.id] = p.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.endsWith('.svg'))
      .map((f) => relative(docs, f));
  }
  return out;
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { plan, docs } = args;
  mkdirSync(plan.out, { recursive: true });
  for (const t of plan.tasks) if (t.unavailable) process.stderr.write(`experiments: ${t.title}: skipped. ${t.unavailable}\n`);
  const load0 = loadavg()[0]!;
  const t0 = performance.now();
  const progress = progressDisplay();
  const study = await runStudy(plan, progress);
  progress.stop();
  const figures = args.plots ? plots(study, plan, docs) : {};
  const command = ['npm run experiments --', ...process.argv.slice(2)].join(' ').replace(/ --$/, '');
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, load average ${load0.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end (a shared machine)`;
  const minutes = study.runs.reduce((a, r) => a + r.wallSeconds, 0) / 60;
  mkdirSync(docs, { recursive: true });
  writeFileSync(join(docs, 'experiments.md'), reportMarkdown(plan, study, { command, machine, minutes, elapsed: (performance.now() - t0) / 60000, plots: figures }));
  writeFileSync(join(docs, 'experiments.json'), `${JSON.stringify(reportJson(plan, study, { command, machine, generated: new Date().toISOString() }), null, 1)}\n`);
  process.stderr.write(`experiments: ${study.runs.length} runs (${study.reused} done earlier); chose ${study.chosen}; wrote ${join(docs, 'experiments.md')} and experiments.json\n`);
  return 0;
}

process.exitCode = await main();
