import type { Tensor } from '../core/tensor.js';

/**
 * A scoped cache of concrete primitive results, keyed by the primitive, the identity of its inputs
 * and its parameters. Inside {@link withEvalCache}, evaluating the same primitive on the same
 * tensors returns the earlier result (same object), so whole chains of repeated work collapse:
 * the summaries run S passes whose primal forward and whose x·uᵀ products are identical.
 * Values are immutable, so sharing is safe; the cache holds its tensors until the scope ends,
 * up to a byte budget (past it, results are computed but not kept).
 */
interface Scope {
  readonly entries: Map<string, Tensor[]>;
  bytes: number;
  readonly maxBytes: number;
}

let scope: Scope | null = null;
const ids = new WeakMap<object, number>();
let nextId = 0;
const idOf = (t: object): number => {
  let id = ids.get(t);
  if (id === undefined) {
    id = nextId++;
    ids.set(t, id);
  }
  return id;
};

/** Runs `f` with primitive results shared by identity of inputs (default budget 512 MiB). */
export function withEvalCache<T>(f: () => T, maxBytes = 512 * 2 ** 20): T {
  const prev = scope;
  scope = { entries: new Map(), bytes: 0, maxBytes };
  try {
    return f();
  } finally {
    scope = prev;
  }
}

/** The cache key of an evaluation, or null outside a cache scope. */
export function cacheKey(name: string, args: readonly Tensor[], params: unknown): string | null {
  if (scope === null) return null;
  return `${name}|${args.map(idOf).join(',')}|${JSON.stringify(params)}`;
}

/** A cached result for `key`. */
export const cached = (key: string | null): Tensor[] | undefined => (key === null ? undefined : scope?.entries.get(key));

/** Remembers a result, within the byte budget. */
export function remember(key: string | null, outs: Tensor[]): void {
  if (key === null || scope === null) return;
  const bytes = outs.reduce((n, t) => n + t.size * (t.dtype === 'float64' ? 8 : t.dtype === 'bool' ? 1 : 4), 0);
  if (scope.bytes + bytes > scope.maxBytes) return;
  scope.bytes += bytes;
  scope.entries.set(key, outs);
}
