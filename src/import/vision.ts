/**
 * Import Binance public-data files (`--format binance-vision`,
 * https://data.binance.vision): CSV, plain, `.zip` (first entry) or gzip,
 * streamed line by line (zip entries are inflated in a stream, never whole).
 *
 * Kinds and columns (detected from the header row when there is one, else
 * from the file name, else from the column count and value shapes):
 * - aggTrades: `agg_trade_id, price, quantity, first_trade_id, last_trade_id,
 *   transact_time, is_buyer_maker[, is_best_match]` (spot: no header, 8
 *   columns; futures: header, 7 columns).
 * - bookTicker (futures): `update_id, best_bid_price, best_bid_qty,
 *   best_ask_price, best_ask_qty, transaction_time, event_time`.
 * - trades: `id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]`
 *   (raw trades; mapped like the ws `@trade` stream: agg_trade_id =
 *   first_trade_id = last_trade_id = id).
 *
 * Times: spot files from 2025-01-01 on carry µs (16 digits); each value is
 * converted by magnitude (13 digits ms, 16 digits µs -> floor to ms).
 *
 * There is no receive time in these files. recv_ts_ms is set to the exchange
 * time (aggTrades/trades: the trade time; bookTicker: `event_time`, while
 * ts_ms = `transaction_time`), so latency is 0 by construction and not
 * measurable; arrival order is file order (files in the given order).
 *
 * Symbol: from the file name (`BTCUSDT-aggTrades-2024-08-08.zip`), or
 * `--symbol` when the name does not carry one; both given and different is a
 * usage error.
 */
import path from 'node:path';
import { SIDE_UNKNOWN } from '../core/types.js';
import {
  BINANCE_COINM,
  BINANCE_SPOT,
  BINANCE_USDM,
  UNKNOWN_MARKET,
  binanceFuturesKind,
  type MarketInfo,
} from '../core/market.js';
import { FlowlabError, UsageError } from '../core/errors.js';
import { validateSymbol } from '../core/validate.js';
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
import { newReadStatus, readLines } from './lines.js';

export type VisionKind = 'aggTrades' | 'bookTicker' | 'trades';

export interface VisionOptions {
  /** Symbol for files whose name does not carry one. */
  readonly symbol?: string;
  readonly onWarning?: (msg: string) => void;
}

/** What a file holds, decided before any row is imported. */
export interface VisionPlan {
  readonly file: string;
  readonly symbol: string;
  readonly kind: VisionKind;
  /** The first line is a header row. */
  readonly header: boolean;
  /** Column index of each field (see FIELDS). */
  readonly col: Readonly<Record<string, number>>;
  /** Minimum number of columns a data row must have. */
  readonly width: number;
  /** Spot or futures, from the columns (see visionMarket). */
  readonly market: MarketInfo;
}

/**
 * Market of a public-data file from its kind and column count: spot trade
 * files end with `is_best_match` (aggTrades 8 columns, trades 7), futures ones
 * do not (7, 6); bookTicker files exist for futures only. USD-M vs COIN-M from
 * the symbol (`BTCUSD_PERP`). Anything else is unknown.
 */
export function visionMarket(kind: VisionKind, columns: number, symbol: string): MarketInfo {
  const futures = (): MarketInfo => (binanceFuturesKind(symbol) === 'coinm' ? BINANCE_COINM : BINANCE_USDM);
  if (kind === 'bookTicker') return futures();
  const spotWidth = kind === 'aggTrades' ? 8 : 7;
  if (columns === spotWidth) return BINANCE_SPOT;
  if (columns === spotWidth - 1) return futures();
  return UNKNOWN_MARKET;
}

const HEADERS: Readonly<Record<VisionKind, readonly string[][]>> = {
  aggTrades: [
    ['agg_trade_id'],
    ['price'],
    ['quantity', 'qty'],
    ['first_trade_id'],
    ['last_trade_id'],
    ['transact_time', 'timestamp', 'time'],
    ['is_buyer_maker'],
  ],
  bookTicker: [
    ['update_id'],
    ['best_bid_price'],
    ['best_bid_qty'],
    ['best_ask_price'],
    ['best_ask_qty'],
    ['transaction_time'],
    ['event_time'],
  ],
  trades: [
    ['id', 'trade_id'],
    ['price'],
    ['qty', 'quantity'],
    ['quote_qty'],
    ['time', 'transact_time'],
    ['is_buyer_maker'],
  ],
};
/** Field names in the order of HEADERS (the plan's `col` keys). */
const FIELDS: Readonly<Record<VisionKind, readonly string[]>> = {
  aggTrades: ['id', 'price', 'qty', 'first', 'last', 'time', 'm'],
  bookTicker: ['u', 'bid', 'bid_qty', 'ask', 'ask_qty', 'ts', 'event'],
  trades: ['id', 'price', 'qty', 'quote_qty', 'time', 'm'],
};

const NAME_RE = /^([A-Za-z0-9_]+)-(aggTrades|bookTicker|trades)-/;

/** `BTCUSDT-aggTrades-2024-08-08.zip` -> { symbol: 'BTCUSDT', kind: 'aggTrades' }. */
export function parseVisionName(file: string): { symbol: string; kind: VisionKind } | null {
  const m = NAME_RE.exec(path.basename(file));
  return m ? { symbol: m[1].toUpperCase(), kind: m[2] as VisionKind } : null;
}

const isBool = (s: string) => /^(true|false)$/i.test(s.trim());
const isInt = (s: string) => /^\d+$/.test(s.trim());

/** Decide kind, header and columns from the first line (and the file name). Throws a FlowlabError naming the file when undecidable. */
export function planFromFirstLine(file: string, firstLine: string, symbolOpt?: string): VisionPlan {
  const named = parseVisionName(file);
  let symbol: string;
  if (named && symbolOpt !== undefined) {
    const s = validateSymbol(symbolOpt, '--symbol');
    if (s !== named.symbol)
      throw new UsageError(`--symbol ${s} contradicts the file name '${path.basename(file)}' (symbol ${named.symbol})`);
    symbol = s;
  } else if (named) symbol = validateSymbol(named.symbol, `symbol in file name '${path.basename(file)}'`);
  else if (symbolOpt !== undefined) symbol = validateSymbol(symbolOpt, '--symbol');
  else
    throw new UsageError(
      `cannot infer the symbol of '${path.basename(file)}' (expected a name like BTCUSDT-aggTrades-2024-08-08.csv); pass --symbol`,
    );

  // binary: control characters or undecodable bytes (U+FFFD) are not CSV text
  // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting them is the point
  if (/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(firstLine))
    throw new FlowlabError(
      `'${path.basename(file)}': not a zip, gzip or CSV text file (its first bytes are binary; a damaged or incomplete download?)`,
    );
  const cells = firstLine.split(',').map((c) => c.trim());
  const header = cells.length > 0 && !isInt(cells[0]);
  let kind: VisionKind | null = null;
  const col: Record<string, number> = {};
  if (header) {
    const lower = cells.map((c) => c.toLowerCase());
    for (const k of ['bookTicker', 'aggTrades', 'trades'] as VisionKind[]) {
      const idx = HEADERS[k].map((alts) => lower.findIndex((c) => alts.includes(c)));
      if (idx.every((i) => i >= 0)) {
        kind = k;
        FIELDS[k].forEach((f, j) => (col[f] = idx[j]));
        break;
      }
    }
    if (kind === null)
      throw new FlowlabError(
        `'${path.basename(file)}': unrecognised header ${JSON.stringify(firstLine.length > 120 ? `${firstLine.slice(0, 120)}...` : firstLine)} (expected binance public-data aggTrades, bookTicker or trades columns)`,
      );
    if (named && named.kind !== kind)
      throw new FlowlabError(
        `'${path.basename(file)}': header is ${kind} columns but the file name says ${named.kind}`,
      );
  } else {
    const n = cells.length;
    if (named) kind = named.kind;
    else if (n === 8) kind = 'aggTrades';
    else if (n === 6) kind = 'trades';
    else if (n === 7) kind = isBool(cells[6]) ? (isBool(cells[5]) ? 'trades' : 'aggTrades') : 'bookTicker';
    if (kind === null)
      throw new FlowlabError(
        `'${path.basename(file)}': cannot tell the file kind from ${n} columns in '${firstLine.slice(0, 200)}'`,
      );
    FIELDS[kind].forEach((f, j) => (col[f] = j));
  }
  const width = Math.max(...Object.values(col)) + 1;
  return { file, symbol, kind, header, col, width, market: visionMarket(kind, cells.length, symbol) };
}

/** Read the first non-empty line of `file` and plan its import. */
export async function planVisionFile(file: string, symbolOpt?: string): Promise<VisionPlan> {
  for await (const lines of readLines(file)) {
    for (const l of lines) if (l.trim().length > 0) return planFromFirstLine(file, l, symbolOpt);
  }
  throw new FlowlabError(`'${path.basename(file)}': no data (empty file)`);
}

function bool(s: string): number {
  if (s === 'true' || s === 'True' || s === 'TRUE') return 1;
  if (s === 'false' || s === 'False' || s === 'FALSE') return 0;
  return s.length === 0 ? SIDE_UNKNOWN : NaN;
}

/** A CSV integer field (id or time) as a safe integer, else NaN. */
function intField(s: string): number {
  if (s.length === 0 || s.length > 16) return NaN;
  const v = Number(s);
  return Number.isSafeInteger(v) && v >= 0 ? v : NaN;
}

/** `id_unsafe` when one of the fields is an integer >= 2^53 (not exact in float64), else `id_invalid`. */
function idReason(fields: string[]): string {
  return fields.some((s) => /^\d+$/.test(s) && Number(s) > Number.MAX_SAFE_INTEGER) ? 'id_unsafe' : 'id_invalid';
}

/** A decimal CSV field (Number semantics; empty is NaN). */
function num(s: string): number {
  return s.length === 0 ? NaN : Number(s);
}

export class VisionImporter {
  readonly counters: ImportCounters;
  private readonly ids = new Map<string, IdTracker>();
  private readonly lastQuote = new Map<string, number>();

  constructor(
    private readonly sink: DrainableSink,
    private readonly opts: VisionOptions = {},
    counters?: ImportCounters,
  ) {
    this.counters = counters ?? newCounters();
  }

  async importFile(plan: VisionPlan): Promise<void> {
    const c = this.counters;
    c.files++;
    this.sink.setMarket?.(plan.symbol, plan.market);
    const status = newReadStatus();
    let first = plan.header;
    let sinceDrain = 0;
    for await (const lines of readLines(plan.file, status)) {
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        c.lines++;
        if (line.length === 0 || line.trim().length === 0) {
          c.lines_empty++;
          continue;
        }
        if (first) {
          first = false; // the header row
          continue;
        }
        this.handleRow(plan, line);
      }
      sinceDrain += lines.length;
      if (sinceDrain >= DRAIN_EVERY_LINES && this.sink.drain) {
        sinceDrain = 0;
        await this.sink.drain();
      }
    }
    if (status.zipEntries > 1)
      warn(
        c,
        `${path.basename(plan.file)}: zip holds ${status.zipEntries} entries; only '${status.zipEntry}' was read`,
        this.opts.onWarning,
      );
    if (status.damaged) {
      c.files_damaged++;
      if (status.tailDropped) c.lines_truncated++;
      warn(
        c,
        `${path.basename(plan.file)}: compressed stream damaged (${status.error}); stopped reading there, earlier rows kept`,
        this.opts.onWarning,
      );
    }
  }

  /** One data row of a planned file. Public for tests. */
  handleRow(plan: VisionPlan, line: string): void {
    const c = this.counters;
    const f = line.split(',');
    if (f.length < plan.width) return this.bad('csv_columns');
    const col = plan.col;
    bump(c.messages, plan.kind);
    if (plan.kind === 'bookTicker') {
      const u = intField(f[col.u]);
      if (Number.isNaN(u)) return this.bad(idReason([f[col.u]]));
      const ts = exchangeTsToMs(intField(f[col.ts]));
      const ev = exchangeTsToMs(intField(f[col.event]));
      if (Number.isNaN(ts) || Number.isNaN(ev)) return this.bad('quote_ts');
      const bp = num(f[col.bid]);
      const ap = num(f[col.ask]);
      if (!(bp > 0 && ap > 0) || !Number.isFinite(bp) || !Number.isFinite(ap)) return this.bad('quote_price');
      const bq = num(f[col.bid_qty]);
      const aq = num(f[col.ask_qty]);
      if (!(bq >= 0 && aq >= 0) || !Number.isFinite(bq) || !Number.isFinite(aq)) return this.bad('quote_qty');
      const last = this.lastQuote.get(plan.symbol) ?? NaN;
      if (u <= last) {
        c.quotes_duplicate++;
        return;
      }
      this.lastQuote.set(plan.symbol, u);
      c.recv_ts_ms_range = widen(c.recv_ts_ms_range, ev);
      c.event_ts_ms_range = widen(c.event_ts_ms_range, ev);
      if (bp >= ap) c.crossed_quotes++;
      this.sink.quote(plan.symbol, ev, ts, u, bp, bq, ap, aq);
      c.rows.quotes++;
      return;
    }
    const agg = plan.kind === 'aggTrades';
    const id = intField(f[col.id]);
    const first = agg ? intField(f[col.first]) : id;
    const lastId = agg ? intField(f[col.last]) : id;
    if (Number.isNaN(id) || Number.isNaN(first) || Number.isNaN(lastId) || first > lastId) {
      return this.bad(idReason(agg ? [f[col.id], f[col.first], f[col.last]] : [f[col.id]]));
    }
    const t = exchangeTsToMs(intField(f[col.time]));
    if (Number.isNaN(t)) return this.bad('trade_ts');
    const price = num(f[col.price]);
    if (!(price > 0) || !Number.isFinite(price)) return this.bad('trade_price');
    const qty = num(f[col.qty]);
    if (!(qty > 0) || !Number.isFinite(qty)) return this.bad('trade_qty');
    const side = bool(f[col.m].trim());
    if (Number.isNaN(side)) return this.bad('trade_side');
    const key = `${plan.symbol}\u0000${plan.kind}`;
    let tr = this.ids.get(key);
    if (!tr) this.ids.set(key, (tr = new IdTracker()));
    if (!tr.accept(c, first, lastId)) return;
    c.recv_ts_ms_range = widen(c.recv_ts_ms_range, t);
    c.event_ts_ms_range = widen(c.event_ts_ms_range, t);
    if (side === SIDE_UNKNOWN) c.trades_side_unknown++;
    this.sink.trade(plan.symbol, t, t, t, id, price, qty, side, first, lastId);
    c.rows.trades++;
  }

  private bad(reason: string): void {
    bump(this.counters.bad_rows, reason);
  }
}

/** Plan every file first (so a bad name or header fails before anything is written), then import in order. */
export async function importVision(
  files: readonly string[],
  sink: DrainableSink,
  opts: VisionOptions = {},
  counters?: ImportCounters,
): Promise<ImportCounters> {
  const plans: VisionPlan[] = [];
  for (const f of files) plans.push(await planVisionFile(f, opts.symbol));
  return importVisionPlanned(plans, sink, opts, counters);
}

export async function importVisionPlanned(
  plans: readonly VisionPlan[],
  sink: DrainableSink,
  opts: VisionOptions = {},
  counters?: ImportCounters,
  onFileDone?: (index: number) => void,
): Promise<ImportCounters> {
  const imp = new VisionImporter(sink, opts, counters);
  for (let i = 0; i < plans.length; i++) {
    await imp.importFile(plans[i]);
    onFileDone?.(i);
  }
  return imp.counters;
}
