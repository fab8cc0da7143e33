/**
 * ROC AUC (Mann–Whitney with ties) with the DeLong variance and a 95% CI.
 *
 *   AUC = P(S+ > S-) + ½·P(S+ = S-)       over all (positive, negative) pairs
 *
 * Fast DeLong (Sun & Xu 2014): with m positives X and n negatives Y, the
 * structural components are, with midranks (ties count ½),
 *   V10(x_i) = (#{Y < x_i} + ½·#{Y = x_i}) / n        (one per positive)
 *   V01(y_j) = (#{X > y_j} + ½·#{X = y_j}) / m        (one per negative)
 *   AUC = mean(V10) = mean(V01)
 *   Var = S10 / m + S01 / n,   S10, S01 = sample variances (denominator m-1, n-1)
 *   CI  = AUC ± z·sqrt(Var) (z = 1.959964 for 95%), clamped to [0, 1].
 * Implementation: the positive and the negative scores are copied into two
 * Float64Arrays and sorted natively (no comparator), then merged once, tie
 * group by tie group; every member of a tie group shares its V10 / V01, so no
 * per-sample component array is needed. Cost O(n log n) time, O(n) scratch
 * (reusable through `AucScratch`), no allocation per call once warm.
 *
 * Inputs: `y` = 1 positive, 0 negative, anything else (NaN = unresolved or
 * excluded label) is excluded; a NaN score is excluded; both counted in
 * `n_excluded`. When n_pos or n_neg < `min_per_class` (default 30), `auc` is null
 * with `reason: 'insufficient samples (n_pos=.., n_neg=..; need >= 30 each)'`.
 *
 * Example:
 *   aucDeLong(Float64Array.of(0.1, 0.4, 0.35, 0.8), Float64Array.of(0, 0, 1, 1), { min_per_class: 1 }).auc   // 0.75
 */
import type { Metric } from './metric.js';
import { DEFAULT_MIN_SAMPLES, checkInt } from './metric.js';
import { EvalRng } from './rng.js';

export const Z95 = 1.959963984540054;

export interface AucResult extends Metric {
  /** Same as `value`. */
  readonly auc: number | null;
  readonly var: number | null;
  readonly ci_low: number | null;
  readonly ci_high: number | null;
  /** n_pos + n_neg (valid pairs of score and label). */
  readonly n: number;
  readonly n_pos: number;
  readonly n_neg: number;
  /** Rows skipped: NaN score or label not in {0, 1}. */
  readonly n_excluded: number;
}

export interface AucOptions {
  /** Minimum positives and minimum negatives (each); default 30. */
  readonly min_per_class?: number;
  /** Two-sided normal quantile of the CI; default 1.959964 (95%). */
  readonly z?: number;
  /**
   * Multiply the DeLong variance by this (default 1). DeLong assumes
   * independent samples; samples every Δ with labels over a horizon H (and
   * features over overlapping windows) are strongly autocorrelated, so callers
   * pass H / Δ, the number of samples per horizon: an effective-sample-size
   * correction (n_eff = n / (H / Δ)), as for overlapping returns.
   */
  readonly variance_inflation?: number;
  readonly scratch?: AucScratch;
}

/** Reusable buffers for aucDeLong (grow to the largest n seen). */
export class AucScratch {
  pos = new Float64Array(0);
  neg = new Float64Array(0);
  ensure(n: number): void {
    if (this.pos.length >= n) return;
    const m = Math.max(n, this.pos.length * 2);
    this.pos = new Float64Array(m);
    this.neg = new Float64Array(m);
  }
}

/** AUC, DeLong variance and CI of `score` against `y` over rows [0, len). */
export function aucDeLong(score: ArrayLike<number>, y: ArrayLike<number>, opts: AucOptions = {}): AucResult {
  const len = score.length;
  if (y.length !== len) throw new RangeError(`aucDeLong: score has ${len} rows but y has ${y.length}`);
  const minPer = checkInt('min_per_class', opts.min_per_class ?? DEFAULT_MIN_SAMPLES, 1);
  const sc = opts.scratch ?? new AucScratch();
  sc.ensure(len);
  const P = sc.pos;
  const N = sc.neg;
  let m = 0;
  let n = 0;
  for (let i = 0; i < len; i++) {
    const s = score[i];
    if (s !== s) continue;
    const yi = y[i];
    if (yi === 1) P[m++] = s;
    else if (yi === 0) N[n++] = s;
  }
  const vif = opts.variance_inflation ?? 1;
  if (!(vif >= 1)) throw new RangeError(`aucDeLong: variance_inflation must be >= 1, got ${vif}`);
  return aucFromSplit(P, m, N, n, len - m - n, minPer, opts.z ?? Z95, vif);
}

/**
 * The same from already split, unsorted positive / negative scores (no NaN):
 * sorts pos[0..m) and neg[0..n) in place.
 */
export function aucFromSplit(
  pos: Float64Array,
  m: number,
  neg: Float64Array,
  n: number,
  excluded = 0,
  minPer = DEFAULT_MIN_SAMPLES,
  z = Z95,
  vif = 1,
): AucResult {
  const base = { n: m + n, n_pos: m, n_neg: n, n_excluded: excluded };
  if (m < minPer || n < minPer) return aucInsufficient(base, minPer);
  const X = pos.subarray(0, m).sort();
  const Y = neg.subarray(0, n).sort();
  // merge tie groups; sums of (V - ½) and (V - ½)² (shifted to limit cancellation)
  let i = 0;
  let j = 0;
  let negBelow = 0;
  let posBelow = 0;
  let s10 = 0;
  let q10 = 0;
  let s01 = 0;
  let q01 = 0;
  while (i < m || j < n) {
    const v = i < m && (j >= n || X[i] <= Y[j]) ? X[i] : Y[j];
    let p = 0;
    while (i < m && X[i] === v) {
      i++;
      p++;
    }
    let q = 0;
    while (j < n && Y[j] === v) {
      j++;
      q++;
    }
    if (p > 0) {
      const d = (negBelow + q / 2) / n - 0.5;
      s10 += p * d;
      q10 += p * d * d;
    }
    if (q > 0) {
      const d = (m - posBelow - p / 2) / m - 0.5;
      s01 += q * d;
      q01 += q * d * d;
    }
    negBelow += q;
    posBelow += p;
  }
  return aucFromSums(base, s10, q10, s01, q01, z, vif);
}

/** The null AUC of a set with fewer than `minPer` positives or negatives. */
export function aucInsufficient(
  base: { n: number; n_pos: number; n_neg: number; n_excluded: number },
  minPer: number,
): AucResult {
  return {
    ...base,
    value: null,
    auc: null,
    var: null,
    ci_low: null,
    ci_high: null,
    reason: `insufficient samples (n_pos=${base.n_pos}, n_neg=${base.n_neg}; need >= ${minPer} each)`,
  };
}

/**
 * The AUC, DeLong variance and CI from the merge's sums of the shifted
 * structural components (V10 - ½, its square; V01 - ½, its square) of m
 * positives and n negatives (both >= 1); shared by `aucFromSplit` and the
 * one-pass multi-slice AUC (multislice.ts), so the two agree to the bit.
 */
export function aucFromSums(
  base: { n: number; n_pos: number; n_neg: number; n_excluded: number },
  s10: number,
  q10: number,
  s01: number,
  q01: number,
  z = Z95,
  vif = 1,
): AucResult {
  const m = base.n_pos;
  const n = base.n_neg;
  const auc = 0.5 + s10 / m;
  const var10 = m > 1 ? Math.max(0, (q10 - (s10 * s10) / m) / (m - 1)) : NaN;
  const var01 = n > 1 ? Math.max(0, (q01 - (s01 * s01) / n) / (n - 1)) : NaN;
  const vr = (var10 / m + var01 / n) * vif;
  if (!Number.isFinite(vr))
    return {
      ...base,
      value: auc,
      auc,
      var: null,
      ci_low: null,
      ci_high: null,
      reason: 'variance undefined (need >= 2 per class)',
    };
  const h = z * Math.sqrt(vr);
  return {
    ...base,
    value: auc,
    auc,
    var: vr,
    ci_low: Math.max(0, auc - h),
    ci_high: Math.min(1, auc + h),
  };
}

export interface BootstrapResult {
  readonly mean: number;
  readonly var: number;
  /** Percentile interval (2.5%, 97.5%). */
  readonly ci_low: number;
  readonly ci_high: number;
  readonly reps: number;
}

/**
 * Stratified bootstrap of the AUC (positives and negatives resampled with
 * replacement separately, keeping m and n fixed, which is the setting DeLong
 * estimates): `reps` resamples from a seeded EvalRng. O(reps · n log n).
 * Used as a cross-check of the DeLong variance; not needed for reports.
 */
export function bootstrapAuc(
  score: ArrayLike<number>,
  y: ArrayLike<number>,
  reps: number,
  seed: number,
): BootstrapResult {
  checkInt('reps', reps, 2);
  const P: number[] = [];
  const N: number[] = [];
  for (let i = 0; i < score.length; i++) {
    const s = score[i];
    if (s !== s) continue;
    if (y[i] === 1) P.push(s);
    else if (y[i] === 0) N.push(s);
  }
  const m = P.length;
  const n = N.length;
  if (m < 1 || n < 1) throw new RangeError(`bootstrapAuc needs both classes (n_pos=${m}, n_neg=${n})`);
  const rng = new EvalRng(seed);
  const bp = new Float64Array(m);
  const bn = new Float64Array(n);
  const out = new Float64Array(reps);
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < m; k++) bp[k] = P[rng.int(m)];
    for (let k = 0; k < n; k++) bn[k] = N[rng.int(n)];
    out[r] = aucFromSplit(bp, m, bn, n, 0, 1).auc as number;
  }
  let s = 0;
  for (let r = 0; r < reps; r++) s += out[r];
  const mean = s / reps;
  let q = 0;
  for (let r = 0; r < reps; r++) q += (out[r] - mean) ** 2;
  out.sort();
  const pct = (p: number): number => {
    const h = (reps - 1) * p;
    const lo = Math.floor(h);
    return lo >= reps - 1 ? out[reps - 1] : out[lo] + (h - lo) * (out[lo + 1] - out[lo]);
  };
  return { mean, var: q / (reps - 1), ci_low: pct(0.025), ci_high: pct(0.975), reps };
}
