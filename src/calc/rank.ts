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

export function spearman(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  n: number,
  scratch: SpearmanScratch = shared,
): number {
  if (n < 2) return NaN;
  scratch.ensure(n);
  averageRanks(x, n, scratch.rx, scratch.sorted);
  averageRanks(y, n, scratch.ry, scratch.sorted);
  return pearsonOfRanks(scratch.rx, scratch.ry, n);
}

/**
 * Spearman over a sliding window of the last `capacity` (x, y) pairs, with the
 * average ranks kept incrementally: element i's rank is
 *   1 + #{j != i: v_j < v_i} + #{j != i: v_j = v_i} / 2,
 * so a value v entering adds 1 to every rank above v and 1/2 to every tie, and
 * leaving subtracts the same. Ranks are multiples of 1/2 (exact in floating
 * point), equal to `averageRanks`, and `rho()` sums them in the same order
 * (oldest first) as `spearman` on the window: the same result bit for bit.
 * Cost: O(capacity) per push, O(size) per rho(); no sort, no allocation.
 */
export class SlidingSpearman {
  private readonly x: Float64Array;
  private readonly y: Float64Array;
  private readonly rx: Float64Array;
  private readonly ry: Float64Array;
  private head = 0;
  private n = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`SlidingSpearman capacity must be an integer >= 1, got ${capacity}`);
    this.x = new Float64Array(capacity);
    this.y = new Float64Array(capacity);
    this.rx = new Float64Array(capacity);
    this.ry = new Float64Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  /** Add a pair (finite values), evicting the oldest when full. */
  push(xv: number, yv: number): void {
    if (!Number.isFinite(xv) || !Number.isFinite(yv))
      throw new RangeError(`SlidingSpearman.push: non-finite pair (${xv}, ${yv})`);
    const W = this.capacity;
    if (this.n === W) {
      const h = this.head;
      this.head = h + 1 === W ? 0 : h + 1;
      this.n--;
      shift(this.x, this.rx, this.head, this.n, W, this.x[h], -1);
      shift(this.y, this.ry, this.head, this.n, W, this.y[h], -1);
    }
    let slot = this.head + this.n;
    if (slot >= W) slot -= W;
    this.rx[slot] = shift(this.x, this.rx, this.head, this.n, W, xv, 1);
    this.ry[slot] = shift(this.y, this.ry, this.head, this.n, W, yv, 1);
    this.x[slot] = xv;
    this.y[slot] = yv;
    this.n++;
  }

  clear(): void {
    this.head = 0;
    this.n = 0;
  }

  /** Spearman rho of the window (NaN if < 2 pairs or either ranking is constant). */
  rho(): number {
    const n = this.n;
    if (n < 2) return NaN;
    const W = this.capacity;
    const mean = (n + 1) / 2;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0, j = this.head; i < n; i++, j = j + 1 === W ? 0 : j + 1) {
      const a = this.rx[j] - mean;
      const b = this.ry[j] - mean;
      sxy += a * b;
      sxx += a * a;
      syy += b * b;
    }
    if (sxx === 0 || syy === 0) return NaN;
    return sxy / Math.sqrt(sxx * syy);
  }
}

/**
 * Value v enters (sign 1) or leaves (sign -1) the n ring entries from `head`:
 * adjust their ranks; returns v's own rank among them (for an entering value).
 */
function shift(v: Float64Array, r: Float64Array, head: number, n: number, W: number, x: number, sign: number): number {
  let below = 0;
  let ties = 0;
  for (let i = 0, j = head; i < n; i++, j = j + 1 === W ? 0 : j + 1) {
    const vj = v[j];
    if (x < vj) r[j] += sign;
    else if (x === vj) {
      r[j] += sign * 0.5;
      ties++;
    } else below++;
  }
  return 1 + below + ties / 2;
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
