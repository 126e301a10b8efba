import * as t from 'io-ts';

/**
 * Turning io-ts validation failures into one readable error. Every file and config that enters
 * partax (cases, checkpoints, CLI configs) is decoded with an io-ts codec through
 * {@link decodeOrThrow}, so every problem is reported the same way: what was read, the path of the
 * bad field, and what was wrong with it.
 */

/** One problem found while decoding: the dotted path of the field ('' for the root) and what is wrong. */
export interface DecodeIssue {
  readonly path: string;
  readonly message: string;
}

/** Raised when outside input does not decode; `issues` lists every problem found. */
export class DecodeError extends Error {
  override name = 'DecodeError';
  constructor(
    message: string,
    readonly issues: readonly DecodeIssue[] = [],
  ) {
    super(message);
  }
}

/** A short rendering of an offending value for messages (never throws, never huge). */
export function showValue(x: unknown, max = 60): string {
  if (x === undefined) return 'nothing (the field is missing)';
  let s: string;
  try {
    if (typeof x === 'number') s = Number.isNaN(x) ? 'NaN' : String(x);
    else if (typeof x === 'bigint') s = `${x}n`;
    else if (typeof x === 'function') s = 'a function';
    else s = JSON.stringify(x) ?? String(x);
  } catch {
    s = Object.prototype.toString.call(x);
  }
  if (Array.isArray(x)) s = `${s.length > max ? `${s.slice(0, max)}…` : s} (an array of ${x.length})`;
  else if (s.length > max) s = `${s.slice(0, max)}…`;
  return s;
}

/** Codecs whose children are alternatives or parts of the same value: their keys are not path steps. */
const TRANSPARENT = new Set(['UnionType', 'IntersectionType', 'TaggedUnionType', 'RefinementType', 'ExactType', 'ReadonlyType', 'RecursiveType']);

/** The dotted path (`params.layers.0.weight.data`) of a validation context. */
export function contextPath(context: t.Context): string {
  const steps: string[] = [];
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1]!.type as t.Any & { _tag?: string };
    if (parent._tag !== undefined && TRANSPARENT.has(parent._tag)) continue;
    steps.push(context[i]!.key);
  }
  return steps.join('.');
}

/** The issues of an io-ts failure: one per distinct (path, message), in the order io-ts found them. */
export function issuesOf(errors: t.Errors): DecodeIssue[] {
  const seen = new Set<string>();
  const out: DecodeIssue[] = [];
  for (const e of errors) {
    const path = contextPath(e.context);
    const last = e.context[e.context.length - 1];
    const message = e.message ?? `expected ${last?.type.name ?? 'a valid value'}, got ${showValue(e.value)}`;
    const id = `${path}\u0000${message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ path, message });
  }
  return out;
}

/** Renders issues as lines `what: path: message`, at most `max` of them (very long paths keep their end). */
export function formatIssues(what: string, issues: readonly DecodeIssue[], max = 6): string {
  const clip = (p: string) => (p.length > 160 ? `…${p.slice(-150)}` : p);
  const lines = issues.slice(0, max).map((i) => `${what}: ${i.path ? `${clip(i.path)}: ` : ''}${i.message}`);
  if (issues.length > max) lines.push(`${what}: … and ${issues.length - max} more problem(s)`);
  return lines.join('\n');
}

/**
 * Decodes `value` with `codec`, or throws a {@link DecodeError} whose message names `what`
 * (a file, a config…), the path of each bad field and the problem:
 *
 *     decodeOrThrow(treeCodec('float64'), json, 'checkpoint run.json')
 *     // DecodeError: checkpoint run.json: params.layers.0.weight.data: expected 6 numbers for shape [2,3], got 5
 */
export function decodeOrThrow<A>(codec: t.Decoder<unknown, A>, value: unknown, what: string): A {
  const r = codec.decode(value);
  if (r._tag === 'Right') return r.right;
  const issues = issuesOf(r.left);
  throw new DecodeError(formatIssues(what, issues.length ? issues : [{ path: '', message: `not a valid ${codec.name}` }]), issues);
}

/**
 * Parses JSON text and decodes it like {@link decodeOrThrow}; invalid JSON is a {@link DecodeError} too.
 *
 *     parseOrThrow(CaseFile, readFileSync(path, 'utf8'), `case ${path}`)
 */
export function parseOrThrow<A>(codec: t.Decoder<unknown, A>, text: string, what: string): A {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DecodeError(`${what}: not valid JSON (${e instanceof Error ? e.message : String(e)})`, [{ path: '', message: 'not valid JSON' }]);
  }
  return decodeOrThrow(codec, json, what);
}
