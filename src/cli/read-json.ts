import { readFileSync } from 'node:fs';
import type * as t from 'io-ts';
import { decodeOrThrow } from '../core/decode.js';

/** Reads a JSON file and decodes it with an io-ts codec; every problem names the file and the field. */
export function readJsonFile<A>(path: string, codec: t.Decoder<unknown, A>, what: string): A {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${what}: cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: '${path}' is not valid JSON: ${(e as Error).message}`);
  }
  return decodeOrThrow(codec, json, `${what} '${path}'`);
}
