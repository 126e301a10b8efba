import { indexOutOfRange } from '../../core/errors.js';
import { type BufferPool, type GpuStorage, newBufferId, USAGE } from './pool.js';

/**
 * The device's error flag: a small storage buffer that kernels which cannot throw (a WGSL kernel
 * meeting an out-of-range index) write their first error into, and that every readback reads with
 * the tensor. A set flag becomes the same error the CPU backend throws at once, raised by the
 * readback (`data()`, `toBackend(x, 'cpu')`) or `webgpuSync()` that first sees it, whichever
 * tensor it reads: like a CUDA device-side assert, the error is sticky until reported, then the
 * flag is cleared. Its words:
 *
 *     [0] set (0: no error)   [1] op code   [2] the index (i32 bits)   [3] the axis size
 *     [4] its flat position   [5] the axis
 *
 * Op names travel as small codes (one per distinct op name, see {@link opCode}).
 */

/** Words in the flag buffer. */
export const FLAG_WORDS = 8;
/** Its size in bytes (a multiple of 8, so it can follow a tensor in one mapped staging buffer). */
export const FLAG_BYTES = FLAG_WORDS * 4;

const codes = new Map<string, number>();
const names: string[] = [''];

/** The code of an op name (1, 2, … in order of first use; stable for the process). */
export function opCode(op: string): number {
  let c = codes.get(op);
  if (c === undefined) {
    c = names.length;
    codes.set(op, c);
    names.push(op);
  }
  return c;
}

/** A zeroed flag buffer (outside the pool: it lives as long as the device). */
export function createErrorFlag(device: GPUDevice, pool: BufferPool): GpuStorage {
  const buffer = device.createBuffer({ size: FLAG_BYTES, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
  return { buffer, id: newBufferId(), bytes: FLAG_BYTES, pool, refs: 1 };
}

/** The error recorded in the flag's words, or null when none is. */
export function flaggedError(words: Uint32Array): Error | null {
  if (words[0] === 0) return null;
  const op = names[words[1]!] ?? `kernel ${words[1]}`;
  return indexOutOfRange(op, words[2]! | 0, words[4]!, words[5]!, words[3]!);
}

/**
 * WGSL recording an out-of-range index `v` (an i32) at position `i` into the flag bound as
 * `flag: array<atomic<u32>>`: the first error since the flag was cleared wins.
 */
export const flagIndexError = (flag: string, op: string, v: string, size: string, i: string, axis: string): string =>
  `if (atomicOr(&${flag}[0], 1u) == 0u) {
      atomicStore(&${flag}[1], ${op});
      atomicStore(&${flag}[2], bitcast<u32>(${v}));
      atomicStore(&${flag}[3], ${size});
      atomicStore(&${flag}[4], ${i});
      atomicStore(&${flag}[5], ${axis});
    }`;
