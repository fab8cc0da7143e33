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
import { FlowlabError } from '../core/errors.js';
import {
  type Json,
  type QuoteGate,
  type StreamType,
  type TradeGate,
  diffHead,
  isSnapshot,
  mapQuote,
  mapTrade,
  parseDiff,
  parsePartial,
  parseSnapshot,
  parseStreamName,
  streamTypeOf,
  symbolOfMessage,
} from '../binance/mapper.js';
import { BINANCE_COINM, BINANCE_SPOT, BINANCE_USDM, binanceFuturesKind, type MarketInfo } from '../core/market.js';
import { exchangeTsToMs } from '../core/parse.js';
import {
  DRAIN_EVERY_LINES,
  IdTracker,
  bump,
  newCounters,
  warn,
  widen,
  type DrainableSink,
  type ImportCounters,
} from './counters.js';
import { DEFAULT_MAX_BUFFERED_DIFFS, SyncedBook, type BookStateJson, type DepthSnapshot } from './depthbook.js';
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

export { streamTypeOf, type StreamType };

/** Receive-timestamp unit of a capture file (recorded per file in `stats.import.recv_ts_units`). */
export type RecvUnit = 'ns' | 'us' | 'ms';

/** Unit of an epoch receive timestamp of `digits` digits: ns 18-20, µs 15-17, ms 12-14 (1973..5138 each); null = none. */
export function recvUnitOfDigits(digits: number): RecvUnit | null {
  if (digits >= 18) return digits <= 20 ? 'ns' : null;
  if (digits >= 15) return 'us';
  if (digits >= 12) return 'ms';
  return null;
}

/** Digits to drop from a receive timestamp in `unit` to get epoch ms. */
export const RECV_DROP_DIGITS: Readonly<Record<RecvUnit, number>> = { ns: 6, us: 3, ms: 0 };

/** Largest |receive - exchange time| accepted on a file's first message with `E` (1 day; clock errors are seconds). */
export const MAX_RECV_EVENT_GAP_MS = 86_400_000;

interface SymState {
  readonly trades: TradeGate;
  readonly aggTrades: TradeGate;
  readonly quotes: QuoteGate;
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

/** Capture order is arrival order: a trade id not above the last one of its stream is a re-delivery. */
class CaptureTradeGate implements TradeGate {
  private readonly ids = new IdTracker();
  constructor(private readonly c: ImportCounters) {}
  acceptTrade(first: number, last: number): boolean {
    return this.ids.accept(this.c, first, last);
  }
}

/** A bookTicker whose `u` is not above the last one of the symbol is a re-delivery. */
class CaptureQuoteGate implements QuoteGate {
  private last = NaN;
  constructor(private readonly c: ImportCounters) {}
  acceptQuote(u: number): boolean {
    if (u <= this.last) {
      this.c.quotes_duplicate++;
      return false;
    }
    this.last = u;
    return true;
  }
}

/** `btcusd_perp_20240808.gz` -> BTCUSD_PERP; null when the name does not look like `<symbol>_<yyyymmdd>...`. */
export function symbolFromCaptureName(file: string): string | null {
  const m = /^([A-Za-z0-9]+(?:_[A-Za-z]+)*)_\d{8}(?:[._]|$)/.exec(path.basename(file));
  return m ? m[1].toUpperCase() : null;
}

export class WsCaptureImporter {
  readonly counters: ImportCounters;
  private readonly levels: number;
  private readonly maxBuffered: number;
  private readonly syms = new Map<string, SymState>();
  // per-file snapshot attribution
  private fileNameSymbol: string | null = null;
  private firstStreamSymbol: string | null = null;
  private readonly fileSymbols = new Set<string>();
  // per-file receive-time unit (handleLine)
  private fileLabel = 'input';
  private fileLine = 0;
  private recvUnit: RecvUnit | null = null;
  private recvUnitLine = 0;
  /** Digit count of the last timestamp (its unit is known) and the digits to drop for ms. */
  private recvDigits = -1;
  private recvDrop = 6;
  /** The file's first message carrying `E` has not been checked against its receive time yet. */
  private recvCheckPending = false;
  private recvCheckMs = NaN;
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

  /**
   * A receive timestamp of `digits` digits on the current line: its unit
   * (ns 18-20 digits, µs 15-17, ms 12-14, i.e. epoch 1973..5138 in each),
   * which must be the file's unit. Throws (exit 1) when it matches none or
   * differs from the unit of the file's first timestamp.
   */
  private recvUnitOf(line: string, digits: number): void {
    const unit = recvUnitOfDigits(digits);
    const where = `${this.fileLabel}: line ${this.fileLine}`;
    const value = line.slice(0, digits);
    if (unit === null)
      throw new FlowlabError(
        `${where}: receive timestamp '${value}' has ${digits} digits, which is no unit (expected epoch ns: 18-20 digits, µs: 15-17, ms: 12-14)`,
      );
    if (this.recvUnit !== null && unit !== this.recvUnit)
      throw new FlowlabError(
        `${where}: receive timestamp '${value}' is in ${unit} but the file's first one (line ${this.recvUnitLine}) is in ${this.recvUnit}; a file must use one unit`,
      );
    if (this.recvUnit === null) {
      this.recvUnit = unit;
      this.recvUnitLine = this.fileLine;
      this.recvCheckPending = true;
      this.counters.recv_ts_units[this.fileLabel] = unit;
    }
    this.recvDigits = digits;
    this.recvDrop = RECV_DROP_DIGITS[unit];
  }

  /** The file's first exchange time `E` against its receive time: a unit that is off by ~1000x is caught here. */
  private checkRecvUnit(eventMs: number): void {
    this.recvCheckPending = false;
    const gap = Math.abs(this.recvCheckMs - eventMs);
    if (gap > MAX_RECV_EVENT_GAP_MS)
      throw new FlowlabError(
        `${this.fileLabel}: line ${this.fileLine}: receive time ${this.recvCheckMs} ms (read as ${this.recvUnit}) is ${(gap / 86_400_000).toFixed(1)} days from the exchange time E=${eventMs} ms; expected within 1 day (wrong receive-time unit?)`,
      );
  }

  /** Start attributing snapshots for a new file. */
  beginFile(file: string | null): void {
    // each file shows its own market again, so spot and futures files of one symbol cannot merge unnoticed
    for (const st of this.syms.values()) st.marketKnown = false;
    this.fileLabel = file ? path.basename(file) : 'input';
    this.fileLine = 0;
    this.recvUnit = null;
    this.recvDigits = -1;
    this.recvDrop = 6;
    this.recvCheckPending = false;
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
      const { buffered, evicted } = s.book.finish();
      const n = buffered + evicted;
      if (n > 0) {
        const why =
          s.book.state === 'waiting' && this.counters.depth_snapshots === 0
            ? 'no depth snapshot in the input'
            : 'book not synced';
        const split =
          evicted > 0 ? `: ${buffered} buffered at the end, ${evicted} evicted earlier from the full buffer` : '';
        warn(this.counters, `${sym}: ${n} depth diffs never applied (${why}${split})`, this.opts.onWarning);
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
      const c = this.counters;
      s = {
        trades: new CaptureTradeGate(c),
        aggTrades: new CaptureTradeGate(c),
        quotes: new CaptureQuoteGate(c),
        book: null,
        marketKnown: false,
      };
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
    this.fileLine++;
    const sp = line.indexOf(' ');
    if (sp < 1 || sp > 24) {
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
    // receive time: ns, µs or ms by its digit count, one unit per file; ms by string slicing (exact)
    if (sp !== this.recvDigits) this.recvUnitOf(line, sp);
    const recvTsMs = Number(line.slice(0, sp - this.recvDrop));
    if (this.recvCheckPending) this.recvCheckMs = recvTsMs;
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
    if (isSnapshot(m)) {
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
    const type = parseStreamName(p.stream).type;
    if (type !== 'depth_diff') {
      // only a caller error gets here (the fast path is for diff streams): take the general route
      this.onStream(p.stream, parsedDiffJson(p), recvTsMs);
      return;
    }
    const symbol = this.streamPrologue(p.stream, type, Number.isNaN(p.E) ? undefined : p.E, p.s ?? undefined);
    if (symbol === null) return;
    const tsMs = diffHead(c, p.U, p.u, Number.isNaN(p.T) ? p.E : p.T);
    if (Number.isNaN(tsMs)) return;
    const s = this.sym(symbol);
    if (!s.marketKnown) this.noteMarket(s, symbol, !Number.isNaN(p.pu));
    this.book(symbol).onDiff({
      U: p.U,
      u: p.u,
      pu: p.pu,
      tsMs,
      recvTsMs,
      bidPx: p.bidPx,
      bidQty: p.bidQty,
      askPx: p.askPx,
      askQty: p.askQty,
    });
  }

  /** Counting, event-time range, symbol and snapshot attribution of a stream message; null = rejected (counted). */
  private streamPrologue(stream: string, type: StreamType, E: unknown, s: unknown): string | null {
    bump(this.counters.messages, type);
    if (typeof E === 'number') {
      const e = exchangeTsToMs(E);
      if (!Number.isNaN(e)) {
        this.counters.event_ts_ms_range = widen(this.counters.event_ts_ms_range, e);
        if (this.recvCheckPending) this.checkRecvUnit(e);
      }
    }
    const symbol = symbolOfMessage(parseStreamName(stream), s);
    if (symbol === 'symbol' || symbol === 'symbol_mismatch') {
      this.bad(symbol);
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

  /** Tell the sink `symbol`'s market (once per file; a sink that already holds another kind for it refuses). */
  private noteMarket(s: SymState, symbol: string, futures: boolean): void {
    s.marketKnown = true;
    this.sink.setMarket?.(symbol, captureMarket(symbol, futures));
  }

  private onStream(stream: string, d: Json, recvTsMs: number): void {
    const type = parseStreamName(stream).type;
    if (type === null) {
      bump(this.counters.unknown_streams, stream);
      return;
    }
    const symbol = this.streamPrologue(stream, type, d.E, d.s);
    if (symbol === null) return;
    const c = this.counters;
    switch (type) {
      case 'trade':
      case 'aggTrade': {
        const s = this.sym(symbol);
        const agg = type === 'aggTrade';
        // futures trades carry X; spot raw trades never do (spot and futures aggTrades look alike)
        if (!s.marketKnown && (d.X !== undefined || !agg)) this.noteMarket(s, symbol, d.X !== undefined);
        mapTrade(this.sink, c, symbol, d, recvTsMs, agg, agg ? s.aggTrades : s.trades);
        return;
      }
      case 'bookTicker': {
        const s = this.sym(symbol);
        if (!s.marketKnown) this.noteMarket(s, symbol, d.T !== undefined || d.E !== undefined);
        mapQuote(this.sink, c, symbol, d, recvTsMs, s.quotes);
        return;
      }
      case 'depth_diff': {
        const f = parseDiff(c, d);
        if (f === null) return;
        const s = this.sym(symbol);
        if (!s.marketKnown) this.noteMarket(s, symbol, !Number.isNaN(f.pu));
        this.book(symbol).onDiff({ ...f, recvTsMs });
        return;
      }
      case 'depth_partial':
        return this.onPartial(symbol, d, recvTsMs);
    }
  }

  /** Partial book stream (`depth5/10/20`): rows as sent, top `depthLevels` per side. */
  private onPartial(symbol: string, d: Json, recvTsMs: number): void {
    const f = parsePartial(this.counters, d, recvTsMs);
    if (f === null) return;
    const { bids, asks } = f;
    const L = this.levels;
    const nb = Math.min(L, bids[0].length);
    const na = Math.min(L, asks[0].length);
    for (let j = 0; j < nb; j++) (this.px[j] = bids[0][j]), (this.qa[j] = bids[1][j]);
    for (let j = 0; j < na; j++) (this.px2[j] = asks[0][j]), (this.qa2[j] = asks[1][j]);
    this.sink.depth(symbol, recvTsMs, f.tsMs, f.id, this.px, this.qa, nb, this.px2, this.qa2, na);
    this.counters.rows.depth++;
  }

  private onSnapshotLine(m: Json, recvTsMs: number): void {
    bump(this.counters.messages, 'depth_snapshot');
    const snap: DepthSnapshot | null = parseSnapshot(this.counters, m);
    if (snap === null) return;
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
