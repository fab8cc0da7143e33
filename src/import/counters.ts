/**
 * Import counters: everything an importer skipped, dropped, repaired or
 * doubted, by name, so bad input is visible instead of fatal. They go into
 * `_manifest.json` under `stats.import` and the CLI prints the non-zero ones.
 *
 * Invariants the tests check:
 *   depth_diffs = depth_diffs_applied + depth_diffs_stale + depth_diffs_duplicate + depth_diffs_dropped_unsynced
 *   (diffs rejected as bad rows never reach the book and are in `bad_rows` only)
 */
import type { RawSink } from '../core/types.js';
import type { MarketInfo } from '../core/market.js';

export interface ImportCounters {
  files: number;
  lines: number;
  lines_empty: number;
  /** Files whose compressed stream was truncated or corrupt (reading stopped there, rows before kept). */
  files_damaged: number;
  /** Incomplete last lines of damaged files (dropped). */
  lines_truncated: number;
  lines_no_timestamp: number;
  lines_malformed_json: number;
  /** Valid JSON that is neither a stream message nor a depth snapshot. */
  lines_unrecognized: number;
  /** Stream messages of streams the importer does not map, by stream name. */
  unknown_streams: Record<string, number>;
  /** Messages / CSV rows seen, by type (trade, aggTrade, bookTicker, depth_diff, depth_partial, depth_snapshot). */
  messages: Record<string, number>;
  /** Rows rejected, by reason (e.g. `trade_price`, `quote_qty`, `depth_level`, `id_unsafe`, `csv_columns`). */
  bad_rows: Record<string, number>;
  /** Prices / quantities sent as JSON numbers instead of strings (accepted; a number may have lost digits), by row kind. */
  json_number_values: Record<string, number>;
  /** Rows written, by kind. */
  rows: { trades: number; quotes: number; depth: number };
  /** Futures trades with `X` other than MARKET (INSURANCE_FUND, ADL, NA): dropped, by `X`. */
  trades_dropped_non_market: Record<string, number>;
  /** Their ids per symbol (at most 10,000 each; src/binance/mapper.ts), read by DQ. */
  trades_dropped_ids: Record<string, number[]>;
  /** Trades whose id is not above the last id seen for the symbol and stream: dropped as re-deliveries. */
  trades_duplicate: number;
  /** Jumps in consecutive trade ids (kept; `trade_ids_missing` ids were never seen). */
  trade_id_gaps: number;
  trade_ids_missing: number;
  /** Trades without `m` (is_buyer_maker written as null). */
  trades_side_unknown: number;
  /** bookTicker rows whose update id is not above the last one: dropped as re-deliveries. */
  quotes_duplicate: number;
  /** bookTicker rows with bid >= ask: kept (the DQ module reports them). */
  crossed_quotes: number;
  depth_snapshots: number;
  /** Snapshots arriving while the book was already synced (not needed, not applied). */
  depth_snapshots_ignored: number;
  /** Snapshots whose symbol could not be inferred (no stream message in the file). */
  depth_snapshots_unassigned: number;
  depth_diffs: number;
  depth_diffs_applied: number;
  /** Diffs older than the snapshot (Binance rule: dropped, normal during sync). */
  depth_diffs_stale: number;
  /** Diffs at or below the last applied update id while synced (re-deliveries). */
  depth_diffs_duplicate: number;
  /** Continuity failures (first diff not straddling the snapshot, or U / pu not following the previous u). */
  depth_seq_breaks: number;
  /** Diffs never applied because the book was not synced (no snapshot, or after a break). */
  depth_diffs_dropped_unsynced: number;
  /** Buffered pre-snapshot diffs evicted because the buffer was full (also in dropped_unsynced). */
  depth_buffer_overflow: number;
  /** Books found crossed (best bid >= best ask) after a diff. */
  depth_crossed: number;
  /** Stale levels removed to uncross them. */
  depth_crossed_levels_removed: number;
  /** Receive-time span over every timestamped line, [min, max] epoch ms (null before any). */
  recv_ts_ms_range: [number, number] | null;
  /** Exchange event-time (`E`) span over every stream message carrying one, [min, max] epoch ms. */
  event_ts_ms_range: [number, number] | null;
  /** Receive-timestamp unit detected per input file (`ns`, `us`, `ms`; ws-capture), by file name. */
  recv_ts_units: Record<string, string>;
  /** Human-readable warnings (at most MAX_WARNINGS kept; `warnings_dropped` counts the rest). */
  warnings: string[];
  warnings_dropped: number;
}

export const MAX_WARNINGS = 50;

export function newCounters(): ImportCounters {
  return {
    files: 0,
    lines: 0,
    lines_empty: 0,
    files_damaged: 0,
    lines_truncated: 0,
    lines_no_timestamp: 0,
    lines_malformed_json: 0,
    lines_unrecognized: 0,
    unknown_streams: {},
    messages: {},
    bad_rows: {},
    json_number_values: {},
    rows: { trades: 0, quotes: 0, depth: 0 },
    trades_dropped_non_market: {},
    trades_dropped_ids: {},
    trades_duplicate: 0,
    trade_id_gaps: 0,
    trade_ids_missing: 0,
    trades_side_unknown: 0,
    quotes_duplicate: 0,
    crossed_quotes: 0,
    depth_snapshots: 0,
    depth_snapshots_ignored: 0,
    depth_snapshots_unassigned: 0,
    depth_diffs: 0,
    depth_diffs_applied: 0,
    depth_diffs_stale: 0,
    depth_diffs_duplicate: 0,
    depth_seq_breaks: 0,
    depth_diffs_dropped_unsynced: 0,
    depth_buffer_overflow: 0,
    depth_crossed: 0,
    depth_crossed_levels_removed: 0,
    recv_ts_ms_range: null,
    event_ts_ms_range: null,
    recv_ts_units: {},
    warnings: [],
    warnings_dropped: 0,
  };
}

/** Widen a [min, max] span to include `v` (allocates only for the first value). */
export function widen(range: [number, number] | null, v: number): [number, number] {
  if (range === null) return [v, v];
  if (v < range[0]) range[0] = v;
  else if (v > range[1]) range[1] = v;
  return range;
}

export function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

export function warn(c: ImportCounters, msg: string, onWarning?: (msg: string) => void): void {
  if (c.warnings.length < MAX_WARNINGS) c.warnings.push(msg);
  else c.warnings_dropped++;
  onWarning?.(msg);
}

/** The non-zero counters as `name=value` strings (maps flattened as `name.key=value`), for one-line summaries. */
export function nonZero(c: ImportCounters): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(c)) {
    if (
      k === 'warnings' ||
      k === 'recv_ts_units' ||
      k === 'rows' ||
      k === 'messages' ||
      k === 'files' ||
      k === 'lines' ||
      k.endsWith('_range')
    )
      continue;
    if (typeof v === 'number') {
      if (v !== 0) out.push(`${k}=${v}`);
    } else if (v && typeof v === 'object') {
      for (const [kk, vv] of Object.entries(v as Record<string, number>)) if (vv !== 0) out.push(`${k}.${kk}=${vv}`);
    }
  }
  return out;
}

/**
 * A RawSink that may also flush buffered rows and record a symbol's venue and
 * market kind (DatasetWriter does both; test sinks need not).
 */
export type DrainableSink = RawSink & {
  drain?: () => Promise<unknown>;
  setMarket?: (symbol: string, market: MarketInfo) => void;
};

/** Lines between two `drain()` calls. */
export const DRAIN_EVERY_LINES = 50_000;

/**
 * Per-symbol continuity of trade ids (one tracker per symbol and stream).
 * Returns false for a re-delivery (id not above the last one: dropped),
 * counts gaps (kept).
 */
export class IdTracker {
  private last = NaN;
  accept(c: ImportCounters, first: number, last: number): boolean {
    if (!Number.isNaN(this.last)) {
      if (last <= this.last) {
        c.trades_duplicate++;
        return false;
      }
      if (first > this.last + 1) {
        c.trade_id_gaps++;
        c.trade_ids_missing += first - this.last - 1;
      }
    }
    this.last = last;
    return true;
  }
}
