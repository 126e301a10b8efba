import { BASELINES, type Baseline, CENTER, mergeArgs, type Setting, type Task } from './plan.js';
import { median, type RunResult } from './runs.js';
import { type StudyPlan, type StudyResult, taskEpochs } from './study.js';

/**
 * docs/experiments.md from a study's results: the set-up (tasks, grid, protocol), the tuning-set
 * table of every NewtonSummary setting with its ranks, the chosen setting, the baselines' tuning,
 * and per task the grid's center, the chosen setting and the tuned baselines at equal epochs and at
 * equal wall time, with the seconds per epoch and the share spent in hg steps; links to the plots.
 */

const fmt = (x: number) => (x === 0 ? '0' : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toPrecision(4) : x.toExponential(2));
const fmt2 = (x: number) => (x === 0 ? '0' : Math.abs(x) < 1e-3 || Math.abs(x) >= 1e4 ? x.toExponential(1) : Math.abs(x) >= 10 ? x.toFixed(0) : x.toPrecision(2));
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n − 1); 0 for one value. */
const std = (xs: readonly number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
/** "mean ± std" of the values, or "—"; with how many diverged. */
/** The finite values `pick` gives on the runs that did not diverge. */
const values = (rs: readonly RunResult[], pick: (r: RunResult) => number | null): number[] =>
  rs.filter((r) => r.status === 'ok').map(pick).filter((x): x is number => x !== null && Number.isFinite(x));

function cell(rs: readonly RunResult[], pick: (r: RunResult) => number | null, show: (x: number) => string = fmt): string {
  const xs = values(rs, pick);
  const div = rs.filter((r) => r.status !== 'ok').length;
  const body = !xs.length ? '—' : xs.length === 1 ? show(xs[0]!) : `${show(mean(xs))} ± ${fmt2(std(xs))}`;
  return div ? `${body} (${div}/${rs.length} diverged)` : body;
}
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
/** "mean ± std%" of an accuracy (the final one, or another `pick`). */
const pctCell = (rs: readonly RunResult[], pick: (r: RunResult) => number | null = (r) => r.testAccuracy) =>
  cell(rs, pick, (x) => pct(x)).replace(/^([\d.]+)% ± ([\d.e-]+)/, (_, m: string, s: string) => `${m} ± ${(100 * Number(s)).toPrecision(2)}%`);

/** A run's last epoch finished within `seconds` of training (undefined if none). */
const epochBy = (r: RunResult, seconds: number) => r.epochs.filter((e) => e.time <= seconds).at(-1);

/** The test loss a run had reached by `seconds` of training: its last epoch finished by then (null if none). */
export const testLossBy = (r: RunResult, seconds: number): number | null => epochBy(r, seconds)?.testLoss ?? null;

/** The test accuracy a run had reached by `seconds` of training (null if no epoch had finished or it has none). */
export const testAccuracyBy = (r: RunResult, seconds: number): number | null => epochBy(r, seconds)?.testAccuracy ?? null;

/** The contenders of one task at NewtonSummary's time: its settings as run, the baselines' equal-time runs. */
function equalTimeContenders(plan: StudyPlan, study: StudyResult, task: string): { name: string; runs: RunResult[]; epochs: string }[] {
  const et = study.equalTime[task];
  if (!et) return [];
  return contenders(plan, study, task).map((c) => {
    const b = plan.baselines.find((x) => BASELINES[x].title === c.name);
    const e = b ? et.baselines[b] : undefined;
    if (!e) return { name: c.name, runs: c.runs, epochs: String(c.runs[0]?.epochsAsked ?? '—') };
    return { name: c.name, runs: e.runs, epochs: e.extended ? `${e.epochs} (extended)` : String(e.epochs) };
  });
}

/** A contender's mean over its finished seeds of a number (NaN when none finished). */
const meanOf = (rs: readonly RunResult[], pick: (r: RunResult) => number | null): number => {
  const xs = values(rs, pick);
  return xs.length && xs.length === rs.length ? mean(xs) : NaN;
};

/**
 * Issue 14's criteria of success, for the chosen setting: within one point of the best tuned
 * baseline's test accuracy on every classification task and a lower test loss on both autoencoders,
 * at equal epochs; at NewtonSummary's time, a lower test loss than every baseline on at least one
 * held-out task. A contender with a diverged seed has no mean (NaN), and loses.
 */
export function successCriteria(plan: StudyPlan, study: StudyResult): { rows: { criterion: string; task: string; ns: string; best: string; met: boolean }[]; summary: string[] } {
  const rows: { criterion: string; task: string; ns: string; best: string; met: boolean }[] = [];
  const nsName = nsLabel(study.chosen, study.chosen);
  /**
   * One row: the chosen setting against the best baseline by `value` (a mean over seeds; higher is
   * better when `higher`), met when NewtonSummary is better, or within `slack` of it.
   */
  const compare = (criterion: string, title: string, cs: readonly { name: string; runs: RunResult[] }[], value: (r: RunResult) => number | null, higher: boolean, show: (x: number) => string, slack = 0) => {
    const ns = cs.find((c) => c.name === nsName);
    if (!ns) return;
    const sign = higher ? 1 : -1;
    const scored = cs.filter((c) => !c.name.startsWith('NewtonSummary')).map((c) => ({ c, v: meanOf(c.runs, value) }));
    const b = scored.filter((x) => Number.isFinite(x.v)).sort((x, y) => sign * (y.v - x.v))[0];
    const v = meanOf(ns.runs, value);
    const met = Number.isFinite(v) && (!b || sign * (v - b.v) > -slack);
    rows.push({ criterion, task: title, ns: Number.isFinite(v) ? show(v) : 'diverged', best: b ? `${show(b.v)} (${b.c.name})` : '—', met });
  };
  const tasks = plan.tasks.filter((t) => !t.unavailable);
  for (const t of tasks.filter((t) => t.kind === 'classification'))
    compare('test accuracy within 1 point, equal epochs', t.title, contenders(plan, study, t.id), (r) => r.testAccuracy, true, pct, 0.01 + 1e-12);
  for (const t of tasks.filter((t) => t.kind === 'reconstruction')) compare('lower test loss, equal epochs', t.title, contenders(plan, study, t.id), (r) => r.testLoss, false, fmt);
  for (const t of tasks.filter((t) => t.set === 'held-out' && study.equalTime[t.id])) {
    const budget = study.equalTime[t.id]!.budget;
    compare(`lower test loss at NewtonSummary’s time (${fmt(budget)} s)`, t.title, equalTimeContenders(plan, study, t.id), (r) => testLossBy(r, budget), false, fmt);
  }
  const verdict = (prefix: string, what: string, atLeastOne = false) => {
    const rs = rows.filter((r) => r.criterion.startsWith(prefix));
    const met = rs.filter((r) => r.met).length;
    if (!rs.length) return `${what}: not assessed (no such task ran).`;
    return `${what}: ${(atLeastOne ? met > 0 : met === rs.length) ? 'met' : 'not met'} (${met} of ${rs.length} tasks).`;
  };
  const summary = [
    verdict('test accuracy', 'Classification within one point at equal epochs'),
    verdict('lower test loss, equal', 'Ahead on the autoencoders at equal epochs'),
    verdict('lower test loss at', 'Ahead at equal wall time on at least one held-out task', true),
  ];
  return { rows, summary };
}

/** A NewtonSummary setting's name in the tables: the grid's center, or the setting, marked when chosen. */
const nsLabel = (setting: string, chosen: string): string =>
  `NewtonSummary, ${setting === 'default' ? 'grid center' : setting}${setting === chosen ? ' (chosen)' : ''}`;

/** The rows of one task: the grid's center, the chosen setting (if another), the tuned baselines. */
function contenders(plan: StudyPlan, study: StudyResult, task: string): { name: string; runs: RunResult[]; lr: string }[] {
  const ns = (id: string) => study.runs.filter((r) => r.task === task && r.setting === id);
  const out = [{ name: nsLabel('default', study.chosen), runs: ns('default'), lr: 'its own' }];
  if (study.chosen !== 'default') out.push({ name: nsLabel(study.chosen, study.chosen), runs: ns(study.chosen), lr: 'its own' });
  for (const b of plan.baselines) {
    const t = study.tuned[task]?.[b];
    if (!t) continue;
    // its runs at the task's epochs (not the equal-time runs, which have more)
    const epochs = taskEpochs(plan, plan.tasks.find((x) => x.id === task)!);
    out.push({ name: BASELINES[b].title, runs: study.runs.filter((r) => r.task === task && r.optimizer === b && r.lr === t.lr && r.epochsAsked === epochs), lr: `${t.lr} (tuned)` });
  }
  return out.filter((c) => c.runs.length);
}

/** The markdown of the study. `plots` maps a task to its plot files (relative to the document). */
export function reportMarkdown(plan: StudyPlan, study: StudyResult, meta: { command: string; machine: string; minutes: number; elapsed: number; plots: Record<string, string[]> }): string {
  const L: string[] = [];
  const say = (s = '') => L.push(s);
  const tasks = plan.tasks;
  say(plan.quick ? '# The NewtonSummary study — QUICK MODE (a smoke test: these numbers are not the study’s conclusions)' : '# The NewtonSummary study (issue 14)');
  say();
  if (plan.quick)
    say('> **Quick mode.** Reduced data (a few hundred training examples), one epoch or a few, one seed, four NewtonSummary settings, hg batches of 100, and two learning rates for each baseline. It checks that the whole pipeline runs; nothing here says which optimizer is better. The full study is `npm run experiments` (hours on 2 cores).');
  else say('NewtonSummary against tuned SGD with momentum, Adam and AdamW on six tasks, with one NewtonSummary setting chosen on the tuning set only.');
  say();
  say(`Generated by \`${meta.command}\` (${study.runs.length} runs of \`partax train\`, ${study.reused} read back from an earlier invocation; ${meta.minutes.toFixed(1)} minutes of subprocess time in all runs; this invocation took ${meta.elapsed.toFixed(1)} minutes, plots included). ${meta.machine}. Raw numbers: [experiments.json](experiments.json).`);
  say();
  say('## Set-up');
  say();
  say('| task | set | flags | NewtonSummary’s flags | epochs |');
  say('|---|---|---|---|---|');
  for (const t of tasks)
    say(
      `| ${t.title} | ${t.set} | \`${mergeArgs(t.args, plan.quick ? t.quickArgs : []).join(' ')}\` | ${t.nsArgs ? `\`${t.nsArgs.join(' ')}\` (a cost cap, overridden by a setting that sets it)` : ''} | ${t.unavailable ? `skipped: ${t.unavailable}` : (plan.epochs ?? (plan.quick ? t.quickEpochs : t.epochs))} |`,
    );
  say();
  say(`Seeds ${plan.seeds.join(', ')}; batches of 100. Final train loss: the mean training loss over the last epoch. Spread: sample standard deviation over the seeds. s / epoch: training seconds per epoch (test evaluation included), median over epochs and runs. hg share: the time of NewtonSummary's hg steps beyond a median ordinary step, over the whole training time (its first step, which also compiles, is an hg step, so short runs overstate it).`);
  say();
  say(`**The grid** (one factor at a time around its center, \`partax train\`’s defaults when the study was made, pinned by \`CENTER\` in experiments/plan.ts: \`${CENTER.join(' ')}\` — the momentum direction 0.9/0.9, the canonical partition, λ₁ 0.5, λ_int 10, rates every 10 steps averaged with 0.5, negative rates clipped; the task's hg batch; a full factorial grid would be thousands of runs):`);
  say();
  say('| setting | factor | flags |');
  say('|---|---|---|');
  for (const s of plan.settings) say(`| ${s.id} | ${s.factor} | ${s.args.length ? `\`${s.args.join(' ')}\`` : '(none)'} |`);
  say();
  say('**Protocol.** On the tuning set every setting runs on every seed; one setting is chosen for all tasks by the lowest mean rank of its final train loss (mean over seeds; a diverged run ranks last) across the tuning tasks, ties to the grid’s center (`default`). The baselines’ learning rate is tuned per task on seed 0’s final train loss' + (plan.quick ? ' (in quick mode two rates, no extension)' : ', extending the grid along the 1-3 ladder while the best rate is at an edge') + '. The held-out tasks run only the grid’s center and the chosen setting, after the choice. `partax train`’s defaults are then set to the chosen setting.');
  say();
  say('## Tuning set: every setting');
  say();
  const tuning = tasks.filter((t) => t.set === 'tuning' && !t.unavailable);
  if (!tuning.length) say('No tuning task ran, so nothing was chosen: the grid’s center stands.');
  else {
    say(`| setting | ${tuning.map((t) => `${t.id}: train loss (rank)`).join(' | ')} | mean rank | s / epoch | hg share |`);
    say(`|---|${tuning.map(() => '---|').join('')}---|---|---|`);
    for (const s of plan.settings) {
      const rs = study.runs.filter((r) => r.setting === s.id && tuning.some((t) => t.id === r.task));
      const cells = tuning.map((t) => `${cell(rs.filter((r) => r.task === t.id), (r) => r.trainLoss)} (${study.ranks[s.id]?.perTask[t.id] ?? '—'})`);
      const ok = rs.filter((r) => r.status === 'ok');
      const mark = s.id === study.chosen ? ' **(chosen)**' : '';
      say(`| ${s.id}${mark} | ${cells.join(' | ')} | ${fmt(study.ranks[s.id]?.mean ?? NaN)} | ${ok.length ? fmt(median(ok.map((r) => r.epochSeconds!))) : '—'} | ${ok.length ? pct(median(ok.map((r) => r.hgShare))) : '—'} |`);
    }
  }
  say();
  say(`Chosen: **${study.chosen}**${study.chosen === 'default' ? ' (the grid’s center)' : ''}.`);
  say();
  say('## Results at equal epochs');
  say();
  say('| task | optimizer | learning rate | final train loss | test accuracy | test loss | s / epoch | hg share |');
  say('|---|---|---|---|---|---|---|---|');
  for (const t of tasks.filter((t) => !t.unavailable)) {
    for (const c of contenders(plan, study, t.id)) {
      const ok = c.runs.filter((r) => r.status === 'ok');
      say(
        `| ${t.title} | ${c.name} | ${c.lr} | ${cell(c.runs, (r) => r.trainLoss)} | ${t.kind === 'classification' ? pctCell(c.runs) : '—'} | ${cell(c.runs, (r) => r.testLoss)} | ${ok.length ? fmt(median(ok.map((r) => r.epochSeconds!))) : '—'} | ${ok.length ? pct(median(ok.map((r) => r.hgShare))) : '—'} |`,
      );
    }
  }
  say();
  say('## Results at equal wall time');
  say();
  const B = (task: string) => study.equalTime[task]?.budget;
  say('**At NewtonSummary’s time.** Per task the budget B is NewtonSummary’s training time (the median over seeds, the longer of the grid center’s and the chosen setting’s); a tuned baseline that trains faster ran again on every seed at its tuned rate for as many epochs as fill B with a quarter to spare (the epochs column), so that each contender is read at its last epoch finished within B seconds of training (the test set is evaluated once an epoch).');
  say();
  say('| task | B (s) | optimizer | epochs | test loss by B | test accuracy by B |');
  say('|---|---|---|---|---|---|');
  for (const t of tasks.filter((t) => !t.unavailable && B(t.id) !== undefined)) {
    for (const c of equalTimeContenders(plan, study, t.id)) {
      const loss = cell(c.runs, (r) => testLossBy(r, B(t.id)!));
      const acc = t.kind === 'classification' ? pctCell(c.runs, (r) => testAccuracyBy(r, B(t.id)!)) : '—';
      say(`| ${t.title} | ${fmt(B(t.id)!)} | ${c.name} | ${c.epochs} | ${loss} | ${acc} |`);
    }
  }
  say();
  say('**At the fastest contender’s time.** Per task, T is the shortest total training time of the equal-epoch runs (median over seeds); each contender’s test loss is the one of its last epoch finished within T seconds of training (— when none was). The curves against seconds are in the plots.');
  say();
  say('| task | T (s) | test loss by T seconds of training |');
  say('|---|---|---|');
  for (const t of tasks.filter((t) => !t.unavailable)) {
    const cs = contenders(plan, study, t.id).filter((c) => c.runs.some((r) => r.status === 'ok'));
    if (!cs.length) continue;
    const T = Math.min(...cs.map((c) => median(c.runs.filter((r) => r.status === 'ok').map((r) => r.trainSeconds!))));
    const firstEpoch = (c: { runs: RunResult[] }) => median(c.runs.filter((r) => r.status === 'ok' && r.epochs.length).map((r) => r.epochs[0]!.time));
    const parts = cs.map((c) => {
      const v = cell(c.runs, (r) => testLossBy(r, T));
      return `${c.name}: ${v === '—' ? `— (its first epoch took ${fmt(firstEpoch(c))} s)` : v}`;
    });
    say(`| ${t.title} | ${fmt(T)} | ${parts.join('; ')} |`);
  }
  say();
  say('## Against the success criteria');
  say();
  const verdicts = successCriteria(plan, study);
  say(`NewtonSummary here is the setting chosen on the tuning set (**${study.chosen}**), without a learning rate; “best baseline” is the tuned baseline with the best mean over seeds. Computed from the tables above.`);
  say();
  say('| criterion | task | NewtonSummary | best baseline | met |');
  say('|---|---|---|---|---|');
  for (const v of verdicts.rows) say(`| ${v.criterion} | ${v.task} | ${v.ns} | ${v.best} | ${v.met ? 'yes' : '**no**'} |`);
  say();
  for (const line of verdicts.summary) say(`- ${line}`);
  say();
  say('## Baselines’ tuning (seed 0)');
  say();
  say('| task | optimizer | rates tried: final train loss | chosen |');
  say('|---|---|---|---|');
  for (const [task, bs] of Object.entries(study.tuned))
    for (const [b, t] of Object.entries(bs))
      say(`| ${task} | ${BASELINES[b as Baseline].title} | ${t.tried.map((r) => `${r.lr}: ${r.status === 'ok' ? fmt(r.trainLoss!) : 'diverged'}`).join(', ')} | ${t.lr}${t.notes.length ? ` (${t.notes.join('; ')})` : ''} |`);
  say();
  say('## Plots');
  say();
  say('Seed 0 of each contender, drawn by `partax plot --x epoch,time`: loss against epochs and against training seconds, the learning rates per group, and H̄ at a few hg steps of NewtonSummary.');
  say();
  for (const [task, files] of Object.entries(meta.plots)) say(`- ${task}: ${files.map((f) => `[${f.split('/').pop()}](${f})`).join(', ')}`);
  if (!Object.keys(meta.plots).length) say('(none drawn)');
  say();
  return `${L.join('\n')}\n`;
}

/** The JSON beside it: the plan and every run's numbers. */
export function reportJson(plan: StudyPlan, study: StudyResult, meta: { command: string; machine: string; generated: string }): unknown {
  return {
    generated: meta.generated,
    command: meta.command,
    machine: meta.machine,
    quick: plan.quick,
    seeds: plan.seeds,
    tasks: plan.tasks.map((t: Task) => ({ id: t.id, title: t.title, set: t.set, args: t.args, skipped: t.unavailable })),
    settings: plan.settings.map((s: Setting) => ({ id: s.id, factor: s.factor, args: s.args })),
    chosen: study.chosen,
    ranks: study.ranks,
    equalTime: Object.fromEntries(
      Object.entries(study.equalTime).map(([task, e]) => [task, { budget: e.budget, baselines: Object.fromEntries(Object.entries(e.baselines).map(([b, x]) => [b, { epochs: x.epochs, extended: x.extended, seeds: x.runs.map((r) => r.seed) }])) }]),
    ),
    successCriteria: successCriteria(plan, study),
    tuned: Object.fromEntries(Object.entries(study.tuned).map(([task, bs]) => [task, Object.fromEntries(Object.entries(bs).map(([b, t]) => [b, { lr: t.lr, tried: t.tried.map((r) => ({ lr: r.lr, trainLoss: r.trainLoss, status: r.status })), notes: t.notes }]))])),
    runs: study.runs.map(({ dir: _dir, ...r }) => r),
  };
}
