/**
 * SortedWindow: the last `capacity` values of a stream, kept both in arrival
 * order (ring) and sorted (a typed array), for rolling order statistics.
 *
 * - push(x): O(log n) binary search + O(n) memmove (`copyWithin`) to insert, and
 *   the same to evict the oldest value once full. For n of a few thousand the
 *   memmove is a few microseconds; no sort per push.
 * - median(): O(1). mad(): O(log n), the k-th smallest of the two sorted
 *   deviation sequences left and right of the median. quantile(p): O(1).
 *
 * Definitions (n = size, a = sorted values):
 *   median = a[(n-1)/2] for odd n, (a[n/2-1] + a[n/2]) / 2 for even n;
 *   mad    = median of |a_i - median| (same even-n averaging), unscaled;
 *   quantile(p) = type 7 (linear interpolation, numpy's default):
 *                 h = (n-1)p, a[floor h] + (h - floor h)(a[floor h + 1] - a[floor h]).
 * Empty window: NaN. Non-finite values must not be pushed (throws RangeError).
 *
 * Example:
 *   const w = new SortedWindow(3);
 *   [5, 1, 3, 10].forEach((x) => w.push(x));   // window = 1, 3, 10
 *   w.median();   // 3
 *   w.mad();      // median(|1-3|, |3-3|, |10-3|) = 2
 */
export class SortedWindow {
  private readonly ring: Float64Array;
  private readonly sorted: Float64Array;
  private head = 0; // index of the oldest value in ring
  private n = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`SortedWindow capacity must be an integer >= 1, got ${capacity}`);
    this.ring = new Float64Array(capacity);
    this.sorted = new Float64Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  /** The sorted contents (a view; valid until the next push). */
  sortedView(): Float64Array {
    return this.sorted.subarray(0, this.n);
  }

  push(x: number): void {
    if (!Number.isFinite(x)) throw new RangeError(`SortedWindow.push: non-finite value ${x}`);
    const cap = this.capacity;
    const a = this.sorted;
    if (this.n === cap) {
      const old = this.ring[this.head];
      this.ring[this.head] = x;
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
      // remove `old`, insert `x`: shift only the span between their positions
      const i = lowerBound(a, this.n, old);
      const j = lowerBound(a, this.n, x);
      if (j > i) {
        // x goes after old: shift (i, j) left by one; x lands at j-1
        a.copyWithin(i, i + 1, j);
        a[j - 1] = x;
      } else {
        // x goes at or before old: shift [j, i) right by one
        a.copyWithin(j + 1, j, i);
        a[j] = x;
      }
      return;
    }
    let tail = this.head + this.n;
    if (tail >= cap) tail -= cap;
    this.ring[tail] = x;
    const j = upperBound(a, this.n, x);
    a.copyWithin(j + 1, j, this.n);
    a[j] = x;
    this.n++;
  }

  clear(): void {
    this.head = 0;
    this.n = 0;
  }

  median(): number {
    const n = this.n;
    if (n === 0) return NaN;
    const a = this.sorted;
    const h = n >> 1;
    return n & 1 ? a[h] : (a[h - 1] + a[h]) / 2;
  }

  quantile(p: number): number {
    const n = this.n;
    if (n === 0) return NaN;
    const a = this.sorted;
    const h = (n - 1) * p;
    const lo = Math.floor(h);
    if (lo >= n - 1) return a[n - 1];
    if (lo < 0) return a[0];
    const f = h - lo;
    return f === 0 ? a[lo] : a[lo] + f * (a[lo + 1] - a[lo]);
  }

  /** Median absolute deviation from the median (unscaled). */
  mad(): number {
    const n = this.n;
    if (n === 0) return NaN;
    const m = this.median();
    const h = n >> 1;
    if (n & 1) return this.kthDeviation(m, h, h);
    // even n: the h-1-th and h-th smallest deviations; the h-th is the next one of the merge after
    // the h-1-th (the smaller of the two sequences' next values), so one search gives both
    const lower = this.kthDeviation(m, h, h - 1);
    const a = this.sorted;
    const i = this.taken;
    const j = h - i;
    const li = i < h ? m - a[h - 1 - i] : Infinity;
    const rj = j < n - h ? a[h + j] - m : Infinity;
    return (lower + (li < rj ? li : rj)) / 2;
  }

  /** How many of the k+1 smallest deviations the last `kthDeviation` took from L (the rest from R). */
  private taken = 0;

  /**
   * k-th smallest (0-based) of |a_i - m| as the merge of two ascending sequences:
   * L[i] = m - a[h-1-i] (i < h) and R[j] = a[h+j] - m (j < n-h), where a[h-1] <= m <= a[h].
   */
  private kthDeviation(m: number, h: number, k: number): number {
    const a = this.sorted;
    const nl = h;
    const nr = this.n - h;
    // i = how many of the k+1 smallest come from L; smallest i with L[i] >= R[k-i]
    let lo = Math.max(0, k + 1 - nr);
    let hi = Math.min(k + 1, nl);
    while (lo < hi) {
      const i = (lo + hi) >> 1;
      const j = k - i; // R index compared, j >= 0 since i <= k
      const li = m - a[h - 1 - i];
      const rj = a[h + j] - m;
      if (li < rj) lo = i + 1;
      else hi = i;
    }
    const i = lo;
    const j = k + 1 - i;
    this.taken = i;
    const lPrev = i > 0 ? m - a[h - i] : -Infinity;
    const rPrev = j > 0 ? a[h + j - 1] - m : -Infinity;
    return lPrev > rPrev ? lPrev : rPrev;
  }
}

/** First index in a[0..n) with a[idx] >= x. */
function lowerBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in a[0..n) with a[idx] > x. */
function upperBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
