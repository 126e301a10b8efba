import { ShapeError } from './errors.js';
import { Tensor } from './tensor.js';

/**
 * Trees of tensors (JAX's pytrees): tensors at the leaves, arrays and plain records as nodes.
 * Other values (numbers, strings, booleans, null, undefined) are static: part of the structure.
 */
export type Tree = Tensor | readonly Tree[] | { readonly [k: string]: Tree } | number | string | boolean | null | undefined;

/** The structure of a tree without its tensors. */
export type TreeDef =
  | { readonly kind: 'leaf' }
  | { readonly kind: 'static'; readonly value: unknown }
  | { readonly kind: 'array'; readonly children: readonly TreeDef[] }
  | { readonly kind: 'record'; readonly keys: readonly string[]; readonly children: readonly TreeDef[] };

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Tensor) && Object.getPrototypeOf(x) === Object.prototype;

/** Leaves (tensors, in depth-first key order) and the structure to rebuild the tree. */
export function flatten(t: unknown): { leaves: Tensor[]; def: TreeDef } {
  const leaves: Tensor[] = [];
  const go = (x: unknown): TreeDef => {
    if (x instanceof Tensor) {
      leaves.push(x);
      return { kind: 'leaf' };
    }
    if (Array.isArray(x)) return { kind: 'array', children: x.map(go) };
    if (isRecord(x)) {
      const keys = Object.keys(x);
      return { kind: 'record', keys, children: keys.map((k) => go(x[k])) };
    }
    if (x === null || x === undefined || ['number', 'string', 'boolean'].includes(typeof x)) return { kind: 'static', value: x };
    throw new TypeError(`tree: unsupported node ${Object.prototype.toString.call(x)} (expected a Tensor, an array or a plain record)`);
  };
  const def = go(t);
  return { leaves, def };
}

/** Rebuilds a tree from its structure and leaves. */
export function unflatten<T = Tree>(def: TreeDef, leaves: readonly unknown[]): T {
  let i = 0;
  const go = (d: TreeDef): unknown => {
    switch (d.kind) {
      case 'leaf':
        if (i >= leaves.length) throw new ShapeError(`tree.unflatten: too few leaves (${leaves.length})`);
        return leaves[i++];
      case 'static':
        return d.value;
      case 'array':
        return d.children.map(go);
      case 'record':
        return Object.fromEntries(d.keys.map((k, j) => [k, go(d.children[j]!)]));
    }
  };
  const out = go(def);
  if (i !== leaves.length) throw new ShapeError(`tree.unflatten: ${leaves.length} leaves for a structure of ${i}`);
  return out as T;
}

/** Number of tensor leaves in a structure. */
export const numLeaves = (d: TreeDef): number =>
  d.kind === 'leaf' ? 1 : d.kind === 'static' ? 0 : d.children.reduce((n, c) => n + numLeaves(c), 0);

/** Structural equality of two tree definitions. */
export function sameDef(a: TreeDef, b: TreeDef): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'leaf') return true;
  if (a.kind === 'static') return Object.is(a.value, (b as typeof a).value);
  const bc = b as typeof a;
  if (a.children.length !== bc.children.length) return false;
  if (a.kind === 'record' && a.keys.some((k, i) => k !== (bc as typeof a).keys[i])) return false;
  return a.children.every((c, i) => sameDef(c, bc.children[i]!));
}

/** Renders a structure for error messages. */
export function showDef(d: TreeDef): string {
  switch (d.kind) {
    case 'leaf':
      return '*';
    case 'static':
      return JSON.stringify(d.value) ?? 'undefined';
    case 'array':
      return `[${d.children.map(showDef).join(', ')}]`;
    case 'record':
      return `{${d.keys.map((k, i) => `${k}: ${showDef(d.children[i]!)}`).join(', ')}}`;
  }
}

/** Leaves with their path names (`layers.0.weight`), in flatten order. */
export function leavesWithPaths(t: unknown): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  const go = (x: unknown, path: string) => {
    if (x instanceof Tensor) out.push([path, x]);
    else if (Array.isArray(x)) x.forEach((c, i) => go(c, path ? `${path}.${i}` : String(i)));
    else if (isRecord(x)) for (const k of Object.keys(x)) go(x[k], path ? `${path}.${k}` : k);
  };
  go(t, '');
  return out;
}
