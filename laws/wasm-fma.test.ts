import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wasmAvailable } from '../src/backends/wasm/index.js';
import { getKernels } from '../src/backends/wasm/kernels.js';

/**
 * cpu-wasm's GEMM with and without relaxed-SIMD fused multiply-add (f32x4/f64x2.relaxed_madd): the
 * kernels use it wherever the engine has it or can turn it on (Node ≥ 22 and browsers ship it; on
 * Node 20 the kernels turn V8's --experimental-wasm-relaxed-simd on), PARTAX_WASM_FMA=0 keeps the
 * separate multiply and add. The product is fused (a sum whose exact value needs the unrounded
 * product comes out exact, where the unfused kernel rounds it away), and the backend laws — every
 * matmul law against the CPU oracle, transposed operands, the blocked float32 bound, the
 * end-to-end gradient — hold on the kernel the rest of the suite does not run: the unfused one
 * where the suite runs fused, and the other way round.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const skip = wasmAvailable ? false : 'cpu-wasm: this runtime has no WebAssembly SIMD';
/** Whether this CPU has fused multiply-add (x86's FMA3; relaxed_madd may be unfused without it). */
const cpuFma = (() => {
  try {
    return /^flags\s*:.*\bfma\b/m.test(readFileSync('/proc/cpuinfo', 'utf8')) || process.arch === 'arm64';
  } catch {
    return false;
  }
})();

/**
 * In a fresh process with PARTAX_WASM_FMA = `setting`: whether the kernels use FMA, and
 * c = a₀b₀ + a₁b₁ by matmul with a₀b₀ = −(1 + 2⁻¹¹) exact and a₁b₁ = (1 + 2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴,
 * which float32 rounds to 1 + 2⁻¹¹: fused, c = 2⁻²⁴ (float64: the same with 2⁻²⁷ and 2⁻⁵⁴).
 */
function probe(setting: string | undefined): { status: number | null; stderr: string; fma?: boolean; c32?: number; c64?: number } {
  const script = `
    import * as P from './src/index.js';
    import { getKernels } from './src/backends/wasm/kernels.js';
    P.setBackend('cpu-wasm');
    P.setWasmThreads(1);
    const c = (dtype, h) => P.matmul(P.fromBuffer(dtype === 'float32' ? new Float32Array([-(1 + h), 1 + h / 2]) : new Float64Array([-(1 + h), 1 + h / 2]), dtype, [1, 2]), P.fromBuffer(dtype === 'float32' ? new Float32Array([1, 1 + h / 2]) : new Float64Array([1, 1 + h / 2]), dtype, [2, 1])).dataSync()[0];
    const c32 = c('float32', 2 ** -11), c64 = c('float64', 2 ** -26);
    console.log(JSON.stringify({ fma: getKernels().fma, c32, c64 }));
  `;
  const env = { ...process.env };
  delete env.PARTAX_WASM_FMA;
  if (setting !== undefined) env.PARTAX_WASM_FMA = setting;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  return { status: r.status, stderr: r.stderr, ...(r.status === 0 ? (JSON.parse(line) as { fma: boolean; c32: number; c64: number }) : {}) };
}

test('PARTAX_WASM_FMA: unset and 1 use relaxed SIMD (turning V8’s flag on, on Node 20) and the product is fused; 0 keeps the separate multiply and add; a bad value is refused by name', { skip }, () => {
  const on = probe('1');
  assert.equal(on.status, 0, on.stderr);
  assert.equal(on.fma, true);
  const off = probe('0');
  assert.equal(off.status, 0, off.stderr);
  assert.equal(off.fma, false);
  // unfused: the rounded product cancels exactly; fused: the product's last bits survive
  assert.equal(off.c32, 0);
  assert.equal(off.c64, 0);
  if (cpuFma) {
    assert.equal(on.c32, 2 ** -24);
    assert.equal(on.c64, 2 ** -54);
  } else assert.ok(on.c32 === 0 || on.c32 === 2 ** -24);
  const auto = probe(undefined);
  assert.equal(auto.status, 0, auto.stderr);
  assert.deepEqual(auto, on, 'unset: as 1 on an engine that has relaxed SIMD');
  const bad = probe('yes');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /PARTAX_WASM_FMA: expected 0, 1 or auto, got 'yes'/);
  // partax train says it in one line, as for any bad input, not with a stack trace
  const env: NodeJS.ProcessEnv = { ...process.env, PARTAX_WASM_FMA: 'maybe' };
  const out = mkdtempSync(resolve(tmpdir(), 'partax-fma-'));
  const cli = spawnSync(process.execPath, [resolve(ROOT, 'bin', 'partax.mjs'), 'train', '--dataset', 'teacher', '--samples', '50', '--epochs', '1', '--progress', 'none', '--out', resolve(out, 'run')], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  rmSync(out, { recursive: true, force: true });
  assert.notEqual(cli.status, 0);
  assert.equal(cli.stderr.trim().split('\n').at(-1), "partax train: PARTAX_WASM_FMA: expected 0, 1 or auto, got 'maybe'", cli.stderr);
  assert.doesNotMatch(cli.stderr, /^\s+at /m);
});

test('the cpu-wasm backend laws hold on the GEMM the rest of the suite does not run (the unfused one, or the fused one under PARTAX_WASM_FMA=0): matmul against the CPU oracle, transposed operands, the blocked float32 bound, the end-to-end gradient', { skip, timeout: 900_000 }, () => {
  // a child of the test runner that sees NODE_TEST_CONTEXT reports to it instead of running its own tests
  const env: NodeJS.ProcessEnv = { ...process.env, PARTAX_WASM_FMA: getKernels().fma ? '0' : '1' };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', 'laws/backends.laws.ts'], { cwd: ROOT, env, encoding: 'utf8', timeout: 850_000 });
  assert.equal(r.status, 0, `${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
  const pass = Number(/^# pass (\d+)$/m.exec(r.stdout)?.[1]);
  assert.ok(pass >= 15 && /^# fail 0$/m.test(r.stdout), `the backend laws ran (${pass} passed):\n${r.stdout.slice(-1500)}`);
});
