import { join } from 'node:path';
import { BASELINES, type Baseline, CENTER, LADDER, MAX_EXTEND, mergeArgs, type Setting, type Task } from './plan.js';
import { median, type RunResult, type RunSpec, runOnce } from './runs.js';

/**
 * The protocol of the study (issue 14, item 3), as a function of its plan:
 *
 * 1. On each tuning task: every NewtonSummary setting on every seed; each baseline's learning rate
 *    chosen on seed 0 (lowest final train loss; in full mode the grid is extended along the 1-3
 *    ladder while the best rate sits at an edge), then every seed at that rate.
 * 2. One NewtonSummary setting for all tasks: the lowest mean rank of final train loss (mean over
 *    seeds) across the tuning tasks, a diverged run ranking last; ties go to the defaults.
 * 3. On each held-out task, run once the setting is chosen: the defaults and the chosen setting,
 *    and the baselines tuned as in 1.
 * 4. Equal wall time: per task, the budget is NewtonSummary's training time (the longer median of
 *    the grid center's and the chosen setting's runs); a tuned baseline that trains in less runs again
 *    on every seed, at its tuned rate, for as many epochs as fill the budget (see
 *    {@link equalTimeEpochs}), so that each contender is read at its last epoch finished within it.
 */

/** The study's configuration. */
export interface StudyPlan {
  readonly tasks: readonly Task[];
  readonly settings: readonly Setting[];
  readonly baselines: readonly Baseline[];
  readonly seeds: readonly number[];
  readonly quick: boolean;
  /** Where run directories go. */
  readonly out: string;
  /** Extra flags for every run (`--quick`'s hg batch, overrides of epochs or data from the command line). */
  readonly extraArgs: readonly string[];
  /** Epochs per task, when overridden. */
  readonly epochs: number | null;
}

/** What a study found. */
/** Per task, the equal-time comparison: the budget and, per baseline, the runs read at it. */
export interface EqualTime {
  /** Seconds of training: NewtonSummary's median training time (the longer of its two settings). */
  readonly budget: number;
  /** Per baseline: the epochs its runs were given (its equal-epoch runs when they already fill the budget) and those runs. */
  readonly baselines: Record<string, { epochs: number; extended: boolean; runs: RunResult[] }>;
}

export interface StudyResult {
  readonly runs: RunResult[];
  /** Per task and baseline: the rate chosen, and the seed-0 runs it was chosen from. */
  readonly tuned: Record<string, Record<string, { lr: number; tried: RunResult[]; notes: string[] }>>;
  /** Per setting: its rank on each tuning task and the mean. */
  readonly ranks: Record<string, { perTask: Record<string, number>; mean: number }>;
  readonly chosen: string;
  /** Per task: the equal-time comparison (step 4). */
  readonly equalTime: Record<string, EqualTime>;
  readonly reused: number;
}

/** How a study reports its progress: the runs planned so far and each one as it finishes. */
export interface StudyProgress {
  planned(total: number): void;
  finished(result: RunResult, reused: boolean): void;
}

/** The epochs a task's runs get: the plan's override, else the task's (quick or full). */
export const taskEpochs = (plan: StudyPlan, task: Task): number => plan.epochs ?? (plan.quick ? task.quickEpochs : task.epochs);

/**
 * A run's spec: the task's flags (quick or full), the optimizer's and the run's. `epochs` other
 * than the task's (an equal-time run of a baseline) goes into the directory's name.
 */
export function runSpec(plan: StudyPlan, task: Task, optimizer: string, setting: Setting | null, lr: number | null, seed: number, epochs = taskEpochs(plan, task)): RunSpec {
  const more = epochs !== taskEpochs(plan, task);
  const base = [...mergeArgs(task.args, plan.quick ? task.quickArgs : []), '--epochs', String(taskEpochs(plan, task)), '--seed', String(seed), '--optimizer', optimizer];
  const own = optimizer === 'newton-summary' ? mergeArgs(mergeArgs(mergeArgs(CENTER, plan.quick ? ['--hg-batch-size', '100'] : []), task.nsArgs ?? []), setting!.args) : ['--lr', String(lr)];
  const args = mergeArgs(mergeArgs(mergeArgs(base, plan.extraArgs), own), more ? ['--epochs', String(epochs)] : []);
  const name = optimizer === 'newton-summary' ? `ns-${setting!.id}` : `${optimizer}-lr${lr}${more ? `-e${epochs}` : ''}`;
  return { task: task.id, optimizer, setting: setting?.id ?? null, lr, seed, epochsAsked: epochs, args, dir: join(plan.out, task.id, `${name}-s${seed}`) };
}

/** The most epochs an equal-time run of a baseline is given. */
export const MAX_EQUAL_TIME_EPOCHS = 200;

/**
 * The epochs that fill `budget` seconds of training at `epochSeconds` an epoch, with a quarter to
 * spare (an epoch's time varies from run to run): ⌈1.25·budget / epochSeconds⌉, at least
 * `epochs` (the equal-epoch runs') and at most {@link MAX_EQUAL_TIME_EPOCHS}.
 */
export function equalTimeEpochs(budget: number, epochSeconds: number, epochs: number): number {
  if (!(budget > 0) || !(epochSeconds > 0)) return epochs;
  return Math.min(MAX_EQUAL_TIME_EPOCHS, Math.max(epochs, Math.ceil((1.25 * budget) / epochSeconds)));
}

/** The better of two runs by final train loss (a diverged run loses); on a tie the first. */
const better = (a: RunResult, b: RunResult) => (b.status === 'ok' && (a.status !== 'ok' || b.trainLoss! < a.trainLoss!) ? b : a);

/** Runs the study. */
export async function runStudy(plan: StudyPlan, progress: StudyProgress): Promise<StudyResult> {
  const runs: RunResult[] = [];
  const seen = new Map<string, RunResult>();
  let reused = 0;
  let total = 0;
  const plan1 = (n: number) => progress.planned((total += n));
  const run = async (s: RunSpec): Promise<RunResult> => {
    const hit = seen.get(s.dir);
    if (hit) return hit;
    const { result, reused: r } = await runOnce(s);
    if (r) reused++;
    seen.set(s.dir, result);
    runs.push(result);
    progress.finished(result, r);
    return result;
  };
  const available = plan.tasks.filter((t) => t.unavailable === null);
  const tuned: StudyResult['tuned'] = {};
  // the runs planned: every setting on the tuning set, the defaults and one other on the held-out
  // set, each baseline's grid and its other seeds; revised when the choice is made and when a grid is extended
  const n = plan.seeds.length;
  const perBaselines = plan.baselines.reduce((a, b) => a + (plan.quick ? BASELINES[b].quickGrid : BASELINES[b].grid).length + n - 1, 0);
  const heldOutSettings = Math.min(2, plan.settings.length);
  plan1(available.reduce((a, t) => a + (t.set === 'tuning' ? plan.settings.length : heldOutSettings) * n + perBaselines, 0));

  /** The baselines on one task: tune on seed 0, then every seed. */
  async function baselines(task: Task): Promise<void> {
    tuned[task.id] = {};
    for (const b of plan.baselines) {
      const tried = new Map<number, RunResult>();
      const notes: string[] = [];
      const grid = plan.quick ? BASELINES[b].quickGrid : BASELINES[b].grid;
      for (const lr of grid) tried.set(lr, await run(runSpec(plan, task, b, null, lr, 0)));
      let best = [...tried.values()].reduce(better);
      for (let k = 0; !plan.quick && k < MAX_EXTEND; k++) {
        const lrs = [...tried.keys()].sort((x, y) => x - y);
        const i = LADDER.indexOf(best.lr!);
        const next = best.lr === lrs[lrs.length - 1] ? LADDER[i + 1] : best.lr === lrs[0] ? LADDER[i - 1] : undefined;
        if (next === undefined) break;
        notes.push(`the best of {${lrs.join(', ')}} was at the edge (${best.lr}), so ${next} was tried too`);
        plan1(1);
        tried.set(next, await run(runSpec(plan, task, b, null, next, 0)));
        best = [...tried.values()].reduce(better);
      }
      if (best.status !== 'ok') notes.push('every rate tried diverged');
      tuned[task.id]![b] = { lr: best.lr!, tried: [...tried.values()].sort((x, y) => x.lr! - y.lr!), notes };
      for (const seed of plan.seeds.slice(1)) await run(runSpec(plan, task, b, null, best.lr!, seed));
    }
  }

  // 1. the tuning set
  const tuning = available.filter((t) => t.set === 'tuning');
  for (const task of tuning) {
    for (const s of plan.settings) for (const seed of plan.seeds) await run(runSpec(plan, task, 'newton-summary', s, null, seed));
    await baselines(task);
  }

  // 2. one setting for all tasks, from the tuning set only
  const ranks: StudyResult['ranks'] = {};
  const meanLoss = (task: string, setting: string) => {
    const rs = runs.filter((r) => r.task === task && r.setting === setting);
    return rs.every((r) => r.status === 'ok') && rs.length ? rs.reduce((a, r) => a + r.trainLoss!, 0) / rs.length : Infinity;
  };
  for (const s of plan.settings) ranks[s.id] = { perTask: {}, mean: 0 };
  for (const task of tuning) {
    const order = [...plan.settings].sort((a, b) => meanLoss(task.id, a.id) - meanLoss(task.id, b.id));
    order.forEach((s, i) => (ranks[s.id]!.perTask[task.id] = i + 1));
  }
  for (const s of plan.settings) {
    const r = Object.values(ranks[s.id]!.perTask);
    ranks[s.id]!.mean = r.length ? r.reduce((a, b) => a + b, 0) / r.length : NaN;
  }
  const byRank = [...plan.settings].sort((a, b) => ranks[a.id]!.mean - ranks[b.id]!.mean || (a.id === 'default' ? -1 : b.id === 'default' ? 1 : 0));
  const chosen = tuning.length && byRank.length ? byRank[0]!.id : 'default';

  // 3. the held-out set, with the setting frozen
  const frozen = plan.settings.filter((s) => s.id === 'default' || s.id === chosen);
  plan1((frozen.length - heldOutSettings) * n * available.filter((t) => t.set === 'held-out').length);
  for (const task of available.filter((t) => t.set === 'held-out')) {
    for (const s of frozen) for (const seed of plan.seeds) await run(runSpec(plan, task, 'newton-summary', s, null, seed));
    await baselines(task);
  }

  // 4. equal wall time: the baselines that train faster than NewtonSummary run on to its time
  const equalTime: Record<string, EqualTime> = {};
  for (const task of available) {
    const nsTimes = frozen.map((s) => median(runs.filter((r) => r.task === task.id && r.setting === s.id && r.status === 'ok').map((r) => r.trainSeconds!)));
    const budget = Math.max(...nsTimes.filter((x) => Number.isFinite(x)));
    if (!Number.isFinite(budget)) continue;
    const perBaseline: EqualTime['baselines'] = {};
    for (const b of plan.baselines) {
      const lr = tuned[task.id]?.[b]?.lr;
      if (lr === undefined) continue;
      const own = plan.seeds.map((seed) => seen.get(runSpec(plan, task, b, null, lr, seed).dir)).filter((r): r is RunResult => r !== undefined);
      const ok = own.filter((r) => r.status === 'ok');
      const epochs = taskEpochs(plan, task);
      if (!ok.length || median(ok.map((r) => r.trainSeconds!)) >= budget) {
        perBaseline[b] = { epochs, extended: false, runs: own };
        continue;
      }
      const more = equalTimeEpochs(budget, median(ok.map((r) => r.epochSeconds!)), epochs);
      plan1(plan.seeds.length);
      const ext: RunResult[] = [];
      for (const seed of plan.seeds) ext.push(await run(runSpec(plan, task, b, null, lr, seed, more)));
      perBaseline[b] = { epochs: more, extended: true, runs: ext };
    }
    equalTime[task.id] = { budget, baselines: perBaseline };
  }
  return { runs, tuned, ranks, chosen, equalTime, reused };
}

