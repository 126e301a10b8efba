import { counterWords, threefry2x32 } from './threefry.js';

/** Only this module mints keys, so every key holds two genuine uint32 words. */
const MINT: unique symbol = Symbol('partax.random.Key');

/**
 * Splittable PRNG keys in the JAX style (Threefry-2x32, JAX's "partitionable" scheme).
 *
 * A key is a small immutable record of two uint32 words, not a tensor: sampling happens on the
 * host, outside any trace, so a key never needs to be differentiated or batched. Keys are values:
 * the same key always gives the same numbers, and nothing here consumes or advances a key. To get
 * fresh randomness, `split` a key (or `foldIn` a counter) and use each result once.
 *
 * Compatibility: `key`, `split`, `foldIn` and the float32 `uniform` / `normal` samplers reproduce
 * `jax.random` with `jax_threefry_partitionable=True` (the default since JAX 0.5) bit for bit
 * (normal to float32 rounding of erfinv); `randint`, `bernoulli` and `permutation` use their own
 * (documented) constructions.
 */
export class Key {
  /** The two uint32 words `[k0, k1]` (JAX's `key_data`). */
  readonly words: readonly [number, number];
  /** Not for direct use: make keys with {@link key}, {@link split}, {@link foldIn} or {@link wrapKeyData}. */
  constructor(token: typeof MINT, k0: number, k1: number) {
    if (token !== MINT) throw new TypeError('random.Key: make keys with random.key(seed) or random.wrapKeyData(words), not new Key');
    this.words = Object.freeze([k0 >>> 0, k1 >>> 0]) as readonly [number, number];
    Object.freeze(this);
  }
  toString(): string {
    return `Key(${this.words[0]}, ${this.words[1]})`;
  }
}

/** Renders a value for an error message, briefly. */
function show(x: unknown): string {
  if (typeof x === 'bigint') return `${x}n`;
  if (typeof x === 'string') return JSON.stringify(x);
  if (typeof x === 'object' && x !== null) return Object.prototype.toString.call(x);
  return String(x);
}

/** Throws unless `k` is a {@link Key}; `op` names the caller. */
export function checkKey(op: string, k: unknown): asserts k is Key {
  if (!(k instanceof Key))
    throw new TypeError(`${op}: expected a PRNG key (from random.key(seed), random.split or random.foldIn), got ${show(k)}`);
}

const TWO64 = 1n << 64n;

/**
 * The key of an integer seed: the seed as a 64-bit two's-complement integer, split into its high
 * and low 32-bit words (JAX's `PRNGKey(seed)` with 64-bit seeds). `seed` is a safe integer or a
 * bigint in [−2^63, 2^64).
 *
 *     key(0).words   // [0, 0]
 *     key(-1).words  // [4294967295, 4294967295]
 */
export function key(seed: number | bigint): Key {
  let s: bigint;
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed)) throw new TypeError(`random.key: seed must be a safe integer, got ${show(seed)}`);
    s = BigInt(seed);
  } else if (typeof seed === 'bigint') {
    if (seed < -(1n << 63n) || seed >= TWO64) throw new RangeError(`random.key: bigint seed ${seed} is outside [-2^63, 2^64)`);
    s = seed;
  } else {
    throw new TypeError(`random.key: seed must be an integer, got ${show(seed)}`);
  }
  const u = BigInt.asUintN(64, s);
  return new Key(MINT, Number(u >> 32n), Number(u & 0xffffffffn));
}

/**
 * The keys of `split(k, n)`: a tuple of n keys when n is a literal up to 64 (so destructuring
 * `const [a, b, c] = split(k, 3)` gives three keys, not `Key | undefined`), else `Key[]`.
 */
export type Keys<N extends number, Acc extends Key[] = []> = number extends N
  ? Key[]
  : Acc['length'] extends N
    ? Acc
    : Acc['length'] extends 64
      ? Key[]
      : Keys<N, [...Acc, Key]>;

/**
 * `n` new keys from `k` (default 2): key i is Threefry-2x32 of the counter i under `k`, so
 * `split(k, n)[i]` equals `foldIn(k, i)` and a longer split extends a shorter one. Use each
 * result once; do not keep using `k` itself after splitting it.
 *
 *     const [k1, k2] = split(key(0));   // k1.words = [1797259609, 2579123966]
 */
export function split<N extends number = 2>(k: Key, n: N = 2 as N): Keys<N> {
  checkKey('random.split', k);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`random.split: n must be a non-negative integer, got ${show(n)}`);
  const [k0, k1] = k.words;
  const out: Key[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const [c0, c1] = counterWords(i);
    const [a, b] = threefry2x32(k0, k1, c0, c1);
    out[i] = new Key(MINT, a, b);
  }
  return out as Keys<N>;
}

/**
 * A new key derived from `k` and the integer `data` (a step number, a layer index…):
 * Threefry-2x32 of the counter `data` under `k` (JAX's `fold_in` for data < 2^32).
 * `data` is a non-negative safe integer.
 *
 *     const stepKey = foldIn(runKey, step);
 */
export function foldIn(k: Key, data: number): Key {
  checkKey('random.foldIn', k);
  if (!Number.isSafeInteger(data) || data < 0) throw new RangeError(`random.foldIn: data must be a non-negative safe integer, got ${show(data)}`);
  const [c0, c1] = counterWords(data);
  const [a, b] = threefry2x32(k.words[0], k.words[1], c0, c1);
  return new Key(MINT, a, b);
}

/** The key's two uint32 words, e.g. to save it (JAX's `key_data`). */
export const keyData = (k: Key): [number, number] => {
  checkKey('random.keyData', k);
  return [k.words[0], k.words[1]];
};

/**
 * The key with the given two uint32 words (JAX's `wrap_key_data`), e.g. to restore a saved key.
 *
 *     wrapKeyData([0, 42]).toString()  // 'Key(0, 42)' (= key(42))
 */
export function wrapKeyData(words: readonly number[]): Key {
  if (!Array.isArray(words) || words.length !== 2 || !words.every((w) => Number.isInteger(w) && w >= 0 && w < 0x100000000))
    throw new TypeError(`random.wrapKeyData: expected two uint32 words, got ${Array.isArray(words) ? `[${words.map(show).join(', ')}]` : show(words)}`);
  return new Key(MINT, words[0]!, words[1]!);
}
