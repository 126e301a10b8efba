import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { partax, ROOT } from './harness/cli.js';

/**
 * The `partax` command line as a user meets it: --version, help for every command (through
 * `partax help CMD` and `CMD --help`), one `partax CMD:` prefix on every message, and the
 * backend: `--backend` for case and trajectory as for train, and `PARTAX_BACKEND` honoured by
 * every entry point — the commands and a library script importing `partax` (WebGPU started on
 * import) — or refused at once with a message that says what to do. The WebGPU parts run where
 * an adapter exists (Mesa's lavapipe on CI) and are skipped with the reason elsewhere; the
 * no-adapter messages are checked by hiding the Vulkan drivers (VK_ICD_FILENAMES).
 */

const tmp = mkdtempSync(join(tmpdir(), 'partax-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const CASES = join(ROOT, 'test', 'fixtures', 'cases', 'public');
const P03 = join(CASES, 'p03_mlp8-6-4-3_tanh_nll_canonical.json');
const T01 = join(CASES, 't01_mlp6-5-3_tanh_nll_newtonsummary.json');
const envWith = (vars: Record<string, string | undefined>): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete env[k];
  else env[k] = v;
  return env;
};
const noStack = (s: string) => assert.doesNotMatch(s, /\n\s+at .*:\d+:\d+\)?\n/, `a stack trace:\n${s}`);

test('partax --version prints the version of package.json', () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = partax([flag]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `partax ${version}\n`);
  }
});

test('help: `partax help CMD` is `partax CMD --help` for every command; case --help shows its usage (it used to read a file named --help)', () => {
  for (const cmd of ['train', 'plot', 'case', 'trajectory']) {
    const a = partax(['help', cmd]);
    const b = partax([cmd, '--help']);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(a.stdout, b.stdout, cmd);
    assert.match(a.stdout, new RegExp(`^usage: partax ${cmd}`), cmd);
  }
  assert.match(partax(['case', '--help']).stdout, /--backend NAME/);
  assert.match(partax(['help']).stdout, /PARTAX_BACKEND/);
  const bad = partax(['help', 'frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^partax help: expected one command name \(case, trajectory, train, plot\), got 'frobnicate'/);
});

test('messages carry one `partax CMD:` prefix; bad arguments exit 2, a missing file 1, each named', () => {
  const two = partax(['case', 'a.json', 'b.json']);
  assert.equal(two.code, 2);
  assert.match(two.stderr, /^partax case: expected one file argument, got 2\n/);
  const missing = partax(['trajectory', join(tmp, 'missing.json')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^partax trajectory: trajectory file: cannot read '.*missing\.json': ENOENT/);
  const flag = partax(['case', '--backend', 'tpu', P03]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /^partax case: --backend: expected one of cpu-wasm, cpu, webgpu, got "tpu"/);
  const env = partax(['case', P03], { env: envWith({ PARTAX_BACKEND: 'tpu' }) });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /^partax case: PARTAX_BACKEND: expected one of cpu-wasm, cpu, webgpu, got "tpu"/);
  const unknown = partax(['case', '--frob', P03]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^partax case: unknown option '--frob'/);
  for (const r of [two, missing, flag, env, unknown]) {
    assert.doesNotMatch(r.stderr, /partax (\w+): partax \1:/, 'a doubled prefix');
    noStack(r.stderr);
  }
});

test('case and trajectory take --backend: cpu gives the reference values as cpu-wasm does; webgpu refuses float64 files naming the way out', () => {
  const base = JSON.parse(partax(['case', P03]).stdout) as { loss: number; H: number[] };
  const cpu = partax(['case', '--backend', 'cpu', P03]);
  assert.equal(cpu.code, 0, cpu.stderr);
  const viaCpu = JSON.parse(cpu.stdout) as { loss: number; H: number[] };
  const expected = (JSON.parse(readFileSync(P03, 'utf8')) as { expected: { loss: number; H: number[] } }).expected;
  for (const got of [base, viaCpu]) {
    assert.ok(Math.abs(got.loss - expected.loss) <= 1e-10 * Math.abs(expected.loss));
    got.H.forEach((h, i) => assert.ok(Math.abs(h - expected.H[i]!) <= 1e-9 * (1 + Math.abs(expected.H[i]!)), `H[${i}]`));
  }
  for (const [cmd, file] of [['case', P03], ['trajectory', T01]] as const) {
    const gpu = partax([cmd, '--backend', 'webgpu', file]);
    assert.equal(gpu.code, 1);
    assert.match(gpu.stderr, new RegExp(`^partax ${cmd}: '.*' is a float64 ${cmd}, and the webgpu backend has no float64 .*run it with --backend cpu-wasm or --backend cpu`));
  }
});

// ---------------------------------------------------------------- WebGPU through --backend and PARTAX_BACKEND

/** A float32 copy of a case file (every value rounded to float32, as the format asks of float32 files). */
function float32Copy(file: string, name: string): string {
  const c = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
  c.dtype = 'float32';
  const round = (t: { data: number[] }) => (t.data = t.data.map(Math.fround));
  for (const k of ['params', 'direction']) if (c[k]) Object.values(c[k] as Record<string, { data: number[] }>).forEach(round);
  const batches = c.batches ?? [c.inputs];
  for (const b of batches) if (b.x) round(b.x);
  const out = join(tmp, name);
  writeFileSync(out, JSON.stringify(c));
  return out;
}

const LIBRARY_SCRIPT = "import('./src/index.ts').then(async (P) => { const y = P.matmul(P.ones([2, 2], 'float32'), P.ones([2, 2], 'float32')); console.log(P.defaultBackend(), y.backend, Array.from(await y.data()).join(',')); })";
const library = (env: NodeJS.ProcessEnv) => {
  try {
    return { code: 0, out: execFileSync(process.execPath, ['--import', 'tsx', '-e', LIBRARY_SCRIPT], { cwd: ROOT, env, encoding: 'utf8', stdio: 'pipe', timeout: 120_000 }), err: '' };
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    return { code: x.status, out: x.stdout, err: x.stderr };
  }
};

/** null when a WebGPU adapter exists here (an explicit initWebGPU() succeeds, as in laws/webgpu.laws.ts), else why not. */
function adapterMissing(): string | null {
  const script = "import('./src/backends/webgpu/index.ts').then(async (W) => { await W.initWebGPU(); W.shutdownWebGPU(); }).catch((e) => { console.error(e.message); process.exit(3); })";
  try {
    execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, env: envWith({ PARTAX_BACKEND: undefined }), encoding: 'utf8', stdio: 'pipe', timeout: 120_000 });
    return null;
  } catch (e) {
    return ((e as { stderr?: string }).stderr ?? String(e)).trim().split('\n').filter((l) => !l.startsWith('Warning')).pop() ?? 'initWebGPU failed';
  }
}
const noAdapter = adapterMissing();

test('a library script importing partax with PARTAX_BACKEND=webgpu runs on WebGPU with no initWebGPU() call, and exits', (t) => {
  if (noAdapter) return t.skip(`SKIPPED: no WebGPU adapter (${noAdapter})`);
  const gpu = library(envWith({ PARTAX_BACKEND: 'webgpu' }));
  assert.equal(gpu.code, 0, gpu.err);
  assert.equal(gpu.out.trim(), 'webgpu webgpu 2,2,2,2');
  assert.equal(library(envWith({ PARTAX_BACKEND: undefined })).out.trim(), 'cpu-wasm cpu-wasm 2,2,2,2');
});

test('PARTAX_BACKEND=webgpu and no adapter: the library import and the commands fail at once, saying how to run on the CPU', (t) => {
  const hidden = envWith({ PARTAX_BACKEND: 'webgpu', VK_ICD_FILENAMES: join(tmp, 'no-such-icd.json') });
  const lib = library(hidden);
  if (lib.code === 0) return t.skip('SKIPPED: hiding the Vulkan drivers (VK_ICD_FILENAMES) still leaves an adapter here');
  assert.match(lib.err, /WebGPUError: PARTAX_BACKEND=webgpu: .*to run on the CPU instead, unset PARTAX_BACKEND or set it to cpu-wasm/);
  const f32 = float32Copy(P03, 'p03-f32-nogpu.json');
  const c = partax(['case', f32], { env: hidden });
  assert.equal(c.code, 1);
  assert.match(c.stderr, /^partax case: --backend webgpu: .*run on the CPU with --backend cpu-wasm \(or unset PARTAX_BACKEND\)/m);
  const tr = partax(['train', '--dataset', 'spirals', '--samples', '200', '--hidden', '8', '--progress', 'none', '--out', join(tmp, 'nogpu')], { env: hidden });
  assert.equal(tr.code, 1);
  assert.match(tr.stderr, /partax train: --backend webgpu: .*run on the CPU with --backend cpu-wasm \(or unset PARTAX_BACKEND\)/);
  noStack(c.stderr + tr.stderr);
  // with the flag, the variable is overridden: the run goes to the CPU
  const cpu = partax(['train', '--backend', 'cpu-wasm', '--dataset', 'spirals', '--samples', '200', '--hidden', '8', '--max-steps', '2', '--progress', 'none', '--out', join(tmp, 'nogpu-cpu')], { env: hidden });
  assert.equal(cpu.code, 0, cpu.stderr);
});

test('case and trajectory on WebGPU (--backend webgpu, or PARTAX_BACKEND=webgpu) agree with the CPU on float32 files', (t) => {
  if (noAdapter) return t.skip(`SKIPPED: no WebGPU adapter (${noAdapter})`);
  const close = (a: number[], b: number[], what: string) =>
    a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) <= 2e-3 * (1 + Math.abs(b[i]!)), `${what}[${i}]: webgpu ${x}, cpu ${b[i]}`));
  const f32 = float32Copy(P03, 'p03-f32.json');
  const cpu = JSON.parse(partax(['case', '--backend', 'cpu', f32]).stdout) as { loss: number; g: number[]; H: number[]; order3: number[] };
  for (const r of [partax(['case', '--backend', 'webgpu', f32]), partax(['case', f32], { env: envWith({ PARTAX_BACKEND: 'webgpu' }) })]) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^partax case: WebGPU adapter /m);
    const gpu = JSON.parse(r.stdout) as typeof cpu;
    close([gpu.loss, ...gpu.g, ...gpu.H, ...gpu.order3], [cpu.loss, ...cpu.g, ...cpu.H, ...cpu.order3], 'loss, g, H, order3');
  }
  const t32 = float32Copy(T01, 't01-f32.json');
  const tc = JSON.parse(partax(['trajectory', '--backend', 'cpu', t32]).stdout) as { loss: number[] };
  const tg = partax(['trajectory', t32], { env: envWith({ PARTAX_BACKEND: 'webgpu' }) });
  assert.equal(tg.code, 0, tg.stderr);
  close((JSON.parse(tg.stdout) as typeof tc).loss, tc.loss, 'trajectory loss');
});

test('PARTAX_BACKEND=webgpu partax train trains on WebGPU (recorded in config.json), follows the cpu-wasm run, and exits cleanly', (t) => {
  if (noAdapter) return t.skip(`SKIPPED: no WebGPU adapter (${noAdapter})`);
  const args = ['train', '--dataset', 'spirals', '--samples', '200', '--hidden', '8', '--batch-size', '30', '--epochs', '1', '--progress', 'none'];
  const gpu = partax([...args, '--out', join(tmp, 'env-gpu')], { env: envWith({ PARTAX_BACKEND: 'webgpu' }) });
  assert.equal(gpu.code, 0, gpu.stderr);
  assert.match(gpu.stderr, /WebGPU adapter/);
  assert.equal(JSON.parse(readFileSync(join(tmp, 'env-gpu', 'config.json'), 'utf8')).backend, 'webgpu');
  const cpu = partax([...args, '--out', join(tmp, 'env-cpu')], { env: envWith({ PARTAX_BACKEND: undefined }) });
  assert.equal(cpu.code, 0, cpu.stderr);
  const losses = (d: string) => readFileSync(join(tmp, d, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).loss ?? JSON.parse(l).testLoss);
  const [a, b] = [losses('env-gpu'), losses('env-cpu')];
  assert.equal(a.length, b.length);
  a.forEach((x: number, i: number) => assert.ok(Math.abs(x - b[i]) <= 1e-4 * Math.max(1, Math.abs(b[i])), `line ${i}: webgpu ${x}, cpu-wasm ${b[i]}`));
  // the flag beats the variable
  const flagged = partax([...args, '--backend', 'cpu', '--max-steps', '1', '--out', join(tmp, 'env-flag')], { env: envWith({ PARTAX_BACKEND: 'webgpu' }) });
  assert.equal(flagged.code, 0, flagged.stderr);
  assert.equal(JSON.parse(readFileSync(join(tmp, 'env-flag', 'config.json'), 'utf8')).backend, 'cpu');
});
