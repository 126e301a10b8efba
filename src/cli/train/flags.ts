import { DecodeError, type DecodeIssue, formatIssues, issuesOf } from '../../core/decode.js';
import { OPTION_NAMES, OPTIONS, type OptionName, suggest, type TrainOptions, TrainOptionsCodec } from './config.js';
import type { OptionCodec, OptionKind } from './option-codecs.js';
import { OPTIMIZERS } from './optimizers.js';

/**
 * The command line of `partax train`: `--kebab-case value` or `--kebab-case=value` for every
 * option of {@link OPTIONS} (booleans also as `--flag` / `--no-flag`, lists as `128,64`, nullable
 * numbers as `none`), plus `--config FILE`, `--resume DIR` and `--help`. Values are decoded by the
 * same io-ts codec as a config file; errors name the flag.
 */

/** What the command line asked for. */
export interface ParsedFlags {
  /** The options given as flags (decoded). */
  readonly options: TrainOptions;
  /** `--config FILE`. */
  readonly configFile?: string;
  /** `--resume DIR`. */
  readonly resume?: string;
  /** `--help` / `-h`. */
  readonly help: boolean;
}

/** `batchSize` → `--batch-size`. */
export const flagOf = (name: string): string => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
/** `batch-size` → `batchSize`. */
const camel = (kebab: string): string => kebab.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The options whose command-line value is of one of `kinds` (from their codecs). */
const ofKind = (...kinds: OptionKind[]) => new Set(OPTION_NAMES.filter((n) => kinds.includes(OPTIONS[n].codec.kind)));
const BOOLEANS = ofKind('boolean');
const LISTS = ofKind('list');
const NULLABLE = new Set(OPTION_NAMES.filter((n) => (OPTIONS[n].codec as OptionCodec<unknown>).nullable));
const STRINGS = ofKind('name', 'dir');
const SPECIAL = ['config', 'resume', 'help'];

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
/** A number when the text is one, else the text (so the codec can say what was expected). */
const toNumber = (s: string): number | string => (NUMBER.test(s.trim()) ? Number(s) : s);

function convert(name: OptionName, text: string): unknown {
  if (BOOLEANS.has(name)) return text === 'true' ? true : text === 'false' ? false : text;
  if (LISTS.has(name)) return text.split(',').map((p) => toNumber(p));
  if (NULLABLE.has(name) && (text === 'none' || text === 'null')) return null;
  if (STRINGS.has(name)) return text;
  return toNumber(text);
}

class FlagError extends DecodeError {}

/**
 * Parses the arguments after `partax train`. Unknown flags, repeated flags, missing values, stray
 * arguments and bad values are all reported at once, each naming its flag.
 *
 *     parseFlags(['--epochs', '2', '--hidden=64,32', '--no-remove-negative'])
 *     // { options: { epochs: 2, hidden: [64, 32], removeNegative: false }, help: false }
 */
export function parseFlags(argv: readonly string[]): ParsedFlags {
  const issues: DecodeIssue[] = [];
  const raw: Record<string, unknown> = {};
  const seen = new Set<string>();
  let configFile: string | undefined;
  let resume: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      issues.push({ path: '', message: `unexpected argument '${arg}' (options are --name value; see partax train --help)` });
      continue;
    }
    const eq = arg.indexOf('=');
    let key = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let inline: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let name = camel(key);
    let negated = false;
    if (!SPECIAL.includes(key) && !(OPTION_NAMES as string[]).includes(name) && key.startsWith('no-') && BOOLEANS.has(camel(key.slice(3)) as OptionName)) {
      negated = true;
      key = key.slice(3);
      name = camel(key);
    }
    const flag = `--${key}`;
    if (seen.has(name)) {
      issues.push({ path: flag, message: 'given twice' });
      continue;
    }
    seen.add(name);
    const isBool = BOOLEANS.has(name as OptionName);
    if (negated) {
      if (inline !== undefined) issues.push({ path: `--no-${key}`, message: 'takes no value' });
      raw[name] = false;
      continue;
    }
    if (!SPECIAL.includes(key) && !(OPTION_NAMES as string[]).includes(name)) {
      const s = suggest(name, [...OPTION_NAMES, ...SPECIAL]);
      issues.push({ path: flag, message: `unknown flag${s ? ` (did you mean '${flagOf(s)}'?)` : ''}` });
      if (inline === undefined && i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) i++;
      continue;
    }
    if (key === 'help') {
      help = true;
      continue;
    }
    if (inline === undefined && isBool) {
      raw[name] = true;
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && !NUMBER.test(next))) {
        issues.push({ path: flag, message: 'needs a value' });
        continue;
      }
      inline = next;
      i++;
    }
    if (key === 'config') configFile = inline;
    else if (key === 'resume') resume = inline;
    else raw[name] = convert(name as OptionName, inline);
  }
  const r = TrainOptionsCodec.decode(raw);
  if (r._tag === 'Left') issues.push(...issuesOf(r.left).map((x) => ({ path: x.path ? flagOf(x.path) : x.path, message: x.message })));
  if (issues.length) throw new FlagError(formatIssues('partax train', issues, 20), issues);
  const out: { options: TrainOptions; configFile?: string; resume?: string; help: boolean } = { options: r._tag === 'Right' ? r.right : {}, help };
  if (configFile !== undefined) out.configFile = configFile;
  if (resume !== undefined) out.resume = resume;
  return out;
}

const INTS = ofKind('int');
const DIRS = ofKind('dir');

/** The option list for `partax train --help`, with `extra` rows (flag, help) at the end. */
export function optionsHelp(extra: readonly (readonly [string, string])[] = []): string {
  const rows = [
    ...OPTION_NAMES.map((n) => {
      const kind = BOOLEANS.has(n) ? '' : LISTS.has(n) ? ' N,N' : DIRS.has(n) ? ' DIR' : STRINGS.has(n) ? ' NAME' : INTS.has(n) ? ' N' : ' X';
      return [BOOLEANS.has(n) ? `--[no-]${flagOf(n).slice(2)}` : `${flagOf(n)}${kind}`, OPTIONS[n].help] as const;
    }),
    ...extra,
  ];
  const w = Math.max(...rows.map(([f]) => f.length)) + 2;
  return rows.map(([f, h]) => `  ${f.padEnd(w)}${h}`).join('\n');
}

/** The optimizers for `partax train --help`: each name with its line and its flags. */
export function optimizersHelp(): string {
  const w = Math.max(...OPTIMIZERS.map((e) => e.name.length)) + 2;
  return OPTIMIZERS.map((e) => `  ${e.name.padEnd(w)}${e.about}\n  ${' '.repeat(w)}flags: ${Object.keys(e.flags).map(flagOf).join(' ')}`).join('\n');
}
