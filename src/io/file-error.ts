/**
 * File-system failures as messages a user can act on. Node's errors (`ENOSPC: no space left on
 * device, write`) carry an errno code, the system call and often the path; partax turns them into
 * a {@link FileError} whose message says what was being done, to which path, and what the code
 * means, so that the commands print one line instead of a stack trace.
 */

/** Raised when a file or directory cannot be read, written, created or locked. */
export class FileError extends Error {
  override name = 'FileError';
  constructor(
    message: string,
    /** The errno code (`ENOSPC`, `EACCES`…), when the failure came from the system. */
    readonly code?: string,
    /** The path concerned. */
    readonly path?: string,
  ) {
    super(message);
  }
}

/** What the common errno codes mean, in words. */
const MEANING: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EEXIST: 'a file of that name already exists',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  ENOTEMPTY: 'the directory is not empty',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  ENAMETOOLONG: 'the name is too long',
  EFBIG: 'the file is too large',
  EBUSY: 'the resource is busy',
};

/** True for an error raised by a Node file-system call (it carries a string errno code). */
export function isErrnoError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z0-9]+$/.test((e as NodeJS.ErrnoException).code!);
}

/** `ENOSPC (no space left on the device)`, or the code alone when it is not a common one. */
export function describeCode(code: string): string {
  const m = MEANING[code];
  return m ? `${code} (${m})` : code;
}

/**
 * A {@link FileError} for a failure while doing `action` (a verb phrase: 'write', 'create the
 * directory') on `path`; `consequence` is appended when given ('the previous file is unchanged').
 * An error that is already a FileError is returned as it is.
 *
 *     fileError(e, 'write', 'runs/a/checkpoint.json')
 *     // FileError: cannot write 'runs/a/checkpoint.json': ENOSPC (no space left on the device)
 */
export function fileError(e: unknown, action: string, path: string, consequence?: string): FileError {
  if (e instanceof FileError) return e;
  const code = isErrnoError(e) ? e.code : undefined;
  const why = code ? describeCode(code) : e instanceof Error ? e.message : String(e);
  return new FileError(`cannot ${action} '${path}': ${why}${consequence ? `; ${consequence}` : ''}`, code, path);
}

/**
 * The one-line message of a system error that escaped without context (Node's own errors name
 * the system call and usually the path), or null for other errors.
 *
 *     systemErrorMessage(e)   // "cannot mkdir '/root/x': EACCES (permission denied)"
 */
export function systemErrorMessage(e: unknown): string | null {
  if (e instanceof FileError) return e.message;
  if (!isErrnoError(e)) return null;
  const dest = (e as { dest?: unknown }).dest;
  const path = e.path ? ` '${e.path}'${typeof dest === 'string' ? ` → '${dest}'` : ''}` : '';
  return `cannot ${e.syscall ?? 'access'}${path}: ${describeCode(e.code)}`;
}
