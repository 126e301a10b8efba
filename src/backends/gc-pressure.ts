/**
 * Memory pressure for backends whose memory V8 cannot see (GPU buffers, regions of the cpu-wasm
 * memory) and which return it from FinalizationRegistry callbacks when tensors are collected.
 *
 * A loop whose tensors die young frees nothing until a major GC (the young-generation collector
 * does not clear finalization cells), which a small JS heap rarely needs. So when the live bytes
 * pass a watermark, the backend asks V8 for a full collection; the finalizers of the dead tensors
 * then return their memory when the event loop next turns (an await of a readback, say). The
 * watermark is twice the lowest live bytes seen since the last forced collection was reaped, and at
 * least `gcFloorBytes`. No second collection is forced before the first is reaped: in a loop that
 * never yields, finalizers cannot run and a collection would free nothing.
 *
 * When is a collection reaped? Its finalizers run in a task V8 posts after it, which may come a few
 * turns of the event loop later. A memory that can register a sentinel (an unreachable object in
 * its own FinalizationRegistry, whose callback comes with the others of that collection) ends
 * the reaping there; otherwise the next turn of the event loop does.
 */
import { nodeBuiltin } from './node-builtin.js';

type Collect = () => void;
let collector: Collect | null | undefined;

/**
 * V8's `gc`, from --expose-gc or enabled at run time (node:v8 and node:vm, loaded at the first
 * forced collection); null if neither works.
 */
export function gcFunction(): Collect | null {
  if (collector !== undefined) return collector;
  const g = (globalThis as { gc?: Collect }).gc;
  if (typeof g === 'function') return (collector = g);
  try {
    nodeBuiltin<typeof import('node:v8')>('node:v8')!.setFlagsFromString('--expose-gc');
    collector = nodeBuiltin<typeof import('node:vm')>('node:vm')!.runInNewContext('gc') as Collect;
  } catch {
    collector = null;
  }
  return collector;
}

/** Runs `f` on a later turn of the event loop (setImmediate in Node, a 0 ms timeout elsewhere); `keepAlive: false` lets Node exit first. */
export function afterTurn(f: () => void, keepAlive = true): void {
  const t: unknown = typeof setImmediate === 'function' ? setImmediate(f) : setTimeout(f, 0);
  if (!keepAlive) (t as { unref?: () => void }).unref?.();
}

/** How long a sentinel's finalizer may take before the collection counts as reaped anyway. */
const SENTINEL_TIMEOUT_MS = 1000;

/** The watermark policy of one memory (see the file comment). */
export class GcPressure {
  /** No collection is forced below this many live bytes (0 disables forcing). */
  gcFloorBytes: number;
  /** The lowest live bytes since the last forced collection was reaped (the working set). */
  private settled = 0;
  /** Live bytes when the pending forced collection ran; 0 when none is pending. */
  private atCollection = 0;
  /** Full collections forced so far. */
  forcedGcs = 0;

  /**
   * `sentinel(done)`, when given, registers an unreachable object in the memory's
   * FinalizationRegistry whose finalizer calls `done` (see the file comment).
   */
  constructor(
    floorBytes: number,
    private readonly sentinel?: (done: () => void) => void,
  ) {
    this.gcFloorBytes = floorBytes;
  }

  /** True from a forced collection until it is reaped (its finalizers have run). */
  get reaping(): boolean {
    return this.atCollection > 0;
  }


  /** Live bytes when the pending forced collection ran (0 when none is pending). */
  get liveAtCollection(): number {
    return this.atCollection;
  }

  /** Live bytes fell to `live` (a release): the working set is at most that. */
  released(live: number): void {
    if (live < this.settled) this.settled = live;
  }

  /**
   * Forces a full GC when `live` (the backend's live bytes) passes the watermark; `liveNow` reads
   * them again once the event loop has turned. Returns whether it forced one.
   */
  relieve(live: number, liveNow: () => number): boolean {
    const floor = this.gcFloorBytes;
    if (floor <= 0 || this.reaping || live < floor || live < 2 * this.settled) return false;
    const gc = gcFunction();
    if (!gc) return false;
    const reaped = () => {
      if (this.atCollection === 0) return;
      this.atCollection = 0;
      this.settled = liveNow();
    };
    if (this.sentinel) {
      this.sentinel(reaped);
      const t: unknown = setTimeout(reaped, SENTINEL_TIMEOUT_MS); // should V8 hold the finalizers back
      (t as { unref?: () => void }).unref?.();
    } else afterTurn(reaped, false);
    this.atCollection = Math.max(live, 1);
    gc();
    this.forcedGcs++;
    return true;
  }
}
