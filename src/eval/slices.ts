/**
 * Group-by evaluation over slice codes (ARCHITECTURE §4/§5): every metric per
 * slice value, with counts and the insufficient-samples rule of each metric.
 *
 * A dimension is `{ name, codes, names }`: codes[i] = index into `names` for
 * row i, -1 = unknown (warm-up); e.g. the fusion table's session / regime /
 * vol_bucket / scenario_2x2 columns with SESSION names, REGIME_NAMES,
 * VOL_BUCKET_NAMES, SCENARIO_NAMES (src/calc/slices.ts), vol tertiles with
 * VOL_TERTILE_NAMES, or a symbol dimension built by the caller (codes =
 * index into the symbol list). Rows with code -1 form a group named
 * '(unknown)' so the counts of a dimension add up to the whole table.
 * An 'all' row (dimension 'all', value 'all') comes first.
 *
 * Per group: rows, labelled rows (y in {0,1}), n_pos / n_neg, effective hours
 * (rows · sample_ms / 3.6e6, all rows of the group, labelled or not),
 * AUC + DeLong CI of `score`, topk_hit_rate_5p of `score`, and, when `prob` is
 * given (e.g. walk-forward Platt output), ECE and Brier of `prob`.
 *
 * Cost: O(n) per dimension to group (counting sort) + the metrics on each group.
 */
import type { Metric } from './metric.js';
import { checkPos } from './metric.js';
import { aucDeLong, AucScratch, type AucResult, type AucOptions } from './auc.js';
import { ece, brier, type EceResult } from './calibration.js';
import { topkHitRate, type TopkResult, type TopkOptions } from './topk.js';

export interface SliceDim {
  readonly name: string;
  readonly codes: ArrayLike<number>;
  readonly names: readonly string[];
}

export interface SliceInput {
  readonly score: ArrayLike<number>;
  readonly y: ArrayLike<number>;
  /** Calibrated probabilities (optional). */
  readonly prob?: ArrayLike<number>;
}

export interface SliceOptions {
  /** Fusion sample period, ms (default 1000). */
  readonly sample_ms?: number;
  readonly auc?: Omit<AucOptions, 'scratch'>;
  /** Top-k hit rate options; `false` skips the metric (its value is null: "not computed"). */
  readonly topk?: TopkOptions | false;
  readonly ece_bins?: number;
  /** Minimum rows for ECE / Brier (default 30). */
  readonly min_samples?: number;
}

export interface SliceRow {
  readonly dim: string;
  readonly value: string;
  /** Slice code (-1 = unknown; -2 for the 'all' row). */
  readonly code: number;
  readonly rows: number;
  readonly labeled: number;
  readonly n_pos: number;
  readonly n_neg: number;
  readonly effective_hours: number;
  readonly auc: AucResult;
  readonly topk: TopkResult;
  readonly ece: EceResult | Metric;
  readonly brier: Metric;
}

/** Hours of data represented by the finite timestamps: count · sampleMs / 3.6e6. */
export function effectiveHours(ts: ArrayLike<number>, sampleMs: number): number {
  checkPos('sample_ms', sampleMs);
  let n = 0;
  for (let i = 0; i < ts.length; i++) if (Number.isFinite(ts[i])) n++;
  return (n * sampleMs) / 3.6e6;
}

const NO_PROB: Metric = { value: null, n: 0, reason: 'no calibrated probabilities given' };
const NO_TOPK: TopkResult = {
  value: null,
  n: 0,
  k: 0,
  cut: NaN,
  bucket: 0,
  hits: 0,
  ties_at_cut: 0,
  zeros_dropped: 0,
  reason: 'top-k hit rate not computed',
};

export function evaluateSlices(input: SliceInput, dims: readonly SliceDim[], opts: SliceOptions = {}): SliceRow[] {
  const { score, y, prob } = input;
  const len = score.length;
  if (y.length !== len || (prob && prob.length !== len))
    throw new RangeError(
      `evaluateSlices: column lengths differ (score ${len}, y ${y.length}${prob ? `, prob ${prob.length}` : ''})`,
    );
  const sampleMs = checkPos('sample_ms', opts.sample_ms ?? 1000);
  const scratch = new AucScratch();
  const gs = new Float64Array(len);
  const gy = new Float64Array(len);
  const gp = new Float64Array(len);
  const out: SliceRow[] = [];

  const evalGroup = (dim: string, value: string, code: number, idx: Int32Array, from: number, to: number): void => {
    const m = to - from;
    let pos = 0;
    let neg = 0;
    for (let k = 0; k < m; k++) {
      const i = idx[from + k];
      gs[k] = score[i];
      const yi = y[i];
      gy[k] = yi;
      if (yi === 1) pos++;
      else if (yi === 0) neg++;
      if (prob) gp[k] = prob[i];
    }
    const s = gs.subarray(0, m);
    const yy = gy.subarray(0, m);
    const p = gp.subarray(0, m);
    out.push({
      dim,
      value,
      code,
      rows: m,
      labeled: pos + neg,
      n_pos: pos,
      n_neg: neg,
      effective_hours: (m * sampleMs) / 3.6e6,
      auc: aucDeLong(s, yy, { ...opts.auc, scratch }),
      topk: opts.topk === false ? NO_TOPK : topkHitRate(s, yy, opts.topk),
      ece: prob ? ece(p, yy, opts.ece_bins ?? 10, { min_samples: opts.min_samples }) : NO_PROB,
      brier: prob ? brier(p, yy, { min_samples: opts.min_samples }) : NO_PROB,
    });
  };

  const all = new Int32Array(len);
  for (let i = 0; i < len; i++) all[i] = i;
  evalGroup('all', 'all', -2, all, 0, len);

  for (const d of dims) {
    if (d.codes.length !== len)
      throw new RangeError(`slice dimension '${d.name}' has ${d.codes.length} codes for ${len} rows`);
    const G = d.names.length;
    // counting sort of row indices by code; bucket G = unknown (-1)
    const cnt = new Int32Array(G + 2);
    for (let i = 0; i < len; i++) {
      const c = d.codes[i];
      if (c === -1) cnt[G + 1]++;
      else if (Number.isInteger(c) && c >= 0 && c < G) cnt[c + 1]++;
      else
        throw new RangeError(
          `slice dimension '${d.name}': code ${c} at row ${i} is not -1 or an index into its ${G} names`,
        );
    }
    for (let g = 1; g <= G + 1; g++) cnt[g] += cnt[g - 1];
    const start = cnt.slice();
    const idx = new Int32Array(len);
    for (let i = 0; i < len; i++) {
      const c = d.codes[i];
      const g = c === -1 ? G : c;
      idx[start[g]++] = i;
    }
    for (let g = 0; g <= G; g++) {
      const from = cnt[g];
      const to = g < G ? cnt[g + 1] : len;
      if (g === G && to === from) continue; // no unknown rows: no '(unknown)' group
      evalGroup(d.name, g < G ? d.names[g] : '(unknown)', g < G ? g : -1, idx, from, to);
    }
  }
  return out;
}
