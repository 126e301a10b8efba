import type { DType } from '../core/dtype.js';
import type { Aval, Tensor } from '../core/tensor.js';
import { broadcastTo } from './broadcast.js';
import { filled } from './constant.js';

/**
 * The constant `value` with the dtype and shape of `like`: how the rules of the primitives write a
 * literal (`add(x, lit(1, x))`), since the strict wrappers neither broadcast nor cast. It is a scalar
 * constant broadcast by broadcast_in_dim, as a plain number operand of an op is, so a traced
 * program holds one scalar, not a filled tensor.
 */
export const lit = <D extends DType>(value: number, like: Aval & { readonly dtype: D }): Tensor<D> =>
  broadcastTo(filled([], value, like.dtype), like.shape);
