/**
 * partax's public surface (the root entry), with no top-level await: `require('partax')` loads
 * this file, `import` loads ./index.ts, which re-exports it and may start WebGPU first.
 *
 * Nothing reachable from here loads a Node-only module (node:fs, zlib, worker_threads, v8, vm…)
 * or a heavy package at import (laws/package.test.ts checks it on the built package): the WebGPU
 * backend is `partax/webgpu` (./backends/webgpu/index.ts), the file readers `partax/data`
 * (./data/index.ts), the command `partax/cli` (./cli/main.ts).
 */
export { Tensor, ArrayTensor, type Aval, type NestedArray } from './core/tensor.js';
export type { DType, FloatDType } from './core/dtype.js';
export type { Shape } from './core/shape.js';
export { ShapeError, DTypeError, EscapedTracerError, ConcretizationError } from './core/errors.js';
export type { Tree, TreeDef } from './core/tree.js';
export * from './ops/create.js';
export * from './ops/arith.js';
export * from './ops/shape-ops.js';
export { jvp } from './transforms/jvp.js';
export { jet, type SeriesOf } from './transforms/jet.js';
export type { MaybeZero, TangentsOf } from './transforms/args.js';
export { linearTranspose } from './transforms/linear-transpose.js';
export { shareEvaluations, type ShareEvaluationsOptions } from './transforms/share-evaluations.js';
export { vjp, linearize } from './transforms/vjp.js';
export { grad, valueAndGrad, type GradOptions } from './transforms/grad.js';
export { vmap, type VmapOptions } from './transforms/vmap.js';
export { jacfwd, jacrev, hessian, hvp } from './transforms/jac.js';
export { setBackend, defaultBackend } from './backends/registry.js';
export * from './ops/reduce.js';
export * from './ops/matmul.js';
export { stopGradient } from './prim/stop-gradient.js';
export * as partition from './summary/partition.js';
export { summary, summaryN, summaryOverBatches, directional, directionalPower, reducedLoss, type Summary, type SummaryOptions, type SymmetricTensor } from './summary/summary.js';
export { compilePartition, type Partition, type Member, type CompiledPartition } from './summary/partition.js';
export * from './ops/conv.js';
export * from './ops/pool.js';
export * from './ops/einsum.js';
export * from './ops/linalg.js';
export { LinAlgError } from './core/errors.js';
export * as optim from './optim/index.js';
export * as random from './random/index.js';
export * as tree from './tree/index.js';
export { decodeOrThrow, parseOrThrow, DecodeError, type DecodeIssue } from './core/decode.js';
export { tensorCodec, treeCodec, treeToJSON, treeFromJSON, type TensorJSON, type TreeJSON } from './io/tree-codec.js';
export { StateCodec, stateToJSON, skeletonMismatch, type StateJSON } from './io/state-codec.js';
export type { Pair } from './ops/patches.js';
export * as nn from './nn/index.js';
export * as data from './data/in-memory.js';
export { jit, type Jitted, type JitOptions, type Lowered } from './jit/jit.js';
export { toBackend, treeToBackend, withBackend } from './backends/transfer.js';
export type { ArrayFor } from './core/dtype.js';
export type { WeightedBatch } from './summary/summary.js';
export type { TreeToJSONOptions } from './io/tree-codec.js';
export { setWasmThreads, wasmThreads, setWasmThreadSplit, wasmThreadSplit, wasmSplitShapes, type ThreadSplit, type WasmSplitShape } from './backends/wasm/index.js';
