/**
 * Thinning a long series for a chart. A run of 200,000 steps has 200,000 loss points, but a chart
 * 400 pixels wide shows at most a few per pixel column; drawing them all makes a 20 MB SVG and
 * takes vega tens of seconds. The series is cut into equal runs of consecutive points (buckets)
 * and only the lowest and the highest point of each are kept (in their order), plus the first and
 * the last point: the drawn line still reaches every spike and every dip, at the price of the
 * detail inside a bucket, which no one could see.
 */

/** Buckets per series by default: at most 2·1000 + 2 points drawn, whatever the run's length. */
export const DEFAULT_BUCKETS = 1000;

/**
 * The points of `points` to draw: all of them when there are at most `2·buckets + 2`, else, in
 * their order, the first and the last and in each of `buckets` runs of consecutive points the one
 * with the least and the one with the greatest `value` (the first such). Points whose value is
 * not finite (NaN, ±∞) are not drawn by the charts and never chosen as extremes; a bucket with no
 * finite value keeps its first point.
 *
 *     thinSeries(steps, (s) => s.loss)   // ≤ 2002 steps, the extremes of each stretch kept
 */
export function thinSeries<T>(points: readonly T[], value: (p: T) => number, buckets = DEFAULT_BUCKETS): T[] {
  const n = points.length;
  if (!(buckets >= 1)) throw new RangeError(`thinSeries: expected at least one bucket, got ${buckets}`);
  if (n <= 2 * buckets + 2) return [...points];
  const keep = new Set<number>([0, n - 1]);
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets);
    const hi = Math.floor(((b + 1) * n) / buckets);
    let iMin = -1;
    let iMax = -1;
    for (let i = lo; i < hi; i++) {
      const v = value(points[i]!);
      if (!Number.isFinite(v)) continue;
      if (iMin < 0 || v < value(points[iMin]!)) iMin = i;
      if (iMax < 0 || v > value(points[iMax]!)) iMax = i;
    }
    if (iMin < 0) keep.add(lo);
    else keep.add(iMin).add(iMax);
  }
  return [...keep].sort((a, b) => a - b).map((i) => points[i]!);
}
