import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CaseFile, TrajectoryFile } from '../src/cases/codecs.js';
import { runCase } from '../src/cases/run-case.js';
import { runTrajectory } from '../src/cases/run-trajectory.js';
import { decodeOrThrow } from '../src/core/decode.js';

/**
 * Every reference case (computed by the paper's own code, grnewt) in test/fixtures/cases, checked
 * with the tolerances of shared/tools/check_cases.py.
 */

const DIR = 'test/fixtures/cases';
const TOL: Record<string, { rtol: number; atol_scale: number; atol_floor: number }> = {
  'partax-case/1:float64': { rtol: 1e-7, atol_scale: 1e-9, atol_floor: 1e-12 },
  'partax-case/1:float32': { rtol: 2e-3, atol_scale: 2e-4, atol_floor: 1e-6 },
  'partax-trajectory/1:float64': { rtol: 1e-6, atol_scale: 1e-8, atol_floor: 1e-12 },
  'partax-trajectory/1:float32': { rtol: 5e-3, atol_scale: 5e-4, atol_floor: 1e-6 },
};

const flat = (v: unknown): number[] =>
  typeof v === 'number' ? [v] : Array.isArray(v) ? v.flatMap(flat) : v && typeof v === 'object' && 'data' in v ? flat((v as { data: unknown }).data) : [NaN];

function compare(field: string, actual: unknown, expected: unknown, tol: { rtol: number; atol_scale: number; atol_floor: number }): void {
  const a = flat(actual);
  const e = flat(expected);
  assert.equal(a.length, e.length, `${field}: length ${a.length} != ${e.length}`);
  const atol = Math.max(tol.atol_scale * Math.max(0, ...e.map(Math.abs)), tol.atol_floor);
  e.forEach((y, i) => {
    const x = a[i]!;
    assert.ok(Number.isFinite(x) && Math.abs(x - y) <= tol.rtol * Math.abs(y) + atol, `${field}[${i}]: got ${x}, want ${y}`);
  });
}

const files = readdirSync(DIR, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.json'))
  .sort();

test('the fixtures hold the public reference cases', () => assert.ok(files.length >= 7, `found ${files.length} case files under ${DIR}`));

for (const f of files) {
  const raw = JSON.parse(readFileSync(join(DIR, f), 'utf8'));
  const tol = { ...TOL[`${raw.format}:${raw.dtype ?? 'float64'}`]!, ...(raw.tolerance ?? {}) };
  test(`reference case ${f}`, async () => {
    if (raw.format === 'partax-case/1') {
      const out = await runCase(decodeOrThrow(CaseFile, raw, f));
      for (const k of ['loss', 'g', 'H', 'order3', 'D3'] as const) compare(k, out[k], raw.expected[k], tol);
      for (const ent of raw.expected.nesterov ?? []) {
        const got = (out.nesterov as { damping_int: number; lrs: number[] | null; found: boolean; r: number | null }[]).find((n) => n.damping_int === ent.damping_int);
        assert.ok(got, `nesterov entry for λ = ${ent.damping_int}`);
        assert.equal(got.found, ent.found, `nesterov[${ent.damping_int}].found`);
        if (ent.found) {
          compare(`nesterov[${ent.damping_int}].lrs`, got.lrs, ent.lrs, tol);
          compare(`nesterov[${ent.damping_int}].r`, got.r, ent.r, tol);
        }
      }
    } else {
      const out = await runTrajectory(decodeOrThrow(TrajectoryFile, raw, f));
      compare('loss', out.loss, raw.expected.loss, tol);
      compare('lrs', out.lrs, raw.expected.lrs, tol);
      for (const [n, v] of Object.entries(raw.expected.params)) compare(`params.${n}`, out.params[n], v, tol);
      for (const h of raw.expected.hg) {
        const got = out.hg.find((x) => x.step === h.step);
        assert.ok(got, `hg step ${h.step}`);
        for (const k of ['g', 'H', 'order3', 'lrs_raw'] as const) compare(`hg[${h.step}].${k}`, got[k], h[k], tol);
      }
    }
  });
}

test('malformed case files are rejected with the path of every bad field', async () => {
  const raw = JSON.parse(readFileSync(join(DIR, 'public/p02_mlp6-5-3_tanh_mse_canonical.json'), 'utf8'));
  const bad = structuredClone(raw);
  bad.model.activation = 'swish';
  bad.loss = 7;
  delete bad.inputs.x;
  assert.throws(
    () => decodeOrThrow(CaseFile, bad, 'case'),
    (e: Error) => /model.*activation/.test(e.message) && /loss/.test(e.message) && /inputs\.x/.test(e.message),
  );
  const short = structuredClone(raw);
  short.params['layers.0.weight'].data.pop();
  await assert.rejects(async () => runCase(decodeOrThrow(CaseFile, short, 'case')), /params\.layers\.0\.weight\.data: expected 30 numbers for shape \[5,6\], got 29/);
  const wrongShape = structuredClone(raw);
  wrongShape.direction['layers.1.bias'] = { shape: [4], data: [0, 0, 0, 0] };
  await assert.rejects(async () => runCase(decodeOrThrow(CaseFile, wrongShape, 'case')), /direction\.layers\.1\.bias: shape \[4\] does not fit the model \(expected \[3\]\)/);
  const unknownPart = structuredClone(raw);
  unknownPart.partition[0] = ['layers.9.weight'];
  await assert.rejects(async () => runCase(decodeOrThrow(CaseFile, unknownPart, 'case')), /unknown parameter 'layers\.9\.weight'/);
  // nll labels must be classes of the model's output: a label of 3 for 3 outputs would read another row
  const nll = JSON.parse(readFileSync(join(DIR, 'public/p03_mlp8-6-4-3_tanh_nll_canonical.json'), 'utf8'));
  for (const label of [3, -1, 1.5]) {
    const badLabel = structuredClone(nll);
    badLabel.inputs.y.data[1] = label;
    await assert.rejects(async () => runCase(decodeOrThrow(CaseFile, badLabel, 'case')), new RegExp(`inputs\\.y\\.data\\[1\\]: label ${label} is not a class of the mlp model's 3 outputs`));
  }
});

test('the partax command prints the case result as JSON and names bad files', () => {
  const out = execFileSync(process.execPath, ['bin/partax.mjs', 'case', join(DIR, 'public/p05_mlp5-4-3_sigmoid_mse_trivial.json')], { encoding: 'utf8' });
  const raw = JSON.parse(readFileSync(join(DIR, 'public/p05_mlp5-4-3_sigmoid_mse_trivial.json'), 'utf8'));
  compare('loss', JSON.parse(out).loss, raw.expected.loss, TOL['partax-case/1:float64']!);
  const dir = mkdtempSync(join(tmpdir(), 'partax-'));
  writeFileSync(join(dir, 'broken.json'), '{"format": "partax-case/1", ');
  const r = spawnSync(process.execPath, ['bin/partax.mjs', 'case', join(dir, 'broken.json')], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /broken\.json' is not valid JSON/);
  const m = spawnSync(process.execPath, ['bin/partax.mjs', 'case', join(dir, 'missing.json')], { encoding: 'utf8' });
  assert.match(m.stderr, /cannot read .*missing\.json.*ENOENT/);
  const u = spawnSync(process.execPath, ['bin/partax.mjs', 'frobnicate'], { encoding: 'utf8' });
  assert.equal(u.status, 2);
  assert.match(u.stderr, /unknown command 'frobnicate'/);
});
