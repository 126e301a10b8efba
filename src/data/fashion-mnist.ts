import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fromBuffer } from '../ops/create.js';
import type { Dataset } from './dataset.js';
import { IdxError, readIdx } from './idx.js';
import { DatasetMissingError } from './mnist.js';

/**
 * Fashion-MNIST (Xiao et al. 2017: 60,000 training and 10,000 test images of clothes, 28×28,
 * 10 classes) from the IDX files of Debian's package `dataset-fashion-mnist`, or from any
 * directory holding the four standard files (gzipped or not).
 */

/** Where Debian's `dataset-fashion-mnist` installs its files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The class names of Fashion-MNIST, by label. */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/** The file `base` in `dir`, gzipped or not (the .gz first); null when neither exists. */
function locate(dir: string, base: string): string | null {
  for (const name of [`${base}.gz`, base]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/**
 * A labelled image set from two IDX files: images [N, H, W] uint8 (scaled to [0, 1] float32 as
 * x [N, 1, H, W]) and labels [N] uint8 in [0, classes). Every mismatch is an error naming the file.
 *
 *     const test = loadIdxImages('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 'fashion-mnist-test');
 */
export function loadIdxImages(imagesPath: string, labelsPath: string, name: string, classes = 10): Dataset<'int32'> {
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.type !== 'uint8' || images.shape.length !== 3)
    throw new IdxError(`${name}: '${imagesPath}' holds ${images.shape.join('×')} ${images.type}, expected images N×H×W uint8`);
  if (labels.type !== 'uint8' || labels.shape.length !== 1)
    throw new IdxError(`${name}: '${labelsPath}' holds ${labels.shape.join('×')} ${labels.type}, expected labels N uint8`);
  const [n, h, w] = images.shape as [number, number, number];
  if (labels.shape[0] !== n) throw new IdxError(`${name}: '${imagesPath}' holds ${n} images but '${labelsPath}' holds ${labels.shape[0]} labels`);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = labels.data[i]!;
    if (l >= classes) throw new IdxError(`${name}: '${labelsPath}': label ${l} of example ${i} is outside [0, ${classes})`);
    y[i] = l;
  }
  const x = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = images.data[i]! / 255;
  return { name, x: fromBuffer(x, 'float32', [n, 1, h, w]), y: fromBuffer(y, 'int32', [n]), classes };
}

/**
 * Fashion-MNIST's training (60,000) and test (10,000) sets, x [N, 1, 28, 28] float32 in [0, 1],
 * y [N] int32, read from `dir` (default {@link FASHION_MNIST_DIR}). When the files are missing
 * the error says how to install them: `sudo apt-get install dataset-fashion-mnist`.
 *
 *     const { train, test } = loadFashionMnist();
 */
export function loadFashionMnist(dir: string = FASHION_MNIST_DIR): { train: Dataset<'int32'>; test: Dataset<'int32'> } {
  const paths = Object.fromEntries(
    Object.entries(FILES).map(([split, bases]) => [
      split,
      bases.map((b) => {
        const p = locate(dir, b);
        if (p) return p;
        const how =
          dir === FASHION_MNIST_DIR
            ? 'install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or pass --data-dir DIR for a directory holding the four IDX files'
            : `put the four Fashion-MNIST IDX files in that directory, or install Debian's package with \`sudo apt-get install dataset-fashion-mnist\` and leave --data-dir out`;
        throw new DatasetMissingError(`Fashion-MNIST not found: no '${b}.gz' (or '${b}') in '${dir}': ${how}`);
      }),
    ]),
  ) as Record<keyof typeof FILES, [string, string]>;
  return {
    train: loadIdxImages(paths.train[0], paths.train[1], 'fashion-mnist'),
    test: loadIdxImages(paths.test[0], paths.test[1], 'fashion-mnist-test'),
  };
}
