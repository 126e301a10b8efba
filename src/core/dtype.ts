/** Element types a tensor may hold. `bool` is what comparisons return. */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';
/** The floating dtypes: the only ones that carry derivatives. */
export type FloatDType = 'float32' | 'float64';

/** The typed array that stores a dtype's elements. */
export type ArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int32'
      ? Int32Array
      : Uint8Array;

/** Any buffer a tensor can be stored in. */
export type Buffer = Float32Array | Float64Array | Int32Array | Uint8Array;

/** All dtype names, for validation of outside input. */
export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

/** True for the floating dtypes (those that can be differentiated). */
export const isFloat = (d: DType): d is FloatDType => d === 'float32' || d === 'float64';

/** Allocates a zero-filled buffer of `n` elements of dtype `d`. */
export function allocate<D extends DType>(d: D, n: number): ArrayFor<D> {
  switch (d) {
    case 'float32':
      return new Float32Array(n) as ArrayFor<D>;
    case 'float64':
      return new Float64Array(n) as ArrayFor<D>;
    case 'int32':
      return new Int32Array(n) as ArrayFor<D>;
    case 'bool':
      return new Uint8Array(n) as ArrayFor<D>;
  }
  throw new TypeError(`unknown dtype ${String(d)}`);
}

/** The dtype a buffer stores. */
export function dtypeOfBuffer(b: Buffer): DType {
  if (b instanceof Float32Array) return 'float32';
  if (b instanceof Float64Array) return 'float64';
  if (b instanceof Int32Array) return 'int32';
  return 'bool';
}

/** Validates a string from outside input as a dtype name. */
export function parseDType(s: string, where: string): DType {
  if ((DTYPES as readonly string[]).includes(s)) return s as DType;
  throw new TypeError(`${where}: unknown dtype '${s}' (expected one of ${DTYPES.join(', ')})`);
}
