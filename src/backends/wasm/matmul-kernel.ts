/**
 * The generated GEMM kernels, C = A · B in the BLIS/Goto scheme, for float32 (f32x4) and float64
 * (f64x2). Two exports per dtype (suffix f32 / f64):
 *
 *   packb(b, ldb, k, nPanels, bp)
 *       B [k, nPanels·NR] (row pitch `ldb` bytes) → panels of NR columns, each [k][NR].
 *   gemm(a, lda, bp, cp, mPanels, nPanels, k, ldc, work, counter, mcp)
 *       A [mPanels·MR, k] (row pitch `lda` bytes; rows past M zero-filled by the caller) times the
 *       packed B into C (row pitch `ldc` bytes, padded to nPanels·NR columns). Row blocks of
 *       `mcp` panels are handed out by an atomic fetch-and-add on the i32 at `counter` (zeroed by
 *       the caller), so any number of threads may run the same call and share the work, a slow
 *       thread simply taking fewer blocks. `work` is this thread's scratch for one packed A block
 *       (mcp·MR·KC values, see gemmWorkBytes).
 *
 * Loops, outer to inner: ic, the next row block from the counter; pc over K in blocks of KC,
 * packing that A block into `work` as panels [kc][MR] (it then stays in L2); jr over column
 * panels (one B micro-panel, KC·NR values, stays in L1); ir over the block's row panels; the MR×NR
 * micro-kernel: MR·NR/lanes v128 accumulators; per k, NR/lanes vector loads of B, MR splat loads
 * of A and MR·NR/lanes multiply-adds. The accumulators start at zero on every K block; the first
 * block stores the tile, later ones add their sum to it, so float32 sums are blocked: the error is
 * about (KC + K/KC)·ε·Σ|a·b|, where one running sum over K loses every term below half an ulp of
 * the total.
 * Rows and columns are padded to whole panels, so tiles have no edge cases; the caller discards
 * the padding.
 *
 * Why 4×8 (float32) and 4×4 (float64), with no unrolling of k: V8's TurboFan hoists every load
 * of a loop iteration above the arithmetic, so an iteration holds its loads and accumulators in
 * xmm registers at once, and x64 gives wasm 15 of them. 4×8 needs 8 accumulators + 2 B + 4 A
 * (+1 product) = 15 and runs near the 128-bit SIMD peak (~45 GFLOP/s on the 2-core EPYC this was
 * tuned on); 6×8 or a k-unrolled body spills and runs at ~25. TurboFan unrolls the small loop itself.
 */
import type { FnBuilder } from './fn-builder.js';
import type { ModuleBuilder } from './module-builder.js';

/** Blocking parameters of one GEMM kernel. */
export interface GemmShape {
  readonly dtype: 'float32' | 'float64';
  /** Rows of a micro-tile. */
  readonly mr: number;
  /** Columns of a micro-tile (a multiple of the lanes: 4 for float32, 2 for float64). */
  readonly nr: number;
  /** K block. */
  readonly kc: number;
  /** The largest row block handed out, in rows (a multiple of `mr`); smaller with several threads. */
  readonly mc: number;
  /** Use relaxed-SIMD fused multiply-add (only where the engine validates it). */
  readonly fma: boolean;
}

/** float32: 4×8 tiles (see the file comment), a 256×256 A block (256 KiB, half of L2). */
export const gemmF32: GemmShape = { dtype: 'float32', mr: 4, nr: 8, kc: 256, mc: 256, fma: false };
/** float64: 4×4 tiles, the same register budget with 2 lanes. */
export const gemmF64: GemmShape = { dtype: 'float64', mr: 4, nr: 4, kc: 256, mc: 128, fma: false };

const suffix = (s: GemmShape): string => (s.dtype === 'float32' ? 'f32' : 'f64');
/** The exported name of the GEMM kernel for `s`. */
export const gemmName = (s: GemmShape): string => `gemm_${suffix(s)}`;
/** The exported name of the B-packing kernel for `s`. */
export const packBName = (s: GemmShape): string => `packb_${suffix(s)}`;

/** Bytes of the per-thread `work` scratch that `gemm` needs for row blocks of `mcp` panels. */
export const gemmWorkBytes = (s: GemmShape, mcp: number): number => mcp * s.mr * s.kc * (s.dtype === 'float32' ? 4 : 8);

/** Adds the `packb_*` and `gemm_*` kernels for `s` to `mod`. */
export function addGemmKernel(mod: ModuleBuilder, s: GemmShape): void {
  const f32 = s.dtype === 'float32';
  const E = f32 ? 4 : 8;
  const lanes = 16 / E;
  const nv = s.nr / lanes;
  if (!Number.isInteger(nv) || s.mc % s.mr !== 0 || s.kc < 1) throw new Error(`addGemmKernel: inconsistent blocking ${JSON.stringify(s)}`);
  const v = f32 ? 'f32x4' : 'f64x2';
  const splat = f32 ? 'v128.load32_splat' : 'v128.load64_splat';
  const load = f32 ? 'f32.load' : 'f64.load';
  const store = f32 ? 'f32.store' : 'f64.store';

  mod.func(packBName(s), ['i32', 'i32', 'i32', 'i32', 'i32'], [], (f) => {
    const [b, ldb, k, nPanels, bp] = [0, 1, 2, 3, 4].map((i) => f.param(i)) as [number, number, number, number, number];
    const p = f.local('i32');
    const q = f.local('i32');
    const src = f.local('i32');
    f.for(p, () => f.i32(0), nPanels, 1, () => {
      f.get(b).get(p).i32(s.nr * E).op('i32.mul').op('i32.add').set(src);
      f.for(q, () => f.i32(0), k, 1, () => {
        for (let j = 0; j < nv; j++) f.get(bp).get(src).mem('v128.load', j * 16).mem('v128.store', j * 16);
        f.get(src).get(ldb).op('i32.add').set(src);
        f.inc(bp, s.nr * E);
      });
    });
  });

  mod.func(gemmName(s), ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (f) => {
    const [a, lda, bp, cp, mPanels, nPanels, k, ldc, work, counter, mcp] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => f.param(i)) as [
      number, number, number, number, number, number, number, number, number, number, number,
    ];
    const strideB = f.local('i32');
    const pc = f.local('i32');
    const kc = f.local('i32');
    const ic = f.local('i32');
    const icEnd = f.local('i32');
    const jr = f.local('i32');
    const ir = f.local('i32');
    const pa = f.local('i32');
    const pb = f.local('i32');
    const paEnd = f.local('i32');
    const c = f.local('i32');
    const q = f.local('i32');
    const src = f.local('i32');
    const dst = f.local('i32');
    const av = f.local('v128');
    const bv = Array.from({ length: nv }, () => f.local('v128'));
    const acc = Array.from({ length: s.mr }, () => Array.from({ length: nv }, () => f.local('v128')));

    f.get(k).i32(s.nr * E).op('i32.mul').set(strideB);
    f.block(() => {
      f.loop(() => {
        // ic = mcp · (the next block number); stop past the last row panel
        f.get(counter).i32(1).mem('i32.atomic.rmw.add').get(mcp).op('i32.mul').tee(ic).get(mPanels).op('i32.ge_s').brIf(1);
        f.get(ic).get(mcp).op('i32.add').tee(icEnd).get(mPanels).get(icEnd).get(mPanels).op('i32.lt_s').op('select').set(icEnd);
        f.for(pc, () => f.i32(0), k, s.kc, () => {
          // kc = min(KC, k − pc)
          f.i32(s.kc).get(k).get(pc).op('i32.sub').tee(kc).i32(s.kc).get(kc).op('i32.lt_s').op('select').set(kc);
          packABlock(f);
          f.for(jr, () => f.i32(0), nPanels, 1, () => {
            f.for(ir, () => f.get(ic), icEnd, 1, () => microKernel(f));
          });
        });
        f.br(0);
      });
    });

    /** work ← A[ic·MR … icEnd·MR, pc … pc+kc] as panels [kc][MR]. */
    function packABlock(f: FnBuilder): void {
      f.get(work).set(dst);
      f.for(ir, () => f.get(ic), icEnd, 1, () => {
        // src = a + ir·MR·lda + pc·E: row 0 of the panel; row r is r·lda further
        f.get(a).get(ir).i32(s.mr).op('i32.mul').get(lda).op('i32.mul').op('i32.add').get(pc).i32(E).op('i32.mul').op('i32.add').set(src);
        f.for(q, () => f.i32(0), kc, 1, () => {
          for (let r = 0; r < s.mr; r++) {
            f.get(dst);
            f.get(src);
            if (r > 0) f.get(lda).i32(r).op('i32.mul').op('i32.add');
            f.mem(load).mem(store, r * E);
          }
          f.inc(src, E).inc(dst, s.mr * E);
        });
      });
    }

    /** One MR×NR tile: C[ir, jr] (+)= A[ir, pc:pc+kc] · B[pc:pc+kc, jr]. */
    function microKernel(f: FnBuilder): void {
      // pa = work + (ir − ic)·kc·MR·E ; pb = bp + jr·strideB + pc·NR·E ; c = cp + ir·MR·ldc + jr·NR·E
      f.get(work).get(ir).get(ic).op('i32.sub').get(kc).op('i32.mul').i32(s.mr * E).op('i32.mul').op('i32.add').set(pa);
      f.get(bp).get(jr).get(strideB).op('i32.mul').op('i32.add').get(pc).i32(s.nr * E).op('i32.mul').op('i32.add').set(pb);
      f.get(cp).get(ir).i32(s.mr).op('i32.mul').get(ldc).op('i32.mul').op('i32.add').get(jr).i32(s.nr * E).op('i32.mul').op('i32.add').set(c);
      f.get(pa).get(kc).i32(s.mr * E).op('i32.mul').op('i32.add').set(paEnd);
      // accumulators start at zero on every K block, and the block's sum is added to the tile at the
      // end: a running sum carried from block to block would round away every term below half an
      // ulp of the total (2^25 products of 1 summed in float32 stop at 2^24)
      if (f32) f.f32(0).op('f32x4.splat');
      else f.f64(0).op('f64x2.splat');
      f.set(av);
      for (let r = 0; r < s.mr; r++) for (let j = 0; j < nv; j++) f.get(av).set(acc[r]![j]!);
      f.loop(() => {
        for (let j = 0; j < nv; j++) f.get(pb).mem('v128.load', j * 16).set(bv[j]!);
        for (let r = 0; r < s.mr; r++) {
          f.get(pa).mem(splat, r * E).set(av);
          for (let j = 0; j < nv; j++) {
            const x = acc[r]![j]!;
            if (s.fma) f.get(av).get(bv[j]!).get(x).op(`${v}.relaxed_madd`).set(x);
            else f.get(x).get(av).get(bv[j]!).op(`${v}.mul`).op(`${v}.add`).set(x);
          }
        }
        f.inc(pa, s.mr * E).inc(pb, s.nr * E);
        f.get(pa).get(paEnd).op('i32.lt_u').brIf(0);
      });
      // the first K block stores the tile, later ones add their sum to it
      const storeTile = (add: boolean) => {
        for (let r = 0; r < s.mr; r++) {
          for (let j = 0; j < nv; j++) {
            f.get(c);
            if (add) f.get(c).mem('v128.load', j * 16).get(acc[r]![j]!).op(`${v}.add`);
            else f.get(acc[r]![j]!);
            f.mem('v128.store', j * 16);
          }
          if (r < s.mr - 1) f.get(c).get(ldc).op('i32.add').set(c);
        }
      };
      f.get(pc).if(
        () => storeTile(true),
        () => storeTile(false),
      );
    }
  });
}
