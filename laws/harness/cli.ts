import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Running the `partax` command as a subprocess, for the CLI's tests. */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'partax.mjs');

/** Runs `partax args…` to completion (from the repository root unless `cwd` is given). */
export function partax(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: opts.timeout ?? 240_000, env: opts.env ?? process.env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A `partax train` left running. */
export interface LongRun {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves to the exit status. */
  readonly exited: Promise<number | null>;
  /** What it wrote to stderr so far. */
  readonly stderr: () => string;
}

/**
 * Starts a long `partax train` (1000 epochs of the teacher regression, NewtonSummary with λ₁ = 0.1 and
 * λ_int = 10: a run that neither ends nor diverges while a law uses it) writing to `dir`, and
 * resolves once its metrics.jsonl has `lines` lines (the first lines are steps).
 */
export async function startLongRun(dir: string, lines = 3, extra: readonly string[] = ['--checkpoint-every', '0']): Promise<LongRun> {
  // λ₁ = 0.1, λ_int = 10 (grnewt's settings): with the defaults this run diverges within a few
  // hundred steps, and may stop (non-finite summary) before the law is done with it
  const child = spawn(process.execPath, [BIN, 'train', '--dataset', 'teacher', '--samples', '400', '--epochs', '1000', '--batch-size', '20', '--damping', '0.1', '--damping-int', '10', '--out', dir, '--progress', 'none', ...extra], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const count = () => (existsSync(join(dir, 'metrics.jsonl')) ? readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).length : 0);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && count() < lines && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  assert.ok(count() >= lines, `the run did not start: ${stderr}`);
  return { child, exited, stderr: () => stderr };
}
