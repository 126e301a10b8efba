/**
 * Writing to the terminal without ever dying of it. When the reader of a pipe goes away
 * (`partax train | head -2`), the next write fails with EPIPE, which Node reports as an 'error'
 * event on the stream — and an unhandled 'error' event ends the process with a stack trace. The
 * commands here only inform through their standard streams, so a closed stream is simply no
 * longer written to: training goes on, the checkpoint is written, the exit status is the run's.
 */

const guarded = new WeakSet<NodeJS.WritableStream>();
const closed = new WeakSet<NodeJS.WritableStream>();

/** Makes errors on `stream` (EPIPE, a closed terminal) mark it closed instead of crashing the process. Idempotent. */
export function guardStream(stream: NodeJS.WritableStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', () => closed.add(stream));
}

/** Whether `stream` can still be written to. */
export function isOpen(stream: NodeJS.WritableStream): boolean {
  const s = stream as NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean };
  return !closed.has(stream) && !s.destroyed && !s.writableEnded;
}

/** Writes `text` to `stream` if it is still open; never throws. */
export function writeSafely(stream: NodeJS.WritableStream, text: string): void {
  guardStream(stream);
  if (!isOpen(stream)) return;
  try {
    stream.write(text);
  } catch {
    closed.add(stream);
  }
}

/** A function that writes one line to `stream` (see {@link writeSafely}). */
export const lineWriter =
  (stream: NodeJS.WritableStream) =>
  (line: string): void =>
    writeSafely(stream, `${line}\n`);
