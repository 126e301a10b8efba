import { fromBuffer } from '../ops/create.js';
import { add, mul } from '../ops/arith.js';
import { type Key, normal, split, uniform } from '../random/index.js';
import { type ActivationName } from '../nn/activations.js';
import { mlp, type MlpParams } from '../nn/mlp.js';
import { bufferOf, type Dataset } from './dataset.js';

/**
 * Synthetic datasets drawn from a key, for tests and examples: a teacher–student regression and
 * the two-spirals classification problem. The same key always gives the same dataset.
 */

/** Options of {@link twoSpirals}. */
export interface SpiralsOptions {
  /** Number of examples, split evenly between the two classes (default 1000). */
  readonly n?: number;
  /** How many times each arm winds around the origin (default 1.5). */
  readonly turns?: number;
  /** Standard deviation of the Gaussian noise added to each coordinate (default 0.05). */
  readonly noise?: number;
}

/**
 * Two interleaved spirals in the plane: example i has class c = i mod 2, radius r = t and angle
 * 2π·turns·t + c·π for t uniform on [0, 1), plus N(0, noise²) on each coordinate. x [n, 2] float32
 * (within about [−1, 1]²), y [n] int32 in {0, 1}.
 *
 *     const ds = twoSpirals(random.key(0), { n: 400 });
 */
export function twoSpirals(key: Key, opts: SpiralsOptions = {}): Dataset<'int32'> {
  const n = opts.n ?? 1000;
  const turns = opts.turns ?? 1.5;
  const noise = opts.noise ?? 0.05;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`twoSpirals: n must be an integer ≥ 2, got ${String(n)}`);
  if (!(turns > 0) || !Number.isFinite(turns)) throw new RangeError(`twoSpirals: turns must be a positive number, got ${String(turns)}`);
  if (!(noise >= 0) || !Number.isFinite(noise)) throw new RangeError(`twoSpirals: noise must be a number ≥ 0, got ${String(noise)}`);
  const [kt, kn] = split(key);
  const t = bufferOf(uniform(kt!, [n], 'float64'));
  const e = bufferOf(normal(kn!, [n, 2], 'float64'));
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const r = t[i]!;
    const a = 2 * Math.PI * turns * r + c * Math.PI;
    x[2 * i] = r * Math.cos(a) + noise * e[2 * i]!;
    x[2 * i + 1] = r * Math.sin(a) + noise * e[2 * i + 1]!;
    y[i] = c;
  }
  return { name: 'spirals', x: fromBuffer(x, 'float32', [n, 2]), y: fromBuffer(y, 'int32', [n]), classes: 2 };
}

/** Options of {@link teacherStudent}. */
export interface TeacherOptions {
  /** Number of examples (default 1000). */
  readonly n?: number;
  /** Input dimension (default 10). */
  readonly inputDim?: number;
  /** The teacher's hidden sizes (default [20]). */
  readonly hidden?: readonly number[];
  /** Output dimension (default 1). */
  readonly outputDim?: number;
  /** The teacher's activation (default 'tanh'). */
  readonly activation?: ActivationName;
  /** Standard deviation of the Gaussian noise added to the targets (default 0.01). */
  readonly noise?: number;
}

/**
 * Teacher–student regression: inputs x ~ N(0, I) [n, inputDim] and targets y = teacher(x) + noise·ε
 * [n, outputDim], where the teacher is a random MLP (weights N(0, 1/fan_in), identity output).
 * Returns the dataset and the teacher's parameters (a student of the same shape can reach the
 * noise floor: mse ≈ noise²).
 *
 *     const { dataset, teacher } = teacherStudent(random.key(0), { n: 500, inputDim: 4, hidden: [8] });
 */
export function teacherStudent(key: Key, opts: TeacherOptions = {}): { dataset: Dataset<'float32'>; teacher: MlpParams<'float32'> } {
  const n = opts.n ?? 1000;
  const inputDim = opts.inputDim ?? 10;
  const hidden = opts.hidden ?? [20];
  const outputDim = opts.outputDim ?? 1;
  const noise = opts.noise ?? 0.01;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`teacherStudent: n must be a positive integer, got ${String(n)}`);
  if (!(noise >= 0) || !Number.isFinite(noise)) throw new RangeError(`teacherStudent: noise must be a number ≥ 0, got ${String(noise)}`);
  const model = mlp({ sizes: [inputDim, ...hidden, outputDim], activation: opts.activation ?? 'tanh', output: 'identity' });
  const [kTeacher, kx, kNoise] = split(key, 3) as [Key, Key, Key];
  const teacher = model.init(kTeacher);
  const x = normal(kx, [n, inputDim], 'float32');
  const y = add(model.apply(teacher, x), mul(normal(kNoise, [n, outputDim], 'float32'), noise));
  return { dataset: { name: 'teacher', x, y }, teacher };
}
