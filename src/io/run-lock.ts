import { linkSync, openSync, closeSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { processAlive, tempPathOf } from './atomic-write.js';
import { FileError, fileError, isErrnoError } from './file-error.js';

/**
 * An exclusive lock on a directory, so that two processes never write the same run: a file
 * `partax.lock` holding the owner's pid, host and start time. It is created in one atomic step
 * that fails when the file exists: the content goes to a temporary file first, which is then
 * hard-linked to the lock's name (`link(2)` refuses an existing name, the same exclusivity as
 * `open(O_CREAT | O_EXCL)`, and a reader never finds the lock empty). Where the file system has
 * no hard links, the lock is opened with O_EXCL (`'wx'`) and written.
 *
 * A lock whose process is no longer running on this host (killed, crashed) is stale: it is taken
 * over with a notice. Taking over renames the stale lock aside (atomic, so only one of several
 * contenders gets it), checks that what was moved is the stale lock that was read (else puts it
 * back: someone else took it over first), and retries.
 */

export const LOCK_FILE = 'partax.lock';

/** What a lock file holds. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
}

/** Raised when the directory is locked by a running process (or one on another host). */
export class LockedError extends FileError {
  override name = 'LockedError';
}

/** A held lock. */
export interface DirectoryLock {
  /** The lock file. */
  readonly path: string;
  /** Removes the lock file if it is still ours (idempotent). */
  release(): void;
}

const parseOwner = (text: string): LockOwner | null => {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? { pid: o.pid, host: o.host, started: String(o.started ?? '') } : null;
  } catch {
    return null;
  }
};

const readOwner = (path: string): { text: string; owner: LockOwner | null } | null => {
  try {
    const text = readFileSync(path, 'utf8');
    return { text, owner: parseOwner(text) };
  } catch (e) {
    if (isErrnoError(e) && e.code === 'ENOENT') return null;
    throw fileError(e, 'read the lock', path);
  }
};

/** Creates `path` holding `text` in one step; false when it already exists. */
function createExclusive(path: string, text: string): boolean {
  const tmp = tempPathOf(path);
  try {
    writeFileSync(tmp, text, { mode: 0o644 });
    try {
      linkSync(tmp, path);
      return true;
    } catch (e) {
      if (isErrnoError(e) && e.code === 'EEXIST') return false;
      if (!(isErrnoError(e) && ['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'].includes(e.code))) throw e;
    }
    // no hard links here: O_EXCL
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o644);
    } catch (e) {
      if (isErrnoError(e) && e.code === 'EEXIST') return false;
      throw e;
    }
    try {
      writeFileSync(fd, text);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (e) {
    throw fileError(e, 'create the lock', path);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}

/**
 * Takes the lock of `dir` (which must exist), or throws a {@link LockedError} naming the lock file
 * and the process that holds it. A stale lock is taken over and `notice` told so.
 *
 *     const lock = lockDirectory('runs/a', (s) => process.stderr.write(`${s}\n`));
 *     try { … } finally { lock.release(); }
 */
export function lockDirectory(dir: string, notice: (message: string) => void = () => {}): DirectoryLock {
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  const text = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(path, text)) return heldLock(path, text);
    const seen = readOwner(path);
    if (seen === null) continue; // released meanwhile: try again
    const { owner } = seen;
    if (owner && owner.host !== me.host)
      throw new LockedError(
        `the run directory '${dir}' is locked by process ${owner.pid} on host ${owner.host} (${path}); if no partax runs there any more, delete the lock file`,
        'ELOCKED',
        path,
      );
    if (owner && processAlive(owner.pid))
      throw new LockedError(
        `the run directory '${dir}' is in use by process ${owner.pid} (started ${owner.started || 'at an unknown time'}; lock file ${path}): wait for it to finish, or stop it, or use another directory`,
        'ELOCKED',
        path,
      );
    // stale: the process is gone (or the lock is unreadable garbage); move it aside atomically
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch (e) {
      if (isErrnoError(e) && e.code === 'ENOENT') continue; // someone else moved it first
      throw fileError(e, 'take over the stale lock', path);
    }
    const moved = readOwner(aside);
    if (moved === null || moved.text !== seen.text) {
      // not the lock we judged stale: another process took it over meanwhile; put theirs back
      try {
        linkSync(aside, path);
      } catch {
        // a third lock appeared: that one holds
      }
      unlinkSync(aside);
      continue;
    }
    unlinkSync(aside);
    notice(
      owner
        ? `taking over the lock ${path} of process ${owner.pid}, which is no longer running (it was killed or crashed)`
        : `taking over the unreadable lock file ${path}`,
    );
  }
  throw new LockedError(`could not take the lock ${path}: other processes keep taking it`, 'ELOCKED', path);
}

function heldLock(path: string, text: string): DirectoryLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    try {
      if (readFileSync(path, 'utf8') === text) unlinkSync(path);
    } catch {
      // gone already
    }
  };
  process.on('exit', release); // also on process.exit() (a second Ctrl-C)
  return { path, release };
}
