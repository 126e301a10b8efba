/**
 * The `cpu-wasm` backend: WebAssembly SIMD kernels generated at run time (kernels.ts) for the hot
 * primitives, float32 and float64: matmul (batched), elementwise add/sub/mul/div/max/min and
 * neg/abs/sqrt, reduce_sum over a contiguous block of axes, transposes that swap two adjacent
 * blocks of axes (also int32), and float32 exp and tanh. Every other primitive, dtype or
 * case (and tiny inputs, where a wasm call costs more than a JS loop) goes to the CPU backend's
 * kernels, so the backend is always complete.
 *
 * Tensors live in the wasm memory (heap.ts): a kernel's output is a typed array over a region of
 * the memory, which the CPU kernels read as any host buffer and the wasm kernels by its offset, so
 * no kernel copies its resident operands in or its outputs out; reading a tensor (`data()`) is the
 * one copy. A region returns to the heap when its typed array is collected (nothing to dispose).
 * Host buffers (tensors made from user data, and every tensor where SharedArrayBuffer is missing)
 * are copied into scratch for the call (kernel-call.ts).
 *
 * Eagerly, matrix transposes and broadcasts of one block of axes are deferred (layouts.ts): the
 * GEMM packs a transposed operand from its source (x·Wᵀ, xᵀ·g and g·Wᵀ store no transpose) and
 * binary kernels read a broadcast operand in place (`x * 2`, `x + bias`, `x − max(x, keepdims)`);
 * any other consumer stores the layout when it first reads the buffer.
 */
import type { Buffer } from '../../core/dtype.js';
import { type Shape, sizeBetween } from '../../core/shape.js';
import { ArrayTensor, type Aval, setReadYield } from '../../core/tensor.js';
import { unaryCallOf } from '../../core/scalar.js';
import { type Backend, type KernelPrim, scalarOf } from '../backend.js';
import { cpuBackend } from '../cpu/index.js';
import { afterTurn } from '../gc-pressure.js';
import { envVar } from '../node-builtin.js';
import { BINARY_OPS, type BinaryOp, binaryName, broadcastBinaryName, UNARY_OPS, unaryName } from './elementwise-kernel.js';
import { broadcastBlock, type BroadcastBlock, isMatrixTranspose } from './layouts.js';
import { ArenaFullError } from './arena.js';
import type { Heap } from './heap.js';
import { compileFusedLoop, compileFusedRun } from './fused-kernel.js';
import { builtKernels, getKernels, wasmSimdAvailable } from './kernels.js';
import { type KernelCall, withCall } from './kernel-call.js';
import { type GemmOperand, wasmMatmul } from './matmul.js';
import { wasmThreads } from './pool.js';
import { sumMidName, sumRowsName } from './reduce-kernel.js';
import { TRANSCENDENTAL_OPS, transcendentalName } from './transcendental-kernel.js';
import { transposeName } from './transpose-kernel.js';

export { setWasmThreads, wasmThreads } from './pool.js';
export { setWasmThreadSplit, wasmThreadSplit, wasmSplitShapes, type ThreadSplit, type WasmSplitShape } from './matmul.js';

type FloatBuffer = Float32Array | Float64Array;
type Kernel = (xs: readonly ArrayTensor[], params: any, out: readonly Aval[]) => Buffer[] | null;

/** Below this many elements an elementwise op or reduction stays in JS (a wasm round trip costs ~1 µs). */
const MIN_ELEMENTS = 256;

const isFloat = (t: ArrayTensor): boolean => t.dtype === 'float32' || t.dtype === 'float64';
const buf = (t: ArrayTensor): FloatBuffer => t.buffer as FloatBuffer;

/** The broadcast `t` is while deferred, which binary kernels read in place (see layouts.ts). */
const broadcastOf = (t: ArrayTensor): BroadcastBlock | null => {
  const d = t.deferred;
  return d?.prim === 'broadcast_in_dim' ? (d.view as BroadcastBlock) : null;
};

// the kernels below hand withCall a module-level body and its arguments (see kernel-call.ts)

/** Binary elementwise kernels; a deferred broadcast operand (a scalar, a bias row…) is read in place. */
function binaryKernel(op: BinaryOp): Kernel {
  return ([a, b], _p, [o]) => {
    if (!isFloat(a!) || a!.size < MIN_ELEMENTS) return null;
    return withCall(binaryBody, op, o!.dtype as 'float32' | 'float64', a!, b!);
  };
}

function binaryBody(call: KernelCall, op: BinaryOp, dtype: 'float32' | 'float64', a: ArrayTensor, b: ArrayTensor): Buffer[] {
  const n = a.size;
  const bb = broadcastOf(b);
  const ba = bb ? null : broadcastOf(a);
  const [out, po] = call.out(dtype, n);
  if (bb || ba) {
    const [full, bc, rev] = bb ? [a, bb, 0] : [b, ba!, 1];
    const px = call.in(buf(full));
    const ps = call.in(buf(bc.source));
    call.ks.exports[broadcastBinaryName(op, dtype)]!(px, ps, po, bc.outer, bc.mid, bc.inner, rev);
  } else {
    const pa = call.in(buf(a));
    const pb = call.in(buf(b));
    call.ks.exports[binaryName(op, dtype)]!(pa, pb, po, n);
  }
  return [out];
}

/** One-input kernels over contiguous elements: `name(x, out, n)`, for the dtypes `accepts`. */
function unaryKernel(name: (dtype: 'float32' | 'float64') => string, accepts: (t: ArrayTensor) => boolean = isFloat): Kernel {
  return ([x], _p, [o]) => {
    if (!accepts(x!) || x!.size < MIN_ELEMENTS) return null;
    const dtype = o!.dtype as 'float32' | 'float64';
    return withCall(unaryBody, name(dtype), dtype, x!);
  };
}

function unaryBody(call: KernelCall, fn: string, dtype: 'float32' | 'float64', x: ArrayTensor): Buffer[] {
  const px = call.in(buf(x));
  const [out, po] = call.out(dtype, x.size);
  call.ks.exports[fn]!(px, po, x.size);
  return [out];
}

/** Sum over `axes` when they form one contiguous block of `shape` (else null: the CPU kernel transposes). */
function reduceSum(x: ArrayTensor, axes: readonly number[]): Buffer | null {
  if (!isFloat(x) || x.size < MIN_ELEMENTS || axes.length === 0) return null;
  const lo = axes[0]!;
  for (let i = 1; i < axes.length; i++) if (axes[i] !== lo + i) return null; // not one increasing block
  const hi = axes[axes.length - 1]!;
  const shape: Shape = x.shape;
  return withCall(reduceBody, x, sizeBetween(shape, 0, lo), sizeBetween(shape, lo, hi + 1), sizeBetween(shape, hi + 1, shape.length));
}

function reduceBody(call: KernelCall, x: ArrayTensor, outer: number, red: number, inner: number): Buffer {
  const dtype = x.dtype as 'float32' | 'float64';
  const [out, po] = call.out(dtype, outer * inner);
  if (red === 0) return out.fill(0);
  const px = call.in(buf(x));
  if (inner === 1) call.ks.exports[sumRowsName(dtype)]!(px, po, outer, red);
  else call.ks.exports[sumMidName(dtype)]!(px, po, outer, red, inner);
  return out;
}

/**
 * For a permutation that swaps two adjacent blocks of axes ([…, A…, B…, …] → […, B…, A…, …]),
 * the view [batch, R, C, inner] that the transpose kernel takes; null for any other permutation.
 */
export function blockSwap(shape: Shape, perm: readonly number[]): [number, number, number, number] | null {
  const n = perm.length;
  let a = 0;
  while (a < n && perm[a] === a) a++;
  let c = n;
  while (c > a && perm[c - 1] === c - 1) c--;
  if (a === c) return null;
  const b = perm[a]!;
  if (b <= a || b >= c) return null;
  for (let i = 0; i < c - b; i++) if (perm[a + i] !== b + i) return null;
  for (let i = 0; i < b - a; i++) if (perm[a + (c - b) + i] !== a + i) return null;
  return [sizeBetween(shape, 0, a), sizeBetween(shape, a, b), sizeBetween(shape, b, c), sizeBetween(shape, c, n)];
}

/** Transpose by the block-swap kernel (float32 and int32 move as 4-byte words, float64 as 8). */
function transpose(x: ArrayTensor, perm: readonly number[]): Buffer | null {
  if (x.size < MIN_ELEMENTS || x.dtype === 'bool') return null;
  const view = blockSwap(x.shape, perm);
  if (view === null) return null;
  return withCall(transposeBody, x, view);
}

function transposeBody(call: KernelCall, x: ArrayTensor, view: [number, number, number, number]): Buffer {
  const px = call.in(x.buffer);
  const [out, po] = call.out(x.dtype, x.size);
  call.ks.exports[transposeName(x.dtype === 'float64' ? 'float64' : 'float32')]!(px, po, ...view);
  return out;
}

/** A matmul operand: a deferred matrix transpose is packed from its source (see matmul-kernel.ts). */
function gemmOperand(t: ArrayTensor): GemmOperand {
  const d = t.deferred;
  if (d?.prim === 'transpose' && d.view === true) return { buf: buf(d.source), transposed: true };
  return { buf: buf(t), transposed: false };
}

const kernels: Record<string, Kernel> = {
  matmul: ([a, b], _p, [o]) => {
    if (!isFloat(a!)) return null;
    const s = a!.shape;
    const m = s[s.length - 2]!;
    const k = s[s.length - 1]!;
    const n = b!.shape[b!.shape.length - 1]!;
    const batch = sizeBetween(o!.shape, 0, o!.shape.length - 2);
    return [wasmMatmul(gemmOperand(a!), gemmOperand(b!), batch, m, k, n, wasmThreads())];
  },
  transpose: ([x], { perm }: { perm: readonly number[] }) => {
    const r = transpose(x!, perm);
    return r === null ? null : [r];
  },
  reduce_sum: ([x], { axes }: { axes: readonly number[] }) => {
    const r = reduceSum(x!, axes);
    return r === null ? null : [r];
  },
};
for (const op of BINARY_OPS) kernels[op] = binaryKernel(op);
for (const op of UNARY_OPS) kernels[op] = unaryKernel((d) => unaryName(op, d));
/**
 * Kernels by scalar function: a primitive whose scalar expression is that function of its operand
 * runs them (float32 exp/tanh, see transcendental-kernel.ts; float64 stays on Math.exp / Math.tanh).
 */
const scalarKernels = new Map<string, Kernel>(TRANSCENDENTAL_OPS.map((op) => [op, unaryKernel(() => transcendentalName(op), (t) => t.dtype === 'float32')]));

/** The wasm kernel of a primitive: by its name, or by its record's scalar expression (float32 exp and tanh). */
function kernelOf(prim: KernelPrim, params: unknown): Kernel | undefined {
  const k = kernels[prim.name];
  if (k) return k;
  const e = scalarOf(prim, params);
  const fn = e && unaryCallOf(e);
  return fn ? scalarKernels.get(fn) : undefined;
}

/** The primitives cpu-wasm runs in WebAssembly by name (for float32/float64 inputs); the rest go to the CPU kernels. */
export const wasmKernelNames: readonly string[] = Object.keys(kernels);

/** Whether cpu-wasm has a WebAssembly kernel for the primitive (for some inputs): by name or by its scalar expression. */
export const hasWasmKernel = (prim: KernelPrim, params: unknown = {}): boolean => kernelOf(prim, params) !== undefined;

/** Whether this runtime can run the cpu-wasm kernels (WebAssembly with 128-bit SIMD). */
export const wasmAvailable: boolean = wasmSimdAvailable();

// `await x.data()` lets the finalizers of a forced collection run (heap.ts), as a GPU readback would
setReadYield(() => (builtKernels()?.heap.pressure.reaping ? new Promise<void>((resolve) => afterTurn(resolve)) : undefined));

/** The heaps that open records of temporaries recorded in (none when the kernels were not built yet), innermost last. */
const recording: (Heap | undefined)[] = [];

/** The cpu-wasm backend (see the file comment). */
export const wasmBackend: Backend = {
  name: 'cpu-wasm',
  execute(prim, inputs, params, outAvals) {
    const k = kernelOf(prim, params);
    let out: Buffer[] | null = null;
    try {
      out = k ? k(inputs, params, outAvals) : null;
    } catch (e) {
      if (!(e instanceof ArenaFullError)) throw e; // too big for the wasm arena: the CPU kernel runs it
    }
    return out ?? cpuBackend.execute(prim, inputs, params, outAvals);
  },
  defer(prim, [x], params, outAvals) {
    if (!isFloat(x!)) return null;
    const o = outAvals[0]!;
    const view =
      prim.name === 'transpose'
        ? isMatrixTranspose((params as { perm: readonly number[] }).perm) || null
        : prim.name === 'broadcast_in_dim'
          ? broadcastBlock(x!, o.shape, (params as { dims: readonly number[] }).dims)
          : null;
    if (view === null) return null;
    return ArrayTensor.deferred(o.shape, o.dtype, this.name, { prim: prim.name, params, source: x!, view }, () => this.execute(prim, [x!], params, outAvals)[0]!);
  },
  allocate: (dtype, n) => (n > 0 ? (getKernels().heap.resident(dtype, n) ?? undefined) : undefined),
  release: (b) => {
    if (!(b.buffer instanceof ArrayBuffer)) getKernels().heap.freeResident(b);
  },
  beginTemporaries: () => {
    const heap = builtKernels()?.heap;
    recording.push(heap);
    heap?.beginRecord();
  },
  endTemporaries: (keep) => recording.pop()?.endRecord(keep),
  compileLoop: (spec) => (envVar('PARTAX_WASM_FUSE') === '0' ? null : compileFusedLoop(spec)),
  compileLoopRun: (specs) => compileFusedRun(specs),
};
