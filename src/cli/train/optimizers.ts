import type { Tensor } from '../../core/tensor.js';
import { isPlainObject, leavesWithPaths } from '../../core/tree.js';
import { full } from '../../ops/create.js';
import { MAX_COUNT } from '../../optim/count.js';
import { adam, adamw, momentum, rmsprop, sgd } from '../../optim/alias.js';
import { scaleByAdam } from '../../optim/adam.js';
import { traceMomentum } from '../../optim/momentum.js';
import { NEWTON_SUMMARY_SETTING, newtonSummary, type NewtonSummaryState } from '../../optim/newton-summary.js';
import { cosineDecaySchedule, linearSchedule, type ScalarOrSchedule } from '../../optim/schedule.js';
import { identity } from '../../optim/transformation.js';
import { type NewtonSummaryExtra, scaleBySummaryNewton, type ScaleBySummaryNewtonOptions } from '../../optim/summary-newton.js';
import type { GradientTransformation } from '../../optim/transformation.js';
import { named, type Partition } from '../../summary/partition.js';
import { hgStats, type StepRecord } from './metrics.js';
import { bool, int, nullable, num, oneOf, type OptionSpec, parseSchedule, partitionName, scheduleName } from './option-codecs.js';

/**
 * The optimizers of `partax train`, one entry each: its name, its flags (codec, help and default),
 * the checks between them, and how to build it from their values. Everything else follows from
 * the entries: the `--optimizer` choices, which flags apply to which optimizer, the defaults a run
 * records in config.json, `--help`, the memory estimate and what a checkpoint of an older layout
 * becomes. Adding an optimizer is adding an entry here.
 *
 * The training loop knows no optimizer: it offers each update the loss and, for an optimizer that
 * declares a batch stream (NewtonSummary's hg batches), a function drawing the stream's next
 * batch; the optimizer decides what to do with them (NewtonSummary calls it on its hg steps only).
 */

/** A flag of an optimizer: its option (codec and help) and its default for this optimizer. */
export interface OptimizerFlag<A> extends OptionSpec<A> {
  /** The default, or how it follows from the model. */
  readonly default: A | ((c: DefaultContext) => A);
  /** The default as `--help` shows it, when it is a function. */
  readonly defaultText?: string;
}

/** What a default may depend on. */
export interface DefaultContext {
  readonly model: string;
}

type Flags = Readonly<Record<string, OptimizerFlag<any>>>;
/** The values of an entry's flags (all present once the config is resolved). */
export type FlagValues<F extends Flags> = { readonly [K in keyof F]: F[K] extends OptimizerFlag<infer A> ? A : never };

/** What the training loop offers an optimizer for its extra argument. */
export interface LoopOffer {
  /** The training loss of a batch. */
  readonly loss: (params: unknown, x: Tensor, y: Tensor) => Tensor;
  /** The next batch of the optimizer's own batch stream (only with `batchStream`); each call draws one. */
  readonly nextBatch: () => [Tensor, Tensor];
}

/** An optimizer built for a run. */
export interface BuiltOptimizer {
  readonly transformation: GradientTransformation<any, any>;
  /** The extra argument of each update, from what the loop offers (none: undefined). */
  readonly extra?: (offer: LoopOffer) => unknown;
  /**
   * Its own stream of training batches (NewtonSummary's hg batches): the examples per batch, and
   * for the memory estimate the activations its passes over one batch keep (in copies of a
   * forward pass's) and what they are for.
   */
  readonly batchStream?: { readonly batchSize: number; readonly activationCopies: number; readonly purpose: string };
  /** The learning rates in force after an update: one per group. */
  readonly lrsOf: (state: unknown) => number[];
  /** The parameter groups by member name (default: one group of every parameter). */
  readonly groupsOf?: (params: unknown) => string[][];
  /**
   * For an optimizer that reads on the host: its update as `rest` after `head`, where `head` reads
   * nothing on the host (NewtonSummary: its direction, then the rates), with the whole state made
   * of theirs (`split`, `join`). The same numbers as `transformation`; under `--jit` the loop runs
   * `head` in the gradient's compiled program and `rest` after it.
   */
  readonly pureHead?: PureHead;
  /** Fields of a step's metrics line after an update (NewtonSummary: its hg record, on hg steps). */
  readonly stepMetrics?: (state: unknown) => Partial<Pick<StepRecord, 'hg'>>;
}

/** An update as a pure head and the rest (see {@link BuiltOptimizer.pureHead}). */
export interface PureHead {
  readonly head: GradientTransformation<any, any>;
  readonly rest: GradientTransformation<any, any>;
  /** The head's state and the rest's, from the whole state. */
  readonly split: (state: unknown) => readonly [unknown, unknown];
  /** The whole state from the head's and the rest's. */
  readonly join: (head: unknown, rest: unknown) => unknown;
}

/** What building may depend on besides the flags. */
export interface BuildContext {
  /** Examples in the training set. */
  readonly trainExamples: number;
  /** Whether the run is under jit (`--jit`): an optimizer may then compile what it computes on its own. */
  readonly jit: boolean;
}

/** One optimizer of `partax train`. */
export interface OptimizerEntry<N extends string = string, F extends Flags = Flags> {
  readonly name: N;
  /** One line for `--help`. */
  readonly about: string;
  /** Its flags, in the order config.json records them. */
  readonly flags: F;
  /** Checks of its flags against each other: one message per bad flag. */
  readonly check?: (o: FlagValues<F>) => readonly { readonly flag: keyof F & string; readonly message: string }[];
  /** Why flags of other optimizers do not apply to it, where that is worth saying. */
  readonly refuses?: Readonly<Record<string, string>>;
  /** Parameter-sized buffers its state holds (for the memory estimate), or how they follow from its flags. */
  readonly stateCopies: number | ((o: FlagValues<F>) => number);
  /** What to try when a run with it diverges. */
  readonly divergenceHint: string;
  readonly build: (o: FlagValues<F>, ctx: BuildContext) => BuiltOptimizer;
  /**
   * Today's state from one saved by checkpoint format `version` (older than the current one); absent
   * when its state layout never changed. A state that does not have the old layout either is
   * returned as it is, for the resume's structure check to name what does not fit.
   */
  readonly migrateState?: (state: unknown, version: number) => unknown;
}

/** An entry, with its flag types inferred. */
const entry = <const N extends string, const F extends Flags>(e: OptimizerEntry<N, F>): OptimizerEntry<N, F> => e;

/** `spec` with this optimizer's default. */
const withDefault = <A,>(spec: OptionSpec<A>, value: A | ((c: DefaultContext) => A), defaultText?: string): OptimizerFlag<A> => ({
  ...spec,
  default: value,
  ...(defaultText === undefined ? {} : { defaultText }),
});

// flags several optimizers share (one codec and help each)
const rate = num('a number in [0, 1)', (x) => x >= 0 && x < 1);
const positive = num('a positive number', (x) => x > 0);
const LR: OptionSpec<number> = { codec: positive, help: 'learning rate' };
const MOMENTUM: OptionSpec<number> = { codec: rate, help: 'momentum factor μ; newton-summary: of its direction' };
const DAMPENING: OptionSpec<number> = { codec: num('a number in [0, 1]', (x) => x >= 0 && x <= 1), help: 'momentum dampening τ' };
const NESTEROV: OptionSpec<boolean> = { codec: bool, help: 'Nesterov momentum' };
const BETA1: OptionSpec<number> = { codec: rate, help: 'β₁, decay of the first moment' };
const BETA2: OptionSpec<number> = { codec: rate, help: 'β₂, decay of the second moment' };
const EPS: OptionSpec<number> = { codec: positive, help: 'ε, the stabiliser of the denominator' };

/** Nesterov momentum needs dampening 0, as torch.optim.SGD. */
const nesterovCheck = (o: { readonly nesterov: boolean; readonly dampening: number }) =>
  o.nesterov && o.dampening !== 0 ? [{ flag: 'nesterov' as const, message: `Nesterov momentum needs dampening 0 (as torch.optim.SGD), but dampening is ${o.dampening}` }] : [];

/** The directions newton-summary can pick rates for. */
export const NS_DIRECTIONS = ['momentum', 'adam', 'gradient'] as const;
/** newton-summary's defaults of the flags that belong to one direction (a value other than these with another direction is refused). */
const DIRECTION_FLAGS = {
  momentum: { momentum: 0.9, dampening: 0.9, nesterov: false },
  adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  gradient: {},
} as const;

/** The transformation proposing newton-summary's direction u. */
function nsDirection(o: { direction: (typeof NS_DIRECTIONS)[number]; momentum: number; dampening: number; nesterov: boolean; beta1: number; beta2: number; eps: number }): GradientTransformation<any, any> {
  switch (o.direction) {
    case 'momentum':
      return traceMomentum({ momentum: o.momentum, dampening: o.dampening, nesterov: o.nesterov });
    case 'adam':
      return scaleByAdam({ b1: o.beta1, b2: o.beta2, eps: o.eps });
    case 'gradient':
      return identity();
  }
}

/** λ₁ as `--damping` and `--damping-schedule` say. */
export function dampingOf(damping: number, schedule: string): ScalarOrSchedule {
  const s = parseSchedule(schedule);
  if (s === null) throw new RangeError(`newton-summary: bad damping schedule '${schedule}'`);
  if (s.kind === 'constant') return damping;
  return s.kind === 'linear' ? linearSchedule(damping, s.end, s.steps) : cosineDecaySchedule(damping, s.steps, s.end / damping);
}

/** A one-rate optimizer: its rate is the one learning rate in force. */
const single = (transformation: GradientTransformation<any, any>, lr: number): BuiltOptimizer => ({ transformation, lrsOf: () => [lr] });

/** The registry, `--optimizer`'s choices in order (the first is the default). */
export const OPTIMIZERS = [
  entry({
    name: 'newton-summary',
    about: 'NewtonSummary (Wolinski 2023): per-group learning rates from the summary of the loss along a direction (momentum, Adam’s update or the gradient)',
    flags: {
      direction: withDefault(
        {
          codec: oneOf('a direction', NS_DIRECTIONS),
          help: 'the direction u it picks rates along: momentum (the paper; --momentum --dampening --nesterov) | adam (Adam’s update m̂/(√v̂ + ε); --beta1 --beta2 --eps) | gradient (the plain gradient)',
        },
        'momentum',
      ),
      momentum: withDefault(MOMENTUM, DIRECTION_FLAGS.momentum.momentum),
      dampening: withDefault(DAMPENING, DIRECTION_FLAGS.momentum.dampening),
      nesterov: withDefault(NESTEROV, DIRECTION_FLAGS.momentum.nesterov),
      beta1: withDefault(BETA1, DIRECTION_FLAGS.adam.beta1),
      beta2: withDefault(BETA2, DIRECTION_FLAGS.adam.beta2),
      eps: withDefault(EPS, DIRECTION_FLAGS.adam.eps),
      partition: withDefault({ codec: partitionName, help: 'parameter groups: canonical (one per tensor) | trivial | wb | blocks:K' }, 'canonical'),
      damping: withDefault({ codec: positive, help: 'λ₁, multiplies the learning rates it picks' }, NEWTON_SUMMARY_SETTING.damping),
      dampingSchedule: withDefault(
        { codec: scheduleName, help: 'λ₁ over the steps: constant (--damping) | linear:END:N (from --damping to END in N steps, then END) | cosine:END:N (cosine decay from --damping to END in N steps)' },
        'constant',
      ),
      dampingInt: withDefault({ codec: nullable(num('a number ≥ 0', (x) => x >= 0), 'a number ≥ 0 or null'), help: 'λ_int, the cubic (Nesterov) regularisation; none (null in JSON): plain Newton on H̄' }, NEWTON_SUMMARY_SETTING.dampingInt),
      periodHg: withDefault({ codec: int(1), help: 'recompute the learning rates every this many steps (5: chosen by the study of docs/experiments.md)' }, NEWTON_SUMMARY_SETTING.periodHg),
      momLrs: withDefault({ codec: rate, help: 'moving average of the learning rates across hg steps' }, NEWTON_SUMMARY_SETTING.momLrs),
      removeNegative: withDefault({ codec: bool, help: 'remove negative learning rates (as --negative-lrs says); --no-remove-negative: use them as they are' }, NEWTON_SUMMARY_SETTING.removeNegative),
      negativeLrs: withDefault({ codec: oneOf('a treatment of negative rates', ['clip', 'abs'] as const), help: 'how --remove-negative removes a negative rate η: clip (to 0, the paper) | abs (|η|)' }, 'clip'),
      trustRadius: withDefault(
        { codec: nullable(positive, 'a positive number or null'), help: 'Δ: scale the solver’s rates back to ‖Dη‖ ≤ Δ, D = diag(|order3|^{1/3}) (computes order3 even without λ_int); none: no trust region' },
        null,
      ),
      maintainTrueLrs: withDefault({ codec: bool, help: 'average the raw rates across hg steps, then remove negative ones (grnewt’s maintain_true_lrs); default: remove, then average' }, false),
      hgBatchSize: withDefault(
        { codec: int(1), help: 'examples in each hg batch, at most the training set' },
        (c) => (c.model === 'lenet' ? 100 : 500),
        '500, 100 for lenet, whose H̄ costs more',
      ),
    },
    check: (o) => [
      ...nesterovCheck(o),
      // a flag of one direction with another direction would be ignored: refuse any value but its default
      ...(Object.entries(DIRECTION_FLAGS) as [string, Record<string, number | boolean>][]).flatMap(([dir, flags]) =>
        dir === o.direction
          ? []
          : Object.entries(flags)
              .filter(([k, d]) => o[k as keyof typeof o] !== d)
              .map(([k]) => ({ flag: k as 'momentum', message: `belongs to --direction ${dir}, but the direction is ${o.direction}` })),
      ),
      ...(!o.removeNegative && o.negativeLrs !== 'clip'
        ? [{ flag: 'negativeLrs' as const, message: `says how --remove-negative removes negative rates, but --no-remove-negative keeps them (got ${o.negativeLrs})` }]
        : []),
    ],
    refuses: { lr: 'newton-summary picks its own per-group learning rates; scale them with damping' },
    // the direction's buffers (momentum: its trace; adam: two moments; gradient: none) and one more
    stateCopies: (o) => ({ momentum: 1, adam: 2, gradient: 0 })[o.direction] + 1,
    divergenceHint: 'a larger --damping-int or a smaller --damping',
    build: (o, ctx) => {
      const partition = (params: unknown): Partition => named(o.partition, params);
      const rates: ScaleBySummaryNewtonOptions = {
        partition,
        damping: dampingOf(o.damping, o.dampingSchedule),
        ...(o.dampingInt === null ? {} : { dampingInt: o.dampingInt }),
        ...(o.trustRadius === null ? {} : { trustRadius: o.trustRadius }),
        periodHg: o.periodHg,
        momLrs: o.momLrs,
        negativeLrs: o.removeNegative ? o.negativeLrs : 'keep',
        maintainTrueLrs: o.maintainTrueLrs,
        // the summary of an hg step as one compiled program: the loss reads the batch through its arguments
        jitSummary: ctx.jit,
      };
      const direction = nsDirection(o);
      // the chain {direction, newton}: the direction reads nothing on the host, the rates do
      const transformation = newtonSummary({ ...rates, direction });
      const newton = (s: unknown) => (s as NewtonSummaryState).newton;
      return {
        transformation,
        pureHead: {
          head: direction,
          rest: scaleBySummaryNewton(rates),
          split: (s) => [(s as NewtonSummaryState).direction, newton(s)],
          join: (d, n): NewtonSummaryState => ({ direction: d, newton: n as NewtonSummaryState['newton'] }),
        },
        extra: ({ loss, nextBatch }): NewtonSummaryExtra => ({ loss, hgBatch: nextBatch }),
        batchStream: { batchSize: Math.min(o.hgBatchSize, ctx.trainExamples), activationCopies: 12, purpose: 'the summary on the hg batch' },
        lrsOf: (s) => [...newton(s).lrs],
        groupsOf: (params) => partition(params).map((g) => g.map((m) => (typeof m === 'string' ? m : `${m.name}[${m.index.length}]`))),
        // an hg step records its summary, numbered by the count before the update
        stepMetrics: (s) => {
          const { count, last } = newton(s);
          return last !== null && last.step === count - 1 ? { hg: hgStats(last) } : {};
        },
      };
    },
    // newton.count stays a number (the hg schedule is decided on the host); the direction's count became a tensor
    migrateState: (state, version) => {
      const nested = version < 3 ? nestNewtonState(state) : state;
      if (version >= 4 || !isPlainObject(nested) || !('direction' in nested)) return nested;
      return { ...nested, direction: tensorCounts(nested['direction']) };
    },
  }),
  entry({
    name: 'sgd',
    about: 'plain gradient descent: θ ← θ − lr·g',
    flags: { lr: withDefault(LR, 0.1) },
    stateCopies: 0,
    divergenceHint: 'a smaller --lr',
    build: (o) => single(sgd(o.lr), o.lr),
    migrateState: countsAsTensors,
  }),
  entry({
    name: 'momentum',
    about: 'SGD with momentum, exactly torch.optim.SGD(lr, momentum, dampening, nesterov)',
    flags: { lr: withDefault(LR, 0.01), momentum: withDefault(MOMENTUM, 0.9), dampening: withDefault(DAMPENING, 0), nesterov: withDefault(NESTEROV, false) },
    check: nesterovCheck,
    stateCopies: 1,
    divergenceHint: 'a smaller --lr',
    build: (o) => single(momentum(o.lr, o.momentum, { dampening: o.dampening, nesterov: o.nesterov }), o.lr),
    migrateState: countsAsTensors,
  }),
  entry({
    name: 'adam',
    about: 'Adam (Kingma & Ba), bias-corrected',
    flags: { lr: withDefault(LR, 1e-3), beta1: withDefault(BETA1, 0.9), beta2: withDefault(BETA2, 0.999), eps: withDefault(EPS, 1e-8) },
    stateCopies: 2,
    divergenceHint: 'a smaller --lr',
    build: (o) => single(adam(o.lr, { b1: o.beta1, b2: o.beta2, eps: o.eps }), o.lr),
    migrateState: countsAsTensors,
  }),
  entry({
    name: 'adamw',
    about: 'AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, θ ← θ − lr·(m̂/(√v̂ + ε) + wd·θ)',
    flags: {
      lr: withDefault(LR, 1e-3),
      beta1: withDefault(BETA1, 0.9),
      beta2: withDefault(BETA2, 0.999),
      eps: withDefault(EPS, 1e-8),
      weightDecay: withDefault({ codec: num('a number ≥ 0', (x) => x >= 0), help: 'decoupled weight decay wd, on every parameter' }, 1e-4, '1e-4, optax’s; PyTorch’s AdamW uses 0.01'),
    },
    stateCopies: 2,
    divergenceHint: 'a smaller --lr',
    build: (o) => single(adamw(o.lr, { b1: o.beta1, b2: o.beta2, eps: o.eps, weightDecay: o.weightDecay }), o.lr),
    migrateState: countsAsTensors,
  }),
  entry({
    name: 'rmsprop',
    about: 'RMSprop: ν ← ρ·ν + (1 − ρ)·g², θ ← θ − lr·g/√(ν + ε)',
    flags: {
      lr: withDefault(LR, 1e-3),
      decay: withDefault({ codec: rate, help: 'ρ, decay of the running mean of g²' }, 0.9),
      eps: withDefault(EPS, 1e-8),
      epsInSqrt: withDefault({ codec: bool, help: 'ε inside the square root, g/√(ν + ε) (optax); --no-eps-in-sqrt: g/(√ν + ε) (torch.optim.RMSprop)' }, true),
    },
    stateCopies: 1,
    divergenceHint: 'a smaller --lr',
    build: (o) => single(rmsprop(o.lr, { decay: o.decay, eps: o.eps, epsInSqrt: o.epsInSqrt }), o.lr),
    migrateState: countsAsTensors,
  }),
] as const;

/**
 * A state from before checkpoint format 4, when step counts were numbers, in today's layout: every
 * `count` field holding a step number becomes an int32 scalar tensor, except that a record holding
 * nothing but a count — the state `scaleByLearningRate` kept for a constant learning rate, which
 * is stateless today — becomes `{}`. Anything else is unchanged (for the resume's structure check
 * to name what does not fit).
 */
function tensorCounts(state: unknown): unknown {
  if (Array.isArray(state)) return state.map(tensorCounts);
  if (!isPlainObject(state)) return state;
  const keys = Object.keys(state);
  const c = state['count'];
  const isStep = typeof c === 'number' && Number.isInteger(c) && c >= 0 && c <= MAX_COUNT;
  if (isStep && keys.length === 1) return {};
  return Object.fromEntries(keys.map((k) => [k, k === 'count' && isStep ? full([], c, 'int32') : tensorCounts(state[k])]));
}

/** {@link tensorCounts} for a file older than format 4. */
function countsAsTensors(state: unknown, version: number): unknown {
  return version < 4 ? tensorCounts(state) : state;
}

/**
 * NewtonSummary's state before checkpoint format 3, `{count, direction, currLrs, lrs, last}`, as
 * today's chain state `{direction, newton: {count, currLrs, lrs, last}}`; anything else unchanged.
 */
function nestNewtonState(state: unknown): unknown {
  const OLD = ['count', 'direction', 'currLrs', 'lrs', 'last'];
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return state;
  const s = state as Record<string, unknown>;
  const keys = Object.keys(s);
  if (keys.length !== OLD.length || !OLD.every((k) => keys.includes(k))) return state;
  return { direction: s['direction'], newton: { count: s['count'], currLrs: s['currLrs'], lrs: s['lrs'], last: s['last'] } };
}

type Entry = (typeof OPTIMIZERS)[number];
/** The name of an optimizer of `partax train`. */
export type OptimizerName = Entry['name'];
/** The names, in registry order. */
export const OPTIMIZER_NAMES = OPTIMIZERS.map((e) => e.name) as readonly OptimizerName[] as readonly [OptimizerName, ...OptimizerName[]];

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type AllFlags = UnionToIntersection<Entry['flags']>;
/** The name of a flag of some optimizer. */
export type OptimizerOptionName = keyof AllFlags & string;

/** The entry of an optimizer. */
export function optimizerEntry(name: string): OptimizerEntry {
  const e = OPTIMIZERS.find((x) => x.name === name);
  if (!e) throw new RangeError(`unknown optimizer '${name}' (expected one of ${OPTIMIZER_NAMES.join(', ')})`);
  return e as unknown as OptimizerEntry;
}

/** Which optimizers take each flag, in registry order. */
export const FLAG_USERS: Readonly<Record<OptimizerOptionName, readonly OptimizerName[]>> = (() => {
  const users: Record<string, OptimizerName[]> = {};
  for (const e of OPTIMIZERS) for (const k of Object.keys(e.flags)) (users[k] ??= []).push(e.name);
  return users as Record<OptimizerOptionName, OptimizerName[]>;
})();

const showDefault = (f: OptimizerFlag<unknown>): string => f.defaultText ?? (f.default === null ? 'none' : String(f.default));

/**
 * Every optimizer flag as an option of the flat configuration: one codec (the same in every
 * entry that takes it, checked here) and a help line naming the optimizers that take it and
 * their defaults.
 */
export const OPTIMIZER_OPTIONS = (() => {
  const out: Record<string, OptionSpec> = {};
  for (const [k, names] of Object.entries(FLAG_USERS) as [string, OptimizerName[]][]) {
    const specs = names.map((n) => (optimizerEntry(n).flags as Flags)[k]!);
    const first = specs[0]!;
    const other = specs.findIndex((s) => s.codec !== first.codec || s.help !== first.help);
    if (other >= 0) throw new Error(`optimizers: the flag '${k}' is declared differently by ${names[0]} and ${names[other]}: a flag has one codec and one help`);
    const defaults = specs.map(showDefault);
    const dflt = defaults.every((d) => d === defaults[0]) ? `default ${defaults[0]}` : `defaults: ${names.map((n, i) => `${n} ${defaults[i]}`).join(', ')}`;
    out[k] = { codec: first.codec, help: `${names.join(', ')}: ${first.help} (${dflt})` };
  }
  return out as { readonly [K in OptimizerOptionName]: OptionSpec<AllFlags[K] extends OptimizerFlag<infer A> ? A : never> };
})();

/** The values of `entry`'s flags: those given in `given`, the defaults for the rest. */
export function resolveFlags(e: OptimizerEntry, given: Readonly<Record<string, unknown>>, ctx: DefaultContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(e.flags)) out[k] = given[k] !== undefined ? given[k] : typeof f.default === 'function' ? (f.default as (c: DefaultContext) => unknown)(ctx) : f.default;
  return out;
}

/** An optimizer ready for a run: the built pieces and its entry's facts. */
export interface OptimizerSetup extends BuiltOptimizer {
  readonly name: string;
  readonly groupsOf: (params: unknown) => string[][];
  readonly stateCopies: number;
  readonly divergenceHint: string;
  /** Today's state from one saved by checkpoint format `version`. */
  readonly migrateState: (state: unknown, version: number) => unknown;
}

/** Builds the optimizer named by `config.optimizer` from the config's values of its flags (resolved: every flag present). */
export function buildOptimizer(config: Readonly<Record<string, unknown>> & { readonly optimizer: string }, ctx: BuildContext): OptimizerSetup {
  const e = optimizerEntry(config.optimizer);
  const values: Record<string, unknown> = {};
  for (const k of Object.keys(e.flags)) {
    if (config[k] === undefined) throw new TypeError(`buildOptimizer: the configuration has no value for ${e.name}'s flag '${k}' (resolve it first)`);
    values[k] = config[k];
  }
  const built = e.build(values as FlagValues<Flags>, ctx);
  return {
    groupsOf: (params) => [leavesWithPaths(params).map(([p]) => p)],
    ...built,
    name: e.name,
    stateCopies: typeof e.stateCopies === 'number' ? e.stateCopies : e.stateCopies(values as FlagValues<Flags>),
    divergenceHint: e.divergenceHint,
    migrateState: e.migrateState ?? ((s) => s),
  };
}
