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
 * Cost: one `sliceMetrics` call (multislice.ts): one radix sort of all rows
 * and a few passes, whatever the number of slices; the same figures, to the
 * bit, as the per-slice functions on each slice's rows.
 */
import type { Metric } from './metric.js';
import { checkPos } from './metric.js';
import type { AucResult, AucOptions } from './auc.js';
import type { EceResult } from './calibration.js';
import { noTopk, type TopkResult, type TopkOptions } from './topk.js';
import {
  membershipOf,
  sliceMetrics,
  sliceRowCounts,
  type SliceMembership,
  type SliceMetrics,
  type SliceMetricsOptions,
} from './multislice.js';

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
const NO_TOPK: TopkResult = noTopk('top-k hit rate not computed');

/** Groups of rows evaluated side by side (e.g. symbols), each with every slice, plus optionally all rows pooled. */
export interface SliceGroups {
  /** Group index per row, in [0, count). */
  readonly codes: ArrayLike<number>;
  readonly count: number;
  /** Add a pooled group of every row (index `count`), evaluated after the others. */
  readonly pooled: boolean;
}

/** One output row of a layout: its group, slice and slice id in the membership. */
export interface SliceSlot {
  readonly group: number;
  readonly dim: string;
  readonly value: string;
  readonly code: number;
  readonly slice: number;
}

/**
 * The slices of `dims` (per group, and pooled) as a multi-slice membership,
 * the output rows in order (per group: 'all', then each dimension's values,
 * '(unknown)' only when some row of the group has code -1) and the
 * weight-independent counts per slice (rows, positive and negative labels).
 * Depends on the codes and labels only: build once, score many times.
 */
export interface SliceLayout {
  readonly membership: SliceMembership;
  readonly slots: readonly SliceSlot[];
  readonly rows: Int32Array;
  readonly pos: Int32Array;
  readonly neg: Int32Array;
}

export function sliceLayout(y: ArrayLike<number>, dims: readonly SliceDim[], groups?: SliceGroups): SliceLayout {
  const len = y.length;
  for (const d of dims)
    if (d.codes.length !== len)
      throw new RangeError(`slice dimension '${d.name}' has ${d.codes.length} codes for ${len} rows`);
  const nG = groups ? groups.count + (groups.pooled ? 1 : 0) : 1;
  if (groups && groups.codes.length !== len)
    throw new RangeError(`slice groups: ${groups.codes.length} codes for ${len} rows`);
  // per group block: 'all', then per dimension its values and an unknown slot
  const dimOff: number[] = [];
  let block = 1;
  for (const d of dims) {
    dimOff.push(block);
    block += d.names.length + 1;
  }
  const D = dims.length;
  const per = 1 + D;
  const copies = groups?.pooled ? 2 : 1;
  const width = per * copies;
  const member = new Int32Array(len * width);
  const keys = new Float64Array(len);
  const slices = nG * block;
  const pooledBase = groups?.pooled ? groups.count * block : -1;
  for (let i = 0; i < len; i++) {
    let gb = 0;
    if (groups) {
      const g = groups.codes[i];
      if (!(Number.isInteger(g) && g >= 0 && g < groups.count))
        throw new RangeError(`slice groups: code ${g} at row ${i} is not an index into its ${groups.count} groups`);
      gb = g * block;
    }
    const o = i * width;
    member[o] = gb;
    let key = gb;
    for (let di = 0; di < D; di++) {
      const d = dims[di];
      const G = d.names.length;
      const c = d.codes[i];
      let at: number;
      if (c === -1) at = G;
      else if (Number.isInteger(c) && c >= 0 && c < G) at = c;
      else
        throw new RangeError(
          `slice dimension '${d.name}': code ${c} at row ${i} is not -1 or an index into its ${G} names`,
        );
      member[o + 1 + di] = gb + dimOff[di] + at;
      key = key * (G + 1) + at;
    }
    keys[i] = key;
    if (pooledBase >= 0) for (let k = 0; k < per; k++) member[o + per + k] = member[o + k] - gb + pooledBase;
  }
  const membership = membershipOf(len, width, member, slices, keys);
  const rows = sliceRowCounts(membership);
  const pos = new Int32Array(slices);
  const neg = new Int32Array(slices);
  for (let i = 0; i < len; i++) {
    const yi = y[i];
    const cls = yi === 1 ? pos : yi === 0 ? neg : null;
    if (cls === null) continue;
    const base = membership.combo[i] * width;
    for (let k = 0; k < width; k++) cls[membership.table[base + k]]++;
  }
  const slots: SliceSlot[] = [];
  for (let g = 0; g < nG; g++) {
    const gb = g * block;
    slots.push({ group: g, dim: 'all', value: 'all', code: -2, slice: gb });
    for (let di = 0; di < D; di++) {
      const d = dims[di];
      const G = d.names.length;
      for (let c = 0; c < G; c++)
        slots.push({ group: g, dim: d.name, value: d.names[c], code: c, slice: gb + dimOff[di] + c });
      const unk = gb + dimOff[di] + G;
      if (rows[unk] > 0) slots.push({ group: g, dim: d.name, value: '(unknown)', code: -1, slice: unk });
    }
  }
  return { membership, slots, rows, pos, neg };
}

/** The rows of a layout's slots under `input` (one sliceMetrics call); row k belongs to slots[k]. */
export function layoutRows(
  layout: SliceLayout,
  input: SliceInput & { readonly ref?: ArrayLike<number> },
  opts: SliceOptions = {},
): { rows: SliceRow[]; brier_skill: Metric[] | null } {
  return layoutRowsOf(layout, sliceMetrics(layout.membership, input, sliceMetricsOptions(opts)), opts);
}

/** The sliceMetrics options of a layout's SliceOptions. */
export function sliceMetricsOptions(opts: SliceOptions): SliceMetricsOptions {
  return {
    min_per_class: opts.auc?.min_per_class,
    z: opts.auc?.z,
    variance_inflation: opts.auc?.variance_inflation,
    topk: opts.topk,
    ece_bins: opts.ece_bins,
    min_samples: opts.min_samples,
  };
}

/** `layoutRows` from metrics already computed for `layout.membership` (e.g. in parts, `scoreSliceMetrics` + `probSliceMetrics`). */
export function layoutRowsOf(
  layout: SliceLayout,
  r: SliceMetrics,
  opts: SliceOptions = {},
): { rows: SliceRow[]; brier_skill: Metric[] | null } {
  const sampleMs = checkPos('sample_ms', opts.sample_ms ?? 1000);
  const rows: SliceRow[] = [];
  const skill: Metric[] | null = r.brier_skill ? [] : null;
  for (const s of layout.slots) {
    const sl = s.slice;
    const m = layout.rows[sl];
    rows.push({
      dim: s.dim,
      value: s.value,
      code: s.code,
      rows: m,
      labeled: layout.pos[sl] + layout.neg[sl],
      n_pos: layout.pos[sl],
      n_neg: layout.neg[sl],
      effective_hours: (m * sampleMs) / 3.6e6,
      auc: r.auc[sl],
      topk: r.topk ? r.topk[sl] : NO_TOPK,
      ece: r.ece ? r.ece[sl] : NO_PROB,
      brier: r.brier ? r.brier[sl] : NO_PROB,
    });
    if (skill) skill.push(r.brier_skill![sl]);
  }
  return { rows, brier_skill: skill };
}

/**
 * Every metric per slice value of each dimension (and 'all'), rows in the
 * layout's order; one `sliceMetrics` pass (multislice.ts) for all slices.
 */
export function evaluateSlices(input: SliceInput, dims: readonly SliceDim[], opts: SliceOptions = {}): SliceRow[] {
  const { score, y, prob } = input;
  const len = score.length;
  if (y.length !== len || (prob && prob.length !== len))
    throw new RangeError(
      `evaluateSlices: column lengths differ (score ${len}, y ${y.length}${prob ? `, prob ${prob.length}` : ''})`,
    );
  checkPos('sample_ms', opts.sample_ms ?? 1000);
  return layoutRows(sliceLayout(y, dims), input, opts).rows;
}
