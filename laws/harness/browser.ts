import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'puppeteer-core';

/**
 * Headless Chromium for the browser tests, driven over the DevTools protocol by puppeteer-core
 * (no browser download: Debian's `chromium`, which scripts/setup-browser.sh installs). A local
 * HTTP server serves partax's browser entry (src/browser.ts, bundled by esbuild as the package's
 * `browser` build is), the cases of ./browser-cases.mjs and any extra files, each page either
 * cross-origin isolated (COOP/COEP headers: SharedArrayBuffer, so cpu-wasm can start Web
 * Workers) or not.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the browser is looked for (PARTAX_CHROMIUM overrides). */
export const CHROMIUM = process.env.PARTAX_CHROMIUM ?? '/usr/bin/chromium';

/** A file the server hands out. */
export interface Served {
  readonly body: string | Uint8Array;
  readonly type: string;
}

/** A running browser and server. */
export interface BrowserSession {
  readonly browser: Browser;
  /** The server's origin, e.g. http://127.0.0.1:40123 */
  readonly origin: string;
  /** A new page at /isolated/ (COOP/COEP sent) or /plain/ (not), with partax importable as /partax.js. */
  page(isolated: boolean): Promise<Page>;
  /** Runs `cases[name](P, ...args)` of ./browser-cases.mjs in the page, P being the browser bundle. */
  run<T>(page: Page, name: string, ...args: unknown[]): Promise<T>;
  /** Adds files to serve (path → contents). */
  serve(files: ReadonlyMap<string, Served>): void;
  close(): Promise<void>;
}

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const PAGE = '<!doctype html><meta charset="utf-8"><title>partax browser test</title><body></body>';

/** The browser bundle of partax (src/browser.ts), as the package's build makes it. */
export async function browserBundle(): Promise<string> {
  const r = await build({ absWorkingDir: ROOT, entryPoints: [join(ROOT, 'src', 'browser.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
  return r.outputFiles[0]!.text;
}

/**
 * Starts Chromium (headless, WebGPU allowed: `--enable-unsafe-webgpu`, SwiftShader's Vulkan) and
 * the server; resolves to the session, or to a string saying why there is none (no Chromium, no
 * puppeteer-core, a launch that failed), for the tests to skip with.
 */
export async function openBrowser(): Promise<BrowserSession | string> {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (bash scripts/setup-browser.sh installs Debian's chromium; PARTAX_CHROMIUM names another)`;
  let puppeteer: typeof import('puppeteer-core');
  try {
    puppeteer = await import('puppeteer-core');
  } catch (e) {
    return `puppeteer-core did not load (${(e as Error).message}): run npm install`;
  }
  const files = new Map<string, Served>([
    ['/partax.js', { body: await browserBundle(), type: 'text/javascript' }],
    ['/cases.mjs', { body: readFileSync(join(ROOT, 'laws', 'harness', 'browser-cases.mjs'), 'utf8'), type: 'text/javascript' }],
  ]);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const isolated = !path.startsWith('/plain/');
    const headers = isolated ? { ...ISOLATION } : {};
    const f = files.get(path) ?? files.get(path.replace(/^\/(isolated|plain)/, ''));
    if (f) res.writeHead(200, { ...headers, 'Content-Type': f.type, 'Cache-Control': 'no-store' }).end(f.body);
    else if (path === '/isolated/' || path === '/plain/') res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end(PAGE);
    else res.writeHead(404, headers).end(`not found: ${path}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  let browser: Browser;
  try {
    browser = await puppeteer.default.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      protocolTimeout: 120_000,
      // root (CI) needs --no-sandbox; a container's small /dev/shm, --disable-dev-shm-usage; WebGPU on Linux is behind --enable-unsafe-webgpu, on SwiftShader without a GPU
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader'],
    });
  } catch (e) {
    server.close();
    return `Chromium at ${CHROMIUM} did not start: ${(e as Error).message.split('\n')[0]}`;
  }
  const errors = new WeakMap<Page, string[]>();
  return {
    browser,
    origin,
    async page(isolated) {
      const page = await browser.newPage();
      const seen: string[] = [];
      errors.set(page, seen);
      page.on('pageerror', (e) => seen.push(String((e as Error).message ?? e)));
      await page.goto(`${origin}/${isolated ? 'isolated' : 'plain'}/`);
      return page;
    },
    async run<T>(page: Page, name: string, ...args: unknown[]): Promise<T> {
      const r = await page.evaluate(
        async (name: string, args: unknown[]) => {
          const P = await import('/partax.js' as string);
          const C = await import('/cases.mjs' as string);
          return C[name](P, ...args);
        },
        name,
        args,
      );
      const seen = errors.get(page) ?? [];
      if (seen.length > 0) throw new Error(`errors in the page: ${seen.join('; ')}`);
      return r as T;
    },
    serve(more) {
      for (const [k, v] of more) files.set(k, v);
    },
    async close() {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
