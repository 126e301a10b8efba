import cliProgress, { type MultiBar, type SingleBar } from 'cli-progress';
import { guardStream, writeSafely } from '../output.js';

/**
 * What `partax train` shows while it runs (on stderr): on a terminal, a cli-progress bar with the
 * epoch, the step, loss, accuracy, steps/s and the learning rates in force (one per group);
 * otherwise (a pipe, a file, CI) plain lines a few times per epoch. Messages (epoch summaries,
 * warnings) are printed above the bar. A stream that closes (its reader went away) is no longer
 * written to; training is not disturbed.
 */

/** The numbers shown for a step. */
export interface ProgressInfo {
  readonly step: number;
  readonly epoch: number;
  readonly epochs: number;
  readonly loss: number;
  readonly accuracy: number | null;
  readonly stepsPerSecond: number;
  readonly lrs: readonly number[];
}

/** A progress display. */
export interface Progress {
  start(total: number, done: number): void;
  update(info: ProgressInfo): void;
  /** A line above the bar (or just a line). */
  log(line: string): void;
  stop(): void;
}

/** How to show progress: a bar, lines, nothing, or auto (a bar on a terminal). */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

const num = (x: number, digits = 4) => (Number.isFinite(x) ? x.toPrecision(digits) : String(x));
/** Learning rates, briefly: at most six, then the count of the rest. */
export const formatLrs = (lrs: readonly number[]): string =>
  `[${lrs.slice(0, 6).map((v) => (v === 0 ? '0' : v.toExponential(1))).join(' ')}${lrs.length > 6 ? ` …+${lrs.length - 6}` : ''}]`;

const payload = (i: ProgressInfo) => ({
  ep: `epoch ${i.epoch + 1}/${i.epochs}`,
  loss: num(i.loss),
  acc: i.accuracy === null ? '—' : `${(100 * i.accuracy).toFixed(1)}%`,
  sps: num(i.stepsPerSecond, 3),
  lrs: formatLrs(i.lrs),
});

class BarProgress implements Progress {
  private multi: MultiBar;
  private bar: SingleBar | null = null;
  constructor(stream: NodeJS.WritableStream) {
    this.multi = new cliProgress.MultiBar(
      {
        format: '{ep} |{bar}| {value}/{total} | loss {loss} | acc {acc} | {sps} steps/s | lrs {lrs}',
        stream,
        hideCursor: true,
        clearOnComplete: false,
        barsize: 24,
        fps: 5,
        autopadding: true,
      },
      cliProgress.Presets.shades_classic,
    );
  }
  start(total: number, done: number) {
    this.bar = this.multi.create(total, done, { ep: 'starting', loss: '—', acc: '—', sps: '—', lrs: '[]' });
  }
  update(info: ProgressInfo) {
    this.bar?.update(info.step, payload(info));
  }
  log(line: string) {
    this.multi.log(`${line}\n`);
  }
  stop() {
    this.multi.stop();
  }
}

class LineProgress implements Progress {
  private total = 0;
  private every = 1;
  private last = 0;
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly perEpoch: number,
  ) {}
  start(total: number, done: number) {
    this.total = total;
    this.every = Math.max(1, Math.round(this.perEpoch / 4));
    this.last = done;
  }
  update(info: ProgressInfo) {
    if (info.step - this.last < this.every && info.step !== this.total && info.step !== 1) return;
    this.last = info.step;
    const p = payload(info);
    writeSafely(this.out, `${p.ep} step ${info.step}/${this.total} loss ${p.loss} acc ${p.acc} ${p.sps} steps/s lrs ${p.lrs}\n`);
  }
  log(line: string) {
    writeSafely(this.out, `${line}\n`);
  }
  stop() {}
}

class SilentProgress implements Progress {
  start() {}
  update() {}
  log() {}
  stop() {}
}

/**
 * The progress display for `mode` on `stream` (default stderr); `perEpoch` sets how often plain
 * lines are printed (four per epoch).
 *
 *     const p = createProgress('auto', 80);
 *     p.start(240, 0); p.update({ step: 1, … }); p.stop();
 */
export function createProgress(mode: ProgressMode, perEpoch: number, stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): Progress {
  guardStream(stream);
  const m = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  if (m === 'bar') return new BarProgress(stream);
  if (m === 'lines') return new LineProgress(stream, perEpoch);
  return new SilentProgress();
}
