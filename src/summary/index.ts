/** Partitions and partition summaries (ḡ, H̄, D̄³, order k). */
export * from './partition.js';
export { displace } from './displace.js';
export * from './summary.js';
