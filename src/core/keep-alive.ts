/**
 * Objects kept for the life of the process, so that V8 keeps the hidden classes (maps) they have.
 *
 * V8 holds the maps an object reaches by adding fields or freezing only weakly: a full collection
 * that finds no live object of such a map drops it, and every optimized function compiled against
 * it is deoptimized and compiled again (`--trace-deopt`: "marking dependent code … reason: weak
 * objects"). Traces, tracers and the shapes of temporaries live only during a step; the cpu-wasm
 * heap forces a full collection every ~20 eager training steps, often between two steps, where
 * none is alive. One kept object of each kind keeps the map (see prim/bind.ts
 * `keepHiddenClasses` and core/shape.ts `frozenShape`).
 */
const kept: object[] = [];

/** Keeps `xs` alive for the life of the process (see the file comment). */
export function keepAlive(...xs: readonly object[]): void {
  kept.push(...xs);
}
