import * as t from 'io-ts';
import { showValue } from '../core/decode.js';
import { showShape } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { isPlainObject } from '../core/tree.js';
import { tensorCodec, treeToJSON } from './tree-codec.js';

/**
 * Optimizer states as JSON (the checkpoints of `partax train`, or any saved optimizer state). A
 * state is a tree with tensors at some leaves and plain values at others (step counts,
 * learning-rate lists, null, the last hg record…), which the tensor-tree codec refuses. Here a tensor is written `{"$tensor": {"shape", "data", "dtype"}}` (through the
 * tree codec, so values round-trip exactly), a non-finite number `{"$number": "NaN"}` (JSON has
 * none), `undefined` `{"$undefined": true}`; everything else is itself. The decoder checks every
 * node, reports each problem with its path, and refuses nesting deeper than {@link MAX_STATE_DEPTH}.
 */

/** The JSON form of a state. */
export type StateJSON = null | boolean | number | string | readonly StateJSON[] | { readonly [k: string]: StateJSON };

/** States nested deeper than this are refused (hostile input must not exhaust the stack). */
export const MAX_STATE_DEPTH = 64;

/**
 * The JSON value of a state (the inverse of {@link decodeState}). Tensors must be concrete and
 * finite; functions and class instances other than tensors are refused, naming their path.
 *
 *     JSON.stringify(stateToJSON(optState))
 */
export function stateToJSON(x: unknown, path = ''): StateJSON {
  const at = () => (path ? `'${path}'` : 'the root');
  const join = (k: string | number) => (path ? `${path}.${k}` : String(k));
  if (x instanceof Tensor) return { $tensor: treeToJSON(x) as unknown as StateJSON };
  if (x === undefined) return { $undefined: true };
  if (x === null || typeof x === 'boolean' || typeof x === 'string') return x;
  if (typeof x === 'number') return Number.isFinite(x) ? x : { $number: String(x) };
  if (Array.isArray(x)) return x.map((v, i) => stateToJSON(v, join(i)));
  if (isPlainObject(x)) {
    const out: Record<string, StateJSON> = {};
    for (const k of Object.keys(x)) Object.defineProperty(out, k, { value: stateToJSON(x[k], join(k)), enumerable: true, writable: true, configurable: true });
    return out;
  }
  throw new TypeError(`stateToJSON: the value at ${at()} is ${showValue(x)}; a state holds tensors, numbers, strings, booleans, null, arrays and records`);
}

const anyTensor = tensorCodec();
const NUMBERS: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

type Errors = t.ValidationError[];

function decodeNode(u: unknown, c: t.Context, self: t.Decoder<unknown, unknown>, errors: Errors, depth: number): unknown {
  const fail = (message: string) => errors.push({ value: u, context: c, message });
  if (depth > MAX_STATE_DEPTH) return fail(`nested deeper than ${MAX_STATE_DEPTH} levels`), undefined;
  if (u === null || typeof u === 'boolean' || typeof u === 'string') return u;
  if (typeof u === 'number') return Number.isFinite(u) ? u : (fail(`expected a finite number, got ${showValue(u)}`), undefined);
  if (Array.isArray(u)) return u.map((v, i) => decodeNode(v, [...c, { key: String(i), type: self, actual: v }], self, errors, depth + 1));
  if (!isPlainObject(u)) return fail(`expected a JSON value, got ${showValue(u)}`), undefined;
  const keys = Object.keys(u);
  if (keys.length === 1 && keys[0] === '$tensor') {
    const r = anyTensor.validate(u['$tensor'], [...c, { key: '$tensor', type: anyTensor, actual: u['$tensor'] }]);
    if (r._tag === 'Left') return errors.push(...r.left), undefined;
    return r.right;
  }
  if (keys.length === 1 && keys[0] === '$number') {
    const v = u['$number'];
    if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(NUMBERS, v)) return NUMBERS[v];
    return fail(`expected {"$number": "NaN" | "Infinity" | "-Infinity"}, got ${showValue(u)}`), undefined;
  }
  if (keys.length === 1 && keys[0] === '$undefined') return u['$undefined'] === true ? undefined : (fail(`expected {"$undefined": true}, got ${showValue(u)}`), undefined);
  const bad = keys.find((k) => k.startsWith('$'));
  if (bad !== undefined) return fail(`'${bad}' is reserved: a record with it must be {"${bad}": …} alone`), undefined;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = decodeNode(u[k], [...c, { key: k, type: self, actual: u[k] }], self, errors, depth + 1);
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * The io-ts codec of a state in the JSON form of {@link stateToJSON}.
 *
 *     const state = decodeOrThrow(StateCodec, json.optState, 'checkpoint');
 */
export const StateCodec: t.Type<unknown, StateJSON, unknown> = new t.Type<unknown, StateJSON, unknown>(
  'OptimizerState',
  (_u): _u is unknown => true,
  (u, c) => {
    const errors: Errors = [];
    const v = decodeNode(u, c, StateCodec, errors, 0);
    return errors.length ? t.failures(errors) : t.success(v);
  },
  (x) => stateToJSON(x),
);

/**
 * Where `state` does not have the skeleton of `like` (a freshly initialised state): records with
 * other keys, arrays of other lengths, tensors of other shapes or dtypes, a number where a number
 * is expected... `null` in `like` accepts anything but a tensor (fields filled in later, like the
 * last hg record). Returns a message naming the path, or null when they fit.
 */
export function skeletonMismatch(state: unknown, like: unknown, path = ''): string | null {
  const at = path ? `'${path}'` : 'the root';
  const join = (k: string | number) => (path ? `${path}.${k}` : String(k));
  if (like instanceof Tensor) {
    if (!(state instanceof Tensor)) return `at ${at}: expected a tensor ${showShape(like.shape)} ${like.dtype}, got ${showValue(state)}`;
    if (state.dtype !== like.dtype || state.shape.length !== like.shape.length || state.shape.some((d, i) => d !== like.shape[i]))
      return `at ${at}: expected a tensor ${showShape(like.shape)} ${like.dtype}, got ${showShape(state.shape)} ${state.dtype}`;
    return null;
  }
  if (like === null) return state instanceof Tensor ? `at ${at}: expected a plain value, got a tensor` : null;
  if (Array.isArray(like)) {
    if (!Array.isArray(state) || state.length !== like.length) return `at ${at}: expected an array of ${like.length}, got ${showValue(state)}`;
    for (let i = 0; i < like.length; i++) {
      const m = skeletonMismatch(state[i], like[i], join(i));
      if (m) return m;
    }
    return null;
  }
  if (isPlainObject(like)) {
    if (!isPlainObject(state)) return `at ${at}: expected a record {${Object.keys(like).join(', ')}}, got ${showValue(state)}`;
    const a = Object.keys(like);
    const b = Object.keys(state);
    if (a.length !== b.length || a.some((k, i) => k !== b[i])) return `at ${at}: expected the fields {${a.join(', ')}}, got {${b.join(', ')}}`;
    for (const k of a) {
      const m = skeletonMismatch(state[k], like[k], join(k));
      if (m) return m;
    }
    return null;
  }
  if (typeof like !== typeof state) return `at ${at}: expected a ${typeof like}, got ${showValue(state)}`;
  return null;
}

