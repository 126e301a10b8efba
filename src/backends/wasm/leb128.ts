/** LEB128 integer encodings of the WebAssembly binary format. */

/** Unsigned LEB128 of a non-negative 32-bit integer, appended to `out`. */
export function uleb(n: number, out: number[] = []): number[] {
  n >>>= 0;
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer, appended to `out`. */
export function sleb(n: number, out: number[] = []): number[] {
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}
