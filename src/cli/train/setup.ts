import type { Tensor } from '../../core/tensor.js';
import { leavesWithPaths } from '../../core/tree.js';
import { bufferOf, type Dataset, inputStats, reshapeInputs, splitTrainTest, standardize, subset } from '../../data/dataset.js';
import { loadFashionMnist } from '../../data/fashion-mnist.js';
import { mnistSplit } from '../../data/mnist.js';
import { teacherStudent, twoSpirals } from '../../data/synthetic.js';
import { fromBuffer } from '../../ops/create.js';
import { autoencoder } from '../../nn/autoencoder.js';
import { lenet } from '../../nn/lenet.js';
import { binaryCrossEntropyWithLogits, mse, nll } from '../../nn/losses.js';
import type { Model } from '../../nn/model.js';
import { mlp } from '../../nn/mlp.js';
import { type Key, foldIn, key, permutation } from '../../random/index.js';
import type { TrainConfig } from './config.js';
import { buildOptimizer, type OptimizerSetup } from './optimizers.js';

/**
 * Turns a resolved {@link TrainConfig} into the pieces of a run: the training and test sets, the
 * model, the loss and the optimizer. Everything here is a pure
 * function of the configuration (data from fixed keys, parameters from the run's seed), which is
 * what makes `--resume` exact.
 */

/** What the model is trained to do. */
export type Task = 'classification' | 'regression' | 'reconstruction';

/** The pieces of a run. */
export interface TrainSetup {
  readonly train: Dataset;
  readonly test: Dataset;
  readonly task: Task;
  readonly model: Model<any, unknown>;
  /** The training loss of a batch: nll (classification), mse (regression), BCE on logits (reconstruction). */
  readonly loss: (params: unknown, x: Tensor, y: Tensor) => Tensor;
  /** The loss and the model's outputs, for `valueAndGrad(…, { hasAux: true })`. */
  readonly lossWithOutputs: (params: unknown, x: Tensor, y: Tensor) => [Tensor, Tensor];
  /** The optimizer of `config.optimizer`, built from its registry entry (optimizers.ts). */
  readonly optimizer: OptimizerSetup;
}

/** The seed of the data: synthetic sets and subsets are the same for every run seed. */
export const DATA_SEED = 0;

/** The datasets of a configuration (before normalisation). */
function datasets(c: TrainConfig): { train: Dataset; test: Dataset } {
  const dataKey = key(DATA_SEED);
  switch (c.dataset) {
    case 'mnist':
      return mnistSplit(c.testSize);
    case 'fashion-mnist':
      return loadFashionMnist(c.dataDir);
    case 'spirals': {
      const s = splitTrainTest(twoSpirals(foldIn(dataKey, 1), { n: c.samples! }), foldIn(dataKey, 2), c.testSize!);
      return { train: s.train, test: { ...s.test, name: 'spirals-test' } };
    }
    case 'teacher': {
      const s = splitTrainTest(teacherStudent(foldIn(dataKey, 3), { n: c.samples! }).dataset, foldIn(dataKey, 4), c.testSize!);
      return { train: s.train, test: { ...s.test, name: 'teacher-test' } };
    }
  }
}

/** A fixed random subset of `n` examples (the same for every run seed). */
function firstN(ds: Dataset, n: number, k: Key): Dataset {
  const size = ds.x.shape[0]!;
  if (n >= size) return ds;
  return subset(ds, Array.from(bufferOf(permutation(k, size))).slice(0, n));
}

/** For reconstruction the targets are the flattened inputs (pixels in [0, 1]). */
const asReconstruction = (ds: Dataset): Dataset => {
  const n = ds.x.shape[0]!;
  return { name: ds.name, x: ds.x, y: fromBuffer(bufferOf(ds.x) as Float32Array, 'float32', [n, ds.x.size / Math.max(n, 1)]) };
};

/** Builds the run's pieces from its configuration. */
export function setupTraining(c: TrainConfig): TrainSetup {
  let { train, test } = datasets(c);
  if (c.trainSize !== undefined) train = firstN(train, c.trainSize, foldIn(key(DATA_SEED), 5));
  const task: Task = c.model === 'autoencoder' ? 'reconstruction' : c.dataset === 'teacher' ? 'regression' : 'classification';
  if (task === 'reconstruction') (train = asReconstruction(train)), (test = asReconstruction(test));
  if (c.normalize === 'standardize') {
    const { mean, std } = inputStats(train);
    train = standardize(train, mean, std);
    test = standardize(test, mean, std);
  }
  const exampleShape = train.x.shape.slice(1);
  const inputs = exampleShape.reduce((a, b) => a * b, 1);
  const common = { activation: c.activation, sigmaW: c.sigmaW, sigmaB: c.sigmaB } as const;
  let model: Model<any, unknown>;
  if (c.model === 'lenet') {
    const [ch, h, w] = exampleShape as [number, number, number];
    model = lenet({ ...common, channels: [ch, c.channels![0]!, c.channels![1]!], hidden: [c.hidden[0]!, c.hidden[1]!], classes: train.classes!, imageSize: [h, w] });
    train = reshapeInputs(train, model.inputShape);
    test = reshapeInputs(test, model.inputShape);
  } else if (c.model === 'autoencoder') {
    model = autoencoder({ ...common, sizes: [inputs, ...c.hidden], output: 'identity' });
  } else {
    const outputs = task === 'classification' ? train.classes! : train.y.shape.slice(1).reduce((a, b) => a * b, 1);
    model = mlp({ ...common, sizes: [inputs, ...c.hidden, outputs], output: task === 'classification' ? 'log_softmax' : 'identity' });
  }
  const lossOf = task === 'classification' ? (o: Tensor, y: Tensor) => nll(o, y as Tensor<'int32'>) : task === 'regression' ? mse : binaryCrossEntropyWithLogits;
  const lossWithOutputs = (p: unknown, x: Tensor, y: Tensor): [Tensor, Tensor] => {
    const out = model.apply(p, x as Tensor<'float32'>);
    return [lossOf(out, y), out];
  };
  const loss = (p: unknown, x: Tensor, y: Tensor) => lossWithOutputs(p, x, y)[0];

  const optimizer = buildOptimizer(c, { trainExamples: train.x.shape[0]!, jit: c.jit });
  return { train, test, task, model, loss, lossWithOutputs, optimizer };
}
