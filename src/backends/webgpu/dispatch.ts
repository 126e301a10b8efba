import type { DeviceHandle } from './device.js';
import { type BufferPool, type GpuStorage, newBufferId, USAGE } from './pool.js';
import type { CommandQueue } from './queue.js';

/**
 * Running one WGSL kernel: pipelines compiled once per kernel key, small read-only parameter
 * buffers cached by content, and bind groups cached by the buffers they bind (creating one costs
 * about 40 µs on Dawn, as much as a small kernel; a training loop binds the same recycled buffers
 * over and over).
 *
 * Every kernel has the same binding layout: binding 0 is the output (read-write storage),
 * binding 1 the parameters (`array<u32>`), bindings 2… the inputs (read-only storage).
 */

/** A kernel launch: its cache key, its WGSL (built only on a cache miss), buffers, parameters and grid. */
export interface Launch {
  readonly key: string;
  readonly wgsl: () => string;
  readonly out: GpuStorage;
  readonly inputs: readonly GpuStorage[];
  /** u32 words (f32 and i32 values as their bit patterns). */
  readonly params: readonly number[];
  readonly grid: readonly [number, number, number];
}

interface ParamBuffer {
  readonly buffer: GPUBuffer;
  readonly id: number;
}

const MAX_PARAM_BUFFERS = 8192;
const MAX_BIND_GROUPS = 8192;

export class Dispatcher {
  private readonly layouts: GPUBindGroupLayout[] = [];
  private readonly pipelineLayouts: GPUPipelineLayout[] = [];
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly paramBuffers = new Map<string, ParamBuffer>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  /** Bind-group keys by the id of each buffer they bind, to forget them when it is destroyed. */
  private readonly keysOfBuffer = new Map<number, string[]>();

  constructor(
    private readonly handle: DeviceHandle,
    private readonly queue: CommandQueue,
    pool: BufferPool,
  ) {
    pool.onDestroy = (ids) => this.forgetBuffers(ids);
  }

  /** Number of compiled pipelines (tests check that shapes do not recompile). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** Records one kernel launch into the open compute pass. */
  run(l: Launch): void {
    if (l.grid[0] * l.grid[1] * l.grid[2] === 0) return;
    const pipeline = this.pipeline(l.key, l.wgsl, l.inputs.length);
    const pb = this.paramBuffer(l.params);
    const bg = this.bindGroup(l.out, pb, l.inputs);
    const pass = this.queue.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(l.grid[0], l.grid[1], l.grid[2]);
    this.queue.recordedOne();
  }

  private layout(nInputs: number): GPUPipelineLayout {
    let pl = this.pipelineLayouts[nInputs];
    if (pl) return pl;
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: 4 /* COMPUTE */, buffer: { type: 'storage' } },
      { binding: 1, visibility: 4, buffer: { type: 'read-only-storage' } },
    ];
    for (let i = 0; i < nInputs; i++) entries.push({ binding: 2 + i, visibility: 4, buffer: { type: 'read-only-storage' } });
    const bgl = this.handle.device.createBindGroupLayout({ entries });
    this.layouts[nInputs] = bgl;
    pl = this.handle.device.createPipelineLayout({ bindGroupLayouts: [bgl] });
    this.pipelineLayouts[nInputs] = pl;
    return pl;
  }

  private pipeline(key: string, wgsl: () => string, nInputs: number): GPUComputePipeline {
    const k = `${nInputs}|${key}`;
    let p = this.pipelines.get(k);
    if (!p) {
      const module = this.handle.device.createShaderModule({ code: wgsl(), label: key });
      p = this.handle.device.createComputePipeline({ layout: this.layout(nInputs), compute: { module, entryPoint: 'main' }, label: key });
      this.pipelines.set(k, p);
    }
    return p;
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

  private bindGroup(out: GpuStorage, params: ParamBuffer, inputs: readonly GpuStorage[]): GPUBindGroup {
    const ids = [out.id, params.id, ...inputs.map((s) => s.id)];
    const key = ids.join(',');
    const hit = this.bindGroups.get(key);
    if (hit) return hit;
    if (this.bindGroups.size >= MAX_BIND_GROUPS) {
      this.bindGroups.clear();
      this.keysOfBuffer.clear();
    }
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: out.buffer } },
      { binding: 1, resource: { buffer: params.buffer } },
      ...inputs.map((s, i) => ({ binding: 2 + i, resource: { buffer: s.buffer } })),
    ];
    this.layout(inputs.length);
    const bg = this.handle.device.createBindGroup({ layout: this.layouts[inputs.length]!, entries });
    this.bindGroups.set(key, bg);
    for (const id of new Set(ids)) (this.keysOfBuffer.get(id) ?? this.keysOfBuffer.set(id, []).get(id)!).push(key);
    return bg;
  }

  private forgetBuffers(ids: readonly number[]): void {
    for (const id of ids) {
      for (const key of this.keysOfBuffer.get(id) ?? []) this.bindGroups.delete(key);
      this.keysOfBuffer.delete(id);
    }
  }

  /** Too many distinct parameter sets: submit, then destroy them all (and the bind groups using them). */
  private dropParamBuffers(): void {
    this.queue.flush();
    for (const pb of this.paramBuffers.values()) pb.buffer.destroy();
    this.paramBuffers.clear();
    this.bindGroups.clear();
    this.keysOfBuffer.clear();
  }
}
