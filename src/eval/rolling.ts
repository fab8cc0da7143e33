/**
 * Rolling-window evaluation for the canary (ARCHITECTURE §6), no look-ahead by
 * construction: the decision time T is an argument, and a sample's label is
 * read only if `resolved_at <= T` (for an as-of label resolved_at >= t + H, so
 * this implies t + H <= T). Unresolved rows are counted, their y never loaded.
 *
 * At each decision time T (default every 60 s):
 *   label window : samples with t in (T - window_ms, T]   (default 600 000 = 10 min)
 *                  and resolved_at <= T with y in {0, 1}
 *                  → AUC + DeLong CI of `score`, n, n_pos, n_neg, n_unresolved;
 *                    ECE of `prob` (when given) over the rows of that window that have a finite prob
 *   merge window : samples with t in (T - merge_window_ms, T] (default 300 000 = 5 min)
 *                  with a finite merge_time_diff_ms → p50 / p90 / p99 (type 7,
 *                  linear interpolation) and n_merge. merge_time_diff is known
 *                  at t, so no resolution rule applies.
 * Note that with H = 60 s the newest ~H of every label window is unresolved
 * at T: a 10-min window of 1 s samples holds ~540 usable labels, not 600.
 *
 * This is the straightforward implementation: each decision recomputes its
 * window, O(w log w) per decision (24 h × 1/min × 600 rows is ~1 s in total).
 * Output is columnar (Float64Array, NaN = null) plus the AUC reason strings.
 *
 * Example:
 *   const r = evaluateAt(T, { t, score, y, resolved_at });   // one decision
 *   const s = rollingEval({ t, score, y, resolved_at, merge_time_diff_ms }, decisionGrid(t0, t1, 60_000));
 */
import { aucDeLong, AucScratch, type AucResult } from './auc.js';
import { ece, checkNonDecreasing, upperBound, type EceResult } from './calibration.js';
import { checkInt, checkPos, DEFAULT_MIN_SAMPLES } from './metric.js';

export interface RollingInput {
  /** Sample times, ms, non-decreasing. */
  readonly t: ArrayLike<number>;
  readonly score: ArrayLike<number>;
  readonly y: ArrayLike<number>;
  readonly resolved_at: ArrayLike<number>;
  /** Calibrated probabilities (optional; ECE is null without them). */
  readonly prob?: ArrayLike<number>;
  /** Fusion merge_time_diff_ms (optional). */
  readonly merge_time_diff_ms?: ArrayLike<number>;
}

export interface RollingOptions {
  /** DeLong variance inflation for overlapping samples (see AucOptions.variance_inflation). */
  readonly variance_inflation?: number;
  readonly window_ms?: number;
  readonly merge_window_ms?: number;
  readonly min_per_class?: number;
  readonly ece_bins?: number;
  readonly min_samples?: number;
}

export interface Decision {
  readonly T: number;
  readonly auc: AucResult;
  readonly ece: EceResult | null;
  /** Rows in the label window whose label is not resolved by T. */
  readonly n_unresolved: number;
  readonly merge_p50: number;
  readonly merge_p90: number;
  readonly merge_p99: number;
  readonly n_merge: number;
}

export interface RollingSeries {
  readonly T: Float64Array;
  readonly auc: Float64Array;
  readonly auc_var: Float64Array;
  readonly ci_low: Float64Array;
  readonly ci_high: Float64Array;
  readonly n: Int32Array;
  readonly n_pos: Int32Array;
  readonly n_neg: Int32Array;
  readonly n_unresolved: Int32Array;
  readonly ece: Float64Array;
  readonly ece_n: Int32Array;
  readonly merge_p50: Float64Array;
  readonly merge_p90: Float64Array;
  readonly merge_p99: Float64Array;
  readonly n_merge: Int32Array;
  /** AUC null reasons (null where the AUC exists). */
  readonly auc_reason: (string | null)[];
}

/** Decision times start, start + step, ... <= end. */
export function decisionGrid(startMs: number, endMs: number, stepMs = 60_000): Float64Array {
  checkPos('step_ms', stepMs);
  if (!(Number.isFinite(startMs) && Number.isFinite(endMs)))
    throw new RangeError(`decisionGrid: start ${startMs} / end ${endMs} must be finite`);
  const k = endMs >= startMs ? Math.floor((endMs - startMs) / stepMs) + 1 : 0;
  const out = new Float64Array(k);
  for (let i = 0; i < k; i++) out[i] = startMs + i * stepMs;
  return out;
}

/** Quantile type 7 of sorted a[0..n). */
function q7(a: Float64Array, n: number, p: number): number {
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  if (lo >= n - 1) return a[n - 1];
  return a[lo] + (h - lo) * (a[lo + 1] - a[lo]);
}

/** Reusable evaluator: holds scratch buffers sized to the largest window seen. */
export class RollingEvaluator {
  private readonly input: RollingInput;
  private readonly windowMs: number;
  private readonly mergeMs: number;
  private readonly minPer: number;
  private readonly vif: number;
  private readonly bins: number;
  private readonly minN: number;
  private readonly scratch = new AucScratch();
  private s = new Float64Array(0);
  private y = new Float64Array(0);
  private p = new Float64Array(0);
  private py = new Float64Array(0);
  private md = new Float64Array(0);

  constructor(input: RollingInput, opts: RollingOptions = {}) {
    const n = input.t.length;
    for (const [k, v] of [
      ['score', input.score],
      ['y', input.y],
      ['resolved_at', input.resolved_at],
      ['prob', input.prob],
      ['merge_time_diff_ms', input.merge_time_diff_ms],
    ] as const) {
      if (v && v.length !== n) throw new RangeError(`rolling: ${k} has ${v.length} rows but t has ${n}`);
    }
    checkNonDecreasing('t', input.t);
    this.input = input;
    this.windowMs = checkPos('window_ms', opts.window_ms ?? 600_000);
    this.mergeMs = checkPos('merge_window_ms', opts.merge_window_ms ?? 300_000);
    this.minPer = checkInt('min_per_class', opts.min_per_class ?? DEFAULT_MIN_SAMPLES, 1);
    this.vif = opts.variance_inflation ?? 1;
    this.bins = checkInt('ece_bins', opts.ece_bins ?? 10, 1);
    this.minN = checkInt('min_samples', opts.min_samples ?? DEFAULT_MIN_SAMPLES, 1);
  }

  /** Metrics for a decision at time T using only labels resolved by T. */
  at(T: number): Decision {
    if (!Number.isFinite(T)) throw new RangeError(`decision time T = ${T} must be finite`);
    const { t, score, y, resolved_at: ra, prob, merge_time_diff_ms: md } = this.input;
    const hi = upperBound(t, T); // rows with t <= T
    const lo = upperBound(t, T - this.windowMs, 0, hi); // rows with t > T - window
    const w = hi - lo;
    this.ensure(w);
    let k = 0;
    let kp = 0;
    let unresolved = 0;
    for (let i = lo; i < hi; i++) {
      if (!(ra[i] <= T)) {
        unresolved++;
        continue; // y[i] is not read: unknown at T
      }
      const yi = y[i];
      if (yi !== 0 && yi !== 1) continue; // resolved as excluded (equal mids)
      this.s[k] = score[i];
      this.y[k] = yi;
      k++;
      if (prob) {
        const pi = prob[i];
        if (pi === pi) {
          this.p[kp] = pi;
          this.py[kp] = yi;
          kp++;
        }
      }
    }
    const auc = aucDeLong(this.s.subarray(0, k), this.y.subarray(0, k), {
      min_per_class: this.minPer,
      scratch: this.scratch,
      variance_inflation: this.vif,
    });
    const e = prob ? ece(this.p.subarray(0, kp), this.py.subarray(0, kp), this.bins, { min_samples: this.minN }) : null;
    let nm = 0;
    if (md) {
      const mlo = upperBound(t, T - this.mergeMs, 0, hi);
      this.ensureMerge(hi - mlo);
      for (let i = mlo; i < hi; i++) {
        const v = md[i];
        if (Number.isFinite(v)) this.md[nm++] = v;
      }
    }
    const sorted = this.md.subarray(0, nm).sort();
    return {
      T,
      auc,
      ece: e,
      n_unresolved: unresolved,
      merge_p50: q7(sorted, nm, 0.5),
      merge_p90: q7(sorted, nm, 0.9),
      merge_p99: q7(sorted, nm, 0.99),
      n_merge: nm,
    };
  }

  private ensure(n: number): void {
    if (this.s.length >= n) return;
    const m = Math.max(n, this.s.length * 2);
    this.s = new Float64Array(m);
    this.y = new Float64Array(m);
    this.p = new Float64Array(m);
    this.py = new Float64Array(m);
  }

  private ensureMerge(n: number): void {
    if (this.md.length < n) this.md = new Float64Array(Math.max(n, this.md.length * 2));
  }
}

/** One decision at T (see RollingEvaluator; builds one, so prefer the class for many decisions). */
export function evaluateAt(T: number, input: RollingInput, opts: RollingOptions = {}): Decision {
  return new RollingEvaluator(input, opts).at(T);
}

/** Decisions at every T of `decisionTimes`, as columns. */
export function rollingEval(
  input: RollingInput,
  decisionTimes: ArrayLike<number>,
  opts: RollingOptions = {},
): RollingSeries {
  const ev = new RollingEvaluator(input, opts);
  const K = decisionTimes.length;
  const f = (): Float64Array => new Float64Array(K).fill(NaN);
  const out = {
    T: Float64Array.from(decisionTimes),
    auc: f(),
    auc_var: f(),
    ci_low: f(),
    ci_high: f(),
    n: new Int32Array(K),
    n_pos: new Int32Array(K),
    n_neg: new Int32Array(K),
    n_unresolved: new Int32Array(K),
    ece: f(),
    ece_n: new Int32Array(K),
    merge_p50: f(),
    merge_p90: f(),
    merge_p99: f(),
    n_merge: new Int32Array(K),
    auc_reason: new Array<string | null>(K).fill(null),
  };
  for (let j = 0; j < K; j++) {
    const d = ev.at(decisionTimes[j]);
    const a = d.auc;
    if (a.auc !== null) out.auc[j] = a.auc;
    if (a.var !== null) out.auc_var[j] = a.var;
    if (a.ci_low !== null) out.ci_low[j] = a.ci_low;
    if (a.ci_high !== null) out.ci_high[j] = a.ci_high;
    out.auc_reason[j] = a.reason ?? null;
    out.n[j] = a.n;
    out.n_pos[j] = a.n_pos;
    out.n_neg[j] = a.n_neg;
    out.n_unresolved[j] = d.n_unresolved;
    if (d.ece) {
      if (d.ece.value !== null) out.ece[j] = d.ece.value;
      out.ece_n[j] = d.ece.n;
    }
    out.merge_p50[j] = d.merge_p50;
    out.merge_p90[j] = d.merge_p90;
    out.merge_p99[j] = d.merge_p99;
    out.n_merge[j] = d.n_merge;
  }
  return out;
}
