/**
 * Pure assembly of dq figures, checks and verdicts from scan aggregates.
 * No IO: `run.ts` scans, this file turns numbers into the report.
 */
import type { KindAgg } from './sql.js';
import type {
  BadRowsFigure,
  DepthFigures,
  DqCheck,
  DqParams,
  EmptyBucketFigure,
  LatencyFigure,
  QuoteFigures,
  RateFigure,
  SymbolReport,
  SymbolVerdict,
  TradeFigures,
  Verdict,
} from './types.js';

/** Minute-bucket span of one clock: buckets [first_min, last_min] inclusive (minute index = ms // 60000). */
export interface MinuteSpan {
  readonly first_min: number;
  readonly last_min: number;
}

/**
 * The minutes over which one kind's empty-bucket rate is measured: the
 * symbol's span on the kind's clock, minus its first / last minute when that
 * edge minute holds no row of this kind (`edges_excluded`, 0..2).
 */
export interface BucketSpan extends MinuteSpan {
  readonly edges_excluded: number;
  readonly dropped_first: boolean;
  readonly dropped_last: boolean;
}

/** What is known about one symbol over the whole dataset (decides spans and clocks for every scope). */
export interface SymbolContext {
  readonly symbol: string;
  readonly has: { readonly trades: boolean; readonly quotes: boolean; readonly depth: boolean };
  readonly quote_clock: 'exchange' | 'recv' | null;
  readonly depth_clock: 'exchange' | 'recv' | null;
  /** Span of ts_ms over the kinds whose ts_ms is exchange time. */
  readonly exchange_span: MinuteSpan | null;
  /** Span of recv_ts_ms over all kinds (the clock of spot bookTicker's ts_ms). */
  readonly recv_span: MinuteSpan | null;
  /** Empty-bucket spans of trades and quotes (null: no rows of that kind). */
  readonly trade_buckets: BucketSpan | null;
  readonly quote_buckets: BucketSpan | null;
}

/**
 * Bucket span of a kind whose rows lie in minutes [kindFirst, kindLast] inside
 * the symbol's span. The span's first and last minute are only partly recorded
 * (the recording starts and stops inside them), so an edge minute without a
 * row of this kind is not evidence of an outage: it is left out. Interior
 * minutes always count.
 */
export function bucketSpan(span: MinuteSpan, kindFirst: number, kindLast: number): BucketSpan {
  const dropFirst = kindFirst > span.first_min ? 1 : 0;
  const dropLast = kindLast < span.last_min ? 1 : 0;
  return {
    first_min: span.first_min + dropFirst,
    last_min: span.last_min - dropLast,
    edges_excluded: dropFirst + dropLast,
    dropped_first: dropFirst === 1,
    dropped_last: dropLast === 1,
  };
}

export interface ScopeAggs {
  readonly trades?: KindAgg;
  readonly quotes?: KindAgg;
  readonly depth?: KindAgg;
}

const MIN_PER_HOUR = 60;

/** Round to 1 µs of a millisecond value, so float noise never reaches the JSON. */
export function r3(x: number): number {
  const v = Math.round(x * 1000) / 1000;
  return Object.is(v, -0) ? 0 : v;
}

function rate(count: number, rows: number, what: string): RateFigure {
  if (rows === 0) return { count, rate: null, reason: `no ${what} rows in scope` };
  return { count, rate: count / rows };
}

function badRows(a: KindAgg | undefined, what: string): BadRowsFigure {
  const rows = a?.rows ?? 0;
  const count = a?.bad ?? 0;
  return {
    count,
    rate: rows === 0 ? null : count / rows,
    null_fields: a?.null_fields ?? 0,
    bad_price: a?.bad_price ?? 0,
    bad_qty: a?.bad_qty ?? 0,
    bad_time: a?.bad_time ?? 0,
    symbol_mismatch: a?.symbol_mismatch ?? 0,
    foreign_parts: a?.foreign_parts ?? 0,
    ...(rows === 0 ? { reason: `no ${what} rows in scope` } : {}),
  };
}

/** Minutes of `span` inside the scope: the whole span, or its overlap with hour `hour`. */
export function spanMinutes(span: MinuteSpan, hour: number | null): number {
  if (hour === null) return span.last_min - span.first_min + 1;
  const lo = Math.max(span.first_min, hour * MIN_PER_HOUR);
  const hi = Math.min(span.last_min, hour * MIN_PER_HOUR + MIN_PER_HOUR - 1);
  return hi >= lo ? hi - lo + 1 : 0;
}

function emptyBuckets(
  what: string,
  clock: 'exchange' | 'recv',
  span: BucketSpan | null,
  agg: KindAgg | undefined,
  hour: number | null,
): EmptyBucketFigure {
  if (!span) {
    const reason = `no ${what} rows for this symbol in the dataset`;
    return { clock, minutes: 0, empty_minutes: 0, edges_excluded: 0, rate: null, reason };
  }
  const edges = hour === null ? span.edges_excluded : edgesInHour(span, hour);
  const minutes = spanMinutes(span, hour);
  if (minutes === 0) {
    const reason = `no minute of the ${what} bucket span (${clock} clock, empty edge minutes left out) falls in this hour`;
    return { clock, minutes: 0, empty_minutes: 0, edges_excluded: edges, rate: null, reason };
  }
  const withRows = Math.min(agg?.minutes_with_rows ?? 0, minutes);
  const empty = minutes - withRows;
  return { clock, minutes, empty_minutes: empty, edges_excluded: edges, rate: empty / minutes };
}

/** Excluded edge minutes that fall in `hour`. */
function edgesInHour(span: BucketSpan, hour: number): number {
  if (span.edges_excluded === 0) return 0;
  const inHour = (m: number) => Math.floor(m / MIN_PER_HOUR) === hour;
  let n = 0;
  if (span.dropped_first && inHour(span.first_min - 1)) n++;
  if (span.dropped_last && inHour(span.last_min + 1)) n++;
  return n;
}

function latency(measure: string, agg: KindAgg | undefined, p: DqParams, notMeasurable: string | null): LatencyFigure {
  const samples = agg?.lat_n ?? 0;
  const none = (reason: string): LatencyFigure => ({
    measure,
    samples,
    raw_ms: null,
    skew_ms: null,
    net_ms: null,
    skew_large: null,
    reason,
  });
  if (notMeasurable) return none(notMeasurable);
  if (samples === 0 || !agg?.lat_q) return none('no rows with both a receive and an exchange time in scope');
  if (samples < p.min_latency_samples) {
    return none(
      `only ${samples} latency samples in scope (need >= ${p.min_latency_samples} for p99 and the skew quantile)`,
    );
  }
  const [s, p50, p90, p99] = agg.lat_q;
  const skew = r3(s);
  return {
    measure,
    samples,
    raw_ms: { p50: r3(p50), p90: r3(p90), p99: r3(p99) },
    skew_ms: skew,
    net_ms: { p50: r3(p50 - s), p90: r3(p90 - s), p99: r3(p99 - s) },
    skew_large: Math.abs(skew) > p.skew_warn_ms,
  };
}

const SPOT_QUOTE_REASON =
  'quotes carry no exchange time (ts_ms == recv_ts_ms on every row, e.g. spot bookTicker): quote latency is not measurable';

export function tradeFigures(
  ctx: SymbolContext,
  a: KindAgg | undefined,
  hour: number | null,
  p: DqParams,
): TradeFigures {
  const rows = a?.rows ?? 0;
  return {
    rows,
    empty_buckets: emptyBuckets('trade', 'exchange', ctx.trade_buckets, a, hour),
    duplicates: rate(a?.dup ?? 0, rows, 'trade'),
    id_gaps:
      rows === 0
        ? { missing_ids: 0, events: 0, reason: 'no trade rows in scope' }
        : { missing_ids: a?.gap_missing ?? 0, events: a?.gap_events ?? 0 },
    out_of_order: rate(a?.ooo ?? 0, rows, 'trade'),
    latency: latency(
      'recv_ts_ms - event_ts_ms',
      a,
      p,
      ctx.has.trades ? null : 'no trade rows for this symbol in the dataset',
    ),
    bad_rows: badRows(a, 'trade'),
  };
}

export function quoteFigures(
  ctx: SymbolContext,
  a: KindAgg | undefined,
  hour: number | null,
  p: DqParams,
): QuoteFigures {
  const rows = a?.rows ?? 0;
  const clock = ctx.quote_clock ?? 'exchange';
  const notMeasurable = !ctx.has.quotes
    ? 'no quote rows for this symbol in the dataset'
    : ctx.quote_clock === 'recv'
      ? SPOT_QUOTE_REASON
      : null;
  return {
    rows,
    ts_clock: ctx.quote_clock,
    empty_buckets: emptyBuckets('quote', clock, ctx.quote_buckets, a, hour),
    duplicates: rate(a?.dup ?? 0, rows, 'quote'),
    out_of_order: rate(a?.ooo ?? 0, rows, 'quote'),
    crossed: rate(a?.crossed ?? 0, rows, 'quote'),
    locked: rate(a?.locked ?? 0, rows, 'quote'),
    latency: latency('recv_ts_ms - ts_ms', a, p, notMeasurable),
    bad_rows: badRows(a, 'quote'),
  };
}

export function depthFigures(a: KindAgg | undefined): DepthFigures {
  const rows = a?.rows ?? 0;
  return {
    rows,
    unordered: rate(a?.unordered ?? 0, rows, 'depth'),
    crossed: rate(a?.crossed ?? 0, rows, 'depth'),
    locked: rate(a?.locked ?? 0, rows, 'depth'),
    bad_rows: badRows(a, 'depth'),
  };
}

function check(
  name: string,
  value: number | null,
  max: number,
  reason: string | undefined,
  measures?: string,
): DqCheck {
  const m = measures === undefined ? {} : { measures };
  if (value === null)
    return { name, value: null, op: '<', max, status: 'n/a', reason: reason ?? 'not computable', ...m };
  return { name, value, op: '<', max, status: value < max ? 'pass' : 'fail', ...m };
}

/**
 * What a latency check measures: a quantile of the latency above the floor, not
 * absolute one-way latency (clock offset and minimum latency are both in the
 * floor and cannot be told apart without a synchronised clock).
 */
export function latencyMeasures(q: string, measure: string, skewQuantile: number): string {
  return `${q} of (${measure}) minus its q${skewQuantile} in scope: latency above the floor, ms (not absolute latency)`;
}

export function checks(t: TradeFigures, q: QuoteFigures, p: DqParams): DqCheck[] {
  const th = p.thresholds;
  const tm = (qq: string) => latencyMeasures(qq, t.latency.measure, p.skew_quantile);
  const qm = (qq: string) => latencyMeasures(qq, q.latency.measure, p.skew_quantile);
  return [
    check('trades_empty_buckets', t.empty_buckets.rate, th.empty_bucket_max, t.empty_buckets.reason),
    check('quotes_empty_buckets', q.empty_buckets.rate, th.empty_bucket_max, q.empty_buckets.reason),
    check('trades_dup_rate', t.duplicates.rate, th.dup_rate_max, t.duplicates.reason),
    check('quotes_dup_rate', q.duplicates.rate, th.dup_rate_max, q.duplicates.reason),
    check('trades_latency_p50_net', t.latency.net_ms?.p50 ?? null, th.latency_p50_max_ms, t.latency.reason, tm('p50')),
    check('trades_latency_p99_net', t.latency.net_ms?.p99 ?? null, th.latency_p99_max_ms, t.latency.reason, tm('p99')),
    check('quotes_latency_p50_net', q.latency.net_ms?.p50 ?? null, th.latency_p50_max_ms, q.latency.reason, qm('p50')),
    check('quotes_latency_p99_net', q.latency.net_ms?.p99 ?? null, th.latency_p99_max_ms, q.latency.reason, qm('p99')),
  ];
}

function skewWarning(what: string, l: LatencyFigure, p: DqParams): string | null {
  if (!l.skew_large || l.skew_ms === null) return null;
  const dir = l.skew_ms < 0 ? 'behind' : 'ahead of';
  return (
    `${what} clock skew ${l.skew_ms} ms (q${p.skew_quantile} of ${l.measure}; |skew| > ${p.skew_warn_ms} ms): ` +
    `the local clock is ${dir} the exchange; latency is reported net of it`
  );
}

function badWarning(what: string, b: BadRowsFigure): string | null {
  if (b.count === 0) return null;
  return (
    `${what}: ${b.count} bad rows (null fields ${b.null_fields}, bad price ${b.bad_price}, bad qty ${b.bad_qty}, ` +
    `bad time ${b.bad_time}, symbol mismatch ${b.symbol_mismatch})` +
    (b.foreign_parts > 0 ? `; ${foreignText(what, b)}` : '')
  );
}

/** Why a stream with another symbol's part files fails (the figures computed on them are not this symbol's). */
function foreignText(what: string, b: BadRowsFigure): string {
  const s = b.foreign_parts === 1 ? '' : 's';
  return `${what}: ${b.foreign_parts} part file${s} whose every row has another symbol (symbol_mismatch): not this symbol's data`;
}

const STREAMS = ['trades', 'quotes', 'depth'] as const;

/** The streams of a symbol holding part files of another symbol, with why (empty: none). */
function foreignReasons(r: Pick<SymbolReport, 'trades' | 'quotes' | 'depth'>): string[] {
  return STREAMS.filter((k) => r[k].bad_rows.foreign_parts > 0).map((k) => foreignText(k, r[k].bad_rows));
}

export function warnings(t: TradeFigures, q: QuoteFigures, d: DepthFigures, p: DqParams): string[] {
  const w: (string | null)[] = [
    skewWarning('trades', t.latency, p),
    skewWarning('quotes', q.latency, p),
    t.id_gaps.events > 0 ? `trades: ${t.id_gaps.missing_ids} missing aggTrade ids in ${t.id_gaps.events} gaps` : null,
    t.out_of_order.count > 0
      ? `trades: ${t.out_of_order.count} out-of-order ids (lower than an id received earlier)`
      : null,
    q.out_of_order.count > 0 ? `quotes: ${q.out_of_order.count} non-monotonic update ids` : null,
    q.crossed.count + q.locked.count > 0 ? `quotes: ${q.crossed.count} crossed, ${q.locked.count} locked` : null,
    d.unordered.count > 0 ? `depth: ${d.unordered.count} rows with bids not descending or asks not ascending` : null,
    d.crossed.count + d.locked.count > 0 ? `depth: ${d.crossed.count} crossed, ${d.locked.count} locked` : null,
    badWarning('trades', t.bad_rows),
    badWarning('quotes', q.bad_rows),
    badWarning('depth', d.bad_rows),
  ];
  return w.filter((x): x is string => x !== null);
}

/** FAIL when a check fails or a stream holds part files of another symbol; PASS with rows and a passed check; else N/A. */
export function symbolVerdict(rows: number, cs: readonly DqCheck[], foreignParts = 0): SymbolVerdict {
  if (foreignParts > 0 || cs.some((c) => c.status === 'fail')) return 'FAIL';
  if (rows > 0 && cs.some((c) => c.status === 'pass')) return 'PASS';
  return 'N/A';
}

export function buildSymbol(ctx: SymbolContext, aggs: ScopeAggs, hour: number | null, p: DqParams): SymbolReport {
  const t = tradeFigures(ctx, aggs.trades, hour, p);
  const q = quoteFigures(ctx, aggs.quotes, hour, p);
  const d = depthFigures(aggs.depth);
  const cs = checks(t, q, p);
  return {
    verdict: symbolVerdict(
      t.rows + q.rows + d.rows,
      cs,
      t.bad_rows.foreign_parts + q.bad_rows.foreign_parts + d.bad_rows.foreign_parts,
    ),
    rows: { trades: t.rows, quotes: q.rows, depth: d.rows },
    trades: t,
    quotes: q,
    depth: d,
    checks: cs,
    warnings: warnings(t, q, d, p),
  };
}

function fmtValue(c: DqCheck): string {
  return c.value === null ? 'null' : String(Number(c.value.toPrecision(4)));
}

/**
 * Overall verdict: PASS only when there is data, at least one check is
 * computable, every computable check passes, and no stream holds part files
 * of another symbol.
 */
export function overallVerdict(symbols: Readonly<Record<string, SymbolReport>>): { verdict: Verdict; reason: string } {
  const entries = Object.entries(symbols);
  const rows = entries.reduce((s, [, r]) => s + r.rows.trades + r.rows.quotes + r.rows.depth, 0);
  const all = entries.flatMap(([sym, r]) => r.checks.map((c) => ({ sym, c })));
  const failed = all.filter((x) => x.c.status === 'fail');
  const computable = all.filter((x) => x.c.status !== 'n/a').length;
  const na = all.length - computable;
  const foreign = entries.flatMap(([sym, r]) => foreignReasons(r).map((why) => `${sym} ${why}`));
  if (foreign.length > 0) return { verdict: 'FAIL', reason: foreign.join('; ') };
  if (failed.length > 0) {
    const shown = failed.slice(0, 6).map((x) => `${x.sym} ${x.c.name} ${fmtValue(x.c)} >= ${x.c.max}`);
    const more = failed.length > shown.length ? `; +${failed.length - shown.length} more` : '';
    return {
      verdict: 'FAIL',
      reason: `${failed.length} of ${computable} computable checks fail: ${shown.join('; ')}${more}`,
    };
  }
  if (rows === 0) return { verdict: 'FAIL', reason: 'no data in scope' };
  if (computable === 0) return { verdict: 'FAIL', reason: `no computable check (${na} n/a): nothing was verified` };
  return { verdict: 'PASS', reason: `all ${computable} computable checks pass (${na} n/a)` };
}
