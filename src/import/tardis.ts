/**
 * Import Tardis.dev downloadable CSV datasets (`--format tardis`) of Binance
 * spot (`binance`), USD-M (`binance-futures`) and COIN-M (`binance-delivery`):
 * gzipped (or plain) CSV with a header row, timestamps in µs since epoch, one
 * file per data type and day (by local_timestamp).
 *
 *   trades               exchange,symbol,timestamp,local_timestamp,id,side,price,amount
 *   quotes               exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount
 *   incremental_book_L2  exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
 *   book_snapshot_<N>    exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,...
 *
 * The data type is read from the header, the market from the `exchange`
 * column (README "Tardis"). Files are merged by local_timestamp into one
 * arrival order (ties: input order), as the ws-capture lines of the same ticks
 * would be; recv_ts_ms = floor(local_timestamp / 1000).
 *
 * Mapping, chosen so that a Tardis file and a ws-capture of the same ticks give
 * the same rows and counters (tested):
 * - trades: like the raw `@trade` stream: agg_trade_id = first = last = `id`;
 *   ts_ms = event_ts_ms = `timestamp` (Tardis keeps one exchange time);
 *   side buy = taker bought (is_buyer_maker false), sell = true, unknown = null.
 *   Ids not above the last of the symbol are duplicates; jumps are gaps.
 * - quotes: bookTicker rows without an update id (update_id NULL). A
 *   `timestamp` equal to local_timestamp is Tardis' fallback for a message
 *   without exchange time (spot bookTicker): ts_ms is the receive time then,
 *   and it is no event time.
 * - incremental_book_L2: consecutive rows of one symbol with the same
 *   timestamps and is_snapshot form one message; amount 0 removes a level. A
 *   snapshot message (re)sets the book; each later message is a diff applied
 *   through the same book as ws-capture depth (src/import/depthbook.ts:
 *   crossed-book repair, a top-N row per applied diff, no row for the snapshot
 *   itself). Tardis has no update ids, so order is the file's and
 *   last_update_id is NULL; diffs before the first snapshot are stale.
 * - book_snapshot_<N>: one depth row per line, top `depthLevels` levels
 *   (empty cells end a side), last_update_id NULL.
 */
import path from 'node:path';
import { FlowlabError } from '../core/errors.js';
import { BINANCE_COINM, BINANCE_SPOT, BINANCE_USDM, type MarketInfo } from '../core/market.js';
import type { RawSink } from '../core/types.js';
import { SIDE_UNKNOWN } from '../core/types.js';
import { validateSymbol } from '../core/validate.js';
import { decimal, exchangeTsToMs } from '../core/parse.js';
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
import { SyncedBook } from './depthbook.js';
import { newReadStatus, readLines, type ReadStatus } from './lines.js';

export type TardisKind = 'trades' | 'quotes' | 'incremental_book_L2' | 'book_snapshot';

/** Tardis exchange ids flowlab imports, and their market. */
export const TARDIS_EXCHANGES: Readonly<Record<string, MarketInfo>> = {
  binance: BINANCE_SPOT,
  'binance-futures': BINANCE_USDM,
  'binance-delivery': BINANCE_COINM,
};

const COMMON = ['exchange', 'symbol', 'timestamp', 'local_timestamp'];
const HEADERS: Readonly<Record<Exclude<TardisKind, 'book_snapshot'>, readonly string[]>> = {
  trades: [...COMMON, 'id', 'side', 'price', 'amount'],
  quotes: [...COMMON, 'ask_amount', 'ask_price', 'bid_price', 'bid_amount'],
  incremental_book_L2: [...COMMON, 'is_snapshot', 'side', 'price', 'amount'],
};

/** What a file holds, decided from its header and first data row before anything is written. */
export interface TardisPlan {
  readonly file: string;
  readonly kind: TardisKind;
  /** Column index of each header name. */
  readonly col: Readonly<Record<string, number>>;
  /** book_snapshot: levels per side in the header. */
  readonly levels: number;
  readonly width: number;
  /** The exchange of the first data row (every row must carry it). */
  readonly exchange: string;
  readonly market: MarketInfo;
}

function expected(): string {
  return [
    ...Object.entries(HEADERS).map(([k, h]) => `${k}: ${h.join(',')}`),
    'book_snapshot_N: exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,...',
  ].join('; ');
}

/** Kind and columns from the header row; throws a FlowlabError naming the file when it is not a Tardis CSV header. */
export function planFromHeader(file: string, header: string): Omit<TardisPlan, 'exchange' | 'market'> {
  const cells = header.split(',').map((c) => c.trim());
  const col: Record<string, number> = {};
  cells.forEach((c, i) => {
    col[c] = i;
  });
  const has = (names: readonly string[]) => names.every((n) => col[n] !== undefined);
  const width = cells.length;
  for (const [kind, names] of Object.entries(HEADERS) as [TardisKind, readonly string[]][]) {
    if (has(names) && (kind !== 'trades' || col.is_snapshot === undefined))
      return { file, kind, col, levels: 0, width };
  }
  if (has(COMMON) && col['asks[0].price'] !== undefined) {
    let levels = 0;
    while (has([`asks[${levels}].price`, `asks[${levels}].amount`, `bids[${levels}].price`, `bids[${levels}].amount`]))
      levels++;
    if (levels > 0) return { file, kind: 'book_snapshot', col, levels, width };
  }
  throw new FlowlabError(
    `'${path.basename(file)}': header '${header.slice(0, 160)}' is not a Tardis CSV header flowlab imports (expected ${expected()})`,
  );
}

/** Read the header and first data row of `file` and plan its import. */
export async function planTardisFile(file: string): Promise<TardisPlan> {
  let header: string | null = null;
  for await (const lines of readLines(file)) {
    for (const l of lines) {
      if (l.trim().length === 0) continue;
      if (header === null) {
        header = l;
        continue;
      }
      const p = planFromHeader(file, header);
      const exchange = l.split(',')[p.col.exchange]?.trim() ?? '';
      const market = TARDIS_EXCHANGES[exchange];
      if (!market)
        throw new FlowlabError(
          `'${path.basename(file)}': exchange '${exchange}' is not one flowlab imports (expected ${Object.keys(TARDIS_EXCHANGES).join(', ')})`,
        );
      return { ...p, exchange, market };
    }
  }
  if (header !== null) planFromHeader(file, header); // a bad header is the better message
  throw new FlowlabError(`'${path.basename(file)}': no data rows`);
}

/** A µs timestamp field (16 digits) as epoch ms, else NaN. */
function usField(s: string): number {
  if (s.length === 0 || s.length > 17) return NaN;
  return exchangeTsToMs(Number(s));
}

/** One input file's read position: the current data row split into fields. */
class Cursor {
  fields: string[] = [];
  /** local_timestamp in µs of the current row (the merge key); Infinity at end. */
  key = 0;
  private lines: string[] = [];
  private i = 0;
  private header = true;
  readonly status: ReadStatus = newReadStatus();
  private readonly it: AsyncGenerator<string[], void, undefined>;
  /** Symbols whose market was told to the sink (per file: each file carries its own exchange). */
  readonly marketSet = new Set<string>();
  constructor(
    readonly plan: TardisPlan,
    readonly index: number,
    private readonly c: ImportCounters,
  ) {
    this.it = readLines(plan.file, this.status);
  }
  /** Advance to the next data row (counting lines); false at end of file. */
  async next(): Promise<boolean> {
    for (;;) {
      while (this.i < this.lines.length) {
        const line = this.lines[this.i++];
        this.c.lines++;
        if (line.length === 0 || line.trim().length === 0) {
          this.c.lines_empty++;
          continue;
        }
        if (this.header) {
          this.header = false;
          continue;
        }
        this.fields = line.split(',');
        const k = Number(this.fields[this.plan.col.local_timestamp]);
        // a row without a usable local_timestamp keeps the previous key (it is rejected when handled)
        if (Number.isFinite(k)) this.key = k;
        return true;
      }
      const r = await this.it.next();
      if (r.done) {
        this.key = Infinity;
        return false;
      }
      this.lines = r.value;
      this.i = 0;
    }
  }
}

/** A book message being gathered from consecutive incremental_book_L2 rows. */
interface L2Group {
  cursor: Cursor;
  symbol: string;
  snapshot: boolean;
  timestamp: string;
  local: string;
  recvMs: number;
  tsMs: number;
  bidPx: number[];
  bidQty: number[];
  askPx: number[];
  askQty: number[];
}

interface L2State {
  readonly book: SyncedBook;
  /** Sequence standing in for update ids (Tardis has none): diffs in file order, snapshots at the last diff. */
  seq: number;
}

export class TardisImporter {
  readonly counters: ImportCounters;
  private readonly ids = new Map<string, IdTracker>();
  private readonly books = new Map<string, L2State>();
  private group: L2Group | null = null;
  private readonly sbp: Float64Array;
  private readonly sbq: Float64Array;
  private readonly sap: Float64Array;
  private readonly saq: Float64Array;
  /** Depth rows of rebuilt books go to the sink with last_update_id NULL (the sequence is not an exchange id). */
  private readonly bookSink: RawSink;

  constructor(
    private readonly sink: DrainableSink,
    private readonly opts: { readonly depthLevels?: number; readonly onWarning?: (msg: string) => void } = {},
    counters?: ImportCounters,
  ) {
    this.counters = counters ?? newCounters();
    const L = opts.depthLevels ?? 20;
    this.sbp = new Float64Array(L);
    this.sbq = new Float64Array(L);
    this.sap = new Float64Array(L);
    this.saq = new Float64Array(L);
    const s = sink;
    this.bookSink = {
      trade: () => {
        throw new FlowlabError('internal: book sink got a trade');
      },
      quote: () => {
        throw new FlowlabError('internal: book sink got a quote');
      },
      depth: (sym, recv, ts, _id, bp, bq, nb, ap, aq, na) => s.depth(sym, recv, ts, NaN, bp, bq, nb, ap, aq, na),
    };
  }

  private get levels(): number {
    return this.sbp.length;
  }

  /** Import planned files, merged by local_timestamp into one arrival order. */
  async importPlanned(plans: readonly TardisPlan[]): Promise<ImportCounters> {
    const c = this.counters;
    const cursors: Cursor[] = [];
    for (let i = 0; i < plans.length; i++) {
      c.files++;
      c.recv_ts_units[path.basename(plans[i].file)] = 'us'; // local_timestamp: µs since epoch
      const cur = new Cursor(plans[i], i, c);
      if (await cur.next()) cursors.push(cur);
      else this.endFile(cur);
    }
    let sinceDrain = 0;
    while (cursors.length > 0) {
      let best = 0;
      for (let i = 1; i < cursors.length; i++) {
        const a = cursors[i];
        const b = cursors[best];
        if (a.key < b.key || (a.key === b.key && a.index < b.index)) best = i;
      }
      const cur = cursors[best];
      this.handleRow(cur);
      if (!(await cur.next())) {
        this.flushGroup();
        this.endFile(cur);
        cursors.splice(best, 1);
      }
      if (++sinceDrain >= DRAIN_EVERY_LINES && this.sink.drain) {
        sinceDrain = 0;
        this.flushGroup();
        await this.sink.drain();
      }
    }
    this.flushGroup();
    return c;
  }

  /** End of input: diffs still buffered for a snapshot were never applied. */
  finish(): void {
    this.flushGroup();
    for (const st of this.books.values()) st.book.finish();
  }

  private endFile(cur: Cursor): void {
    const st = cur.status;
    if (st.damaged) {
      this.counters.files_damaged++;
      if (st.tailDropped) this.counters.lines_truncated++;
      warn(
        this.counters,
        `${path.basename(cur.plan.file)}: compressed stream damaged (${st.error}); stopped reading there, earlier rows kept`,
        this.opts.onWarning,
      );
    }
  }

  private bad(reason: string): void {
    bump(this.counters.bad_rows, reason);
  }

  /** The current row of `cur`: checked, then mapped by the file's kind. */
  private handleRow(cur: Cursor): void {
    const f = cur.fields;
    const p = cur.plan;
    const col = p.col;
    if (f.length < p.width) {
      this.flushGroup();
      return this.bad('csv_columns');
    }
    if (f[col.exchange] !== p.exchange) {
      this.flushGroup();
      return this.bad('exchange');
    }
    let symbol: string;
    try {
      symbol = validateSymbol(f[col.symbol], 'symbol');
    } catch {
      this.flushGroup();
      return this.bad('symbol');
    }
    const recv = usField(f[col.local_timestamp]);
    if (Number.isNaN(recv)) {
      this.flushGroup();
      this.counters.lines_no_timestamp++;
      return;
    }
    const c = this.counters;
    if (!cur.marketSet.has(symbol)) {
      cur.marketSet.add(symbol);
      this.sink.setMarket?.(symbol, p.market);
    }
    if (p.kind === 'incremental_book_L2') return this.l2Row(cur, symbol, recv);
    this.flushGroup();
    c.recv_ts_ms_range = widen(c.recv_ts_ms_range, recv);
    if (p.kind === 'trades') return this.tradeRow(f, col, symbol, recv);
    if (p.kind === 'quotes') return this.quoteRow(f, col, symbol, recv);
    return this.snapshotRow(f, p, symbol, recv);
  }

  private tradeRow(f: string[], col: Readonly<Record<string, number>>, symbol: string, recv: number): void {
    const c = this.counters;
    bump(c.messages, 'trade');
    const idS = f[col.id];
    const id = /^\d{1,16}$/.test(idS) && Number.isSafeInteger(Number(idS)) ? Number(idS) : NaN;
    if (Number.isNaN(id)) return this.bad(/^\d+$/.test(idS) ? 'id_unsafe' : 'id_invalid');
    const ts = usField(f[col.timestamp]);
    if (Number.isNaN(ts)) return this.bad('trade_ts');
    const price = decimal(f[col.price]);
    if (!(price > 0) || !Number.isFinite(price)) return this.bad('trade_price');
    const qty = decimal(f[col.amount]);
    if (!(qty > 0) || !Number.isFinite(qty)) return this.bad('trade_qty');
    const sideS = f[col.side];
    const side = sideS === 'sell' ? 1 : sideS === 'buy' ? 0 : sideS === 'unknown' || sideS === '' ? SIDE_UNKNOWN : NaN;
    if (Number.isNaN(side)) return this.bad('trade_side');
    c.event_ts_ms_range = widen(c.event_ts_ms_range, ts);
    let tr = this.ids.get(symbol);
    if (!tr) this.ids.set(symbol, (tr = new IdTracker()));
    if (!tr.accept(c, id, id)) return;
    if (side === SIDE_UNKNOWN) c.trades_side_unknown++;
    this.sink.trade(symbol, recv, ts, ts, id, price, qty, side, id, id);
    c.rows.trades++;
  }

  private quoteRow(f: string[], col: Readonly<Record<string, number>>, symbol: string, recv: number): void {
    const c = this.counters;
    bump(c.messages, 'bookTicker');
    let ts = recv;
    if (f[col.timestamp] !== f[col.local_timestamp]) {
      ts = usField(f[col.timestamp]);
      if (Number.isNaN(ts)) return this.bad('quote_ts');
      c.event_ts_ms_range = widen(c.event_ts_ms_range, ts);
    }
    const bp = decimal(f[col.bid_price]);
    const ap = decimal(f[col.ask_price]);
    if (!(bp > 0 && ap > 0) || !Number.isFinite(bp) || !Number.isFinite(ap)) return this.bad('quote_price');
    const bq = decimal(f[col.bid_amount]);
    const aq = decimal(f[col.ask_amount]);
    if (!(bq >= 0 && aq >= 0) || !Number.isFinite(bq) || !Number.isFinite(aq)) return this.bad('quote_qty');
    if (bp >= ap) c.crossed_quotes++;
    this.sink.quote(symbol, recv, ts, NaN, bp, bq, ap, aq);
    c.rows.quotes++;
  }

  private snapshotRow(f: string[], p: TardisPlan, symbol: string, recv: number): void {
    const c = this.counters;
    bump(c.messages, 'depth_partial');
    const ts = usField(f[p.col.timestamp]);
    if (Number.isNaN(ts)) return this.bad('depth_ts');
    c.event_ts_ms_range = widen(c.event_ts_ms_range, ts);
    const L = Math.min(p.levels, this.levels);
    const side = (name: 'asks' | 'bids', px: Float64Array, qty: Float64Array): number => {
      let n = 0;
      for (let i = 0; i < L; i++) {
        const ps = f[p.col[`${name}[${i}].price`]];
        const qs = f[p.col[`${name}[${i}].amount`]];
        if (ps === '' && qs === '') break;
        const pv = decimal(ps);
        const qv = decimal(qs);
        if (!(pv > 0) || !(qv >= 0) || !Number.isFinite(pv) || !Number.isFinite(qv)) return -1;
        px[n] = pv;
        qty[n] = qv;
        n++;
      }
      return n;
    };
    const na = side('asks', this.sap, this.saq);
    const nb = side('bids', this.sbp, this.sbq);
    if (na < 0 || nb < 0) return this.bad('depth_level');
    this.sink.depth(symbol, recv, ts, NaN, this.sbp, this.sbq, nb, this.sap, this.saq, na);
    c.rows.depth++;
  }

  /** One incremental_book_L2 row: joins the current message or starts the next one. */
  private l2Row(cur: Cursor, symbol: string, recv: number): void {
    const f = cur.fields;
    const col = cur.plan.col;
    const snapS = f[col.is_snapshot];
    const snapshot = snapS === 'true';
    if (!snapshot && snapS !== 'false') {
      this.flushGroup();
      return this.bad('depth_level');
    }
    const side = f[col.side];
    const price = decimal(f[col.price]);
    const qty = decimal(f[col.amount]);
    // a bad level is dropped alone (counted); it neither ends nor starts a message
    if ((side !== 'bid' && side !== 'ask') || !(price > 0) || !(qty >= 0) || !Number.isFinite(price + qty))
      return this.bad(snapshot ? 'snapshot_level' : 'depth_level');
    const timestamp = f[col.timestamp];
    const local = f[col.local_timestamp];
    const g0 = this.group;
    if (
      g0 === null ||
      g0.cursor !== cur ||
      g0.symbol !== symbol ||
      g0.snapshot !== snapshot ||
      g0.timestamp !== timestamp ||
      g0.local !== local
    ) {
      this.flushGroup();
      this.group = {
        cursor: cur,
        symbol,
        snapshot,
        timestamp,
        local,
        recvMs: recv,
        tsMs: timestamp === local ? recv : usField(timestamp),
        bidPx: [],
        bidQty: [],
        askPx: [],
        askQty: [],
      };
    }
    const g = this.group!;
    if (side === 'bid') {
      g.bidPx.push(price);
      g.bidQty.push(qty);
    } else {
      g.askPx.push(price);
      g.askQty.push(qty);
    }
  }

  /** Apply the gathered book message (if any). */
  private flushGroup(): void {
    const g = this.group;
    if (g === null) return;
    this.group = null;
    const c = this.counters;
    c.recv_ts_ms_range = widen(c.recv_ts_ms_range, g.recvMs);
    let st = this.books.get(g.symbol);
    if (!st) {
      st = { book: new SyncedBook(g.symbol, this.bookSink, c, this.levels), seq: 0 };
      this.books.set(g.symbol, st);
    }
    const f64 = (a: number[]) => Float64Array.from(a);
    if (g.snapshot) {
      bump(c.messages, 'depth_snapshot');
      // Tardis re-sends a snapshot after its own reconnects: without ids to prove continuity it replaces the book
      if (st.book.state === 'synced')
        st.book.restore({ state: 'waiting', lastUpdateId: null, bids: [], asks: [], buffer: [] });
      st.book.onSnapshot(
        {
          lastUpdateId: st.seq,
          bidPx: f64(g.bidPx),
          bidQty: f64(g.bidQty),
          askPx: f64(g.askPx),
          askQty: f64(g.askQty),
        },
        g.recvMs,
      );
      return;
    }
    bump(c.messages, 'depth_diff');
    if (Number.isNaN(g.tsMs)) return this.bad('depth_ts');
    c.event_ts_ms_range = widen(c.event_ts_ms_range, g.tsMs);
    st.seq++;
    st.book.onDiff({
      U: st.seq,
      u: st.seq,
      pu: NaN,
      tsMs: g.tsMs,
      recvTsMs: g.recvMs,
      bidPx: f64(g.bidPx),
      bidQty: f64(g.bidQty),
      askPx: f64(g.askPx),
      askQty: f64(g.askQty),
    });
  }
}

/** Plan every file (header, exchange) first, so a bad file fails before anything is written. */
export async function planTardis(files: readonly string[]): Promise<TardisPlan[]> {
  const plans: TardisPlan[] = [];
  for (const f of files) plans.push(await planTardisFile(f));
  return plans;
}

export async function importTardisPlanned(
  plans: readonly TardisPlan[],
  sink: DrainableSink,
  opts: { readonly depthLevels?: number; readonly onWarning?: (msg: string) => void } = {},
  counters?: ImportCounters,
): Promise<ImportCounters> {
  const imp = new TardisImporter(sink, opts, counters);
  await imp.importPlanned(plans);
  imp.finish();
  return imp.counters;
}
