import type { Tensor } from '../core/tensor.js';

/**
 * Updates written once for both ways of reading a tensor on the host. A transformation that reads
 * values (NewtonSummary reads its S×S summary) and every combinator write their update as a
 * generator of *steps*: whenever it needs something only the host can give — a tensor's values,
 * or a member's update that itself reads — it yields a {@link HostEffect}, and resumes with the
 * result. Two drivers run such a generator: {@link driveSync} (the effect's synchronous form: the
 * CPU's `dataSync`) behind `update`, and {@link driveAsync} (awaiting its asynchronous form: a GPU
 * readback) behind `updateAsync`. Everything between the yields is the same code, so the two give
 * the same numbers bit for bit on the CPU, and a combinator written once forwards `updateAsync`
 * through any depth of nesting.
 *
 *     function* steps(u, state, params) {
 *       const [values] = yield* readHost([summary.H]);   // dataSync() or await data()
 *       …
 *     }
 */

/** Something only the host can do, in its two forms: now (CPU) or awaited (a device readback). */
export interface HostEffect<R> {
  readonly sync: () => R;
  readonly async: () => Promise<R>;
}

/** An update in steps: yields host effects, is resumed with their results, returns `R`. */
export type Steps<R> = Generator<HostEffect<unknown>, R, unknown>;

/** Yields one effect and returns its result (use with `yield*`). */
export function* perform<R>(effect: HostEffect<R>): Steps<R> {
  return (yield effect as HostEffect<unknown>) as R;
}

/** The values of `tensors`, read on the host: `dataSync()` under {@link driveSync}, `await data()` (all at once) under {@link driveAsync}. */
export const readHost = (tensors: readonly Tensor[]): Steps<ArrayLike<number>[]> =>
  perform({ sync: () => tensors.map((t) => t.dataSync()), async: () => Promise.all(tensors.map((t) => t.data())) });

/** Steps that yield nothing and return `value` (a plain computation seen as steps). */
export function* done<R>(value: () => R): Steps<R> {
  return value();
}

/** Runs steps to the end, performing each effect synchronously; an effect's error is thrown into the generator. */
export function driveSync<R>(it: Steps<R>): R {
  let r = it.next();
  while (!r.done) {
    let value: unknown;
    try {
      value = r.value.sync();
    } catch (e) {
      r = it.throw(e);
      continue;
    }
    r = it.next(value);
  }
  return r.value;
}

/** Runs steps to the end, awaiting each effect's asynchronous form; an effect's error is thrown into the generator. */
export async function driveAsync<R>(it: Steps<R>): Promise<R> {
  let r = it.next();
  while (!r.done) {
    let value: unknown;
    try {
      value = await r.value.async();
    } catch (e) {
      r = it.throw(e);
      continue;
    }
    r = it.next(value);
  }
  return r.value;
}
