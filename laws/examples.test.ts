import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

/**
 * Every example runs, at a small size, as a subprocess exactly as a user would run it
 * (`node --import tsx examples/X.ts …`), and its printed checks are within bounds: examples never rot.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function runExample(file: string, args: readonly string[] = []): string {
  return execFileSync(process.execPath, ['--import', 'tsx', join('examples', file), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

/** The number printed after `label` (e.g. "max |H − Hᵀ| = 1.2e-16"). */
function printed(out: string, label: string): number {
  const i = out.indexOf(label);
  assert.ok(i >= 0, `output lacks "${label}":\n${out}`);
  const m = /[-+]?\d+(\.\d+)?(e[-+]?\d+)?/i.exec(out.slice(i + label.length));
  assert.ok(m, `no number after "${label}"`);
  return Number(m![0]);
}

test('examples/grad-basics.ts: third-order derivatives agree with finite differences; forward = reverse', () => {
  const out = runExample('grad-basics.ts', ['--points', '3']);
  const rows = out.split('\n').filter((l) => /^\s+-?\d+\.\d{8}(\s+-?\d+\.\d{8}){7}\s*$/.test(l));
  assert.equal(rows.length, 3, `expected 3 table rows:\n${out}`);
  // at x = 0: f = 0, f' = 1, f'' = 1, f''' = 3/4 (closed form of sin(x)e^{x/2} + x³/6)
  const zero = rows.map((r) => r.trim().split(/\s+/).map(Number)).find((r) => r[0] === 0);
  assert.ok(zero, 'a row at x = 0');
  assert.deepEqual([zero![1], zero![2], zero![4], zero![6]], [0, 1, 1, 0.75]);
  assert.ok(printed(out, 'max relative error AD vs FD:') < 1e-7);
  assert.ok(printed(out, "max |f''' forward (jvp³) − f''' reverse (grad³)|:") < 1e-12);
});

test('examples/hessian-of-mlp.ts: the Hessian is symmetric, matches finite differences and hvp', () => {
  const out = runExample('hessian-of-mlp.ts', ['--hidden', '2', '--examples', '3']);
  assert.match(out, /P = 9 parameters/);
  const matrixRows = out.split('\n').filter((l) => /^(\s+-?\d+\.\d{4}){9}\s*$/.test(l));
  assert.equal(matrixRows.length, 9, `expected a 9×9 matrix:\n${out}`);
  assert.equal(Number(matrixRows[8]!.trim().split(/\s+/)[8]), 2, '∂²L/∂b2² = 2 for a mean squared error');
  assert.ok(printed(out, 'max |H − Hᵀ| =') < 1e-12);
  assert.ok(printed(out, 'max error vs finite differences of the gradient =') < 1e-7);
  assert.ok(printed(out, 'max |hvp(loss, θ, v) − H·v| =') < 1e-12);
});

test('examples/summary-of-mlp.ts: the summary of an MLP on real MNIST agrees with hvp and jvp; H̄ printed as a text heat map and an SVG', () => {
  const dir = mkdtempSync(join(tmpdir(), 'partax-example-'));
  try {
    const svg = join(dir, 'hbar.svg');
    const out = runExample('summary-of-mlp.ts', ['--batch', '100', '--hidden', '16,8', '--svg', svg]);
    assert.match(out, /MLP 784-16-8-10 .* on 100 real MNIST digits: P = 12786 parameters, S = 6 groups/);
    // the numeric H̄ (6 rows of 6) and the text heat map (6 rows of 6 cells: sign and shade)
    const num = /-?\d\.\d{3}e[-+]\d+/.source;
    const matrix = out.split('\n').filter((l) => new RegExp(`^(\\s+${num}){6}\\s*$`).test(l)).map((l) => l.trim().split(/\s+/).map(Number));
    assert.equal(matrix.length, 6, `expected a 6×6 H̄:\n${out}`);
    const shades = out.split('\n').filter((l) => /^\s*layers\.\d\.(weight|bias)  ([+−][█▓▒░·]{2} ?){6}$/.test(l));
    assert.equal(shades.length, 6, `expected a 6-row text heat map:\n${out}`);
    const maxAbs = Math.max(...matrix.flat().map(Math.abs));
    shades.forEach((line, i) => {
      const cells = line.trim().split(/\s+/).slice(1);
      cells.forEach((cell, j) => {
        const v = matrix[i]![j]!;
        const d = Math.log10(maxAbs / Math.abs(v));
        const expected = d < 1 ? '█' : d < 2 ? '▓' : d < 3 ? '▒' : d < 4 ? '░' : '·';
        // a value within rounding of a decade boundary may print either shade
        const near = Math.abs(d - Math.round(d)) < 0.01;
        assert.ok(cell[0] === (v > 0 ? '+' : '−') && (cell[1] === expected || near), `cell (${i}, ${j}) = ${v}: printed ${cell}, expected ${expected}`);
      });
    });
    assert.ok(printed(out, 'max |H̄ − H̄ᵀ| / max |H̄| =') < 1e-5);
    assert.ok(printed(out, 'max |ḡ − I·U·∇L| / max |ḡ| =') < 1e-4);
    assert.ok(printed(out, 'max |H̄ − I·U·hvp(L, θ, U·I·eⱼ)| / max |H̄| =') < 1e-4);
    assert.ok(printed(out, 'max |order3 − jvp(uᵢᵀ·hvp(L, ·, uᵢ))| / max |order3| =') < 1e-3);
    assert.ok(existsSync(svg), 'the SVG heat map is written');
    const text = readFileSync(svg, 'utf8');
    assert.match(text, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal(text.match(/aria-roledescription="rect mark"/g)?.length, 36, '6×6 cells');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('examples/paper-experiments.ts --quick: the results table has a row per task and optimizer, the lr table a row per group, and both agree with the runs’ metrics.jsonl', async () => {
  const { FASHION_MNIST_DIR } = await import('../src/data/fashion-mnist.js');
  const { readdirSync } = await import('node:fs');
  const fashion = ['train-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte.gz'].every((f) => existsSync(join(FASHION_MNIST_DIR, f)));
  const dir = mkdtempSync(join(tmpdir(), 'partax-paper-'));
  try {
    const jsonPath = join(dir, 'raw.json');
    const runsDir = join(dir, 'runs');
    // its own timeout: nine `partax train` subprocesses (~40 s on 2 busy cores)
    const out = execFileSync(process.execPath, ['--import', 'tsx', join('examples', 'paper-experiments.ts'), '--quick', '--json', jsonPath, '--out', runsDir], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 180_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = out.split('\n');
    const tableAfter = (header: string): string[][] => {
      const i = lines.indexOf(header);
      assert.ok(i >= 0, `no table with header ${header}:\n${out}`);
      assert.match(lines[i + 1]!, /^\|(---\|)+$/);
      const rows: string[][] = [];
      for (let k = i + 2; k < lines.length && lines[k]!.startsWith('|'); k++) rows.push(lines[k]!.slice(1, -1).split(' | ').map((c) => c.trim()));
      return rows;
    };
    const tasks = [
      { title: 'MLP 784-128-10 on MNIST', id: 'mnist-mlp', groups: 4, classification: true },
      ...(fashion ? [{ title: 'MLP 784-128-10 on Fashion-MNIST', id: 'fashion-mlp', groups: 4, classification: true }] : []),
      { title: 'MLP autoencoder 784-128-32-128-784 on MNIST', id: 'mnist-ae', groups: 8, classification: false },
    ];
    if (!fashion) assert.match(out, /Fashion-MNIST.*skipped.*apt-get install dataset-fashion-mnist/s);
    else assert.doesNotMatch(out, /skipped/);

    const raw = JSON.parse(readFileSync(jsonPath, 'utf8')) as {
      runs: { task: string; optimizer: string; status: string; trainLoss: number; testLoss: number; testAccuracy: number | null; lrs: { groups: string[]; lastEpochMean: number[] } | null }[];
    };
    assert.equal(raw.runs.length, 3 * tasks.length);
    assert.ok(raw.runs.every((r) => r.status === 'ok'), 'no quick run diverges');

    const results = tableAfter('| task | optimizer | learning rate | final train loss | test accuracy | test loss | train time / run |');
    assert.equal(results.length, 3 * tasks.length, `one row per task and optimizer:\n${out}`);
    results.forEach((row, i) => {
      const task = tasks[Math.floor(i / 3)]!;
      const optimizer = ['newton-summary', 'momentum', 'adam'][i % 3]!;
      assert.equal(row.length, 7);
      assert.ok(row[0]!.startsWith(`${task.title}, 1 epoch`), row[0]);
      assert.equal(row[1], ['NewtonSummary', 'SGD + momentum 0.9', 'Adam'][i % 3]);
      const run = raw.runs.find((r) => r.task === task.id && r.optimizer === optimizer)!;
      // the printed numbers are those of the run's last epoch line in its metrics.jsonl (4 significant digits)
      const runDir = readdirSync(runsDir).find((d) => d.startsWith(`${task.id}-${optimizer}-s0`));
      assert.ok(runDir, `a run directory for ${task.id} ${optimizer}`);
      const metrics = readFileSync(join(runsDir, runDir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      const last = metrics.filter((m) => m.type === 'epoch').at(-1);
      const near = (printedValue: string, x: number) => Math.abs(Number(printedValue) - x) <= 1e-3 * Math.abs(x);
      assert.ok(near(row[3]!, last.trainLoss), `train loss ${row[3]} vs ${last.trainLoss}`);
      assert.equal(run.trainLoss, last.trainLoss);
      assert.ok(near(row[5]!, last.testLoss), `test loss ${row[5]} vs ${last.testLoss}`);
      if (task.classification) assert.equal(row[4], `${(100 * last.testAccuracy).toFixed(2)}%`);
      else assert.equal(row[4], '—');
      assert.match(row[6]!, /^\d+\.\d s$/);
      if (optimizer === 'newton-summary') {
        // NewtonSummary's learning rates: the mean over the last epoch's steps, recomputed here
        const steps = metrics.filter((m) => m.type === 'step' && m.epoch === 0);
        const means = run.lrs!.lastEpochMean;
        assert.equal(means.length, task.groups);
        means.forEach((m, j) => assert.ok(Math.abs(m - steps.reduce((s: number, st: { lrs: number[] }) => s + st.lrs[j]!, 0) / steps.length) <= 1e-12 * Math.max(1, Math.abs(m))));
      } else assert.equal(run.lrs, null);
    });

    const lrRows = tableAfter('| task | group | learning rate (last epoch) | min – max in the last epoch |');
    assert.equal(lrRows.length, tasks.reduce((s, t) => s + t.groups, 0), `one row per NewtonSummary group:\n${out}`);
    let k = 0;
    for (const task of tasks) {
      const run = raw.runs.find((r) => r.task === task.id && r.optimizer === 'newton-summary')!;
      run.lrs!.groups.forEach((g, j) => {
        const row = lrRows[k++]!;
        assert.deepEqual(row.slice(0, 2), [task.title, g]);
        const printedLr = Number(row[2]);
        assert.ok(printedLr >= 0 && Math.abs(printedLr - run.lrs!.lastEpochMean[j]!) <= 5e-3 * Math.abs(run.lrs!.lastEpochMean[j]!), `${g}: ${row[2]}`);
      });
    }
    assert.match(out, /## What was tuned\n\nNewtonSummary: not tuned per task/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('examples/newton-summary-rosenbrock.ts: NewtonSummary reaches the minimum (1, 1) of Rosenbrock with no tuned rate, and beats gradient descent', () => {
  const out = runExample('newton-summary-rosenbrock.ts', ['100']);
  assert.ok(printed(out, 'distance to the minimum (1, 1):') < 1e-6, out);
  const ns = printed(out, 'NewtonSummary f =');
  const gd = printed(out, 'gradient descent (lr 1e-3) f =');
  assert.ok(ns < 1e-10 && gd > ns, out);
});

test('examples/custom-optimizer.ts: each optimizer built from parts lowers the loss', () => {
  const out = runExample('custom-optimizer.ts', ['60']);
  const rows = out.split('\n').filter((l) => l.includes(' → '));
  assert.equal(rows.length, 3, out);
  for (const r of rows) {
    const [before, after] = r.split('loss ')[1]!.split(' → ').map(Number);
    assert.ok(after! < before!, r);
  }
  assert.match(out, /NewtonSummary's rates for \[weights, biases\]: \[[-+\d.e]+, [-+\d.e]+\]/);
});
