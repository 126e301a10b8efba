import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as t from 'io-ts';
import { DecodeError, parseOrThrow, showValue } from '../../core/decode.js';
import type { Tree } from '../../core/tree.js';
import type { LoaderPosition } from '../../data/batches.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { fileError } from '../../io/file-error.js';
import { treeCodec, treeToJSON } from '../../io/tree-codec.js';
import { StateCodec, stateToJSON } from '../../io/state-codec.js';

/**
 * Training checkpoints: everything needed to continue a run exactly — parameters, optimizer
 * state, the positions of both data loaders, the run key, the running epoch statistics and the
 * elapsed time — as one JSON file, `checkpoint.json` in the run directory. It is written
 * atomically (src/io/atomic-write.ts: every byte to a temporary file, flushed, renamed over the
 * old one), so a crash, Ctrl-C or a full disk at any moment leaves either the previous checkpoint
 * or the new one, whole.
 *
 * Formats 2 to 4 carry `sha256`, the SHA-256 of the checkpoint's JSON text without that field
 * (the text `JSON.stringify` gives of the rest, which parsing and re-serialising reproduces
 * exactly), checked on every load: a flipped digit or a cut file is refused, never resumed from.
 * Format 1 files (no checksum, from earlier partax versions) still load, unverified, with a notice.
 *
 * Format 3 holds the optimizer state in the layout of the chain optimizers: NewtonSummary is a chain,
 * its state `{direction, newton: {count, currLrs, lrs, last}}` where formats 1 and 2 have
 * `{count, direction, currLrs, lrs, last}`. An older file's state is brought to today's layout on
 * load by the optimizer's registry entry (`migrateState` in optimizers.ts), so older runs resume
 * exactly; every other field is the same in all the formats.
 *
 * Format 4 holds step counts as int32 scalar tensors (`{"$tensor": …}`), so that a jitted training
 * step traces once; formats 1–3 hold them as numbers, and `scaleByLearningRate` with a constant
 * rate (stateless today) kept a `{count}` of its own. The registry's `migrateState` turns an older
 * state's counts into tensors, so older runs resume exactly.
 */

export const CHECKPOINT_FORMAT = 'partax-checkpoint/4';
/** The format before step counts were tensors: read (and migrated), not written. */
export const CHECKPOINT_FORMAT_V3 = 'partax-checkpoint/3';
/** The format before NewtonSummary's state was a chain state: read (and migrated), not written. */
export const CHECKPOINT_FORMAT_V2 = 'partax-checkpoint/2';
/** The format before checksums: read (and migrated), not written. */
export const CHECKPOINT_FORMAT_V1 = 'partax-checkpoint/1';
/** Every format read, oldest first: the version of a file is its index + 1. */
const FORMATS = [CHECKPOINT_FORMAT_V1, CHECKPOINT_FORMAT_V2, CHECKPOINT_FORMAT_V3, CHECKPOINT_FORMAT] as const;
/** The version number of the format written. */
export const CHECKPOINT_VERSION = FORMATS.length;
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
  /** The next batch of the optimizer's own batch stream (newton-summary's hg batches; null for the others). */
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
    format: check<(typeof FORMATS)[number]>('format', (u) => (FORMATS as readonly unknown[]).includes(u), `"${CHECKPOINT_FORMAT}" (or an older ${FORMATS.slice(0, -1).map((f) => `"${f}"`).join(', ')})`),
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

/** The checksum of a checkpoint's JSON text without its `sha256` field. */
const sha256Of = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The JSON text of a checkpoint (the current format, with its checksum): the text of
 * `{format, sha256, ...fields}`, where `sha256` is the checksum of the text of `{format, ...fields}`.
 * That text is serialised once and the checksum spliced in after its `format` field (the text
 * `JSON.stringify` gives of the object with `sha256` inserted, character for character, at half
 * the cost: serialising the numbers is most of a checkpoint's time).
 */
export function checkpointToJSON(c: Checkpoint): string {
  const { format: _format, ...rest } = c;
  const body = { format: CHECKPOINT_FORMAT, ...rest, params: treeToJSON(c.params, { dtype: false }), optState: stateToJSON(c.optState) };
  const text = JSON.stringify(body);
  const head = `{"format":${JSON.stringify(CHECKPOINT_FORMAT)},`;
  if (!text.startsWith(head)) throw new Error(`checkpointToJSON: the checkpoint's text does not start with its format field (${text.slice(0, 40)}…)`);
  return `${head}"sha256":${JSON.stringify(sha256Of(text))},${text.slice(head.length)}`;
}

/** Writes the checkpoint of a run directory atomically; returns its path. */
export function saveCheckpoint(dir: string, c: Checkpoint): string {
  const path = join(dir, CHECKPOINT_FILE);
  writeFileAtomic(path, checkpointToJSON(c));
  return path;
}

/** Raised when a checkpoint's content does not match its checksum (or a file of a checksummed format has none). */
export class ChecksumError extends DecodeError {
  override name = 'ChecksumError';
}

/** Checks the `sha256` of a checkpoint (format 2 on) against its content. */
function verifyChecksum(json: Record<string, unknown>, what: string): void {
  const { sha256: stored, ...rest } = json;
  if (typeof stored !== 'string' || !/^[0-9a-f]{64}$/.test(stored))
    throw new ChecksumError(`${what}: sha256: expected the 64 hex digits of the checkpoint's checksum, got ${showValue(stored)}`, [{ path: 'sha256', message: 'missing or malformed checksum' }]);
  const actual = sha256Of(JSON.stringify(rest));
  if (actual !== stored)
    throw new ChecksumError(
      `${what}: the content does not match its checksum (sha256 recorded ${stored.slice(0, 12)}…, computed ${actual.slice(0, 12)}…): the file was changed or damaged after it was written, and resuming from it would not continue the run exactly. Restore it from a copy, or start a new run`,
      [{ path: 'sha256', message: 'checksum mismatch' }],
    );
}

/** Today's optimizer state from one saved in checkpoint format `version` (the optimizer's `migrateState`). */
export type MigrateState = (state: unknown, version: number) => unknown;

/**
 * Decodes checkpoint text into today's format; every problem is a DecodeError naming `what` and
 * the field, and a file whose checksum does not match is a {@link ChecksumError}. `notice` hears of
 * a format-1 file (which has no checksum) and of an older file's state being migrated;
 * `migrateState` brings an older file's optimizer state to today's layout (without it the state is
 * kept as it was read).
 */
export function parseCheckpoint(text: string, what: string, notice: (message: string) => void = () => {}, migrateState?: MigrateState): Checkpoint {
  const c = parseOrThrow(CheckpointCodec, text, what);
  const version = FORMATS.indexOf(c.format) + 1;
  if (version >= 2) verifyChecksum(JSON.parse(text) as Record<string, unknown>, what);
  else notice(`${what} is in the older format ${CHECKPOINT_FORMAT_V1}, which has no checksum: it is read unverified (the next checkpoint is written with one)`);
  const { sha256: _sum, ...fields } = c as typeof c & { sha256?: unknown };
  let optState = c.optState;
  if (version < CHECKPOINT_VERSION && migrateState) {
    optState = migrateState(optState, version);
    notice(`${what} is in the older format ${c.format}: its optimizer state is read into today's layout (the next checkpoint is written in ${CHECKPOINT_FORMAT})`);
  }
  return { ...fields, key: [c.key[0], c.key[1]], format: CHECKPOINT_FORMAT, optState } as Checkpoint;
}

/** Reads the checkpoint of a run directory (see {@link parseCheckpoint}). */
export function loadCheckpoint(dir: string, notice?: (message: string) => void, migrateState?: MigrateState): Checkpoint {
  const path = join(dir, CHECKPOINT_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw fileError(e, 'read the checkpoint', path, 'is this a partax train run directory with a checkpoint?');
    throw fileError(e, 'read the checkpoint', path);
  }
  return parseCheckpoint(text, `checkpoint '${path}'`, notice, migrateState);
}
