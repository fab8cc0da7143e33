/**
 * `runDq`: data-quality figures of a raw dataset, per symbol, per UTC hour and
 * overall. The scans run in DuckDB over the part files listed in the
 * manifest (see ./sql.ts); this file plans them and assembles the report.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Dataset } from '../dataset/reader.js';
import type { PartFileInfo } from '../dataset/manifest.js';
import { duck } from '../io/duck.js';
import { FlowlabError, UsageError } from '../core/errors.js';
import { sha256, sha256File } from '../core/hash.js';
import { safeJoin } from '../core/validate.js';
import { progressBar } from '../core/progress.js';
import { KINDS, type Kind } from '../core/types.js';
import { HOUR_MS, MINUTE_MS, scanKind, type KindAgg } from './sql.js';
import {
  bucketSpan,
  buildSymbol,
  overallVerdict,
  type BucketSpan,
  type MinuteSpan,
  type ScopeAggs,
  type SymbolContext,
} from './figures.js';
import {
  DEFAULT_DQ_THRESHOLDS,
  type DqOptions,
  type DqParams,
  type DqReport,
  type DqScope,
  type DqScopeReport,
  type DqSummary,
  type DqThresholds,
  type RecordingLosses,
  type SymbolReport,
} from './types.js';

/** More hourly files than this means broken timestamps, not a recording. */
export const MAX_DQ_HOURS = 100_000;

/** `YYYY-MM-DDTHH` of an hour index (epoch ms // 3600000). */
export function hourLabel(hour: number): string {
  return new Date(hour * HOUR_MS).toISOString().slice(0, 13);
}

/** `dq_YYYYMMDD_HH.json` of an hour index. */
export function hourFileName(hour: number): string {
  const iso = new Date(hour * HOUR_MS).toISOString();
  return `dq_${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}.json`;
}

export const SUMMARY_FILE = 'dq_summary.json';

/** Defaults filled in and every parameter checked; errors name the parameter and the allowed range. */
export function resolveDqParams(opts: DqOptions = {}): DqParams {
  const th: DqThresholds = { ...DEFAULT_DQ_THRESHOLDS, ...(opts.thresholds ?? {}) };
  const inRange = (name: string, v: number, max = Infinity): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
      throw new UsageError(
        `dq.${name}: ${String(v)} is not valid (expected a number >= 0${max < Infinity ? ` and <= ${max}` : ''})`,
      );
    }
  };
  inRange('empty_bucket_max', th.empty_bucket_max, 1);
  inRange('dup_rate_max', th.dup_rate_max, 1);
  inRange('latency_p99_max_ms', th.latency_p99_max_ms);
  inRange('latency_p50_max_ms', th.latency_p50_max_ms);
  const skewQ = opts.skewQuantile ?? 0.01;
  if (!(typeof skewQ === 'number' && skewQ > 0 && skewQ < 0.5)) {
    throw new UsageError(`dq skew quantile: ${String(skewQ)} is not valid (expected a number in (0, 0.5))`);
  }
  const warn = opts.skewWarnMs ?? 100;
  inRange('skew_warn_ms', warn);
  const minN = opts.minLatencySamples ?? 100;
  if (!Number.isInteger(minN) || minN < 1) {
    throw new UsageError(`dq min latency samples: ${String(minN)} is not valid (expected an integer >= 1)`);
  }
  return {
    thresholds: {
      empty_bucket_max: th.empty_bucket_max,
      dup_rate_max: th.dup_rate_max,
      latency_p99_max_ms: th.latency_p99_max_ms,
      latency_p50_max_ms: th.latency_p50_max_ms,
    },
    skew_quantile: skewQ,
    skew_warn_ms: warn,
    min_latency_samples: minN,
    bucket_ms: MINUTE_MS,
  };
}

interface KindScan {
  readonly total: KindAgg;
  readonly hours: Map<number, KindAgg>;
}

type SymbolScans = Partial<Record<Kind, KindScan>>;

function minuteSpan(lo: number | null, hi: number | null): MinuteSpan | null {
  if (lo === null || hi === null) return null;
  return { first_min: Math.floor(lo / MINUTE_MS), last_min: Math.floor(hi / MINUTE_MS) };
}

function clockOf(scan: KindScan | undefined): 'exchange' | 'recv' | null {
  if (!scan || scan.total.rows === 0) return null;
  return scan.total.ts_eq_recv === true ? 'recv' : 'exchange';
}

/** Spans and clocks of one symbol over the whole dataset. */
export function symbolContext(symbol: string, s: SymbolScans): SymbolContext {
  const quoteClock = clockOf(s.quotes);
  const depthClock = clockOf(s.depth);
  const exch: KindAgg[] = [];
  if (s.trades) exch.push(s.trades.total);
  if (s.quotes && quoteClock === 'exchange') exch.push(s.quotes.total);
  if (s.depth && depthClock === 'exchange') exch.push(s.depth.total);
  const all = KINDS.map((k) => s[k]?.total).filter((a): a is KindAgg => a !== undefined);
  const lo = (xs: (number | null)[]): number | null => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length ? Math.min(...v) : null;
  };
  const hi = (xs: (number | null)[]): number | null => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length ? Math.max(...v) : null;
  };
  const exchangeSpan = minuteSpan(lo(exch.map((a) => a.ts_min)), hi(exch.map((a) => a.ts_max)));
  const recvSpan = minuteSpan(lo(all.map((a) => a.recv_min)), hi(all.map((a) => a.recv_max)));
  const buckets = (a: KindAgg | undefined, span: MinuteSpan | null): BucketSpan | null => {
    if (!a || a.rows === 0 || !span || a.ts_min === null || a.ts_max === null) return null;
    return bucketSpan(span, Math.floor(a.ts_min / MINUTE_MS), Math.floor(a.ts_max / MINUTE_MS));
  };
  return {
    symbol,
    has: {
      trades: (s.trades?.total.rows ?? 0) > 0,
      quotes: (s.quotes?.total.rows ?? 0) > 0,
      depth: (s.depth?.total.rows ?? 0) > 0,
    },
    quote_clock: quoteClock,
    depth_clock: depthClock,
    exchange_span: exchangeSpan,
    recv_span: recvSpan,
    trade_buckets: buckets(s.trades?.total, exchangeSpan),
    quote_buckets: buckets(s.quotes?.total, quoteClock === 'recv' ? recvSpan : exchangeSpan),
  };
}

/** Ids of trades the importer / recorder dropped on purpose (manifest stats), per symbol: not gaps. */
function droppedTradeIds(stats: Record<string, Record<string, unknown> | undefined>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const part of [stats.import, stats.recorder]) {
    const ids = part?.trades_dropped_ids;
    if (!ids || typeof ids !== 'object') continue;
    for (const [sym, list] of Object.entries(ids as Record<string, unknown>)) {
      if (!Array.isArray(list)) continue;
      const v = list.filter((x): x is number => Number.isSafeInteger(x));
      out[sym] = [...(out[sym] ?? []), ...v];
    }
  }
  return out;
}

/** What a recording lost (manifest `stats.recorder`, cumulated over its runs); null for other sources. */
function recordingLosses(
  source: Record<string, unknown>,
  stats: Record<string, Record<string, unknown> | undefined>,
): RecordingLosses | null {
  if (source.type !== 'recorder') return null;
  const r = stats.recorder ?? {};
  const n = (k: string) => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : 0);
  return {
    trade_ids_lost: n('trade_ids_lost'),
    backfill_errors: n('backfill_errors'),
    depth_resyncs: n('depth_resyncs'),
    journal_corrupt_lines: n('journal_corrupt_lines'),
    write_errors: n('write_errors'),
  };
}

function contentHash(files: readonly PartFileInfo[]): string {
  const lines = files.map((f) => `${f.path} ${f.sha256}\n`).sort();
  return sha256(lines.join(''));
}

function scopeReport(
  base: Pick<DqScopeReport, 'dataset' | 'params'>,
  scope: DqScope,
  symbols: Record<string, SymbolReport>,
): DqScopeReport {
  const { verdict, reason } = overallVerdict(symbols);
  const warnings: string[] = [];
  for (const [sym, r] of Object.entries(symbols)) {
    for (const w of r.warnings) warnings.push(`${sym}: ${w}`);
    if (r.verdict === 'N/A' && (r.rows.trades + r.rows.quotes + r.rows.depth > 0 || scope.kind === 'summary')) {
      warnings.push(`${sym}: nothing verified (every check n/a)`);
    }
  }
  return {
    flowlab_dq: 1,
    dataset: base.dataset,
    params: base.params,
    scope,
    verdict,
    verdict_reason: reason,
    symbols,
    warnings,
  };
}

/**
 * Compute the dq report of the dataset at `datasetRoot`.
 *
 * Cost: one DuckDB scan per (symbol, kind) over its part files, with two
 * window passes (per-id and arrival order) and a hash aggregate by hour;
 * memory is DuckDB's (it spills), the JS side holds only per-hour aggregates.
 */
export async function runDq(datasetRoot: string, opts: DqOptions = {}): Promise<DqReport> {
  const params = resolveDqParams(opts);
  const ds = new Dataset(datasetRoot);
  const m = ds.manifest;
  const symbols = [...(opts.symbols ?? m.symbols)].sort();
  for (const s of symbols) {
    if (!m.symbols.includes(s)) {
      throw new FlowlabError(
        `symbol '${s}' is not in dataset '${ds.root}' (it has: ${m.symbols.join(', ') || 'none'})`,
      );
    }
  }
  const selected = m.files.filter((f) => symbols.includes(f.symbol));
  const base = {
    dataset: { name: path.basename(ds.root), content_sha256: contentHash(selected), files: selected.length },
    params,
  };

  const stats = (m.stats ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const droppedIds = droppedTradeIds(stats);
  const conn = await duck();
  const scans = new Map<string, SymbolScans>();
  const bar = progressBar(opts.progress);
  bar.start('dq', selected.length, 'part files');
  let scanned = 0;
  try {
    for (const sym of symbols) {
      const s: SymbolScans = {};
      for (const kind of KINDS) {
        const files = selected
          .filter((f) => f.symbol === sym && f.kind === kind)
          .map((f) => safeJoin(ds.root, f.path))
          .sort();
        if (files.length === 0) continue;
        for (const f of selected) {
          if (f.symbol !== sym || f.kind !== kind) continue;
          const file = safeJoin(ds.root, f.path);
          if (!fs.existsSync(file)) throw new FlowlabError(`part file '${file}' listed in the manifest is missing`);
          // dq reports on what the manifest describes, as replay does: a changed part file is an error
          const h = await sha256File(file);
          if (h !== f.sha256)
            throw new FlowlabError(`part file '${file}' changed: sha256 ${h} != manifest ${f.sha256}`);
        }
        const dropped = kind === 'trades' ? (droppedIds[sym] ?? []) : [];
        const r = await scanKind(conn, kind, sym, files, params.skew_quantile, dropped);
        s[kind] = { total: r.total, hours: new Map(r.hours.map((h) => [h.hour as number, h])) };
        bar.update((scanned += files.length));
      }
      scans.set(sym, s);
    }
  } finally {
    bar.stop();
    conn.closeSync();
  }

  const contexts = new Map(symbols.map((sym) => [sym, symbolContext(sym, scans.get(sym)!)]));

  // hours: every hour from the first to the last one holding a row (empty hours in between included)
  let h0 = Infinity;
  let h1 = -Infinity;
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const s of scans.values()) {
    for (const k of KINDS) {
      const sc = s[k];
      if (!sc) continue;
      for (const h of sc.hours.keys()) {
        h0 = Math.min(h0, h);
        h1 = Math.max(h1, h);
      }
      if (sc.total.ts_min !== null) t0 = Math.min(t0, sc.total.ts_min);
      if (sc.total.ts_max !== null) t1 = Math.max(t1, sc.total.ts_max);
    }
  }
  const nHours = Number.isFinite(h0) ? h1 - h0 + 1 : 0;
  if (nHours > MAX_DQ_HOURS) {
    throw new FlowlabError(
      `dq: ts_ms spans ${nHours} hours (${hourLabel(h0)} .. ${hourLabel(h1)}), more than ${MAX_DQ_HOURS}: check the dataset for bad timestamps`,
    );
  }

  const hours: DqScopeReport[] = [];
  for (let h = h0; h <= h1; h++) {
    const syms: Record<string, SymbolReport> = {};
    for (const sym of symbols) {
      const s = scans.get(sym)!;
      const aggs: ScopeAggs = {
        trades: s.trades?.hours.get(h),
        quotes: s.quotes?.hours.get(h),
        depth: s.depth?.hours.get(h),
      };
      syms[sym] = buildSymbol(contexts.get(sym)!, aggs, h, params);
    }
    hours.push(
      scopeReport(base, { kind: 'hour', hour: hourLabel(h), from_ms: h * HOUR_MS, to_ms: (h + 1) * HOUR_MS }, syms),
    );
  }

  const syms: Record<string, SymbolReport> = {};
  for (const sym of symbols) {
    const s = scans.get(sym)!;
    syms[sym] = buildSymbol(
      contexts.get(sym)!,
      { trades: s.trades?.total, quotes: s.quotes?.total, depth: s.depth?.total },
      null,
      params,
    );
  }
  const scope: DqScope = Number.isFinite(t0)
    ? { kind: 'summary', hour: null, from_ms: t0, to_ms: t1 + 1 }
    : { kind: 'summary', hour: null, from_ms: null, to_ms: null };
  const summaryBase = scopeReport(base, scope, syms);
  const losses = recordingLosses(m.source ?? {}, stats);
  if (losses) {
    const said: [keyof RecordingLosses, string][] = [
      ['trade_ids_lost', 'trade ids declared lost by the recorder (REST backfill could not recover them)'],
      ['journal_corrupt_lines', 'journal lines unreadable on recovery (their messages are lost)'],
      ['write_errors', 'part-file writes that failed after every retry'],
      ['depth_resyncs', 'depth resyncs (diff sequence breaks: no depth rows until the next snapshot)'],
      ['backfill_errors', 'failed REST trade backfill requests'],
    ];
    for (const [k, what] of said) if (losses[k] > 0) summaryBase.warnings.push(`recording: ${losses[k]} ${what}`);
  }
  for (const sym of symbols) {
    const n = new Set(droppedIds[sym] ?? []).size;
    if (n > 0)
      summaryBase.warnings.push(
        `${sym}: ${n} trade ids dropped on purpose at import/record (futures non-MARKET: insurance fund, ADL); not counted as gaps`,
      );
  }
  const summary: DqSummary = {
    ...summaryBase,
    ...(losses ? { recording: losses } : {}),
    hours: hours.map((r, i) => ({ hour: r.scope.hour as string, file: hourFileName(h0 + i), verdict: r.verdict })),
  };
  return { summary, hours };
}
