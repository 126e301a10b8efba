import { readFileSync } from 'node:fs';
import { CaseFile, TrajectoryFile } from '../cases/codecs.js';
import { DecodeError } from '../core/decode.js';
import { systemErrorMessage } from '../io/file-error.js';
import { setBackend } from '../backends/registry.js';
import { BACKENDS, type BackendName, envBackend, HOST_BACKEND, startBackend } from './backend.js';
import { guardStream, lineWriter } from './output.js';
import { readJsonFile } from './read-json.js';

/**
 * The `partax` command: {@link main}, run by bin/partax.mjs (from src/ through tsx in a checkout,
 * from dist/ once installed).
 *   partax case [--backend NAME] FILE         summary (and Nesterov rates) of a partax-case/1 file, as JSON
 *   partax trajectory [--backend NAME] FILE   replay a partax-trajectory/1 file with NewtonSummary, as JSON
 *   partax train [options] · partax plot RUN_DIR… · partax help [COMMAND] · partax --version
 * Every command's messages carry one `partax COMMAND:` prefix; results go to stdout, the rest to
 * stderr, and a closed stdout or stderr (`| head`) never crashes a command.
 */
const usage = `usage: partax <command> [args]

commands:
  case [--backend NAME] <file.json>        evaluate a partax-case/1 reference case: prints {"loss","g","H","order3","D3","nesterov"}
  trajectory [--backend NAME] <file.json>  replay a partax-trajectory/1 case with NewtonSummary: prints {"loss","lrs","params","hg"}
  train [options]                          train a model (default: MLP on the embedded MNIST with NewtonSummary); see partax help train
  plot <run-dir>...                        charts of training runs (curves, learning rates, H̄ heat map) as SVG/PNG; see partax help plot
  help [command]                           show this message, or a command's
  --version                                print partax's version

environment:
  PARTAX_BACKEND   the default backend of every command: ${BACKENDS.join(' | ')} (--backend overrides it)`;

const fileUsage = (cmd: 'case' | 'trajectory', what: string) => `usage: partax ${cmd} [--backend NAME] <file.json>

${what}

options:
  --backend NAME  ${BACKENDS.join(' | ')} (default: PARTAX_BACKEND when set, else cpu-wasm); webgpu runs float32 files only (WGSL has no f64)
  --help          show this message`;

const USAGES = {
  case: fileUsage('case', 'Evaluates a partax-case/1 reference case and prints {"loss","g","H","order3","D3","nesterov"} as JSON:\nthe partition summary of the case\'s loss along its direction and the Nesterov learning rates.'),
  trajectory: fileUsage('trajectory', 'Replays a partax-trajectory/1 case with NewtonSummary and prints {"loss","lrs","params","hg"} as JSON.'),
} as const;

/** A bad command line: exit status 2. */
class UsageError extends Error {}

/** The arguments of `case` and `trajectory`. */
interface FileArgs {
  readonly file?: string;
  readonly backend?: BackendName;
  readonly help: boolean;
}

function parseFileArgs(cmd: 'case' | 'trajectory', args: readonly string[]): FileArgs {
  const files: string[] = [];
  let backend: string | undefined;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--help' || a === '-h') help = true;
    else if (a === '--backend' || a.startsWith('--backend=')) {
      if (backend !== undefined) throw new UsageError('--backend: given twice');
      backend = a === '--backend' ? args[++i] : a.slice('--backend='.length);
      if (backend === undefined || backend.startsWith('--')) throw new UsageError('--backend: needs a value');
      if (!(BACKENDS as readonly string[]).includes(backend)) throw new UsageError(`--backend: expected one of ${BACKENDS.join(', ')}, got "${backend}"`);
    } else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}' (see partax ${cmd} --help)`);
    else files.push(a);
  }
  if (help) return { help };
  if (files.length !== 1) throw new UsageError(`expected one file argument, got ${files.length}\n${USAGES[cmd]}`);
  return { file: files[0]!, help, ...(backend ? { backend: backend as BackendName } : {}) };
}

/** `case` and `trajectory`: decode the file, start the backend, print the result as JSON. */
async function runFileCommand(cmd: 'case' | 'trajectory', args: readonly string[]): Promise<number> {
  const out = lineWriter(process.stdout);
  const parsed = parseFileArgs(cmd, args);
  if (parsed.help) {
    out(USAGES[cmd]);
    return 0;
  }
  const backend = parsed.backend ?? envBackend();
  const file = cmd === 'case' ? readJsonFile(parsed.file!, CaseFile, 'case file') : readJsonFile(parsed.file!, TrajectoryFile, 'trajectory file');
  if (backend === 'webgpu' && file.dtype === 'float64')
    throw new Error(`'${parsed.file}' is a float64 ${cmd}, and the webgpu backend has no float64 (WGSL has no f64): run it with --backend cpu-wasm or --backend cpu`);
  const say = lineWriter(process.stderr);
  const stop = backend ? await startBackend(backend, (line) => say(`partax ${cmd}: ${line}`)) : () => {};
  try {
    const result =
      cmd === 'case'
        ? await (await import('../cases/run-case.js')).runCase(file as CaseFile)
        : await (await import('../cases/run-trajectory.js')).runTrajectory(file as TrajectoryFile);
    out(JSON.stringify(result));
    return 0;
  } finally {
    stop();
  }
}

type Command = (args: string[]) => Promise<number | void> | number | void;

const commands: Record<string, Command> = {
  case: (args) => runFileCommand('case', args),
  trajectory: (args) => runFileCommand('trajectory', args),
  train: async (args) => (await import('./train/command.js')).trainCommand(args),
  plot: async (args) => (await import('./plot/command.js')).plotCommand(args),
};

/** partax's version, from its package.json. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Runs the command line `argv` (the arguments after `partax`); resolves to the exit status.
 * bin/partax.mjs calls it with process.argv.slice(2); a program can too (`partax/cli`):
 *
 *     import { main } from 'partax/cli';
 *     process.exitCode = await main(['train', '--dataset', 'spirals', '--out', 'runs/s']);
 */
export async function main(argv: readonly string[]): Promise<number> {
  guardStream(process.stdout);
  guardStream(process.stderr);
  // each command picks its backend itself (--backend, else PARTAX_BACKEND, which the registry
  // made the default at load even when it names webgpu, not started yet): start from the host's
  setBackend(HOST_BACKEND);
  const out = lineWriter(process.stdout);
  const err = lineWriter(process.stderr);
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    out(`partax ${version()}`);
    return 0;
  }
  if (cmd === 'help' && rest.length > 0) {
    if (rest.length > 1 || !commands[rest[0]!]) {
      err(`partax help: expected one command name (${Object.keys(commands).join(', ')}), got ${rest.map((a) => `'${a}'`).join(' ')}`);
      return 2;
    }
    return main([rest[0]!, '--help']);
  }
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    out(usage);
    return 0;
  }
  const run = commands[cmd];
  if (!run) {
    err(`partax: unknown command '${cmd}'\n${usage}`);
    return 2;
  }
  try {
    const code = await run(rest);
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    const message = systemErrorMessage(e) ?? (e instanceof Error ? e.message : String(e));
    err(`partax ${cmd}: ${message.replace(new RegExp(`^partax ${cmd}: `), '')}`);
    return e instanceof UsageError || (e instanceof DecodeError && /^PARTAX_BACKEND/.test(e.message)) ? 2 : 1;
  }
}
