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
