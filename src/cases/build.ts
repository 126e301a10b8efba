import type { FloatDType } from '../core/dtype.js';
import { ShapeError } from '../core/errors.js';
import { shapeEq, showShape, sizeOf } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { tensor } from '../ops/create.js';
import { lenetApply, type LenetParams } from '../nn/lenet.js';
import { mlpApply, type MlpParams } from '../nn/mlp.js';
import { polynomialApply, type PolynomialParams } from '../nn/polynomial.js';
import { mse, nll, sumLoss } from '../nn/losses.js';
import type { ModelJSON, TensorJSON } from './codecs.js';

/** Builds tensors, parameter records, models and losses from decoded case files. */

/** A tensor from its JSON form, checked: integer non-negative shape, data filling it, finite values. */
export function tensorFromJSON(j: TensorJSON, dtype: FloatDType | 'int32', where: string): Tensor {
  if (!j.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new ShapeError(`${where}.shape: ${JSON.stringify(j.shape)} is not a list of non-negative integers`);
  if (j.data.length !== sizeOf(j.shape))
    throw new ShapeError(`${where}.data: expected ${sizeOf(j.shape)} numbers for shape ${showShape(j.shape)}, got ${j.data.length}`);
  const bad = j.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new ShapeError(`${where}.data[${bad}]: ${j.data[bad]} is not a finite number`);
  return tensor(j.data, dtype, j.shape);
}

/** The parameter names and shapes a model description implies, in named_parameters() order. */
export function expectedParams(model: ModelJSON): [string, number[]][] {
  switch (model.kind) {
    case 'mlp':
      return model.sizes.slice(1).flatMap((n, i): [string, number[]][] => [
        [`layers.${i}.weight`, [n, model.sizes[i]!]],
        [`layers.${i}.bias`, [n]],
      ]);
    case 'polynomial':
      return Array.from({ length: model.degree + 1 }, (_, k): [string, number[]] => [`coeffs.${k}`, []]);
    case 'lenet': {
      const out: [string, number[]][] = [];
      let c = model.in_channels;
      let s = model.in_size;
      model.conv.forEach((l, i) => {
        out.push([`conv${i + 1}.weight`, [l.out_channels, c, l.kernel, l.kernel]], [`conv${i + 1}.bias`, [l.out_channels]]);
        c = l.out_channels;
        s = Math.floor((s - l.kernel + 1) / 2);
      });
      let f = c * s * s;
      model.fc.forEach((m, j) => {
        out.push([`fc${j + 1}.weight`, [m, f]], [`fc${j + 1}.bias`, [m]]);
        f = m;
      });
      return out;
    }
  }
}

/** Nests a flat `{"a.0.b": v}` record by its dotted path (numeric segments become array slots). */
export function nestPaths<V>(flat: ReadonlyMap<string, V>): unknown {
  const root: Record<string, unknown> = {};
  for (const [path, v] of flat) {
    const segs = path.split('.');
    let node: Record<string, unknown> | unknown[] = root;
    segs.forEach((seg, i) => {
      const last = i === segs.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(segs[i + 1]!);
      const key = /^\d+$/.test(seg) && Array.isArray(node) ? Number(seg) : seg;
      const cur = (node as Record<string | number, unknown>)[key];
      if (last) (node as Record<string | number, unknown>)[key] = v;
      else {
        if (cur === undefined) (node as Record<string | number, unknown>)[key] = nextIsIndex ? [] : {};
        node = (node as Record<string | number, unknown>)[key] as Record<string, unknown>;
      }
    });
  }
  return root;
}

/**
 * The parameter record of a case's `params` (or `direction`) field: names and shapes checked
 * against the model description, every problem named.
 */
export function paramsFromJSON(model: ModelJSON, json: Record<string, TensorJSON>, dtype: FloatDType, field: string): unknown {
  const want = expectedParams(model);
  const flat = new Map<string, Tensor>();
  for (const [name, shape] of want) {
    const j = json[name];
    if (!j) throw new ShapeError(`${field}: missing parameter '${name}' (the ${model.kind} model needs ${want.map((w) => w[0]).join(', ')})`);
    const x = tensorFromJSON(j, dtype, `${field}.${name}`);
    if (!shapeEq(x.shape, shape)) throw new ShapeError(`${field}.${name}: shape ${showShape(x.shape)} does not fit the model (expected ${showShape(shape)})`);
    flat.set(name, x);
  }
  const extra = Object.keys(json).filter((k) => !want.some((w) => w[0] === k));
  if (extra.length) throw new ShapeError(`${field}: unknown parameter(s) ${extra.map((e) => `'${e}'`).join(', ')} for the ${model.kind} model`);
  return nestPaths(flat);
}

/** The model of a case as a pure function of (params, x). */
export function modelFn(model: ModelJSON): (p: unknown, x: Tensor) => Tensor {
  switch (model.kind) {
    case 'mlp':
      return (p, x) => mlpApply(model, p as MlpParams, x);
    case 'polynomial':
      return (p, x) => polynomialApply(p as PolynomialParams, x);
    case 'lenet':
      return (p, x) => lenetApply(model, p as LenetParams, x);
  }
}

/** The loss of a case as a function of (model output, targets). */
export function lossFn(name: 'nll' | 'mse' | 'sum'): (out: Tensor, y: Tensor) => Tensor {
  switch (name) {
    case 'nll':
      return (out, y) => nll(out, y as Tensor<'int32'>);
    case 'mse':
      return (out, y) => mse(out, y);
    case 'sum':
      return (out) => sumLoss(out);
  }
}

/** The number of outputs per example of a model description (the classes, for nll). */
export function outputSize(model: ModelJSON): number {
  switch (model.kind) {
    case 'mlp':
      return model.sizes[model.sizes.length - 1]!;
    case 'polynomial':
      return 1;
    case 'lenet':
      return model.fc[model.fc.length - 1]!;
  }
}

/**
 * Decodes a batch {x, y}: y is int32 labels for nll, else float of the case dtype. nll labels
 * must be integers in [0, classes) of the model's output; any other is refused, naming it.
 */
export function batchFromJSON(b: { x: TensorJSON; y: TensorJSON }, model: ModelJSON, loss: 'nll' | 'mse' | 'sum', dtype: FloatDType, where: string): { x: Tensor; y: Tensor } {
  if (loss === 'nll') {
    const classes = outputSize(model);
    const bad = b.y.data.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= classes);
    if (bad >= 0)
      throw new ShapeError(`${where}.y.data[${bad}]: label ${b.y.data[bad]} is not a class of the ${model.kind} model's ${classes} outputs (nll labels are integers in [0, ${classes}))`);
  }
  return { x: tensorFromJSON(b.x, dtype, `${where}.x`), y: tensorFromJSON(b.y, loss === 'nll' ? 'int32' : dtype, `${where}.y`) };
}
