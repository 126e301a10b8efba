/**
 * Case: one Adam training step of the bench's MLP (forward, backward, `optim.adam` update,
 * `applyUpdates`), written as a user would, eager or under `jit` (the whole step as one jitted
 * function). Beside PyTorch's `torch.optim.Adam` step in bench/cases/targets.ts.
 *
 * The optimizer state carries its step count as an int32 tensor, so the jitted step traces once;
 * the bench reports the number of traces beside the number of calls (a retrace would show there).
 */
import * as P from '../../src/index.js';
import { hostDispatches } from '../../src/backends/dispatch-count.js';
import type { MlpProblem } from '../harness.js';
import { mlpLoss, mlpTensors, readParams } from '../partax.js';

type F32 = P.Tensor<'float32'>;
type Params = Record<string, F32>;

/** Losses of the first `k` steps from the initial parameters and the total update θ_k − θ_0 (harness layout). */
export interface AdamCheck {
  readonly losses: readonly number[];
  readonly updates: readonly Float32Array[];
}

/** The Adam step as a bench contender: `run()` advances its own training state by one step. */
export interface AdamStep {
  run(): void;
  /** `k` steps from the initial parameters and a fresh optimizer state (the timed state is untouched). */
  check(k: number): AdamCheck;
  /**
   * Host kernel dispatches of one step (the counter of src/backends/dispatch-count.ts), and under
   * jit the dispatches of that step's compiled program (what a call costs once it no
   * longer retraces).
   */
  dispatches(): { readonly step: number; readonly program?: number };
  /** Traces so far (jit only). */
  traceCount?(): number;
  /** Calls so far (jit only). */
  calls?(): number;
}

/** partax's Adam step on the current backend, eager or with the whole step under `jit`. */
export function partaxAdamStep(p: MlpProblem, lr: number, opts: { jit?: boolean } = {}): AdamStep {
  const { params, x, labels, layers } = mlpTensors(p);
  const opt = P.optim.adam(lr);
  type State = ReturnType<typeof opt.init>;
  const loss = (ps: Params, xb: F32, yb: P.Tensor<'int32'>) => mlpLoss(ps, xb, yb, layers);
  const step = (ps: Params, state: State, xb: F32, yb: P.Tensor<'int32'>): [F32, Params, State] => {
    const [l, g] = P.valueAndGrad(loss)(ps, xb, yb) as [F32, Params];
    const [updates, next] = opt.update(g, state, ps);
    return [l, P.optim.applyUpdates(ps, updates), next];
  };
  const jitted = opts.jit ? P.jit(step) : undefined;
  const go = jitted ?? step;
  let calls = 0;
  const stepOnce = (s: { ps: Params; state: State }): number => {
    calls++;
    const [l, ps, state] = go(s.ps, s.state, x, labels);
    s.ps = ps;
    s.state = state;
    return l.item();
  };
  const timed = { ps: params, state: opt.init(params) };
  return {
    run: () => void stepOnce(timed),
    check(k) {
      const s = { ps: params, state: opt.init(params) };
      const losses = Array.from({ length: k }, () => stepOnce(s));
      const theta0 = readParams(params, layers);
      const updates = readParams(s.ps, layers).map((t, i) => t.map((v, j) => v - theta0[i]![j]!));
      return { losses, updates };
    },
    dispatches() {
      const { ps, state } = timed;
      const before = hostDispatches();
      stepOnce(timed);
      const step = hostDispatches() - before;
      // the signature just run is cached: lower() looks it up without tracing again
      const program = jitted?.lower(ps, state, x, labels).program.stats.dispatches;
      return program === undefined ? { step } : { step, program };
    },
    ...(jitted && { traceCount: () => jitted.traceCount(), calls: () => calls }),
  };
}
