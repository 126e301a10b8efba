/**
 * `random`: splittable, counter-based PRNG keys (Threefry-2x32, as in JAX) and samplers.
 *
 *     const k = random.key(0);
 *     const [kw, kb] = random.split(k);
 *     const w = random.normal(kw, [3, 2], 'float64');
 */
export { Key, key, split, foldIn, keyData, wrapKeyData, type Keys } from './keys.js';
export { uniform, normal, bernoulli, randint, permutation, type UniformOptions } from './samplers.js';
export { threefry2x32 } from './threefry.js';
