import type { DType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { bind1 } from './bind.js';
import { type Primitive, primitive } from './primitive.js';

/** stopGradient: identity on values, zero tangent. */
export const stopGradientP: Primitive<{}> = primitive<{}>({
  name: 'stop_gradient',
  abstractEval: ([x]) => [x!],
  zeroDerivative: true,
  vmap: ([x]) => [[bind1(stopGradientP, [x!])], [true]],
  fusion: { role: 'view', contiguity: 'keeps', strided: (x) => x },
});

/** The identity, with zero derivative: stops differentiation through `x`. */
export const stopGradient = <D extends DType>(x: Tensor<D>): Tensor<D> => bind1(stopGradientP, [x]) as Tensor<D>;
