import type { Tensor } from '../core/tensor.js';
import { getBackend } from '../backends/registry.js';
import { toInput } from '../backends/webgpu/backend.js';
import { GpuTensor, uniformValueOf } from '../backends/webgpu/gpu-tensor.js';
import { launch } from '../backends/webgpu/kernel.js';
import { runtime } from '../backends/webgpu/runtime.js';
import { MAX_INPUTS, wgslType } from '../backends/webgpu/wgsl.js';
import type { Jaxpr, Var } from '../interp/stage.js';
import { eqnKind, planFusion, usesOf } from './fusion.js';
import { describe, groupLoop, planFrees, type Program, type ProgramStats, type Step, uniformHostValue } from './program.js';
import { wgslLiteral } from '../backends/webgpu/elementwise.js';
import { type FusedRead, fusedKernel } from './wgsl-codegen.js';

/**
 * A staged program compiled for the webgpu backend. The fusion plan is the host's (fusion.ts):
 * each group (an elementwise chain with the broadcasts, transposes and slices feeding it, a
 * reduction with the chain feeding it, the elementwise epilogue of a matmul) becomes one generated
 * WGSL kernel (wgsl-codegen.ts), compiled once and cached by its source; every other equation,
 * and each view some consumer needs stored, runs as the backend's kernel. Nothing goes through the
 * host: tensors stay in GPU buffers, kernels are recorded into the backend's command queue, and
 * buffers return to the pool when their tensors are collected, as in eager execution.
 *
 * Constants known to hold one value (host constants, and GPU broadcasts of a host scalar: the 0.5
 * of `mul(x, 0.5)`) are literals in the kernels' source, not buffers they read.
 *
 * A group whose inputs need more than {@link MAX_INPUTS} storage buffers runs unfused, one kernel
 * per equation. Donation is ignored (the pool recycles buffers anyway); a matmul's epilogue is a
 * second kernel reading the matmul output (WebGPU forbids binding one buffer for reading and
 * writing in one dispatch, so it cannot write in place).
 */
export function compileWebGPUProgram(j: Jaxpr): Program {
  const backend = getBackend('webgpu');
  const uses = usesOf(j);
  const plan = planFusion(j, uses);
  // constants holding one value everywhere are literals of the kernels (read with stride 0, never bound)
  const literal = new Map<number, number>();
  for (const c of j.consts) {
    const v = c.value instanceof GpuTensor ? uniformValueOf(c.value) : uniformHostValue(c.value, 1);
    if (v !== undefined) literal.set(c.v.id, v);
  }
  const uniform = new Set(literal.keys());
  const eqns = j.equations;
  /** The kernel of each fused group, by its root; equations of groups too wide to fuse run eagerly. */
  const fused = new Map<number, Step>();
  const unfused = new Set<number>();
  for (const g of plan.groups) {
    const { spec, readVars, readViews, covers } = groupLoop(j, g, uses.producer, uniform, false);
    const sources = new Map<number, Var>(readViews.filter((v) => !literal.has(v.src.id)).map((v) => [v.src.id, v.src]));
    if (sources.size > MAX_INPUTS) {
      for (const k of [...g.views, ...g.members, g.root]) unfused.add(k);
      continue;
    }
    const binds = [...sources.keys()];
    const types = [...sources.values()].map((v) => wgslType(v.aval.dtype, 'jit'));
    const reads = readVars.map((id, r): FusedRead => {
      const value = literal.get(id);
      if (value === undefined) return { binding: binds.indexOf(id) };
      const type = wgslType(readViews[r]!.src.aval.dtype, 'jit');
      return { literal: wgslLiteral(value, type), type };
    });
    const { source, grid } = fusedKernel(spec, reads, types);
    fused.set(g.root, { kind: 'gpu', source, grid, reads: binds, out: eqns[g.root]!.outputs[0]!, covers, free: [] });
  }
  const steps: Step[] = [];
  eqns.forEach((e, k) => {
    if (!unfused.has(k)) {
      if (plan.groupOf[k]! >= 0) {
        const s = fused.get(k);
        if (s) steps.push(s);
        return;
      }
      if (eqnKind(e) === 'view' && !plan.materialize[k]) return;
    }
    steps.push({ kind: 'kernel', eqn: e, outAvals: e.outputs.map((v) => v.aval), free: [] });
  });
  planFrees(j, steps);
  const gpu = steps.filter((s): s is Extract<Step, { kind: 'gpu' }> => s.kind === 'gpu');
  const stats: ProgramStats = {
    equations: eqns.length,
    elementwise: eqns.filter((e) => eqnKind(e) === 'elementwise').length,
    loops: gpu.length,
    fusedLoops: gpu.filter((s) => s.covers.length >= 2).length,
    fusedEquations: gpu.reduce((n, s) => n + s.covers.length, 0),
    kernels: steps.length - gpu.length,
    copies: 0,
    aliases: 0,
    layouts: 0,
    dispatches: 0,
    inPlaceLoops: 0,
  };

  const runTensors = (inputs: readonly Tensor[]): Tensor[] => {
    if (inputs.length !== j.inputs.length) throw new Error(`jit: program of ${j.inputs.length} inputs called with ${inputs.length} tensors`);
    const env = new Array<Tensor | undefined>(j.nVars);
    j.inputs.forEach((v, i) => (env[v.id] = inputs[i]));
    for (const c of j.consts) env[c.v.id] = c.value;
    for (const s of steps) {
      if (s.kind === 'kernel') {
        const outs = backend.run!(s.eqn.prim, s.eqn.inputs.map((v) => env[v.id]!), s.eqn.params, s.outAvals);
        s.eqn.outputs.forEach((v, i) => (env[v.id] = outs[i]));
      } else if (s.kind === 'gpu') {
        const rt = runtime('jit');
        const bound = s.reads.map((id) => toInput(env[id]!, 'jit').storage);
        env[s.out.id] = launch(rt, s.out.aval, { key: s.source, wgsl: () => s.source, inputs: bound, params: null, grid: s.grid });
      }
      for (const id of s.free) env[id] = undefined; // the tensor, and later its buffer, can be collected
    }
    return j.outputs.map((v) => env[v.id]!);
  };

  return {
    jaxpr: j,
    backend: 'webgpu',
    steps,
    stats,
    run: () => {
      throw new Error("jit: a webgpu program runs on tensors (runTensors), not host buffers");
    },
    runTensors,
    describe: () => describe(steps),
  };
}
