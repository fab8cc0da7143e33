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
import { evaluateSlices, type SliceDim, type SliceRow } from '../eval/slices.js';
import { brierSkillVsRef } from '../eval/calibration.js';
import type { Metric } from '../eval/metric.js';
import { REGIME_NAMES, SCENARIO_NAMES, VOL_TERTILE_NAMES } from '../calc/slices.js';

/** Columns of one group, row-aligned (slice codes: -1 unknown). */
export interface OverviewColumns {
  readonly score: Float64Array;
  readonly y: Float64Array;
  /** Calibrated probabilities; absent: ECE, Brier and Brier skill are not computed. */
  readonly prob?: Float64Array;
  /** Reference forecast for Brier skill: the sample's fold training base rate (NaN: none). */
  readonly ref: Float64Array;
  readonly regime: Int8Array;
  readonly session: Int8Array;
  readonly vol_tertile: Int8Array;
  readonly scenario: Int8Array;
  readonly sessionNames: readonly string[];
}

export interface OverviewOptions {
  readonly sample_ms: number;
  readonly ece_bins: number;
  /** DeLong variance inflation (samples per label horizon). */
  readonly variance_inflation: number;
  /** Dimensions to evaluate (default all four, in this order). */
  readonly dims?: readonly OverviewDim[];
  /** Compute the top-5% hit rate (default true; ~15% of the cost). */
  readonly topk?: boolean;
}

export type OverviewDim = 'regime' | 'session' | 'vol_tertile' | 'scenario_2x2';
export const OVERVIEW_DIMS: readonly OverviewDim[] = ['regime', 'session', 'vol_tertile', 'scenario_2x2'];

export interface OverviewRow extends SliceRow {
  /** The group: a symbol or 'ALL'. */
  readonly group: string;
  readonly brier_skill: Metric;
}

const NOT_CALIBRATED: Metric = { value: null, n: 0, reason: 'no calibrated probabilities given' };

function dimsOf(c: OverviewColumns, want: readonly OverviewDim[]): SliceDim[] {
  const all: Record<OverviewDim, SliceDim> = {
    regime: { name: 'regime', codes: c.regime, names: REGIME_NAMES },
    session: { name: 'session', codes: c.session, names: c.sessionNames },
    vol_tertile: { name: 'vol_tertile', codes: c.vol_tertile, names: VOL_TERTILE_NAMES },
    scenario_2x2: { name: 'scenario_2x2', codes: c.scenario, names: SCENARIO_NAMES },
  };
  return want.map((d) => all[d]);
}

/** The overview rows of every group, in order: the 'all' row, then each dimension's values. */
export function slicesOverview(
  groups: readonly { name: string; cols: OverviewColumns }[],
  o: OverviewOptions,
): OverviewRow[] {
  const out: OverviewRow[] = [];
  for (const g of groups) {
    const c = g.cols;
    const dims = dimsOf(c, o.dims ?? OVERVIEW_DIMS);
    const rows = evaluateSlices({ score: c.score, y: c.y, prob: c.prob }, dims, {
      sample_ms: o.sample_ms,
      ece_bins: o.ece_bins,
      auc: { variance_inflation: o.variance_inflation },
      topk: o.topk === false ? false : undefined,
    });
    for (const r of rows) {
      const codes = r.dim === 'all' ? null : dims.find((d) => d.name === r.dim)!.codes;
      const brier_skill = c.prob
        ? brierSkillVsRef(c.prob, c.y, c.ref, (i) => codes === null || codes[i] === r.code)
        : NOT_CALIBRATED;
      out.push({ ...r, group: g.name, brier_skill });
    }
  }
  return out;
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
