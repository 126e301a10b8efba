import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import * as t from 'io-ts';
import { parseOrThrow, showValue } from '../../core/decode.js';
import type { Tree } from '../../core/tree.js';
import type { LoaderPosition } from '../../data/batches.js';
import { treeCodec, treeToJSON } from '../../io/tree-codec.js';
import { StateCodec, stateToJSON } from './state-json.js';

/**
 * Training checkpoints: everything needed to continue a run exactly — parameters, optimizer
 * state, the positions of both data loaders, the run key, the running epoch statistics and the
 * elapsed time — as one JSON file, `checkpoint.json` in the run directory. It is written
 * atomically (a temporary file in the same directory, flushed, then renamed over the old one), so
 * a crash or Ctrl-C at any moment leaves either the previous checkpoint or the new one, whole.
 */

export const CHECKPOINT_FORMAT = 'partax-checkpoint/1';
export const CHECKPOINT_FILE = 'checkpoint.json';

/** Sums over the current epoch's batches, for its mean training loss and accuracy. */
export interface EpochStats {
  readonly lossSum: number;
  readonly correct: number;
  readonly examples: number;
  readonly batches: number;
}

/** A checkpoint in memory. */
export interface Checkpoint {
  readonly format: typeof CHECKPOINT_FORMAT;
  /** Steps done. */
  readonly step: number;
  /** The next training batch. */
  readonly position: LoaderPosition;
  /** The next hg batch (newton-summary; null otherwise). */
  readonly hgPosition: LoaderPosition | null;
  /** The run key's two words (random.keyData). */
  readonly key: readonly [number, number];
  /** Seconds of training so far (over all sessions). */
  readonly elapsed: number;
  readonly epochStats: EpochStats;
  /** True when the run finished all its epochs. */
  readonly done: boolean;
  readonly params: Tree;
  readonly optState: unknown;
}

const check = <A>(name: string, ok: (u: unknown) => boolean, what: string) =>
  new t.Type<A, A, unknown>(name, (u): u is A => ok(u), (u, c) => (ok(u) ? t.success(u as A) : t.failure(u, c, `expected ${what}, got ${showValue(u)}`)), t.identity);

const natural = check<number>('a non-negative integer', (u) => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0, 'a non-negative integer');
const nonNegative = check<number>('a number ≥ 0', (u) => typeof u === 'number' && Number.isFinite(u) && u >= 0, 'a finite number ≥ 0');
const finite = check<number>('a finite number', (u) => typeof u === 'number' && Number.isFinite(u), 'a finite number');
const uint32 = check<number>('a uint32', (u) => typeof u === 'number' && Number.isInteger(u) && u >= 0 && u < 2 ** 32, 'a uint32 word');
const Position = t.type({ epoch: natural, batch: natural }, 'LoaderPosition');

/** The io-ts codec of a checkpoint file (parameters float32). */
export const CheckpointCodec = t.type(
  {
    format: check<typeof CHECKPOINT_FORMAT>('format', (u) => u === CHECKPOINT_FORMAT, `"${CHECKPOINT_FORMAT}"`),
    step: natural,
    position: Position,
    hgPosition: t.union([Position, t.null]),
    key: t.tuple([uint32, uint32]),
    elapsed: nonNegative,
    epochStats: t.type({ lossSum: finite, correct: nonNegative, examples: natural, batches: natural }),
    done: t.boolean,
    params: treeCodec('float32'),
    optState: StateCodec,
  },
  'Checkpoint',
);

/** The JSON text of a checkpoint. */
export function checkpointToJSON(c: Checkpoint): string {
  return JSON.stringify({ ...c, params: treeToJSON(c.params, { dtype: false }), optState: stateToJSON(c.optState) });
}

/**
 * Writes `text` to `path` atomically: a temporary file beside it, flushed to disk, then renamed
 * over `path` (rename is atomic within a directory on POSIX file systems).
 */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes the checkpoint of a run directory atomically; returns its path. */
export function saveCheckpoint(dir: string, c: Checkpoint): string {
  const path = join(dir, CHECKPOINT_FILE);
  writeFileAtomic(path, checkpointToJSON(c));
  return path;
}

/** Decodes checkpoint text; every problem is a DecodeError naming `what` and the field. */
export function parseCheckpoint(text: string, what: string): Checkpoint {
  const c = parseOrThrow(CheckpointCodec, text, what);
  return { ...c, key: [c.key[0], c.key[1]], format: CHECKPOINT_FORMAT } as Checkpoint;
}

/** Reads the checkpoint of a run directory. */
export function loadCheckpoint(dir: string): Checkpoint {
  const path = join(dir, CHECKPOINT_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read the checkpoint '${path}': ${code === 'ENOENT' ? 'no such file (is this a partax train run directory?)' : (code ?? (e as Error).message)}`);
  }
  return parseCheckpoint(text, `checkpoint '${path}'`);
}
