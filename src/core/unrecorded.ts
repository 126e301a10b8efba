/**
 * Allocations that records of temporaries (prim/temporaries.ts) must not see: a buffer made for
 * something older than the record or living longer than the code being recorded (a deferred
 * tensor stored on first read, a jit program's constants copied in at compile time, any eager
 * result while a transform traces). A backend that records checks {@link recordingPaused} when it
 * hands out a buffer.
 */
let depth = 0;

/** `f()`, with the buffers allocated during it left out of every open record of temporaries. */
export function unrecorded<T>(f: () => T): T {
  depth++;
  try {
    return f();
  } finally {
    depth--;
  }
}

let tracingNow: () => boolean = () => false;

/**
 * Installs the test of whether a transform is tracing (prim/bind.ts): while one is, eager results
 * may become a trace's constants or residuals (a jit program staged in a backward pass keeps the
 * constants it closed over), so nothing is recorded.
 */
export function setTracingTest(f: () => boolean): void {
  tracingNow = f;
}

/** Whether buffers handed out now are to be left out of records: inside {@link unrecorded}, or while a transform traces. */
export const recordingPaused = (): boolean => depth > 0 || tracingNow();
