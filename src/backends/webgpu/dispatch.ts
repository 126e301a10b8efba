import type { DeviceHandle } from './device.js';
import { type BufferPool, type GpuStorage, newBufferId, USAGE } from './pool.js';
import type { CommandQueue } from './queue.js';
import { MAX_INPUTS, packsInputs } from './wgsl.js';

/**
 * Running one WGSL kernel: pipelines compiled once per kernel key, small read-only parameter
 * buffers cached by content, and one bind group per buffer.
 *
 * Creating a bind group costs about 40 µs on Dawn, as much as a small kernel, and a bind group
 * naming several buffers is rarely reused (the pool hands buffers out in a different order every
 * step). So each buffer sits alone in its bind group, made once per buffer and role (read-only or
 * read-write) and kept with it: group 0 holds the parameters if the kernel has any, the next group
 * the output, the following ones the inputs. WebGPU guarantees 4 bind groups, so a kernel has
 * parameters and up to 2 inputs, or no parameters and up to 3 inputs (its length is then the
 * output buffer's, see wgsl.ts). A kernel without parameters may have up to 7 inputs (jit's fused
 * kernels): then they share one bind group, made once per tuple of buffers and kept (bounded).
 */

/** A kernel launch: its cache key, its WGSL (built only on a cache miss), buffers, parameters and grid. */
export interface Launch {
  readonly key: string;
  readonly wgsl: () => string;
  readonly out: GpuStorage;
  readonly inputs: readonly GpuStorage[];
  /** u32 words (f32 and i32 values as their bit patterns), or null for a kernel without parameters. */
  readonly params: readonly number[] | null;
  readonly grid: readonly [number, number, number];
}

interface ParamBuffer {
  readonly buffer: GPUBuffer;
  readonly id: number;
}

const MAX_PARAM_BUFFERS = 8192;
/** Bind groups of packed inputs kept (dropped all at once past this). */
const MAX_PACKED_GROUPS = 4096;

export class Dispatcher {
  private readonly roLayout: GPUBindGroupLayout;
  private readonly rwLayout: GPUBindGroupLayout;
  private readonly pipelineLayouts = new Map<string, GPUPipelineLayout>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly paramBuffers = new Map<string, ParamBuffer>();
  /** The read-only and read-write bind group of each buffer, by buffer id. */
  private readonly groups = new Map<number, { ro?: GPUBindGroup; rw?: GPUBindGroup }>();
  /** Bind groups of packed inputs, by their buffer ids joined with commas, and the keys naming each buffer. */
  private readonly packedGroups = new Map<string, GPUBindGroup>();
  private readonly packedKeys = new Map<number, string[]>();
  private readonly packedLayouts = new Map<number, GPUBindGroupLayout>();
  private dispatched = 0;

  constructor(
    private readonly handle: DeviceHandle,
    private readonly queue: CommandQueue,
    pool: BufferPool,
  ) {
    const layout = (type: GPUBufferBindingType) => handle.device.createBindGroupLayout({ entries: [{ binding: 0, visibility: 4 /* COMPUTE */, buffer: { type } }] });
    this.roLayout = layout('read-only-storage');
    this.rwLayout = layout('storage');
    pool.onDestroy = (ids) =>
      ids.forEach((id) => {
        this.groups.delete(id);
        for (const k of this.packedKeys.get(id) ?? []) this.packedGroups.delete(k);
        this.packedKeys.delete(id);
      });
  }

  /** Number of compiled pipelines (tests check that shapes do not recompile). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** Number of kernel dispatches recorded so far (tests count the kernels a computation runs). */
  get dispatchCount(): number {
    return this.dispatched;
  }

  /** Records one kernel launch into the open compute pass. */
  run(l: Launch): void {
    if (l.grid[0] * l.grid[1] * l.grid[2] === 0) return;
    const withParams = l.params !== null;
    const packed = packsInputs(l.inputs.length, withParams);
    if (packed ? l.inputs.length > MAX_INPUTS : l.inputs.length + (withParams ? 2 : 1) > 4)
      throw new Error(`webgpu: kernel ${l.key} binds ${l.inputs.length} inputs${withParams ? ' and parameters' : ''}, more than its bind groups hold`);
    const pipeline = this.pipeline(l.key, l.wgsl, withParams, l.inputs.length);
    const pass = this.queue.computePass();
    pass.setPipeline(pipeline);
    let g = 0;
    if (withParams) {
      const pb = this.paramBuffer(l.params!);
      pass.setBindGroup(g++, this.group(pb.id, pb.buffer, false));
    }
    pass.setBindGroup(g++, this.group(l.out.id, l.out.buffer, true));
    if (packed) pass.setBindGroup(g++, this.packedGroup(l.inputs));
    else for (const s of l.inputs) pass.setBindGroup(g++, this.group(s.id, s.buffer, false));
    pass.dispatchWorkgroups(l.grid[0], l.grid[1], l.grid[2]);
    this.dispatched++;
    this.queue.recordedOne();
  }

  private pipeline(key: string, wgsl: () => string, withParams: boolean, nInputs: number): GPUComputePipeline {
    const shape = `${withParams ? 'p' : ''}${nInputs}`;
    const k = `${shape}|${key}`;
    let p = this.pipelines.get(k);
    if (!p) {
      let layout = this.pipelineLayouts.get(shape);
      if (!layout) {
        const groups = packsInputs(nInputs, withParams)
          ? [this.rwLayout, this.packedLayout(nInputs)]
          : [...(withParams ? [this.roLayout] : []), this.rwLayout, ...Array.from({ length: nInputs }, () => this.roLayout)];
        layout = this.handle.device.createPipelineLayout({ bindGroupLayouts: groups });
        this.pipelineLayouts.set(shape, layout);
      }
      const module = this.handle.device.createShaderModule({ code: wgsl(), label: key });
      p = this.handle.device.createComputePipeline({ layout, compute: { module, entryPoint: 'main' }, label: key });
      this.pipelines.set(k, p);
    }
    return p;
  }

  private group(id: number, buffer: GPUBuffer, writable: boolean): GPUBindGroup {
    let g = this.groups.get(id);
    if (!g) this.groups.set(id, (g = {}));
    const have = writable ? g.rw : g.ro;
    if (have) return have;
    const bg = this.handle.device.createBindGroup({ layout: writable ? this.rwLayout : this.roLayout, entries: [{ binding: 0, resource: { buffer } }] });
    if (writable) g.rw = bg;
    else g.ro = bg;
    return bg;
  }

  private packedLayout(n: number): GPUBindGroupLayout {
    let l = this.packedLayouts.get(n);
    if (!l) {
      const entries = Array.from({ length: n }, (_, binding) => ({ binding, visibility: 4 /* COMPUTE */, buffer: { type: 'read-only-storage' as const } }));
      this.packedLayouts.set(n, (l = this.handle.device.createBindGroupLayout({ entries })));
    }
    return l;
  }

  /** The bind group holding these inputs at bindings 0…n−1 (one per tuple of buffers, kept). */
  private packedGroup(inputs: readonly GpuStorage[]): GPUBindGroup {
    const key = inputs.map((s) => s.id).join(',');
    const have = this.packedGroups.get(key);
    if (have) return have;
    if (this.packedGroups.size >= MAX_PACKED_GROUPS) {
      this.packedGroups.clear();
      this.packedKeys.clear();
    }
    const bg = this.handle.device.createBindGroup({
      layout: this.packedLayout(inputs.length),
      entries: inputs.map((s, binding) => ({ binding, resource: { buffer: s.buffer } })),
    });
    this.packedGroups.set(key, bg);
    for (const s of new Set(inputs)) {
      const ks = this.packedKeys.get(s.id);
      if (ks) ks.push(key);
      else this.packedKeys.set(s.id, [key]);
    }
    return bg;
  }

  private paramBuffer(words: readonly number[]): ParamBuffer {
    const key = words.join(',');
    const hit = this.paramBuffers.get(key);
    if (hit) return hit;
    if (this.paramBuffers.size >= MAX_PARAM_BUFFERS) this.dropParamBuffers();
    const size = Math.max(16, Math.ceil((words.length * 4) / 16) * 16);
    const buffer = this.handle.device.createBuffer({ size, usage: USAGE.STORAGE, mappedAtCreation: true });
    const view = new Uint32Array(buffer.getMappedRange());
    for (let i = 0; i < words.length; i++) view[i] = words[i]! >>> 0;
    buffer.unmap();
    const pb = { buffer, id: newBufferId() };
    this.paramBuffers.set(key, pb);
    return pb;
  }

  /** Too many distinct parameter sets: submit, then destroy them all with their bind groups. */
  private dropParamBuffers(): void {
    this.queue.flush();
    for (const pb of this.paramBuffers.values()) {
      pb.buffer.destroy();
      this.groups.delete(pb.id);
    }
    this.paramBuffers.clear();
  }
}
