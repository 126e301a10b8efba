// Computations run twice, by laws/browser.test.ts: in Node on partax's source and in headless
// Chromium on the browser bundle (the page imports this file as it is, so it is plain JavaScript
// and every function gets the library as `P`). Each returns plain JSON.

const arr = async (t) => Array.from(await t.data());
/** n values in [−1, 1] from integer arithmetic (no Math.sin: engines differ in its last ulp). */
const grid = (n, phase = 0) => Array.from({ length: n }, (_, i) => (((i + phase) * 37) % 23) / 11 - 1);

/** A small float64 problem: the paper's MLP (5-4-3, tanh, log-softmax) with nll on 6 points. */
function mlpProblem(P) {
  const cfg = { sizes: [5, 4, 3], activation: 'tanh', output: 'log_softmax' };
  const params = P.nn.mlpInit(P.random.key(7), { ...cfg, dtype: 'float64' });
  const x = P.tensor(grid(30, 5), 'float64', [6, 5]);
  const y = P.tensor([0, 2, 1, 1, 0, 2], 'int32');
  const loss = (p) => P.nn.nll(P.nn.mlpApply(cfg, p, x), y);
  return { params, loss, x, y };
}

/** f(x) = Σ tanh(x)·exp(x) + ½‖Ax‖²: its value and gradient at a fixed float64 point. */
export async function gradient(P, backend) {
  P.setBackend(backend);
  const A = P.tensor(grid(21, 3), 'float64', [3, 7]);
  const f = (x) => P.add(P.sum(P.mul(P.tanh(x), P.exp(x))), P.mul(P.sum(P.square(P.matmul(A, x))), 0.5));
  const x = P.tensor(grid(7), 'float64');
  const [v, g] = P.valueAndGrad(f)(x);
  return { x: await arr(x), value: (await v.data())[0], grad: await arr(g) };
}

/** The order-3 partition summary (canonical partition) of the MLP's loss along its gradient. */
export async function summary3(P, backend) {
  P.setBackend(backend);
  const { params, loss } = mlpProblem(P);
  const u = P.grad(loss)(params);
  const s = P.summary(loss, params, u, P.partition.canonical(params), { order: 3 });
  return { loss: (await s.loss.data())[0], g: await arr(s.g), H: await arr(s.H), order3: await arr(s.order3) };
}

/** Four NewtonSummary steps (summary every 2 steps) on the MLP: the loss, the rates and the parameters after each. */
export async function newtonSteps(P, backend) {
  P.setBackend(backend);
  const { params: p0, loss } = mlpProblem(P);
  const opt = P.optim.newtonSummary({ partition: P.partition.canonical, damping: 0.5, dampingInt: 10, periodHg: 2, momLrs: 0.5 });
  let params = p0;
  let state = opt.init(params);
  const steps = [];
  for (let k = 0; k < 4; k++) {
    const [l, g] = P.valueAndGrad(loss)(params);
    const [updates, next] = await P.optim.updateAsync(opt, g, state, params, { loss: (p) => loss(p), hgBatch: [] });
    params = P.optim.applyUpdates(params, updates);
    state = next;
    const flat = [];
    for (const leaf of P.tree.leaves(params)) flat.push(...(await arr(leaf)));
    steps.push({ loss: (await l.data())[0], lrs: Array.from(state.newton.lrs), params: flat });
  }
  return steps;
}

/**
 * A float32 forward and backward pass big enough for cpu-wasm's threads (a 256×384 by 384×320
 * matmul, split over the threads whenever there are several): the loss and the gradient of the
 * weights, on the backend and thread count asked.
 */
export async function wasmWork(P, backend, threads) {
  P.setBackend(backend);
  if (threads !== undefined) P.setWasmThreads(threads);
  const policy = P.wasmThreadSplit();
  P.setWasmThreadSplit('always'); // every product here splits when there are threads, whatever they measure
  try {
    const x = P.random.normal(P.random.key(1), [256, 384]);
    const w = P.random.normal(P.random.key(2), [384, 320]);
    const loss = (w) => P.mean(P.tanh(P.mul(P.matmul(x, w), 0.05)));
    const [l, g] = P.valueAndGrad(loss)(w);
    return { loss: (await l.data())[0], grad: await arr(g), threads: P.wasmThreads() };
  } finally {
    P.setWasmThreadSplit(policy);
  }
}

/** The MLP's loss and gradient through jit (a compiled program; on cpu-wasm, its fused loops), three calls. */
export async function jitGradient(P, backend) {
  P.setBackend(backend);
  const { params, loss } = mlpProblem(P);
  const vg = P.jit(P.valueAndGrad(loss));
  let out;
  for (let k = 0; k < 3; k++) out = vg(params);
  const [l, g] = out;
  const flat = [];
  for (const leaf of P.tree.leaves(g)) flat.push(...(await arr(leaf)));
  return { loss: (await l.data())[0], grad: flat };
}
