import { addWorkers, setWasmThreads, WORKER_LOOP, workerCount, workerFailure } from './pool.js';
import { getKernels } from './kernels.js';

/**
 * cpu-wasm's threads in a browser: Web Workers on the shared wasm memory, which a page has only
 * when it is cross-origin isolated (served with `Cross-Origin-Opener-Policy: same-origin` and
 * `Cross-Origin-Embedder-Policy: require-corp`); elsewhere the kernels run on one thread. Each
 * worker runs the same loop as a Node worker thread (pool.ts), from a Blob URL (no file to serve).
 * Workers start asynchronously: a browser starts one only after its main thread returns to the
 * event loop, so they are started here, ahead, and not when a kernel first wants them.
 */

/** The program of a Web Worker: wait for its data, say it is ready, run the loop. */
const WEB_WORKER_SOURCE = `
self.onmessage = (e) => {
  const { module, memory, slot, names } = e.data;
  self.postMessage('ready');
  ${WORKER_LOOP}
};
`;

/** What the browser offers: a Worker constructor, Blob URLs, isolation, the core count. */
interface BrowserGlobals {
  readonly Worker?: new (url: string, opts?: { name?: string }) => WebWorker;
  readonly Blob?: new (parts: string[], opts: { type: string }) => object;
  readonly URL?: { createObjectURL(b: object): string };
  readonly crossOriginIsolated?: boolean;
  readonly navigator?: { readonly hardwareConcurrency?: number };
}
interface WebWorker {
  postMessage(m: unknown): void;
  terminate(): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message?: string }) => void) | null;
}

/** Why this page cannot run cpu-wasm on several threads, or undefined when it can. */
export function webThreadsUnavailable(): string | undefined {
  const g = globalThis as BrowserGlobals;
  if (typeof g.Worker !== 'function' || typeof g.Blob !== 'function' || !g.URL?.createObjectURL) return 'no Web Workers here';
  if (g.crossOriginIsolated !== true)
    return 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), so it has no SharedArrayBuffer';
  if (!getKernels().arena.shared) return 'the wasm memory is not shared (no SharedArrayBuffer)';
  return undefined;
}

/** The result of {@link startWasmThreads}: threads in use (the page's own included) and, if fewer than asked, why. */
export interface WasmThreads {
  readonly threads: number;
  readonly reason?: string;
}

/** Starts one Web Worker on the kernels' memory; resolves once its loop runs. */
function startWebWorker(data: object, timeoutMs: number): Promise<WebWorker> {
  const g = globalThis as BrowserGlobals;
  const url = g.URL!.createObjectURL(new g.Blob!([WEB_WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new g.Worker!(url, { name: 'partax cpu-wasm' });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      w.terminate();
      reject(new Error(`a Web Worker did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    w.onmessage = () => {
      clearTimeout(timer);
      resolve(w);
    };
    w.onerror = (e) => {
      clearTimeout(timer);
      w.terminate();
      reject(new Error(`a Web Worker failed to start: ${e.message ?? 'no message'}`));
    };
    w.postMessage(data);
  });
}

/**
 * Lets cpu-wasm kernels use `threads` threads in this page (default: the core count,
 * `navigator.hardwareConcurrency`): starts threads − 1 Web Workers where the page is cross-origin
 * isolated, else stays on one thread and says why. Resolves to the threads in use.
 *
 *     const { threads, reason } = await startWasmThreads();
 */
export async function startWasmThreads(threads?: number, timeoutMs = 10_000): Promise<WasmThreads> {
  const want = threads ?? Math.max(1, (globalThis as BrowserGlobals).navigator?.hardwareConcurrency ?? 1);
  if (!Number.isInteger(want) || want < 1) throw new RangeError(`startWasmThreads: expected a positive integer number of threads, got ${threads}`);
  const why = want > 1 ? webThreadsUnavailable() : undefined;
  let reason: string | undefined = why;
  if (why === undefined && workerCount() < want - 1) {
    try {
      await addWorkers(want - 1 - workerCount(), (d) => startWebWorker(d, timeoutMs));
    } catch (e) {
      reason = e instanceof Error ? e.message : String(e);
    }
  }
  const n = Math.min(want, workerCount() + 1);
  setWasmThreads(n);
  return n < want ? { threads: n, reason: reason ?? workerFailure() ?? 'fewer workers started' } : { threads: n };
}
