/**
 * Peer: PyTorch (Debian's `python3-torch`), and through it the paper's grnewt, in a Python
 * subprocess (bench/peers/torch_peer.py) that stays alive and serves one run at a time over
 * stdin/stdout, so the bench can interleave its runs with partax's. It runs on one thread
 * (`torch.set_num_threads(1)`, OMP/OPENBLAS/MKL_NUM_THREADS=1) and times each run itself.
 *
 * Where no Python imports torch, {@link startTorchPeer} returns the reason instead, and the
 * bench prints it and skips these rows. `PARTAX_PYTHON` names the interpreter to use; otherwise
 * `python3` on the PATH, then Debian's `/usr/bin/python3` (a pyenv or venv `python3` first on the
 * PATH does not see Debian's packages). grnewt is imported from `GRNEWT_ROOT`.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Contender, MlpProblem } from '../harness.js';

const PEER = fileURLToPath(new URL('./torch_peer.py', import.meta.url));

/** What the peer reports about itself. */
export interface TorchInfo {
  readonly torch: string;
  readonly python: string;
  readonly threads: number;
  readonly blas: string;
  /** grnewt imported (from GRNEWT_ROOT). */
  readonly grnewt: boolean;
  /** Adjustments made to import or run grnewt (stubs, the materialize_grads shim). */
  readonly grnewt_notes: readonly string[];
  /** Why grnewt is unavailable, when it is. */
  readonly grnewt_reason: string | null;
}

/** One run's own timing, measured inside the peer (ms). */
export interface PeerTimes {
  readonly ms: readonly number[];
  readonly cpu_ms: readonly number[];
}

/** A live peer process. */
export interface TorchPeer {
  readonly info: TorchInfo;
  /** The interpreter running it. */
  readonly python: string;
  /** Sends one command and waits for its answer; an answer with `error` rejects with it. */
  request<T = Record<string, unknown>>(cmd: Record<string, unknown>): Promise<T>;
  /** Writes a problem (and optionally a direction u) to a file the peer reads; returns its path. */
  problemFile(p: MlpProblem, u?: readonly Float32Array[]): string;
  /** Ends the process and removes its problem files. */
  close(): void;
}

/** The Python interpreters to try, first one that imports torch wins. */
function candidates(): string[] {
  const env = process.env.PARTAX_PYTHON;
  return env ? [env] : ['python3', '/usr/bin/python3'];
}

/** The first interpreter that imports torch, or the reason none does. */
function findPython(): { python: string } | { reason: string } {
  const tried: string[] = [];
  for (const py of candidates()) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python: py };
    const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
    tried.push(`${py}: ${why}`);
  }
  return { reason: `\`python3 -c 'import torch'\` fails (${tried.join('; ')}): install Debian's python3-torch (apt-get install python3-torch) or set PARTAX_PYTHON` };
}

/**
 * Starts the peer. Returns the live peer, or a string saying why PyTorch is unavailable.
 */
export async function startTorchPeer(): Promise<TorchPeer | string> {
  const found = findPython();
  if ('reason' in found) return found.reason;
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' };
  const child: ChildProcessWithoutNullStreams = spawn(found.python, ['-u', PEER], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string | null) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  child.on('exit', () => {
    for (const w of waiting.splice(0)) w(null);
  });
  child.on('error', () => {
    for (const w of waiting.splice(0)) w(null);
  });
  const dir = mkdtempSync(join(tmpdir(), 'partax-bench-torch-'));
  let files = 0;
  // one command at a time: each request waits for the previous answer
  let queue: Promise<unknown> = Promise.resolve();
  const request = <T>(cmd: Record<string, unknown>): Promise<T> => {
    const next = queue.then(
      () =>
        new Promise<T>((resolve, reject) => {
          waiting.push((line) => {
            if (line === null) return reject(new Error(`the PyTorch peer exited (${found.python} ${PEER}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
            const answer = JSON.parse(line) as T & { error?: string };
            if (answer.error !== undefined) reject(new Error(`PyTorch peer: ${answer.error}`));
            else resolve(answer);
          });
          child.stdin.write(`${JSON.stringify(cmd)}\n`);
        }),
    );
    queue = next.catch(() => undefined);
    return next;
  };
  let info: TorchInfo;
  try {
    info = await request<TorchInfo>({ op: 'hello' });
  } catch (e) {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
    return `the PyTorch peer did not start: ${e instanceof Error ? e.message : String(e)}`;
  }
  return {
    info,
    python: found.python,
    request,
    problemFile(p, u) {
      const parts: ArrayBufferView[] = [...p.params, p.x, p.labels, ...(u ?? [])];
      const path = join(dir, `problem-${files++}.bin`);
      writeFileSync(path, Buffer.concat(parts.map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength))));
      return path;
    },
    close() {
      if (child.exitCode === null) {
        child.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
        setTimeout(() => child.exitCode === null && child.kill(), 2000).unref();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A contender of the harness's `interleave` that runs in the peer: one run of its case `id` per call, timed there. */
export const remote = (peer: TorchPeer, name: string, id: string): Contender => ({
  name,
  async run() {
    const t = await peer.request<PeerTimes>({ op: 'run', id, n: 1 });
    return { ms: t.ms[0]!, cpuMs: t.cpu_ms[0]! };
  },
});
