import { foldIn, type Key, permutation } from '../random/index.js';
import { type Batch, bufferOf, type Dataset, sizeOfDataset, takeRows, type TargetDType } from './dataset.js';

/**
 * Batching with a seeded reshuffle per epoch. The order of epoch e is `permutation(foldIn(key, e), N)`,
 * so the batch at a position (epoch, batch) is a pure function of the dataset, the key and the
 * position: a run can save its position in a checkpoint and resume with exactly the same batches.
 *
 * Two loaders share this scheme:
 * - {@link epochLoader}: one pass per epoch; every example appears exactly once per epoch (the last
 *   batch is smaller when N is not a multiple of the batch size, unless `dropLast`);
 * - {@link cyclingLoader}: an endless stream of full batches (NewtonSummary's "hg" batches), its own
 *   key and its own position, passing from one shuffled epoch to the next.
 */

/** Where a loader stands: the epoch and the index of the next batch within it. */
export interface LoaderPosition {
  readonly epoch: number;
  readonly batch: number;
}

/** The start of a loader. */
export const START: LoaderPosition = Object.freeze({ epoch: 0, batch: 0 });

/** A batch together with the example indices it was taken from. */
export interface IndexedBatch<Y extends TargetDType = TargetDType> extends Batch<Y> {
  readonly indices: Int32Array;
}

/** A pure batch loader: `at(pos)` is the batch at `pos`, `next(pos)` the position after it. */
export interface Loader<Y extends TargetDType = TargetDType> {
  /** The number of examples. */
  readonly size: number;
  /** The (largest) batch size. */
  readonly batchSize: number;
  /** How many batches one epoch has. */
  readonly batchesPerEpoch: number;
  /** The example indices of epoch `epoch`, in order (a shuffled 0..N−1). */
  order(epoch: number): Int32Array;
  /** The batch at a position. */
  at(pos: LoaderPosition): IndexedBatch<Y>;
  /** The position after `pos`. */
  next(pos: LoaderPosition): LoaderPosition;
  /**
   * Iterates from `from` (default the start): yields each batch with the position that follows
   * it (save that one to resume after the batch). An {@link epochLoader} stops at the end of
   * `from`'s epoch; a {@link cyclingLoader} never stops.
   */
  iterate(from?: LoaderPosition): Generator<{ batch: IndexedBatch<Y>; next: LoaderPosition }, void, undefined>;
}

/** Options of the loaders. */
export interface LoaderOptions {
  /** Examples per batch: a positive integer. */
  readonly batchSize: number;
  /** The key of the shuffles (epoch e uses foldIn(key, e)). */
  readonly key: Key;
  /** Leave out the last, smaller batch of each epoch (default false for {@link epochLoader}). */
  readonly dropLast?: boolean;
}

function checkPosition(op: string, pos: LoaderPosition, perEpoch: number): void {
  if (!pos || !Number.isSafeInteger(pos.epoch) || pos.epoch < 0 || !Number.isInteger(pos.batch) || pos.batch < 0 || pos.batch >= perEpoch)
    throw new RangeError(`${op}: position ${JSON.stringify(pos)} is not an epoch ≥ 0 and a batch in [0, ${perEpoch})`);
}

function makeLoader<Y extends TargetDType>(op: string, ds: Dataset<Y>, opts: LoaderOptions, cycle: boolean): Loader<Y> {
  const n = sizeOfDataset(ds);
  const { batchSize, key } = opts;
  const dropLast = cycle ? true : (opts.dropLast ?? false);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`${op}: batchSize must be a positive integer, got ${String(batchSize)}`);
  if (n === 0) throw new RangeError(`${op}: dataset '${ds.name}' is empty`);
  if (dropLast && batchSize > n)
    throw new RangeError(`${op}: batchSize ${batchSize} is larger than dataset '${ds.name}' (${n} examples), so no full batch exists`);
  const perEpoch = dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  let cached: { epoch: number; order: Int32Array } | null = null;
  const order = (epoch: number): Int32Array => {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`${op}: epoch must be a non-negative integer, got ${String(epoch)}`);
    if (cached?.epoch !== epoch) cached = { epoch, order: bufferOf(permutation(foldIn(key, epoch), n)) as Int32Array };
    return cached.order;
  };
  const at = (pos: LoaderPosition): IndexedBatch<Y> => {
    checkPosition(op, pos, perEpoch);
    const lo = pos.batch * batchSize;
    const indices = order(pos.epoch).slice(lo, Math.min(n, lo + batchSize));
    return { x: takeRows(ds.x, indices), y: takeRows(ds.y as never, indices) as never, indices };
  };
  const next = (pos: LoaderPosition): LoaderPosition => {
    checkPosition(op, pos, perEpoch);
    return pos.batch + 1 < perEpoch ? { epoch: pos.epoch, batch: pos.batch + 1 } : { epoch: pos.epoch + 1, batch: 0 };
  };
  function* iterate(from: LoaderPosition = START) {
    let pos = from;
    checkPosition(op, pos, perEpoch);
    const epoch = pos.epoch;
    while (cycle || pos.epoch === epoch) {
      const batch = at(pos);
      pos = next(pos);
      yield { batch, next: pos };
    }
  }
  return { size: n, batchSize, batchesPerEpoch: perEpoch, order, at, next, iterate };
}

/**
 * Epoch batches of a dataset, reshuffled each epoch with `foldIn(key, epoch)`. Every example is in
 * exactly one batch per epoch (unless `dropLast`).
 *
 *     const train = epochLoader(ds, { batchSize: 100, key: random.key(1) });
 *     for (let e = 0; e < 3; e++) for (const { batch } of train.iterate({ epoch: e, batch: 0 })) step(batch.x, batch.y);
 */
export const epochLoader = <Y extends TargetDType>(ds: Dataset<Y>, opts: LoaderOptions): Loader<Y> => makeLoader('epochLoader', ds, opts, false);

/**
 * An endless stream of full batches (for NewtonSummary's hg batches): shuffled epoch after epoch,
 * with its own key, so it does not disturb the training batches.
 *
 *     const hg = cyclingLoader(train, { batchSize: 1000, key: random.key(2) }).iterate();
 *     const { batch } = hg.next().value!;
 */
export const cyclingLoader = <Y extends TargetDType>(ds: Dataset<Y>, opts: Omit<LoaderOptions, 'dropLast'>): Loader<Y> =>
  makeLoader('cyclingLoader', ds, opts, true);
