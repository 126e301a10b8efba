import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

/**
 * The browser entries (package.json's `browser` conditions: src/browser.ts, the root in a page,
 * and src/backends/webgpu/browser.ts, `partax/webgpu` in a page) bundle for the browser platform
 * with esbuild with no error and no warning, import no Node built-in (statically or dynamically),
 * touch no bare `process` (a ReferenceError in a page) and hold no Dawn (the `webgpu` package). The strings 'node:…' that remain are arguments of
 * `process.getBuiltinModule` (src/backends/node-builtin.ts), undefined in a page, and the source
 * of Node's worker threads (src/backends/wasm/pool.ts), which a page never starts.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> };
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Every `./dist/X.js` named under a `browser` condition, as its source file src/X.ts. */
const browserSources = Object.values(pkg.exports).flatMap((v) => (typeof v === 'object' && v.browser ? [join(ROOT, v.browser.replace(/^\.\/dist\/(.+)\.js$/, 'src/$1.ts'))] : []));

test("package.json names a browser build of the root and of partax/webgpu, each from a source file; partax/browser types it", () => {
  assert.deepEqual(browserSources.map((s) => s.slice(ROOT.length + 1)).sort(), ['src/backends/webgpu/browser.ts', 'src/browser.ts']);
  for (const s of browserSources) assert.ok(existsSync(s), `${s} is missing`);
  const sub = pkg.exports['./browser'] as Record<string, string>;
  assert.equal(sub.default, (pkg.exports['.'] as Record<string, string>).browser);
  assert.equal(sub.types, './dist/browser.d.ts');
});

for (const entry of browserSources) {
  test(`${entry.slice(ROOT.length + 1)} bundles for the browser with no error or warning, no Node built-in and no Dawn`, async () => {
    const r = await build({ absWorkingDir: ROOT, entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, metafile: true, logLevel: 'silent' });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings.map((w) => w.text), []);
    const meta: Metafile = r.metafile;
    const imports = Object.values(meta.inputs).flatMap((i) => i.imports.map((m) => m.path));
    assert.deepEqual(imports.filter((p) => builtins.has(p)), [], 'Node built-ins imported');
    assert.deepEqual(Object.keys(meta.inputs).filter((p) => /node_modules\/webgpu\//.test(p)), [], 'Dawn bundled');
    const text = r.outputFiles[0]!.text;
    assert.ok(text.length > 50_000, `only ${text.length} characters bundled`);
    // (a `require('node:worker_threads')` remains, inside the source of Node's worker thread: a string)
    assert.doesNotMatch(text, /(?:^\s*import\b[^;]*?\bfrom\s*|\bimport\s*\(\s*)["'](?:node:|fs["'/]|path["'/]|worker_threads["'])/m, 'an import of a Node built-in in the bundle');
    // a page has no `process`: every read of the environment goes through envVar or
    // globalThis.process?.… (src/backends/node-builtin.ts), never a bare `process.env` that
    // throws a ReferenceError in the page when the code runs
    const bare = [...text.matchAll(/(?<![.\w$])process\s*\.\s*\w+/g)].map((m) => m[0]);
    assert.deepEqual(bare, [], 'a bare process.… in the browser bundle');
    assert.ok(/(?<![.\w$])process\s*\.\s*\w+/.test('const t = process.env.X'), 'the check sees a bare one');
    // the check above sees one: the Node root entry (src/index.ts) loads Dawn when PARTAX_BACKEND says so
    const node = await build({ absWorkingDir: ROOT, entryPoints: [join(ROOT, 'src/index.ts')], bundle: true, format: 'esm', platform: 'browser', write: false, metafile: true, logLevel: 'silent' }).catch((e: { errors: { text: string }[] }) => e);
    assert.ok('errors' in node && node.errors.some((e) => /node:|module/.test(e.text)), 'bundling the Node entry for the browser fails on Node built-ins');
  });
}
