/**
 * Raw dataset reader: symbols x receive-time range, in arrival order
 * `(recv_ts_ms, recv_seq)`, streamed in columnar batches.
 *
 * Each (symbol, kind) stream is read part file by part file (files in
 * first_recv_seq order, rows in (recv_ts_ms, recv_seq) order inside a file),
 * chunk by chunk, so memory is bounded by one batch per stream whatever the
 * dataset length. Merging the streams into one arrival order is the
 * pipeline's first stage (`arrivalBlocks`, src/pipeline/arrival.ts).
 *
 * The time range filters on `recv_ts_ms` (arrival): `[fromMs, toMs)`.
 */
import path from 'node:path';
import fs from 'node:fs';
import type { DuckDBDataChunk, DuckDBListVector } from '@duckdb/node-api';
import { readF64, readI8, sqlString, streamChunks } from '../io/duck.js';
import { FlowlabError, describeError } from '../core/errors.js';
import { KINDS, type DepthBatch, type Kind, type QuoteBatch, type TickBatch, type TradeBatch } from '../core/types.js';
import { readManifest, type DatasetManifest, type PartFileInfo } from './manifest.js';
import { sha256File } from '../core/hash.js';

export interface ReadOptions {
  readonly symbols?: readonly string[];
  readonly kinds?: readonly Kind[];
  /** Inclusive lower bound on recv_ts_ms. */
  readonly fromMs?: number;
  /** Exclusive upper bound on recv_ts_ms. */
  readonly toMs?: number;
  /** Rows per batch (default 65536). */
  readonly batchRows?: number;
  /** Check each part file's sha256 against the manifest before reading it. */
  readonly verifyHashes?: boolean;
  /** Part files of at most this many rows are scanned in runs (default SCAN_HOLD_ROWS; tests use small values). */
  readonly holdRows?: number;
}

export class Dataset {
  readonly root: string;
  readonly manifest: DatasetManifest;
  constructor(root: string) {
    this.root = path.resolve(root);
    this.manifest = readManifest(this.root);
  }

  /** Part files selected by the options, validated against the manifest. */
  select(opts: ReadOptions = {}): PartFileInfo[] {
    const m = this.manifest;
    if (m.files.length === 0)
      throw new FlowlabError(
        `dataset '${this.root}' holds no ticks (its manifest lists no part files; expected a recorded, imported or synthesized dataset)`,
      );
    const symbols = opts.symbols ?? m.symbols;
    for (const s of symbols) {
      if (!m.symbols.includes(s)) {
        throw new FlowlabError(
          `symbol '${s}' is not in dataset '${this.root}' (it has: ${m.symbols.join(', ') || 'none'})`,
        );
      }
    }
    const from = opts.fromMs ?? -Infinity;
    const to = opts.toMs ?? Infinity;
    if (!(from < to)) throw new FlowlabError(`empty time range: from ${fmt(from)} is not before to ${fmt(to)}`, 2);
    const kinds = opts.kinds ?? KINDS;
    const files = m.files.filter(
      (f) =>
        symbols.includes(f.symbol) && kinds.includes(f.kind) && f.last_recv_ts_ms >= from && f.first_recv_ts_ms < to,
    );
    if (files.length === 0) {
      const tr = m.time_range.recv_ts_ms;
      throw new FlowlabError(
        `no data for ${symbols.join(',')} in [${fmt(from)}, ${fmt(to)}) in '${this.root}' (dataset covers ${tr ? `${fmt(tr[0])} .. ${fmt(tr[1])}` : 'nothing'})`,
      );
    }
    return files;
  }

  /**
   * One (symbol, kind) stream in arrival order: its part files in first_recv_seq
   * order, each file's rows in (recv_ts_ms, recv_seq) order, cut into batches of
   * `batchRows`.
   *
   * Part files are read in runs with one DuckDB scan per run (`read_parquet` of
   * the file list, no ORDER BY): a query costs ~1 ms of CPU before it reads a
   * row, and sorting a file that is already in order (the dataset writer
   * writes in arrival order) was ~0.2-0.3 CPU-s of a 24 h x 6 symbols replay.
   * Each file's rows are held until the file is complete and checked to be in
   * strictly increasing (recv_ts_ms, recv_seq) order; a file that is not (or
   * one with more rows than its manifest entry, or any error of the run's
   * scan) is read again on its own with ORDER BY, as every file used to be, so
   * the rows and batches are the same either way (test/dataset.test.ts). Files
   * above SCAN_HOLD_ROWS rows are always read on their own with ORDER BY, so
   * memory stays bounded by one batch plus one held file per stream.
   */
  async *stream(symbol: string, kind: Kind, opts: ReadOptions = {}): AsyncGenerator<TickBatch> {
    const files = this.select({ ...opts, symbols: [symbol], kinds: [kind] }).sort(
      (a, b) => a.first_recv_seq - b.first_recv_seq,
    );
    const batchRows = opts.batchRows ?? 65536;
    const levels = this.manifest.depth_levels;
    const where: string[] = [];
    if (opts.fromMs !== undefined && Number.isFinite(opts.fromMs))
      where.push(`recv_ts_ms >= ${Math.trunc(opts.fromMs)}`);
    if (opts.toMs !== undefined && Number.isFinite(opts.toMs)) where.push(`recv_ts_ms < ${Math.trunc(opts.toMs)}`);
    const whereSql = where.length ? ` WHERE ${where.join(' AND ')}` : '';
    const paths = files.map((f) => path.join(this.root, f.path));
    let checked = 0;
    /** Existence and sha256 of files [checked, upTo), once each, before any of their rows is read. */
    const check = async (upTo: number) => {
      for (; checked < upTo; checked++) {
        const file = paths[checked];
        if (!fs.existsSync(file)) throw new FlowlabError(`part file '${file}' listed in the manifest is missing`);
        if (opts.verifyHashes) {
          const h = await sha256File(file);
          if (h !== files[checked].sha256)
            throw new FlowlabError(`part file '${file}' changed: sha256 ${h} != manifest ${files[checked].sha256}`);
        }
      }
    };
    const newBatch = () => new BatchBuilder(kind, symbol, batchRows, levels);
    let builder = newBatch();
    const sortedChunks = (file: string) => this.sortedChunks(file, kind, whereSql);
    /** One file read on its own, sorted by DuckDB, into the batches (full ones go out). */
    async function* sortedFile(file: string): AsyncGenerator<TickBatch> {
      for await (const chunk of sortedChunks(file)) {
        let off = 0;
        while (off < chunk.rowCount) {
          off = builder.take(chunk, off, chunk.rowCount);
          if (builder.full) {
            yield builder.finish();
            builder = newBatch();
          }
        }
      }
    }
    // the held file: one buffer per stream, reused from file to file
    const holdRows = opts.holdRows ?? SCAN_HOLD_ROWS;
    let holdCap = 0;
    for (const f of files) if (f.rows <= holdRows) holdCap = Math.max(holdCap, f.rows);
    const held = holdCap > 0 ? new BatchBuilder(kind, symbol, holdCap, levels) : null;
    let i = 0;
    while (i < files.length) {
      if (held === null || files[i].rows > holdRows) {
        // on its own, sorted by DuckDB
        await check(i + 1);
        yield* sortedFile(paths[i]);
        i++;
        continue;
      }
      // a run of small files, one scan; `cur` is the file (index into `files`) being held
      let end = i;
      while (end < files.length && files[end].rows <= holdRows) end++;
      await check(end);
      const list = paths
        .slice(i, end)
        .map((p) => sqlString(p))
        .join(', ');
      const sql = `SELECT ${SELECT[kind]}, file_index FROM read_parquet([${list}])${whereSql}`;
      const fileCol = SELECT_COLS[kind];
      const chunks = streamChunks(sql);
      let cur = i;
      let redo = -1; // a file of the run to read again on its own, then resume after it
      held.reset();
      try {
        for (;;) {
          let next: IteratorResult<DuckDBDataChunk>;
          try {
            next = await chunks.next();
          } catch {
            // the file (or the list) cannot be scanned this way: read it on its own, which names it
            redo = cur;
            break;
          }
          const chunk = next.done ? null : next.value;
          const rows = chunk === null ? 0 : chunk.rowCount;
          // file indices never decrease along the scan: a chunk whose first and last rows are of
          // one file is all of it (DuckDB's chunks are; the per-row split is for safety only)
          const idx =
            chunk === null ? null : (chunk.getColumnVector(fileCol) as unknown as { items: BigUint64Array }).items;
          const one = idx === null || rows === 0 || idx[0] === idx[rows - 1];
          let off = 0;
          while (chunk === null || off < rows) {
            // the file of rows [off, stop) of the chunk (the end of the scan: none)
            let f = end;
            let stop = 0;
            if (idx !== null) {
              f = i + Number(idx[off]);
              stop = one ? rows : off + 1;
              while (stop < rows && idx[stop] === idx[off]) stop++;
            }
            if (f !== cur) {
              // `cur` is complete: its rows go out if they are in order, else it is read again sorted
              if (!held.inOrder()) {
                redo = cur;
                break;
              }
              for (let o = 0; o < held.rows; ) {
                const n = Math.min(held.rows - o, builder.cap - builder.rows);
                builder.append(held, o, n);
                o += n;
                if (builder.full) {
                  yield builder.finish();
                  builder = newBatch();
                }
              }
              held.reset();
              cur = f;
              if (chunk === null) break;
            }
            const got = held.take(chunk!, off, stop);
            if (got < stop) {
              // more rows than the manifest says: read it on its own
              redo = cur;
              break;
            }
            off = stop;
          }
          if (chunk === null || redo >= 0) break;
        }
      } finally {
        await chunks.return(undefined);
      }
      if (redo < 0) {
        i = end;
        continue;
      }
      yield* sortedFile(paths[redo]);
      i = redo + 1;
    }
    if (builder.rows > 0) yield builder.finish();
  }

  /** One part file's rows sorted by (recv_ts_ms, recv_seq), chunk by chunk; read errors name the file. */
  private async *sortedChunks(file: string, kind: Kind, whereSql: string): AsyncGenerator<DuckDBDataChunk> {
    const sql = `SELECT ${SELECT[kind]} FROM read_parquet(${sqlString(file)})${whereSql} ORDER BY recv_ts_ms, recv_seq`;
    const chunks = streamChunks(sql);
    try {
      for (;;) {
        let next: IteratorResult<DuckDBDataChunk>;
        try {
          next = await chunks.next();
        } catch (e) {
          throw new FlowlabError(`part file '${file}' cannot be read: ${describeError(e)}`);
        }
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await chunks.return(undefined);
    }
  }
}

/**
 * Part files of at most this many rows (manifest `rows`) are scanned in runs
 * and held whole until their order is checked; larger ones are read on their
 * own with ORDER BY. 65,536 covers the synth's hourly parts (at most ~37k rows
 * on the default recipe) and the recorder's 60 s parts.
 */
export const SCAN_HOLD_ROWS = 65_536;

function fmt(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

const SELECT: Readonly<Record<Kind, string>> = {
  trades:
    'recv_ts_ms::DOUBLE, recv_seq::DOUBLE, ts_ms::DOUBLE, event_ts_ms::DOUBLE, agg_trade_id::DOUBLE, price, qty, ' +
    '(CASE WHEN is_buyer_maker IS NULL THEN -1 WHEN is_buyer_maker THEN 1 ELSE 0 END)::TINYINT, first_trade_id::DOUBLE, last_trade_id::DOUBLE',
  quotes: 'recv_ts_ms::DOUBLE, recv_seq::DOUBLE, ts_ms::DOUBLE, update_id::DOUBLE, bid_px, bid_qty, ask_px, ask_qty',
  depth:
    'recv_ts_ms::DOUBLE, recv_seq::DOUBLE, ts_ms::DOUBLE, last_update_id::DOUBLE, bid_px, bid_qty, ask_px, ask_qty',
};

/** Columns of SELECT[kind] (the scan of a run of files adds `file_index` after them). */
const SELECT_COLS: Readonly<Record<Kind, number>> = { trades: 10, quotes: 8, depth: 8 };

const F64_COLS: Readonly<Record<Kind, readonly string[]>> = {
  trades: [
    'recv_ts_ms',
    'recv_seq',
    'ts_ms',
    'event_ts_ms',
    'agg_trade_id',
    'price',
    'qty',
    '',
    'first_trade_id',
    'last_trade_id',
  ],
  quotes: ['recv_ts_ms', 'recv_seq', 'ts_ms', 'update_id', 'bid_px', 'bid_qty', 'ask_px', 'ask_qty'],
  depth: ['recv_ts_ms', 'recv_seq', 'ts_ms', 'last_update_id'],
};

const DEPTH_LIST_COLS: ReadonlySet<string> = new Set(['bid_px', 'bid_qty', 'ask_px', 'ask_qty']);

/** Accumulates DuckDB chunks into one columnar batch of at most `cap` rows. */
class BatchBuilder {
  rows = 0;
  private readonly cols: Record<string, Float64Array> = {};
  private side: Int8Array | null = null;
  private nBid: Uint8Array | null = null;
  private nAsk: Uint8Array | null = null;
  constructor(
    readonly kind: Kind,
    readonly symbol: string,
    readonly cap: number,
    readonly levels: number,
  ) {
    for (const c of F64_COLS[kind]) if (c) this.cols[c] = new Float64Array(cap);
    if (kind === 'trades') this.side = new Int8Array(cap);
    if (kind === 'depth') {
      for (const c of ['bid_px', 'bid_qty', 'ask_px', 'ask_qty'])
        this.cols[c] = new Float64Array(cap * levels).fill(NaN);
      this.nBid = new Uint8Array(cap);
      this.nAsk = new Uint8Array(cap);
    }
  }
  get full(): boolean {
    return this.rows >= this.cap;
  }
  /** Copy rows [off, end) of `chunk` until the batch is full; returns the next unread row. */
  take(chunk: DuckDBDataChunk, off: number, end: number): number {
    const n = Math.min(end - off, this.cap - this.rows);
    if (off === 0 && n === chunk.rowCount) {
      this.copy(chunk, 0, n);
    } else {
      // partial chunk: copy through a scratch batch of the chunk's size
      const scratch = new BatchBuilder(this.kind, this.symbol, chunk.rowCount, this.levels);
      scratch.copy(chunk, 0, chunk.rowCount);
      this.append(scratch, off, n);
    }
    return off + n;
  }
  private copy(chunk: DuckDBDataChunk, _from: number, n: number): void {
    const names = F64_COLS[this.kind];
    for (let ci = 0; ci < names.length; ci++) {
      if (names[ci]) readF64(chunk, ci, this.cols[names[ci]], this.rows);
    }
    if (this.kind === 'trades') readI8(chunk, 7, this.side!, this.rows);
    if (this.kind === 'depth') {
      const L = this.levels;
      const lists: [number, string, Uint8Array][] = [
        [4, 'bid_px', this.nBid!],
        [5, 'bid_qty', this.nBid!],
        [6, 'ask_px', this.nAsk!],
        [7, 'ask_qty', this.nAsk!],
      ];
      for (const [ci, name, counts] of lists) {
        const vec = chunk.getColumnVector(ci) as DuckDBListVector;
        const child = vec.childVector;
        const out = this.cols[name];
        for (let i = 0; i < n; i++) {
          const o = vec.getEntryOffset(i);
          const len = Math.min(vec.getEntryLength(i), L);
          counts[this.rows + i] = len;
          for (let j = 0; j < len; j++) out[(this.rows + i) * L + j] = child.getItem(o + j) as number;
        }
      }
    }
    this.rows += n;
  }
  /** Empty again, for the next file (list levels past a row's count are NaN, as in a new builder). */
  reset(): void {
    if (this.kind === 'depth') {
      const used = this.rows * this.levels;
      for (const c of DEPTH_LIST_COLS) this.cols[c].fill(NaN, 0, used);
    }
    this.rows = 0;
  }
  /** True when the rows are in strictly increasing (recv_ts_ms, recv_seq) order (NaN is not). */
  inOrder(): boolean {
    const t = this.cols.recv_ts_ms;
    const s = this.cols.recv_seq;
    for (let r = 1; r < this.rows; r++) {
      if (!(t[r - 1] < t[r] || (t[r - 1] === t[r] && s[r - 1] < s[r]))) return false;
    }
    return this.rows === 0 || (t[0] === t[0] && s[0] === s[0]);
  }
  /** Append rows [from, from + n) of `src` (same kind and levels). */
  append(src: BatchBuilder, from: number, n: number): void {
    for (const [name, arr] of Object.entries(this.cols)) {
      const w = this.kind === 'depth' && DEPTH_LIST_COLS.has(name) ? this.levels : 1;
      arr.set(src.cols[name].subarray(from * w, (from + n) * w), this.rows * w);
    }
    if (this.side) this.side.set(src.side!.subarray(from, from + n), this.rows);
    if (this.nBid) this.nBid.set(src.nBid!.subarray(from, from + n), this.rows);
    if (this.nAsk) this.nAsk.set(src.nAsk!.subarray(from, from + n), this.rows);
    this.rows += n;
  }
  finish(): TickBatch {
    const n = this.rows;
    const c = this.cols;
    const s = (a: Float64Array, w = 1) => a.subarray(0, n * w);
    if (this.kind === 'trades') {
      const b: TradeBatch = {
        kind: 'trades',
        symbol: this.symbol,
        length: n,
        recv_ts_ms: s(c.recv_ts_ms),
        recv_seq: s(c.recv_seq),
        ts_ms: s(c.ts_ms),
        event_ts_ms: s(c.event_ts_ms),
        agg_trade_id: s(c.agg_trade_id),
        price: s(c.price),
        qty: s(c.qty),
        is_buyer_maker: this.side!.subarray(0, n),
        first_trade_id: s(c.first_trade_id),
        last_trade_id: s(c.last_trade_id),
      };
      return b;
    }
    if (this.kind === 'quotes') {
      const b: QuoteBatch = {
        kind: 'quotes',
        symbol: this.symbol,
        length: n,
        recv_ts_ms: s(c.recv_ts_ms),
        recv_seq: s(c.recv_seq),
        ts_ms: s(c.ts_ms),
        update_id: s(c.update_id),
        bid_px: s(c.bid_px),
        bid_qty: s(c.bid_qty),
        ask_px: s(c.ask_px),
        ask_qty: s(c.ask_qty),
      };
      return b;
    }
    const L = this.levels;
    const b: DepthBatch = {
      kind: 'depth',
      symbol: this.symbol,
      length: n,
      levels: L,
      recv_ts_ms: s(c.recv_ts_ms),
      recv_seq: s(c.recv_seq),
      ts_ms: s(c.ts_ms),
      last_update_id: s(c.last_update_id),
      n_bid: this.nBid!.subarray(0, n),
      n_ask: this.nAsk!.subarray(0, n),
      bid_px: s(c.bid_px, L),
      bid_qty: s(c.bid_qty, L),
      ask_px: s(c.ask_px, L),
      ask_qty: s(c.ask_qty, L),
    };
    return b;
  }
}
