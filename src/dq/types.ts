/**
 * Data-quality report contracts (`flowlab dq`). See ./README.md for the
 * definitions of every figure, the clock-skew method and the hour assignment.
 *
 * Conventions:
 * - A figure that cannot be computed is `null` and carries `reason`; a check
 *   on it is `n/a`, never a pass.
 * - Times are epoch ms UTC; latencies and skew are ms; rates are fractions (0..1).
 * - Objects are built in a fixed key order and hold no wall-clock field, so the
 *   same dataset gives byte-identical JSON.
 */

/** The seed's DoD thresholds. Each check passes when `value < max` (strict). */
export interface DqThresholds {
  /** Max 1-minute empty-bucket rate (trades and quotes). Default 0.001 (0.1%). */
  readonly empty_bucket_max: number;
  /** Max duplicate rate (trades by agg_trade_id, quotes by update_id). Default 0.005 (0.5%). */
  readonly dup_rate_max: number;
  /** Max p99 of net latency, ms. Default 120. */
  readonly latency_p99_max_ms: number;
  /** Max p50 of net latency, ms. Default 60. */
  readonly latency_p50_max_ms: number;
}

export const DEFAULT_DQ_THRESHOLDS: Readonly<DqThresholds> = Object.freeze({
  empty_bucket_max: 0.001,
  dup_rate_max: 0.005,
  latency_p99_max_ms: 120,
  latency_p50_max_ms: 60,
});

export interface DqOptions {
  /** Symbols to check (default: every symbol of the dataset). */
  readonly symbols?: readonly string[];
  /** Overrides of DEFAULT_DQ_THRESHOLDS (the config layer passes `dq:`). */
  readonly thresholds?: Partial<DqThresholds>;
  /** Quantile of (recv - exchange time) taken as the clock-skew estimate. Default 0.01. */
  readonly skewQuantile?: number;
  /** |skew| above this many ms is flagged as a warning. Default 100. */
  readonly skewWarnMs?: number;
  /** Fewer latency samples than this in a scope: latency is null with a reason. Default 100. */
  readonly minLatencySamples?: number;
  /** Progress bar of scanned part files (default: when stderr is a terminal). */
  readonly progress?: boolean;
}

/** The parameters a report was computed with (written into every file). */
export interface DqParams {
  readonly thresholds: DqThresholds;
  readonly skew_quantile: number;
  readonly skew_warn_ms: number;
  readonly min_latency_samples: number;
  readonly bucket_ms: number;
}

export type CheckStatus = 'pass' | 'fail' | 'n/a';
/** `N/A`: no failed check and nothing verified (no rows in scope, or every check n/a). */
export type SymbolVerdict = 'PASS' | 'FAIL' | 'N/A';
export type Verdict = 'PASS' | 'FAIL';

/** A count and its rate over the rows of the kind in scope. */
export interface RateFigure {
  readonly count: number;
  readonly rate: number | null;
  readonly reason?: string;
}

export interface EmptyBucketFigure {
  /** Which clock the buckets are on: the kind's ts_ms is exchange time or local receive time. */
  readonly clock: 'exchange' | 'recv';
  /** Minutes of the span inside this scope. */
  readonly minutes: number;
  readonly empty_minutes: number;
  /** Edge minutes of the symbol's span left out because they hold no row of this kind (see README). */
  readonly edges_excluded: number;
  readonly rate: number | null;
  readonly reason?: string;
}

export interface Quantiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

export interface LatencyFigure {
  /** What is measured: `recv_ts_ms - event_ts_ms` (trades) or `recv_ts_ms - ts_ms` (quotes). */
  readonly measure: string;
  readonly samples: number;
  /** Quantiles of the raw difference (clock skew included). */
  readonly raw_ms: Quantiles | null;
  /** Skew estimate: the `skew_quantile` quantile of the raw difference. */
  readonly skew_ms: number | null;
  /** Raw minus skew: latency above the minimum latency (see README). */
  readonly net_ms: Quantiles | null;
  /** |skew_ms| > skew_warn_ms. */
  readonly skew_large: boolean | null;
  readonly reason?: string;
}

export interface BadRowsFigure {
  /** Rows with at least one problem below (a row counts once). */
  readonly count: number;
  readonly rate: number | null;
  /** Null required field (depth: also null list element or price/qty list length mismatch). */
  readonly null_fields: number;
  /** Price NaN, infinite or <= 0 (depth: any level). */
  readonly bad_price: number;
  /** Quantity NaN, infinite or < 0 (depth: any level). */
  readonly bad_qty: number;
  /** A time column <= 0. */
  readonly bad_time: number;
  /** `symbol` column differs from the partition's symbol. */
  readonly symbol_mismatch: number;
  /**
   * Part files in scope whose every row has another symbol (another symbol's data in
   * this partition): the symbol and the dataset FAIL, whatever the checks say.
   */
  readonly foreign_parts: number;
  readonly reason?: string;
}

export interface TradeFigures {
  readonly rows: number;
  readonly empty_buckets: EmptyBucketFigure;
  readonly duplicates: RateFigure;
  readonly id_gaps: { readonly missing_ids: number; readonly events: number; readonly reason?: string };
  readonly out_of_order: RateFigure;
  readonly latency: LatencyFigure;
  readonly bad_rows: BadRowsFigure;
}

export interface QuoteFigures {
  readonly rows: number;
  /** `exchange` when ts_ms carries exchange time, `recv` when ts_ms == recv_ts_ms on every row (spot bookTicker). */
  readonly ts_clock: 'exchange' | 'recv' | null;
  readonly empty_buckets: EmptyBucketFigure;
  readonly duplicates: RateFigure;
  /** Rows whose update_id is lower than one received earlier (ids are not consecutive: no gap count). */
  readonly out_of_order: RateFigure;
  readonly crossed: RateFigure;
  readonly locked: RateFigure;
  readonly latency: LatencyFigure;
  readonly bad_rows: BadRowsFigure;
}

export interface DepthFigures {
  readonly rows: number;
  /** Bids not strictly descending or asks not strictly ascending. */
  readonly unordered: RateFigure;
  /** First bid level > first ask level. */
  readonly crossed: RateFigure;
  /** First bid level == first ask level. */
  readonly locked: RateFigure;
  readonly bad_rows: BadRowsFigure;
}

export interface DqCheck {
  readonly name: string;
  readonly value: number | null;
  readonly op: '<';
  readonly max: number;
  readonly status: CheckStatus;
  readonly reason?: string;
  /** What the figure is, where the name alone does not say it (the latency checks). */
  readonly measures?: string;
}

export interface SymbolReport {
  readonly verdict: SymbolVerdict;
  readonly rows: { readonly trades: number; readonly quotes: number; readonly depth: number };
  readonly trades: TradeFigures;
  readonly quotes: QuoteFigures;
  readonly depth: DepthFigures;
  readonly checks: DqCheck[];
  readonly warnings: string[];
}

export interface DqScope {
  readonly kind: 'summary' | 'hour';
  /** `YYYY-MM-DDTHH` for an hour. */
  readonly hour: string | null;
  /** [from, to) epoch ms: the hour, or the symbols' overall span (null when there is no data). */
  readonly from_ms: number | null;
  readonly to_ms: number | null;
}

/** One dq file: `dq_summary.json` or `dq_YYYYMMDD_HH.json`. */
export interface DqScopeReport {
  readonly flowlab_dq: 1;
  readonly dataset: { readonly name: string; readonly content_sha256: string; readonly files: number };
  readonly params: DqParams;
  readonly scope: DqScope;
  readonly verdict: Verdict;
  readonly verdict_reason: string;
  readonly symbols: Record<string, SymbolReport>;
  readonly warnings: string[];
}

export interface HourIndexEntry {
  readonly hour: string;
  readonly file: string;
  readonly verdict: Verdict;
}

/** What a recording lost, from its manifest (`stats.recorder`, cumulated over the recorder's runs). */
export interface RecordingLosses {
  readonly trade_ids_lost: number;
  readonly backfill_errors: number;
  readonly depth_resyncs: number;
  readonly journal_corrupt_lines: number;
  readonly write_errors: number;
}

export interface DqSummary extends DqScopeReport {
  /** Only for a dataset recorded by `flowlab record`: its losses (each non-zero one is also a warning). */
  readonly recording?: RecordingLosses;
  /** Every hourly file, in time order. */
  readonly hours: HourIndexEntry[];
}

/** What `runDq` returns: the summary and one report per UTC hour. */
export interface DqReport {
  readonly summary: DqSummary;
  readonly hours: DqScopeReport[];
}
