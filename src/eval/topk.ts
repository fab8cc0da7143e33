/**
 * topk_hit_rate_5p (ARCHITECTURE §5): sign accuracy among the top 5% |score|.
 *
 *   valid rows   : finite score and y in {0, 1}             (n)
 *   k            : ceil(frac · n)                            (frac = 0.05)
 *   cut          : the k-th largest |score| among valid rows
 *   bucket       : valid rows with |score| >= cut AND score != 0
 *   hit          : (score > 0 and y = 1) or (score < 0 and y = 0)
 *   value        : hits / bucket
 *
 * Tie rule (deterministic, independent of row order): every row tied with the
 * k-th largest |score| is in the bucket, so the bucket can be larger than k
 * (`ties_at_cut` = rows with |score| = cut in the bucket). Rows with score
 * exactly 0 (gated: no directional call) are never in the bucket
 * (`zeros_dropped` counts those that would have been).
 * Insufficient (value null) when bucket < `min_bucket` (default 20).
 *
 * Cost: O(n log n) (native sort of |score|), O(n) scratch.
 *
 * Example: scores ±1..±100 with y matching the sign on the top 10 → value 1, k = 5.
 */
import type { Metric } from './metric.js';
import { checkInt } from './metric.js';

export interface TopkOptions {
  /** Fraction of rows (default 0.05). */
  readonly frac?: number;
  /** Minimum bucket size (default 20). */
  readonly min_bucket?: number;
}

export interface TopkResult extends Metric {
  /** Valid rows (finite score, labelled). */
  readonly n: number;
  readonly k: number;
  /** |score| threshold (NaN when n = 0). */
  readonly cut: number;
  readonly bucket: number;
  readonly hits: number;
  readonly ties_at_cut: number;
  readonly zeros_dropped: number;
}

export function topkHitRate(score: ArrayLike<number>, y: ArrayLike<number>, opts: TopkOptions = {}): TopkResult {
  const frac = opts.frac ?? 0.05;
  if (!(frac > 0 && frac <= 1)) throw new RangeError(`topk: frac must be in (0, 1], got ${frac}`);
  const minB = checkInt('min_bucket', opts.min_bucket ?? 20, 1);
  const len = score.length;
  if (y.length !== len) throw new RangeError(`topk: score has ${len} rows but y has ${y.length}`);
  const abs = new Float64Array(len);
  let n = 0;
  for (let i = 0; i < len; i++) {
    const s = score[i];
    const yi = y[i];
    if (s !== s || (yi !== 0 && yi !== 1)) continue;
    abs[n++] = s < 0 ? -s : s;
  }
  if (n === 0) return topkResult(0, 0, NaN, 0, 0, 0, 0, minB);
  const k = topkK(frac, n);
  const sorted = abs.subarray(0, n).sort();
  const cut = sorted[n - k];
  let bucket = 0;
  let hits = 0;
  let ties = 0;
  let zeros = 0;
  for (let i = 0; i < len; i++) {
    const s = score[i];
    const yi = y[i];
    if (s !== s || (yi !== 0 && yi !== 1)) continue;
    const a = s < 0 ? -s : s;
    if (a < cut) continue;
    if (s === 0) {
      zeros++;
      continue;
    }
    bucket++;
    if (a === cut) ties++;
    if ((s > 0 && yi === 1) || (s < 0 && yi === 0)) hits++;
  }
  return topkResult(n, k, cut, bucket, hits, ties, zeros, minB);
}

/** k = ceil(frac · n) (at least 1) valid rows of n. */
export function topkK(frac: number, n: number): number {
  return Math.max(1, Math.ceil(frac * n - 1e-9)); // guard: 0.05 · 60 = 3.0000000000000004
}

/** The result with no rows behind it (no valid sample, or not computed), saying why. */
export function noTopk(reason: string): TopkResult {
  return { value: null, n: 0, k: 0, cut: NaN, bucket: 0, hits: 0, ties_at_cut: 0, zeros_dropped: 0, reason };
}

/** The result from the counts (shared by `topkHitRate` and the one-pass multi-slice version, multislice.ts). */
export function topkResult(
  n: number,
  k: number,
  cut: number,
  bucket: number,
  hits: number,
  ties: number,
  zeros: number,
  minB: number,
): TopkResult {
  if (n === 0) return noTopk(`insufficient samples (bucket=0; need >= ${minB})`);
  const base = { n, k, cut, bucket, hits, ties_at_cut: ties, zeros_dropped: zeros };
  if (bucket < minB)
    return { ...base, value: null, reason: `insufficient samples (bucket=${bucket} of n=${n}; need >= ${minB})` };
  return { ...base, value: hits / bucket };
}
