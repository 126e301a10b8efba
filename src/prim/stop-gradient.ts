import { bind1 } from '../interp/trace.js';
import { type Primitive, primitive } from './primitive.js';

/** stopGradient: identity on values, zero tangent. */
export const stopGradientP: Primitive<{}> = primitive<{}>({
  name: 'stop_gradient',
  abstractEval: ([x]) => [x!],
  jvp: ([x]) => [[bind1(stopGradientP, [x!])], [null]],
  transpose: null,
  vmap: ([x]) => [[bind1(stopGradientP, [x!])], [true]],
});
