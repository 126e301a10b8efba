/**
 * Worker threads for cpu-wasm: each worker instantiates the kernels' module on the shared arena
 * memory and waits on a control word (Atomics.wait) for jobs: a kernel name and its i32 arguments.
 * The calling thread runs part 0 itself and blocks (Atomics.wait, allowed on Node's main thread;
 * on a browser's main thread, which may not block, it spins on the word) until the workers are
 * done, so kernels stay synchronous behind the Backend interface. Workers are unref'd: they never
 * keep the process alive. Without shared memory, or when a worker fails to start, every part runs
 * on the calling thread. In Node the workers are worker_threads, started here when first needed;
 * in a browser they are Web Workers, started ahead by {@link addWorkers} (./web-workers.ts: a
 * browser starts a worker only once its main thread returns to the event loop).
 *
 * A worker can be slow to wake on a busy machine (tens of ms). So the caller, once done with its
 * own part, takes back every job no worker has started (compare-and-swap of the job's state from
 * POSTED to TAKEN) and runs it itself; it waits only for jobs a worker is running. The GEMM hands
 * out row blocks through a shared counter, so a late worker's job finds no work left.
 *
 * Control words (Int32, at the start of the arena, 32 per worker slot w ≥ 0 at 32·w):
 *   [0] job sequence number (bumped by the caller), [1] last finished job (−1 before start-up),
 *   [2] kernel index, [3] argument count, [4…19] arguments, [29] 1 while the job is held (see
 *   {@link parallelFor}'s `prepare`), [30] 1 if the last job threw,
 *   [31] job state: 0 idle, 1 posted, 2 running (set by the worker), 3 taken back by the caller.
 */
import { nodeBuiltin } from '../node-builtin.js';
import { CONTROL_BYTES } from './arena.js';
import { getKernels } from './kernels.js';

const SLOT = 32;
const MAX_WORKERS = CONTROL_BYTES / 4 / SLOT - 1;
const MAX_ARGS = 16;
/** How long a new worker may take to start before threads are given up on. */
const START_TIMEOUT_MS = 10_000;
/** How long a worker holding a job spins for its release before it sleeps on the word. */
const HOLD_SPIN_MS = 0.5;
/** How long the caller waits for a worker's part (after finishing its own) before giving up on threads. */
const STALL_TIMEOUT_MS = 120_000;

/**
 * The loop every worker runs, as source: it expects `module`, `memory`, `slot` and `names`
 * (a {@link WorkerData}) in scope, and never returns.
 */
export const WORKER_LOOP: string = `
const inst = new WebAssembly.Instance(module, { env: { memory } });
const fns = names.map((n) => inst.exports[n]);
const ctl = new Int32Array(memory.buffer, 0, ${CONTROL_BYTES / 4});
const base = slot * ${SLOT};
let seen = Atomics.load(ctl, base);
Atomics.store(ctl, base + 1, seen);
Atomics.notify(ctl, base + 1);
for (;;) {
  Atomics.wait(ctl, base, seen);
  const seq = Atomics.load(ctl, base);
  if (seq === seen) continue;
  seen = seq;
  // POSTED → RUNNING, unless the caller already took the job back
  if (Atomics.compareExchange(ctl, base + 31, 1, 2) === 1) {
    // a held job waits for the caller's release (it prepares the job's input meanwhile): spin
    // briefly, as the hold is short, then sleep on the word
    if (Atomics.load(ctl, base + 29) === 1) {
      const t0 = performance.now();
      while (Atomics.load(ctl, base + 29) === 1 && performance.now() - t0 < ${HOLD_SPIN_MS});
      while (Atomics.load(ctl, base + 29) === 1) Atomics.wait(ctl, base + 29, 1);
    }
    const fi = ctl[base + 2];
    const args = [];
    for (let i = 0; i < ctl[base + 3]; i++) args.push(ctl[base + 4 + i]);
    try { fns[fi](...args); ctl[base + 30] = 0; } catch (e) { ctl[base + 30] = 1; }
    Atomics.store(ctl, base + 31, 0);
  }
  Atomics.store(ctl, base + 1, seq);
  Atomics.notify(ctl, base + 1);
}
`;

/** The Node worker's whole program (plain CommonJS, evaluated by worker_threads: no loader, no files). */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, slot, names } = workerData;
${WORKER_LOOP}`;

/**
 * What a worker is started with: the compiled kernels (a WebAssembly.Module), the shared memory
 * (a WebAssembly.Memory), its control slot, the kernel names. The two handles are typed `object`:
 * this declaration is reachable from the root entry's, which compile without the WebAssembly
 * namespace (lib ES2022 alone; laws/package.test.ts).
 */
export interface WorkerData {
  readonly module: object;
  readonly memory: object;
  readonly slot: number;
  readonly names: readonly string[];
}

/** A started worker (a worker_threads Worker or a Web Worker). */
interface Terminable {
  terminate(): unknown;
}

const workers: Terminable[] = [];
let workersFailed: string | undefined;

/** node:worker_threads and node:os are loaded when threads are first used, not at import (see ../node-builtin.ts). */
type WorkerThreads = typeof import('node:worker_threads');
type Os = typeof import('node:os');

/** PARTAX_WASM_THREADS, else the number of cores (1 where Node's os module is unavailable). */
function defaultThreads(): number {
  const envThreads = Number((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.PARTAX_WASM_THREADS);
  if (Number.isInteger(envThreads) && envThreads >= 1) return envThreads;
  return Math.max(1, Math.min(nodeBuiltin<Os>('node:os')?.availableParallelism() ?? 1, MAX_WORKERS + 1));
}
let threads: number | undefined;

/**
 * Sets how many threads cpu-wasm kernels may use (the calling thread included); 1 turns worker
 * threads off. The default is PARTAX_WASM_THREADS, else the number of cores.
 * Example: `setWasmThreads(1)` for single-threaded timings.
 */
export function setWasmThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS + 1)
    throw new RangeError(`setWasmThreads: expected an integer in [1, ${MAX_WORKERS + 1}], got ${n}`);
  threads = n;
}

/** The number of threads cpu-wasm kernels may use (see {@link setWasmThreads}). */
export const wasmThreads = (): number => (threads ??= defaultThreads());

/** Why worker threads are unavailable, or undefined when they work (or were not tried yet). */
export const workerFailure = (): string | undefined => workersFailed;

/** Starts workers until there are `n` (or fewer, when they cannot start); returns how many there are. */
function ensureWorkers(n: number): number {
  if (workersFailed !== undefined || workers.length >= n) return Math.min(workers.length, n);
  const ks = getKernels();
  if (!ks.arena.shared) {
    workersFailed = 'no SharedArrayBuffer';
    return 0;
  }
  const wt = nodeBuiltin<WorkerThreads>('node:worker_threads');
  if (!wt) {
    workersFailed = 'no node:worker_threads here (Node ≥ 20.16 has it; in a browser, start Web Workers with init() or startWasmThreads())';
    return workers.length; // those started ahead (addWorkers), if any
  }
  const names = Object.keys(ks.exports);
  const ctl = ks.arena.i32;
  while (workers.length < n) {
    const slot = workers.length + 1;
    const base = slot * SLOT;
    Atomics.store(ctl, base + 1, -1);
    const w = new wt.Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { module: ks.module, memory: ks.arena.memory, slot, names } });
    w.unref();
    const t0 = Date.now();
    while (Atomics.load(ctl, base + 1) === -1) {
      if (Date.now() - t0 > START_TIMEOUT_MS || Atomics.wait(ctl, base + 1, -1, START_TIMEOUT_MS) === 'timed-out') {
        void w.terminate();
        workersFailed = `a worker did not start within ${START_TIMEOUT_MS} ms`;
        return workers.length;
      }
    }
    workers.push(w);
  }
  return n;
}

/**
 * Starts `n` more workers with `start` (a Web Worker per call in a browser), each given its
 * {@link WorkerData} and resolving once its loop runs; resolves to the number of workers. A
 * worker that fails to start rejects, leaving the ones already started in use.
 */
export async function addWorkers(n: number, start: (data: WorkerData) => Promise<Terminable>): Promise<number> {
  const ks = getKernels();
  if (!ks.arena.shared) throw new Error('cpu-wasm: worker threads need a shared wasm memory (SharedArrayBuffer)');
  const names = Object.keys(ks.exports);
  for (let i = 0; i < n && workers.length < MAX_WORKERS; i++) {
    const slot = workers.length + 1;
    Atomics.store(ks.arena.i32, slot * SLOT + 1, -1);
    workers.push(await start({ module: ks.module, memory: ks.arena.memory, slot, names }));
  }
  workersFailed = undefined;
  return workers.length;
}

/** The number of worker threads started (the calling thread not counted). */
export const workerCount = (): number => workers.length;

let blockingAllowed: boolean | undefined;
/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
function canBlock(): boolean {
  if (blockingAllowed === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      blockingAllowed = true;
    } catch {
      blockingAllowed = false;
    }
  }
  return blockingAllowed;
}

/** Atomics.wait(ctl, i, v, ms) where this thread may block; else a spin on the word for as long. */
function waitWord(ctl: Int32Array, i: number, v: number, ms: number): 'ok' | 'not-equal' | 'timed-out' {
  if (canBlock()) return Atomics.wait(ctl, i, v, ms);
  const t0 = performance.now();
  while (Atomics.load(ctl, i) === v) if (performance.now() - t0 > ms) return 'timed-out';
  return 'ok';
}

/** A job: an exported kernel's name and its i32 arguments. */
export type Job = readonly [string, ...number[]];

/**
 * Runs `job(i)` for i < parts, part 0 on this thread and the others on workers (at most
 * `wasmThreads() − 1` of them; parts beyond run here too). Parts must write disjoint memory.
 *
 * With `prepare`, the workers' parts are posted first and held: the workers wake (which takes
 * 5–50 µs) while this thread runs `prepare` (say, packing the operand every part reads), and start
 * the moment it returns — the wake-up is hidden behind work that had to be done anyway, and there
 * is one round trip instead of two.
 */
export function parallelFor(parts: number, job: (i: number) => Job, prepare?: () => void): void {
  const ks = getKernels();
  const call = ([name, ...args]: Job) => ks.exports[name]!(...args);
  const n = parts <= 1 ? 0 : ensureWorkers(Math.min(parts, wasmThreads()) - 1);
  const ctl = ks.arena.i32;
  const names = Object.keys(ks.exports);
  const posted: [number, number, Job][] = [];
  const held = prepare === undefined ? 0 : 1;
  for (let w = 0; w < n; w++) {
    const j = job(w + 1);
    const [name, ...args] = j;
    if (args.length > MAX_ARGS) throw new RangeError(`cpu-wasm pool: kernel ${name} has ${args.length} arguments, over ${MAX_ARGS}`);
    const base = (w + 1) * SLOT;
    ctl[base + 2] = names.indexOf(name);
    ctl[base + 3] = args.length;
    for (let i = 0; i < args.length; i++) ctl[base + 4 + i] = args[i]!;
    Atomics.store(ctl, base + 29, held);
    Atomics.store(ctl, base + 31, 1);
    const seq = (Atomics.load(ctl, base) + 1) | 0;
    Atomics.store(ctl, base, seq);
    Atomics.notify(ctl, base);
    posted.push([base, seq, j]);
  }
  try {
    try {
      prepare?.();
    } finally {
      // released even when `prepare` throws: the posted jobs must still finish before this returns
      for (const [base] of posted) {
        Atomics.store(ctl, base + 29, 0);
        Atomics.notify(ctl, base + 29);
      }
    }
    call(job(0));
    for (let i = n + 1; i < parts; i++) call(job(i));
  } finally {
    join(ctl, posted, call);
  }
}

/** Finishes the posted jobs: a job no worker has started is taken back and run here; the others are waited for. */
function join(ctl: Int32Array, posted: readonly [number, number, Job][], call: (j: Job) => unknown): void {
  let failed = false;
  for (const [base, seq, j] of posted) {
    // not started yet: take it back and run it here rather than wait for the worker to wake
    if (Atomics.compareExchange(ctl, base + 31, 1, 3) === 1) {
      call(j);
      continue;
    }
    // A worker that died would leave this thread waiting for ever: give up after a long silence,
    // stop the workers and run single-threaded from then on.
    const t0 = Date.now();
    for (let done = Atomics.load(ctl, base + 1); done !== seq; done = Atomics.load(ctl, base + 1)) {
      if (waitWord(ctl, base + 1, done, 1000) === 'timed-out' && Date.now() - t0 > STALL_TIMEOUT_MS) {
        workersFailed = `a worker gave no answer for ${STALL_TIMEOUT_MS / 1000} s`;
        for (const w of workers.splice(0)) void w.terminate();
        throw new Error(`cpu-wasm: ${workersFailed} (running single-threaded from now on)`);
      }
    }
    failed ||= ctl[base + 30] === 1;
  }
  if (failed) throw new Error('cpu-wasm: a kernel trapped on a worker thread');
}
