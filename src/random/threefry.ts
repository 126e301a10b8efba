/**
 * Threefry-2x32 with 20 rounds (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3",
 * SC'11): a keyed bijection of 64-bit counters, the hash behind JAX's default PRNG. Written on
 * plain numbers holding uint32 words: additions wrap with `>>> 0`, rotations use `<<`/`>>>`.
 * Pure and platform independent: the same key and counter give the same words everywhere.
 */

/** Rotation distances of Threefry-2x32 (the Skein constants for two words), 4 per key injection. */
const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const;
/** Skein's key-schedule parity constant. */
const PARITY = 0x1bd11bda;

const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;

/**
 * Threefry-2x32 (20 rounds) of the counter `(x0, x1)` under the key `(k0, k1)`; all four are uint32
 * words (integers in [0, 2^32)). Returns the two output words.
 *
 * Rounds: `x0 += x1; x1 = rotl(x1, R); x1 ^= x0`, with the key schedule `ks = [k0, k1, k0^k1^C]`
 * injected before the first round and after every 4th: after group s (1..5),
 * `x0 += ks[s mod 3]; x1 += ks[(s+1) mod 3] + s`.
 *
 *     threefry2x32(0, 0, 0, 0) // [0x6b200159, 0x99ba4efe]
 */
export function threefry2x32(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const out: [number, number] = [0, 0];
  threefryInto(k0, k1, x0, x1, out);
  return out;
}

/** {@link threefry2x32} writing into `out` (no allocation: the samplers call it once per element). */
export function threefryInto(k0: number, k1: number, c0: number, c1: number, out: [number, number]): void {
  const ks0 = k0 >>> 0;
  const ks1 = k1 >>> 0;
  const ks2 = (ks0 ^ ks1 ^ PARITY) >>> 0;
  const ks = [ks0, ks1, ks2];
  let x0 = (c0 + ks0) >>> 0;
  let x1 = (c1 + ks1) >>> 0;
  for (let s = 0; s < 5; s++) {
    const base = (s & 1) * 4;
    for (let r = 0; r < 4; r++) {
      x0 = (x0 + x1) >>> 0;
      x1 = rotl(x1, ROTATIONS[base + r]!);
      x1 = (x1 ^ x0) >>> 0;
    }
    x0 = (x0 + ks[(s + 1) % 3]!) >>> 0;
    x1 = (x1 + ks[(s + 2) % 3]! + s + 1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
}

/** The 64-bit counter of flat index `i` (a safe integer) as its high and low uint32 words. */
export const counterWords = (i: number): [number, number] => [Math.floor(i / 0x100000000) >>> 0, i >>> 0];
