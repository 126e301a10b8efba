/**
 * A tiny WebAssembly module builder: enough of the binary format (types, one imported memory,
 * functions, exports, code) to emit the cpu-wasm kernels from TypeScript at run time, with no
 * toolchain. The instruction emitter lives beside it in {@link FnBuilder} (fn-builder.ts).
 *
 * Binary format reference: https://webassembly.github.io/spec/core/binary/ (sections 1, 2, 3, 7, 10).
 */
import { FnBuilder, type ValType, valTypeCode } from './fn-builder.js';
import { uleb } from './leb128.js';

const utf8 = (s: string): number[] => {
  const b = new TextEncoder().encode(s);
  return [...uleb(b.length), ...b];
};

/** The imported linear memory: `env.memory`, in 64 KiB pages; `shared` needs a maximum. */
export interface MemoryImport {
  readonly initialPages: number;
  readonly maximumPages: number;
  readonly shared: boolean;
}

interface FnDef {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  readonly body: FnBuilder;
}

/** Collects functions (all exported by name) and encodes a module that imports `env.memory`. */
export class ModuleBuilder {
  private readonly fns: FnDef[] = [];

  constructor(private readonly memory: MemoryImport) {}

  /**
   * Adds an exported function. `emit` writes the body with the builder it is given; parameters are
   * locals 0…params.length−1 (see {@link FnBuilder.param}).
   */
  func(name: string, params: readonly ValType[], results: readonly ValType[], emit: (f: FnBuilder) => void): this {
    const body = new FnBuilder(params);
    emit(body);
    this.fns.push({ name, params, results, body });
    return this;
  }

  /** The module's bytes. */
  bytes(): Uint8Array {
    const section = (id: number, payload: number[]): number[] => [id, ...uleb(payload.length), ...payload];
    const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

    const types = vec(this.fns.map((f) => [0x60, ...vec(f.params.map((t) => [valTypeCode[t]])), ...vec(f.results.map((t) => [valTypeCode[t]]))]));
    const m = this.memory;
    const limits = m.shared ? [0x03, ...uleb(m.initialPages), ...uleb(m.maximumPages)] : [0x01, ...uleb(m.initialPages), ...uleb(m.maximumPages)];
    const imports = vec([[...utf8('env'), ...utf8('memory'), 0x02, ...limits]]);
    const funcs = vec(this.fns.map((_, i) => uleb(i)));
    const exports = vec(this.fns.map((f, i) => [...utf8(f.name), 0x00, ...uleb(i)]));
    const code = vec(
      this.fns.map((f) => {
        const body = f.body.encode();
        return [...uleb(body.length), ...body];
      }),
    );
    return new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, types),
      ...section(2, imports),
      ...section(3, funcs),
      ...section(7, exports),
      ...section(10, code),
    ]);
  }
}
