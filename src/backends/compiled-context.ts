/**
 * Whether the calling thread is running a compiled host program (jit) right now, for kernels whose
 * best strategy depends on what runs around them: cpu-wasm's GEMM measures whether splitting a
 * product over its threads pays separately inside compiled programs and in eager code, where the
 * garbage that eager dispatch leaves keeps V8's collector threads busy on the other cores.
 *
 *     runningCompiled(() => program.run(inputs)); // inCompiledProgram() is true inside
 */
let depth = 0;

/** Runs `f` as (part of) a compiled program's run. */
export function runningCompiled<T>(f: () => T): T {
  depth++;
  try {
    return f();
  } finally {
    depth--;
  }
}

/** Whether a compiled program's run is under way on this thread. */
export const inCompiledProgram = (): boolean => depth > 0;
