import { ArrayTensor, type Tensor } from '../core/tensor.js';

/**
 * A scoped cache of concrete primitive results, keyed by the primitive, the identity of its inputs
 * (the value of one-element host inputs, see `inputKey`) and its parameters. The public face is
 * `shareEvaluations` in transforms/. Inside {@link withEvalCache}, evaluating the same primitive on the same
 * tensors returns the earlier result (same object), so whole chains of repeated work collapse:
 * the summaries run S passes whose primal forward and whose x·uᵀ products are identical.
 * Values are immutable, so sharing is safe; the cache holds its tensors until the scope ends,
 * up to a byte budget (past it, results are computed but not kept).
 */
interface Scope {
  readonly entries: Map<string, Tensor[]>;
  bytes: number;
  readonly maxBytes: number;
  /** Observers of the evaluations that run (cache misses), the enclosing scope's first. */
  readonly observers: EvaluationObserver[];
}

/** Called for each primitive evaluation that runs inside a scope (not for those served from it). */
export type EvaluationObserver = (primitive: string, args: readonly Tensor[], params: unknown) => void;

let scope: Scope | null = null;
let observing = false;
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

/** Whether a {@link withEvalCache} scope is open (its cache may hold any result computed now). */
export const evalCacheOpen = (): boolean => scope !== null;

/**
 * Runs `f` with primitive results shared by identity of inputs (default budget 512 MiB). A scope
 * opened inside another joins it: the enclosing scope's cache and budget serve both, and both
 * scopes' observers see the inner scope's evaluations.
 */
export function withEvalCache<T>(f: () => T, maxBytes = 512 * 2 ** 20, observe?: EvaluationObserver): T {
  if (scope !== null) {
    if (!observe) return f();
    const joined = scope;
    joined.observers.push(observe);
    try {
      return f();
    } finally {
      joined.observers.splice(joined.observers.lastIndexOf(observe), 1);
    }
  }
  scope = { entries: new Map(), bytes: 0, maxBytes, observers: observe ? [observe] : [] };
  try {
    return f();
  } finally {
    scope = null;
  }
}

/**
 * How an input enters a key: by identity, except a host tensor of one element, which enters by its
 * shape, dtype, backend and exact bytes. Ops turn plain numbers into fresh scalar tensors (`mul(x, 0.5)`) on every call,
 * so by identity alone a composite op such as `sigmoid` would never repeat; two such tensors with
 * the same shape, dtype and bytes are interchangeable, so the results stay exactly those of the uncached evaluation.
 */
function inputKey(t: Tensor): string | number {
  if (!(t instanceof ArrayTensor) || t.size !== 1) return idOf(t);
  const b = t.buffer as ArrayLike<number> & ArrayBufferView;
  const bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return `[${t.shape.join(',')}]${t.dtype}:${t.backend}:${Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

/** The cache key of an evaluation, or null outside a cache scope. */
export function cacheKey(name: string, args: readonly Tensor[], params: unknown): string | null {
  if (scope === null) return null;
  return `${name}|${args.map(inputKey).join(',')}|${JSON.stringify(params)}`;
}

/** A cached result for `key`. */
export const cached = (key: string | null): Tensor[] | undefined => (key === null ? undefined : scope?.entries.get(key));

/**
 * Remembers the result of an evaluation that ran, within the byte budget, and tells the scope's
 * observers (not while one of them is running: an observer's own evaluations are not reported).
 */
export function remember(key: string | null, outs: Tensor[], name: string, args: readonly Tensor[], params: unknown): void {
  if (key === null || scope === null) return;
  if (scope.observers.length > 0 && !observing) {
    observing = true;
    try {
      for (const o of [...scope.observers]) o(name, args, params);
    } finally {
      observing = false;
    }
  }
  const bytes = outs.reduce((n, t) => n + t.size * (t.dtype === 'float64' ? 8 : t.dtype === 'bool' ? 1 : 4), 0);
  if (scope.bytes + bytes > scope.maxBytes) return;
  scope.bytes += bytes;
  scope.entries.set(key, outs);
}
