/**
 * The generated GEMM kernels, C = op(A) · op(B) in the BLIS/Goto scheme, for float32 (f32x4) and
 * float64 (f64x2), where op(X) is X or Xᵀ: operands are read where they lie (a tensor's region of
 * the wasm memory), in either layout, so neither x·Wᵀ nor the backward products xᵀ·g and g·Wᵀ
 * materialise a transpose, and C is written straight into the output's region. Two exports per
 * dtype (suffix f32 / f64):
 *
 *   packb(b, ldb, transB, k, n, p0, p1, bp)
 *       Column panels p0 ≤ p < p1 of op(B) [k, n] → panels of NR columns, each [k][NR], at
 *       bp + p·k·NR·E; columns past n are zero. op(B)[q, j] is at b + q·ldb + j·E, or with transB
 *       (B stored as its transpose, [n, k]) at b + j·ldb + q·E. Full panels are copied a vector at
 *       a time (a transposed B as lanes×lanes blocks transposed in registers by shuffles); the
 *       last panel, when it overhangs n, element by element.
 *   gemm(a, lda, transA, bp, c, ldc, m, n, k, mPanels, nPanels, work, counter, mcp)
 *       op(A) [m, k] times the packed B into C [m, n] (row pitch `ldc` bytes). op(A)[i, q] is at
 *       a + i·lda + q·E, or with transA (A stored as [k, m]) at a + q·lda + i·E. Row blocks of
 *       `mcp` panels are handed out by an atomic fetch-and-add on the i32 at `counter` (zeroed by
 *       the caller), so any number of threads may run the same call and share the work, a slow
 *       thread simply taking fewer blocks. `work` is this thread's scratch (see gemmWorkBytes): one
 *       packed A block (mcp·MR·KC values) and one MR×NR edge tile.
 *
 * Loops, outer to inner: ic, the next row block from the counter; pc over K in blocks of KC,
 * packing that A block into `work` as panels [kc][MR] (it then stays in L2; rows past m are packed
 * as zeros, and a transposed A packs a whole panel row with vector loads); jr over column panels
 * (one B micro-panel, KC·NR values, stays in L1); ir over the block's row panels; the MR×NR
 * micro-kernel: MR·NR/lanes v128 accumulators; per k, NR/lanes vector loads of B, MR splat loads
 * of A and MR·NR/lanes multiply-adds. The accumulators start at zero on every K block; the first
 * block stores the tile, later ones add their sum to it, so float32 sums are blocked: the error is
 * about (KC + K/KC)·ε·Σ|a·b|, where one running sum over K loses every term below half an ulp of
 * the total. A tile that overhangs C (the last rows or columns) is stored through the edge tile,
 * and only its part inside C is copied (and, on later K blocks, read back). A last column panel at
 * most half full (cols ≤ NR/2: n = 10 leaves 2 of 8) runs the micro-kernel on its first NR/2
 * columns only, from the same packed panel.
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

/** Bytes of the per-thread `work` scratch that `gemm` needs for row blocks of `mcp` panels: the packed A block and the edge tile. */
export const gemmWorkBytes = (s: GemmShape, mcp: number): number => (mcp * s.mr * s.kc + s.mr * s.nr) * (s.dtype === 'float32' ? 4 : 8);

/** A row pitch in bytes: a local's value or a constant. */
type Pitch = { readonly local: number } | { readonly bytes: number };

/** Adds the `packb_*` and `gemm_*` kernels for `s` to `mod`. */
export function addGemmKernel(mod: ModuleBuilder, s: GemmShape): void {
  const f32 = s.dtype === 'float32';
  const E = f32 ? 4 : 8;
  const lanes = 16 / E;
  const nv = s.nr / lanes;
  const av = (s.mr * E) / 16;
  if (!Number.isInteger(nv) || !Number.isInteger(av) || s.mc % s.mr !== 0 || s.kc < 1) throw new Error(`addGemmKernel: inconsistent blocking ${JSON.stringify(s)}`);
  const v = f32 ? 'f32x4' : 'f64x2';
  const splat = f32 ? 'v128.load32_splat' : 'v128.load64_splat';
  const load = f32 ? 'f32.load' : 'f64.load';
  const store = f32 ? 'f32.store' : 'f64.store';
  const zero = (f: FnBuilder) => (f32 ? f.f32(0) : f.f64(0));
  /** local `out` = min(bound, local `x`), with `x` already set. */
  const minInto = (f: FnBuilder, out: number, bound: number, x: () => void) => {
    f.i32(bound);
    x();
    f.tee(out).i32(bound).get(out).op('i32.lt_s').op('select').set(out);
  };
  /**
   * Copies `count` values, one per `outer` step, each of `width` (≤ `limit` valid, the rest zero):
   * dst[o][w] = w < valid ? load(src + o·stepO + w·stepW) : 0, dst advancing `limit`·E per o.
   */
  const maskedCopy = (f: FnBuilder, l: { src: number; dst: number; o: number; w: number; p: number }, count: number, limit: number, valid: number, stepO: number, stepW: number) => {
    f.for(l.o, () => f.i32(0), count, 1, () => {
      f.get(l.src).set(l.p);
      for (let w = 0; w < limit; w++) {
        f.i32(w).get(valid).op('i32.lt_s').if(
          () => f.get(l.dst).get(l.p).mem(load).mem(store, w * E),
          () => zero(f.get(l.dst)).mem(store, w * E),
        );
        if (w < limit - 1) f.get(l.p).get(stepW).op('i32.add').set(l.p);
      }
      f.get(l.src).get(stepO).op('i32.add').set(l.src);
      f.inc(l.dst, limit * E);
    });
  };

  mod.func(packBName(s), ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (f) => {
    const [b, ldb, transB, k, n, p0, p1, bp] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => f.param(i)) as [number, number, number, number, number, number, number, number];
    const p = f.local('i32');
    const q = f.local('i32');
    const src = f.local('i32');
    const dst = f.local('i32');
    const cols = f.local('i32');
    const stepQ = f.local('i32');
    const stepJ = f.local('i32');
    const w = f.local('i32');
    const ptr = f.local('i32');
    const kv = f.local('i32');
    const kt = f.local('i32');
    const rows = Array.from({ length: s.nr }, () => f.local('v128'));
    const tmp = Array.from({ length: lanes }, () => f.local('v128'));
    const copy = { src, dst, o: q, w, p: ptr };
    // op(B)[q, j] at b + q·stepQ + j·stepJ
    f.get(transB).if(
      () => f.i32(E).set(stepQ).get(ldb).set(stepJ),
      () => f.get(ldb).set(stepQ).i32(E).set(stepJ),
    );
    f.get(k).i32(-lanes).op('i32.and').tee(kv).get(k).op('i32.sub').i32(-1).op('i32.mul').set(kt);
    f.get(bp).get(p0).get(k).op('i32.mul').i32(s.nr * E).op('i32.mul').op('i32.add').set(dst);
    f.for(p, () => f.get(p0), p1, 1, () => {
      minInto(f, cols, s.nr, () => f.get(n).get(p).i32(s.nr).op('i32.mul').op('i32.sub'));
      f.get(b).get(p).i32(s.nr).op('i32.mul').get(stepJ).op('i32.mul').op('i32.add').set(src);
      f.get(cols).i32(s.nr).op('i32.ne').if(
        // the last panel, past n: element by element, zeros beyond
        () => maskedCopy(f, copy, k, s.nr, cols, stepQ, stepJ),
        () =>
          f.get(transB).if(
            // B stored [n, k]: `lanes` values of each of the panel's NR source rows at a time,
            // transposed in registers into `lanes` rows of the panel; the k % lanes left one by one
            () => {
              f.for(q, () => f.i32(0), kv, lanes, () => {
                f.get(src).set(ptr);
                for (let j = 0; j < s.nr; j++) {
                  f.get(ptr).mem('v128.load', 0, 0).set(rows[j]!);
                  if (j < s.nr - 1) f.get(ptr).get(ldb).op('i32.add').set(ptr);
                }
                for (let g = 0; g < nv; g++) transposeInto(f, rows.slice(g * lanes, (g + 1) * lanes), g * 16);
                f.inc(src, lanes * E).inc(dst, lanes * s.nr * E);
              });
              maskedCopy(f, copy, kt, s.nr, cols, stepQ, stepJ);
            },
            // B stored [k, n]: a panel row is NR adjacent values
            () =>
              f.for(q, () => f.i32(0), k, 1, () => {
                for (let j = 0; j < nv; j++) f.get(dst).get(src).mem('v128.load', j * 16).mem('v128.store', j * 16);
                f.get(src).get(ldb).op('i32.add').set(src);
                f.inc(dst, s.nr * E);
              }),
          ),
      );
    });

    /**
     * Stores the transpose of the lanes×lanes block in `r` (r[j] = column j's values for rows
     * q … q+lanes) as rows t of the panel: dst + t·NR·E + `at` ← (r[0][t], …, r[lanes−1][t]).
     */
    function transposeInto(f: FnBuilder, r: readonly number[], at: number): void {
      const store = (t: number) => f.mem('v128.store', t * s.nr * E + at);
      if (lanes === 2) {
        f.get(dst).get(r[0]!).get(r[1]!).shuffle([0, 2], 8);
        store(0);
        f.get(dst).get(r[0]!).get(r[1]!).shuffle([1, 3], 8);
        store(1);
        return;
      }
      f.get(r[0]!).get(r[1]!).shuffle([0, 4, 1, 5], 4).set(tmp[0]!);
      f.get(r[0]!).get(r[1]!).shuffle([2, 6, 3, 7], 4).set(tmp[1]!);
      f.get(r[2]!).get(r[3]!).shuffle([0, 4, 1, 5], 4).set(tmp[2]!);
      f.get(r[2]!).get(r[3]!).shuffle([2, 6, 3, 7], 4).set(tmp[3]!);
      f.get(dst).get(tmp[0]!).get(tmp[2]!).shuffle([0, 1, 4, 5], 4);
      store(0);
      f.get(dst).get(tmp[0]!).get(tmp[2]!).shuffle([2, 3, 6, 7], 4);
      store(1);
      f.get(dst).get(tmp[1]!).get(tmp[3]!).shuffle([0, 1, 4, 5], 4);
      store(2);
      f.get(dst).get(tmp[1]!).get(tmp[3]!).shuffle([2, 3, 6, 7], 4);
      store(3);
    }
  });

  mod.func(gemmName(s), ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], (f) => {
    const [a, lda, transA, bp, cp, ldc, m, n, k, mPanels, nPanels, work, counter, mcp] = Array.from({ length: 14 }, (_, i) => f.param(i)) as [
      number, number, number, number, number, number, number, number, number, number, number, number, number, number,
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
    const rows = f.local('i32');
    const cols = f.local('i32');
    const stepQ = f.local('i32');
    const stepI = f.local('i32');
    const edge = f.local('i32');
    const isEdge = f.local('i32');
    const tb = f.local('i32');
    const tp = f.local('i32');
    const r = f.local('i32');
    const w = f.local('i32');
    const ptr = f.local('i32');
    const sv = f.local('v128');
    const bv = Array.from({ length: nv }, () => f.local('v128'));
    const acc = Array.from({ length: s.mr }, () => Array.from({ length: nv }, () => f.local('v128')));

    f.get(k).i32(s.nr * E).op('i32.mul').set(strideB);
    // op(A)[i, q] at a + i·stepI + q·stepQ
    f.get(transA).if(
      () => f.get(lda).set(stepQ).i32(E).set(stepI),
      () => f.i32(E).set(stepQ).get(lda).set(stepI),
    );
    f.get(work).get(mcp).i32(s.mr * s.kc * E).op('i32.mul').op('i32.add').set(edge);
    f.block(() => {
      f.loop(() => {
        // ic = mcp · (the next block number); stop past the last row panel
        f.get(counter).i32(1).mem('i32.atomic.rmw.add').get(mcp).op('i32.mul').tee(ic).get(mPanels).op('i32.ge_s').brIf(1);
        f.get(ic).get(mcp).op('i32.add').tee(icEnd).get(mPanels).get(icEnd).get(mPanels).op('i32.lt_s').op('select').set(icEnd);
        f.for(pc, () => f.i32(0), k, s.kc, () => {
          // kc = min(KC, k − pc)
          minInto(f, kc, s.kc, () => f.get(k).get(pc).op('i32.sub'));
          packABlock(f);
          f.for(jr, () => f.i32(0), nPanels, 1, () => {
            f.for(ir, () => f.get(ic), icEnd, 1, () => microKernel(f));
          });
        });
        f.br(0);
      });
    });

    /** work ← op(A)[ic·MR … icEnd·MR, pc … pc+kc] as panels [kc][MR], rows past m zero. */
    function packABlock(f: FnBuilder): void {
      f.get(work).set(dst);
      f.for(ir, () => f.get(ic), icEnd, 1, () => {
        minInto(f, rows, s.mr, () => f.get(m).get(ir).i32(s.mr).op('i32.mul').op('i32.sub'));
        // src = op(A)[ir·MR, pc]
        f.get(a).get(ir).i32(s.mr).op('i32.mul').get(stepI).op('i32.mul').op('i32.add').get(pc).get(stepQ).op('i32.mul').op('i32.add').set(src);
        f.get(rows).i32(s.mr).op('i32.ne').if(
          () => maskedCopy(f, { src, dst, o: q, w, p: ptr }, kc, s.mr, rows, stepQ, stepI),
          () =>
            f.get(transA).if(
              // a panel's row of op(A) is MR adjacent values of A's row pc+q
              () =>
                f.for(q, () => f.i32(0), kc, 1, () => {
                  for (let j = 0; j < av; j++) f.get(dst).get(src).mem('v128.load', j * 16, 0).mem('v128.store', j * 16);
                  f.get(src).get(lda).op('i32.add').set(src);
                  f.inc(dst, s.mr * E);
                }),
              () =>
                f.for(q, () => f.i32(0), kc, 1, () => {
                  for (let rr = 0; rr < s.mr; rr++) {
                    f.get(dst);
                    f.get(src);
                    if (rr > 0) f.get(lda).i32(rr).op('i32.mul').op('i32.add');
                    f.mem(load).mem(store, rr * E);
                  }
                  f.inc(src, E).inc(dst, s.mr * E);
                }),
            ),
        );
      });
    }

    /** One MR×NR tile: C[ir, jr] (+)= op(A)[ir, pc:pc+kc] · op(B)[pc:pc+kc, jr]. */
    function microKernel(f: FnBuilder): void {
      // pa = work + (ir − ic)·kc·MR·E ; pb = bp + jr·strideB + pc·NR·E ; c = cp + ir·MR·ldc + jr·NR·E
      f.get(work).get(ir).get(ic).op('i32.sub').get(kc).op('i32.mul').i32(s.mr * E).op('i32.mul').op('i32.add').set(pa);
      f.get(bp).get(jr).get(strideB).op('i32.mul').op('i32.add').get(pc).i32(s.nr * E).op('i32.mul').op('i32.add').set(pb);
      f.get(cp).get(ir).i32(s.mr).op('i32.mul').get(ldc).op('i32.mul').op('i32.add').get(jr).i32(s.nr * E).op('i32.mul').op('i32.add').set(c);
      f.get(pa).get(kc).i32(s.mr * E).op('i32.mul').op('i32.add').set(paEnd);
      // a tile overhanging C goes through the edge tile: rows = min(MR, m − ir·MR), cols likewise
      minInto(f, rows, s.mr, () => f.get(m).get(ir).i32(s.mr).op('i32.mul').op('i32.sub'));
      minInto(f, cols, s.nr, () => f.get(n).get(jr).i32(s.nr).op('i32.mul').op('i32.sub'));
      // a last column panel at most half full (n = 10 leaves 2 of 8) computes only its first half
      if (nv % 2 === 0)
        f.get(cols)
          .i32(s.nr / 2)
          .op('i32.le_s')
          .if(
            () => tile(f, nv / 2),
            () => tile(f, nv),
          );
      else tile(f, nv);
    }

    /** The tile of the micro-kernel over its first `w` vectors of columns (w·lanes ≥ cols). */
    function tile(f: FnBuilder, w: number): void {
      // accumulators start at zero on every K block, and the block's sum is added to the tile at the
      // end: a running sum carried from block to block would round away every term below half an
      // ulp of the total (2^25 products of 1 summed in float32 stop at 2^24)
      if (f32) f.f32(0).op('f32x4.splat');
      else f.f64(0).op('f64x2.splat');
      f.set(sv);
      for (let rr = 0; rr < s.mr; rr++) for (let j = 0; j < w; j++) f.get(sv).set(acc[rr]![j]!);
      f.loop(() => {
        for (let j = 0; j < w; j++) f.get(pb).mem('v128.load', j * 16).set(bv[j]!);
        for (let rr = 0; rr < s.mr; rr++) {
          f.get(pa).mem(splat, rr * E).set(sv);
          for (let j = 0; j < w; j++) {
            const x = acc[rr]![j]!;
            if (s.fma) f.get(sv).get(bv[j]!).get(x).op(`${v}.relaxed_madd`).set(x);
            else f.get(x).get(sv).get(bv[j]!).op(`${v}.mul`).op(`${v}.add`).set(x);
          }
        }
        f.inc(pa, s.mr * E).inc(pb, s.nr * E);
        f.get(pa).get(paEnd).op('i32.lt_u').brIf(0);
      });
      f.get(rows).i32(s.mr).op('i32.ne').get(cols).i32(s.nr).op('i32.ne').op('i32.or').tee(isEdge).if(
        () => {
          f.get(edge).set(tb).i32(s.nr * E).set(tp);
          f.get(pc).if(() => copyTile(f, c, { local: ldc }, edge, { bytes: s.nr * E }));
        },
        () => f.get(c).set(tb).get(ldc).set(tp),
      );
      // the first K block stores the tile, later ones add their sum to it
      const storeTile = (add: boolean) => {
        for (let rr = 0; rr < s.mr; rr++) {
          for (let j = 0; j < w; j++) {
            f.get(tb);
            if (add) f.get(tb).mem('v128.load', j * 16).get(acc[rr]![j]!).op(`${v}.add`);
            else f.get(acc[rr]![j]!);
            f.mem('v128.store', j * 16);
          }
          if (rr < s.mr - 1) f.get(tb).get(tp).op('i32.add').set(tb);
        }
      };
      f.get(pc).if(
        () => storeTile(true),
        () => storeTile(false),
      );
      f.get(isEdge).if(() => copyTile(f, edge, { bytes: s.nr * E }, c, { local: ldc }));
    }

    /** The rows × cols corner of a tile, from `from` (row pitch `fromPitch`) to `to` (row pitch `toPitch`). */
    function copyTile(f: FnBuilder, from: number, fromPitch: Pitch, to: number, toPitch: Pitch): void {
      const push = (p: Pitch) => ('local' in p ? f.get(p.local) : f.i32(p.bytes));
      const at = (base: number, p: Pitch) => {
        f.get(base).get(r);
        push(p);
        f.op('i32.mul').op('i32.add').get(w).i32(E).op('i32.mul').op('i32.add');
      };
      f.for(r, () => f.i32(0), rows, 1, () => {
        f.for(w, () => f.i32(0), cols, 1, () => {
          at(to, toPitch);
          at(from, fromPitch);
          f.mem(load).mem(store);
        });
      });
    }
  });
}
