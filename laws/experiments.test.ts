import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BASELINE_NAMES, BASELINES, LADDER, mergeArgs, SETTINGS, tasks } from '../experiments/plan.js';
import { isDone } from '../experiments/runs.js';
import { equalTimeEpochs, runSpec, type StudyPlan } from '../experiments/study.js';
import { resolveConfig } from '../src/cli/train/config.js';
import { flagOf, parseFlags } from '../src/cli/train/flags.js';

/**
 * `npm run experiments` end to end on a tiny configuration (two tasks, one tuning and one held out,
 * a few hundred examples, two NewtonSummary settings, one baseline, one seed): the choices it
 * reports are recomputed here from the run directories' own metrics.jsonl (the baseline's rate
 * with the lowest final train loss on seed 0, the setting with the lowest train loss on the tuning
 * task, the seconds per epoch), a second invocation trains nothing and a run whose directory lost
 * its completion note is the only one trained again.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TMP = mkdtempSync(join(tmpdir(), 'partax-experiments-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const OUT = join(TMP, 'runs');
const DOCS = join(TMP, 'docs');
const ARGS = ['--quick', '--tasks', 'mnist-mlp,teacher', '--settings', 'neg-abs', '--baselines', 'momentum', '--train-size', '150', '--epochs', '2', '--out', OUT, '--docs', DOCS];

function experiments(args: readonly string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'experiments', 'run.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The lines of a run's metrics.jsonl. */
const metrics = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown> & { type: string });
const finalTrainLoss = (dir: string) => {
  const epochs = metrics(dir).filter((l) => l.type === 'epoch');
  return epochs[epochs.length - 1]!['trainLoss'] as number;
};

test('mergeArgs: a later flag replaces the same flag (valued or boolean, --no- included), the rest keep their order', () => {
  assert.deepEqual(mergeArgs(['--train-size', '300', '--epochs', '1', '--remove-negative'], ['--train-size', '100', '--no-remove-negative']), ['--epochs', '1', '--train-size', '100', '--no-remove-negative']);
  assert.deepEqual(mergeArgs(['--lr', '0.1'], []), ['--lr', '0.1']);
});

test('every run of the full and the quick plan is a valid partax train command line: each setting’s flags take effect, and nothing else differs from the defaults’ run', () => {
  for (const quick of [false, true]) {
    const plan: StudyPlan = { tasks: tasks(), settings: SETTINGS, baselines: BASELINE_NAMES, seeds: [0, 4], quick, out: '/nowhere', extraArgs: [], epochs: null };
    for (const task of plan.tasks) {
      const resolve = (args: readonly string[]) => resolveConfig(parseFlags(args).options, `${task.id}: partax train ${args.join(' ')}`, flagOf);
      const base = resolve(runSpec(plan, task, 'newton-summary', SETTINGS[0]!, null, 0).args);
      for (const setting of SETTINGS) {
        const c = resolve(runSpec(plan, task, 'newton-summary', setting, null, 4).args);
        assert.equal(c.seed, 4);
        // the options that differ from the defaults' run are among those the setting's flags name, and
        // each of those holds the setting's value (none is overridden by the task or by --quick)
        const named = parseFlags(setting.args).options as Record<string, unknown>;
        const differ = Object.keys(c).filter((k) => k !== 'seed' && JSON.stringify((c as Record<string, unknown>)[k]) !== JSON.stringify((base as Record<string, unknown>)[k]));
        for (const k of differ) assert.ok(k in named, `${task.id} ${setting.id}: ${k} differs from the defaults but the setting does not name it`);
        for (const [k, v] of Object.entries(named)) assert.deepEqual((c as Record<string, unknown>)[k], v, `${task.id} ${setting.id}: ${k}`);
      }
      for (const b of plan.baselines)
        for (const lr of [...BASELINES[b].grid, ...LADDER]) assert.equal(resolve(runSpec(plan, task, b, null, lr, 0).args).optimizer, b);
    }
  }
});

test('npm run experiments on a tiny configuration: the report’s choices and timings are the run directories’ own; a second invocation trains nothing; an interrupted run is trained again', () => {
  const first = experiments(ARGS);
  assert.equal(first.status, 0, first.stderr);
  const md = readFileSync(join(DOCS, 'experiments.md'), 'utf8');
  const json = JSON.parse(readFileSync(join(DOCS, 'experiments.json'), 'utf8')) as {
    quick: boolean;
    chosen: string;
    tuned: Record<string, Record<string, { lr: number }>>;
    runs: { task: string; optimizer: string; setting: string | null; lr: number | null; seed: number; trainLoss: number; epochSeconds: number; hgShare: number; status: string }[];
  };
  assert.match(md, /^# The NewtonSummary study — QUICK MODE/);
  assert.equal(json.quick, true);

  const dirOf = (r: { task: string; optimizer: string; setting: string | null; lr: number | null; seed: number }) =>
    join(OUT, r.task, `${r.setting ? `ns-${r.setting}` : `${r.optimizer}-lr${r.lr}`}-s${r.seed}`);
  // the runs: on the tuning task both settings and the two rates of the baseline's quick grid (no extension);
  // on the held-out task the defaults, the chosen setting if another, and the grid again
  const mnist = json.runs.filter((r) => r.task === 'mnist-mlp' && (r as { epochsAsked?: number }).epochsAsked === 2);
  assert.deepEqual(mnist.filter((r) => r.optimizer === 'newton-summary').map((r) => r.setting).sort(), ['default', 'neg-abs']);
  assert.deepEqual(mnist.filter((r) => r.optimizer === 'momentum').map((r) => r.lr).sort((a, b) => a! - b!), [0.03, 0.1]);
  const teacherNs = json.runs.filter((r) => r.task === 'teacher' && r.optimizer === 'newton-summary').map((r) => r.setting).sort();
  assert.deepEqual(teacherNs, [...new Set(['default', json.chosen])].sort());

  // the chosen setting: the lower final train loss on the one tuning task, read from metrics.jsonl
  const ns = (setting: string) => finalTrainLoss(join(OUT, 'mnist-mlp', `ns-${setting}-s0`));
  assert.equal(json.chosen, ns('neg-abs') < ns('default') ? 'neg-abs' : 'default');
  assert.match(md, new RegExp(`Chosen: \\*\\*${json.chosen}\\*\\*`));
  // each task's baseline rate: the lowest final train loss of seed 0 over its grid
  for (const task of ['mnist-mlp', 'teacher']) {
    const best = [0.03, 0.1].reduce((a, b) => (finalTrainLoss(join(OUT, task, `momentum-lr${b}-s0`)) < finalTrainLoss(join(OUT, task, `momentum-lr${a}-s0`)) ? b : a));
    assert.equal(json.tuned[task]!['momentum']!.lr, best, `${task}: the tuned rate`);
  }
  // seconds per epoch: the median of the epoch lines' time differences (two epochs: their mean);
  // the hg share is a share, positive for NewtonSummary and 0 for the baseline
  for (const r of json.runs.filter((r) => (r as { epochsAsked?: number }).epochsAsked === 2)) {
    const t = metrics(dirOf(r))
      .filter((l) => l.type === 'epoch')
      .map((l) => l['time'] as number);
    assert.ok(Math.abs(r.epochSeconds - (t[0]! + (t[1]! - t[0]!)) / 2) < 1e-9, `${dirOf(r)}: s/epoch ${r.epochSeconds}, epoch lines at ${t}`);
    assert.equal(r.trainLoss, finalTrainLoss(dirOf(r)));
    assert.ok(!existsSync(join(dirOf(r), 'checkpoint.json')), `${dirOf(r)}: a finished run keeps no checkpoint`);
    if (r.optimizer === 'newton-summary') assert.ok(r.hgShare > 0 && r.hgShare < 1, `hg share ${r.hgShare}`);
    else assert.equal(r.hgShare, 0);
  }
  // equal wall time: the budget is NewtonSummary's training time (one seed: the longer of its two
  // settings' last epoch times), the baseline ran again for the epochs that fill it when it trains
  // faster, and each verdict at that budget is the comparison of the test losses read from metrics.jsonl
  const epochLines = (dir: string) => metrics(dir).filter((l) => l.type === 'epoch') as unknown as { time: number; testLoss: number }[];
  const lastTime = (dir: string) => epochLines(dir).at(-1)!.time;
  const byBudget = (dir: string, budget: number) => epochLines(dir).filter((e) => e.time <= budget).at(-1)?.testLoss ?? null;
  const et = (json as unknown as { equalTime: Record<string, { budget: number; baselines: Record<string, { epochs: number; extended: boolean }> }> }).equalTime;
  for (const task of ['mnist-mlp', 'teacher']) {
    const budget = Math.max(...[...new Set(['default', json.chosen])].map((s) => lastTime(join(OUT, task, `ns-${s}-s0`))));
    assert.ok(Math.abs(et[task]!.budget - budget) < 1e-12, `${task}: budget ${et[task]!.budget} against ${budget}`);
    const lr = json.tuned[task]!['momentum']!.lr;
    const own = join(OUT, task, `momentum-lr${lr}-s0`);
    const times = epochLines(own).map((e) => e.time);
    const want = lastTime(own) >= budget ? 2 : equalTimeEpochs(budget, (times[0]! + times[1]! - times[0]!) / 2, 2);
    assert.equal(et[task]!.baselines['momentum']!.epochs, want, `${task}: the equal-time epochs`);
    assert.equal(et[task]!.baselines['momentum']!.extended, want !== 2);
    const ext = want === 2 ? own : join(OUT, task, `momentum-lr${lr}-e${want}-s0`);
    assert.equal(epochLines(ext).length, want, `${ext}: its epochs`);
    if (task === 'teacher') {
      const row = (json as unknown as { successCriteria: { rows: { task: string; criterion: string; met: boolean }[] } }).successCriteria.rows.find((r) => r.criterion.includes('NewtonSummary’s time'))!;
      const nsLoss = byBudget(join(OUT, task, `ns-${json.chosen}-s0`), budget);
      const bLoss = byBudget(ext, budget);
      assert.equal(row.met, nsLoss !== null && (bLoss === null || nsLoss < bLoss), `teacher: equal-time verdict (NewtonSummary ${nsLoss}, momentum ${bLoss})`);
    }
  }
  assert.match(md, /## Against the success criteria/);

  // the plots, linked from the report
  for (const f of ['curves-epoch.svg', 'curves-time.svg']) {
    assert.ok(existsSync(join(DOCS, 'plots', 'mnist-mlp', f)), f);
    assert.ok(md.includes(`(plots/mnist-mlp/${f})`), `the report links ${f}`);
  }

  // resumable: nothing is trained again …
  const stamp = statSync(join(OUT, 'teacher', 'ns-default-s0', 'metrics.jsonl')).mtimeMs;
  const second = experiments([...ARGS, '--no-plots']);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stderr, new RegExp(`experiments: ${json.runs.length} runs \\(${json.runs.length} done earlier\\)`));
  assert.equal(statSync(join(OUT, 'teacher', 'ns-default-s0', 'metrics.jsonl')).mtimeMs, stamp);
  assert.deepEqual((JSON.parse(readFileSync(join(DOCS, 'experiments.json'), 'utf8')) as typeof json).runs, json.runs);
  // … except a run that did not finish (no completion note): the baseline's rate not chosen on the
  // held-out task, whose retraining changes no choice and no budget (a NewtonSummary run's would
  // move the equal-time budget, and with it the epochs of the equal-time runs)
  const untuned = [0.03, 0.1].find((lr) => lr !== json.tuned['teacher']!['momentum']!.lr)!;
  rmSync(join(OUT, 'teacher', `momentum-lr${untuned}-s0`, 'experiment.json'));
  const third = experiments([...ARGS, '--no-plots']);
  assert.equal(third.status, 0, third.stderr);
  assert.match(third.stderr, new RegExp(`experiments: ${json.runs.length} runs \\(${json.runs.length - 1} done earlier\\)`));
  assert.match(third.stderr, new RegExp(`teacher momentum lr ${untuned} seed 0: train loss [\\d.]+ \\(\\d`));
});

test('a finished run is recognised by the configuration it resolves to: reordered flags are the same run; a changed value, or the grid’s pinned center left to today’s defaults, is another', () => {
  // a real finished run of the e2e test above (its directory has config.json and the completion note)
  const plan: StudyPlan = { tasks: tasks().filter((t) => t.id === 'teacher'), settings: SETTINGS, baselines: ['momentum'], seeds: [0], quick: true, out: OUT, extraArgs: ['--train-size', '150'], epochs: 2 };
  const spec = runSpec(plan, plan.tasks[0]!, 'newton-summary', SETTINGS[0]!, null, 0);
  assert.ok(existsSync(join(spec.dir, 'experiment.json')), 'the e2e test ran first');
  assert.equal(isDone(spec), true);
  const pairs = (a: readonly string[]) => parseFlagPairs(a);
  assert.equal(isDone({ ...spec, args: pairs(spec.args).reverse().flat() }), true, 'reordered');
  assert.equal(isDone({ ...spec, args: mergeArgs(spec.args, ['--damping', '0.7']) }), false, 'another λ₁');
  // the center pins the period the study ran with (10); today's default is another (the study moved it)
  const unpinned = pairs(spec.args).filter(([f]) => f !== '--period-hg').flat();
  assert.notEqual(resolveConfig(parseFlags(unpinned).options).periodHg, 10);
  assert.equal(isDone({ ...spec, args: unpinned }), false, 'the center not pinned');
});

/** A command line as its flags with their values ([--flag] or [--flag, value]). */
function parseFlagPairs(args: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < args.length; i++) out.push(args[i + 1] !== undefined && !args[i + 1]!.startsWith('--') ? [args[i]!, args[++i]!] : [args[i]!]);
  return out;
}

test('npm run experiments refuses bad options by name', () => {
  for (const [args, message] of [
    [['--tasks', 'mnist-mlp,nope'], /--tasks: unknown 'nope' \(expected some of mnist-mlp, fashion-mlp, mnist-ae, fashion-lenet, mnist-deep-ae, teacher\)/],
    [['--seeds', '0'], /--seeds expects an integer ≥ 1, got '0'/],
    [['--baselines', 'sgd'], /--baselines: unknown 'sgd'/],
    [['--fast'], /unknown argument '--fast'/],
  ] as const) {
    const r = experiments(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
