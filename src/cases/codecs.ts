import * as t from 'io-ts';

/** io-ts codecs of the reference-case formats (`partax-case/1`, `partax-trajectory/1`). */

/** A tensor as `{"shape": [...], "data": [...]}` (sizes are checked when it is built). */
export const TensorJSON = t.type({ shape: t.array(t.number), data: t.array(t.number) }, 'Tensor');
export type TensorJSON = t.TypeOf<typeof TensorJSON>;

/** A partition member: a parameter name, or selected flat indices of one. */
export const MemberJSON = t.union([t.string, t.type({ name: t.string, index: t.array(t.number) })], 'Member');

const Activation = t.keyof({ tanh: null, relu: null, sigmoid: null, softplus: null, identity: null }, 'Activation');
const Output = t.keyof({ identity: null, log_softmax: null }, 'Output');

export const MlpModel = t.type({ kind: t.literal('mlp'), sizes: t.array(t.number), activation: Activation, output: Output }, 'MlpModel');
export const PolynomialModel = t.type({ kind: t.literal('polynomial'), degree: t.number }, 'PolynomialModel');
export const LenetModel = t.type(
  {
    kind: t.literal('lenet'),
    in_channels: t.number,
    in_size: t.number,
    conv: t.array(t.type({ out_channels: t.number, kernel: t.number })),
    fc: t.array(t.number),
    activation: Activation,
    output: Output,
  },
  'LenetModel',
);
/** The model description of a case file. */
export const ModelJSON = t.union([MlpModel, PolynomialModel, LenetModel], 'Model');
export type ModelJSON = t.TypeOf<typeof ModelJSON>;

export const LossName = t.keyof({ nll: null, mse: null, sum: null }, 'Loss');
export const FloatDTypeName = t.keyof({ float32: null, float64: null }, 'DType');

const Common = {
  dtype: FloatDTypeName,
  model: ModelJSON,
  loss: LossName,
  params: t.record(t.string, TensorJSON),
};

/** A `partax-case/1` file (the fields an implementation needs; `expected`/`meta` are not read). */
export const CaseFile = t.intersection(
  [
    t.type({
      format: t.literal('partax-case/1'),
      ...Common,
      inputs: t.type({ x: TensorJSON, y: TensorJSON }),
      direction: t.record(t.string, TensorJSON),
      partition: t.array(t.array(MemberJSON)),
    }),
    t.partial({ name: t.string, nesterov_damping_int: t.array(t.number) }),
  ],
  'CaseFile',
);
export type CaseFile = t.TypeOf<typeof CaseFile>;

/** A `partax-trajectory/1` file. */
export const TrajectoryFile = t.intersection(
  [
    t.type({
      format: t.literal('partax-trajectory/1'),
      ...Common,
      partition: t.array(t.array(MemberJSON)),
      batches: t.array(t.type({ x: TensorJSON, y: TensorJSON })),
      config: t.intersection([
        t.type({
          steps: t.number,
          damping: t.number,
          period_hg: t.number,
          mom_lrs: t.number,
          remove_negative: t.boolean,
          dct_nesterov: t.type({ use: t.boolean, damping_int: t.number }),
          updater: t.intersection([
            t.type({ name: t.literal('SGD'), lr: t.number, momentum: t.number }),
            t.partial({ dampening: t.number, nesterov: t.boolean }),
          ]),
        }),
        t.partial({ threshold_D_sing: t.number, hg_batch: t.string }),
      ]),
    }),
    t.partial({ name: t.string }),
  ],
  'TrajectoryFile',
);
export type TrajectoryFile = t.TypeOf<typeof TrajectoryFile>;
