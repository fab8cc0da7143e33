/**
 * What the mock exchange replays: a flowlab raw dataset or a ws-capture file,
 * loaded into memory as one timeline of messages in arrival order.
 *
 * - capture (`<recv_ns> <json>` lines, e.g. ../shared/realdata/hftbacktest):
 *   stream messages are re-emitted byte for byte under their recorded stream
 *   name; the REST depth snapshot line seeds the mock's order book.
 * - dataset: trades -> `<sym>@aggTrade` (also `<sym>@trade`, t = agg id),
 *   quotes -> `<sym>@bookTicker`, depth rows -> `<sym>@depth<N>@100ms` partial
 *   books (any N <= the dataset's levels; spot format `{lastUpdateId,bids,asks}`).
 *
 * Everything is kept (the REST endpoints serve backfill from it), so memory is
 * O(source); the mock is for tests, benchmarks and demos, not for day-long files.
 */
import fs from 'node:fs';
import { FlowlabError } from '../src/core/errors.js';
import { Dataset } from '../src/dataset/reader.js';
import { arrivalBlocks } from '../src/pipeline/arrival.js';
import { MANIFEST_FILE, isDataset } from '../src/dataset/manifest.js';
import { readLines } from '../src/import/lines.js';
import { decimal, safeId } from '../src/core/parse.js';
import { BookSide } from '../src/import/depthbook.js';
import { classify, type Json } from '../src/binance/mapper.js';
import { RECV_DROP_DIGITS, recvUnitOfDigits } from '../src/import/wscapture.js';

/** Message families a subscription can ask for. */
export type Family = 'aggTrade' | 'trade' | 'bookTicker' | 'depth_diff' | 'depth_partial';

export interface TradeRec {
  readonly id: number;
  readonly first: number;
  readonly last: number;
  readonly price: string;
  readonly qty: string;
  readonly T: number;
  readonly m: boolean | null;
}

export interface DiffRec {
  readonly U: number;
  readonly u: number;
  readonly b: [string, string][];
  readonly a: [string, string][];
}

/** Per-symbol REST-side state. */
export interface SymbolStore {
  /** Trades in source order (ids increasing in real data) and their timeline index. */
  readonly aggTrades: { recs: TradeRec[]; index: number[] };
  readonly trades: { recs: TradeRec[]; index: number[] };
  /** Capture only: the snapshot and the diffs after it (timeline index), to answer /api/v3/depth. */
  snapshot: { lastUpdateId: number; bids: [number, number][]; asks: [number, number][]; index: number } | null;
  readonly diffs: { recs: DiffRec[]; index: number[] };
  /** Dataset only: partial-book rows (timeline index) as [lastUpdateId, bids, asks]. */
  readonly partials: {
    recs: { lastUpdateId: number; bids: [number, number][]; asks: [number, number][] }[];
    index: number[];
  };
}

export interface MockSource {
  readonly kind: 'capture' | 'dataset';
  readonly n: number;
  /** Source receive time of each message (ms). */
  readonly srcTs: Float64Array;
  /** Stream name (lower-case symbol, as Binance spells streams) of each message: capture only. */
  readonly stream: string[];
  /** Frame text of each message for its own stream (capture: as recorded). */
  frame(i: number, streamName: string): string | null;
  /** Which message indices a stream name selects (sorted). */
  select(streamName: string): Int32Array;
  readonly symbols: ReadonlyMap<string, SymbolStore>;
  /** Every stream name present (capture) or offered (dataset). */
  readonly streams: readonly string[];
}

function newStore(): SymbolStore {
  return {
    aggTrades: { recs: [], index: [] },
    trades: { recs: [], index: [] },
    snapshot: null,
    diffs: { recs: [], index: [] },
    partials: { recs: [], index: [] },
  };
}

function levels(v: unknown): [number, number][] {
  if (!Array.isArray(v)) return [];
  const out: [number, number][] = [];
  for (const lv of v) if (Array.isArray(lv)) out.push([decimal(lv[0]), decimal(lv[1])]);
  return out;
}

/** Load a ws-capture file (optionally only its first `maxLines` lines). */
export async function loadCapture(file: string, maxLines = Infinity): Promise<MockSource> {
  const ts: number[] = [];
  const frames: string[] = [];
  const streams: string[] = [];
  const syms = new Map<string, SymbolStore>();
  let pendingSnap: { lastUpdateId: number; bids: [number, number][]; asks: [number, number][] } | null = null;
  let lines = 0;
  outer: for await (const chunk of readLines(file)) {
    for (const line of chunk) {
      if (lines++ >= maxLines) break outer;
      const sp = line.indexOf(' ');
      const unit = sp > 0 && /^\d+$/.test(line.slice(0, sp)) ? recvUnitOfDigits(sp) : null;
      if (unit === null) continue;
      const recvMs = Number(line.slice(0, sp - RECV_DROP_DIGITS[unit]));
      const text = line.slice(sp + 1);
      let msg: unknown;
      try {
        msg = JSON.parse(text);
      } catch {
        continue;
      }
      const c = classify(msg);
      if (typeof c === 'string') {
        const m = msg as Json;
        if (m && typeof m === 'object' && 'lastUpdateId' in m && Array.isArray(m.bids)) {
          pendingSnap = { lastUpdateId: safeId(m.lastUpdateId), bids: levels(m.bids), asks: levels(m.asks) };
        }
        continue;
      }
      const i = frames.length;
      ts.push(recvMs);
      frames.push(text);
      streams.push(c.stream);
      let st = syms.get(c.symbol);
      if (!st) syms.set(c.symbol, (st = newStore()));
      if (pendingSnap && !st.snapshot) {
        st.snapshot = { ...pendingSnap, index: i };
        pendingSnap = null;
      }
      const d = c.data;
      if (c.type === 'trade' || c.type === 'aggTrade') {
        const agg = c.type === 'aggTrade';
        const rec: TradeRec = {
          id: c.id,
          first: agg ? safeId(d.f) : c.id,
          last: agg ? safeId(d.l) : c.id,
          price: String(d.p),
          qty: String(d.q),
          T: Number(d.T),
          m: typeof d.m === 'boolean' ? d.m : null,
        };
        const store = agg ? st.aggTrades : st.trades;
        store.recs.push(rec);
        store.index.push(i);
      } else if (c.type === 'depth_diff') {
        st.diffs.recs.push({
          U: safeId(d.U),
          u: c.id,
          b: (d.b as [string, string][]) ?? [],
          a: (d.a as [string, string][]) ?? [],
        });
        st.diffs.index.push(i);
      }
    }
  }
  if (frames.length === 0) throw new FlowlabError(`capture '${file}' holds no stream messages`);
  const srcTs = Float64Array.from(ts);
  const names = [...new Set(streams)].sort();
  const selectCache = new Map<string, Int32Array>();
  return {
    kind: 'capture',
    n: frames.length,
    srcTs,
    stream: streams,
    frame: (i, name) => (streams[i] === name ? frames[i] : null),
    select(name) {
      let s = selectCache.get(name);
      if (!s) {
        const idx: number[] = [];
        for (let i = 0; i < streams.length; i++) if (streams[i] === name) idx.push(i);
        s = Int32Array.from(idx);
        selectCache.set(name, s);
      }
      return s;
    },
    symbols: syms,
    streams: names,
  };
}

interface DsRow {
  readonly sym: string;
  readonly kind: 0 | 1 | 2; // trade, quote, depth
  readonly at: number; // index into the symbol store's arrays
}

/** Load a flowlab raw dataset (every symbol, arrival order). */
export async function loadDataset(root: string): Promise<MockSource> {
  const ds = new Dataset(root);
  const rows: DsRow[] = [];
  const ts: number[] = [];
  const syms = new Map<string, SymbolStore>();
  const quotes = new Map<string, { u: number; b: number; B: number; a: number; A: number; T: number | null }[]>();
  const tradeE = new Map<string, number[]>();
  for await (const blk of arrivalBlocks(ds)) {
    for (let a = 0; a < blk.n; a++) {
      const b = blk.batches[blk.src[a]];
      const r = blk.row[a];
      let st = syms.get(b.symbol);
      if (!st) syms.set(b.symbol, (st = newStore()));
      const i = rows.length;
      ts.push(b.recv_ts_ms[r]);
      if (b.kind === 'trades') {
        st.aggTrades.recs.push({
          id: b.agg_trade_id[r],
          first: b.first_trade_id[r],
          last: b.last_trade_id[r],
          price: String(b.price[r]),
          qty: String(b.qty[r]),
          T: b.ts_ms[r],
          m: b.is_buyer_maker[r] === 1 ? true : b.is_buyer_maker[r] === 0 ? false : null,
        });
        st.aggTrades.index.push(i);
        let e = tradeE.get(b.symbol);
        if (!e) tradeE.set(b.symbol, (e = []));
        e.push(b.event_ts_ms[r]);
        rows.push({ sym: b.symbol, kind: 0, at: st.aggTrades.recs.length - 1 });
      } else if (b.kind === 'quotes') {
        let q = quotes.get(b.symbol);
        if (!q) quotes.set(b.symbol, (q = []));
        q.push({
          u: b.update_id[r],
          b: b.bid_px[r],
          B: b.bid_qty[r],
          a: b.ask_px[r],
          A: b.ask_qty[r],
          T: b.ts_ms[r] !== b.recv_ts_ms[r] ? b.ts_ms[r] : null,
        });
        rows.push({ sym: b.symbol, kind: 1, at: q.length - 1 });
      } else {
        const L = b.levels;
        const bids: [number, number][] = [];
        const asks: [number, number][] = [];
        for (let j = 0; j < b.n_bid[r]; j++) bids.push([b.bid_px[r * L + j], b.bid_qty[r * L + j]]);
        for (let j = 0; j < b.n_ask[r]; j++) asks.push([b.ask_px[r * L + j], b.ask_qty[r * L + j]]);
        st.partials.recs.push({ lastUpdateId: b.last_update_id[r], bids, asks });
        st.partials.index.push(i);
        rows.push({ sym: b.symbol, kind: 2, at: st.partials.recs.length - 1 });
      }
    }
  }
  if (rows.length === 0) throw new FlowlabError(`dataset '${root}' holds no rows`);
  const srcTs = Float64Array.from(ts);
  const cache = new Map<string, (string | undefined)[]>();
  const parsed = new Map<string, { sym: string; fam: Family; n: number } | null>();
  const parse = (name: string) => {
    let p = parsed.get(name);
    if (p === undefined) {
      p = null;
      const at = name.indexOf('@');
      if (at > 0) {
        const sym = name.slice(0, at).toUpperCase();
        const suf = name.slice(at + 1);
        const dm = /^depth(\d+)(@\d+ms)?$/.exec(suf);
        if (syms.has(sym)) {
          if (suf === 'aggTrade') p = { sym, fam: 'aggTrade', n: 0 };
          else if (suf === 'trade') p = { sym, fam: 'trade', n: 0 };
          else if (suf === 'bookTicker') p = { sym, fam: 'bookTicker', n: 0 };
          else if (dm) p = { sym, fam: 'depth_partial', n: Number(dm[1]) };
        }
      }
      parsed.set(name, p);
    }
    return p;
  };
  const fmt = (x: number) => String(x);
  const render = (i: number, name: string): string | null => {
    const p = parse(name);
    const row = rows[i];
    if (!p || row.sym !== p.sym) return null;
    const lower = p.sym.toLowerCase();
    const st = syms.get(p.sym)!;
    if (row.kind === 0 && (p.fam === 'aggTrade' || p.fam === 'trade')) {
      const t = st.aggTrades.recs[row.at];
      const E = tradeE.get(p.sym)![row.at];
      const data =
        p.fam === 'aggTrade'
          ? {
              e: 'aggTrade',
              E,
              s: p.sym,
              a: t.id,
              p: t.price,
              q: t.qty,
              f: t.first,
              l: t.last,
              T: t.T,
              m: t.m,
              M: true,
            }
          : { e: 'trade', E, s: p.sym, t: t.id, p: t.price, q: t.qty, T: t.T, m: t.m, M: true };
      if (t.m === null) delete (data as Record<string, unknown>).m;
      return JSON.stringify({ stream: `${lower}@${p.fam}`, data });
    }
    if (row.kind === 1 && p.fam === 'bookTicker') {
      const q = quotes.get(p.sym)![row.at];
      const data: Record<string, unknown> = { u: q.u, s: p.sym, b: fmt(q.b), B: fmt(q.B), a: fmt(q.a), A: fmt(q.A) };
      if (q.T !== null) {
        data.T = q.T;
        data.E = q.T;
      }
      return JSON.stringify({ stream: `${lower}@bookTicker`, data });
    }
    if (row.kind === 2 && p.fam === 'depth_partial') {
      const d = st.partials.recs[row.at];
      const str = (l: [number, number][]) => l.slice(0, p.n).map(([a, b]) => [fmt(a), fmt(b)]);
      return JSON.stringify({
        stream: name,
        data: { lastUpdateId: d.lastUpdateId, bids: str(d.bids), asks: str(d.asks) },
      });
    }
    return null;
  };
  const selectCache = new Map<string, Int32Array>();
  const offered: string[] = [];
  for (const [sym, st] of syms) {
    const l = sym.toLowerCase();
    if (st.aggTrades.recs.length) offered.push(`${l}@aggTrade`, `${l}@trade`);
    if (quotes.has(sym)) offered.push(`${l}@bookTicker`);
    if (st.partials.recs.length) offered.push(`${l}@depth${ds.manifest.depth_levels}@100ms`);
  }
  return {
    kind: 'dataset',
    n: rows.length,
    srcTs,
    stream: [],
    frame(i, name) {
      let c = cache.get(name);
      if (!c) cache.set(name, (c = []));
      let f = c[i];
      if (f === undefined) {
        const r = render(i, name);
        if (r === null) return null;
        c[i] = f = r;
      }
      return f;
    },
    select(name) {
      let s = selectCache.get(name);
      if (!s) {
        const p = parse(name);
        const idx: number[] = [];
        if (p) {
          const want = p.fam === 'bookTicker' ? 1 : p.fam === 'depth_partial' ? 2 : 0;
          for (let i = 0; i < rows.length; i++) if (rows[i].sym === p.sym && rows[i].kind === want) idx.push(i);
        }
        s = Int32Array.from(idx);
        selectCache.set(name, s);
      }
      return s;
    },
    symbols: syms,
    streams: offered.sort(),
  };
}

/** A capture file (`.gz`, `.txt`, ...) or a dataset folder (holds a manifest). */
export async function loadSource(p: string, maxLines?: number): Promise<MockSource> {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new FlowlabError(`--data: '${p}' does not exist`);
  }
  if (st.isDirectory()) {
    if (!isDataset(p)) throw new FlowlabError(`--data: folder '${p}' is not a flowlab dataset (no ${MANIFEST_FILE})`);
    return loadDataset(p);
  }
  return loadCapture(p, maxLines);
}

/** Book state of a capture symbol after applying every diff with timeline index < `upTo`. */
export class MockBook {
  readonly bids = new BookSide(1, 4096);
  readonly asks = new BookSide(-1, 4096);
  lastUpdateId = NaN;
  private next = 0;
  constructor(private readonly st: SymbolStore) {
    const s = st.snapshot!;
    for (const [p, q] of s.bids) this.bids.set(p, q);
    for (const [p, q] of s.asks) this.asks.set(p, q);
    this.lastUpdateId = s.lastUpdateId;
  }
  advance(upTo: number): void {
    const { recs, index } = this.st.diffs;
    while (this.next < recs.length && index[this.next] < upTo) {
      const d = recs[this.next++];
      if (d.u <= this.lastUpdateId) continue;
      for (const [p, q] of d.b) this.bids.set(Number(p), Number(q));
      for (const [p, q] of d.a) this.asks.set(Number(p), Number(q));
      this.lastUpdateId = d.u;
    }
  }
}
