/**
 * Binance combined-stream messages as the recorder sees them: classify a
 * frame, find its dedup key, and map trades / bookTickers onto a RawSink.
 *
 * Field parsing reuses src/import/counters.ts (`safeId`, `decimal`,
 * `exchangeTsToMs`) and follows src/import/wscapture.ts's mapping exactly
 * (ARCHITECTURE §2); depth messages are not mapped here: the recorder hands
 * them to a per-symbol `WsCaptureImporter` (partial books and diff books).
 * Trades and bookTickers are mapped here rather than through the importer
 * because the importer drops any id not above the last one (a capture is in
 * order), while a live feed may re-order: the recorder dedups by key instead.
 */
import { SIDE_UNKNOWN, type RawSink } from '../src/core/types.js';
import { decimal, exchangeTsToMs, safeId } from '../src/import/counters.js';

import { streamTypeOf, type StreamType } from '../src/import/wscapture.js';

export { streamTypeOf, type StreamType };

/** Short code per stream type (dedup key spaces, checkpoint keys of trade-id sets). */
export const TYPE_CODE: Readonly<Record<StreamType, string>> = {
  trade: 't',
  aggTrade: 'a',
  bookTicker: 'q',
  depth_diff: 'd',
  depth_partial: 'p',
};

export type Json = Record<string, unknown>;

export interface Classified {
  readonly type: StreamType;
  /** Upper-case symbol. */
  readonly symbol: string;
  /** aggTrade `a`, trade `t`, bookTicker `u`, depth diff `u`, partial `lastUpdateId` / `u`. */
  readonly id: number;
  readonly data: Json;
  readonly stream: string;
}

const streamCache = new Map<string, { type: StreamType | null; symbol: string }>();

/**
 * A parsed frame -> what it is, or a reason string when it is not a recordable
 * message (`not_object`, `no_stream`, `unknown_stream`, `no_id`).
 */
export function classify(msg: unknown): Classified | string {
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return 'not_object';
  const m = msg as Json;
  const stream = m.stream;
  const data = m.data;
  if (typeof stream !== 'string' || data === null || typeof data !== 'object' || Array.isArray(data))
    return 'no_stream';
  let s = streamCache.get(stream);
  if (!s) {
    const at = stream.indexOf('@');
    s =
      at > 0
        ? { type: streamTypeOf(stream.slice(at + 1)), symbol: stream.slice(0, at).toUpperCase() }
        : { type: null, symbol: '' };
    if (streamCache.size < 100_000) streamCache.set(stream, s);
  }
  if (s.type === null) return 'unknown_stream';
  const d = data as Json;
  let raw: unknown;
  switch (s.type) {
    case 'trade':
      raw = d.t;
      break;
    case 'aggTrade':
      raw = d.a;
      break;
    case 'depth_partial':
      raw = d.lastUpdateId !== undefined ? d.lastUpdateId : d.u;
      break;
    default:
      raw = d.u;
  }
  const id = safeId(raw);
  if (Number.isNaN(id)) return 'no_id';
  return { type: s.type, symbol: s.symbol, id, data: d, stream };
}

/** Values `emitTradeOrQuote` parsed, for callers that need them again (no second string -> number conversion). */
export interface Emitted {
  /** Trade price / qty, or bookTicker bid / ask price. */
  price: number;
  qty: number;
  bid: number;
  ask: number;
}

export function newEmitted(): Emitted {
  return { price: NaN, qty: NaN, bid: NaN, ask: NaN };
}

/**
 * Map a trade / aggTrade / bookTicker onto the sink (same rules as the
 * ws-capture importer). Returns null when written, else a bad-row reason.
 * Futures trades with `X` other than MARKET are skipped (`non_market`).
 * When written, `out` holds the parsed price / qty (trades) or bid / ask (quotes).
 */
export function emitTradeOrQuote(
  sink: RawSink,
  type: StreamType,
  symbol: string,
  id: number,
  d: Json,
  recvTsMs: number,
  out: Emitted,
): string | null {
  if (type === 'trade' || type === 'aggTrade') {
    const agg = type === 'aggTrade';
    const first = agg ? safeId(d.f) : id;
    const last = agg ? safeId(d.l) : id;
    if (Number.isNaN(first) || Number.isNaN(last) || first > last) return 'id_invalid';
    const ts = exchangeTsToMs(d.T);
    const ev = exchangeTsToMs(d.E);
    if (Number.isNaN(ts) || Number.isNaN(ev)) return 'trade_ts';
    const price = decimal(d.p);
    if (!(price > 0) || !Number.isFinite(price)) return 'trade_price';
    const qty = decimal(d.q);
    if (!(qty > 0) || !Number.isFinite(qty)) return 'trade_qty';
    if (d.X !== undefined && d.X !== 'MARKET') return 'non_market';
    const side = d.m === true ? 1 : d.m === false ? 0 : SIDE_UNKNOWN;
    sink.trade(symbol, recvTsMs, ts, ev, id, price, qty, side, first, last);
    out.price = price;
    out.qty = qty;
    return null;
  }
  if (type === 'bookTicker') {
    let ts = recvTsMs;
    if (d.T !== undefined || d.E !== undefined) {
      ts = exchangeTsToMs(d.T !== undefined ? d.T : d.E);
      if (Number.isNaN(ts)) return 'quote_ts';
    }
    const bp = decimal(d.b);
    const ap = decimal(d.a);
    if (!(bp > 0 && ap > 0) || !Number.isFinite(bp) || !Number.isFinite(ap)) return 'quote_price';
    const bq = decimal(d.B);
    const aq = decimal(d.A);
    if (!(bq >= 0 && aq >= 0) || !Number.isFinite(bq) || !Number.isFinite(aq)) return 'quote_qty';
    sink.quote(symbol, recvTsMs, ts, id, bp, bq, ap, aq);
    out.bid = bp;
    out.ask = ap;
    return null;
  }
  return 'not_trade_or_quote';
}

/** Exchange event time `E` (ms) of a message, NaN when absent (spot bookTicker). */
export function eventTime(d: Json): number {
  return d.E === undefined ? NaN : exchangeTsToMs(d.E);
}
