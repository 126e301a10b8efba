import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * The IDX file format of MNIST and Fashion-MNIST (LeCun's "magic number" files), gzipped or not.
 *
 *     bytes 0–1   0x00 0x00
 *     byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 *     byte  3     number of dimensions d
 *     then        d big-endian uint32 sizes, then the elements, row-major, big-endian
 *
 * The reader checks everything against the actual byte count before allocating, so a truncated,
 * over-long or foreign file is an {@link IdxError} naming the file and both sizes, never a crash,
 * a huge allocation or a hang.
 */

/** Element types of IDX files. */
export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** The typed array holding an IDX file's elements. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** The contents of an IDX file: element type, shape and the elements (row-major). */
export interface IdxArray {
  readonly type: IdxType;
  readonly shape: readonly number[];
  readonly data: IdxData;
}

/** Raised when IDX bytes do not hold a well-formed IDX array; the message names the source. */
export class IdxError extends Error {
  override name = 'IdxError';
}

const TYPES: readonly { code: number; type: IdxType; size: number }[] = [
  { code: 0x08, type: 'uint8', size: 1 },
  { code: 0x09, type: 'int8', size: 1 },
  { code: 0x0b, type: 'int16', size: 2 },
  { code: 0x0c, type: 'int32', size: 4 },
  { code: 0x0d, type: 'float32', size: 4 },
  { code: 0x0e, type: 'float64', size: 8 },
];
const byCode = new Map(TYPES.map((t) => [t.code, t]));
const byType = new Map(TYPES.map((t) => [t.type, t]));
const knownCodes = TYPES.map((t) => `0x${t.code.toString(16).padStart(2, '0')} ${t.type}`).join(', ');

/** Refuse to unpack more than this (Fashion-MNIST's largest file is 47 MB). */
export const IDX_MAX_BYTES = 2 ** 31 - 1;

const hex = (b: Uint8Array, n: number) =>
  Array.from(b.subarray(0, n), (x) => x.toString(16).padStart(2, '0')).join(' ') || '(none)';
const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

/** Unpacks gzip when the bytes start with the gzip magic 1f 8b; else returns them as they are. */
function gunzipIfNeeded(bytes: Uint8Array, name: string): Uint8Array {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return gunzipSync(bytes, { maxOutputLength: IDX_MAX_BYTES });
  } catch (e) {
    const msg = (e as Error).message;
    const why = /unexpected end/i.test(msg) ? 'the gzip stream is truncated' : `it is not a valid gzip stream (${msg})`;
    throw new IdxError(`readIdx: ${name}: ${why} (${plural(bytes.length, 'byte')} read)`);
  }
}

/**
 * Decodes IDX bytes (gzipped or not) into an {@link IdxArray}. `name` (a file path) is used in
 * error messages.
 *
 *     const { type, shape, data } = parseIdx(readFileSync('t10k-labels-idx1-ubyte.gz'));
 *     // 'uint8', [10000], Uint8Array(10000)
 */
export function parseIdx(input: Uint8Array, name = 'IDX data'): IdxArray {
  if (!(input instanceof Uint8Array)) throw new TypeError(`parseIdx: ${name}: expected bytes (a Uint8Array or Buffer), got ${Object.prototype.toString.call(input)}`);
  const bytes = gunzipIfNeeded(input, name);
  if (bytes.length < 4)
    throw new IdxError(`readIdx: ${name} is too short for an IDX file: ${plural(bytes.length, 'byte')}, expected at least 4 (the magic number)`);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    throw new IdxError(`readIdx: ${name} is not an IDX file: it starts with ${hex(bytes, 4)}, expected 00 00 <type> <rank>`);
  const kind = byCode.get(bytes[2]!);
  if (!kind)
    throw new IdxError(`readIdx: ${name} is not an IDX file: unknown element type code 0x${bytes[2]!.toString(16).padStart(2, '0')} (expected ${knownCodes})`);
  const rank = bytes[3]!;
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes)
    throw new IdxError(`readIdx: ${name} is truncated: its header announces ${rank} dimensions (${headerBytes} header bytes) but the file holds ${plural(bytes.length, 'byte')}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    count *= d;
  }
  const dataBytes = count * kind.size;
  const shown = `${shape.join('×') || 'scalar'} ${kind.type}`;
  if (dataBytes > IDX_MAX_BYTES)
    throw new IdxError(`readIdx: ${name}: its header announces ${shown} (${dataBytes} bytes of data), more than the ${IDX_MAX_BYTES} bytes this reader accepts; the file is probably not IDX`);
  const expected = headerBytes + dataBytes;
  if (bytes.length < expected)
    throw new IdxError(`readIdx: ${name} is truncated: its header announces ${shown}, ${expected} bytes in all, but it holds ${plural(bytes.length, 'byte')}`);
  if (bytes.length > expected)
    throw new IdxError(`readIdx: ${name} is longer than its header announces: ${shown} is ${expected} bytes in all, but it holds ${plural(bytes.length, 'byte')} (not an IDX file, or a corrupt one)`);
  const off = headerBytes;
  // A fresh copy: `bytes` may be a Node Buffer, whose slices share a larger pooled ArrayBuffer.
  const own = () => {
    const raw = new Uint8Array(count);
    raw.set(bytes.subarray(off, off + count));
    return raw;
  };
  let data: IdxData;
  switch (kind.type) {
    case 'uint8':
      data = own();
      break;
    case 'int8':
      data = new Int8Array(own().buffer);
      break;
    case 'int16':
      data = new Int16Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt16(off + 2 * i, false);
      break;
    case 'int32':
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(off + 4 * i, false);
      break;
    case 'float32':
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(off + 4 * i, false);
      break;
    case 'float64':
      data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(off + 8 * i, false);
      break;
  }
  return { type: kind.type, shape, data };
}

/**
 * Reads an IDX file (gzipped or not; detected from its first bytes, not its name). Errors name
 * the file: missing, unreadable, truncated (expected vs actual size), or not IDX at all.
 *
 *     const images = readIdx('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');
 *     images.shape // [10000, 28, 28]
 */
export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new IdxError(`readIdx: cannot read '${path}': ${code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message)}`);
  }
  return parseIdx(bytes, `'${path}'`);
}

/** Options of {@link encodeIdx}. */
export interface EncodeIdxOptions {
  /** gzip the result (default false). */
  readonly gzip?: boolean;
}

/**
 * The IDX bytes of an array (the inverse of {@link parseIdx}); `data.length` must equal the
 * product of `shape` and its typed array must match `type`.
 *
 *     encodeIdx({ type: 'uint8', shape: [2, 2], data: Uint8Array.of(0, 1, 2, 3) }, { gzip: true })
 */
export function encodeIdx(arr: IdxArray, opts: EncodeIdxOptions = {}): Uint8Array {
  const kind = byType.get(arr.type);
  if (!kind) throw new TypeError(`encodeIdx: unknown IDX type '${String(arr.type)}' (expected ${TYPES.map((t) => t.type).join(', ')})`);
  const { shape, data } = arr;
  if (shape.length > 255) throw new RangeError(`encodeIdx: IDX files hold at most 255 dimensions, got ${shape.length}`);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0 && d <= 0xffffffff))
    throw new RangeError(`encodeIdx: every dimension must be a uint32, got [${shape.join(', ')}]`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new RangeError(`encodeIdx: shape [${shape.join(', ')}] needs ${count} elements, got ${data.length}`);
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + count * kind.size);
  const view = new DataView(out.buffer);
  out[2] = kind.code;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < count; i++) {
    const v = data[i]!;
    const at = header + i * kind.size;
    switch (kind.type) {
      case 'uint8':
        view.setUint8(at, v);
        break;
      case 'int8':
        view.setInt8(at, v);
        break;
      case 'int16':
        view.setInt16(at, v, false);
        break;
      case 'int32':
        view.setInt32(at, v, false);
        break;
      case 'float32':
        view.setFloat32(at, v, false);
        break;
      case 'float64':
        view.setFloat64(at, v, false);
        break;
    }
  }
  return opts.gzip ? new Uint8Array(gzipSync(out)) : out;
}

/** Writes an array as an IDX file (see {@link encodeIdx}). */
export function writeIdx(path: string, arr: IdxArray, opts: EncodeIdxOptions = {}): void {
  writeFileSync(path, encodeIdx(arr, opts));
}
