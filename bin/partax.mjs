#!/usr/bin/env node
// partax CLI launcher. In a checkout (src/ is there) it runs src/cli/main.ts through tsx's ESM
// loader, with no build step, so an edit to src/ is never shadowed by a stale dist/ from an
// earlier `npm run build` or `npm pack`. The installed package has no src/ (package.json `files`)
// and runs the compiled dist/cli/main.js, with no tsx. Paths are resolved relative to this file,
// so it works from any cwd, via `npx partax`, and through the symlink npm puts in node_modules/.bin.
//
// Contract with src/cli/main.ts: it exports `main(argv: string[]): Promise<number>`, called
// here with process.argv.slice(2) (process.argv is [node, this file, ...args]); the number it
// returns becomes the exit status. Importing it does nothing else (it is also `partax/cli`).
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(realpathSync(fileURLToPath(import.meta.url))), '..');
const mainTs = join(root, 'src', 'cli', 'main.ts');
const mainJs = join(root, 'dist', 'cli', 'main.js');

/** The CLI module: the source through tsx in a checkout, else the build. */
async function load() {
  if (existsSync(mainTs)) {
    const tsx = await import('tsx/esm/api').catch(() => null);
    if (tsx) {
      tsx.register();
      return import(pathToFileURL(mainTs).href);
    }
    if (!existsSync(mainJs)) throw new Error(`partax: ${mainTs} needs tsx to run and there is no build (${mainJs}): run \`npm install\` (or \`npm run build\`)`);
  }
  return import(pathToFileURL(mainJs).href);
}

const { main } = await load();
process.exitCode = await main(process.argv.slice(2));
