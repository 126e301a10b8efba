import { CaseFile, TrajectoryFile } from '../cases/codecs.js';
import { runCase } from '../cases/run-case.js';
import { readJsonFile } from './read-json.js';

/**
 * The `partax` command. Run through bin/partax.mjs (tsx, no build step).
 *   partax case FILE         summary (and Nesterov rates) of a partax-case/1 file, as JSON
 *   partax trajectory FILE   replay a partax-trajectory/1 file with NewtonSummary, as JSON
 */
const usage = `usage: partax <command> [args]

commands:
  case <file.json>        evaluate a partax-case/1 reference case: prints {"loss","g","H","order3","D3","nesterov"}
  trajectory <file.json>  replay a partax-trajectory/1 case with NewtonSummary: prints {"loss","lrs","params","hg"}
  train [options]         train a model (default: MLP on the embedded MNIST with NewtonSummary); see partax train --help
  plot <run-dir>...       charts of training runs (curves, learning rates, H̄ heat map) as SVG/PNG; see partax plot --help
  --help                  show this message`;

type Command = (args: string[]) => Promise<number | void> | number | void;

const needFile = (cmd: string, args: string[]): string => {
  if (args.length !== 1) throw new UsageError(`partax ${cmd}: expected one file argument, got ${args.length}`);
  return args[0]!;
};

class UsageError extends Error {}

const commands: Record<string, Command> = {
  case: (args) => {
    const file = needFile('case', args);
    console.log(JSON.stringify(runCase(readJsonFile(file, CaseFile, 'case file'))));
  },
  trajectory: async (args) => {
    const file = needFile('trajectory', args);
    const { runTrajectory } = await import('../cases/run-trajectory.js');
    console.log(JSON.stringify(runTrajectory(readJsonFile(file, TrajectoryFile, 'trajectory file'))));
  },
  train: async (args) => (await import('./train/command.js')).trainCommand(args),
  plot: async (args) => (await import('./plot/command.js')).plotCommand(args),
};

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(usage);
    return 0;
  }
  const run = commands[cmd];
  if (!run) {
    console.error(`partax: unknown command '${cmd}'\n${usage}`);
    return 2;
  }
  try {
    const code = await run(rest);
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    console.error(`partax ${cmd}: ${(e as Error).message}`);
    return e instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
