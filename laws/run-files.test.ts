import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { removeStaleTemps, tempPathOf, writeFileAtomic, type WriterFs } from '../src/io/atomic-write.js';
import { FileError } from '../src/io/file-error.js';
import { LOCK_FILE, LockedError, lockDirectory } from '../src/io/run-lock.js';
import { CHECKPOINT_FORMAT_V1, ChecksumError, checkpointToJSON, parseCheckpoint } from '../src/cli/train/checkpoint.js';
import { BIN, partax, ROOT, startLongRun } from './harness/cli.js';
import { RUNS, runs } from './harness/index.js';

/**
 * Files and runs of `partax train`: what survives a full disk, a kill, a second process, a closed
 * pipe or a damaged file. The atomic writer is checked in-process with injected write faults
 * (short writes, ENOSPC at any byte); the rest runs the command as a subprocess — on a real 2 MB
 * tmpfs when this runs as root (CI does), two runs on one directory, a stale lock, stdout and
 * stderr closed early, flipped digits in a checkpoint, a no-op resume, a foreign --out directory.
 */

const tmp = mkdtempSync(join(tmpdir(), 'partax-files-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const temps = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

/** A process id that is certainly not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

// ---------------------------------------------------------------- the atomic writer, with injected faults

/** Node's fs, except that write(2) writes at most `chunk` bytes a call and fails with ENOSPC once `capacity` bytes were written in all. */
function faultyFs(chunk: number, capacity: number): WriterFs & { written: number } {
  const f = {
    written: 0,
    openSync: (p: string, flags: string, mode?: number) => fs.openSync(p, flags, mode),
    writeSync(fd: number, buf: Uint8Array, off: number, len: number) {
      const room = capacity - f.written;
      if (room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
      const n = fs.writeSync(fd, buf, off, Math.min(len, chunk, room));
      f.written += n;
      return n;
    },
    fsyncSync: (fd: number) => fs.fsyncSync(fd),
    closeSync: (fd: number) => fs.closeSync(fd),
    renameSync: (a: string, b: string) => fs.renameSync(a, b),
    unlinkSync: (p: string) => fs.unlinkSync(p),
  };
  return f;
}

test('writeFileAtomic: short writes are continued to the last byte; ENOSPC at any byte leaves the old file byte for byte, no temporary file, and a FileError naming the path and ENOSPC', () => {
  const dir = join(tmp, 'atomic');
  mkdirSync(dir);
  const path = join(dir, 'checkpoint.json');
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), fc.string({ minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 64 }), fc.nat({ max: 400 }), (old, next, chunk, capacity) => {
      writeFileSync(path, old);
      const bytes = Buffer.from(next, 'utf8');
      const f = faultyFs(chunk, capacity);
      if (capacity >= bytes.length) {
        writeFileAtomic(path, next, f);
        assert.equal(readFileSync(path, 'utf8'), next, 'the whole new content');
      } else {
        assert.throws(
          () => writeFileAtomic(path, next, f),
          (e: unknown) => e instanceof FileError && e.code === 'ENOSPC' && e.message.includes(path) && /ENOSPC \(no space left on the device\)/.test(e.message) && /unchanged/.test(e.message),
        );
        assert.equal(readFileSync(path, 'utf8'), old, 'the previous content, byte for byte');
      }
      assert.deepEqual(temps(dir), [], 'no temporary file left');
    }),
    RUNS,
  );
});

test('writeFileAtomic: a failing fsync or rename also leaves the old file and no temporary file', () => {
  const dir = join(tmp, 'atomic-2');
  mkdirSync(dir);
  const path = join(dir, 'config.json');
  writeFileSync(path, 'old');
  for (const step of ['fsyncSync', 'renameSync', 'closeSync'] as const) {
    const f: WriterFs = { ...faultyFs(1 << 20, 1 << 20), [step]: () => { throw Object.assign(new Error(`EIO: i/o error, ${step}`), { code: 'EIO' }); } };
    assert.throws(() => writeFileAtomic(path, 'new content', f), /cannot write '.*config\.json': EIO \(input\/output error\)/);
    assert.equal(readFileSync(path, 'utf8'), 'old', step);
    assert.deepEqual(temps(dir), [], step);
  }
});

test('removeStaleTemps removes the temporary files of dead processes only', () => {
  const dir = join(tmp, 'stale');
  mkdirSync(dir);
  const dead = tempPathOf(join(dir, 'checkpoint.json'), deadPid());
  const live = tempPathOf(join(dir, 'checkpoint.json'), process.pid);
  writeFileSync(dead, 'half a checkpoint');
  writeFileSync(live, 'being written');
  writeFileSync(join(dir, 'notes.tmp'), 'not a partax temporary file');
  assert.deepEqual(removeStaleTemps(dir), [dead.split('/').pop()]);
  assert.deepEqual(readdirSync(dir).sort(), [live.split('/').pop(), 'notes.tmp'].sort());
});

test('lockDirectory: exclusive while the owner runs (the error names the lock and the pid); a dead owner’s lock is taken over with a notice; release removes only our own lock', () => {
  const dir = join(tmp, 'lock');
  mkdirSync(dir);
  const held = lockDirectory(dir);
  assert.throws(() => lockDirectory(dir), (e: unknown) => e instanceof LockedError && e.message.includes(join(dir, LOCK_FILE)) && e.message.includes(`process ${process.pid}`));
  held.release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  const pid = deadPid();
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host: hostname(), started: 'then' }));
  const notices: string[] = [];
  const taken = lockDirectory(dir, (s) => notices.push(s));
  assert.match(notices.join('\n'), new RegExp(`taking over the lock .*${LOCK_FILE} of process ${pid}, which is no longer running`));
  assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: 'elsewhere', started: 'now' })); // replaced behind our back
  taken.release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), true, 'a lock that is not ours any more is left alone');
});

// ---------------------------------------------------------------- checksums

const sampleText = () => {
  const r = spawnSync(process.execPath, [BIN, 'train', ...TINY, '--max-steps', '2', '--out', join(tmp, 'sample')], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(join(tmp, 'sample', 'checkpoint.json'), 'utf8');
};

test('checkpoints carry a sha256 of their content: any changed number is refused naming the checksum; format 1 files (no checksum) still load, with a notice', () => {
  const text = sampleText();
  const c = parseCheckpoint(text, 'ckpt');
  assert.equal(checkpointToJSON(c), text, 'parse → serialise reproduces the file exactly (what the checksum is computed over)');
  const numbers = [...text.matchAll(/\d/g)].map((m) => m.index!).filter((i) => i > text.indexOf('"step"'));
  fc.assert(
    fc.property(fc.constantFrom(...numbers), fc.integer({ min: 1, max: 9 }), (at, add) => {
      const flipped = text.slice(0, at) + String((Number(text[at]) + add) % 10) + text.slice(at + 1);
      let parsed;
      try {
        parsed = parseCheckpoint(flipped, 'checkpoint x');
      } catch (e) {
        assert.ok(e instanceof Error && /checkpoint x/.test(e.message) && (!(e instanceof ChecksumError) || /does not match its checksum/.test(e.message)), String(e));
        return;
      }
      // accepted only when the change did not change a value (a 17th digit below a double's resolution)
      assert.equal(checkpointToJSON(parsed), text, `a changed checkpoint was accepted (digit ${at})`);
    }),
    runs(60),
  );
  const json = JSON.parse(text) as Record<string, unknown>;
  delete json.sha256;
  const v1 = JSON.stringify({ ...json, format: CHECKPOINT_FORMAT_V1 });
  const notices: string[] = [];
  assert.equal(parseCheckpoint(v1, 'old', (s) => notices.push(s)).step, c.step);
  assert.match(notices.join(''), /older format partax-checkpoint\/1, which has no checksum/);
});

// ---------------------------------------------------------------- partax train, as a subprocess

const train = (args: readonly string[]) => partax(['train', ...args]);
const TINY = ['--dataset', 'spirals', '--samples', '200', '--hidden', '8', '--batch-size', '30', '--progress', 'lines', '--optimizer', 'adam', '--lr', '0.01'];
const noStack = (s: string) => assert.doesNotMatch(s, /\n\s+at .*\(.*:\d+:\d+\)/, `a stack trace:\n${s}`);

test('partax train --resume on a changed checkpoint is refused (exit 1) with the checksum message; an intact one resumes', () => {
  const dir = join(tmp, 'flip');
  assert.equal(train([...TINY, '--epochs', '1', '--out', dir]).code, 0);
  const path = join(dir, 'checkpoint.json');
  const text = readFileSync(path, 'utf8');
  const at = text.indexOf('"data":[') + 12;
  const digit = text.slice(at).search(/\d/) + at;
  writeFileSync(path, text.slice(0, digit) + String((Number(text[digit]) + 1) % 10) + text.slice(digit + 1));
  const r = train(['--resume', dir, '--epochs', '2']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /checkpoint '.*checkpoint\.json': the content does not match its checksum/);
  noStack(r.stderr);
  writeFileSync(path, text);
  const ok = train(['--resume', dir, '--epochs', '2']);
  assert.equal(ok.code, 0, ok.stderr);
});

test('partax train --resume with nothing to do leaves config.json untouched (same bytes, same inode and mtime); a resume that trains further records the new epochs atomically', () => {
  const dir = join(tmp, 'noop');
  assert.equal(train([...TINY, '--epochs', '2', '--out', dir]).code, 0);
  const path = join(dir, 'config.json');
  const before = readFileSync(path, 'utf8');
  const st = statSync(path);
  const r = train(['--resume', dir, '--epochs', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /nothing to do/);
  assert.equal(readFileSync(path, 'utf8'), before);
  assert.equal(JSON.parse(before).epochs, 2);
  const st2 = statSync(path);
  assert.equal(st2.ino, st.ino);
  assert.equal(st2.mtimeMs, st.mtimeMs);
  const more = train(['--resume', dir, '--epochs', '3']);
  assert.equal(more.code, 0, more.stderr);
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).epochs, 3);
  assert.deepEqual(temps(dir), []);
});

test('partax train --out into a non-empty directory that is not a partax run is refused (exit 2) naming it; the files there stay as they were', () => {
  const dir = join(tmp, 'user');
  mkdirSync(dir);
  const mine = JSON.stringify({ epochs: 1, dataset: 'spirals' });
  writeFileSync(join(dir, 'run.json'), mine);
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  const r = spawnSync(process.execPath, [BIN, 'train', '--config', 'run.json', '--out', '.', '--progress', 'none'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--out \.: the directory is not empty and is not a partax run \(it holds notes\.txt, run\.json\)/);
  assert.equal(readFileSync(join(dir, 'run.json'), 'utf8'), mine);
  assert.deepEqual(readdirSync(dir).sort(), ['notes.txt', 'run.json']);
  // a file as --out, and a directory under a file: messages, not stack traces
  const f = train([...TINY, '--out', join(dir, 'notes.txt')]);
  assert.equal(f.code, 2);
  assert.match(f.stderr, /notes\.txt: it is a file, not a directory/);
  const g = train([...TINY, '--out', join(dir, 'notes.txt', 'run')]);
  assert.equal(g.code, 1);
  assert.match(g.stderr, /cannot create the run directory '.*notes\.txt\/run': (ENOTDIR|EEXIST)/);
  noStack(f.stderr + g.stderr);
});

test('two runs on one directory: the second is refused naming the lock and the first one’s pid, and the first finishes with a resumable checkpoint', async () => {
  const dir = join(tmp, 'two');
  const first = await startLongRun(dir);
  const lock = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number };
  assert.equal(lock.pid, first.child.pid);
  for (const args of [['--resume', dir, '--max-steps', '5'], ['--dataset', 'teacher', '--samples', '400', '--out', dir]]) {
    const r = train(args);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`in use by process ${first.child.pid} .*lock file ${join(dir, LOCK_FILE).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    noStack(r.stderr);
  }
  first.child.kill('SIGINT');
  assert.equal(await first.exited, 130, first.stderr());
  assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'the lock is released at the end');
  const r = train(['--resume', dir, '--max-steps', String(parseCheckpoint(readFileSync(join(dir, 'checkpoint.json'), 'utf8'), 'c').step + 1)]);
  assert.equal(r.code, 0, r.stderr);
});

test('a run killed with SIGKILL leaves a stale lock (and maybe a temporary file): the next --resume takes the lock over with a notice, removes the file and continues', async () => {
  const dir = join(tmp, 'killed');
  const run = await startLongRun(dir, 3, ['--checkpoint-every', '1']);
  run.child.kill('SIGKILL');
  await run.exited;
  const pid = run.child.pid!;
  assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, pid, 'SIGKILL leaves the lock');
  const half = tempPathOf(join(dir, 'checkpoint.json'), pid);
  writeFileSync(half, '{"format": "partax-checkpoint/2", "ste'); // as a kill in the middle of a write leaves it
  const step = parseCheckpoint(readFileSync(join(dir, 'checkpoint.json'), 'utf8'), 'c').step;
  const r = train(['--resume', dir, '--max-steps', String(step + 2)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`taking over the lock .* of process ${pid}, which is no longer running`));
  assert.match(r.stderr, /removed \d+ temporary file\(s\) a killed run left in .*checkpoint\.json\.\d+\.tmp/);
  assert.deepEqual(temps(dir), []);
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  assert.equal(parseCheckpoint(readFileSync(join(dir, 'checkpoint.json'), 'utf8'), 'c').step, step + 2);
});

test('partax train with its stdout and stderr closed early (`| head`) trains to the end: exit 0, a complete checkpoint, and --resume continues', async () => {
  const dir = join(tmp, 'pipes');
  const child = spawn(process.execPath, [BIN, 'train', ...TINY, '--epochs', '4', '--out', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader of stdout is gone at once
  child.stderr.once('data', () => child.stderr.destroy()); // the reader of stderr after the first line
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 0);
  const ck = parseCheckpoint(readFileSync(join(dir, 'checkpoint.json'), 'utf8'), 'ckpt');
  assert.equal(ck.step, 4 * Math.ceil(160 / 30));
  assert.equal(ck.done, true);
  const r = train(['--resume', dir, '--epochs', '5']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /done: 30 steps/);
});

test('partax train: a run that diverges says whether a checkpoint exists; a finite blow-up ends with a warning, not a plain "done"', () => {
  const nan = train(['--dataset', 'teacher', '--samples', '200', '--batch-size', '20', '--epochs', '5', '--optimizer', 'sgd', '--lr', '1000', '--progress', 'none', '--out', join(tmp, 'nan')]);
  assert.equal(nan.code, 1);
  assert.match(nan.stderr, /the run diverged; no checkpoint was written \(the first was due at step 100\)/);
  assert.doesNotMatch(nan.stderr, /checkpoint is kept/);
  const kept = train(['--dataset', 'teacher', '--samples', '200', '--batch-size', '20', '--epochs', '5', '--optimizer', 'sgd', '--lr', '10', '--checkpoint-every', '5', '--progress', 'none', '--out', join(tmp, 'nan-kept')]);
  assert.equal(kept.code, 1);
  const at = Number(/the training loss is \S+ at step (\d+)/.exec(kept.stderr)?.[1]);
  const ck = parseCheckpoint(readFileSync(join(tmp, 'nan-kept', 'checkpoint.json'), 'utf8'), 'c');
  assert.equal(ck.step, 5 * Math.floor((at - 1) / 5));
  assert.match(kept.stderr, new RegExp(`the checkpoint of step ${ck.step} is kept`));
  const blowUp = train([...TINY.slice(0, -4), '--optimizer', 'sgd', '--lr', '100', '--epochs', '2', '--out', join(tmp, 'blow-up')]);
  assert.equal(blowUp.code, 0, blowUp.stderr);
  const steps = readFileSync(join(tmp, 'blow-up', 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const first = steps[0].loss as number;
  const last = steps.filter((s) => s.type === 'epoch').pop().trainLoss as number;
  assert.ok(last > 2 * first, `the run did blow up: ${first} → ${last}`);
  assert.match(blowUp.stdout, new RegExp(`done, with a warning: .*WARNING: the training loss rose from ${first.toPrecision(4)} at step 1 to ${last.toPrecision(4)}`));
  noStack(nan.stderr + kept.stderr + blowUp.stderr);
});

// ---------------------------------------------------------------- a full disk (a real tmpfs; root only)

/** Mounts a tmpfs of `size` at a new directory, or returns why it cannot. */
function mountTmpfs(size: string): { dir: string; unmount: () => void } | string {
  if (process.getuid?.() !== 0) return 'not root (mounting a tmpfs needs root; CI runs as root)';
  const dir = mkdtempSync(join(tmp, 'tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    return `mount -t tmpfs failed: ${(e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message}`;
  }
  return { dir, unmount: () => execFileSync('umount', [dir]) };
}

/** Fills the file system of `dir` until `leave` bytes are free. */
function fillUntil(dir: string, leave: number): string {
  const s = fs.statfsSync(dir);
  const free = s.bavail * s.bsize;
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, free - leave)));
  return filler;
}

test('a full disk (2 MB tmpfs): the checkpoint write fails with ENOSPC naming the path, exit 1, the previous checkpoint byte for byte, no temporary file; so does the metrics rewrite on resume; with space again the run resumes exactly', (t) => {
  const mount = mountTmpfs('2m');
  if (typeof mount === 'string') {
    t.skip(`SKIPPED: ${mount}`);
    return;
  }
  try {
    const dir = join(mount.dir, 'run');
    const RUN = ['--dataset', 'spirals', '--hidden', '96,96', '--batch-size', '100', '--optimizer', 'adam', '--lr', '0.003', '--progress', 'none', '--checkpoint-every', '0'];
    const first = train([...RUN, '--max-steps', '2', '--out', dir]);
    assert.equal(first.code, 0, first.stderr);
    const ckPath = join(dir, 'checkpoint.json');
    const good = readFileSync(ckPath);
    assert.ok(good.length > 300_000 && good.length < 900_000, `checkpoint of ${good.length} bytes: fits twice in 2 MB, not beside a filler`);
    const filler = fillUntil(mount.dir, good.length / 2);
    const full = train(['--resume', dir, '--max-steps', '4']);
    assert.equal(full.code, 1, `exit status ${full.code}: ${full.stdout}${full.stderr}`);
    assert.match(full.stderr, new RegExp(`cannot write '${ckPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': ENOSPC \\(no space left on the device\\); the previous 'checkpoint\\.json' is unchanged`));
    noStack(full.stderr);
    assert.deepEqual(readFileSync(ckPath), good, 'the previous checkpoint, byte for byte');
    assert.deepEqual(temps(dir), []);
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
    // metrics.jsonl now has steps 3–4 past the checkpoint: a resume rewrites it, and that fails too on a disk with no room
    const metrics = readFileSync(join(dir, 'metrics.jsonl'));
    rmSync(filler);
    fillUntil(mount.dir, 4096); // one page: the lock file takes it, the rewrite finds none
    const rewrite = train(['--resume', dir, '--max-steps', '4']);
    assert.equal(rewrite.code, 1, rewrite.stderr);
    assert.match(rewrite.stderr, /metrics\.jsonl'?: ENOSPC/);
    assert.deepEqual(readFileSync(join(dir, 'metrics.jsonl')), metrics);
    assert.deepEqual(readFileSync(ckPath), good);
    assert.deepEqual(temps(dir), []);
    rmSync(filler);
    const again = train(['--resume', dir, '--max-steps', '4']);
    assert.equal(again.code, 0, again.stderr);
    const straight = join(tmp, 'straight-disk');
    assert.equal(train([...RUN, '--max-steps', '4', '--out', straight]).code, 0);
    const params = (d: string) => (JSON.parse(readFileSync(join(d, 'checkpoint.json'), 'utf8')) as { params: unknown }).params;
    assert.deepEqual(params(dir), params(straight), 'the resumed run equals the straight one');
  } finally {
    mount.unmount();
  }
});
