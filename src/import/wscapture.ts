/**
 * Import raw Binance WebSocket captures (`--format ws-capture`): text, usually
 * gzip, one `<local_receive_timestamp_ns> <raw JSON>` per line, as written by
 * the hftbacktest collector (see ../shared/realdata/hftbacktest/SOURCE.md).
 *
 * Arrival order is line order (the sink assigns recv_seq in call order), and
 * `recv_ts_ms = floor(ns / 1e6)`, taken by string slicing so 19-digit ns stay
 * exact. Several files are imported in the given order as one capture: book
 * state, id continuity and recv_seq carry across them (e.g. `_20240808.gz`
 * then `_20240809.gz`).
 *
 * Mapping (ARCHITECTURE §2):
 * - `<sym>@trade` (raw trades): `agg_trade_id` holds the raw trade id `t`, and
 *   `first_trade_id = last_trade_id = t`; ts_ms = `T`, event_ts_ms = `E`,
 *   is_buyer_maker = `m` (null when absent). Futures trades whose `X` is not
 *   MARKET (INSURANCE_FUND, ADL, NA) are dropped and counted by `X`.
 * - `<sym>@aggTrade`: agg_trade_id = `a`, first/last = `f`/`l`, same times.
 * - `<sym>@bookTicker`: update_id = `u`; ts_ms = `T`, else `E`, else recv_ts_ms
 *   (spot carries no exchange time). Crossed quotes (bid >= ask) are kept and
 *   counted (`crossed_quotes`): they are what the exchange sent, and the DQ
 *   module reports them.
 * - `<sym>@depth[@100ms|@0ms|...]` diffs: a local book per symbol (depthbook.ts),
 *   one top-N row per applied diff with last_update_id = `u` and ts_ms = `T`
 *   when present (futures: matching-engine time, the same clock as futures
 *   bookTicker and trade `T`), else `E` (spot).
 * - `<sym>@depth<N>[@..ms]` partial books: one row per message as sent (no sync needed).
 * - REST snapshot lines `{"lastUpdateId","bids","asks"}` carry no symbol. They
 *   belong to the file's symbol: the symbol of the first stream message in the
 *   file, unless the file name starts with a symbol (`btcusd_perp_20240808.gz`
 *   -> BTCUSD_PERP) that has been seen in this file's stream messages, which
 *   then wins (multi-symbol files). A snapshot before any stream message waits
 *   for the first one.
 *
 * Re-deliveries (duplicated lines) are dropped and counted: trades whose id is
 * not above the last one of the symbol, bookTickers whose `u` is not above the
 * last one, diffs at or below the last applied `u`. Ids >= 2^53 are rejected
 * (`bad_rows.id_unsafe`). Every rejected row is counted by reason; nothing in
 * the input is fatal except an unreadable file.
 */
import path from 'node:path';
import { SIDE_UNKNOWN } from '../core/types.js';
import { BINANCE_COINM, BINANCE_SPOT, BINANCE_USDM, binanceFuturesKind, type MarketInfo } from '../core/market.js';
import { validateSymbol } from '../core/validate.js';
import {
  DRAIN_EVERY_LINES,
  IdTracker,
  bump,
  decimal,
  exchangeTsToMs,
  newCounters,
  safeId,
  warn,
  widen,
  type DrainableSink,
  type ImportCounters,
} from './counters.js';
import {
  DEFAULT_MAX_BUFFERED_DIFFS,
  SyncedBook,
  type BookStateJson,
  type DepthDiff,
  type DepthSnapshot,
} from './depthbook.js';
import { newReadStatus, readLines } from './lines.js';
import type { ParsedDiff } from './fastdepth.js';

export interface WsCaptureOptions {
  /** Depth levels per side in emitted rows (default 20; must match the writer's). */
  readonly depthLevels?: number;
  /** Bound on diffs buffered per symbol while waiting for a snapshot. */
  readonly maxBufferedDiffs?: number;
  /** Called with each warning as it happens (the CLI prints them). */
  readonly onWarning?: (msg: string) => void;
}

/** Recognised stream types (null = not a stream flowlab records). */
export type StreamType = 'trade' | 'aggTrade' | 'bookTicker' | 'depth_diff' | 'depth_partial';

interface SymState {
  readonly trades: IdTracker;
  readonly aggTrades: IdTracker;
  lastQuoteId: number;
  book: SyncedBook | null;
  /** Market kind told to the sink (decided by the first message that shows it). */
  marketKnown: boolean;
}

/**
 * Binance market of a symbol from what its messages carry: futures
 * bookTickers have `T`/`E` (spot: neither), futures trades `X`, futures diffs
 * `pu`; USD-M vs COIN-M from the symbol (`BTCUSD_PERP` is COIN-M).
 */
export function captureMarket(symbol: string, futures: boolean): MarketInfo {
  if (!futures) return BINANCE_SPOT;
  return binanceFuturesKind(symbol) === 'coinm' ? BINANCE_COINM : BINANCE_USDM;
}

/** `btcusd_perp_20240808.gz` -> BTCUSD_PERP; null when the name does not look like `<symbol>_<yyyymmdd>...`. */
export function symbolFromCaptureName(file: string): string | null {
  const m = /^([A-Za-z0-9]+(?:_[A-Za-z]+)*)_\d{8}(?:[._]|$)/.exec(path.basename(file));
  return m ? m[1].toUpperCase() : null;
}

/** Stream suffix (after `<sym>@`) -> type; null = not recorded. */
export function streamTypeOf(suffix: string): StreamType | null {
  if (suffix === 'trade') return 'trade';
  if (suffix === 'aggTrade') return 'aggTrade';
  if (suffix === 'bookTicker') return 'bookTicker';
  if (/^depth(@\d+ms)?$/.test(suffix)) return 'depth_diff';
  if (/^depth\d+(@\d+ms)?$/.test(suffix)) return 'depth_partial';
  return null;
}

type Json = Record<string, unknown>;

export class WsCaptureImporter {
  readonly counters: ImportCounters;
  private readonly levels: number;
  private readonly maxBuffered: number;
  private readonly syms = new Map<string, SymState>();
  private readonly streams = new Map<string, StreamType | null>();
  private readonly validSymbols = new Map<string, string | null>();
  // per-file snapshot attribution
  private fileNameSymbol: string | null = null;
  private firstStreamSymbol: string | null = null;
  private readonly fileSymbols = new Set<string>();
  private pendingSnapshots: { snap: DepthSnapshot; recvTsMs: number }[] = [];
  private readonly px: Float64Array;
  private readonly qa: Float64Array;
  private readonly px2: Float64Array;
  private readonly qa2: Float64Array;

  constructor(
    private readonly sink: DrainableSink,
    private readonly opts: WsCaptureOptions = {},
    counters?: ImportCounters,
  ) {
    this.counters = counters ?? newCounters();
    this.levels = opts.depthLevels ?? 20;
    this.maxBuffered = opts.maxBufferedDiffs ?? DEFAULT_MAX_BUFFERED_DIFFS;
    this.px = new Float64Array(this.levels);
    this.qa = new Float64Array(this.levels);
    this.px2 = new Float64Array(this.levels);
    this.qa2 = new Float64Array(this.levels);
  }

  /** Import one file (streamed). Damaged compression ends the file with a warning; rows read so far are kept. */
  async importFile(file: string): Promise<void> {
    const c = this.counters;
    c.files++;
    this.beginFile(file);
    const status = newReadStatus();
    let sinceDrain = 0;
    for await (const lines of readLines(file, status)) {
      for (let i = 0; i < lines.length; i++) this.handleLine(lines[i]);
      sinceDrain += lines.length;
      if (sinceDrain >= DRAIN_EVERY_LINES && this.sink.drain) {
        sinceDrain = 0;
        await this.sink.drain();
      }
    }
    if (status.damaged) {
      c.files_damaged++;
      if (status.tailDropped) c.lines_truncated++;
      warn(
        c,
        `${path.basename(file)}: compressed stream damaged (${status.error}); stopped reading there, earlier lines kept`,
        this.opts.onWarning,
      );
    }
    this.endFile(file);
  }

  /** Start attributing snapshots for a new file. */
  beginFile(file: string | null): void {
    // each file shows its own market again, so spot and futures files of one symbol cannot merge unnoticed
    for (const st of this.syms.values()) st.marketKnown = false;
    this.fileNameSymbol = file ? symbolFromCaptureName(file) : null;
    this.firstStreamSymbol = null;
    this.fileSymbols.clear();
    this.pendingSnapshots = [];
  }

  endFile(file: string | null): void {
    if (this.pendingSnapshots.length > 0) {
      const sym = this.fileNameSymbol;
      for (const p of this.pendingSnapshots) {
        if (sym) this.book(sym).onSnapshot(p.snap, p.recvTsMs);
        else {
          this.counters.depth_snapshots_unassigned++;
          warn(
            this.counters,
            `${file ? path.basename(file) : 'input'}: depth snapshot with no stream message to take its symbol from; ignored`,
            this.opts.onWarning,
          );
        }
      }
      this.pendingSnapshots = [];
    }
  }

  /** End of all input: buffered diffs that never met a snapshot are dropped and reported. */
  finish(): ImportCounters {
    for (const [sym, s] of this.syms) {
      if (!s.book) continue;
      const n = s.book.finish();
      if (n > 0) {
        warn(
          this.counters,
          `${sym}: ${n} depth diffs never applied (${s.book.state === 'waiting' && this.counters.depth_snapshots === 0 ? 'no depth snapshot in the input' : 'book not synced'})`,
          this.opts.onWarning,
        );
      }
    }
    return this.counters;
  }

  /** State of every diff book, by symbol (what the recorder checkpoints). */
  bookStates(): Record<string, BookStateJson> {
    const out: Record<string, BookStateJson> = {};
    for (const [sym, s] of this.syms) if (s.book) out[sym] = s.book.toJSON();
    return out;
  }

  /** Sync state of `symbol`'s diff book (null when it has none). */
  bookSyncState(symbol: string): string | null {
    return this.syms.get(symbol)?.book?.state ?? null;
  }

  /**
   * Continue from a checkpointed book: `symbol`'s book takes state `j`, and
   * `symbol` counts as this input's first stream symbol (it owns the REST
   * snapshots that follow, as it did before the checkpoint).
   */
  restoreBook(symbol: string, j: BookStateJson): void {
    this.book(symbol).restore(j);
    if (this.firstStreamSymbol === null) this.firstStreamSymbol = symbol;
    this.fileSymbols.add(symbol);
  }

  private sym(symbol: string): SymState {
    let s = this.syms.get(symbol);
    if (!s) {
      s = { trades: new IdTracker(), aggTrades: new IdTracker(), lastQuoteId: NaN, book: null, marketKnown: false };
      this.syms.set(symbol, s);
    }
    return s;
  }

  private book(symbol: string): SyncedBook {
    const s = this.sym(symbol);
    if (!s.book) s.book = new SyncedBook(symbol, this.sink, this.counters, this.levels, this.maxBuffered);
    return s.book;
  }

  private bad(reason: string): void {
    bump(this.counters.bad_rows, reason);
  }

  /** One capture line. Public for tests; `importFile` calls it in line order. */
  handleLine(line: string): void {
    const c = this.counters;
    c.lines++;
    if (line.length === 0 || (line.length < 3 && line.trim().length === 0)) {
      c.lines_empty++;
      return;
    }
    const sp = line.indexOf(' ');
    // ns timestamp: 7..19 digits (ms = all but the last 6 digits; exact, no float division)
    if (sp < 7 || sp > 19) {
      c.lines_no_timestamp++;
      return;
    }
    for (let i = 0; i < sp; i++) {
      const ch = line.charCodeAt(i);
      if (ch < 48 || ch > 57) {
        c.lines_no_timestamp++;
        return;
      }
    }
    const recvTsMs = Number(line.slice(0, sp - 6));
    let msg: unknown;
    try {
      msg = JSON.parse(line.slice(sp + 1));
    } catch {
      c.recv_ts_ms_range = widen(c.recv_ts_ms_range, recvTsMs);
      c.lines_malformed_json++;
      return;
    }
    this.handleMessage(msg, recvTsMs, false);
  }

  /**
   * An already parsed message (a combined-stream `{stream, data}` or a REST
   * depth snapshot) received at `recvTsMs`: what `handleLine` does after
   * parsing, for callers that parsed the frame themselves (the recorder).
   */
  handleMessage(msg: unknown, recvTsMs: number, countLine = true): void {
    const c = this.counters;
    if (countLine) c.lines++;
    c.recv_ts_ms_range = widen(c.recv_ts_ms_range, recvTsMs);
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      c.lines_unrecognized++;
      return;
    }
    const m = msg as Json;
    const stream = m.stream;
    const data = m.data;
    if (typeof stream === 'string' && data !== null && typeof data === 'object' && !Array.isArray(data)) {
      this.onStream(stream, data as Json, recvTsMs);
      return;
    }
    if ('lastUpdateId' in m && Array.isArray(m.bids) && Array.isArray(m.asks)) {
      this.onSnapshotLine(m, recvTsMs);
      return;
    }
    c.lines_unrecognized++;
  }

  /**
   * A depth diff the caller scanned itself (src/import/fastdepth.ts, the
   * recorder's fast path): exactly what `handleMessage` does with the
   * `{stream, data}` it came from.
   */
  handleDiff(p: ParsedDiff, recvTsMs: number): void {
    const c = this.counters;
    c.lines++;
    c.recv_ts_ms_range = widen(c.recv_ts_ms_range, recvTsMs);
    const type = this.streamType(p.stream);
    if (type !== 'depth_diff') {
      // only a caller error gets here (the fast path is for diff streams): take the general route
      this.onStream(p.stream, parsedDiffJson(p), recvTsMs);
      return;
    }
    const symbol = this.streamPrologue(p.stream, type, Number.isNaN(p.E) ? undefined : p.E, p.s ?? undefined);
    if (symbol === null) return;
    this.diffFields(
      symbol,
      p.U,
      p.u,
      p.pu,
      Number.isNaN(p.T) ? p.E : p.T,
      p.bidPx,
      p.bidQty,
      p.askPx,
      p.askQty,
      recvTsMs,
    );
  }

  private streamType(stream: string): StreamType | null {
    let type = this.streams.get(stream);
    if (type === undefined) {
      const at = stream.indexOf('@');
      type = at > 0 ? streamTypeOf(stream.slice(at + 1)) : null;
      this.streams.set(stream, type);
    }
    return type;
  }

  /** Counting, event-time range, symbol and snapshot attribution of a stream message; null = rejected (counted). */
  private streamPrologue(stream: string, type: StreamType, E: unknown, s: unknown): string | null {
    bump(this.counters.messages, type);
    if (typeof E === 'number') {
      const e = exchangeTsToMs(E);
      if (!Number.isNaN(e)) this.counters.event_ts_ms_range = widen(this.counters.event_ts_ms_range, e);
    }
    const symbol = this.symbolOf(stream, s);
    if (symbol === null) {
      this.bad('symbol');
      return null;
    }
    if (this.firstStreamSymbol === null) {
      this.firstStreamSymbol = symbol;
      this.fileSymbols.add(symbol);
      if (this.pendingSnapshots.length > 0) {
        const pend = this.pendingSnapshots;
        this.pendingSnapshots = [];
        // only one stream symbol is known at this point: it owns the waiting snapshots
        for (const p of pend) this.book(symbol).onSnapshot(p.snap, p.recvTsMs);
      }
    } else if (!this.fileSymbols.has(symbol)) this.fileSymbols.add(symbol);
    return symbol;
  }

  private onStream(stream: string, d: Json, recvTsMs: number): void {
    const type = this.streamType(stream);
    if (type === null) {
      bump(this.counters.unknown_streams, stream);
      return;
    }
    const symbol = this.streamPrologue(stream, type, d.E, d.s);
    if (symbol === null) return;
    switch (type) {
      case 'trade':
        return this.onTrade(symbol, d, recvTsMs, false);
      case 'aggTrade':
        return this.onTrade(symbol, d, recvTsMs, true);
      case 'bookTicker':
        return this.onBookTicker(symbol, d, recvTsMs);
      case 'depth_diff':
        return this.onDiff(symbol, d, recvTsMs);
      case 'depth_partial':
        return this.onPartial(symbol, d, recvTsMs);
    }
  }

  /** `s` when present, else the stream name's prefix; validated once per distinct spelling. */
  private symbolOf(stream: string, s: unknown): string | null {
    const raw = typeof s === 'string' ? s : stream.slice(0, stream.indexOf('@'));
    let v = this.validSymbols.get(raw);
    if (v === undefined) {
      try {
        v = validateSymbol(raw, 'symbol');
      } catch {
        v = null;
      }
      this.validSymbols.set(raw, v);
    }
    return v;
  }

  /** Tell the sink `symbol`'s market (once; a sink that already holds another kind for it refuses). */
  private noteMarket(s: SymState, symbol: string, futures: boolean): void {
    s.marketKnown = true;
    this.sink.setMarket?.(symbol, captureMarket(symbol, futures));
  }

  private onTrade(symbol: string, d: Json, recvTsMs: number, agg: boolean): void {
    const c = this.counters;
    const id = safeId(agg ? d.a : d.t);
    const first = agg ? safeId(d.f) : id;
    const last = agg ? safeId(d.l) : id;
    if (Number.isNaN(id) || Number.isNaN(first) || Number.isNaN(last) || first > last)
      return this.bad(idReason(agg ? [d.a, d.f, d.l] : [d.t]));
    const ts = exchangeTsToMs(d.T);
    const ev = exchangeTsToMs(d.E);
    if (Number.isNaN(ts) || Number.isNaN(ev)) return this.bad('trade_ts');
    const price = decimal(d.p);
    if (!(price > 0) || !Number.isFinite(price)) return this.bad('trade_price');
    const qty = decimal(d.q);
    if (!(qty > 0) || !Number.isFinite(qty)) return this.bad('trade_qty');
    const s = this.sym(symbol);
    if (!s.marketKnown && (d.X !== undefined || !agg)) this.noteMarket(s, symbol, d.X !== undefined);
    // Continuity is tracked over every well-formed trade, including dropped non-MARKET ones, so they do not look like gaps.
    if (!(agg ? s.aggTrades : s.trades).accept(c, first, last)) return;
    const x = d.X;
    if (x !== undefined && x !== 'MARKET') {
      bump(c.trades_dropped_non_market, typeof x === 'string' ? x : String(x));
      return;
    }
    let side: number;
    if (d.m === true) side = 1;
    else if (d.m === false) side = 0;
    else {
      side = SIDE_UNKNOWN;
      c.trades_side_unknown++;
    }
    this.sink.trade(symbol, recvTsMs, ts, ev, id, price, qty, side, first, last);
    c.rows.trades++;
  }

  private onBookTicker(symbol: string, d: Json, recvTsMs: number): void {
    const c = this.counters;
    const u = safeId(d.u);
    if (Number.isNaN(u)) return this.bad(idReason([d.u]));
    let ts = recvTsMs;
    if (d.T !== undefined || d.E !== undefined) {
      ts = exchangeTsToMs(d.T !== undefined ? d.T : d.E);
      if (Number.isNaN(ts)) return this.bad('quote_ts');
    }
    const bp = decimal(d.b);
    const ap = decimal(d.a);
    if (!(bp > 0 && ap > 0) || !Number.isFinite(bp) || !Number.isFinite(ap)) return this.bad('quote_price');
    const bq = decimal(d.B);
    const aq = decimal(d.A);
    if (!(bq >= 0 && aq >= 0) || !Number.isFinite(bq) || !Number.isFinite(aq)) return this.bad('quote_qty');
    const s = this.sym(symbol);
    if (!s.marketKnown) this.noteMarket(s, symbol, d.T !== undefined || d.E !== undefined);
    if (u <= s.lastQuoteId) {
      c.quotes_duplicate++;
      return;
    }
    s.lastQuoteId = u;
    if (bp >= ap) c.crossed_quotes++;
    this.sink.quote(symbol, recvTsMs, ts, u, bp, bq, ap, aq);
    c.rows.quotes++;
  }

  private onDiff(symbol: string, d: Json, recvTsMs: number): void {
    const U = safeId(d.U);
    const u = safeId(d.u);
    const pu = d.pu === undefined ? NaN : safeId(d.pu);
    if (Number.isNaN(U) || Number.isNaN(u) || (d.pu !== undefined && Number.isNaN(pu)))
      return this.bad(idReason([d.U, d.u, d.pu]));
    if (U > u) return this.bad('depth_ids');
    const ts = exchangeTsToMs(d.T !== undefined ? d.T : d.E);
    if (Number.isNaN(ts)) return this.bad('depth_ts');
    const bids = parseLevels(d.b, true);
    const asks = parseLevels(d.a, true);
    if (bids === null || asks === null) return this.bad('depth_level');
    const diff: DepthDiff = {
      U,
      u,
      pu,
      tsMs: ts,
      recvTsMs,
      bidPx: bids[0],
      bidQty: bids[1],
      askPx: asks[0],
      askQty: asks[1],
    };
    const s = this.sym(symbol);
    if (!s.marketKnown) this.noteMarket(s, symbol, d.pu !== undefined);
    this.book(symbol).onDiff(diff);
  }

  /** `onDiff` after its JSON checks, for fast-parsed diffs (ids exact, levels valid by construction). */
  private diffFields(
    symbol: string,
    U: number,
    u: number,
    pu: number,
    rawTs: number,
    bidPx: Float64Array,
    bidQty: Float64Array,
    askPx: Float64Array,
    askQty: Float64Array,
    recvTsMs: number,
  ): void {
    if (U > u) return this.bad('depth_ids');
    const ts = exchangeTsToMs(rawTs);
    if (Number.isNaN(ts)) return this.bad('depth_ts');
    const s = this.sym(symbol);
    if (!s.marketKnown) this.noteMarket(s, symbol, !Number.isNaN(pu));
    this.book(symbol).onDiff({ U, u, pu, tsMs: ts, recvTsMs, bidPx, bidQty, askPx, askQty });
  }

  /** Partial book stream (`depth5/10/20`): spot `{lastUpdateId,bids,asks}`, futures `{E,T,u,b,a,...}`. Rows as sent. */
  private onPartial(symbol: string, d: Json, recvTsMs: number): void {
    const id = safeId(d.lastUpdateId !== undefined ? d.lastUpdateId : d.u);
    if (Number.isNaN(id)) return this.bad(idReason([d.lastUpdateId !== undefined ? d.lastUpdateId : d.u]));
    let ts = recvTsMs;
    if (d.T !== undefined || d.E !== undefined) {
      ts = exchangeTsToMs(d.T !== undefined ? d.T : d.E);
      if (Number.isNaN(ts)) return this.bad('depth_ts');
    }
    const bids = parseLevels(d.bids !== undefined ? d.bids : d.b, false);
    const asks = parseLevels(d.asks !== undefined ? d.asks : d.a, false);
    if (bids === null || asks === null) return this.bad('depth_level');
    const L = this.levels;
    const nb = Math.min(L, bids[0].length);
    const na = Math.min(L, asks[0].length);
    for (let j = 0; j < nb; j++) (this.px[j] = bids[0][j]), (this.qa[j] = bids[1][j]);
    for (let j = 0; j < na; j++) (this.px2[j] = asks[0][j]), (this.qa2[j] = asks[1][j]);
    this.sink.depth(symbol, recvTsMs, ts, id, this.px, this.qa, nb, this.px2, this.qa2, na);
    this.counters.rows.depth++;
  }

  private onSnapshotLine(m: Json, recvTsMs: number): void {
    bump(this.counters.messages, 'depth_snapshot');
    const lid = safeId(m.lastUpdateId);
    if (Number.isNaN(lid)) return this.bad(idReason([m.lastUpdateId]));
    const bids = parseLevels(m.bids, false);
    const asks = parseLevels(m.asks, false);
    if (bids === null || asks === null) return this.bad('snapshot_level');
    const snap: DepthSnapshot = { lastUpdateId: lid, bidPx: bids[0], bidQty: bids[1], askPx: asks[0], askQty: asks[1] };
    if (this.firstStreamSymbol === null) {
      this.pendingSnapshots.push({ snap, recvTsMs });
      return;
    }
    const owner =
      this.fileNameSymbol !== null && this.fileSymbols.has(this.fileNameSymbol)
        ? this.fileNameSymbol
        : this.firstStreamSymbol;
    this.book(owner).onSnapshot(snap, recvTsMs);
  }
}

/** A fast-parsed diff back as JSON `data` (only for the general route). */
function parsedDiffJson(p: ParsedDiff): Json {
  const lv = (px: Float64Array, q: Float64Array) => Array.from(px, (x, i) => [String(x), String(q[i])]);
  const d: Json = { U: p.U, u: p.u, b: lv(p.bidPx, p.bidQty), a: lv(p.askPx, p.askQty) };
  if (!Number.isNaN(p.E)) d.E = p.E;
  if (!Number.isNaN(p.T)) d.T = p.T;
  if (!Number.isNaN(p.pu)) d.pu = p.pu;
  if (p.s !== null) d.s = p.s;
  return d;
}

function idReason(vals: unknown[]): string {
  for (const v of vals)
    if (typeof v === 'number' && Number.isInteger(v) && v > Number.MAX_SAFE_INTEGER) return 'id_unsafe';
  return 'id_invalid';
}

/**
 * `[[price, qty], ...]` as parallel Float64Arrays, or null when any level is
 * malformed: price must be > 0, qty >= 0 in diffs (0 removes) and > 0 in
 * snapshots / partial books, both finite.
 */
function parseLevels(v: unknown, zeroOk: boolean): [Float64Array, Float64Array] | null {
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

/** Import ws-capture files in order into `sink`; returns the counters (also after damaged files). */
export async function importWsCapture(
  files: readonly string[],
  sink: DrainableSink,
  opts: WsCaptureOptions = {},
  counters?: ImportCounters,
): Promise<ImportCounters> {
  const imp = new WsCaptureImporter(sink, opts, counters);
  for (const f of files) await imp.importFile(f);
  return imp.finish();
}
