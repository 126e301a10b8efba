/**
 * The instruction emitter for one WebAssembly function body: locals, constants, memory access,
 * the scalar and 128-bit SIMD opcodes the kernels use, and structured control flow (block, loop,
 * if, and a counted `for` built from them). Opcode numbers are from the core spec and the SIMD
 * proposal (prefix 0xfd); relaxed-SIMD multiply-add is 0xfd 0x105 / 0x107; the one atomic
 * (threads proposal, prefix 0xfe) is the fetch-and-add that hands out work to threads.
 */
import { sleb, uleb } from './leb128.js';

/** The value types the kernels use. */
export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';

export const valTypeCode: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

const simd = (op: number): number[] => [0xfd, ...uleb(op)];

/** Operators without immediates, by their text-format names. */
const plain = {
  'i32.eqz': [0x45], 'i32.eq': [0x46], 'i32.ne': [0x47], 'i32.lt_s': [0x48], 'i32.lt_u': [0x49],
  'i32.gt_s': [0x4a], 'i32.gt_u': [0x4b], 'i32.le_s': [0x4c], 'i32.le_u': [0x4d], 'i32.ge_s': [0x4e], 'i32.ge_u': [0x4f],
  'i32.add': [0x6a], 'i32.sub': [0x6b], 'i32.mul': [0x6c], 'i32.and': [0x71], 'i32.or': [0x72], 'i32.shl': [0x74],
  'i32.shr_s': [0x75], 'i32.shr_u': [0x76], select: [0x1b], drop: [0x1a],
  'f32.add': [0x92], 'f32.sub': [0x93], 'f32.mul': [0x94], 'f32.div': [0x95], 'f32.min': [0x96], 'f32.max': [0x97],
  'f32.abs': [0x8b], 'f32.neg': [0x8c], 'f32.sqrt': [0x91],
  'f64.add': [0xa0], 'f64.sub': [0xa1], 'f64.mul': [0xa2], 'f64.div': [0xa3], 'f64.min': [0xa4], 'f64.max': [0xa5],
  'f64.abs': [0x99], 'f64.neg': [0x9a], 'f64.sqrt': [0x9f],
  'f32.gt': [0x5e], 'f64.gt': [0x64],
  'f32.demote_f64': [0xb6], 'f64.promote_f32': [0xbb],
  'i32x4.splat': simd(0x11), 'f32x4.splat': simd(0x13), 'f64x2.splat': simd(0x14),
  'v128.not': simd(0x4d), 'v128.and': simd(0x4e), 'v128.andnot': simd(0x4f), 'v128.or': simd(0x50), 'v128.xor': simd(0x51),
  'v128.bitselect': simd(0x52),
  'f32x4.eq': simd(0x41), 'f32x4.ne': simd(0x42), 'f32x4.lt': simd(0x43), 'f32x4.gt': simd(0x44), 'f32x4.le': simd(0x45), 'f32x4.ge': simd(0x46),
  'f64x2.eq': simd(0x47), 'f64x2.ne': simd(0x48), 'f64x2.lt': simd(0x49), 'f64x2.gt': simd(0x4a), 'f64x2.le': simd(0x4b), 'f64x2.ge': simd(0x4c),
  'i32x4.add': simd(0xae), 'i32x4.sub': simd(0xb1), 'i32x4.shl': simd(0xab), 'i32x4.mul': simd(0xb5),
  'i32x4.abs': simd(0xa0), 'i32x4.neg': simd(0xa1),
  'i32x4.eq': simd(0x37), 'i32x4.ne': simd(0x38), 'i32x4.lt_s': simd(0x39), 'i32x4.gt_s': simd(0x3b), 'i32x4.le_s': simd(0x3d), 'i32x4.ge_s': simd(0x3f),
  'i16x8.extend_low_i8x16_u': simd(0x89), 'i32x4.extend_low_i16x8_u': simd(0xa9),
  'i16x8.narrow_i32x4_u': simd(0x86), 'i8x16.narrow_i16x8_u': simd(0x66),
  'i32x4.trunc_sat_f32x4_s': simd(0xf8), 'f32x4.convert_i32x4_s': simd(0xfa),
  'f32x4.abs': simd(0xe0), 'f32x4.neg': simd(0xe1), 'f32x4.sqrt': simd(0xe3),
  'f32x4.add': simd(0xe4), 'f32x4.sub': simd(0xe5), 'f32x4.mul': simd(0xe6), 'f32x4.div': simd(0xe7),
  'f32x4.min': simd(0xe8), 'f32x4.max': simd(0xe9), 'f32x4.pmin': simd(0xea), 'f32x4.pmax': simd(0xeb),
  'f64x2.abs': simd(0xec), 'f64x2.neg': simd(0xed), 'f64x2.sqrt': simd(0xef),
  'f64x2.add': simd(0xf0), 'f64x2.sub': simd(0xf1), 'f64x2.mul': simd(0xf2), 'f64x2.div': simd(0xf3),
  'f64x2.min': simd(0xf4), 'f64x2.max': simd(0xf5), 'f64x2.pmin': simd(0xf6), 'f64x2.pmax': simd(0xf7),
  'f32x4.relaxed_madd': simd(0x105), 'f64x2.relaxed_madd': simd(0x107),
  'f64x2.promote_low_f32x4': simd(0x5f), 'f32x4.demote_f64x2_zero': simd(0x5e), 'f64x2.nearest': simd(0x94),
  'i32x4.trunc_sat_f64x2_s_zero': simd(0xfc), 'i64x2.extend_low_i32x4_s': simd(0xc7), 'i64x2.splat': simd(0x12),
  'i64x2.add': simd(0xce), 'i64x2.shl': simd(0xcb), 'i64x2.shr_u': simd(0xcd),
  'f32x4.floor': simd(0x68), 'f64x2.floor': simd(0x75),
} as const satisfies Record<string, readonly number[]>;

/** An operator without immediates. */
export type PlainOp = keyof typeof plain;

/** Memory operators: opcode bytes and natural alignment (log2 bytes). */
const memory = {
  'i32.load': [[0x28], 2], 'f32.load': [[0x2a], 2], 'f64.load': [[0x2b], 3],
  'i32.store': [[0x36], 2], 'f32.store': [[0x38], 2], 'f64.store': [[0x39], 3],
  'v128.load': [simd(0x00), 4], 'v128.load8_splat': [simd(0x07), 0], 'v128.load32_splat': [simd(0x09), 2], 'v128.load64_splat': [simd(0x0a), 3],
  'i32.load8_u': [[0x2d], 0],
  'v128.store': [simd(0x0b), 4],
  'v128.load32_zero': [simd(0x5c), 2], 'v128.load64_zero': [simd(0x5d), 3],
  'i32.atomic.rmw.add': [[0xfe, 0x1e], 2],
} as const satisfies Record<string, readonly [readonly number[], number]>;

/** A memory operator. */
export type MemOp = keyof typeof memory;

/** Builds one function body. Every method appends and returns `this`, so bodies read as code. */
export class FnBuilder {
  private readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(private readonly params: readonly ValType[]) {}

  /** The local index of parameter `i`. */
  param(i: number): number {
    if (i < 0 || i >= this.params.length) throw new RangeError(`FnBuilder.param: no parameter ${i} (have ${this.params.length})`);
    return i;
  }

  /** Declares a new local of type `t` and returns its index. */
  local(t: ValType): number {
    this.locals.push(t);
    return this.params.length + this.locals.length - 1;
  }

  /** Appends an operator without immediates. */
  op(name: PlainOp): this {
    this.code.push(...plain[name]);
    return this;
  }

  get(l: number): this {
    this.code.push(0x20, ...uleb(l));
    return this;
  }
  set(l: number): this {
    this.code.push(0x21, ...uleb(l));
    return this;
  }
  tee(l: number): this {
    this.code.push(0x22, ...uleb(l));
    return this;
  }

  i32(v: number): this {
    this.code.push(0x41, ...sleb(v));
    return this;
  }
  f32(v: number): this {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.code.push(0x43, ...b);
    return this;
  }
  f64(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    this.code.push(0x44, ...b);
    return this;
  }

  /** A memory access with a constant byte `offset` (natural alignment unless `align` is given, as log2). */
  mem(name: MemOp, offset = 0, align?: number): this {
    const [bytes, natural] = memory[name];
    this.code.push(...bytes, ...uleb(align ?? natural), ...uleb(offset));
    return this;
  }

  /** v128.store8_lane / store32_lane / store64_lane: stores one lane of the v128 on the stack. */
  storeLane(bits: 8 | 32 | 64, lane: number, offset = 0): this {
    const [op, align] = bits === 8 ? [0x58, 0] : bits === 32 ? [0x5a, 2] : [0x5b, 3];
    this.code.push(...simd(op), align, ...uleb(offset), lane);
    return this;
  }

  /** f32x4.extract_lane / f64x2.extract_lane. */
  extractLane(kind: 'f32x4' | 'f64x2', lane: number): this {
    this.code.push(...simd(kind === 'f32x4' ? 0x1f : 0x21), lane);
    return this;
  }

  /**
   * i8x16.shuffle of the two v128 on the stack: byte i of the result is byte `bytes[i]` of the
   * 32 bytes (first operand's, then second's). `lanes` picks whole lanes of `width` bytes instead.
   */
  shuffle(lanes: readonly number[], width: 4 | 8): this {
    if (lanes.length * width !== 16) throw new RangeError(`FnBuilder.shuffle: ${lanes.length} lanes of ${width} bytes are not 16 bytes`);
    this.code.push(...simd(0x0d), ...lanes.flatMap((l) => Array.from({ length: width }, (_, b) => l * width + b)));
    return this;
  }

  /** v128.const of two i64 lanes (`lo`, then `hi`, default `lo`). */
  i64x2(lo: bigint, hi: bigint = lo): this {
    const b = new Uint8Array(new BigInt64Array([lo, hi]).buffer);
    this.code.push(...simd(0x0c), ...b);
    return this;
  }

  /** f32x4.replace_lane (i32x4.replace_lane for `i32`): the v128 below the scalar on the stack with lane `lane` set to it. */
  replaceLane(lane: number, kind: 'f32' | 'i32' = 'f32'): this {
    this.code.push(...simd(kind === 'f32' ? 0x20 : 0x1c), lane);
    return this;
  }

  /** Shorthand: local `l` += `delta` (i32). */
  inc(l: number, delta: number): this {
    return this.get(l).i32(delta).op('i32.add').set(l);
  }

  /** `block … end` (no result); inside, `br(0)` jumps to its end. */
  block(body: () => void): this {
    this.code.push(0x02, 0x40);
    body();
    this.code.push(0x0b);
    return this;
  }
  /** `loop … end` (no result); inside, `br(0)` jumps to its start. */
  loop(body: () => void): this {
    this.code.push(0x03, 0x40);
    body();
    this.code.push(0x0b);
    return this;
  }
  /** `if … [else …] end` on the i32 on the stack. */
  if(then: () => void, otherwise?: () => void): this {
    this.code.push(0x04, 0x40);
    then();
    if (otherwise) {
      this.code.push(0x05);
      otherwise();
    }
    this.code.push(0x0b);
    return this;
  }
  /** Calls function `index` of the module (its arguments on the stack). */
  call(index: number): this {
    this.code.push(0x10, ...uleb(index));
    return this;
  }
  br(depth: number): this {
    this.code.push(0x0c, ...uleb(depth));
    return this;
  }
  brIf(depth: number): this {
    this.code.push(0x0d, ...uleb(depth));
    return this;
  }

  /**
   * `for (i = start; i < end; i += step) body` over i32 locals (signed compare); `start` and `end`
   * push one i32 each. Inside `body`, the enclosing block is depth 1 and the loop depth 0.
   */
  for(i: number, start: () => void, end: number, step: number, body: () => void): this {
    start();
    this.set(i);
    return this.block(() => {
      this.get(i).get(end).op('i32.ge_s').brIf(0);
      this.loop(() => {
        body();
        this.inc(i, step);
        this.get(i).get(end).op('i32.lt_s').brIf(0);
      });
    });
  }

  /** The encoded body: local declarations (run-length), code, `end`. */
  encode(): number[] {
    const groups: [number, ValType][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    return [...uleb(groups.length), ...groups.flatMap(([n, t]) => [...uleb(n), valTypeCode[t]]), ...this.code, 0x0b];
  }
}
