/**
 * The one Binance mapping (ARCHITECTURE §2): stream classification and
 * message -> row or a counted reason. Used by the ws-capture importer
 * (src/import/wscapture.ts), the recorder's ingest and writer rebuild
 * (recorder/recorder.ts) and the mock exchange's capture source
 * (recorder/mock-source.ts). Only the *state* differs between them (the
 * importer drops an id not above the last one, the recorder dedups by key so
 * re-ordered live messages survive); every field rule and every counter name
 * is here. See src/binance/README.md for the table of rules.
 *
 * Pure and allocation-light: no clock, no randomness; the only state is a
 * bounded cache of stream names.
 */
import { SIDE_UNKNOWN, type RawSink } from '../core/types.js';
import { SYMBOL_RE } from '../core/validate.js';
import { decimal, exchangeTsToMs, safeId } from '../core/parse.js';

/** Recognised stream types (null = not a stream flowlab records). */
export type StreamType = 'trade' | 'aggTrade' | 'bookTicker' | 'depth_diff' | 'depth_partial';

export type Json = Record<string, unknown>;

/** Stream suffix (after `<sym>@`) -> type; null = not recorded. */
export function streamTypeOf(suffix: string): StreamType | null {
  if (suffix === 'trade') return 'trade';
  if (suffix === 'aggTrade') return 'aggTrade';
  if (suffix === 'bookTicker') return 'bookTicker';
  if (/^depth(@\d+ms)?$/.test(suffix)) return 'depth_diff';
  if (/^depth\d+(@\d+ms)?$/.test(suffix)) return 'depth_partial';
  return null;
}

/** What a stream name says: its type (null: not recorded) and its symbol (null: no valid symbol before `@`). */
export interface StreamName {
  readonly type: StreamType | null;
  /** Upper-case symbol from the name's prefix; null when the prefix is not a valid symbol. */
  readonly symbol: string | null;
  /** The suffix after `@` ('' when there is no `@`). */
  readonly suffix: string;
}

const nameCache = new Map<string, StreamName>();

/** `btcusdt@aggTrade` -> { type: 'aggTrade', symbol: 'BTCUSDT' } (cached per distinct name, bounded). */
export function parseStreamName(stream: string): StreamName {
  let s = nameCache.get(stream);
  if (s) return s;
  const at = stream.indexOf('@');
  const suffix = at > 0 ? stream.slice(at + 1) : '';
  const type = at > 0 ? streamTypeOf(suffix) : null;
  const sym = at > 0 ? stream.slice(0, at).toUpperCase() : '';
  s = { type, symbol: SYMBOL_RE.test(sym) ? sym : null, suffix };
  // bounded: a feed inventing stream names must not grow this without limit
  if (nameCache.size < 100_000) nameCache.set(stream, s);
  return s;
}

/**
 * Counters the mapping bumps, by the names the import manifests use
 * (`stats.import`): the same names in the importer's counters and the
 * recorder's (`RecorderCounters.map`).
 */
export interface MapCounters {
  /** Valid JSON that is neither a stream message nor a depth snapshot. */
  lines_unrecognized: number;
  /** Stream messages of streams flowlab does not map, by stream name. */
  unknown_streams: Record<string, number>;
  /** Stream messages seen, by type (trade, aggTrade, bookTicker, depth_diff, depth_partial, depth_snapshot). */
  messages: Record<string, number>;
  /** Messages rejected, by reason (see `BAD_ROW_REASONS`). */
  bad_rows: Record<string, number>;
  /** Rows written by the mapping (trades, quotes, partial-book depth rows; diff-book rows are the book's). */
  rows: { trades: number; quotes: number; depth: number };
  /** Futures trades with `X` other than MARKET (INSURANCE_FUND, ADL, NA): dropped on purpose, by `X`. */
  trades_dropped_non_market: Record<string, number>;
  /**
   * Their ids (`a` / `t`) per symbol, ascending as received, at most
   * `MAX_DROPPED_IDS` per symbol: DQ does not count an id dropped on purpose as a gap.
   */
  trades_dropped_ids: Record<string, number[]>;
  /** Trades without `m` (is_buyer_maker written as null). */
  trades_side_unknown: number;
  /** bookTicker rows with bid >= ask: kept (the DQ module reports them). */
  crossed_quotes: number;
  /**
   * Prices / quantities sent as JSON numbers instead of strings (kept: a number
   * may have lost digits), by row kind; counted when the caller keeps this map (import does).
   */
  json_number_values?: Record<string, number>;
}

/** Ids of deliberately dropped trades kept per symbol (beyond it DQ may count some as gaps; the counts stay exact). */
export const MAX_DROPPED_IDS = 10_000;

/** Every bad-row reason the mapping can give. */
export const BAD_ROW_REASONS = [
  'symbol',
  'symbol_mismatch',
  'id_invalid',
  'id_unsafe',
  'trade_ts',
  'trade_price',
  'trade_qty',
  'quote_ts',
  'quote_price',
  'quote_qty',
  'depth_ids',
  'depth_ts',
  'depth_level',
  'snapshot_level',
] as const;

export function newMapCounters(): MapCounters {
  return {
    lines_unrecognized: 0,
    unknown_streams: {},
    messages: {},
    bad_rows: {},
    rows: { trades: 0, quotes: 0, depth: 0 },
    trades_dropped_non_market: {},
    trades_dropped_ids: {},
    trades_side_unknown: 0,
    crossed_quotes: 0,
  };
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

/** Count a bad row; returns false (so `return bad(c, r)` ends a mapping). */
export function badRow(c: MapCounters, reason: string): false {
  bump(c.bad_rows, reason);
  return false;
}

/** `id_unsafe` when one of `vals` is an integer >= 2^53, else `id_invalid`. */
export function idReason(vals: readonly unknown[]): 'id_invalid' | 'id_unsafe' {
  for (const v of vals)
    if (typeof v === 'number' && Number.isInteger(v) && v > Number.MAX_SAFE_INTEGER) return 'id_unsafe';
  return 'id_invalid';
}

/** The raw id field of a message of `type`: aggTrade `a`, trade `t`, partial `lastUpdateId` (spot) / `u`, else `u`. */
export function rawIdOf(type: StreamType, d: Json): unknown {
  switch (type) {
    case 'trade':
      return d.t;
    case 'aggTrade':
      return d.a;
    case 'depth_partial':
      return d.lastUpdateId !== undefined ? d.lastUpdateId : d.u;
    default:
      return d.u;
  }
}

/**
 * Symbol of a stream message: the stream name's prefix, upper-cased and
 * valid; `s` in the data, when present, must name the same symbol (case
 * aside), else the message is rejected (`symbol_mismatch`): a message never
 * creates a symbol its stream does not name. Returns the symbol or a reason.
 */
export function symbolOfMessage(name: StreamName, s: unknown): string | 'symbol' | 'symbol_mismatch' {
  if (name.symbol === null) return 'symbol';
  if (s !== undefined && s !== null) {
    if (typeof s !== 'string' || (s !== name.symbol && s.toUpperCase() !== name.symbol)) return 'symbol_mismatch';
  }
  return name.symbol;
}

/** A classified stream message. */
export interface Classified {
  readonly type: StreamType;
  /** Upper-case symbol. */
  readonly symbol: string;
  /** The message's id (see `rawIdOf`), a safe non-negative integer. */
  readonly id: number;
  readonly data: Json;
  readonly stream: string;
}

/**
 * Why a parsed frame is not a recordable stream message: `not_object`
 * (not a JSON object), `no_stream` (no `{stream, data}`: a REST snapshot line
 * is this too, see `isSnapshot`), `unknown_stream`, or a bad-row reason
 * (`symbol`, `symbol_mismatch`, `id_invalid`, `id_unsafe`).
 */
export type ClassifyReason =
  | 'not_object'
  | 'no_stream'
  | 'unknown_stream'
  | 'symbol'
  | 'symbol_mismatch'
  | 'id_invalid'
  | 'id_unsafe';

/** A parsed frame -> what it is, or the reason it is not a recordable message. Counts nothing. */
export function classify(msg: unknown): Classified | ClassifyReason {
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return 'not_object';
  const m = msg as Json;
  const stream = m.stream;
  const data = m.data;
  if (typeof stream !== 'string' || data === null || typeof data !== 'object' || Array.isArray(data))
    return 'no_stream';
  const name = parseStreamName(stream);
  if (name.type === null) return 'unknown_stream';
  const d = data as Json;
  const symbol = symbolOfMessage(name, d.s);
  if (symbol === 'symbol' || symbol === 'symbol_mismatch') return symbol;
  const raw = rawIdOf(name.type, d);
  const id = safeId(raw);
  if (Number.isNaN(id)) return idReason([raw]);
  return { type: name.type, symbol, id, data: d, stream };
}

/** A REST depth snapshot line `{lastUpdateId, bids, asks}` (no symbol; the caller attributes it). */
export function isSnapshot(msg: unknown): msg is Json {
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return false;
  const m = msg as Json;
  return 'lastUpdateId' in m && Array.isArray(m.bids) && Array.isArray(m.asks);
}

/** Continuity / dedup decision of the caller, after a message passed its field checks: false = drop (the gate counts). */
export interface TradeGate {
  acceptTrade(first: number, last: number): boolean;
}
export interface QuoteGate {
  acceptQuote(u: number): boolean;
}

/** Parsed values of the last mapped trade / quote (read by the recorder's metrics; no second parse). */
export const lastMapped = { price: NaN, qty: NaN, bid: NaN, ask: NaN, ts: NaN, event: NaN, side: SIDE_UNKNOWN };

/**
 * A trade / aggTrade `d` of `symbol` onto `sink`. Rules: id `a` (agg) or `t`
 * (raw: first = last = t), first <= last, safe ints; ts_ms = `T`,
 * event_ts_ms = `E` (ms, µs floored); price > 0, qty > 0, finite; then the
 * caller's `gate` (continuity / dedup); then futures `X` other than MARKET
 * is dropped on purpose (`trades_dropped_non_market{X}`); `m` absent -> side
 * unknown (counted). Returns true when a row was written.
 */
export function mapTrade(
  sink: RawSink,
  c: MapCounters,
  symbol: string,
  d: Json,
  recvTsMs: number,
  agg: boolean,
  gate: TradeGate | null = null,
): boolean {
  const id = safeId(agg ? d.a : d.t);
  const first = agg ? safeId(d.f) : id;
  const last = agg ? safeId(d.l) : id;
  if (Number.isNaN(id) || Number.isNaN(first) || Number.isNaN(last) || first > last)
    return badRow(c, idReason(agg ? [d.a, d.f, d.l] : [d.t]));
  const ts = exchangeTsToMs(d.T);
  const ev = exchangeTsToMs(d.E);
  if (Number.isNaN(ts) || Number.isNaN(ev)) return badRow(c, 'trade_ts');
  const price = decimal(d.p);
  if (!(price > 0) || !Number.isFinite(price)) return badRow(c, 'trade_price');
  const qty = decimal(d.q);
  if (!(qty > 0) || !Number.isFinite(qty)) return badRow(c, 'trade_qty');
  if (c.json_number_values && (typeof d.p === 'number' || typeof d.q === 'number')) bump(c.json_number_values, 'trade');
  // continuity is judged over every well-formed trade, including dropped non-MARKET ones, so they are not gaps
  if (gate !== null && !gate.acceptTrade(first, last)) return false;
  const x = d.X;
  if (x !== undefined && x !== 'MARKET') {
    bump(c.trades_dropped_non_market, typeof x === 'string' ? x : String(x));
    const ids = c.trades_dropped_ids[symbol] ?? (c.trades_dropped_ids[symbol] = []);
    if (ids.length < MAX_DROPPED_IDS) ids.push(id);
    return false;
  }
  let side: number;
  if (d.m === true) side = 1;
  else if (d.m === false) side = 0;
  else {
    side = SIDE_UNKNOWN;
    c.trades_side_unknown++;
  }
  sink.trade(symbol, recvTsMs, ts, ev, id, price, qty, side, first, last);
  c.rows.trades++;
  lastMapped.price = price;
  lastMapped.qty = qty;
  lastMapped.ts = ts;
  lastMapped.event = ev;
  lastMapped.side = side;
  return true;
}

/**
 * A bookTicker `d` of `symbol` onto `sink`. Rules: update id `u`; ts_ms =
 * `T`, else `E`, else the receive time (spot carries none); bid/ask > 0,
 * quantities >= 0, finite; then the caller's `gate`; bid >= ask is kept and
 * counted (`crossed_quotes`). Returns true when a row was written.
 */
export function mapQuote(
  sink: RawSink,
  c: MapCounters,
  symbol: string,
  d: Json,
  recvTsMs: number,
  gate: QuoteGate | null = null,
): boolean {
  const u = safeId(d.u);
  if (Number.isNaN(u)) return badRow(c, idReason([d.u]));
  let ts = recvTsMs;
  if (d.T !== undefined || d.E !== undefined) {
    ts = exchangeTsToMs(d.T !== undefined ? d.T : d.E);
    if (Number.isNaN(ts)) return badRow(c, 'quote_ts');
  }
  const bp = decimal(d.b);
  const ap = decimal(d.a);
  if (!(bp > 0 && ap > 0) || !Number.isFinite(bp) || !Number.isFinite(ap)) return badRow(c, 'quote_price');
  const bq = decimal(d.B);
  const aq = decimal(d.A);
  if (!(bq >= 0 && aq >= 0) || !Number.isFinite(bq) || !Number.isFinite(aq)) return badRow(c, 'quote_qty');
  if (
    c.json_number_values &&
    (typeof d.b === 'number' || typeof d.a === 'number' || typeof d.B === 'number' || typeof d.A === 'number')
  )
    bump(c.json_number_values, 'quote');
  if (gate !== null && !gate.acceptQuote(u)) return false;
  if (bp >= ap) c.crossed_quotes++;
  sink.quote(symbol, recvTsMs, ts, u, bp, bq, ap, aq);
  c.rows.quotes++;
  lastMapped.bid = bp;
  lastMapped.ask = ap;
  lastMapped.ts = ts;
  return true;
}

/**
 * `[[price, qty], ...]` as parallel Float64Arrays, or null when any level is
 * malformed: price must be > 0, qty >= 0 in diffs (0 removes) and > 0 in
 * snapshots / partial books, both finite.
 */
export function parseLevels(v: unknown, zeroOk: boolean): [Float64Array, Float64Array] | null {
  if (!Array.isArray(v)) return null;
  const n = v.length;
  const px = new Float64Array(n);
  const qty = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const lv = v[i];
    if (!Array.isArray(lv) || lv.length < 2) return null;
    const p = decimal(lv[0]);
    const q = decimal(lv[1]);
    if (!(p > 0) || !Number.isFinite(p) || !Number.isFinite(q) || q < 0 || (!zeroOk && q === 0)) return null;
    px[i] = p;
    qty[i] = q;
  }
  return [px, qty];
}

/** A depth diff's fields (what the diff book takes). */
export interface DiffFields {
  U: number;
  u: number;
  /** NaN when absent (spot). */
  pu: number;
  tsMs: number;
  bidPx: Float64Array;
  bidQty: Float64Array;
  askPx: Float64Array;
  askQty: Float64Array;
}

/**
 * A depth diff `d` -> its fields, or null (counted bad row). Rules: `U`, `u`
 * (and `pu` when present) safe ints, U <= u; ts_ms = `T` when present
 * (futures: the clock of futures bookTicker and trades), else `E`; levels
 * with price > 0 and qty >= 0.
 */
export function parseDiff(c: MapCounters, d: Json): DiffFields | null {
  const U = safeId(d.U);
  const u = safeId(d.u);
  const pu = d.pu === undefined ? NaN : safeId(d.pu);
  if (Number.isNaN(U) || Number.isNaN(u) || (d.pu !== undefined && Number.isNaN(pu))) {
    badRow(c, idReason([d.U, d.u, d.pu]));
    return null;
  }
  const tsMs = diffHead(c, U, u, d.T !== undefined ? d.T : d.E);
  if (Number.isNaN(tsMs)) return null;
  const bids = parseLevels(d.b, true);
  const asks = parseLevels(d.a, true);
  if (bids === null || asks === null) {
    badRow(c, 'depth_level');
    return null;
  }
  return { U, u, pu, tsMs, bidPx: bids[0], bidQty: bids[1], askPx: asks[0], askQty: asks[1] };
}

/**
 * The checks of `parseDiff` after its id parsing (U <= u, then the time):
 * ts_ms, or NaN (counted bad row). The fast path (src/import/fastdepth.ts,
 * ids and levels valid by construction) calls only this.
 */
export function diffHead(c: MapCounters, U: number, u: number, rawTs: unknown): number {
  if (U > u) {
    badRow(c, 'depth_ids');
    return NaN;
  }
  const tsMs = exchangeTsToMs(rawTs);
  if (Number.isNaN(tsMs)) badRow(c, 'depth_ts');
  return tsMs;
}

/** A partial book's fields (rows as sent). */
export interface PartialFields {
  id: number;
  tsMs: number;
  bids: [Float64Array, Float64Array];
  asks: [Float64Array, Float64Array];
}

/**
 * A partial book stream message (`depth5/10/20`): spot `{lastUpdateId, bids,
 * asks}`, futures `{E, T, u, b, a}` -> its fields, or null (counted bad row).
 * ts_ms = `T`, else `E`, else the receive time; levels price > 0, qty > 0.
 */
export function parsePartial(c: MapCounters, d: Json, recvTsMs: number): PartialFields | null {
  const raw = d.lastUpdateId !== undefined ? d.lastUpdateId : d.u;
  const id = safeId(raw);
  if (Number.isNaN(id)) {
    badRow(c, idReason([raw]));
    return null;
  }
  let tsMs = recvTsMs;
  if (d.T !== undefined || d.E !== undefined) {
    tsMs = exchangeTsToMs(d.T !== undefined ? d.T : d.E);
    if (Number.isNaN(tsMs)) {
      badRow(c, 'depth_ts');
      return null;
    }
  }
  const bids = parseLevels(d.bids !== undefined ? d.bids : d.b, false);
  const asks = parseLevels(d.asks !== undefined ? d.asks : d.a, false);
  if (bids === null || asks === null) {
    badRow(c, 'depth_level');
    return null;
  }
  return { id, tsMs, bids, asks };
}

/** A REST depth snapshot's fields. */
export interface SnapshotFields {
  lastUpdateId: number;
  bidPx: Float64Array;
  bidQty: Float64Array;
  askPx: Float64Array;
  askQty: Float64Array;
}

/** A REST depth snapshot `{lastUpdateId, bids, asks}` -> its fields, or null (counted bad row). */
export function parseSnapshot(c: MapCounters, m: Json): SnapshotFields | null {
  const lid = safeId(m.lastUpdateId);
  if (Number.isNaN(lid)) {
    badRow(c, idReason([m.lastUpdateId]));
    return null;
  }
  const bids = parseLevels(m.bids, false);
  const asks = parseLevels(m.asks, false);
  if (bids === null || asks === null) {
    badRow(c, 'snapshot_level');
    return null;
  }
  return { lastUpdateId: lid, bidPx: bids[0], bidQty: bids[1], askPx: asks[0], askQty: asks[1] };
}
