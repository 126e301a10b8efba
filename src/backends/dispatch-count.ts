/**
 * A count of host kernel dispatches, for the bench and the runtime's tests: how many times the
 * host backends (cpu, cpu-wasm) ran a piece of compiled work. One dispatch is a primitive run
 * eagerly through a host backend's `execute`, or one step of a compiled host program (jit) that
 * calls a backend kernel or a generated loop; buffer aliases (reshape) are not dispatches.
 * WebGPU counts its own kernels (`webgpuStats().dispatches`).
 *
 *     const before = hostDispatches();
 *     f(x);
 *     hostDispatches() - before; // kernels and loops f ran
 */
let count = 0;

/** Records one host dispatch (called by the eager interpreter and the host program runner). */
export function countHostDispatch(): void {
  count++;
}

/** Host dispatches recorded since the process started. */
export function hostDispatches(): number {
  return count;
}
