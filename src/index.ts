/** partax: functional tensors, JAX-style transforms, and partition summaries. */
export { Tensor, ArrayTensor, type Aval, type NestedArray } from './core/tensor.js';
export type { DType, FloatDType } from './core/dtype.js';
export type { Shape } from './core/shape.js';
export { ShapeError, DTypeError, EscapedTracerError, ConcretizationError } from './core/errors.js';
export type { Tree, TreeDef } from './core/tree.js';
export * from './ops/create.js';
export * from './ops/arith.js';
export * from './ops/shape-ops.js';
export { jvp } from './transforms/jvp.js';
export { vjp, linearize } from './transforms/vjp.js';
export { grad, valueAndGrad, type GradOptions } from './transforms/grad.js';
export { vmap, type VmapOptions } from './transforms/vmap.js';
export { jacfwd, jacrev, hessian, hvp } from './transforms/jac.js';
export { setBackend, defaultBackend } from './backends/registry.js';
export * from './ops/reduce.js';
export * from './ops/matmul.js';
export { stopGradient } from './ops/stop-gradient.js';
