/**
 * The DuckDB scans behind `flowlab dq`: one query per (symbol, kind) over an
 * explicit `read_parquet([...])` list of that stream's part files. Each query
 * flags rows with window functions (first occurrence of an id in arrival
 * order, running max id) and aggregates them with
 * `GROUPING SETS ((hour), ())`: one row per UTC hour of ts_ms plus one total
 * row. Every value comes back as DOUBLE (or a DOUBLE list) so JS sees numbers.
 *
 * Paths and symbols enter SQL only through `sqlString`; numbers are checked
 * finite before they are printed into the query.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows, sqlString } from '../io/duck.js';
import { FlowlabError, describeError } from '../core/errors.js';
import type { Kind } from '../core/types.js';

export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

/** Aggregates of one (symbol, kind) over one scope (an hour, or everything). */
export interface KindAgg {
  /** Hour index (ts_ms // 3600000), null for the total row. */
  readonly hour: number | null;
  readonly rows: number;
  /** Distinct minutes (ts_ms // 60000) holding at least one row. */
  readonly minutes_with_rows: number;
  readonly ts_min: number | null;
  readonly ts_max: number | null;
  readonly recv_min: number | null;
  readonly recv_max: number | null;
  /** ts_ms == recv_ts_ms on every row where both are present (null: no such row). */
  readonly ts_eq_recv: boolean | null;
  readonly bad: number;
  readonly null_fields: number;
  readonly bad_price: number;
  readonly bad_qty: number;
  readonly bad_time: number;
  readonly symbol_mismatch: number;
  /**
   * Part files of this stream whose every row in scope carries another symbol in
   * the file's own `symbol` column: another symbol's data in this partition.
   */
  readonly foreign_parts: number;
  readonly dup: number;
  readonly ooo: number;
  readonly gap_missing: number;
  readonly gap_events: number;
  readonly lat_n: number;
  /** [skew quantile, p50, p90, p99] of the raw latency, null when lat_n = 0. */
  readonly lat_q: [number, number, number, number] | null;
  readonly crossed: number;
  readonly locked: number;
  readonly unordered: number;
}

/**
 * How the part files of one stream carry `symbol`: datasets written before the
 * column was dropped (the hive key `symbol=` carries it) have it in every
 * file; a legacy dataset appended to by a newer writer has it in some.
 */
export type SymbolColumn = 'all' | 'some' | 'none';

function parquetList(files: readonly string[], sym: SymbolColumn): string {
  if (files.length === 0) throw new FlowlabError('internal: dq query without part files');
  // hive_partitioning off: the path's symbol=/kind=/date= must not shadow the file's own columns
  const union = sym === 'some' ? ', union_by_name = true' : '';
  return `read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = false${union})`;
}

/** The `symbol` of each row: the file's own column where it has one (checked against the path's), else the path's. */
function symbolExpr(symbol: string, sym: SymbolColumn): string {
  if (sym === 'all') return 'symbol';
  if (sym === 'some') return `coalesce(symbol, ${sqlString(symbol)}) AS symbol`;
  return `${sqlString(symbol)} AS symbol`;
}

const n = (expr: string): string => `(${expr})::DOUBLE`;
const cnt = (cond: string): string => n(`count(*) FILTER (WHERE ${cond})`);

/** Per-row flags shared by every kind; `id` is the id column used for duplicate / order checks (or null). */
function commonFlags(kind: Kind, symbol: string): string {
  const timeCols = kind === 'trades' ? ['recv_ts_ms', 'ts_ms', 'event_ts_ms'] : ['recv_ts_ms', 'ts_ms'];
  return [
    `CASE WHEN ts_ms > 0 THEN ts_ms // ${HOUR_MS} END AS hour`,
    `CASE WHEN ts_ms > 0 THEN ts_ms // ${MINUTE_MS} END AS minute`,
    `coalesce(${timeCols.map((c) => `${c} <= 0`).join(' OR ')}, false) AS b_time`,
    `coalesce(symbol <> ${sqlString(symbol)}, false) AS b_symbol`,
  ].join(',\n    ');
}

const positivePrice = (c: string): string => `coalesce(NOT isfinite(${c}) OR ${c} <= 0, false)`;
const badQty = (c: string): string => `coalesce(NOT isfinite(${c}) OR ${c} < 0, false)`;

/** Flags for id-keyed streams: first occurrence in arrival order and the running max id before the row. */
const ID_WINDOWS = [
  `CASE WHEN id IS NOT NULL THEN row_number() OVER (PARTITION BY id ORDER BY recv_ts_ms, recv_seq, ts_ms) END AS occ`,
  `max(id) OVER (ORDER BY recv_ts_ms, recv_seq, ts_ms, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_max`,
].join(',\n    ');

function commonAggs(skewQ: number): string {
  // the only non-literal value in these queries besides sqlString() text: a finite number or nothing
  if (!(Number.isFinite(skewQ) && skewQ >= 0 && skewQ <= 1))
    throw new FlowlabError(`skew quantile must be a number in [0, 1], got ${skewQ}`, 2);
  return [
    `GROUPING(hour) AS is_total`,
    `hour::DOUBLE AS hour`,
    `${n('count(*)')} AS rows`,
    `${n('count(DISTINCT minute)')} AS minutes_with_rows`,
    `${n('min(ts_ms) FILTER (WHERE ts_ms > 0)')} AS ts_min`,
    `${n('max(ts_ms) FILTER (WHERE ts_ms > 0)')} AS ts_max`,
    `${n('min(recv_ts_ms) FILTER (WHERE recv_ts_ms > 0)')} AS recv_min`,
    `${n('max(recv_ts_ms) FILTER (WHERE recv_ts_ms > 0)')} AS recv_max`,
    `bool_and(ts_ms = recv_ts_ms) AS ts_eq_recv`,
    `${cnt('b_null OR b_price OR b_qty OR b_time OR b_symbol')} AS bad`,
    `${cnt('b_null')} AS null_fields`,
    `${cnt('b_price')} AS bad_price`,
    `${cnt('b_qty')} AS bad_qty`,
    `${cnt('b_time')} AS bad_time`,
    `${cnt('b_symbol')} AS symbol_mismatch`,
    `${n('count(lat)')} AS lat_n`,
    `quantile_cont(lat, [${skewQ}, 0.5, 0.9, 0.99]) AS lat_q`,
  ].join(',\n    ');
}

/**
 * Missing ids per first occurrence, in ascending id order. Ids in `dropped`
 * (trades the importer / recorder dropped on purpose: futures non-MARKET) are
 * not missing: a jump over them counts only the ids neither received nor dropped.
 */
function missingSql(dropped: readonly number[]): string {
  if (dropped.length === 0) return 'SELECT hour, id - lag(id) OVER (ORDER BY id) - 1 AS missing FROM f WHERE occ = 1';
  const list = [...new Set(dropped)].filter((x) => Number.isSafeInteger(x)).sort((a, b) => a - b);
  const d = `(SELECT unnest([${list.join(',')}]::BIGINT[]) AS id)`;
  return `SELECT hour, id - prev - 1 - (SELECT count(*) FROM ${d} d WHERE d.id > g0.prev AND d.id < g0.id) AS missing
    FROM (SELECT hour, id, lag(id) OVER (ORDER BY id) AS prev FROM f WHERE occ = 1) g0`;
}

function tradesSql(
  files: readonly string[],
  symbol: string,
  skewQ: number,
  sym: SymbolColumn,
  dropped: readonly number[] = [],
): string {
  return `
WITH src AS (
  SELECT recv_ts_ms, recv_seq, ts_ms, event_ts_ms, ${symbolExpr(symbol, sym)}, agg_trade_id AS id, price, qty, first_trade_id, last_trade_id
  FROM ${parquetList(files, sym)}
),
f AS (
  SELECT id, ts_ms, recv_ts_ms,
    ${commonFlags('trades', symbol)},
    (recv_ts_ms IS NULL OR recv_seq IS NULL OR ts_ms IS NULL OR event_ts_ms IS NULL OR symbol IS NULL OR id IS NULL
      OR price IS NULL OR qty IS NULL OR first_trade_id IS NULL OR last_trade_id IS NULL) AS b_null,
    ${positivePrice('price')} AS b_price,
    ${badQty('qty')} AS b_qty,
    CASE WHEN recv_ts_ms > 0 AND event_ts_ms > 0 THEN (recv_ts_ms - event_ts_ms)::DOUBLE END AS lat,
    ${ID_WINDOWS}
  FROM src
),
a AS (
  SELECT ${commonAggs(skewQ)},
    ${cnt('occ > 1')} AS dup,
    ${cnt('occ = 1 AND id < prev_max')} AS ooo
  FROM f GROUP BY GROUPING SETS ((hour), ())
),
g AS (
  SELECT GROUPING(hour) AS is_total, hour::DOUBLE AS hour,
    ${n('coalesce(sum(missing) FILTER (WHERE missing > 0), 0)')} AS gap_missing,
    ${cnt('missing > 0')} AS gap_events
  FROM (${missingSql(dropped)})
  GROUP BY GROUPING SETS ((hour), ())
)
SELECT a.*, coalesce(g.gap_missing, 0) AS gap_missing, coalesce(g.gap_events, 0) AS gap_events
FROM a LEFT JOIN g ON a.is_total = g.is_total AND a.hour IS NOT DISTINCT FROM g.hour
ORDER BY a.is_total DESC, a.hour`;
}

function quotesSql(files: readonly string[], symbol: string, skewQ: number, sym: SymbolColumn): string {
  const okPx = `isfinite(bid_px) AND isfinite(ask_px) AND bid_px > 0 AND ask_px > 0`;
  return `
WITH src AS (
  SELECT recv_ts_ms, recv_seq, ts_ms, ${symbolExpr(symbol, sym)}, update_id AS id, bid_px, bid_qty, ask_px, ask_qty
  FROM ${parquetList(files, sym)}
),
f AS (
  SELECT id, ts_ms, recv_ts_ms,
    ${commonFlags('quotes', symbol)},
    -- update_id may be NULL: some sources carry none (Tardis CSV); the id checks below skip NULL ids
    (recv_ts_ms IS NULL OR recv_seq IS NULL OR ts_ms IS NULL OR symbol IS NULL
      OR bid_px IS NULL OR bid_qty IS NULL OR ask_px IS NULL OR ask_qty IS NULL) AS b_null,
    (${positivePrice('bid_px')} OR ${positivePrice('ask_px')}) AS b_price,
    (${badQty('bid_qty')} OR ${badQty('ask_qty')}) AS b_qty,
    CASE WHEN recv_ts_ms > 0 AND ts_ms > 0 THEN (recv_ts_ms - ts_ms)::DOUBLE END AS lat,
    coalesce(${okPx} AND bid_px > ask_px, false) AS crossed,
    coalesce(${okPx} AND bid_px = ask_px, false) AS locked,
    ${ID_WINDOWS}
  FROM src
)
SELECT ${commonAggs(skewQ)},
  ${cnt('occ > 1')} AS dup,
  ${cnt('occ = 1 AND id < prev_max')} AS ooo,
  ${cnt('crossed')} AS crossed,
  ${cnt('locked')} AS locked
FROM f GROUP BY GROUPING SETS ((hour), ())
ORDER BY is_total DESC, hour`;
}

function depthSql(files: readonly string[], symbol: string, skewQ: number, sym: SymbolColumn): string {
  const lists = ['bid_px', 'bid_qty', 'ask_px', 'ask_qty'];
  const listNulls = lists.map((c) => `${c} IS NULL OR list_count(${c}) <> len(${c})`).join(' OR ');
  const listPx = (c: string) => `coalesce(NOT isfinite(list_max(${c})) OR list_min(${c}) <= 0, false)`;
  const listQty = (c: string) => `coalesce(NOT isfinite(list_max(${c})) OR list_min(${c}) < 0, false)`;
  const unordered = (c: string, dir: 'DESC' | 'ASC') =>
    `coalesce(${c} <> list_sort(${c}, '${dir}') OR len(list_distinct(${c})) <> list_count(${c}), false)`;
  const tops = `len(bid_px) > 0 AND len(ask_px) > 0`;
  return `
WITH src AS (
  SELECT recv_ts_ms, recv_seq, ts_ms, ${symbolExpr(symbol, sym)}, last_update_id, bid_px, bid_qty, ask_px, ask_qty
  FROM ${parquetList(files, sym)}
),
f AS (
  SELECT ts_ms, recv_ts_ms,
    ${commonFlags('depth', symbol)},
    -- last_update_id may be NULL: some sources carry none (Tardis CSV)
    (recv_ts_ms IS NULL OR recv_seq IS NULL OR ts_ms IS NULL OR symbol IS NULL OR ${listNulls}
      OR coalesce(len(bid_px) <> len(bid_qty) OR len(ask_px) <> len(ask_qty), false)) AS b_null,
    (${listPx('bid_px')} OR ${listPx('ask_px')}) AS b_price,
    (${listQty('bid_qty')} OR ${listQty('ask_qty')}) AS b_qty,
    NULL::DOUBLE AS lat,
    (${unordered('bid_px', 'DESC')} OR ${unordered('ask_px', 'ASC')}) AS unordered,
    coalesce(${tops} AND bid_px[1] > ask_px[1], false) AS crossed,
    coalesce(${tops} AND bid_px[1] = ask_px[1], false) AS locked
  FROM src
)
SELECT ${commonAggs(skewQ)},
  ${cnt('unordered')} AS unordered,
  ${cnt('crossed')} AS crossed,
  ${cnt('locked')} AS locked
FROM f GROUP BY GROUPING SETS ((hour), ())
ORDER BY is_total DESC, hour`;
}

const SQL: Readonly<
  Record<
    Kind,
    (files: readonly string[], symbol: string, skewQ: number, sym: SymbolColumn, dropped?: readonly number[]) => string
  >
> = {
  trades: tradesSql,
  quotes: quotesSql,
  depth: depthSql,
};

function num(v: unknown): number {
  return v === null || v === undefined ? 0 : Number(v);
}

function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/**
 * Part files whose every row has another symbol in its own `symbol` column, counted
 * for the total (key null) and for each hour (ts_ms // 3600000) such a file has rows in.
 */
async function foreignParts(
  conn: DuckDBConnection,
  files: readonly string[],
  symbol: string,
  sym: SymbolColumn,
): Promise<Map<number | null, number>> {
  const src = `read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = false, filename = true${sym === 'some' ? ', union_by_name = true' : ''})`;
  const rows = await queryRows(
    `WITH t AS (
       SELECT filename, CASE WHEN ts_ms > 0 THEN (ts_ms // ${HOUR_MS})::DOUBLE END AS hour,
         coalesce(symbol <> ${sqlString(symbol)}, false) AS other
       FROM ${src}),
     ff AS (SELECT filename FROM t GROUP BY filename HAVING bool_and(other))
     SELECT DISTINCT t.filename, t.hour FROM t JOIN ff USING (filename) ORDER BY ALL`,
    conn,
  );
  const out = new Map<number | null, number>();
  const foreign = new Set<string>();
  for (const r of rows) {
    foreign.add(String(r.filename));
    if (r.hour !== null && r.hour !== undefined) out.set(Number(r.hour), (out.get(Number(r.hour)) ?? 0) + 1);
  }
  out.set(null, foreign.size);
  return out;
}

/**
 * Scan one (symbol, kind) stream. Returns the total row first (hour = null),
 * then one row per hour in time order. Rows whose ts_ms is null or <= 0 belong
 * to no hour: they are in the total only.
 */
export async function scanKind(
  conn: DuckDBConnection,
  kind: Kind,
  symbol: string,
  files: readonly string[],
  skewQ: number,
  dropped: readonly number[] = [],
): Promise<{ total: KindAgg; hours: KindAgg[] }> {
  if (!(skewQ > 0 && skewQ < 1)) throw new FlowlabError(`internal: skew quantile ${skewQ} out of (0, 1)`);
  let rows: Record<string, unknown>[];
  let foreign: Map<number | null, number>;
  try {
    const [has] = await queryRows(
      `SELECT count(DISTINCT file_name)::DOUBLE AS n FROM parquet_schema([${files.map(sqlString).join(', ')}]) WHERE name = 'symbol'`,
      conn,
    );
    const n = Number(has.n);
    const sym: SymbolColumn = n === 0 ? 'none' : n === files.length ? 'all' : 'some';
    rows = await queryRows(SQL[kind](files, symbol, skewQ, sym, dropped), conn);
    foreign = sym === 'none' ? new Map() : await foreignParts(conn, files, symbol, sym);
  } catch (e) {
    throw new FlowlabError(`dq: cannot scan ${kind} of ${symbol} (${files.length} part files): ${describeError(e)}`);
  }
  let total: KindAgg | null = null;
  const hours: KindAgg[] = [];
  for (const r of rows) {
    const q = r.lat_q as unknown[] | null;
    const agg: KindAgg = {
      hour: Number(r.is_total) === 1 ? null : numOrNull(r.hour),
      rows: num(r.rows),
      minutes_with_rows: num(r.minutes_with_rows),
      ts_min: numOrNull(r.ts_min),
      ts_max: numOrNull(r.ts_max),
      recv_min: numOrNull(r.recv_min),
      recv_max: numOrNull(r.recv_max),
      ts_eq_recv: r.ts_eq_recv === null || r.ts_eq_recv === undefined ? null : Boolean(r.ts_eq_recv),
      bad: num(r.bad),
      null_fields: num(r.null_fields),
      bad_price: num(r.bad_price),
      bad_qty: num(r.bad_qty),
      bad_time: num(r.bad_time),
      symbol_mismatch: num(r.symbol_mismatch),
      foreign_parts: foreign.get(Number(r.is_total) === 1 ? null : numOrNull(r.hour)) ?? 0,
      dup: num(r.dup),
      ooo: num(r.ooo),
      gap_missing: num(r.gap_missing),
      gap_events: num(r.gap_events),
      lat_n: num(r.lat_n),
      lat_q:
        q && q.length === 4 && q.every((x) => x !== null) ? (q.map(Number) as [number, number, number, number]) : null,
      crossed: num(r.crossed),
      locked: num(r.locked),
      unordered: num(r.unordered),
    };
    if (agg.hour === null && Number(r.is_total) === 1) total = agg;
    else if (agg.hour !== null) hours.push(agg);
  }
  if (!total) throw new FlowlabError(`internal: dq scan of ${kind} ${symbol} returned no total row`);
  return { total, hours };
}
