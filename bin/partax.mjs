#!/usr/bin/env node
// partax CLI launcher: runs src/cli/main.ts through tsx's ESM loader, with no build step.
// Paths are resolved relative to this file, so it works from any cwd, via `npx partax`,
// and through the symlink npm puts in node_modules/.bin.
//
// Contract with src/cli/main.ts: it reads its arguments from process.argv.slice(2)
// (process.argv is [node, this file, ...args]). It may either do its work when imported,
// or export `main(argv: string[]): number | void | Promise<number | void>`, which is
// then called here, and a number it returns becomes the exit status.
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

const binDir = dirname(realpathSync(fileURLToPath(import.meta.url)));
const mainTs = join(binDir, '..', 'src', 'cli', 'main.ts');

register();
const mod = await import(pathToFileURL(mainTs).href);
if (typeof mod.main === 'function') {
  const code = await mod.main(process.argv.slice(2));
  if (typeof code === 'number') process.exitCode = code;
}
