import * as t from 'io-ts';
import { showValue } from '../../core/decode.js';

/**
 * The io-ts codecs of `partax train`'s options, each tagged with the kind of value it takes on the
 * command line (`kind`: how `--flag text` is converted, and what `--help` shows after the flag), so
 * that an option is declared once — its codec — and the flag parser, the config decoder and the
 * help all follow from it.
 */

/** How an option's value is written on the command line. */
export type OptionKind = 'boolean' | 'list' | 'name' | 'dir' | 'int' | 'number';

/** An option's codec, with the kind of its command-line value; `nullable` ones also take `none` (null in JSON). */
export type OptionCodec<A> = t.Type<A, A, unknown> & { readonly kind: OptionKind; readonly nullable?: true };

/** An option: its codec and a one-line help (shown by `partax train --help`). */
export interface OptionSpec<A = any> {
  readonly codec: OptionCodec<A>;
  readonly help: string;
}

/** What a check returns when a value is bad: the message. */
class Bad {
  constructor(readonly message: string) {}
}
const bad = (message: string) => new Bad(message);
type Refine<A> = (u: unknown) => A | Bad;

/** An option codec from a check that returns the value or what is wrong with it. */
function check<A>(name: string, kind: OptionKind, refine: Refine<A>, nullable?: true): OptionCodec<A> {
  const codec = new t.Type<A, A, unknown>(
    name,
    (u): u is A => !(refine(u) instanceof Bad),
    (u, c) => {
      const r = refine(u);
      return r instanceof Bad ? t.failure(u, c, r.message) : t.success(r);
    },
    t.identity,
  );
  return Object.assign(codec, { kind }, nullable ? { nullable } : {});
}

/** One of the listed names. */
export const oneOf = <const L extends readonly string[]>(name: string, values: L) =>
  check<L[number]>(name, 'name', (u) => (typeof u === 'string' && values.includes(u) ? (u as L[number]) : bad(`expected one of ${values.join(', ')}, got ${showValue(u)}`)));
/** A safe integer ≥ `min`. */
export const int = (min: number, what = `an integer ≥ ${min}`) =>
  check<number>(what, 'int', (u) => (typeof u === 'number' && Number.isSafeInteger(u) && u >= min ? u : bad(`expected ${what}, got ${showValue(u)}`)));
/** A finite number for which `ok` holds (`what` says which, in the error). */
export const num = (what: string, ok: (x: number) => boolean) =>
  check<number>(what, 'number', (u) => (typeof u === 'number' && Number.isFinite(u) && ok(u) ? u : bad(`expected ${what}, got ${showValue(u)}`)));
/** true or false. */
export const bool = check<boolean>('a boolean', 'boolean', (u) => (typeof u === 'boolean' ? u : bad(`expected true or false, got ${showValue(u)}`)));
const nonEmpty: Refine<string> = (u) => (typeof u === 'string' && u.length > 0 ? u : bad(`expected a non-empty string, got ${showValue(u)}`));
/** A non-empty string. */
export const str = check<string>('a non-empty string', 'name', nonEmpty);
/** A directory path. */
export const dir = check<string>('a non-empty string', 'dir', nonEmpty);
/** A list of positive integers (layer sizes), `min` to `max` of them. */
export const sizes = (what: string, min = 1, max = 64) =>
  check<number[]>(what, 'list', (u) =>
    Array.isArray(u) && u.length >= min && u.length <= max && u.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 1e6)
      ? [...u]
      : bad(`expected ${what}, got ${showValue(u)}`),
  );
/** A partition name: canonical, trivial, wb or blocks:K. */
export const partitionName = check<string>('a partition name', 'name', (u) =>
  typeof u === 'string' && /^(canonical|trivial|wb|blocks:[1-9]\d{0,3})$/.test(u) ? u : bad(`expected canonical, trivial, wb or blocks:K (K a positive integer), got ${showValue(u)}`),
);
/** A schedule of a factor over the steps, as written on the command line: constant, linear:END:N or cosine:END:N. */
export type ScheduleSpec = { readonly kind: 'constant' } | { readonly kind: 'linear' | 'cosine'; readonly end: number; readonly steps: number };

const SCHEDULE = /^(linear|cosine):([+]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?):(\d+)$/i;

/** The {@link ScheduleSpec} a schedule name says, or null when it is not one (END a finite number ≥ 0, N an integer ≥ 1). */
export function parseSchedule(u: unknown): ScheduleSpec | null {
  if (u === 'constant') return { kind: 'constant' };
  const m = typeof u === 'string' ? SCHEDULE.exec(u) : null;
  if (!m) return null;
  const [end, steps] = [Number(m[2]), Number(m[3])];
  return Number.isFinite(end) && Number.isSafeInteger(steps) && steps >= 1 ? { kind: m[1]!.toLowerCase() as 'linear' | 'cosine', end, steps } : null;
}

/** A schedule name: constant, linear:END:N or cosine:END:N. */
export const scheduleName = check<string>('a schedule', 'name', (u) =>
  parseSchedule(u) !== null ? (u as string) : bad(`expected constant, linear:END:N or cosine:END:N (END a number ≥ 0, N a positive integer of steps), got ${showValue(u)}`),
);

/** `inner`, or null (`none` on the command line). */
export const nullable = <A>(inner: OptionCodec<A>, what: string) =>
  check<A | null>(
    what,
    inner.kind,
    (u) => {
      if (u === null) return null;
      const r = inner.decode(u);
      return r._tag === 'Right' ? r.right : bad(r.left[0]?.message ?? `expected ${what}`);
    },
    true,
  );
