import type { Steps } from './steps.js';
import { fromSteps, type GradientTransformation, readsHost, type StateOf, stepsOf } from './transformation.js';

type AnyGT = GradientTransformation<any, any>;
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** The extra argument a transformation needs, `{}` when it needs none. */
type NeedsOf<T> = T extends GradientTransformation<any, infer E> ? (unknown extends E ? {} : E) : never;
/** The extra argument of a composition: what every member needs. */
export type ChainExtra<Ts extends readonly AnyGT[]> = UnionToIntersection<NeedsOf<Ts[number]>>;

/** State of {@link chain}: the members' states, as a tuple in order. */
export type ChainState<Ts extends readonly AnyGT[]> = { readonly [K in keyof Ts]: StateOf<Ts[K]> };

/** Threads `updates` through `members` in order, each with its own state: the last updates and the new states. */
function* runMembers(members: readonly AnyGT[], states: readonly unknown[], updates: unknown, params: unknown, extra: unknown): Steps<[unknown, unknown[]]> {
  let u = updates;
  const next: unknown[] = [];
  for (const [i, t] of members.entries()) {
    const [v, s] = yield* stepsOf(t, u, states[i], params, extra);
    u = v;
    next.push(s);
  }
  return [u, next];
}

/**
 * `chain(t₁, …, tₙ)` applies t₁ then t₂ … then tₙ to the updates; its state is the tuple of the
 * members' states; every member sees the same `params` and `extra`. `chain()` is the identity.
 *
 *     const adam = (lr: number) => chain(scaleByAdam(), scaleByLearningRate(lr));
 */
export function chain<const Ts extends readonly AnyGT[]>(...ts: Ts): GradientTransformation<ChainState<Ts>, ChainExtra<Ts>> {
  type S = ChainState<Ts>;
  const statesOf = (state: S): readonly unknown[] => {
    const states = state as unknown as readonly unknown[];
    if (!Array.isArray(states) || states.length !== ts.length)
      throw new TypeError(`chain: the state must be a tuple of ${ts.length} member states, got ${Array.isArray(states) ? `${states.length}` : typeof states}`);
    return states;
  };
  return fromSteps<S, ChainExtra<Ts>>(
    (params) => ts.map((t) => t.init(params)) as unknown as S,
    function* (updates, state, params, extra) {
      return (yield* runMembers(ts, statesOf(state), updates, params, extra)) as [unknown, S];
    },
    ts.some(readsHost),
  );
}

/** State of {@link namedChain}: a record from member names to their states. */
export type NamedChainState<Ps extends readonly (readonly [string, AnyGT])[]> = { readonly [P in Ps[number] as P[0]]: StateOf<P[1]> };

/**
 * Like {@link chain}, with named members: the state is a record keyed by the names (optax's
 * `named_chain`), so a state entry can be read or replaced by name. Names must be distinct.
 *
 *     const opt = namedChain(['clip', clipByGlobalNorm(1)], ['adam', scaleByAdam()], ['lr', scaleByLearningRate(1e-3)]);
 *     opt.init(params).adam.mu
 */
export function namedChain<const Ps extends readonly (readonly [string, AnyGT])[]>(
  ...pairs: Ps
): GradientTransformation<NamedChainState<Ps>, ChainExtra<{ [K in keyof Ps]: Ps[K][1] }>> {
  const names = pairs.map((p) => p[0]);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new TypeError(`namedChain: the name '${dup}' is used twice`);
  type S = NamedChainState<Ps>;
  const members = pairs.map((p) => p[1]);
  const statesOf = (state: S): unknown[] => {
    const states = state as Readonly<Record<string, unknown>>;
    return names.map((n) => {
      if (!(n in states)) throw new TypeError(`namedChain: the state has no entry '${n}' (it has ${Object.keys(states).join(', ') || 'none'})`);
      return states[n];
    });
  };
  const named = ([u, next]: [unknown, unknown[]]): [unknown, S] => [u, Object.fromEntries(names.map((n, i) => [n, next[i]])) as S];
  return fromSteps<S, ChainExtra<{ [K in keyof Ps]: Ps[K][1] }>>(
    (params) => Object.fromEntries(pairs.map(([n, t]) => [n, t.init(params)])) as S,
    function* (updates, state, params, extra) {
      return named(yield* runMembers(members, statesOf(state), updates, params, extra));
    },
    members.some(readsHost),
  );
}
