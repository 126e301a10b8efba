/**
 * Threads by measurement: whether a kernel call of a given shape is split over the worker threads
 * or runs on the calling thread alone is decided by timing both ways on this machine, shape by
 * shape, while the program runs. A second thread pays on a large product of an idle machine and
 * costs time on a mid-sized one, or whenever the other core is busy (a worker slow to wake holds
 * a row block the caller must wait for); no fixed size threshold is right everywhere.
 *
 * Per shape key the gate keeps the last few wall times of each way (not the first call's of each
 * way: cold memory, a worker starting), and how busy the other cores were during the serial calls.
 * The first calls alternate (split first) until each way has {@link GateOptions.warm} samples;
 * then every call takes the way whose typical cost is lower (a split call's cost being its wall
 * time plus the work it displaced from the other cores: its time times their load), except that
 * now and then it takes the other way again to notice a change (another process taking the second
 * core, or leaving it). An exploration clearly costlier than the other way's typical cost (by more than
 * {@link GateOptions.close}) doubles the interval to the next one (up to
 * {@link GateOptions.maxInterval} calls), a cheaper or close one resets it, so a change is
 * confirmed within a few short intervals: where one way is clearly cheaper, the other runs on
 * under 2% of the calls in the steady state; where both are close, either costs about the same.
 *
 * The choice changes only where the work is done, never the result: the GEMM splits whole row
 * blocks, each computed as on one thread (laws/backends.laws.ts checks it bit for bit).
 *
 *     const gate = splitGate();
 *     const split = gate.choose(key);
 *     const t0 = performance.now(); run(split); gate.record(key, split, performance.now() - t0);
 */

/** How the gate measures; the defaults suit kernels of tens of µs to tens of ms. */
export interface GateOptions {
  /** Wall times kept per way and shape (their mean without the largest decides). */
  readonly window: number;
  /** Samples of each way taken before they decide. */
  readonly warm: number;
  /** Calls between explorations of the losing way after it last won (the shortest interval). */
  readonly minInterval: number;
  /** The longest interval between explorations. */
  readonly maxInterval: number;
  /** Shapes remembered; beyond, the gate forgets them all and measures again. */
  readonly maxShapes: number;
  /**
   * An exploration within this factor of the other way's typical cost is a close call: the gate keeps
   * exploring at the shortest interval (costing at most this factor − 1 on one call in
   * `minInterval`) rather than backing off, so that it settles quickly where both ways are near.
   */
  readonly close: number;
  /**
   * For its first this many calls a shape is explored at the shortest interval whatever the
   * outcome: the first calls of a process (code not yet optimised, memory not yet touched, a
   * worker just started) can make either way look worse than it is.
   */
  readonly learn: number;
}

export const GATE_DEFAULTS: GateOptions = { window: 8, warm: 3, minInterval: 16, maxInterval: 64, maxShapes: 512, close: 1.15, learn: 128 };

/** What the gate knows of one shape: its recent wall times each way, in ms, and its choice. */
export interface ShapeRecord {
  readonly key: string;
  readonly serialMs: readonly number[];
  readonly splitMs: readonly number[];
  /** The other cores' load during the last serial calls (0: idle, 1: one core busy). */
  readonly otherLoad: readonly number[];
  /** Calls decided for this shape so far. */
  readonly calls: number;
  /** Calls that were split. */
  readonly splits: number;
  /** The way the costs favour now (undefined while warming up). */
  readonly favoured: 'split' | 'serial' | undefined;
}

/** A split gate: `choose` before a call, `record` its wall time after. */
export interface SplitGate {
  /**
   * Whether the next call of shape `key` should be split over the threads. With `splitFirst` (a
   * product so large that splitting is the likely winner) the shape starts split and the serial way
   * is only explored, every `minInterval` calls, until its times say otherwise; else the first
   * calls alternate.
   */
  choose(key: string, splitFirst?: boolean): boolean;
  /**
   * Records the wall time of a call of shape `key` that ran split (or not), and for a serial call,
   * where known, how busy the other cores were meanwhile: the process's CPU time over the wall
   * time, less the calling thread's one (0 when nothing else ran).
   */
  record(key: string, split: boolean, ms: number, otherLoad?: number): void;
  /** What the gate knows, shape by shape. */
  shapes(): ShapeRecord[];
  /** Forgets every measurement. */
  reset(): void;
}

interface Entry {
  serial: number[];
  split: number[];
  /** The other cores' load during the last 3·window serial calls (see {@link SplitGate.record}). */
  load: number[];
  calls: number;
  splits: number;
  interval: number;
  nextExplore: number;
  /** The way an exploration took, while its time is pending. */
  exploring: boolean | undefined;
  /** The way the costs favour (undefined while warming up), updated as times are recorded. */
  best: boolean | undefined;
  /** Whether each way's first (cold) call was seen: its time is not kept. */
  coldSerial: boolean;
  coldSplit: boolean;
}

/**
 * The typical cost of a way: the mean of its kept times without the largest one (a call
 * preempted once does not decide), so a way that is slow on every other call — a split whose
 * worker competes with the collector half of the time — is charged its expected cost, which a
 * median of a bimodal sample would not.
 */
const typical = (xs: readonly number[]): number => (xs.length < 3 ? mean(xs) : (mean(xs) * xs.length - Math.max(...xs)) / (xs.length - 1));
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * What a split call costs: its wall time, and the work it displaced from the other cores — a split
 * takes them from whatever ran there (V8's collector while eager code leaves garbage, another
 * process), and that work is done later, on this thread or in its way. Measured as the wall time
 * times the other cores' load seen during serial calls of the shape.
 */
const splitCost = (e: Entry): number => typical(e.split) * displaced(e);
/** 1 + the other cores' mean load during serial calls: what a split call's wall time is multiplied by. */
const displaced = (e: Entry): number => 1 + (e.load.length ? mean(e.load) : 0);

/** The way the costs favour, once both ways are warm (ties go to the calling thread alone). */
const favoured = (e: Entry, warm: number): boolean | undefined =>
  e.split.length < warm || e.serial.length < warm ? undefined : splitCost(e) < typical(e.serial) * (1 - 1e-9); // a tie (to rounding) goes to one thread

/** A new gate measuring with `opts` (defaults: {@link GATE_DEFAULTS}). */
export function splitGate(opts: Partial<GateOptions> = {}): SplitGate {
  const o: GateOptions = { ...GATE_DEFAULTS, ...opts };
  if (!(o.warm >= 1 && o.window >= o.warm && o.minInterval >= 2 && o.maxInterval >= o.minInterval && o.maxShapes >= 1 && o.close >= 1 && o.learn >= 0))
    throw new RangeError(`splitGate: inconsistent options ${JSON.stringify(o)} (need warm ≥ 1, window ≥ warm, 2 ≤ minInterval ≤ maxInterval, maxShapes ≥ 1, close ≥ 1, learn ≥ 0)`);
  const entries = new Map<string, Entry>();
  const entry = (key: string): Entry => {
    let e = entries.get(key);
    if (e === undefined) {
      if (entries.size >= o.maxShapes) entries.clear();
      e = { serial: [], split: [], load: [], calls: 0, splits: 0, interval: o.minInterval, nextExplore: 0, exploring: undefined, best: undefined, coldSerial: false, coldSplit: false };
      entries.set(key, e);
    }
    return e;
  };
  return {
    choose(key, splitFirst = false) {
      const e = entry(key);
      e.calls++;
      if (splitFirst && e.calls === 1) e.nextExplore = 1 + o.minInterval;
      // split first: split is taken as favoured until the serial way is warm
      const best = e.best ?? (splitFirst && e.serial.length < o.warm ? true : undefined);
      let split: boolean;
      if (best === undefined) split = e.split.length <= e.serial.length && e.split.length < o.warm ? true : e.serial.length >= o.warm;
      else if (e.calls >= e.nextExplore) {
        split = !best;
        e.exploring = split;
      } else split = best;
      if (split) e.splits++;
      return split;
    },
    record(key, split, ms, otherLoad) {
      const e = entry(key);
      // the first call each way pays for cold memory and, split, for starting the workers
      if (split ? !e.coldSplit : !e.coldSerial) {
        if (split) e.coldSplit = true;
        else e.coldSerial = true;
        return;
      }
      const times = split ? e.split : e.serial;
      times.push(ms);
      if (times.length > o.window) times.shift();
      if (!split && otherLoad !== undefined && Number.isFinite(otherLoad)) {
        e.load.push(Math.max(0, otherLoad));
        if (e.load.length > 3 * o.window) e.load.shift();
      }
      const best = (e.best = favoured(e, o.warm));
      if (e.exploring === split) {
        // the explored way beat the other's typical cost or came close: the machine may have changed,
        // look again soon (a single sample barely moves the mean); it lost clearly: back off
        const cost = split ? ms * displaced(e) : ms;
        const near = cost < o.close * (split ? typical(e.serial) : splitCost(e));
        e.interval = near || e.calls < o.learn ? o.minInterval : Math.min(2 * e.interval, o.maxInterval);
        e.exploring = undefined;
        e.nextExplore = e.calls + e.interval;
      } else if (best !== undefined && e.nextExplore === 0) e.nextExplore = e.calls + e.interval;
    },
    shapes() {
      return [...entries].map(([key, e]) => {
        const f = e.best;
        return { key, serialMs: [...e.serial], splitMs: [...e.split], otherLoad: [...e.load], calls: e.calls, splits: e.splits, favoured: f === undefined ? undefined : f ? 'split' : 'serial' };
      });
    },
    reset() {
      entries.clear();
    },
  };
}
