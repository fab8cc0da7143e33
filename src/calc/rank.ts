/**
 * Spearman rank correlation with average ranks for ties:
 *   rho = pearson(rank(x), rank(y)),  rank = 1-based position in ascending order,
 *   tied values share the mean of their positions.
 * NaN when n < 2 or either ranking is constant (zero variance). Unitless, in [-1, 1].
 *
 * Cost: O(n log n) (one native sort per variable); allocation-free when the same
 * `SpearmanScratch` is reused (sized to the largest n seen).
 *
 * Example:
 *   spearman(Float64Array.of(1, 2, 3), Float64Array.of(0, 0, 1), 3)   // 0.866...
 */
export class SpearmanScratch {
  sorted = new Float64Array(0);
  rx = new Float64Array(0);
  ry = new Float64Array(0);
  ensure(n: number): void {
    if (this.sorted.length >= n) return;
    const m = Math.max(n, this.sorted.length * 2);
    this.sorted = new Float64Array(m);
    this.rx = new Float64Array(m);
    this.ry = new Float64Array(m);
  }
}

const shared = new SpearmanScratch();

/** Average rank (1-based) of x among the ascending `sorted[0..n)`, which must contain x. */
export function rankInSorted(sorted: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (sorted[m] < x) lo = m + 1;
    else hi = m;
  }
  let up = lo + 1;
  if (up < n && sorted[up] === x) {
    hi = n;
    while (up < hi) {
      const m = (up + hi) >> 1;
      if (sorted[m] <= x) up = m + 1;
      else hi = m;
    }
  }
  return (lo + 1 + up) / 2; // mean of the 1-based positions lo+1..up of x's run of ties
}

/**
 * Average ranks of v[0..n) into out[0..n); `sorted` is scratch of length >= n.
 * The values are sorted natively (no comparator) and each rank is found by
 * binary search (`rankInSorted`). NaN must not occur.
 */
export function averageRanks(v: ArrayLike<number>, n: number, out: Float64Array, sorted: Float64Array): void {
  const a = sorted.subarray(0, n);
  for (let i = 0; i < n; i++) a[i] = v[i];
  a.sort();
  for (let i = 0; i < n; i++) out[i] = rankInSorted(a, n, v[i]);
}

export function spearman(x: ArrayLike<number>, y: ArrayLike<number>, n: number, scratch: SpearmanScratch = shared): number {
  if (n < 2) return NaN;
  scratch.ensure(n);
  averageRanks(x, n, scratch.rx, scratch.sorted);
  averageRanks(y, n, scratch.ry, scratch.sorted);
  return pearsonOfRanks(scratch.rx, scratch.ry, n);
}

/**
 * Spearman of x[0..n), y[0..n) given their values already sorted ascending
 * (`xs`, `ys`, e.g. kept incrementally by a SortedWindow): the same ranks, so
 * the same result as `spearman`, in O(n log n) binary searches without a sort.
 */
export function spearmanPresorted(
  x: ArrayLike<number>, y: ArrayLike<number>, n: number, xs: Float64Array, ys: Float64Array, scratch: SpearmanScratch = shared,
): number {
  if (n < 2) return NaN;
  scratch.ensure(n);
  const rx = scratch.rx;
  const ry = scratch.ry;
  for (let i = 0; i < n; i++) {
    rx[i] = rankInSorted(xs, n, x[i]);
    ry[i] = rankInSorted(ys, n, y[i]);
  }
  return pearsonOfRanks(rx, ry, n);
}

function pearsonOfRanks(rx: Float64Array, ry: Float64Array, n: number): number {
  const mean = (n + 1) / 2; // mean of average ranks is always (n+1)/2
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const a = rx[i] - mean;
    const b = ry[i] - mean;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return sxy / Math.sqrt(sxx * syy);
}
