import puppeteer from 'puppeteer-core';
import { buildWeb, serveWeb } from './examples/web/web.mjs';
const { server, url } = await serveWeb(await buildWeb(), 0);
const b = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
const p = await b.newPage();
await p.evaluateOnNewDocument(() => { const M = WebAssembly.Memory; window.__mems = []; WebAssembly.Memory = function (d) { const m = new M(d); window.__mems.push(m); return m; }; WebAssembly.Memory.prototype = M.prototype; });
const steps = Number(process.argv[2] ?? 300);
await p.goto(`${url}?optimizer=${process.argv[3] ?? 'newton-summary'}&steps=${steps}&auto=1`);
const t0 = Date.now();
for (;;) {
  const st = await p.evaluate(() => ({ s: window.partaxWeb?.status, step: window.partaxWeb?.step, mem: window.__mems.map((m) => m.buffer.byteLength / 2 ** 20), js: performance.memory?.usedJSHeapSize / 2 ** 20 }));
  console.log(JSON.stringify(st), ((Date.now() - t0) / 1000).toFixed(0));
  if (st.s === 'done' || st.s === 'error') break;
  await new Promise((r) => setTimeout(r, 3000));
}
console.log(await p.evaluate(() => document.getElementById('status').textContent));
await b.close(); server.close();
