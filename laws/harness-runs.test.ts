import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseLawRuns, parseLawSeed } from './harness/index.js';
import { ROOT } from './harness/cli.js';

/**
 * The case count and seed of every property law come from the environment through laws/harness
 * (PARTAX_LAW_RUNS, PARTAX_LAW_SEED): a failure's printed seed reproduces it, and a hunt for rare
 * failures raises every law's count at once. Checked in subprocesses, as the suite runs.
 */

/** Runs a snippet of TypeScript (importing the harness) with the given environment; returns its output. */
function runWith(code: string, env: Record<string, string>): { code: number; out: string } {
  const clean = { ...process.env };
  delete clean.PARTAX_LAW_RUNS;
  delete clean.PARTAX_LAW_SEED;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, env: { ...clean, ...env }, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

const COUNTING = `
import fc from 'fast-check';
import { runs, RUNS } from './laws/harness/index.js';
const count = (opts) => { let k = 0; fc.assert(fc.property(fc.integer(), () => void k++), opts); return k; };
console.log(JSON.stringify([count(undefined), count(RUNS), count(runs(10))]));
`;

test('PARTAX_LAW_RUNS: unset keeps each law’s count, Nx multiplies it, N sets it; given to fc.assert with or without options', () => {
  const counts = (env: Record<string, string>) => JSON.parse(runWith(COUNTING, env).out.trim()) as number[];
  assert.deepEqual(counts({}), [100, 100, 10]);
  assert.deepEqual(counts({ PARTAX_LAW_RUNS: '3x' }), [300, 300, 30]);
  assert.deepEqual(counts({ PARTAX_LAW_RUNS: 'x2' }), [200, 200, 20]);
  assert.deepEqual(counts({ PARTAX_LAW_RUNS: '7' }), [7, 7, 7]);
});

// Fails on roughly one draw in 40, so the failing run and its counterexample depend on the seed.
const FAILING = `
import fc from 'fast-check';
import './laws/harness/index.js';
fc.assert(fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), (a, b) => (a * 31 + b) % 40 !== 7));
`;

test('a failing law prints its seed, and PARTAX_LAW_SEED with that seed fails the same way on the same case', () => {
  const first = runWith(FAILING, { PARTAX_LAW_RUNS: '2000' });
  assert.notEqual(first.code, 0, 'the property fails within 2000 runs');
  const seed = /seed: (-?\d+)/.exec(first.out)?.[1];
  assert.ok(seed, `the failure names its seed:\n${first.out}`);
  const after = (out: string) => /Property failed after (\d+) tests/.exec(out)?.[1];
  const example = (out: string) => /Counterexample: (.*)/.exec(out)?.[1];
  assert.ok(after(first.out) && example(first.out), first.out);
  const again = runWith(FAILING, { PARTAX_LAW_RUNS: '2000', PARTAX_LAW_SEED: seed });
  assert.equal(after(again.out), after(first.out), 'fails after the same number of tests');
  assert.equal(example(again.out), example(first.out), 'with the same (shrunk) counterexample');
});

test('PARTAX_LAW_RUNS and PARTAX_LAW_SEED: anything but an integer is refused, naming the variable and the value', () => {
  assert.deepEqual(parseLawRuns(undefined), { factor: 1, count: undefined });
  assert.deepEqual(parseLawRuns('10x'), { factor: 10, count: undefined });
  assert.deepEqual(parseLawRuns('500'), { factor: 1, count: 500 });
  for (const bad of ['0', '-3', 'ten', '1.5x', '2xx'])
    assert.throws(() => parseLawRuns(bad), (e: Error) => e.message.includes('PARTAX_LAW_RUNS') && e.message.includes(bad));
  assert.equal(parseLawSeed(undefined), undefined);
  assert.equal(parseLawSeed('-1234567'), -1234567);
  for (const bad of ['abc', '1.5', '1e20'])
    assert.throws(() => parseLawSeed(bad), (e: Error) => e.message.includes('PARTAX_LAW_SEED') && e.message.includes(bad));
  const r = runWith(`import './laws/harness/index.js';`, { PARTAX_LAW_SEED: 'abc' });
  assert.notEqual(r.code, 0);
  assert.match(r.out, /PARTAX_LAW_SEED='abc'/);
});

/** Every .ts file under laws/ except the harness. */
function lawFiles(dir = join(ROOT, 'laws')): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'harness' ? [] : lawFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

test('every property law takes its count from the harness: no numRuns or seed written in a law file', () => {
  const files = lawFiles();
  const withAssert = files.filter((f) => readFileSync(f, 'utf8').includes('fc.assert('));
  assert.ok(withAssert.length >= 20, `found the law files (${withAssert.length})`);
  for (const f of withAssert) {
    const src = readFileSync(f, 'utf8');
    const rel = relative(ROOT, f);
    assert.ok(/from '\.{1,2}\/(\.\.\/)?harness\/index\.js'/.test(src), `${rel} imports laws/harness (which sets fast-check's global count and seed)`);
    assert.doesNotMatch(src, /\bnumRuns\s*:/, `${rel}: a case count is written as runs(n), so PARTAX_LAW_RUNS scales it`);
    assert.doesNotMatch(src, /\bseed\s*:\s*\d/, `${rel}: no pinned seed`);
  }
});
