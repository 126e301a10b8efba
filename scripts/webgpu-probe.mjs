#!/usr/bin/env node
// webgpu-probe.mjs: does Dawn (npm `webgpu`) find a WebGPU adapter on this machine?
// Prints the adapter's info and exits 0 if one is found, else prints why and exits 1.
// Never hangs: a watchdog timer exits 1 after PROBE_TIMEOUT_MS (default 20 s), and the
// device/GPU objects are dropped and the process exits explicitly once the answer is known.
const TIMEOUT_MS = Number(process.env.PROBE_TIMEOUT_MS ?? 20000);

const watchdog = setTimeout(() => {
  console.error(`webgpu-probe: no answer from Dawn within ${TIMEOUT_MS} ms; treating as no adapter`);
  process.exit(1);
}, TIMEOUT_MS);

let code = 1;
try {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  let gpu = create([]);
  let adapter = await gpu.requestAdapter();
  if (adapter === null || adapter === undefined) {
    console.error('webgpu-probe: Dawn loaded but requestAdapter() returned null (no Vulkan driver?)');
  } else {
    const info = adapter.info ?? {};
    const fields = ['vendor', 'architecture', 'device', 'description'];
    const desc = fields.map((k) => `${k}=${JSON.stringify(info[k] ?? '')}`).join(' ');
    console.log(`webgpu-probe: adapter found: ${desc}`);
    // Check a device can be made too (some drivers expose an adapter but fail here).
    const device = await adapter.requestDevice();
    console.log(`webgpu-probe: device ok (maxBufferSize=${device.limits.maxBufferSize})`);
    device.destroy();
    code = 0;
  }
  adapter = null;
  gpu = null;
} catch (e) {
  console.error(`webgpu-probe: ${e instanceof Error ? e.message : String(e)}`);
}
clearTimeout(watchdog);
// Dawn keeps native handles alive; exit explicitly so the process never lingers.
process.exit(code);
