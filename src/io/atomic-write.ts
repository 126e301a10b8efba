import * as nodeFs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileError } from './file-error.js';

/**
 * Writing a file so that a crash, a kill or a full disk at any moment leaves either the old file
 * or the new one, whole — never a truncated mix:
 *
 * 1. the bytes go to a temporary file beside the target (`NAME.PID.tmp`, same directory, so the
 *    rename stays within one file system), every byte of them: `write(2)` may write fewer bytes
 *    than asked (a full disk often does exactly that) and the loop continues or fails;
 * 2. the temporary file is flushed to the disk (`fsync`) and closed;
 * 3. it is renamed over the target (atomic on POSIX), and the directory is flushed so that the
 *    rename itself survives a power cut.
 *
 * On any failure the temporary file is removed and a {@link FileError} names the path and the
 * errno code (`ENOSPC (no space left on the device)`); the target is untouched. A process killed
 * mid-write leaves its temporary file behind: {@link removeStaleTemps} clears those of processes
 * that are no longer running.
 */

/** The file-system calls the writer uses (Node's by default; tests inject faults through it). */
export interface WriterFs {
  openSync(path: string, flags: string, mode?: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
}

const defaultFs: WriterFs = nodeFs;

/** The temporary file a process writes before renaming it over `path`. */
export const tempPathOf = (path: string, pid = process.pid): string => `${path}.${pid}.tmp`;

/** `NAME.PID.tmp` → [NAME, PID], else null. */
const TEMP = /^(.+)\.(\d+)\.tmp$/;

/**
 * Writes every byte of `bytes` at the file position of `fd`, looping over short writes. A write
 * that makes no progress is reported as ENOSPC (the only reason a regular file refuses bytes
 * without an error).
 */
export function writeAll(fd: number, bytes: Uint8Array, fs: Pick<WriterFs, 'writeSync'> = defaultFs): void {
  let done = 0;
  while (done < bytes.length) {
    const n = fs.writeSync(fd, bytes, done, bytes.length - done);
    if (!(n > 0)) throw Object.assign(new Error(`write made no progress after ${done} of ${bytes.length} bytes`), { code: 'ENOSPC' });
    done += n;
  }
}

/** Flushes a directory's entries (a rename in it) to the disk; a no-op where directories cannot be opened or synced. */
export function fsyncDirectory(dir: string): void {
  let fd = -1;
  try {
    fd = nodeFs.openSync(dir, 'r');
    nodeFs.fsyncSync(fd);
  } catch {
    // Windows and some file systems refuse to open or fsync a directory: the rename is still atomic
  } finally {
    if (fd >= 0) nodeFs.closeSync(fd);
  }
}

/**
 * Writes `data` to `path` atomically (see the module comment). Throws a {@link FileError} naming
 * `path` and the errno code when any step fails; `path` then keeps its previous content.
 *
 *     writeFileAtomic('runs/a/checkpoint.json', text);
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, fs: WriterFs = defaultFs): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const tmp = tempPathOf(path);
  let fd = -1;
  try {
    fd = fs.openSync(tmp, 'w', 0o644);
    writeAll(fd, bytes, fs);
    fs.fsyncSync(fd);
    const closing = fd;
    fd = -1;
    fs.closeSync(closing);
    fs.renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0)
      try {
        fs.closeSync(fd);
      } catch {
        // already failing: the first error is the one to report
      }
    try {
      fs.unlinkSync(tmp);
    } catch {
      // never created, or already gone
    }
    throw fileError(e, 'write', path, `the previous '${basename(path)}' is unchanged`);
  }
  fsyncDirectory(dirname(path));
}

/** Whether a process with this id is running (a process of another user counts as running). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files (`NAME.PID.tmp`) that writers killed mid-write left in `dir`: those
 * whose process is no longer running. Returns the names removed.
 */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = nodeFs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m || processAlive(Number(m[2]))) continue;
    try {
      nodeFs.unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      // removed by someone else meanwhile, or not ours to remove: leave it
    }
  }
  return removed;
}
