/**
 * Whether the calling thread is running a compiled host program (jit) right now, for kernels whose
 * best strategy depends on what runs around them: cpu-wasm's GEMM measures whether splitting a
 * product over its threads pays separately inside compiled programs and in eager code, where the
 * garbage that eager dispatch leaves keeps V8's collector threads busy on the other cores.
 *
 *     runningCompiled(runProgram, program, inputs); // inCompiledProgram() is true inside
 */
let depth = 0;

/** Runs `f(...args)` as (part of) a compiled program's run (a function and its arguments, so that no closure is made per call). */
export function runningCompiled<T, A extends unknown[]>(f: (...args: A) => T, ...args: A): T {
  depth++;
  try {
    return f(...args);
  } finally {
    depth--;
  }
}

/** Whether a compiled program's run is under way on this thread. */
export const inCompiledProgram = (): boolean => depth > 0;
