/**
 * `tree`: functions over trees of tensors (records and arrays with tensors at the leaves, JAX's
 * pytrees). Structure: {@link map}, {@link zip}, {@link leaves}, {@link paths}, {@link structure},
 * {@link flatten}/{@link unflatten}, {@link checkSameStructure}. Arithmetic: {@link add},
 * {@link sub}, {@link scale}, {@link vdot}, {@link norm}, {@link zerosLike}, {@link onesLike},
 * {@link cast}.
 *
 *     const next = tree.sub(params, tree.scale(grad(loss)(params, x, y), 0.1));
 */
export {
  flatten,
  unflatten,
  leavesWithPaths,
  numLeaves,
  sameDef as sameStructure,
  showDef as showStructure,
  map,
  zip,
  leaves,
  paths,
  structure,
  checkSameStructure,
  firstDifference,
  type CompareOptions,
  type Tree,
  type TreeDef,
} from '../core/tree.js';
export { add, sub, scale, vdot, norm, zerosLike, onesLike, cast, type CastTree } from './math.js';
