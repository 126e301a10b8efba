import * as t from 'io-ts';
import { decodeOrThrow, parseOrThrow } from '../core/decode.js';
import { ShapeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { leavesWithPaths } from '../core/tree.js';

/**
 * Partitions of a parameter tree into S groups (Wolinski 2023, §2): group s is a list of members,
 * each a whole tensor (its path name, `layers.0.weight`) or chosen elements of one tensor (flat
 * row-major indices). Every scalar parameter belongs to exactly one group.
 */

/** A whole tensor by path name, or selected flat row-major elements of one. */
export type Member = string | { readonly name: string; readonly index: readonly number[] };
/** A partition: the groups in order (group s is row/column s of H̄). */
export type Partition = readonly (readonly Member[])[];

/** How one parameter tensor is split among groups. */
export type LeafGroups =
  | { readonly path: string; readonly kind: 'whole'; readonly group: number }
  | { readonly path: string; readonly kind: 'split'; readonly groupOf: Int32Array };

/** A partition checked against a parameter tree: per leaf (in flatten order), its groups. */
export interface CompiledPartition {
  readonly size: number;
  readonly leaves: readonly LeafGroups[];
  readonly partition: Partition;
}

const memberName = (m: Member): string => (typeof m === 'string' ? m : m.name);

/**
 * Checks `partition` against `params` and resolves every element's group. Rejects, naming the
 * culprit: unknown parameter names, out-of-range or repeated indices, elements in two groups,
 * elements in no group, and empty groups.
 */
export function compilePartition(partition: Partition, params: unknown): CompiledPartition {
  const leaves = leavesWithPaths(params);
  const byName = new Map<string, { tensor: Tensor; pos: number }>(leaves.map(([p, t], i) => [p, { tensor: t, pos: i }]));
  // per leaf: the group of a whole-tensor member that owns all of it (-1: none), else the group of
  // each element (-1: none yet), made only when a leaf is split or named twice — a partition of
  // whole tensors (canonical, wb, …) is checked without one index per element
  const whole: number[] = leaves.map(() => -1);
  const owner: (Int32Array | null)[] = leaves.map(() => null);
  const known = [...byName.keys()];
  const claimed = (name: string, s: number, i: number, g: number) =>
    new ShapeError(g === s ? `partition: element ${i} of '${name}' is repeated in group ${s}` : `partition: element ${i} of '${name}' is in group ${g} and again in group ${s}`);
  partition.forEach((group, s) => {
    if (group.length === 0) throw new ShapeError(`partition: group ${s} is empty`);
    for (const m of group) {
      const name = memberName(m);
      const leaf = byName.get(name);
      if (!leaf) throw new ShapeError(`partition: group ${s} names unknown parameter '${name}' (parameters: ${known.join(', ')})`);
      const n = leaf.tensor.size;
      const pos = leaf.pos;
      if (typeof m === 'string' && owner[pos] === null) {
        if (whole[pos]! >= 0 && n > 0) throw claimed(name, s, 0, whole[pos]!);
        whole[pos] = s;
        continue;
      }
      let own = owner[pos];
      if (!own) {
        own = new Int32Array(n).fill(whole[pos]!);
        owner[pos] = own;
        whole[pos] = -1;
      }
      if (typeof m === 'string') {
        const taken = own.findIndex((g) => g !== -1);
        if (taken >= 0) throw claimed(name, s, taken, own[taken]!);
        own.fill(s);
        continue;
      }
      for (const i of m.index) {
        if (!Number.isInteger(i) || i < 0 || i >= n)
          throw new ShapeError(`partition: group ${s} selects element ${i} of '${name}', which has ${n} elements`);
        if (own[i] !== -1) throw claimed(name, s, i, own[i]!);
        own[i] = s;
      }
    }
  });
  const out: LeafGroups[] = leaves.map(([path, t], pos) => {
    if (whole[pos]! >= 0) return { path, kind: 'whole', group: whole[pos]! };
    const own = owner[pos];
    if (!own) throw new ShapeError(`partition: parameter '${path}' (${t.size} elements) belongs to no group`);
    const missing = own.indexOf(-1);
    if (missing >= 0) throw new ShapeError(`partition: element ${missing} of '${path}' belongs to no group`);
    const g0 = own[0]!;
    return own.every((g) => g === g0) ? { path, kind: 'whole', group: g0 } : { path, kind: 'split', groupOf: own };
  });
  return { size: partition.length, leaves: out, partition };
}

/** What a compiled partition depends on in the parameters: every leaf's path and shape, in order. */
const structureKey = (params: unknown): string => JSON.stringify(leavesWithPaths(params).map(([p, t]) => [p, t.shape]));

/** Compiled partitions by partition (identity) and parameter structure. */
const compiledByPartition = new WeakMap<Partition, Map<string, CompiledPartition>>();

/**
 * {@link compilePartition}, memoised: a partition (by identity; partitions are immutable) is
 * checked and resolved once per parameter structure — the leaves' paths and shapes, not their
 * values — so a training loop whose parameters are new objects every step compiles it once.
 */
export function compilePartitionCached(partition: Partition, params: unknown): CompiledPartition {
  let byStructure = compiledByPartition.get(partition);
  if (!byStructure) compiledByPartition.set(partition, (byStructure = new Map()));
  const key = structureKey(params);
  let cp = byStructure.get(key);
  if (!cp) byStructure.set(key, (cp = compilePartition(partition, params)));
  return cp;
}

/**
 * A compiler for a partition or a partition builder (such as {@link canonical}): the returned
 * function gives the compiled partition for any parameters, building and compiling it once per
 * parameter structure (the leaves' paths and shapes). A builder is therefore called once per
 * structure, and must depend on the parameters only through their names and shapes, as every
 * builder here does.
 */
export function partitionCompiler(partition: Partition | ((params: unknown) => Partition)): (params: unknown) => CompiledPartition {
  if (typeof partition !== 'function') return (params) => compilePartitionCached(partition, params);
  const byStructure = new Map<string, CompiledPartition>();
  return (params) => {
    const key = structureKey(params);
    let cp = byStructure.get(key);
    if (!cp) byStructure.set(key, (cp = compilePartition(partition(params), params)));
    return cp;
  };
}

const names = (params: unknown): string[] => leavesWithPaths(params).map(([p]) => p);

/** One group per tensor, in parameter order (grnewt's canonical partition). */
export const canonical = (params: unknown): Partition => names(params).map((n) => [n]);

/** A single group holding every parameter (Cauchy steepest descent with an exact step). */
export const trivial = (params: unknown): Partition => [names(params)];

/**
 * Groups by name suffix: with the default suffixes, all weights, then all biases, then the rest
 * (grnewt's `wb`). Empty groups are dropped.
 */
export function byName(params: unknown, suffixes: readonly string[] = ['weight', 'bias']): Partition {
  const groups: string[][] = suffixes.map(() => []);
  const rest: string[] = [];
  for (const n of names(params)) {
    const last = n.split('.').pop()!;
    const k = suffixes.indexOf(last);
    (k >= 0 ? groups[k]! : rest).push(n);
  }
  return [...groups, rest].filter((g) => g.length > 0);
}

/**
 * Consecutive layers in `k` blocks, weights and biases apart: the tensors are grouped by their
 * layer prefix (the path without its last segment), the layers cut into k contiguous blocks of
 * near-equal length, and inside each block weights and biases form two groups.
 */
export function blocks(params: unknown, k: number): Partition {
  if (!Number.isInteger(k) || k < 1) throw new ShapeError(`partition.blocks: k must be a positive integer, got ${k}`);
  const layers: string[][] = [];
  const prefixOf = (n: string) => n.split('.').slice(0, -1).join('.');
  for (const n of names(params)) {
    const last = layers[layers.length - 1];
    if (last && prefixOf(last[0]!) === prefixOf(n)) last.push(n);
    else layers.push([n]);
  }
  if (k > layers.length) throw new ShapeError(`partition.blocks: ${k} blocks for ${layers.length} layers`);
  const out: string[][] = [];
  for (let b = 0; b < k; b++) {
    const lo = Math.floor((b * layers.length) / k);
    const hi = Math.floor(((b + 1) * layers.length) / k);
    const members = layers.slice(lo, hi).flat();
    const w = members.filter((n) => !n.endsWith('bias'));
    const bias = members.filter((n) => n.endsWith('bias'));
    if (w.length) out.push(w);
    if (bias.length) out.push(bias);
  }
  return out;
}

/** Every scalar parameter its own group (Newton's method on all parameters). */
export function finest(params: unknown): Partition {
  return leavesWithPaths(params).flatMap(([n, t]): Member[][] =>
    t.size === 1 ? [[n]] : Array.from({ length: t.size }, (_, i) => [{ name: n, index: [i] }]),
  );
}

/**
 * Coarsens a partition: `map[s]` is the new group of old group s (new groups numbered 0..S'−1, each
 * used). Equivalent to the 0/1 matrix A with A[s, map[s]] = 1.
 */
export function merge(partition: Partition, map: readonly number[]): Partition {
  if (map.length !== partition.length)
    throw new ShapeError(`partition.merge: map has ${map.length} entries for ${partition.length} groups`);
  const s2 = Math.max(-1, ...map) + 1;
  const out: Member[][] = Array.from({ length: s2 }, () => []);
  map.forEach((t, s) => {
    if (!Number.isInteger(t) || t < 0) throw new ShapeError(`partition.merge: map[${s}] = ${t} is not a group number`);
    out[t]!.push(...partition[s]!);
  });
  out.forEach((g, t) => {
    if (g.length === 0) throw new ShapeError(`partition.merge: new group ${t} receives no old group`);
  });
  return out;
}

/** Builds a named partition: 'canonical', 'trivial', 'wb', 'finest' or 'blocks:K'. */
export function named(name: string, params: unknown): Partition {
  if (name === 'canonical') return canonical(params);
  if (name === 'trivial') return trivial(params);
  if (name === 'wb') return byName(params);
  if (name === 'finest') return finest(params);
  const m = /^blocks:(\d+)$/.exec(name);
  if (m) return blocks(params, Number(m[1]));
  throw new ShapeError(`partition: unknown partition name '${name}' (expected canonical, trivial, wb, finest or blocks:K)`);
}

/** io-ts codec of a partition in JSON: `[[member, …], …]`, a member a name or `{name, index}`. */
export const PartitionJSON = t.array(t.array(t.union([t.string, t.type({ name: t.string, index: t.array(t.number) })])), 'Partition');

/**
 * A custom partition from JSON (text or parsed), decoded with io-ts and checked against `params`:
 * a malformed field is named by its path, and a partition that misses an element, repeats one or
 * names an unknown parameter is rejected by {@link compilePartition}.
 *
 *     partition.fromJSON('[["layers.0.weight", "layers.1.weight"], ["layers.0.bias", "layers.1.bias"]]', params)
 */
export function fromJSON(json: string | unknown, params: unknown): Partition {
  const p = typeof json === 'string' ? parseOrThrow(PartitionJSON, json, 'partition') : decodeOrThrow(PartitionJSON, json, 'partition');
  compilePartition(p, params);
  return p;
}
