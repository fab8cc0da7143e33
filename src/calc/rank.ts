/**
 * Spearman rank correlation with average ranks for ties:
 *   rho = pearson(rank(x), rank(y)),  rank = 1-based position in ascending order,
 *   tied values share the mean of their positions.
 * NaN when n < 2 or either ranking is constant (zero variance). Unitless, in [-1, 1].
 *
 * Cost: O(n log n) (one index sort per variable); allocation-free when the same
 * `SpearmanScratch` is reused (sized to the largest n seen).
 *
 * Example:
 *   spearman(Float64Array.of(1, 2, 3), Float64Array.of(0, 0, 1), 3)   // 0.866...
 */
export class SpearmanScratch {
  idx = new Int32Array(0);
  rx = new Float64Array(0);
  ry = new Float64Array(0);
  ensure(n: number): void {
    if (this.idx.length >= n) return;
    const m = Math.max(n, this.idx.length * 2);
    this.idx = new Int32Array(m);
    this.rx = new Float64Array(m);
    this.ry = new Float64Array(m);
  }
}

const shared = new SpearmanScratch();

/** Average ranks of v[0..n) into out[0..n); idx is scratch of length >= n. */
export function averageRanks(v: ArrayLike<number>, n: number, out: Float64Array, idx: Int32Array): void {
  for (let i = 0; i < n; i++) idx[i] = i;
  const sub = idx.subarray(0, n);
  sub.sort((a, b) => v[a] - v[b] || a - b);
  let i = 0;
  while (i < n) {
    let j = i + 1;
    const vi = v[sub[i]];
    while (j < n && v[sub[j]] === vi) j++;
    const r = (i + 1 + j) / 2; // mean of 1-based positions i+1..j
    for (let k = i; k < j; k++) out[sub[k]] = r;
    i = j;
  }
}

export function spearman(x: ArrayLike<number>, y: ArrayLike<number>, n: number, scratch: SpearmanScratch = shared): number {
  if (n < 2) return NaN;
  scratch.ensure(n);
  const rx = scratch.rx;
  const ry = scratch.ry;
  averageRanks(x, n, rx, scratch.idx);
  averageRanks(y, n, ry, scratch.idx);
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
