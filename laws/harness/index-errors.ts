import assert from 'node:assert/strict';

/**
 * Asserts that `err` is the error of an out-of-range index (core/errors.ts indexOutOfRange): a
 * ShapeError naming `op`, one of the indices in `bad` and the axis size `n`. `label` says which
 * path ran (backend, transform), and `bad` lists every index outside [0, n) that path was given.
 */
export function assertIndexError(err: unknown, op: string, bad: ReadonlySet<number>, n: number, label: string): void {
  assert.ok(err instanceof Error, `${label}: indices ${[...bad].join(', ')} outside [0, ${n}) gave no error`);
  assert.equal(err.name, 'ShapeError', `${label}: ${err.message}`);
  const m = /^(\w+): index (-?\d+) \(at flat position \d+\) is out of range for axis \d+ of size (\d+)/.exec(err.message);
  assert.ok(m, `${label}: unexpected message: ${err.message}`);
  assert.equal(m[1], op, `${label}: the error names ${m[1]}, not ${op}`);
  assert.ok(bad.has(Number(m[2])), `${label}: the error names index ${m[2]}, not one of ${[...bad].join(', ')}`);
  assert.equal(Number(m[3]), n, `${label}: the error names size ${m[3]}, not ${n}`);
}
