/**
 * The `partax` command (placeholder: the lead replaces this file).
 * Run through bin/partax.mjs, which loads it with tsx; arguments are process.argv.slice(2).
 */
const usage = `usage: partax <command> [args]

commands:
  case <file.json>        evaluate a partax-case/1 reference case (not implemented yet)
  trajectory <file.json>  run a partax-trajectory/1 reference case (not implemented yet)
  --help                  show this message`;

const args = process.argv.slice(2);
if (args.length === 0 || args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
  console.log(usage);
} else {
  console.error(`partax: unknown or unimplemented command '${args[0]}'\n${usage}`);
  process.exitCode = 2;
}
