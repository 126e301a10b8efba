import type { FloatDType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import type { Key } from '../random/index.js';

/**
 * A model as data: a configuration, `init(key)` building a typed parameter record, and a pure
 * `apply(params, x)`. Nothing is stored in the model but its configuration; the parameters are
 * an ordinary tree, so `grad`, `tree.map`, partitions (by path name) and checkpoints see them.
 *
 *     const model = mlp({ sizes: [784, 128, 10] });
 *     const params = model.init(random.key(0));
 *     const logProbs = model.apply(params, x);
 */
export interface Model<P, C = unknown, D extends FloatDType = 'float32'> {
  /** The kind of model ('mlp', 'autoencoder', 'lenet'…). */
  readonly kind: string;
  /** The configuration, with every default filled in. */
  readonly config: C;
  /** The shape of one input example the model expects (after the batch axis). */
  readonly inputShape: readonly number[];
  /** Fresh parameters from a key (split inside, never reused). */
  init(key: Key): P;
  /** The outputs for a batch x [N, ...inputShape]. */
  apply(params: P, x: Tensor<D>): Tensor<D>;
}
