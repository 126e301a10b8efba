import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { add, grad, matmul, mul, partition, sub, sum, summary, tensor, type Tensor, withBackend } from '../src/index.js';
import { mlpApply, type MlpParams } from '../src/nn/mlp.js';
import { mse, nll } from '../src/nn/losses.js';
import { flatten } from '../src/core/tree.js';
import { adam } from '../src/optim/alias.js';
import { newtonSummary, type NewtonSummaryState } from '../src/optim/newton-summary.js';
import { type NegativeLrs } from '../src/optim/summary-newton.js';
import { identity } from '../src/optim/transformation.js';
import { applyUpdates } from '../src/optim/transformation.js';
import { resolveConfig, type TrainOptions } from '../src/cli/train/config.js';
import { parseFlags } from '../src/cli/train/flags.js';
import { buildOptimizer } from '../src/cli/train/optimizers.js';
import { arbProblem } from './harness/models.js';
import { assertClose, runs } from './harness/index.js';

/**
 * Laws of NewtonSummary's study options (issue 14): the treatment of negative rates (clip, |η|,
 * keep), the trust region on ‖Dη‖, the schedule of λ₁, and the directions `partax train` builds
 * (momentum, Adam's update, the gradient), each against a value computed another way.
 */

const leaves = (t: unknown): number[][] => flatten(t).leaves.map((l) => Array.from(l.dataSync()));

/** ½θᵀAθ − bᵀθ over {a: [1], b: [1]}: A symmetric (any sign), b = Aθ − g so that ∇L(θ) = g. */
function quadratic(A: number[][], theta: [number, number], g: [number, number]) {
  const At = tensor(A.flat(), 'float64', [2, 2]);
  const b = tensor([0, 1].map((i) => A[i]![0]! * theta[0] + A[i]![1]! * theta[1] - g[i]!), 'float64', [2]);
  const params = { a: tensor([theta[0]], 'float64', [1]), b: tensor([theta[1]], 'float64', [1]) };
  const loss = (p: typeof params) => {
    const v = add(mul(p.a, tensor([1, 0], 'float64', [2])), mul(p.b, tensor([0, 1], 'float64', [2])));
    return sub(mul(sum(mul(v, matmul(At, v))), 0.5), sum(mul(b, v)));
  };
  return { params, loss };
}

/** One step of plain Newton on the summary (canonical partition, u = ∇L, λ₁ = 1) with negative rates treated as `how`. */
function newtonStep(q: ReturnType<typeof quadratic>, how: NegativeLrs, damping = 1) {
  const opt = newtonSummary({ partition: partition.canonical, direction: identity(), damping, noRegul: true, negativeLrs: how });
  const [updates, state] = opt.update(grad(q.loss)(q.params), opt.init(q.params), q.params, { loss: q.loss as (p: unknown) => Tensor, hgBatch: [] });
  return { updates: leaves(updates).map((l) => l[0]!), state: state as NewtonSummaryState };
}

test('negative rates by hand: A = [[2, 1], [1, −1]], ∇L = (1, 1) give H̄ = A, ḡ = (1, 1), η = A⁻¹ḡ = (2/3, −1/3); clip → (2/3, 0), abs → (2/3, 1/3), keep → η; the step is −η_s·u_s', () => {
  const q = quadratic(
    [
      [2, 1],
      [1, -1],
    ],
    [0.3, -0.2],
    [1, 1],
  );
  const expected: Record<NegativeLrs, [number, number]> = { keep: [2 / 3, -1 / 3], clip: [2 / 3, 0], abs: [2 / 3, 1 / 3] };
  for (const how of ['keep', 'clip', 'abs'] as const) {
    const { updates, state } = newtonStep(q, how);
    assertClose(state.newton.last!.lrsRaw[0]!, 2 / 3, { rtol: 1e-12, atol: 1e-14 }, 'raw η₁');
    assertClose(state.newton.last!.lrsRaw[1]!, -1 / 3, { rtol: 1e-12, atol: 1e-14 }, 'raw η₂');
    expected[how].forEach((e, i) => {
      assertClose(state.newton.lrs[i]!, e, { rtol: 1e-12, atol: 1e-14 }, `${how}: η_${i + 1}`);
      assertClose(updates[i]!, -e * 1, { rtol: 1e-12, atol: 1e-14 }, `${how}: the step of group ${i + 1} (u = 1)`);
    });
  }
  assert.throws(() => newtonSummary({ partition: partition.canonical, removeNegative: false, negativeLrs: 'abs' }), /removeNegative false contradicts negativeLrs 'abs'/);
  assert.throws(() => newtonSummary({ partition: partition.canonical, negativeLrs: 'mirror' as NegativeLrs }), /negativeLrs must be 'keep', 'clip' or 'abs', got "mirror"/);
});

test('|η| equals the clipped rate where the raw rate is ≥ 0 and −η where it is negative; keep gives the raw rates, times λ₁', () => {
  // tenths in [−2, 2]: the law is about the treatment, so H̄ is kept away from denormal entries
  const v = fc.integer({ min: -20, max: 20 }).map((k) => k / 10);
  fc.assert(
    fc.property(v, v, v, v, v, v, v, fc.double({ min: 0.1, max: 2, noNaN: true }), (a, b, c, t1, t2, g1, g2, damping) => {
      const gs: [number, number] = [g1 === 0 ? 0.5 : g1, g2 === 0 ? -0.5 : g2];
      const q = quadratic(
        [
          [a, b],
          [b, c],
        ],
        [t1, t2],
        gs,
      );
      const [keep, clip, abs] = (['keep', 'clip', 'abs'] as const).map((how) => newtonStep(q, how, damping).state.newton);
      if (!keep!.last!.found) return fc.pre(false); // a singular H̄: no rates to treat
      const raw = keep!.last!.lrsRaw;
      raw.forEach((r, i) => {
        assertClose(keep!.lrs[i]!, damping * r, { rtol: 1e-12, atol: 0 }, 'keep');
        assertClose(clip!.lrs[i]!, damping * Math.max(r, 0), { rtol: 1e-12, atol: 0 }, 'clip');
        assertClose(abs!.lrs[i]!, r >= 0 ? clip!.lrs[i]! : -keep!.lrs[i]!, { rtol: 1e-12, atol: 0 }, `abs, group ${i} (raw ${r})`);
      });
    }),
    runs(60),
  );
});

test('the trust region scales the solver’s rates back to ‖Dη‖ = Δ, D = diag(|order3|^{1/3}) with order3 the summary’s, and leaves rates inside it alone', () => {
  fc.assert(
    fc.property(arbProblem({ maxDepth: 2 }), fc.double({ min: 0.1, max: 3, noNaN: true }), (prob, shrink) => {
      const g = grad(prob.loss)(prob.params);
      const run = (trustRadius?: number) => {
        const opt = newtonSummary({ partition: partition.canonical, direction: identity(), damping: 1, ridge: 1e-3, ...(trustRadius === undefined ? {} : { trustRadius }) });
        return (opt.update(g, opt.init(prob.params), prob.params, { loss: prob.loss as (p: unknown) => Tensor, hgBatch: [] })[1] as NewtonSummaryState).newton;
      };
      const free = run();
      if (!free.last!.found) return fc.pre(false);
      // order3 computed independently, along u = ∇L with the same partition
      const s = summary(prob.loss, prob.params, g, partition.canonical(prob.params), { order: 3 });
      const order3 = Array.from(s.order3!.dataSync());
      const norm = Math.hypot(...free.lrs.map((x, i) => Math.cbrt(Math.abs(order3[i]!)) * x));
      if (!(norm > 1e-8)) return fc.pre(false);
      const radius = norm * shrink;
      const bounded = run(radius);
      bounded.last!.order3.forEach((o, i) => assertClose(o, order3[i]!, { rtol: 1e-9, atol: 1e-12 }, `order3[${i}]`));
      free.lrs.forEach((x, i) => assertClose(bounded.lrs[i]!, shrink < 1 ? x * shrink : x, { rtol: 1e-9, atol: 1e-14 }, `η_${i} with Δ = ${shrink}·‖Dη‖`));
    }),
    runs(25),
  );
  assert.throws(() => newtonSummary({ partition: partition.canonical, trustRadius: 0 }), /trustRadius must be a positive finite number, got 0/);
});

test('a boolean option given anything but true or false is refused, naming the option and the value', () => {
  for (const flag of ['removeNegative', 'maintainTrueLrs', 'noRegul', 'diagonal', 'jitSummary'])
    for (const bad of ['yes', 1, null])
      assert.throws(() => newtonSummary({ partition: partition.canonical, [flag]: bad } as never), new RegExp(`newtonSummary: ${flag} must be true or false, got ${JSON.stringify(bad)}`));
  newtonSummary({ partition: partition.canonical, jitSummary: true, diagonal: false }); // true and false pass
});

/** NewtonSummary as `partax train` builds it from `options`, stepped on `prob` (hg every `periodHg` steps). */
function cliNewtonSummary(options: TrainOptions) {
  const config = resolveConfig({ optimizer: 'newton-summary', ...options });
  return buildOptimizer(config, { trainExamples: 100, jit: false }); // op by op, as the laws here compare it with optim.newtonSummary
}

test('the directions `partax train` builds: Adam’s is optim.adam’s update, the gradient’s is the gradient, the momentum one is torch’s buffer; the step is −η·u on the trivial partition', () => {
  fc.assert(
    fc.property(arbProblem({ maxDepth: 2 }), fc.constantFrom('adam', 'gradient', 'momentum'), (prob, direction) => {
      const flags: TrainOptions =
        direction === 'adam' ? { beta1: 0.8, beta2: 0.99, eps: 1e-6 } : direction === 'momentum' ? { momentum: 0.7, dampening: 0.2 } : {};
      const built = cliNewtonSummary({ direction, partition: 'trivial', periodHg: 1, dampingInt: 1, removeNegative: false, momLrs: 0, ...flags });
      const extra = built.extra!({ loss: (p: unknown) => prob.loss(p as never), nextBatch: () => [] as unknown as [Tensor, Tensor] });
      // the reference direction, fed the same gradients
      const ref = adam(1, { b1: 0.8, b2: 0.99, eps: 1e-6 });
      let refState = ref.init(prob.params);
      let buf: number[][] | null = null;
      let p: unknown = prob.params;
      let state = built.transformation.init(p);
      // the memory estimate's buffers: the direction's float state is stateCopies − 1 parameter-sized copies
      const P = flatten(p).leaves.reduce((a, l) => a + l.size, 0);
      const held = flatten((state as NewtonSummaryState).direction).leaves.reduce((a, l) => a + (l.dtype === 'int32' ? 0 : l.size), 0); // the step count is an int32 scalar
      assert.equal(held / P, built.stateCopies - 1, `${direction}: the direction's state holds ${held} numbers for ${P} parameters`);
      for (let t = 0; t < 3; t++) {
        const g = grad(prob.loss)(p as never);
        const [updates, next] = built.transformation.update(g, state, p, extra);
        const eta = built.lrsOf(next)[0]!;
        let u: number[][];
        if (direction === 'adam') {
          const [au, as] = ref.update(g, refState, p);
          refState = as;
          u = leaves(au).map((l) => l.map((x) => -x)); // adam(1) steps by −u
        } else if (direction === 'gradient') u = leaves(g);
        else {
          const gl = leaves(g);
          buf = buf === null ? gl : buf.map((l, i) => l.map((b, j) => 0.7 * b + 0.8 * gl[i]![j]!));
          u = buf;
        }
        leaves(updates).forEach((l, i) => l.forEach((x, j) => assertClose(x, -eta * u[i]![j]!, { rtol: 1e-10, atol: 1e-14 }, `${direction}: step ${t}, leaf ${i}[${j}]`)));
        p = applyUpdates(p, updates);
        state = next;
      }
    }),
    runs(20),
  );
});

test('a λ₁ schedule multiplies the averaged rates at every step: linear and cosine from --damping to END in N steps, by hand', () => {
  const lambda = {
    'linear:0.2:4': (t: number) => 1 + (0.2 - 1) * (Math.min(t, 4) / 4),
    'cosine:0.1:3': (t: number) => 0.1 + (1 - 0.1) * 0.5 * (1 + Math.cos((Math.PI * Math.min(t, 3)) / 3)),
  };
  fc.assert(
    fc.property(arbProblem({ maxDepth: 1 }), (prob) => {
      for (const [schedule, at] of Object.entries(lambda)) {
        const built = cliNewtonSummary({ damping: 1, dampingSchedule: schedule, periodHg: 100, partition: 'canonical', dampingInt: 1 });
        const extra = built.extra!({ loss: (p: unknown) => prob.loss(p as never), nextBatch: () => [] as unknown as [Tensor, Tensor] });
        let p: unknown = prob.params;
        let state = built.transformation.init(p);
        for (let t = 0; t < 6; t++) {
          const [updates, next] = built.transformation.update(grad(prob.loss)(p as never), state, p, extra);
          const { currLrs, lrs } = (next as NewtonSummaryState).newton;
          currLrs!.forEach((c, i) => assertClose(lrs[i]!, at(t) * c, { rtol: 1e-12, atol: 1e-300 }, `${schedule}: group ${i} at step ${t}`));
          p = applyUpdates(p, updates);
          state = next;
        }
      }
    }),
    runs(10),
  );
});

test('rate averaging by hand: currLrs = (1 − m)·x + m·currLrs (x the treated raw rates, or with --maintain-true-lrs the raw ones, treated after), the rates in force λ₁(t)·(treated) currLrs at every step', () => {
  fc.assert(
    fc.property(
      arbProblem({ maxDepth: 2 }),
      fc.constantFrom('clip', 'abs'),
      fc.boolean(),
      fc.double({ min: 0, max: 0.9, noNaN: true }),
      (prob, negativeLrs, maintainTrueLrs, momLrs) => {
        const built = cliNewtonSummary({ partition: 'canonical', dampingInt: 1, periodHg: 2, momLrs, negativeLrs, maintainTrueLrs, damping: 0.5, dampingSchedule: 'linear:1:4' });
        const extra = built.extra!({ loss: (p: unknown) => prob.loss(p as never), nextBatch: () => [] as unknown as [Tensor, Tensor] });
        const treat = (v: readonly number[]) => v.map((x) => (x < 0 ? (negativeLrs === 'clip' ? 0 : -x) : x));
        const lambda = (t: number) => 0.5 + 0.5 * (Math.min(t, 4) / 4);
        let p: unknown = prob.params;
        let state = built.transformation.init(p);
        let curr: number[] | null = null;
        for (let t = 0; t < 5; t++) {
          let stepped: ReturnType<typeof built.transformation.update>;
          try {
            stepped = built.transformation.update(grad(prob.loss)(p as never), state, p, extra);
          } catch (e) {
            // a generated problem on which these settings diverge (loss 1e175 by step 2 for one seed):
            // the optimizer refuses a non-finite summary by design, and the law has nothing to check
            if (e instanceof RangeError && /non-finite entries/.test(e.message)) return;
            throw e;
          }
          const [updates, next] = stepped;
          const nw = (next as NewtonSummaryState).newton;
          if (t % 2 === 0) {
            const raw = nw.last!.lrsRaw;
            if (!raw.every(Number.isFinite)) return; // a diverged summary says nothing here
            const m = t === 0 ? 0 : momLrs;
            const x = maintainTrueLrs ? raw : treat(raw);
            curr = x.map((v, i) => (1 - m) * v + m * (curr?.[i] ?? 0));
          }
          const inForce = (maintainTrueLrs ? treat(curr!) : curr!).map((v) => lambda(t) * v);
          nw.currLrs!.forEach((c, i) => assertClose(c, curr![i]!, { rtol: 1e-12, atol: 1e-300 }, `currLrs[${i}] at step ${t}`));
          nw.lrs.forEach((l, i) => assertClose(l, inForce[i]!, { rtol: 1e-12, atol: 1e-300 }, `lrs[${i}] at step ${t}`));
          p = applyUpdates(p, updates);
          state = next;
        }
      },
    ),
    runs(20),
  );
});

test('partax train refuses study options that would be ignored or are malformed, naming the flag and the value', () => {
  const bad: [string[], RegExp][] = [
    [['--direction', 'sideways'], /--direction: expected one of momentum, adam, gradient, got "sideways"/],
    [['--direction', 'adam', '--momentum', '0.5'], /--momentum: belongs to --direction momentum, but the direction is adam/],
    [['--direction', 'momentum', '--beta2', '0.9'], /--beta2: belongs to --direction adam, but the direction is momentum/],
    [['--no-remove-negative', '--negative-lrs', 'abs'], /--negative-lrs: says how --remove-negative removes negative rates, but --no-remove-negative keeps them \(got abs\)/],
    [['--negative-lrs', 'mirror'], /--negative-lrs: expected one of clip, abs, got "mirror"/],
    [['--damping-schedule', 'linear:0.1:0'], /--damping-schedule: expected constant, linear:END:N or cosine:END:N .*got "linear:0.1:0"/],
    [['--damping-schedule', 'exp:0.1:5'], /--damping-schedule: .*got "exp:0.1:5"/],
    [['--trust-radius', '0'], /--trust-radius: expected a positive number, got 0/],
    [['--optimizer', 'adam', '--direction', 'adam'], /--direction: does not apply to optimizer adam \(only to newton-summary\)/],
  ];
  for (const [argv, message] of bad) assert.throws(() => resolveConfig(parseFlags(argv).options, 'partax train', (f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`), message, argv.join(' '));
  // the defaults are today's: the momentum direction, clipping, constant λ₁, no trust region
  const c = resolveConfig({});
  assert.deepEqual(
    [c.direction, c.momentum, c.dampening, c.removeNegative, c.negativeLrs, c.damping, c.dampingSchedule, c.trustRadius, c.maintainTrueLrs],
    ['momentum', 0.9, 0.9, true, 'clip', 0.5, 'constant', null, false],
  );
});

test('partax train with the study options (Adam direction, a λ₁ schedule, |η|, a trust region) records them in config.json and resumes exactly: 4 steps + resume = straight', () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const tmp = mkdtempSync(join(tmpdir(), 'partax-ns-options-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const args = ['--dataset', 'teacher', '--samples', '300', '--direction', 'adam', '--beta1', '0.8', '--damping-schedule', 'linear:1:5', '--negative-lrs', 'abs', '--trust-radius', '2', '--period-hg', '2', '--epochs', '3', '--progress', 'none', '--checkpoint-every', '0'];
  const train = (a: readonly string[]) => {
    const r = spawnSync(process.execPath, [join(root, 'bin', 'partax.mjs'), 'train', ...a], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
  };
  const [straight, split] = [join(tmp, 'straight'), join(tmp, 'split')];
  train([...args, '--out', straight]);
  train([...args, '--max-steps', '4', '--out', split]);
  train(['--resume', split]);
  const config = JSON.parse(readFileSync(join(straight, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(
    [config['direction'], config['beta1'], config['dampingSchedule'], config['negativeLrs'], config['trustRadius'], config['removeNegative']],
    ['adam', 0.8, 'linear:1:5', 'abs', 2, true],
  );
  const lines = (dir: string) =>
    readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const { time: _t, ...r } = JSON.parse(l) as Record<string, unknown>;
        return r;
      });
  const a = lines(straight);
  assert.ok(a.filter((l) => l['type'] === 'step').length > 4, 'the run goes past the split');
  assert.deepEqual(lines(split), a, 'the resumed run’s metrics (losses, rates, H̄) equal the straight run’s');
});

test('jitSummary: the summary as one jitted program gives the eager optimizer\'s steps bit for bit (cpu backend), over hg batches that change from step to step', () => {
  fc.assert(
    fc.property(arbProblem(), fc.constantFrom(...(['canonical', 'wb'] as const)), fc.boolean(), (pb, name, cubic) => {
      withBackend('cpu', () => {
        // the loss reads its batch from its arguments; every step's hg batch is a new x (θ's moves
        // and the data both change what the summary sees)
        const config = { sizes: pb.sizes, activation: pb.activation, output: pb.lossKind === 'nll' ? 'log_softmax' : 'identity' };
        const loss = (p: unknown, x: Tensor, y: Tensor): Tensor => {
          const out = mlpApply(config, p as MlpParams<'float64'>, x);
          return pb.lossKind === 'nll' ? nll(out, y as Tensor<'int32'>) : mse(out, y as Tensor<'float64'>);
        };
        const run = (jitSummary: boolean) => {
          const opt = newtonSummary({ partition: partition.named(name, pb.params), damping: 0.5, ...(cubic ? { dampingInt: 10 } : { noRegul: true }), jitSummary });
          let params: unknown = pb.params;
          let state = opt.init(params);
          const out: number[][] = [];
          for (let k = 0; k < 3; k++) {
            const x = mul(pb.x, 1 - 0.25 * k);
            const g = grad((p: unknown) => loss(p, x, pb.y))(params);
            const [updates, next] = opt.update(g, state, params, { loss: loss as (p: unknown, ...b: unknown[]) => Tensor, hgBatch: [x, pb.y] });
            params = applyUpdates(params, updates);
            state = next as typeof state;
            out.push(...leaves(params), [...(state as NewtonSummaryState).newton.lrs]);
          }
          return out;
        };
        // a generated problem may diverge (cubic off, λ₁ 0.5): then both paths must refuse the same
        // step with the same error, as they must give the same steps otherwise
        const outcome = (jitSummary: boolean): number[][] | string => {
          try {
            return run(jitSummary);
          } catch (e) {
            if (e instanceof RangeError) return e.message;
            throw e;
          }
        };
        assert.deepEqual(outcome(true), outcome(false));
      });
    }),
    runs(20),
  );
});
