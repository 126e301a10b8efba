import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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
