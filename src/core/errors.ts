/** Raised when arguments do not fit an operation (shape, dtype, axis…); the message names both sides. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}
/** Raised when dtypes do not fit an operation; never silently promoted. */
export class DTypeError extends Error {
  override name = 'DTypeError';
}
/** Raised when a traced value is used after the transform that made it has returned. */
export class EscapedTracerError extends Error {
  override name = 'EscapedTracerError';
}
/** Raised when a concrete value is needed from a traced one (e.g. `data()` inside `grad`). */
export class ConcretizationError extends Error {
  override name = 'ConcretizationError';
}
/** Raised when a matrix does not admit the requested factorisation (singular, not positive definite). */
export class LinAlgError extends Error {
  override name = 'LinAlgError';
}

/**
 * The error of an index outside [0, size) met by a gathering op (take, takeAlongAxis, oneHot,
 * nll, scatterAdd): names the op, the index, its flat position among the indices, the axis and
 * its size. Every backend raises this same message (WebGPU at the next readback).
 */
export function indexOutOfRange(op: string, index: number, position: number, axis: number, size: number): ShapeError {
  return new ShapeError(`${op}: index ${index} (at flat position ${position}) is out of range for axis ${axis} of size ${size} (indices must lie in [0, ${size}))`);
}

/**
 * True when `e` says that the package `name` itself is not installed (an `import()` or
 * `require.resolve` that found no such package), not that it failed to load. The optional peer
 * dependencies (webgpu, mnist, vega…) turn this into an error saying which package to install.
 */
export function isMissingPackage(e: unknown, name: string): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  const message = e instanceof Error ? e.message : '';
  return message.includes(`'${name}'`) || message.includes(`'${name}/`);
}
