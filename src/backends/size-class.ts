/**
 * Size classes of the pooled backend memories (WebGPU buffers, cpu-wasm regions): a request is
 * rounded up to its class, and a freed block serves later requests of the same class. Classes are
 * 256 bytes at least, then powers of two up to 1 KiB, then powers of two split in quarters (at most
 * 25 % waste), so a loop that allocates the same shapes every step reuses the same blocks.
 */

/** The size class of a request of `bytes` bytes. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  if (bytes <= 1024) return 2 ** Math.ceil(Math.log2(bytes));
  const step = 2 ** Math.floor(Math.log2(bytes - 1)) / 4;
  return Math.ceil(bytes / step) * step;
}
