#!/usr/bin/env node
// `npm run web`: builds the web page (examples/web/: index.html, main.ts bundled by esbuild with
// partax's browser entry and vega, the digits) and serves it on http://localhost:8080/ with the
// headers that make it cross-origin isolated (so cpu-wasm runs on Web Workers). Everything is
// served from here: the page works offline.
//
//   node examples/web/web.mjs [--port 8080]     build in memory and serve
//   node examples/web/web.mjs --out DIR         write the static files to DIR and exit
//
// laws/web-example.test.ts builds the same files with buildWeb() and loads them in Chromium.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/** The page's files: path → { body, type }. */
export async function buildWeb() {
  const r = await build({
    entryPoints: [join(here, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'warning',
  });
  return new Map([
    ['/index.html', { body: readFileSync(join(here, 'index.html')), type: 'text/html; charset=utf-8' }],
    ['/main.js', { body: r.outputFiles[0].contents, type: 'text/javascript' }],
    ['/digits.bin.gz', { body: readFileSync(join(here, 'digits.bin.gz')), type: 'application/octet-stream' }],
  ]);
}

/** Headers that make the page cross-origin isolated (SharedArrayBuffer, hence Web Workers for cpu-wasm). */
export const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** Serves `files` on localhost:`port` (0: any free port); resolves to the server's URL. */
export function serveWeb(files, port) {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const f = files.get(path === '/' ? '/index.html' : path);
    if (f) res.writeHead(200, { ...ISOLATION_HEADERS, 'Content-Type': f.type, 'Cache-Control': 'no-cache' }).end(f.body);
    else res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, url: `http://localhost:${server.address().port}/` }));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const files = await buildWeb();
  const out = arg('out');
  if (out !== undefined) {
    mkdirSync(out, { recursive: true });
    for (const [p, f] of files) writeFileSync(join(out, p), f.body);
    console.log(`web: wrote ${[...files.keys()].join(', ')} to ${out} (serve them with ${Object.entries(ISOLATION_HEADERS).map(([k, v]) => `${k}: ${v}`).join(', ')} for Web Workers)`);
  } else {
    const port = Number(arg('port') ?? 8080);
    const { url } = await serveWeb(files, port);
    const kib = (b) => `${(b.length / 1024).toFixed(0)} KiB`;
    console.log(`web: main.js ${kib(files.get('/main.js').body)}, digits ${kib(files.get('/digits.bin.gz').body)}`);
    console.log(`web: serving the page at ${url} (Ctrl-C to stop)`);
  }
}
