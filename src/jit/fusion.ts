import { type Shape, shapeEq, type Strided, stridesOf } from '../core/shape.js';
import type { Eqn, Jaxpr, Var } from '../interp/stage.js';

/**
 * Fusion planning over a staged program (no code is generated here; see codegen.ts).
 *
 * A *group* becomes one generated loop: a root equation (elementwise, or a reduction) and the
 * producers it absorbs. An elementwise producer is absorbed when every use of its output is by an
 * elementwise member of the group (or the reducing root) and it is not a program output: its value
 * then lives in a register for one iteration and is never stored. A structural producer
 * (broadcast_in_dim, transpose, slice, reshape, stop_gradient) is absorbed as a *view*: the loop reads the view's
 * source with strides instead of materialising the moved elements. Each primitive's record says
 * which role it can play (its `fusion`), with the scalar expression of an elementwise one and the
 * strided map of a view. Each absorbed producer's
 * consumers all sit in the group, so a group is convex and runs at its root's position.
 *
 * The matmul + elementwise epilogue (x·W + b, then tanh) needs nothing special: the epilogue is an
 * ordinary group that reads the matmul output at its own index, and buffer planning (program.ts)
 * lets it write its result over that dying buffer, in place.
 *
 * With `stores` (host loops), an elementwise producer of the group's shape whose value is also
 * needed elsewhere — a program output, or an input of equations that run after the group's root —
 * is computed in the loop too and *stored* as a second output (a multi-output loop): Adam's
 * μ' = b₁μ + (1 − b₁)g, ν' = b₂ν + (1 − b₂)g² and θ' = θ − lr·μ̂/(√ν̂ + ε), all three outputs of a
 * step, are one pass over each parameter instead of three.
 */

/** How the loop of a group treats each equation kind. */
export type EqnKind = 'elementwise' | 'view' | 'reduce' | 'other';

/** The role an equation can play in a loop: its primitive's fusion role. */
export function eqnKind(e: Eqn): EqnKind {
  const role = e.prim.fusion.role;
  return role === 'none' ? 'other' : role;
}

/** Whether a view equation keeps a contiguous source contiguous (reshape, stop_gradient: a reshape may sit on it). */
export const keepsContiguous = (e: Eqn): boolean => e.prim.fusion.role === 'view' && e.prim.fusion.contiguity !== 'moves';

/** A fusion group: which equations one generated loop computes. Indices are equation positions. */
export interface Group {
  readonly root: number;
  /** Elementwise equations computed in registers (the root too when it is elementwise), in program order. */
  readonly members: readonly number[];
  /** Structural equations absorbed as strided reads, in program order (a view may serve several groups). */
  readonly views: readonly number[];
  /** Members whose value is also stored (second outputs of the loop, in program order). */
  readonly stores: readonly number[];
  /** The reduction of the root, if it is one: what it computes and over which axes of its input. */
  readonly reduce: null | { readonly kind: 'sum' | 'max' | 'min'; readonly axes: readonly number[] };
  /** The loop's index space: the root's output shape, or the reduced input's shape. */
  readonly shape: Shape;
}

/** Def/use structure of a program. */
export interface Uses {
  /** Equation defining each variable id (−1 for inputs and constants). */
  readonly producer: Int32Array;
  /** Equations using each variable id (each at most once). */
  readonly users: readonly (readonly number[])[];
  /** Variable ids the program returns. */
  readonly outputs: ReadonlySet<number>;
}

/** Producers, users and outputs of every variable of `j`. */
export function usesOf(j: Jaxpr): Uses {
  const producer = new Int32Array(j.nVars).fill(-1);
  const users: number[][] = Array.from({ length: j.nVars }, () => []);
  j.equations.forEach((e, k) => {
    for (const o of e.outputs) producer[o.id] = k;
    for (const v of e.inputs) {
      const u = users[v.id]!;
      if (u[u.length - 1] !== k) u.push(k);
    }
  });
  return { producer, users, outputs: new Set(j.outputs.map((v) => v.id)) };
}

/** The fusion plan of a program. */
export interface FusionPlan {
  readonly groups: readonly Group[];
  /** Per equation: the group whose loop computes it (roots and members), else −1. */
  readonly groupOf: Int32Array;
  /** Per equation: true for a view equation that still runs (some consumer needs its value stored). */
  readonly materialize: readonly boolean[];
}

/**
 * Groups the equations of `j` for fused loops, greedily from the last equation backwards (so every
 * consumer is placed before its producers are considered), then decides which absorbed views must
 * still be materialised for consumers outside the groups that read through them.
 */
export function planFusion(j: Jaxpr, uses: Uses = usesOf(j), opts: { readonly stores?: boolean } = {}): FusionPlan {
  const eqns = j.equations;
  const kinds = eqns.map(eqnKind);
  const groupOf = new Int32Array(eqns.length).fill(-1);
  const groups: Group[] = [];
  const viewSets: Set<number>[] = [];
  for (let k = eqns.length - 1; k >= 0; k--) {
    if (groupOf[k] !== -1 || (kinds[k] !== 'elementwise' && kinds[k] !== 'reduce')) continue;
    const gid = groups.length;
    const root = eqns[k]!;
    const isReduce = kinds[k] === 'reduce';
    const shape = isReduce ? root.inputs[0]!.aval.shape : root.outputs[0]!.aval.shape;
    const members = new Set<number>(isReduce ? [] : [k]);
    const stores = new Set<number>();
    const views = new Set<number>();
    groupOf[k] = gid;
    for (let changed = true; changed; ) {
      changed = false;
      for (const m of [k, ...members, ...views]) {
        for (const v of eqns[m]!.inputs) {
          const p = uses.producer[v.id]!;
          if (p < 0) continue;
          const us = uses.users[v.id]!;
          if (kinds[p] === 'elementwise') {
            if (groupOf[p] !== -1 || !shapeEq(eqns[p]!.outputs[0]!.aval.shape, shape)) continue;
            // stays in a register: every consumer is a member reading it at the loop index
            const inside = !uses.outputs.has(v.id) && us.every((u) => members.has(u) || u === k);
            // or is computed here and stored too: every other consumer runs after the root (so
            // after this loop), and none reads it through a view of this group
            const stored = !inside && opts.stores === true && !isReduce && us.every((u) => members.has(u) || u >= k);
            if (!inside && !stored) continue;
            members.add(p);
            if (stored) stores.add(p);
            groupOf[p] = gid;
          } else if (kinds[p] === 'view') {
            if (views.has(p)) continue;
            views.add(p);
          } else continue;
          changed = true;
        }
      }
    }
    // a reshape composes with a strided view only when its source is contiguous: an absorbed
    // reshape whose absorbed source chain moves elements is read stored instead
    for (const r of [...views]) {
      const f = eqns[r]!.prim.fusion;
      if (f.role !== 'view' || f.contiguity !== 'needs') continue;
      for (let q = uses.producer[eqns[r]!.inputs[0]!.id]!; q >= 0 && views.has(q); q = uses.producer[eqns[q]!.inputs[0]!.id]!) {
        if (!keepsContiguous(eqns[q]!)) {
          views.delete(r);
          break;
        }
      }
    }
    const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
    viewSets.push(views);
    groups.push({
      root: k,
      members: sorted(members),
      stores: sorted(stores),
      views: sorted(views),
      reduce: root.prim.fusion.role === 'reduce' ? { kind: root.prim.fusion.monoid, axes: (root.params as { axes: readonly number[] }).axes } : null,
      shape,
    });
  }
  // a view runs when its value is a program output, or a consumer reads it stored: a backend
  // kernel, a materialised view, a group that did not absorb it, or a group that absorbed one of
  // its consumer views but not it (the reshape rule above)
  const viewGroups = eqns.map((): number[] => []);
  viewSets.forEach((vs, g) => vs.forEach((w) => viewGroups[w]!.push(g)));
  const materialize = eqns.map(() => false);
  for (let k = eqns.length - 1; k >= 0; k--) {
    if (kinds[k] !== 'view') continue;
    const out = eqns[k]!.outputs[0]!.id;
    materialize[k] =
      uses.outputs.has(out) ||
      uses.users[out]!.some((u) => {
        if (kinds[u] === 'view') return materialize[u]! || viewGroups[u]!.some((g) => !viewSets[g]!.has(k));
        const g = groupOf[u]!;
        return g < 0 || !viewSets[g]!.has(k);
      });
  }
  return { groups, groupOf, materialize };
}

/** A strided read of a program variable (see {@link Strided}). */
export interface View extends Strided {
  readonly src: Var;
}

/** The contiguous view of a materialised variable. */
export const identityView = (v: Var): View => ({ src: v, shape: v.aval.shape, strides: stridesOf(v.aval.shape), offset: 0 });

/** Applies one structural equation to a view of its input, by its primitive's strided map. */
export function applyView(e: Eqn, x: View): View {
  const f = e.prim.fusion;
  if (f.role !== 'view') throw new Error(`jit: ${e.prim.name} is not a view`);
  return { ...f.strided(x, e.params), src: x.src };
}
