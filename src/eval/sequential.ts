/**
 * Evidence statistics for gates that look every minute (src/canary/README.md):
 * per-label statistics on non-overlapping labels, one-sided CUSUMs, the noise
 * floor of an ECE, and a moving-block bootstrap for dependent samples. Pure,
 * columnar, no wall clock; the bootstrap takes a seeded EvalRng.
 */
import type { EvalRng } from './rng.js';
import type { EceBin } from './calibration.js';

/**
 * Mid-rank percentile of `s` among the finite values of `ref[lo, hi)`:
 * (#below + ½·#equal) / #finite; NaN when fewer than `minRef` finite values.
 */
export function percentileRank(s: number, ref: ArrayLike<number>, lo: number, hi: number, minRef = 100): number {
  if (!Number.isFinite(s)) return NaN;
  let below = 0;
  let equal = 0;
  let n = 0;
  for (let i = lo; i < hi; i++) {
    const v = ref[i];
    if (v !== v || v === Infinity || v === -Infinity) continue;
    n++;
    if (v < s) below++;
    else if (v === s) equal++;
  }
  return n >= minRef ? (below + 0.5 * equal) / n : NaN;
}

/**
 * A label's AUC contribution: x = ½ + 2·(2y − 1)·(U − ½), U = the percentile of
 * its score in the score distribution (known before the label). With scores
 * independent of y, E[x] = ½ exactly; otherwise E[x] = ½ + 4b(1 − b)(AUC − ½)
 * for base rate b (= AUC when b = ½; within 1% of it for b in [0.45, 0.55]).
 */
export function aucContribution(y: number, u: number): number {
  return 0.5 + 2 * (2 * y - 1) * (u - 0.5);
}

/** One-sided CUSUM (Page 1954): S = max(0, S + x) per increment; `exceeds(h)` once S > h. */
export class Cusum {
  value = 0;
  add(x: number): number {
    this.value = Math.max(0, this.value + x);
    return this.value;
  }
  reset(): void {
    this.value = 0;
  }
}

/**
 * Expected ECE of a perfectly calibrated model with these bins: each bin's
 * |mean(y) − mean(p)| is then ~ |N(0, p̄(1 − p̄)·vif / n_b)| with mean
 * √(2·p̄(1 − p̄)·vif / (π·n_b)); weighted by n_b / n. `vif` = samples per
 * independent outcome (overlapping labels).
 */
export function eceNoiseFloor(bins: readonly EceBin[], vif: number): number {
  let n = 0;
  for (const b of bins) n += b.count;
  if (n === 0) return NaN;
  let f = 0;
  for (const b of bins) {
    if (b.count === 0) continue;
    const p = b.mean_p;
    f += (b.count / n) * Math.sqrt((2 * p * (1 - p) * vif) / (Math.PI * b.count));
  }
  return f;
}

/**
 * Moving-block bootstrap (Künsch 1989; Politis & Romano 1994 for the stationary
 * variant) of a statistic over rows [0, n) in time order: `reps` resamples made
 * of blocks of `block` consecutive rows; returns the 2.5% / 97.5% percentiles
 * of the finite replicate values (null when fewer than half are finite).
 * `stat(idx, k)` computes the statistic over the k row indices in idx.
 */
export function blockBootstrapCi(
  n: number,
  block: number,
  reps: number,
  rng: EvalRng,
  stat: (idx: Int32Array, k: number) => number,
): [number, number] | null {
  if (n === 0 || reps < 1) return null;
  const b = Math.max(1, Math.min(n, Math.floor(block)));
  const idx = new Int32Array(n);
  const vals: number[] = [];
  const starts = n - b + 1;
  for (let r = 0; r < reps; r++) {
    let k = 0;
    while (k < n) {
      const s = rng.int(starts);
      for (let j = 0; j < b && k < n; j++) idx[k++] = s + j;
    }
    const v = stat(idx, n);
    if (Number.isFinite(v)) vals.push(v);
  }
  if (vals.length < reps / 2) return null;
  vals.sort((a, c) => a - c);
  const q = (p: number) => {
    const h = (vals.length - 1) * p;
    const lo = Math.floor(h);
    return vals[lo] + (vals[Math.min(lo + 1, vals.length - 1)] - vals[lo]) * (h - lo);
  };
  return [q(0.025), q(0.975)];
}
