import { elementwiseExpr, HELPERS } from '../backends/webgpu/elementwise.js';
import { combine, FEW_OUTPUTS, LONG, workgroupTree } from '../backends/webgpu/reduce.js';
import { bindings, coalesce, grid1D, main1D, WG, wgslType, type WgslType } from '../backends/webgpu/wgsl.js';
import type { LoopSpec, Ref } from './codegen.js';

/**
 * WGSL source for a fused loop: the GPU counterpart of codegen.ts, generated from the same
 * {@link LoopSpec}. One invocation per output element decodes its index (shapes and strides are
 * baked into the source: a jitted program has static shapes, and constant divisors are cheap),
 * loads each strided read, computes every member in registers with the expressions of the eager
 * elementwise kernels ({@link elementwiseExpr}), and stores the result once. A reduction loops over
 * its reduced (innermost) axes in the invocation, or, for few outputs over long reductions, in a
 * workgroup per output with a tree in workgroup memory, as the eager reduction kernel does.
 *
 * Float32 values are those of eager webgpu execution (registers are f32, as stored intermediates
 * are), except that a fused sum adds in its own order (within float rounding).
 */

/** A generated fused kernel: its WGSL and its launch grid. */
export interface FusedKernel {
  readonly source: string;
  readonly grid: readonly [number, number, number];
}

/** The WGSL identity of a reduction (the value of an empty one: ∓∞ for float max/min, as the CPU; 0 for ints). */
function initial(kind: 'sum' | 'max' | 'min', t: WgslType, empty: boolean): string {
  if (kind === 'sum' || (empty && t !== 'f32')) return t === 'f32' ? '0.0' : `0${t === 'i32' ? 'i' : 'u'}`;
  if (t === 'f32') return kind === 'max' ? '-inf_()' : 'inf_()';
  if (t === 'i32') return kind === 'max' ? '(-2147483647i - 1i)' : '2147483647i';
  return kind === 'max' ? '0u' : '4294967295u';
}

/**
 * Lines declaring `${name}${r}`, the position of read r at the flat index `idx` over `shape`
 * (row-major), starting from `base[r]`; returns the lines and the new position expressions.
 */
function positions(idx: string, shape: readonly number[], strides: readonly (readonly number[])[], base: readonly string[], name: string): { lines: string[]; pos: string[] } {
  const lines: string[] = [];
  const coord: string[] = [];
  const n = shape.length;
  if (n === 1) coord.push(idx);
  else if (n > 1) {
    lines.push(`var rem_${name} = ${idx};`);
    for (let d = n - 1; d > 0; d--) {
      lines.push(`let c_${name}${d} = rem_${name} % ${shape[d]}u;`, `rem_${name} = rem_${name} / ${shape[d]}u;`);
      coord[d] = `c_${name}${d}`;
    }
    coord[0] = `rem_${name}`;
  }
  const pos = strides.map((s, r) => {
    const terms = s.flatMap((st, d) => (st === 0 ? [] : [st === 1 ? coord[d]! : `${coord[d]} * ${st}u`]));
    if (terms.length === 0) return base[r]!;
    lines.push(`let ${name}${r} = ${base[r] === '0u' ? '' : `${base[r]} + `}${terms.join(' + ')};`);
    return `${name}${r}`;
  });
  return { lines, pos };
}

/** Where a read of a fused kernel comes from: an input binding, or a literal (a uniform constant). */
export type FusedRead = { readonly binding: number } | { readonly literal: string; readonly type: WgslType };

/**
 * The fused kernel of `spec` (which must not use `accumulate`): read r loads from the input binding
 * or is the literal `reads[r]` names; input binding k holds elements of type `types[k]`.
 */
export function fusedKernel(spec: LoopSpec, reads: readonly FusedRead[], types: readonly WgslType[]): FusedKernel {
  if (spec.accumulate) throw new Error('jit: a fused WebGPU kernel reduces with its reduced axes innermost (no accumulate)');
  const nOuter = spec.nOuter;
  const outer = coalesce(spec.shape.slice(0, nOuter), spec.reads.map((r) => r.strides.slice(0, nOuter)));
  const red = coalesce(spec.shape.slice(nOuter), spec.reads.map((r) => r.strides.slice(nOuter)));
  const nOut = outer.shape.reduce((a, b) => a * b, 1);
  const inner = red.shape.reduce((a, b) => a * b, 1);
  const outType = wgslType(spec.outDtype, 'jit');
  const name = (r: Ref) => (r.kind === 'read' ? `r${r.index}` : `t${r.index}`);
  const head = bindings(outType, types, false);

  const outerPos = positions('i', outer.shape, outer.strides, spec.reads.map((r) => `${r.offset}u`), 'o');
  /** Loads and operations at the positions `pos`, ending with the value `v` of the loop body. */
  const compute = (pos: readonly string[]): string[] => [
    ...reads.map((src, r) => `let r${r} = ${'binding' in src ? `x${src.binding}[${pos[r]}]` : src.literal};`),
    ...spec.ops.map((op, k) => `let t${k} = ${elementwiseExpr(op.expr, op.argDtypes, op.args.map(name))};`),
    `let v = ${name(spec.result)};`,
  ];
  const indent = (lines: readonly string[], by: string) => lines.map((l) => by + l).join('\n');

  if (!spec.reduce) {
    const body = indent([...outerPos.lines, ...compute(outerPos.pos), 'out[i] = v;'], '  ');
    return { source: `${head}\n${main1D(body, HELPERS, nOut)}`, grid: grid1D(nOut) };
  }

  const kind = spec.reduce;
  const t = outType;
  const step = (j: string): string[] => {
    const innerPos = positions(j, red.shape, red.strides, outerPos.pos, 'q');
    return [...innerPos.lines, ...compute(innerPos.pos), `acc = ${combine(kind, t, 'acc', 'v')};`];
  };
  const init = initial(kind, t, inner === 0);
  if (inner >= LONG && nOut <= FEW_OUTPUTS) {
    // one workgroup per output: its invocations stride over the reduction, then a tree
    const source = `${head}
${HELPERS}
var<workgroup> part: array<${t}, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wid.y * nwg.x + wid.x;
  let valid = i < ${nOut}u;
  var acc: ${t} = ${init};
  if (valid) {
${indent(outerPos.lines, '    ')}
    for (var j = lid; j < ${inner}u; j += ${WG}u) {
${indent(step('j'), '      ')}
    }
  }
${workgroupTree(kind, t, 'i')}
}`;
    return { source, grid: grid1D(nOut * WG) };
  }
  const body = indent(
    [...outerPos.lines, `var acc: ${t} = ${init};`, `for (var j = 0u; j < ${inner}u; j++) {`, ...step('j').map((l) => `  ${l}`), '}', 'out[i] = acc;'],
    '  ',
  );
  return { source: `${head}\n${main1D(body, HELPERS, nOut)}`, grid: grid1D(nOut) };
}
