/**
 * A Node built-in module, loaded when first needed rather than when partax is imported, so that
 * `import 'partax'` loads no Node-only module (a bundle for the browser has none to stub): the
 * backends reach worker threads, the core count and V8's collector only through this.
 *
 *     const wt = nodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads');
 *     if (wt) new wt.Worker(source, { eval: true });
 *
 * Undefined outside Node, and on Node older than 20.16 (no `process.getBuiltinModule`): callers
 * then do without (one thread, no forced collections).
 */
export function nodeBuiltin<M>(id: `node:${string}`): M | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return p?.getBuiltinModule?.(id) as M | undefined;
}

/** An environment variable of the Node process; undefined outside Node (a browser has none). */
export function envVar(name: string): string | undefined {
  return (globalThis as { process?: { env?: Readonly<Record<string, string | undefined>> } }).process?.env?.[name];
}
