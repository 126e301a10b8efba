import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type DType, type FloatDType, type Tensor, tensor, fromBuffer } from '../../src/index.js';
import { sizeOf } from '../../src/core/shape.js';

/** Shared law machinery: generators, tolerances, comparisons and finite differences. */

/** Generated cases per law (the issue asks for ≥ 100). */
export const RUNS = { numRuns: 100 } as const;

/** Explicit tolerances per dtype. */
export const TOL: Record<FloatDType, { rtol: number; atol: number }> = {
  float64: { rtol: 1e-7, atol: 1e-9 },
  float32: { rtol: 1e-4, atol: 1e-5 },
};

/** A shape of rank in [minRank, maxRank] with sizes in [minSize, maxSize]. */
export const arbShape = (opts: { rank?: [number, number]; size?: [number, number] } = {}) => {
  const [r0, r1] = opts.rank ?? [0, 4];
  const [s0, s1] = opts.size ?? [1, 6];
  return fc.array(fc.integer({ min: s0, max: s1 }), { minLength: r0, maxLength: r1 });
};

/** Values in [min, max] for a given shape, as a tensor of `dtype`. */
export const arbTensorOf = (shape: readonly number[], dtype: FloatDType = 'float64', range: [number, number] = [-2, 2]) =>
  fc
    .array(fc.double({ min: range[0], max: range[1], noNaN: true, noDefaultInfinity: true }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
    .map((vals) => tensor(vals, dtype, shape) as Tensor<typeof dtype>);

/** A tensor of generated shape and values. */
export const arbTensor = (opts: { dtype?: FloatDType; rank?: [number, number]; size?: [number, number]; range?: [number, number]; shape?: readonly number[] } = {}) =>
  (opts.shape ? fc.constant(opts.shape) : arbShape(opts)).chain((s) => arbTensorOf(s, opts.dtype ?? 'float64', opts.range));

/** Asserts elementwise |a − b| ≤ atol + rtol·|b|, with the worst element in the message. */
export function assertClose(actual: Tensor | number, expected: Tensor | number, tol: { rtol?: number; atol?: number } = TOL.float64, label = ''): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual.data() as ArrayLike<number>);
  const b = typeof expected === 'number' ? [expected] : Array.from(expected.data() as ArrayLike<number>);
  if (typeof actual !== 'number' && typeof expected !== 'number')
    assert.deepEqual(actual.shape, expected.shape, `${label}: shapes differ: [${actual.shape}] vs [${expected.shape}]`);
  assert.equal(a.length, b.length, `${label}: sizes differ`);
  const rtol = tol.rtol ?? 0;
  const atol = tol.atol ?? 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= atol + rtol * Math.abs(b[i]!)) && !(Number.isNaN(a[i]!) && Number.isNaN(b[i]!)))
      assert.fail(`${label}: element ${i}: got ${a[i]} expected ${b[i]} (|d| = ${d.toExponential(3)}, tol ${(atol + rtol * Math.abs(b[i]!)).toExponential(3)})`);
  }
}

/**
 * Central finite-difference gradient of a scalar function of one float64 tensor (step h, O(h²)).
 * Used as the independent oracle for grad/jvp.
 */
export function finiteDifference(f: (x: Tensor) => Tensor | number, x: Tensor, h = 1e-5): Tensor {
  const base = Float64Array.from(x.data() as ArrayLike<number>);
  const out = new Float64Array(base.length);
  const val = (v: Float64Array) => {
    const r = f(fromBuffer(v, x.dtype as 'float64', x.shape));
    return typeof r === 'number' ? r : r.item();
  };
  for (let i = 0; i < base.length; i++) {
    const p = base.slice();
    const m = base.slice();
    p[i] = p[i]! + h;
    m[i] = m[i]! - h;
    out[i] = (val(p) - val(m)) / (2 * h);
  }
  return fromBuffer(out, 'float64', x.shape);
}

/** Directional central difference (f(x + h t) − f(x − h t)) / 2h for a tensor-valued f. */
export function directionalDifference(f: (x: Tensor) => Tensor, x: Tensor, t: Tensor, h = 1e-5): Tensor {
  const xb = x.data() as Float64Array;
  const tb = t.data() as Float64Array;
  const shift = (s: number) => fromBuffer(Float64Array.from(xb, (v, i) => v + s * tb[i]!), 'float64', x.shape);
  const fp = f(shift(h)).data() as Float64Array;
  const fm = f(shift(-h)).data() as Float64Array;
  const y = f(x);
  return fromBuffer(Float64Array.from(fp, (v, i) => (v - fm[i]!) / (2 * h)), 'float64', y.shape);
}

/** Sum of elementwise products ⟨a, b⟩ of two tensors, as a number. */
export function inner(a: Tensor, b: Tensor): number {
  const x = a.data() as ArrayLike<number>;
  const y = b.data() as ArrayLike<number>;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

export type { DType };
