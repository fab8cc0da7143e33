/**
 * Calibration: ECE with a reliability table, Brier, Brier skill, Platt scaling
 * and the walk-forward Platt of ARCHITECTURE §5.
 *
 * Labels y: 1 / 0; anything else (NaN) is excluded. Probabilities p: NaN is
 * excluded (counted); a finite p outside [0, 1] is a caller bug and throws.
 *
 * - ECE, equal-width bins over [0, 1]: bin k = [k/B, (k+1)/B), the last bin
 *   closed ([1 - 1/B, 1]), i.e. k = min(floor(p·B), B-1).
 *   ECE = Σ_b (n_b / n) · |mean(y)_b - mean(p)_b| over non-empty bins.
 * - Brier = mean((p - y)²).
 * - Brier skill = 1 - Brier / Brier_ref, Brier_ref = mean over the EVAL set of
 *   (y - b)² where b is the base rate of the TRAINING window (the forecast a
 *   model-free system would have issued at decision time). When the eval base
 *   rate equals b this is b·(1 - b). Null when Brier_ref = 0.
 * - Platt (1999) with Lin, Lin & Weng (2007): P(y=1 | s) = 1 / (1 + exp(A·s + B))
 *   (Platt's sign convention: A < 0 when higher scores mean "up" is likelier).
 *   Targets are Platt's smoothed ones, t+ = (N+ + 1)/(N+ + 2), t- = 1/(N- + 2);
 *   minimise the cross-entropy Σ -t·log p - (1-t)·log(1-p) by Newton's method
 *   (full steps while they shrink the gradient, else a backtracking (Armijo)
 *   line search on the objective), start A = 0, B = log((N- + 1)/(N+ + 1)),
 *   Hessian ridge 1e-12, stop when |gradient| < 1e-5 (both), max 100 iterations.
 * - Walk-forward Platt: see `walkForwardPlatt`.
 *
 * Every metric needs at least `min_samples` (default 30) valid rows, else value null with a reason.
 */
import type { Metric } from './metric.js';
import { DEFAULT_MIN_SAMPLES, checkInt, checkPos, insufficient } from './metric.js';
import { aucDeLong, AucScratch, type AucResult } from './auc.js';

export interface EceBin {
  readonly lo: number;
  readonly hi: number;
  readonly count: number;
  /** NaN when the bin is empty. */
  readonly mean_p: number;
  readonly mean_y: number;
}

export interface EceResult extends Metric {
  readonly bins: readonly EceBin[];
  readonly n_excluded: number;
}

export interface CalibOptions {
  /** Minimum valid rows; default 30. */
  readonly min_samples?: number;
}

export function checkP(p: number, i: number): void {
  if (p < 0 || p > 1) throw new RangeError(`probability[${i}] = ${p} is outside [0, 1]`);
}

/** Expected calibration error with `bins` equal-width bins; O(n). */
export function ece(prob: ArrayLike<number>, y: ArrayLike<number>, bins = 10, opts: CalibOptions = {}): EceResult {
  checkInt('bins', bins, 1);
  const minN = checkInt('min_samples', opts.min_samples ?? DEFAULT_MIN_SAMPLES, 1);
  const len = prob.length;
  if (y.length !== len) throw new RangeError(`ece: prob has ${len} rows but y has ${y.length}`);
  const cnt = new Float64Array(bins);
  const sp = new Float64Array(bins);
  const sy = new Float64Array(bins);
  let n = 0;
  for (let i = 0; i < len; i++) {
    const p = prob[i];
    const yi = y[i];
    if (p !== p || (yi !== 0 && yi !== 1)) continue;
    checkP(p, i);
    let k = Math.floor(p * bins);
    if (k >= bins) k = bins - 1;
    cnt[k]++;
    sp[k] += p;
    sy[k] += yi;
    n++;
  }
  return eceFromBins(cnt, sp, sy, 0, bins, n, len - n, minN);
}

/**
 * ECE and its reliability table from per-bin counts, Σp and Σy (bins
 * [off, off + bins) of the arrays) over n valid rows; shared by `ece` and the
 * one-pass multi-slice metrics (multislice.ts), so the two agree to the bit.
 */
export function eceFromBins(
  cnt: ArrayLike<number>,
  sp: ArrayLike<number>,
  sy: ArrayLike<number>,
  off: number,
  bins: number,
  n: number,
  excluded: number,
  minN: number,
): EceResult {
  const table: EceBin[] = [];
  let e = 0;
  for (let k = 0; k < bins; k++) {
    const c = cnt[off + k];
    const mp = c > 0 ? sp[off + k] / c : NaN;
    const my = c > 0 ? sy[off + k] / c : NaN;
    table.push({ lo: k / bins, hi: (k + 1) / bins, count: c, mean_p: mp, mean_y: my });
    if (c > 0) e += (c / (n || 1)) * Math.abs(my - mp);
  }
  if (n < minN) return { ...insufficient(n, minN), bins: table, n_excluded: excluded };
  return { value: e, n, bins: table, n_excluded: excluded };
}

/** Brier score mean((p - y)²); O(n). */
export function brier(prob: ArrayLike<number>, y: ArrayLike<number>, opts: CalibOptions = {}): Metric {
  const minN = checkInt('min_samples', opts.min_samples ?? DEFAULT_MIN_SAMPLES, 1);
  if (y.length !== prob.length) throw new RangeError(`brier: prob has ${prob.length} rows but y has ${y.length}`);
  let n = 0;
  let s = 0;
  for (let i = 0; i < prob.length; i++) {
    const p = prob[i];
    const yi = y[i];
    if (p !== p || (yi !== 0 && yi !== 1)) continue;
    checkP(p, i);
    s += (p - yi) * (p - yi);
    n++;
  }
  return brierFromSums(n, s, minN);
}

/** Brier mean((p - y)²) from Σ(p - y)² = s over n rows (shared with multislice.ts). */
export function brierFromSums(n: number, s: number, minN: number): Metric {
  if (n < minN) return insufficient(n, minN);
  return { value: s / n, n };
}

export interface BrierSkillResult extends Metric {
  readonly brier: number | null;
  /** mean over the eval rows of (y - baseRate)². */
  readonly brier_ref: number | null;
  readonly base_rate: number;
}

/** Σ(p - y)² and Σ(ref - y)² over rows with a finite prob and ref, y in {0, 1} and keep(i). */
function brierSums(
  prob: ArrayLike<number>,
  y: ArrayLike<number>,
  refAt: (i: number) => number,
  keep: (i: number) => boolean,
): { n: number; s: number; r: number } {
  let n = 0;
  let s = 0;
  let r = 0;
  for (let i = 0; i < prob.length; i++) {
    const p = prob[i];
    const yi = y[i];
    if (p !== p || (yi !== 0 && yi !== 1) || !keep(i)) continue;
    const b = refAt(i);
    if (b !== b) continue;
    checkP(p, i);
    s += (p - yi) * (p - yi);
    r += (b - yi) * (b - yi);
    n++;
  }
  return { n, s, r };
}

const KEEP_ALL = (): boolean => true;

/**
 * Brier skill against a per-sample reference forecast: 1 - Σ(p - y)² / Σ(ref - y)²
 * over rows with a finite prob, a finite ref, y in {0, 1} and `keep(i)`. Walk-forward
 * evaluation passes each row's own training-window base rate as `ref`. O(n).
 */
export function brierSkillVsRef(
  prob: ArrayLike<number>,
  y: ArrayLike<number>,
  ref: ArrayLike<number>,
  keep: (i: number) => boolean = KEEP_ALL,
  opts: CalibOptions = {},
): Metric {
  const minN = checkInt('min_samples', opts.min_samples ?? DEFAULT_MIN_SAMPLES, 1);
  if (y.length !== prob.length || ref.length !== prob.length)
    throw new RangeError(`brierSkillVsRef: prob ${prob.length}, y ${y.length}, ref ${ref.length} rows differ`);
  const { n, s, r } = brierSums(prob, y, (i) => ref[i], keep);
  return skillFromSums(n, s, r, minN);
}

/** Brier skill 1 - s / r from Σ(p - y)² = s and Σ(ref - y)² = r over n rows (shared with multislice.ts). */
export function skillFromSums(n: number, s: number, r: number, minN: number): Metric {
  if (n < minN) return insufficient(n, minN);
  if (!(r > 0)) return { value: null, n, reason: 'reference Brier is 0' };
  return { value: 1 - s / r, n };
}

/** 1 - Brier / Brier_ref with the training window's base rate as the reference forecast (the constant-reference case of brierSkillVsRef). */
export function brierSkill(
  prob: ArrayLike<number>,
  y: ArrayLike<number>,
  baseRate: number,
  opts: CalibOptions = {},
): BrierSkillResult {
  if (!(baseRate >= 0 && baseRate <= 1))
    throw new RangeError(`brierSkill: baseRate must be in [0, 1], got ${baseRate}`);
  const minN = checkInt('min_samples', opts.min_samples ?? DEFAULT_MIN_SAMPLES, 1);
  if (y.length !== prob.length) throw new RangeError(`brierSkill: prob has ${prob.length} rows but y has ${y.length}`);
  const { n, s, r } = brierSums(prob, y, () => baseRate, KEEP_ALL);
  if (n < minN) return { ...insufficient(n, minN), brier: null, brier_ref: null, base_rate: baseRate };
  const b = s / n;
  const ref = r / n;
  if (ref === 0)
    return {
      value: null,
      n,
      reason: 'reference Brier is 0 (base rate 0 or 1 and every label equal to it)',
      brier: b,
      brier_ref: 0,
      base_rate: baseRate,
    };
  return { value: 1 - b / ref, n, brier: b, brier_ref: ref, base_rate: baseRate };
}

// ---------------------------------------------------------------- Platt

/** Platt's smoothed targets for N+ positives and N- negatives. */
export function plattTargets(nPos: number, nNeg: number): { readonly t_pos: number; readonly t_neg: number } {
  return { t_pos: (nPos + 1) / (nPos + 2), t_neg: 1 / (nNeg + 2) };
}

// exp for Platt's fits and probabilities: exp(x) = 2^(k/256) · e^r with k = round(x · 256 / ln 2) and
// |r| <= ln 2 / 512, e^r by its Taylor polynomial to r^5 (remainder < 1e-17 relative), 2^(k/256) as one
// of 256 table entries (Math.exp at load) times a power of two from a second table (exact). Within
// 4e-16 relative of Math.exp (about 2 ulp, tested) and ~3x cheaper: the fits' passes over their rows are
// the largest cost of re-scoring a run (issue 14), and Math.exp was most of a pass. Plain IEEE-754 double
// operations (JavaScript has no fused multiply-add), so the same inputs give the same bits everywhere.
const EXP_N = 256;
const EXP_T = new Float64Array(EXP_N);
for (let j = 0; j < EXP_N; j++) EXP_T[j] = Math.exp((j * Math.LN2) / EXP_N);
/** EXP_P2[q + EXP_OFF] = 2^-q (exact), q in [-1023, 1023]: all a result in (e^-708, e^709) needs. */
const EXP_OFF = 1023;
const EXP_P2 = new Float64Array(2 * EXP_OFF + 1);
EXP_P2[EXP_OFF] = 1;
for (let q = 1; q <= EXP_OFF; q++) {
  EXP_P2[EXP_OFF + q] = EXP_P2[EXP_OFF + q - 1] / 2;
  EXP_P2[EXP_OFF - q] = EXP_P2[EXP_OFF - q + 1] * 2;
}
const EXP_INV = EXP_N / Math.LN2;
const EXP_LN2_HI = 0.6931471803691238 / EXP_N; // fdlibm's ln 2 split (the high part has 21 zero low bits), / 256 (exact)
const EXP_LN2_LO = 1.9082149292705877e-10 / EXP_N;
const EXP_ROUND = 6755399441055744; // 1.5 · 2^52: x + it - it rounds x to an integer

/** e^x: the table route on (-708, 709), Math.exp beyond (subnormal results, overflow to Infinity) and for NaN. */
export function plattExp(x: number): number {
  if (!(x > -708 && x < 709)) return Math.exp(x);
  const kf = x * EXP_INV + EXP_ROUND - EXP_ROUND;
  const r = x - kf * EXP_LN2_HI - kf * EXP_LN2_LO;
  const k = -kf | 0;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120)))));
  // 2^(-k/256) = 2^-ceil(k/256) · 2^(j/256), j = ceil(k/256) · 256 - k
  return p * EXP_T[-k & (EXP_N - 1)] * EXP_P2[((k + EXP_N - 1) >> 8) + EXP_OFF];
}

/** P(y=1 | s) = 1 / (1 + exp(A·s + B)) (an overflow to Infinity gives 0; NaN stays NaN). */
export function plattProb(A: number, B: number, s: number): number {
  return 1 / (1 + plattExp(A * s + B));
}

export interface PlattFit {
  readonly A: number;
  readonly B: number;
  readonly n: number;
  readonly n_pos: number;
  readonly n_neg: number;
  readonly t_pos: number;
  readonly t_neg: number;
  readonly iterations: number;
  /** Gradient below tolerance (false: line search failed or max iterations). */
  readonly converged: boolean;
}

const PLATT_MAX_ITER = 100;
const PLATT_MIN_STEP = 1e-10;
const PLATT_SIGMA = 1e-12;
const PLATT_EPS = 1e-5;

/** Gradient and Hessian of Platt's objective at (A, B): [g1, g2, h11, h22, h21] (scratch). */
const GH = new Float64Array(5);
/** Platt's targets by label code: TGT[0] = t_neg, TGT[1] = t_pos (a load, not a branch on a random label). */
const TGT = new Float64Array(2);
/** The class means of the start, by label code (scratch). */
const TGT_MEAN = new Float64Array(2);

/** Over rows [lo, hi): s the scores, lab their labels (0 / 1), targets in TGT. */
function plattGradHess(s: Float64Array, lab: Uint8Array, lo: number, hi: number, A: number, B: number): void {
  let h11 = PLATT_SIGMA;
  let h22 = PLATT_SIGMA;
  let h21 = 0;
  let g1 = 0;
  let g2 = 0;
  const tg = TGT;
  for (let i = lo; i < hi; i++) {
    const si = s[i];
    // p = 1 / (1 + e^z): d1 = t - p, d2 = p·(1 - p), no branch on the sign of z (e^z = Infinity gives p = 0)
    const p = 1 / (1 + plattExp(si * A + B));
    const d2 = p * (1 - p);
    h11 += si * si * d2;
    h22 += d2;
    h21 += si * d2;
    const d1 = tg[lab[i]] - p;
    g1 += si * d1;
    g2 += d1;
  }
  GH[0] = g1;
  GH[1] = g2;
  GH[2] = h11;
  GH[3] = h22;
  GH[4] = h21;
}

function plattObjective(s: Float64Array, lab: Uint8Array, lo: number, hi: number, A: number, B: number): number {
  let f = 0;
  const tg = TGT;
  for (let i = lo; i < hi; i++) {
    const z = s[i] * A + B;
    const ti = tg[lab[i]];
    f += z >= 0 ? ti * z + Math.log1p(Math.exp(-z)) : (ti - 1) * z + Math.log1p(Math.exp(z));
  }
  return f;
}

/**
 * Fit Platt's A, B on rows with finite score and y in {0, 1} (needs at least
 * one row); O(iterations · n). Newton's method as Lin, Lin & Weng (2007),
 * Algorithm 1, with one pass over the rows per iterate: the full Newton step
 * is taken when it shrinks the gradient (|g|² by at least a 2·10⁻⁴ fraction:
 * no logarithms needed); otherwise Algorithm 1's backtracking line search on
 * the objective (Armijo) takes over for that iteration. The stopping rule is
 * theirs (|gradient| < 1e-5 in both coordinates), so the result is the same
 * optimum to that tolerance, in about half the passes.
 * Start A = 0, B = log((N- + 1)/(N+ + 1)). (Starting each walk-forward fold
 * from the previous fold's fit was measured: 6% fewer iterations on the demo
 * run, not worth making folds depend on each other.)
 */
export function plattFit(score: ArrayLike<number>, y: ArrayLike<number>): PlattFit {
  const len = score.length;
  if (y.length !== len) throw new RangeError(`plattFit: score has ${len} rows but y has ${y.length}`);
  let nPos = 0;
  let nNeg = 0;
  for (let i = 0; i < len; i++) {
    if (!Number.isFinite(score[i])) continue;
    if (y[i] === 1) nPos++;
    else if (y[i] === 0) nNeg++;
  }
  const n = nPos + nNeg;
  if (n === 0) throw new RangeError('plattFit: no valid rows (finite score and y in {0, 1})');
  const s = new Float64Array(n);
  const lab = new Uint8Array(n);
  for (let i = 0, k = 0; i < len; i++) {
    if (!Number.isFinite(score[i])) continue;
    if (y[i] === 1 || y[i] === 0) {
      s[k] = score[i];
      lab[k++] = y[i];
    }
  }
  return plattFitRange(s, lab, 0, n, nPos);
}

/**
 * `plattFit` on clean rows [lo, hi): s finite scores, lab their labels
 * (0 / 1), nPos of them 1. Reads only: no copy, no allocation, so
 * walk-forward folds fit from ranges of one compacted array.
 */
function plattFitRange(s: Float64Array, lab: Uint8Array, lo: number, hi: number, nPos: number): PlattFit {
  const n = hi - lo;
  const nNeg = n - nPos;
  const { t_pos, t_neg } = plattTargets(nPos, nNeg);
  TGT[0] = t_neg;
  TGT[1] = t_pos;
  // start: the linear-discriminant slope (classes' mean difference over the pooled variance), which is
  // the logistic slope for equal-variance normal classes; B centres it on the smoothed log-odds
  let A = 0;
  let B = Math.log((nNeg + 1) / (nPos + 1));
  if (nPos > 1 && nNeg > 1) {
    // class sums by multiplying with the 0 / 1 label (adding a ±0 leaves a sum's bits as they are) and the
    // class mean by a table load: no branch on the label, which is as good as random
    let m1 = 0;
    let m0 = 0;
    for (let i = lo; i < hi; i++) {
      const l = lab[i];
      m1 += l * s[i];
      m0 += (1 - l) * s[i];
    }
    m1 /= nPos;
    m0 /= nNeg;
    const mean = TGT_MEAN;
    mean[0] = m0;
    mean[1] = m1;
    let v = 0;
    for (let i = lo; i < hi; i++) {
      const d = s[i] - mean[lab[i]];
      v += d * d;
    }
    v /= n - 2;
    if (v > 0 && Number.isFinite(v)) {
      const a = -(m1 - m0) / v;
      if (Number.isFinite(a)) {
        A = a;
        B = B - a * ((m1 + m0) / 2);
      }
    }
  }
  plattGradHess(s, lab, lo, hi, A, B);
  let [g1, g2, h11, h22, h21] = GH;
  let it = 0;
  let converged = false;
  for (; it < PLATT_MAX_ITER; it++) {
    if (Math.abs(g1) < PLATT_EPS && Math.abs(g2) < PLATT_EPS) {
      converged = true;
      break;
    }
    const det = h11 * h22 - h21 * h21;
    const dA = -(h22 * g1 - h21 * g2) / det;
    const dB = -(-h21 * g1 + h11 * g2) / det;
    // the full Newton step, accepted when it shrinks the gradient
    const m0 = g1 * g1 + g2 * g2;
    plattGradHess(s, lab, lo, hi, A + dA, B + dB);
    if (GH[0] * GH[0] + GH[1] * GH[1] <= (1 - 2e-4) * m0) {
      A += dA;
      B += dB;
      [g1, g2, h11, h22, h21] = GH;
      continue;
    }
    // otherwise: backtracking on the objective (Armijo), as Algorithm 1
    const fval = plattObjective(s, lab, lo, hi, A, B);
    const gd = g1 * dA + g2 * dB;
    let step = 1;
    while (step >= PLATT_MIN_STEP) {
      const nA = A + step * dA;
      const nB = B + step * dB;
      if (plattObjective(s, lab, lo, hi, nA, nB) < fval + 1e-4 * step * gd) {
        A = nA;
        B = nB;
        break;
      }
      step /= 2;
    }
    if (step < PLATT_MIN_STEP) break; // line search failed: keep the last accepted point
    plattGradHess(s, lab, lo, hi, A, B);
    [g1, g2, h11, h22, h21] = GH;
  }
  return { A, B, n, n_pos: nPos, n_neg: nNeg, t_pos, t_neg, iterations: it, converged };
}

// ---------------------------------------------------------------- walk-forward

export interface WalkForwardOptions {
  /** Training window, s (default 7200). */
  readonly train_sec?: number;
  /** Test window = fold length, s (default 1800). */
  readonly test_sec?: number;
  /** First fold start, ms; default: the first sample time floored to a multiple of test_sec. */
  readonly origin_ms?: number;
  /** Minimum training rows (default 50), and per class (default 10). */
  readonly min_train?: number;
  readonly min_train_per_class?: number;
  /** ECE bins of the per-fold test metrics (default 10). */
  readonly ece_bins?: number;
  /** Minimum rows of the per-fold test metrics (default 30; AUC: per class). */
  readonly min_test?: number;
  /**
   * Compute the per-fold test metrics (ECE, Brier, Brier skill, AUC; default
   * true). false: only the fits and probabilities (what re-scoring needs; the
   * metrics are then null with reason 'not computed').
   */
  readonly fold_metrics?: boolean;
  /** Write the probabilities into this array of n rows (returned as `prob`) instead of a new one. */
  readonly prob_out?: Float64Array;
}

export interface FoldResult {
  readonly fold: number;
  /** Fold start T (ms); test window [T, T + test). */
  readonly start_ms: number;
  readonly end_ms: number;
  // --- the fit: known at T, uses only labels with resolved_at <= T ---
  readonly status: 'ok' | 'insufficient';
  readonly reason?: string;
  readonly platt_train_samples: number;
  readonly train_pos: number;
  readonly train_neg: number;
  /** N+ / (N+ + N-) of the training rows (NaN when none). */
  readonly train_base_rate: number;
  readonly A: number | null;
  readonly B: number | null;
  readonly converged: boolean | null;
  // --- the evaluation: retrospective, uses the test rows' labels (known after T) ---
  /** Test-window rows with a finite score (each gets a prob when status = ok). */
  readonly platt_test_samples: number;
  /** Test rows with a resolved label (y in {0, 1}). */
  readonly test_labeled: number;
  readonly ece: Metric;
  readonly brier: Metric;
  readonly brier_skill: Metric;
  readonly auc: AucResult;
}

export interface WalkForwardResult {
  /** Calibrated probability per sample; NaN when uncovered, insufficient fold or NaN score. */
  readonly prob: Float64Array;
  /** Fold index per sample; -1 = before the first fold. */
  readonly fold: Int32Array;
  readonly folds: readonly FoldResult[];
}

/** First index in a[0..n) with a[i] >= x. */
export function lowerBound(a: ArrayLike<number>, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in a[0..n) with a[i] > x. */
export function upperBound(a: ArrayLike<number>, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function checkNonDecreasing(name: string, a: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new RangeError(`${name}[${i}] = ${a[i]}: times must be finite`);
    if (i > 0 && a[i] < a[i - 1])
      throw new RangeError(`${name}[${i}] = ${a[i]} < ${name}[${i - 1}] = ${a[i - 1]}: samples must be sorted by time`);
  }
}

/** walkForwardPlatt's compacted rows (scratch, grown on demand; nothing in it outlives a call). */
const wf = {
  cS: new Float64Array(0),
  cLab: new Uint8Array(0),
  cT: new Float64Array(0),
  cR: new Float64Array(0),
  cPos: new Int32Array(1),
};

/**
 * Walk-forward Platt scaling. Samples sorted by `t` (ms). Fold k starts at
 * T_k = origin + k·test and covers t in [T_k, T_k + test); folds run until the
 * last sample is covered. For fold k the training rows are the samples with
 * t in [T_k - train, T_k), a finite score, a label y in {0, 1} AND
 * resolved_at <= T_k: a label that becomes known after T_k is never read for
 * this fold (its y is not even loaded), so the fit, the fold's status and the
 * probabilities of its test rows depend only on what was known at T_k.
 * A fold with fewer than `min_train` rows or fewer than `min_train_per_class`
 * of either class is 'insufficient': A = B = null and its test rows get prob
 * NaN (never a fake 0.5). The per-fold test metrics (ECE, Brier, Brier skill vs
 * the training base rate, AUC of the calibrated prob) are a retrospective
 * evaluation over the test rows whose labels are resolved at all; they are
 * known only once those labels resolve (after T_k + test + H).
 *
 * Cost: O(#folds · train rows · Platt iterations) + O(n).
 */
export function walkForwardPlatt(
  t: ArrayLike<number>,
  score: ArrayLike<number>,
  y: ArrayLike<number>,
  resolvedAt: ArrayLike<number>,
  opts: WalkForwardOptions = {},
): WalkForwardResult {
  const n = t.length;
  if (score.length !== n || y.length !== n || resolvedAt.length !== n) {
    throw new RangeError(
      `walkForwardPlatt: column lengths differ (t ${n}, score ${score.length}, y ${y.length}, resolved_at ${resolvedAt.length})`,
    );
  }
  checkNonDecreasing('t', t);
  const trainMs = checkPos('train_sec', opts.train_sec ?? 7200) * 1000;
  const testMs = checkPos('test_sec', opts.test_sec ?? 1800) * 1000;
  const minTrain = checkInt('min_train', opts.min_train ?? 50, 2);
  const minPer = checkInt('min_train_per_class', opts.min_train_per_class ?? 10, 1);
  const bins = checkInt('ece_bins', opts.ece_bins ?? 10, 1);
  const minTest = checkInt('min_test', opts.min_test ?? DEFAULT_MIN_SAMPLES, 1);
  if (opts.prob_out !== undefined && opts.prob_out.length !== n)
    throw new RangeError(`walkForwardPlatt: prob_out has ${opts.prob_out.length} rows, expected ${n}`);
  const prob = (opts.prob_out ?? new Float64Array(n)).fill(NaN);
  const fold = new Int32Array(n).fill(-1);
  const folds: FoldResult[] = [];
  if (n === 0) return { prob, fold, folds };
  const origin = opts.origin_ms ?? Math.floor(t[0] / testMs) * testMs;
  if (!Number.isFinite(origin)) throw new RangeError(`origin_ms must be finite, got ${origin}`);
  // The rows any fold can train on (finite score, y in {0, 1}, a resolution time), compacted once, in
  // order, with a running count of positives. Fold k trains on those with t in [T - train, T) and
  // resolved_at <= T: a contiguous range of them whenever resolved_at does not decrease along t (a label
  // resolves at the first quote at or after t + H: true of every run flowlab writes), found by binary
  // search, so no fold copies its rows; otherwise each fold's rows are gathered into a scratch range.
  if (wf.cS.length < n) {
    const m = Math.max(n, 2 * wf.cS.length);
    wf.cS = new Float64Array(m);
    wf.cLab = new Uint8Array(m);
    wf.cT = new Float64Array(m);
    wf.cR = new Float64Array(m);
    wf.cPos = new Int32Array(m + 1);
  }
  const { cS, cLab, cT, cR, cPos } = wf;
  let nc = 0;
  let monotone = true;
  for (let i = 0; i < n; i++) {
    const s = score[i];
    const yi = y[i];
    const r = resolvedAt[i];
    if (!Number.isFinite(s) || (yi !== 0 && yi !== 1) || r !== r) continue;
    if (nc > 0 && r < cR[nc - 1]) monotone = false;
    cS[nc] = s;
    cLab[nc] = yi;
    cT[nc] = t[i];
    cR[nc] = r;
    cPos[nc + 1] = cPos[nc] + yi;
    nc++;
  }
  // when not monotone: each fold's rows gathered into [nc, nc + m) of a second pair of arrays
  const gS = monotone ? cS : new Float64Array(2 * n);
  const gLab = monotone ? cLab : new Uint8Array(2 * n);
  // fold metrics: test rows gathered per fold
  const metrics = opts.fold_metrics !== false;
  const teP = new Float64Array(metrics ? n : 0);
  const teY = new Float64Array(metrics ? n : 0);
  const aucScratch = new AucScratch();
  const last = t[n - 1];
  for (let k = 0; ; k++) {
    const T = origin + k * testMs;
    if (T > last) break;
    const end = T + testMs;
    // --- fit on what is known at T
    const clo = lowerBound(cT, T - trainMs, 0, nc);
    const chi = lowerBound(cT, T, clo, nc);
    let lo = clo;
    let hi: number;
    let nPos: number;
    if (monotone) {
      hi = upperBound(cR, T, clo, chi);
      nPos = cPos[hi] - cPos[lo];
    } else {
      lo = nc;
      hi = nc;
      nPos = 0;
      for (let i = clo; i < chi; i++) {
        if (!(cR[i] <= T)) continue; // unresolved at T: its y is not read
        gS[hi] = cS[i];
        gLab[hi++] = cLab[i];
        nPos += cLab[i];
      }
    }
    const m = hi - lo;
    const nNeg = m - nPos;
    const baseRate = m > 0 ? nPos / m : NaN;
    let A: number | null = null;
    let B: number | null = null;
    let converged: boolean | null = null;
    let reason: string | undefined;
    if (m < minTrain || nPos < minPer || nNeg < minPer) {
      reason = `insufficient training samples (n=${m}, n_pos=${nPos}, n_neg=${nNeg}; need >= ${minTrain} with >= ${minPer} of each class)`;
    } else {
      const f = plattFitRange(gS, gLab, lo, hi, nPos);
      A = f.A;
      B = f.B;
      converged = f.converged;
    }
    // --- apply to the test window
    const tlo = lowerBound(t, T);
    const thi = lowerBound(t, end);
    let testN = 0;
    let q = 0;
    for (let i = tlo; i < thi; i++) {
      fold[i] = k;
      const s = score[i];
      if (s !== s) continue;
      testN++;
      if (A === null || B === null) continue;
      const p = plattProb(A, B, s);
      prob[i] = p;
      const yi = y[i];
      if (yi === 0 || yi === 1) {
        if (metrics) {
          teP[q] = p;
          teY[q] = yi;
        }
        q++;
      }
    }
    const tp = teP.subarray(0, q);
    const ty = teY.subarray(0, q);
    let eceM: Metric;
    let brierM: Metric;
    let skillM: Metric;
    let aucM: AucResult;
    if (A === null || !metrics) {
      const why =
        A === null ? 'no calibration in this fold (insufficient training samples)' : 'per-fold metrics not computed';
      eceM = { value: null, n: 0, reason: why };
      brierM = { value: null, n: 0, reason: why };
      skillM = { value: null, n: 0, reason: why };
      aucM = {
        value: null,
        auc: null,
        var: null,
        ci_low: null,
        ci_high: null,
        n: 0,
        n_pos: 0,
        n_neg: 0,
        n_excluded: 0,
        reason: why,
      };
    } else {
      eceM = ece(tp, ty, bins, { min_samples: minTest });
      brierM = brier(tp, ty, { min_samples: minTest });
      skillM = brierSkill(tp, ty, baseRate, { min_samples: minTest });
      aucM = aucDeLong(tp, ty, { min_per_class: minTest, scratch: aucScratch });
    }
    folds.push({
      fold: k,
      start_ms: T,
      end_ms: end,
      status: A === null ? 'insufficient' : 'ok',
      ...(reason !== undefined ? { reason } : {}),
      platt_train_samples: m,
      train_pos: nPos,
      train_neg: nNeg,
      train_base_rate: baseRate,
      A,
      B,
      converged,
      platt_test_samples: A === null ? 0 : testN,
      test_labeled: q,
      ece: eceM,
      brier: brierM,
      brier_skill: skillM,
      auc: aucM,
    });
  }
  return { prob, fold, folds };
}
