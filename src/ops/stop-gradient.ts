import type { DType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { bind1 } from '../interp/trace.js';
import { stopGradientP } from '../prim/stop-gradient.js';

/** The identity, with zero derivative: stops differentiation through `x`. */
export const stopGradient = <D extends DType>(x: Tensor<D>): Tensor<D> => bind1(stopGradientP, [x]) as Tensor<D>;
