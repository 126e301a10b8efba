import { DTypeError } from '../../core/errors.js';

/** Errors of the WebGPU backend. */

/**
 * Raised when WebGPU cannot be used: the `webgpu` package (Dawn) does not load, no adapter or
 * device answers (within the timeout), the device was lost or shut down, or a GPU command failed.
 * The message says which, and what to do about it.
 */
export class WebGPUError extends Error {
  override name = 'WebGPUError';
}

/** The error for a float64 request on WebGPU (a DTypeError: WGSL has no 64-bit floats). */
export const noFloat64 = (where: string): DTypeError =>
  new DTypeError(`${where}: float64 is not available on the webgpu backend (WGSL has no f64); use float32 there, or the cpu backend for float64`);
