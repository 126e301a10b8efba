/**
 * Writes examples/web/digits.bin.gz, the digits the web page trains on: the first 4,000 training
 * and the first 1,000 test digits of `partax train`'s MNIST split (`mnistSplit()`: the `mnist`
 * package's 10,000 digits, split 8,000/2,000 by a fixed key), so the page needs no download.
 *
 *     node --import tsx examples/web/extract-digits.ts [--train 4000] [--test 1000]
 *
 * Format (gzip of): the ASCII magic "PXD1", then little-endian u32 nTrain and nTest, then
 * nTrain + nTest labels (one byte each), then the pixels, 784 bytes per digit, k = 255·v (the
 * package's pixels are k/255: exact). Training digits first, then test digits.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { mnistSplit } from '../../src/data/index.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`extract-digits: --${name} expects a positive integer, got '${process.argv[i + 1]}'`);
  return v;
};
const nTrain = arg('train', 4000);
const nTest = arg('test', 1000);
const { train, test } = mnistSplit();
if (nTrain > train.x.shape[0]! || nTest > test.x.shape[0]!) throw new RangeError(`extract-digits: the split has ${train.x.shape[0]} training and ${test.x.shape[0]} test digits`);

const PIXELS = 784;
const n = nTrain + nTest;
const out = new Uint8Array(12 + n + n * PIXELS);
out.set([0x50, 0x58, 0x44, 0x31]); // "PXD1"
const view = new DataView(out.buffer);
view.setUint32(4, nTrain, true);
view.setUint32(8, nTest, true);
const parts = [
  [train, nTrain, 0],
  [test, nTest, nTrain],
] as const;
for (const [ds, count, at] of parts) {
  const x = ds.x.dataSync() as Float32Array;
  const y = ds.y.dataSync() as Int32Array;
  for (let i = 0; i < count; i++) {
    out[12 + at + i] = y[i]!;
    for (let p = 0; p < PIXELS; p++) {
      const k = Math.round(x[i * PIXELS + p]! * 255);
      if (Math.abs(k / 255 - x[i * PIXELS + p]!) > 1e-6) throw new Error(`extract-digits: pixel ${p} of digit ${i} is not k/255`);
      out[12 + n + (at + i) * PIXELS + p] = k;
    }
  }
}
const path = join(dirname(fileURLToPath(import.meta.url)), 'digits.bin.gz');
const gz = gzipSync(out, { level: 9 });
writeFileSync(path, gz);
console.log(`extract-digits: ${nTrain} training and ${nTest} test digits → ${path} (${(gz.length / 1024).toFixed(0)} KiB)`);
