import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DecodeError } from '../../core/decode.js';
import { removeStaleTemps } from '../../io/atomic-write.js';
import { fileError } from '../../io/file-error.js';
import { type DirectoryLock, LOCK_FILE, lockDirectory } from '../../io/run-lock.js';
import { CHECKPOINT_FILE } from './checkpoint.js';

/**
 * The run directory of `partax train`: what may be written there, and by whom.
 *
 * - A new run goes into a directory that does not exist, is empty, or holds a partax run that
 *   never wrote a checkpoint (it is started over). Any other non-empty directory is refused,
 *   naming what is in it: partax would overwrite `config.json`, `run.json`… of the user's own
 *   (`--config run.json --out .`). A directory with a checkpoint is continued with `--resume`.
 * - One process at a time: the directory is locked (src/io/run-lock.ts) before anything is
 *   written, and a second run there is refused naming the lock and its process.
 * - Temporary files left by a writer that was killed (`checkpoint.json.PID.tmp`) are removed
 *   once the lock is held.
 */

/** The files and folders partax itself writes in a run directory. */
export const RUN_FILES = ['config.json', 'run.json', 'metrics.jsonl', CHECKPOINT_FILE, 'plots', LOCK_FILE] as const;

const TEMP = /\.\d+\.tmp$|\.stale-\d+$/;

/** Whether `dir` holds a run written by `partax train` (its run.json records the command). */
export function isPartaxRun(dir: string): boolean {
  try {
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { command?: unknown };
    return Array.isArray(run.command) && run.command[0] === 'partax' && run.command[1] === 'train';
  } catch {
    return false;
  }
}

/** The entries of `dir` that partax did not write (its own files count only in a partax run). */
function foreignEntries(dir: string): string[] {
  const names = readdirSync(dir).filter((n) => n !== LOCK_FILE && !TEMP.test(n));
  if (names.length === 0) return [];
  if (!isPartaxRun(dir)) return names.sort();
  return names.filter((n) => !(RUN_FILES as readonly string[]).includes(n)).sort();
}

/**
 * Checks that a new run may be written into `dir` (see the module comment); throws a
 * DecodeError (a bad `--out`) naming the directory otherwise. Returns true when `dir` holds an
 * unfinished partax run without a checkpoint, which the new run replaces.
 */
export function checkNewRunDirectory(dir: string): boolean {
  if (!existsSync(dir)) return false;
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw fileError(e, 'read', dir);
  }
  if (!isDir) throw new DecodeError(`partax train: --out ${dir}: it is a file, not a directory; choose a directory for the run's outputs`);
  let foreign: string[];
  try {
    foreign = foreignEntries(dir);
  } catch (e) {
    throw fileError(e, 'list the directory', dir);
  }
  if (foreign.length) {
    const shown = foreign.length > 6 ? `${foreign.slice(0, 6).join(', ')} and ${foreign.length - 6} more` : foreign.join(', ');
    throw new DecodeError(
      `partax train: --out ${dir}: the directory is not empty and is not a partax run (it holds ${shown}); a run writes config.json, run.json, metrics.jsonl and checkpoint.json there and would overwrite files of yours: choose a new or empty directory`,
    );
  }
  if (existsSync(join(dir, CHECKPOINT_FILE)))
    throw new DecodeError(`partax train: ${dir} already holds a run: continue it with --resume ${dir}, or choose another --out`);
  return isPartaxRun(dir);
}

/** Creates `dir` (and its parents) when missing; a FileError names it when that fails. */
export function makeRunDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fileError(e, 'create the run directory', dir);
  }
}

/**
 * Locks a run directory for this process and clears the temporary files of killed writers;
 * `notice` hears of a stale lock taken over and of files removed.
 */
export function claimRunDirectory(dir: string, notice: (line: string) => void): DirectoryLock {
  const lock = lockDirectory(dir, notice);
  const removed = removeStaleTemps(dir);
  if (removed.length) notice(`removed ${removed.length} temporary file(s) a killed run left in ${dir}: ${removed.join(', ')}`);
  return lock;
}
