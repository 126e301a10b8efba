import * as t from 'io-ts';
import { allocate, type DType, DTYPES } from '../core/dtype.js';
import { decodeOrThrow, parseOrThrow, showValue } from '../core/decode.js';
import { type Shape, sizeOf } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { isPlainObject, type Tree } from '../core/tree.js';
import { fromBuffer } from '../ops/create.js';

/**
 * Trees of tensors as JSON: each leaf is `{"shape": [d0, d1, …], "data": [flat row-major values]}`
 * with an optional `"dtype"`, inside arrays and records. The decoders check everything (shape,
 * count, dtype, every value) and report each problem with the path of the field.
 */

/** A tensor as JSON. `data` is flat and row-major; bool tensors hold true/false (0/1 is read too). */
export interface TensorJSON {
  readonly shape: readonly number[];
  readonly data: readonly (number | boolean)[];
  readonly dtype?: DType;
}
/** A tree of tensors as JSON: leaves in arrays and records. */
export type TreeJSON = TensorJSON | readonly TreeJSON[] | { readonly [k: string]: TreeJSON };

/** Trees nested deeper than this are refused (a guard against stack exhaustion on hostile input). */
export const MAX_DEPTH = 200;
/** Tensors of more axes are refused (NumPy's limit; a guard against absurd input). */
export const MAX_RANK = 64;
/** At most this many bad values are reported per tensor. */
const MAX_BAD_VALUES = 3;
const FLOAT32_MAX = 3.4028234663852886e38;
const LEAF_KEYS = new Set(['shape', 'data', 'dtype']);

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** Names used in the validation context (only their names show up in messages). */
const ShapeName = new t.Type<number[]>('a shape (non-negative integers)', (u): u is number[] => Array.isArray(u), t.failure, t.identity);
const DataName = new t.Type<number[]>('a flat array of numbers', (u): u is number[] => Array.isArray(u), t.failure, t.identity);
const DTypeName = t.keyof(Object.fromEntries(DTYPES.map((d) => [d, null])) as Record<DType, null>, 'a dtype name');
const ValueName = new t.Type<number>('a number', (u): u is number => typeof u === 'number', t.failure, t.identity);

type Errors = t.ValidationError[];
const fail = (errors: Errors, value: unknown, context: t.Context, message: string) => errors.push({ value, context, message });
const at = (c: t.Context, key: string, type: t.Decoder<any, any>, actual: unknown): t.Context => [...c, { key, type, actual }];

/** Checks one datum against `dtype`; returns the stored number or an error message. */
function datum(v: unknown, dtype: DType): number | string {
  if (dtype === 'bool') {
    if (v === true || v === 1) return 1;
    if (v === false || v === 0) return 0;
    return `expected true or false (dtype bool), got ${showValue(v)}`;
  }
  if (typeof v !== 'number') return `expected a number, got ${showValue(v)}`;
  if (!Number.isFinite(v)) return `expected a finite number, got ${showValue(v)}`;
  if (dtype === 'int32') {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) return `expected an int32 integer, got ${v}`;
    return v;
  }
  if (dtype === 'float32' && Math.abs(v) > FLOAT32_MAX) return `${v} is outside the float32 range`;
  return v;
}

/** Validates a leaf `{shape, data, dtype?}`; pushes errors (with paths) or returns the tensor. */
function decodeLeaf(u: Record<string, unknown>, c: t.Context, dtype: DType | undefined, errors: Errors): Tensor | undefined {
  const before = errors.length;
  for (const k of Object.keys(u))
    if (!LEAF_KEYS.has(k)) fail(errors, u[k], at(c, k, t.never, u[k]), `unknown field '${k}' (a tensor has "shape", "data" and an optional "dtype")`);
  // dtype
  let dt = dtype;
  if (has(u, 'dtype')) {
    const d = u['dtype'];
    const cd = at(c, 'dtype', DTypeName, d);
    if (typeof d !== 'string' || !(DTYPES as readonly string[]).includes(d)) fail(errors, d, cd, `expected one of ${DTYPES.join(', ')}, got ${showValue(d)}`);
    else if (dtype !== undefined && d !== dtype) fail(errors, d, cd, `expected ${dtype} (the dtype asked for), got ${d}`);
    else dt = d as DType;
  } else if (dtype === undefined) {
    fail(errors, u, c, 'no dtype: add a "dtype" field to the tensor or give one to the decoder');
  }
  // shape
  const s = u['shape'];
  const cs = at(c, 'shape', ShapeName, s);
  let shape: number[] | undefined;
  if (!Array.isArray(s)) fail(errors, s, cs, `expected an array of non-negative integers, got ${showValue(s)}`);
  else {
    let bad = -1;
    for (let i = 0; i < s.length && bad < 0; i++) if (typeof s[i] !== 'number' || !Number.isSafeInteger(s[i]) || s[i] < 0) bad = i;
    if (s.length > MAX_RANK) fail(errors, s, cs, `rank ${s.length} is above the limit of ${MAX_RANK} axes`);
    else if (bad >= 0) fail(errors, s[bad], at(cs, String(bad), ValueName, s[bad]), `expected a non-negative integer (a dimension), got ${showValue(s[bad])}`);
    else shape = s as number[];
  }
  // data
  const data = u['data'];
  const cdata = at(c, 'data', DataName, data);
  if (!Array.isArray(data)) fail(errors, data, cdata, `expected a flat array of numbers, got ${showValue(data)}`);
  else if (shape && sizeOf(shape) !== data.length)
    fail(errors, data, cdata, `expected ${sizeOf(shape)} ${sizeOf(shape) === 1 ? 'number' : 'numbers'} for shape [${shape.join(',')}], got ${data.length}`);
  else if (dt !== undefined) {
    let bad = 0;
    for (let i = 0; i < data.length && bad < MAX_BAD_VALUES; i++) {
      const r = datum(data[i], dt);
      if (typeof r === 'string') {
        fail(errors, data[i], at(cdata, String(i), ValueName, data[i]), r);
        bad++;
      }
    }
  }
  if (errors.length !== before || !shape || dt === undefined || !Array.isArray(data)) return undefined;
  const buf = allocate(dt, data.length);
  for (let i = 0; i < data.length; i++) buf[i] = datum(data[i], dt) as number;
  return fromBuffer(buf, dt, shape);
}

/** Walks a JSON tree; leaves are the objects with both "shape" and "data" fields. */
function decodeTree(u: unknown, c: t.Context, dtype: DType | undefined, self: t.Decoder<any, any>, errors: Errors, depth: number): Tree | undefined {
  if (depth > MAX_DEPTH) {
    fail(errors, u, c, `nested deeper than ${MAX_DEPTH} levels`);
    return undefined;
  }
  // (Array.from visits the holes of sparse arrays too, so a hole is reported, not skipped)
  if (Array.isArray(u)) return Array.from(u, (x, i) => decodeTree(x, at(c, String(i), self, x), dtype, self, errors, depth + 1)) as Tree;
  if (isPlainObject(u)) {
    if (has(u, 'shape') && has(u, 'data')) return decodeLeaf(u, c, dtype, errors);
    const out: Record<string, Tree> = {};
    for (const k of Object.keys(u)) {
      const v = decodeTree(u[k], at(c, k, self, u[k]), dtype, self, errors, depth + 1);
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  fail(errors, u, c, `expected a tensor {"shape": [...], "data": [...]}, an array or a record, got ${showValue(u)}`);
  return undefined;
}

/**
 * The io-ts codec of one tensor `{"shape", "data", "dtype"?}`. With `dtype`, a "dtype" field must
 * agree with it; without, every tensor must carry one. Values must be finite numbers of the dtype
 * (integers for int32, true/false or 0/1 for bool); float32 values are rounded to float32.
 *
 *     decodeOrThrow(tensorCodec('float64'), { shape: [2], data: [1, 2] }, 'x')
 */
export function tensorCodec<D extends DType>(dtype: D): t.Type<Tensor<D>, TensorJSON, unknown>;
export function tensorCodec(): t.Type<Tensor, TensorJSON, unknown>;
export function tensorCodec(dtype?: DType): t.Type<Tensor, TensorJSON, unknown> {
  const codec: t.Type<Tensor, TensorJSON, unknown> = new t.Type<Tensor, TensorJSON, unknown>(
    dtype ? `Tensor<${dtype}>` : 'Tensor',
    (u): u is Tensor => u instanceof Tensor && (dtype === undefined || u.dtype === dtype),
    (u, c) => {
      const errors: Errors = [];
      if (!isPlainObject(u)) {
        fail(errors, u, c, `expected a tensor {"shape": [...], "data": [...]}, got ${showValue(u)}`);
        return t.failures(errors);
      }
      const x = decodeLeaf(u, c, dtype, errors);
      return x && errors.length === 0 ? t.success(x) : t.failures(errors);
    },
    (x) => leafToJSON(x, '', true),
  );
  return codec;
}

/**
 * The io-ts codec of a tree of tensors as JSON (see {@link TreeJSON}): arrays and records of
 * tensor leaves, a leaf being any object with both "shape" and "data" fields. Static values
 * (numbers, strings, null) are refused. `dtype` is as in {@link tensorCodec}.
 *
 *     const params = decodeOrThrow(treeCodec('float32'), JSON.parse(text), 'checkpoint');
 */
export function treeCodec(dtype?: DType): t.Type<Tree, TreeJSON, unknown> {
  const codec: t.Type<Tree, TreeJSON, unknown> = new t.Type<Tree, TreeJSON, unknown>(
    dtype ? `Tree<${dtype}>` : 'Tree',
    (u): u is Tree => u instanceof Tensor || Array.isArray(u) || isPlainObject(u),
    (u, c) => {
      const errors: Errors = [];
      const x = decodeTree(u, c, dtype, codec, errors, 0);
      return errors.length === 0 ? t.success(x as Tree) : t.failures(errors);
    },
    (x) => treeToJSON(x),
  );
  return codec;
}

function leafToJSON(x: Tensor, path: string, withDType: boolean): TensorJSON {
  const src = x.dataSync() as ArrayLike<number>;
  // one pass that checks and copies, into an array grown by push: V8 keeps it a packed array of
  // doubles, which JSON.stringify writes a third faster than Array.from's (a checkpoint's numbers)
  const raw: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`treeToJSON: the tensor at ${path ? `'${path}'` : 'the root'} holds ${v} at flat index ${i}; JSON has no non-finite numbers`);
    raw.push(v);
  }
  const data = x.dtype === 'bool' ? raw.map((v) => v !== 0) : raw;
  const shape: Shape = [...x.shape];
  return withDType ? { shape, data, dtype: x.dtype } : { shape, data };
}

/** Options of {@link treeToJSON}. */
export interface TreeToJSONOptions {
  /** Write a "dtype" field in every tensor (default true). */
  readonly dtype?: boolean;
}

/**
 * A tree of concrete tensors as a JSON value (`JSON.stringify` it to save), the inverse of
 * {@link treeCodec}: `decode(treeToJSON(t))` rebuilds `t`. Numbers are written exactly (JSON
 * numbers round-trip doubles; −0 becomes 0); NaN and ±∞ are refused, as are static values.
 *
 *     writeFileSync('params.json', JSON.stringify(treeToJSON(params)));
 */
export function treeToJSON(tree: Tree, opts: TreeToJSONOptions = {}): TreeJSON {
  const withDType = opts.dtype ?? true;
  const go = (x: unknown, path: string, depth: number): TreeJSON => {
    if (depth > MAX_DEPTH) throw new RangeError(`treeToJSON: nested deeper than ${MAX_DEPTH} levels at '${path}'`);
    const join = (k: string | number) => (path ? `${path}.${k}` : String(k));
    if (x instanceof Tensor) return leafToJSON(x, path, withDType);
    if (Array.isArray(x)) return x.map((c, i) => go(c, join(i), depth + 1));
    if (isPlainObject(x)) {
      const out: Record<string, TreeJSON> = {};
      for (const k of Object.keys(x)) Object.defineProperty(out, k, { value: go(x[k], join(k), depth + 1), enumerable: true, writable: true, configurable: true });
      return out;
    }
    throw new TypeError(`treeToJSON: the value at ${path ? `'${path}'` : 'the root'} is ${showValue(x)}; only tensors, arrays and records can be written`);
  };
  return go(tree, '', 0);
}

/**
 * Decodes a JSON value (or JSON text) into a tree of tensors, or throws a DecodeError naming
 * `what` and the path of each bad field.
 *
 *     const params = treeFromJSON(readFileSync(path, 'utf8'), 'float32', `checkpoint ${path}`);
 */
export function treeFromJSON(json: unknown, dtype?: DType, what = 'tree'): Tree {
  return typeof json === 'string' ? parseOrThrow(treeCodec(dtype), json, what) : decodeOrThrow(treeCodec(dtype), json, what);
}
