/**
 * Raw dataset writer (ARCHITECTURE §2): a `RawSink` that buffers ticks per
 * (symbol, kind) in growable typed-array columns and seals a part file
 *
 *   <root>/date=YYYY-MM-DD/symbol=<SYM>/kind=<kind>/part-<first_recv_ts_ms>-<first_recv_seq>.parquet
 *
 * whenever a buffer spans `rotateSec` of receive time or crosses a UTC date.
 * Sealing is synchronous (columns are swapped out); writing is async and
 * happens in `drain()`, which producers await between batches so memory stays
 * bounded. Part files are written atomically (temp + rename). `close()` drains
 * and writes `_manifest.json` (MANIFEST_FILE) with the sha256 of every part file.
 *
 * `recv_seq` is assigned here, in call order, starting at `startSeq`: call
 * order is arrival order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeParquet, type OutColumn } from '../io/duck.js';
import { GrowableF64, GrowableI8, GrowableU8 } from '../core/growable.js';
import { F64_COLUMNS, type Kind, type RawSink } from '../core/types.js';
import { FlowlabError } from '../core/errors.js';
import { utcDateOf, validateSymbol } from '../core/validate.js';
import { sha256File } from '../core/hash.js';
import { writeFileAtomic } from '../core/atomic.js';
import { UNKNOWN_MARKET, combineMarkets, isKnown, type MarketInfo } from '../core/market.js';
import {
  LEGACY_MANIFEST_FILE,
  MANIFEST_FILE,
  partPath,
  SCHEMA_VERSION,
  type DatasetManifest,
  type PartFileInfo,
  readManifest,
  summarize,
} from './manifest.js';

export interface WriterOptions {
  /** Rotate part files every this many seconds of receive time (recorder: PARQUET_ROTATE_SEC = 60). */
  readonly rotateSec?: number;
  /** Depth levels kept per side (top N). */
  readonly depthLevels?: number;
  /** First recv_seq to assign (resume: last written + 1). */
  readonly startSeq?: number;
  /** Free-form provenance written to the manifest. */
  readonly source?: Record<string, unknown>;
  /** Venue and market kind of every symbol's ticks, unless `setMarket` says otherwise for a symbol (default unknown). */
  readonly market?: MarketInfo;
  /** Keep files listed in an existing manifest (append / resume). Default true. */
  readonly append?: boolean;
  /**
   * Called with each part file's dataset-relative path before the file is
   * written (the recorder journals it, so a restart deletes only part files
   * it wrote itself and never listed).
   */
  readonly beforePart?: (relPath: string) => void;
}

const DAY_MS = 86_400_000;

class Buf {
  readonly cols: Record<string, GrowableF64>;
  side: GrowableI8 | null = null;
  nBid: GrowableU8 | null = null;
  nAsk: GrowableU8 | null = null;
  rows = 0;
  startMs = 0;
  day = -1;
  constructor(
    readonly kind: Kind,
    readonly symbol: string,
    names: readonly string[],
  ) {
    this.cols = {};
    for (const n of names) this.cols[n] = new GrowableF64(4096);
    if (kind === 'trades') this.side = new GrowableI8(4096);
    if (kind === 'depth') {
      this.nBid = new GrowableU8(1024);
      this.nAsk = new GrowableU8(1024);
    }
  }
}

interface Sealed {
  readonly kind: Kind;
  readonly symbol: string;
  readonly rows: number;
  readonly cols: Record<string, Float64Array>;
  readonly side: Int8Array | null;
  readonly nBid: Uint8Array | null;
  readonly nAsk: Uint8Array | null;
}

export class DatasetWriter implements RawSink {
  readonly root: string;
  readonly rotateMs: number;
  readonly levels: number;
  private seq: number;
  private readonly bufs = new Map<string, Buf>();
  private sealed: Sealed[] = [];
  private readonly files: PartFileInfo[] = [];
  private readonly source: Record<string, unknown>;
  private readonly defaultMarket: MarketInfo;
  private readonly markets = new Map<string, MarketInfo>();
  /** Symbols that have ticks in this writer (their parts so far carry `marketOf` at the time). */
  private readonly seen = new Set<string>();
  /** The manifest's file name: the legacy one when appending to a dataset that has it (one manifest per dataset). */
  private readonly manifestName: string;
  private closed = false;
  private readonly beforePart: ((relPath: string) => void) | undefined;
  /** Extra statistics a producer wants in the manifest (e.g. import counters). */
  stats: Record<string, unknown> = {};

  constructor(root: string, opts: WriterOptions = {}) {
    this.root = path.resolve(root);
    this.rotateMs = (opts.rotateSec ?? 60) * 1000;
    this.levels = opts.depthLevels ?? 20;
    if (!(this.rotateMs > 0)) throw new FlowlabError(`rotateSec must be > 0, got ${opts.rotateSec}`, 2);
    if (!Number.isInteger(this.levels) || this.levels < 1 || this.levels > 100) {
      throw new FlowlabError(`depthLevels must be an integer in 1..100, got ${opts.depthLevels}`, 2);
    }
    this.source = opts.source ?? {};
    this.defaultMarket = opts.market ?? UNKNOWN_MARKET;
    this.beforePart = opts.beforePart;
    fs.mkdirSync(this.root, { recursive: true });
    let startSeq = opts.startSeq ?? 0;
    const legacy =
      !fs.existsSync(path.join(this.root, MANIFEST_FILE)) && fs.existsSync(path.join(this.root, LEGACY_MANIFEST_FILE));
    this.manifestName = opts.append !== false && legacy ? LEGACY_MANIFEST_FILE : MANIFEST_FILE;
    if (opts.append !== false && fs.existsSync(path.join(this.root, this.manifestName))) {
      const m = readManifest(this.root);
      this.files.push(...m.files);
      for (const f of m.files) startSeq = Math.max(startSeq, f.last_recv_seq + 1);
      for (const [s, mk] of Object.entries(m.markets)) {
        if (!isKnown(mk)) continue;
        this.markets.set(s, combineMarkets([mk, this.defaultMarket], `dataset '${this.root}': symbol ${s}`));
      }
    }
    this.seq = startSeq;
  }

  /**
   * Venue and market kind of `symbol`'s ticks (importers learn it from the
   * data). A symbol already known as another kind (earlier in this import, or
   * in the dataset appended to) is refused: one dataset never mixes kinds for
   * a symbol. Setting unknown is a no-op.
   */
  setMarket(symbol: string, market: MarketInfo): void {
    if (!isKnown(market)) return;
    // the default applies to a symbol's ticks only until the symbol is told its own market
    const had = this.markets.get(symbol) ?? (this.seen.has(symbol) ? this.defaultMarket : UNKNOWN_MARKET);
    this.markets.set(symbol, combineMarkets([had, market], `dataset '${this.root}': symbol ${symbol}`));
  }

  /** The market recorded for `symbol`'s parts. */
  marketOf(symbol: string): MarketInfo {
    return this.markets.get(symbol) ?? this.defaultMarket;
  }

  /** The next recv_seq this writer will assign. */
  get nextSeq(): number {
    return this.seq;
  }

  /** Last buffer used per kind: a feed of one symbol skips the key string and the Map lookup per row. */
  private readonly lastBuf: Record<Kind, Buf | null> = { trades: null, quotes: null, depth: null };

  private buf(kind: Kind, symbol: string, recvTsMs: number): Buf {
    let b = this.lastBuf[kind];
    if (b === null || b.symbol !== symbol) {
      const key = `${symbol}\u0000${kind}`;
      let found = this.bufs.get(key);
      if (!found) {
        validateSymbol(symbol, 'tick symbol');
        this.seen.add(symbol);
        found = new Buf(kind, symbol, F64_COLUMNS[kind]);
        this.bufs.set(key, found);
      }
      this.lastBuf[kind] = b = found;
    }
    const day = Math.floor(recvTsMs / DAY_MS);
    if (b.rows > 0 && (recvTsMs >= b.startMs + this.rotateMs || day !== b.day)) this.seal(b);
    if (b.rows === 0) {
      b.startMs = recvTsMs;
      b.day = day;
    }
    return b;
  }

  private seal(b: Buf): void {
    if (b.rows === 0) return;
    const cols: Record<string, Float64Array> = {};
    for (const [n, g] of Object.entries(b.cols)) {
      cols[n] = g.view().slice();
      g.clear();
    }
    this.sealed.push({
      kind: b.kind,
      symbol: b.symbol,
      rows: b.rows,
      cols,
      side: b.side ? b.side.view().slice() : null,
      nBid: b.nBid ? b.nBid.view().slice() : null,
      nAsk: b.nAsk ? b.nAsk.view().slice() : null,
    });
    b.side?.clear();
    b.nBid?.clear();
    b.nAsk?.clear();
    b.rows = 0;
  }

  trade(
    symbol: string,
    recvTsMs: number,
    tsMs: number,
    eventTsMs: number,
    aggTradeId: number,
    price: number,
    qty: number,
    isBuyerMaker: number,
    firstTradeId: number,
    lastTradeId: number,
  ): void {
    const b = this.buf('trades', symbol, recvTsMs);
    const c = b.cols;
    c.recv_ts_ms.push(recvTsMs);
    c.recv_seq.push(this.seq++);
    c.ts_ms.push(tsMs);
    c.event_ts_ms.push(eventTsMs);
    c.agg_trade_id.push(aggTradeId);
    c.price.push(price);
    c.qty.push(qty);
    c.first_trade_id.push(firstTradeId);
    c.last_trade_id.push(lastTradeId);
    b.side!.push(isBuyerMaker);
    b.rows++;
  }

  quote(
    symbol: string,
    recvTsMs: number,
    tsMs: number,
    updateId: number,
    bidPx: number,
    bidQty: number,
    askPx: number,
    askQty: number,
  ): void {
    const b = this.buf('quotes', symbol, recvTsMs);
    const c = b.cols;
    c.recv_ts_ms.push(recvTsMs);
    c.recv_seq.push(this.seq++);
    c.ts_ms.push(tsMs);
    c.update_id.push(updateId);
    c.bid_px.push(bidPx);
    c.bid_qty.push(bidQty);
    c.ask_px.push(askPx);
    c.ask_qty.push(askQty);
    b.rows++;
  }

  depth(
    symbol: string,
    recvTsMs: number,
    tsMs: number,
    lastUpdateId: number,
    bidPx: ArrayLike<number>,
    bidQty: ArrayLike<number>,
    nBid: number,
    askPx: ArrayLike<number>,
    askQty: ArrayLike<number>,
    nAsk: number,
  ): void {
    const b = this.buf('depth', symbol, recvTsMs);
    const c = b.cols;
    const L = this.levels;
    const nb = Math.min(nBid, L);
    const na = Math.min(nAsk, L);
    c.recv_ts_ms.push(recvTsMs);
    c.recv_seq.push(this.seq++);
    c.ts_ms.push(tsMs);
    c.last_update_id.push(lastUpdateId);
    c.bid_px.pushRow(bidPx, nb, L);
    c.bid_qty.pushRow(bidQty, nb, L);
    c.ask_px.pushRow(askPx, na, L);
    c.ask_qty.pushRow(askQty, na, L);
    b.nBid!.push(nb);
    b.nAsk!.push(na);
    b.rows++;
  }

  /** Rows buffered or sealed but not yet written. */
  get pendingRows(): number {
    let n = 0;
    for (const b of this.bufs.values()) n += b.rows;
    for (const s of this.sealed) n += s.rows;
    return n;
  }

  /** Write every sealed part. With `all`, seal open buffers first (end of input, or a checkpoint). */
  async drain(all = false): Promise<PartFileInfo[]> {
    if (all) for (const b of this.bufs.values()) this.seal(b);
    const todo = this.sealed;
    this.sealed = [];
    const written: PartFileInfo[] = [];
    for (const s of todo) written.push(await this.writePart(s));
    return written;
  }

  private async writePart(s: Sealed): Promise<PartFileInfo> {
    const c = s.cols;
    const firstRecv = c.recv_ts_ms[0];
    const firstSeq = c.recv_seq[0];
    const date = utcDateOf(firstRecv);
    const rel = partPath({
      date,
      symbol: s.symbol,
      kind: s.kind,
      first_recv_ts_ms: firstRecv,
      first_recv_seq: firstSeq,
    });
    const file = path.join(this.root, rel);
    const head: OutColumn[] = [
      { name: 'recv_ts_ms', type: 'i64', data: c.recv_ts_ms },
      { name: 'recv_seq', type: 'i64', data: c.recv_seq },
      { name: 'ts_ms', type: 'i64', data: c.ts_ms },
    ];
    // No in-file `symbol` column: the hive key `symbol=` carries it, and any in-file type would clash with
    // what some reader infers for the key (pandas: dictionary, pyarrow.dataset: string). README "Reading".
    let cols: OutColumn[];
    if (s.kind === 'trades') {
      cols = [
        ...head,
        { name: 'event_ts_ms', type: 'i64', data: c.event_ts_ms },
        { name: 'agg_trade_id', type: 'i64', data: c.agg_trade_id },
        { name: 'price', type: 'f64', data: c.price },
        { name: 'qty', type: 'f64', data: c.qty },
        { name: 'is_buyer_maker', type: 'bool', data: s.side! },
        { name: 'first_trade_id', type: 'i64', data: c.first_trade_id },
        { name: 'last_trade_id', type: 'i64', data: c.last_trade_id },
      ];
    } else if (s.kind === 'quotes') {
      cols = [
        ...head,
        { name: 'update_id', type: 'i64', data: c.update_id, nullNaN: true },
        { name: 'bid_px', type: 'f64', data: c.bid_px },
        { name: 'bid_qty', type: 'f64', data: c.bid_qty },
        { name: 'ask_px', type: 'f64', data: c.ask_px },
        { name: 'ask_qty', type: 'f64', data: c.ask_qty },
      ];
    } else {
      const L = this.levels;
      cols = [
        ...head,
        { name: 'last_update_id', type: 'i64', data: c.last_update_id, nullNaN: true },
        { name: 'bid_px', type: 'f64list', data: c.bid_px, stride: L, counts: s.nBid! },
        { name: 'bid_qty', type: 'f64list', data: c.bid_qty, stride: L, counts: s.nBid! },
        { name: 'ask_px', type: 'f64list', data: c.ask_px, stride: L, counts: s.nAsk! },
        { name: 'ask_qty', type: 'f64list', data: c.ask_qty, stride: L, counts: s.nAsk! },
      ];
    }
    this.beforePart?.(rel);
    await writeParquet(file, cols, s.rows);
    let minTs = Infinity;
    let maxTs = -Infinity;
    let lastRecv = -Infinity;
    for (let i = 0; i < s.rows; i++) {
      const t = c.ts_ms[i];
      if (t < minTs) minTs = t;
      if (t > maxTs) maxTs = t;
      if (c.recv_ts_ms[i] > lastRecv) lastRecv = c.recv_ts_ms[i];
    }
    const info: PartFileInfo = {
      path: rel,
      symbol: s.symbol,
      kind: s.kind,
      date,
      rows: s.rows,
      first_recv_ts_ms: firstRecv,
      last_recv_ts_ms: lastRecv,
      min_ts_ms: minTs,
      max_ts_ms: maxTs,
      first_recv_seq: firstSeq,
      last_recv_seq: c.recv_seq[s.rows - 1],
      bytes: fs.statSync(file).size,
      sha256: await sha256File(file),
      ...this.marketOf(s.symbol),
    };
    this.files.push(info);
    return info;
  }

  /** Drain everything and write the manifest (atomically). Returns the manifest. */
  async close(): Promise<DatasetManifest> {
    if (this.closed) throw new FlowlabError('dataset writer closed twice');
    await this.drain(true);
    this.closed = true;
    return this.writeManifest();
  }

  /** Write the manifest for the files written so far (also used for checkpoints). */
  writeManifest(): DatasetManifest {
    const files = [...this.files].sort((a, b) =>
      a.symbol < b.symbol
        ? -1
        : a.symbol > b.symbol
          ? 1
          : a.kind < b.kind
            ? -1
            : a.kind > b.kind
              ? 1
              : a.first_recv_seq - b.first_recv_seq,
    );
    const manifest: DatasetManifest = {
      schema_version: SCHEMA_VERSION,
      depth_levels: this.levels,
      source: this.source,
      ...summarize(files),
      stats: this.stats,
      files,
    };
    writeFileAtomic(
      path.join(this.root, this.manifestName),
      `${JSON.stringify(manifest, null, 2)}
`,
    );
    return manifest;
  }
}
