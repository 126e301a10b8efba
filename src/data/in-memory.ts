/**
 * The part of `data` that reads no file: datasets held in memory, deterministic splits, loaders
 * whose batches are a pure function of (key, position), and the synthetic sets. This is the `data`
 * namespace of the root entry (`import { data } from 'partax'`), which loads no Node-only module;
 * the file readers (MNIST, Fashion-MNIST, IDX) are in `partax/data` (./index.ts), with all of this.
 */
export * from './dataset.js';
export * from './synthetic.js';
export * from './batches.js';
