/**
 * The slices overview of a canary run (`slices_overview.csv`): per group (a
 * symbol, or ALL pooled) and per slice value of regime / session / vol tertile /
 * scenario, rows, labels, effective hours, AUC with the overlap-corrected
 * DeLong CI, ECE, Brier, Brier skill against each sample's fold base rate,
 * and the top-5% hit rate. The canary writes it from its tracks; re-scoring
 * (src/canary/rescore.ts) computes it from stored components: one function, so
 * the two agree to the bit.
 */
import { SLICES_OVERVIEW_HEADER } from '../report/ramp.js';
import {
  layoutRowsOf,
  sliceLayout,
  sliceMetricsOptions,
  type SliceDim,
  type SliceLayout,
  type SliceOptions,
  type SliceRow,
} from '../eval/slices.js';
import {
  probSliceMetrics,
  scoreSliceMetrics,
  type SliceMetrics,
  type SliceMetricsOptions,
} from '../eval/multislice.js';
import type { Metric } from '../eval/metric.js';
import { REGIME_NAMES, SCENARIO_NAMES, VOL_TERTILE_NAMES } from '../calc/slices.js';

/**
 * Every sample of the run, row-aligned, the groups' rows concatenated (slice
 * codes: -1 unknown). The weight-independent part: labels, groups, slices.
 */
export interface OverviewSet {
  readonly y: Float64Array;
  /** Group index per row (into groupNames); the pooled group 'ALL' of every row comes last. */
  readonly group: ArrayLike<number>;
  readonly groupNames: readonly string[];
  readonly regime: Int8Array;
  readonly session: Int8Array;
  readonly vol_tertile: Int8Array;
  readonly scenario: Int8Array;
  readonly sessionNames: readonly string[];
}

/** What depends on the weights: scores and calibrated probabilities. */
export interface OverviewScores {
  readonly score: Float64Array;
  /** Calibrated probabilities; absent: ECE, Brier and Brier skill are not computed. */
  readonly prob?: Float64Array;
  /** Reference forecast for Brier skill: the sample's fold training base rate (NaN: none). */
  readonly ref: Float64Array;
}

export interface OverviewOptions {
  readonly sample_ms: number;
  readonly ece_bins: number;
  /** DeLong variance inflation (samples per label horizon). */
  readonly variance_inflation: number;
  /** Compute the top-5% hit rate (default true). */
  readonly topk?: boolean;
}

export type OverviewDim = 'regime' | 'session' | 'vol_tertile' | 'scenario_2x2';
export const OVERVIEW_DIMS: readonly OverviewDim[] = ['regime', 'session', 'vol_tertile', 'scenario_2x2'];

export interface OverviewRow extends SliceRow {
  /** The group: a symbol or 'ALL'. */
  readonly group: string;
  readonly brier_skill: Metric;
}

export const POOLED_GROUP = 'ALL';
const NOT_CALIBRATED: Metric = { value: null, n: 0, reason: 'no calibrated probabilities given' };

/** The slice layout of a set (build once; `overviewRows` then scores it as often as needed). */
export interface OverviewPlan {
  readonly layout: SliceLayout;
  readonly names: readonly string[];
  readonly y: Float64Array;
}

export function overviewPlan(set: OverviewSet, want: readonly OverviewDim[] = OVERVIEW_DIMS): OverviewPlan {
  const all: Record<OverviewDim, SliceDim> = {
    regime: { name: 'regime', codes: set.regime, names: REGIME_NAMES },
    session: { name: 'session', codes: set.session, names: set.sessionNames },
    vol_tertile: { name: 'vol_tertile', codes: set.vol_tertile, names: VOL_TERTILE_NAMES },
    scenario_2x2: { name: 'scenario_2x2', codes: set.scenario, names: SCENARIO_NAMES },
  };
  const layout = sliceLayout(
    set.y,
    want.map((d) => all[d]),
    { codes: set.group, count: set.groupNames.length, pooled: true },
  );
  return { layout, names: [...set.groupNames, POOLED_GROUP], y: set.y };
}

/** The overview rows of every group (each symbol, then ALL): the 'all' row, then each dimension's values. */
export function overviewRows(plan: OverviewPlan, sc: OverviewScores, o: OverviewOptions): OverviewRow[] {
  const m = plan.layout.membership;
  const mo = overviewMetricsOptions(o);
  const sm = scoreSliceMetrics(m, { score: sc.score, y: plan.y }, mo);
  return overviewRowsOf(
    plan,
    sm,
    sc.prob ? probSliceMetrics(m, { prob: sc.prob, y: plan.y, ref: sc.ref }, mo) : null,
    o,
  );
}

/** The sliceMetrics options of an overview (for callers that compute its two parts themselves). */
export function overviewMetricsOptions(o: OverviewOptions): SliceMetricsOptions {
  return sliceMetricsOptions(sliceOptions(o));
}

const sliceOptions = (o: OverviewOptions): SliceOptions => ({
  sample_ms: o.sample_ms,
  ece_bins: o.ece_bins,
  auc: { variance_inflation: o.variance_inflation },
  topk: o.topk === false ? false : undefined,
});

/**
 * `overviewRows` from its two parts computed on `plan.layout.membership` (with
 * `overviewMetricsOptions(o)`): `scoreSliceMetrics` of the scores, and
 * `probSliceMetrics` of the probabilities (null: not calibrated). The same rows.
 */
export function overviewRowsOf(
  plan: OverviewPlan,
  sm: Pick<SliceMetrics, 'auc' | 'topk'>,
  pm: Pick<SliceMetrics, 'ece' | 'brier' | 'brier_skill'> | null,
  o: OverviewOptions,
): OverviewRow[] {
  const { rows, brier_skill } = layoutRowsOf(
    plan.layout,
    { ...sm, ...(pm ?? { ece: null, brier: null, brier_skill: null }) },
    sliceOptions(o),
  );
  return rows.map((r, k) => ({
    ...r,
    group: plan.names[plan.layout.slots[k].group],
    brier_skill: brier_skill ? brier_skill[k] : NOT_CALIBRATED,
  }));
}

/** `overviewRows(overviewPlan(set), set, o)` (the canary's one call). */
export function slicesOverview(set: OverviewSet & OverviewScores, o: OverviewOptions): OverviewRow[] {
  return overviewRows(overviewPlan(set), set, o);
}

/** The header of slices_overview.csv. */
export const SLICES_OVERVIEW_CSV_HEADER = SLICES_OVERVIEW_HEADER;

/** One slices_overview.csv row. */
export function overviewCells(r: OverviewRow): (string | number | null)[] {
  return [
    r.group,
    r.dim,
    r.value,
    r.rows,
    r.labeled,
    r.auc.n_pos,
    r.auc.n_neg,
    r.effective_hours,
    r.auc.auc,
    r.auc.ci_low,
    r.auc.ci_high,
    r.ece.value,
    r.brier.value,
    r.brier_skill.value,
    r.topk.value,
    r.auc.reason ?? null,
  ];
}
