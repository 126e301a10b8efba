import { ShapeError } from '../core/errors.js';
import { showShape } from '../core/shape.js';
import { ArrayTensor, type Tensor } from '../core/tensor.js';
import { fromBuffer } from '../ops/create.js';
import { type Key, permutation } from '../random/index.js';

/**
 * Datasets as data: a record of two tensors whose first axis runs over the examples. Inputs are
 * float32; targets are int32 class labels [N] (with `classes`) or float32 values [N, ...]
 * (regression, autoencoders). Nothing here is mutated: every function returns a new record.
 */

/** Target dtypes: class labels or real values. */
export type TargetDType = 'int32' | 'float32';

/** A supervised dataset: inputs `x` [N, ...] float32 and targets `y` [N, ...]. */
export interface Dataset<Y extends TargetDType = TargetDType> {
  /** A short name for messages and run records ('mnist', 'spirals'…). */
  readonly name: string;
  readonly x: Tensor<'float32'>;
  readonly y: Tensor<Y>;
  /** The number of classes when `y` holds int32 labels in [0, classes). */
  readonly classes?: number;
}

/** A batch: the same record without the name. */
export interface Batch<Y extends TargetDType = TargetDType> {
  readonly x: Tensor<'float32'>;
  readonly y: Tensor<Y>;
}

/** The backing array of a concrete tensor, without copying when it is an ArrayTensor. */
export const bufferOf = <T extends Tensor>(t: T): ArrayLike<number> =>
  (t instanceof ArrayTensor ? t.buffer : t.dataSync()) as ArrayLike<number>;

/** The number of examples of a dataset. */
export const sizeOfDataset = (ds: Dataset): number => ds.x.shape[0]!;

/**
 * Checks a dataset record: x float32 with rank ≥ 1, y int32 or float32 with the same first axis,
 * labels in [0, classes). Returns it unchanged; throws a ShapeError naming `ds.name` otherwise.
 */
export function checkDataset<D extends Dataset>(ds: D): D {
  const where = `dataset '${ds.name}'`;
  if (ds.x.dtype !== 'float32') throw new ShapeError(`${where}: inputs must be float32, got ${ds.x.dtype}`);
  if (ds.y.dtype !== 'int32' && ds.y.dtype !== 'float32') throw new ShapeError(`${where}: targets must be int32 labels or float32 values, got ${ds.y.dtype}`);
  if (ds.x.shape.length < 1 || ds.y.shape.length < 1 || ds.x.shape[0] !== ds.y.shape[0])
    throw new ShapeError(`${where}: inputs ${showShape(ds.x.shape)} and targets ${showShape(ds.y.shape)} must share their first axis (the examples)`);
  if (ds.y.dtype === 'int32') {
    const c = ds.classes;
    if (c === undefined || !Number.isInteger(c) || c < 1) throw new ShapeError(`${where}: int32 labels need a positive integer 'classes', got ${String(c)}`);
    if (ds.y.shape.length !== 1) throw new ShapeError(`${where}: labels must have shape [N], got ${showShape(ds.y.shape)}`);
    const y = bufferOf(ds.y);
    for (let i = 0; i < y.length; i++)
      if (!(y[i]! >= 0 && y[i]! < c)) throw new ShapeError(`${where}: label ${y[i]} of example ${i} is outside [0, ${c})`);
  }
  return ds;
}

/** Rows `indices` of a tensor (first axis), copied from its buffer. */
export function takeRows<D extends 'float32' | 'int32'>(t: Tensor<D>, indices: ArrayLike<number>): Tensor<D> {
  const n = t.shape[0]!;
  const row = t.size / Math.max(n, 1);
  const src = bufferOf(t);
  const out = t.dtype === 'int32' ? new Int32Array(indices.length * row) : new Float32Array(indices.length * row);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    if (!(Number.isInteger(r) && r >= 0 && r < n)) throw new ShapeError(`takeRows: row ${r} is outside [0, ${n}) of ${showShape(t.shape)}`);
    if (row === 1) out[i] = src[r]!;
    else out.set((src as Float32Array).subarray(r * row, (r + 1) * row), i * row);
  }
  return fromBuffer(out as never, t.dtype, [indices.length, ...t.shape.slice(1)]) as Tensor<D>;
}

/** The examples `indices` of a dataset, in that order, as a new dataset (same name and classes). */
export function subset<Y extends TargetDType>(ds: Dataset<Y>, indices: ArrayLike<number>, name = ds.name): Dataset<Y> {
  const out: Dataset<Y> = { name, x: takeRows(ds.x, indices), y: takeRows(ds.y as Tensor<Y>, indices) };
  return ds.classes === undefined ? out : { ...out, classes: ds.classes };
}

/**
 * A deterministic train/test split: the examples are shuffled by `permutation(key, N)`, the first
 * N − testSize form the training set and the last `testSize` the test set.
 *
 *     const { train, test } = splitTrainTest(loadMnist(), random.key(0), 2000);  // 8000 / 2000
 */
export function splitTrainTest<Y extends TargetDType>(ds: Dataset<Y>, key: Key, testSize: number): { train: Dataset<Y>; test: Dataset<Y> } {
  const n = sizeOfDataset(ds);
  if (!Number.isInteger(testSize) || testSize < 1 || testSize >= n)
    throw new RangeError(`splitTrainTest: testSize must be an integer in [1, ${n - 1}] for dataset '${ds.name}' of ${n} examples, got ${testSize}`);
  const order = bufferOf(permutation(key, n));
  const idx = Array.from(order);
  return { train: subset(ds, idx.slice(0, n - testSize)), test: subset(ds, idx.slice(n - testSize)) };
}

/** Mean and standard deviation of all input values (one scalar each, over every pixel). */
export function inputStats(ds: Dataset): { mean: number; std: number } {
  const x = bufferOf(ds.x);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  const mean = s / Math.max(x.length, 1);
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(v / Math.max(x.length, 1)) };
}

/**
 * The dataset with inputs (x − mean)/std (float32), as torchvision's `Normalize((mean,), (std,))`.
 * Use the training set's {@link inputStats} for both splits.
 */
export function standardize<Y extends TargetDType>(ds: Dataset<Y>, mean: number, std: number): Dataset<Y> {
  if (!Number.isFinite(mean) || !(std > 0) || !Number.isFinite(std)) throw new RangeError(`standardize: needs a finite mean and a positive std, got mean ${mean}, std ${std}`);
  const x = bufferOf(ds.x);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i]! - mean) / std;
  return { ...ds, x: fromBuffer(out, 'float32', ds.x.shape) };
}

/** The dataset with inputs reshaped to [N, ...shape] (e.g. [N, 784] ↔ [N, 1, 28, 28]). */
export function reshapeInputs<Y extends TargetDType>(ds: Dataset<Y>, shape: readonly number[]): Dataset<Y> {
  const n = sizeOfDataset(ds);
  const per = shape.reduce((a, b) => a * b, 1);
  if (per * n !== ds.x.size) throw new ShapeError(`reshapeInputs: dataset '${ds.name}' inputs ${showShape(ds.x.shape)} cannot be viewed as [${n}, ${shape.join(', ')}]`);
  return { ...ds, x: fromBuffer(bufferOf(ds.x) as Float32Array, 'float32', [n, ...shape]) };
}
