/**
 * `flowlab import --format tardis` on fixtures written here in Tardis.dev's
 * documented CSV layouts (trades, quotes, incremental_book_L2,
 * book_snapshot_25; µs timestamps, gzipped). The same ticks written as a
 * ws-capture import to the same rows and counters, except what Tardis does not
 * carry (book update ids, the line count).
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BINANCE_COINM, BINANCE_SPOT, BINANCE_USDM } from '../../src/core/market.js';
import type { Kind, TickBatch } from '../../src/core/types.js';
import { Dataset } from '../../src/dataset/reader.js';
import type { ImportCounters } from '../../src/import/counters.js';
import { runImport } from '../../src/import/run.js';
import { readLines } from '../../src/import/lines.js';
import { REALDATA, runCli } from '../helpers/cli.js';
import { tmpDir, writeGz } from './helpers.js';

const SYM = 'BTCUSDT';
const T0 = Date.UTC(2024, 7, 8, 23, 54, 15);
const TRADES_H = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount';
const QUOTES_H = 'exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount';
const L2_H = 'exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount';

type Lv = [string, string][];
type Ev =
  | { t: 'snapshot'; recv: number; id: number; bids: Lv; asks: Lv }
  | { t: 'diff'; recv: number; E: number; U: number; u: number; b: Lv; a: Lv }
  | { t: 'trade'; recv: number; T: number; id: number; p: string; q: string; m: boolean }
  | { t: 'quote'; recv: number; u: number; b: string; B: string; a: string; A: string };

/** Spot ticks that exercise every counter both formats can express: duplicates, gaps, bad rows, crossed book and quotes. */
function spotTicks(): Ev[] {
  let r = T0;
  const at = () => (r += 7);
  return [
    {
      t: 'snapshot',
      recv: at(),
      id: 1000,
      bids: [
        ['100.00', '1.0'],
        ['99.90', '2.0'],
        ['99.80', '4.0'],
      ],
      asks: [
        ['100.10', '1.5'],
        ['100.20', '3.0'],
        ['100.30', '2.5'],
      ],
    },
    { t: 'diff', recv: at(), E: r - 1200, U: 1001, u: 1002, b: [['100.00', '0.5']], a: [['100.10', '0']] },
    { t: 'trade', recv: at(), T: r - 1250, id: 5, p: '100.05', q: '0.10', m: false },
    { t: 'quote', recv: at(), u: 2000, b: '100.00', B: '0.5', a: '100.20', A: '3.0' },
    { t: 'trade', recv: at(), T: r - 1240, id: 6, p: '100.20', q: '0.25', m: true },
    { t: 'trade', recv: at(), T: r - 1240, id: 6, p: '100.20', q: '0.25', m: true },
    { t: 'trade', recv: at(), T: r - 1230, id: 9, p: '100.00', q: '1.5', m: true },
    {
      t: 'diff',
      recv: at(),
      E: r - 1210,
      U: 1003,
      u: 1005,
      b: [
        ['100.25', '1.0'],
        ['99.90', '0'],
      ],
      a: [['100.40', '0.7']],
    },
    { t: 'quote', recv: at(), u: 2001, b: '100.30', B: '1.0', a: '100.30', A: '2.0' },
    { t: 'trade', recv: at(), T: r - 1220, id: 10, p: '0', q: '1', m: false },
    { t: 'diff', recv: at(), E: r - 1200, U: 1006, u: 1006, b: [['99.70', '3.0']], a: [] },
    { t: 'trade', recv: at(), T: r - 1210, id: 11, p: '100.30', q: '0.05', m: false },
  ];
}

const usOf = (ms: number) => ms * 1000 + 321; // a sub-ms part, as local clocks have
const nsOf = (ms: number) => `${ms}321000`;

function wsLines(evs: readonly Ev[]): string[] {
  const s = SYM.toLowerCase();
  return evs.map((e) => {
    switch (e.t) {
      case 'snapshot':
        return `${nsOf(e.recv)} ${JSON.stringify({ lastUpdateId: e.id, bids: e.bids, asks: e.asks })}`;
      case 'diff':
        return `${nsOf(e.recv)} ${JSON.stringify({ stream: `${s}@depth@100ms`, data: { e: 'depthUpdate', E: e.E, s: SYM, U: e.U, u: e.u, b: e.b, a: e.a } })}`;
      case 'trade':
        return `${nsOf(e.recv)} ${JSON.stringify({ stream: `${s}@trade`, data: { e: 'trade', E: e.T, s: SYM, t: e.id, p: e.p, q: e.q, T: e.T, m: e.m, M: true } })}`;
      case 'quote':
        return `${nsOf(e.recv)} ${JSON.stringify({ stream: `${s}@bookTicker`, data: { u: e.u, s: SYM, b: e.b, B: e.B, a: e.a, A: e.A } })}`;
    }
  });
}

/** The same ticks as Tardis CSV rows per data type (`exchange` column as given). */
function tardisRows(evs: readonly Ev[], exchange = 'binance'): { trades: string[]; quotes: string[]; l2: string[] } {
  const trades = [TRADES_H];
  const quotes = [QUOTES_H];
  const l2 = [L2_H];
  for (const e of evs) {
    const loc = usOf(e.recv);
    if (e.t === 'trade') trades.push([exchange, SYM, e.T * 1000, loc, e.id, e.m ? 'sell' : 'buy', e.p, e.q].join(','));
    else if (e.t === 'quote') quotes.push([exchange, SYM, loc, loc, e.A, e.a, e.b, e.B].join(','));
    else if (e.t === 'snapshot') {
      for (const [p, q] of e.bids) l2.push([exchange, SYM, loc, loc, 'true', 'bid', p, q].join(','));
      for (const [p, q] of e.asks) l2.push([exchange, SYM, loc, loc, 'true', 'ask', p, q].join(','));
    } else {
      for (const [p, q] of e.b) l2.push([exchange, SYM, e.E * 1000, loc, 'false', 'bid', p, q].join(','));
      for (const [p, q] of e.a) l2.push([exchange, SYM, e.E * 1000, loc, 'false', 'ask', p, q].join(','));
    }
  }
  return { trades, quotes, l2 };
}

function writeTardis(dir: string, evs: readonly Ev[], exchange = 'binance'): string[] {
  const t = tardisRows(evs, exchange);
  return [
    writeGz(path.join(dir, `${exchange}_trades_2024-08-08_${SYM}.csv.gz`), t.trades),
    writeGz(path.join(dir, `${exchange}_quotes_2024-08-08_${SYM}.csv.gz`), t.quotes),
    writeGz(path.join(dir, `${exchange}_incremental_book_L2_2024-08-08_${SYM}.csv.gz`), t.l2),
  ];
}

/** Every row of every kind as plain arrays, update ids left out (Tardis has none). */
async function rowsOf(root: string): Promise<Record<Kind, Record<string, number[]>>> {
  const ds = new Dataset(root);
  const out = { trades: {}, quotes: {}, depth: {} } as Record<Kind, Record<string, number[]>>;
  for (const kind of ['trades', 'quotes', 'depth'] as Kind[]) {
    if (!ds.manifest.files.some((f) => f.kind === kind)) continue;
    for await (const b of ds.stream(SYM, kind)) {
      for (const [k, v] of Object.entries(b as TickBatch)) {
        if (!ArrayBuffer.isView(v) || k === 'update_id' || k === 'last_update_id') continue;
        const arr = (out[kind][k] ??= []);
        arr.push(...Array.from(v as unknown as ArrayLike<number>));
      }
    }
  }
  return out;
}

/** Counters both formats can describe (lines differ by construction: Tardis has a row per level and a header per file). */
function comparable(c: ImportCounters): Partial<ImportCounters> {
  const { files, lines, lines_empty, warnings, recv_ts_units, ...rest } = c;
  void recv_ts_units; // per file name: ns for the capture, us for every Tardis file (asserted below)
  void files;
  void lines;
  void lines_empty;
  void warnings;
  return rest;
}

describe('tardis import', () => {
  it('imports to the same rows and counters as a ws-capture of the same ticks', async () => {
    const dir = tmpDir('tardis-eq');
    const evs = spotTicks();
    const ws = await runImport({
      format: 'ws-capture',
      inputs: [writeGz(path.join(dir, 'btcusdt_20240808.gz'), wsLines(evs))],
      out: path.join(dir, 'ws'),
    });
    const td = await runImport({ format: 'tardis', inputs: writeTardis(dir, evs), out: path.join(dir, 'td') });
    // the fixture really exercises the counters compared
    expect(ws.counters.rows).toEqual({ trades: 4, quotes: 2, depth: 3 });
    expect(ws.counters.trades_duplicate).toBe(1);
    expect(ws.counters.trade_id_gaps).toBe(2);
    expect(ws.counters.trade_ids_missing).toBe(3);
    expect(ws.counters.bad_rows).toEqual({ trade_price: 1 });
    expect(ws.counters.depth_crossed).toBe(1);
    expect(ws.counters.crossed_quotes).toBe(1);
    expect(comparable(td.counters)).toEqual(comparable(ws.counters));
    expect(Object.values(td.counters.recv_ts_units)).toEqual(['us', 'us', 'us']);
    expect(await rowsOf(td.out)).toEqual(await rowsOf(ws.out));
    expect(td.manifest.markets[SYM]).toEqual(BINANCE_SPOT);
    expect(ws.manifest.markets[SYM]).toEqual(BINANCE_SPOT);
    expect(td.manifest.source.type).toBe('tardis');
    // book update ids: the capture's, and NULL (NaN in memory) from Tardis
    const q = (await new Dataset(td.out).stream(SYM, 'quotes').next()).value as { update_id: Float64Array };
    expect(Array.from(q.update_id).every(Number.isNaN)).toBe(true);
  });

  it('real capture (spot BTCUSDT, 08-08): its trades and bookTickers as Tardis files import to the same rows', async () => {
    const dir = tmpDir('tardis-real');
    // Tardis files are in local_timestamp (µs) order and merge in input order on equal µs; the collector wrote
    // lines in the order its streams delivered them (not always receive-time order, and in ns): the ws fixture
    // is the same lines in the order Tardis gives them, µs first, trades (the first file) before quotes
    const all: string[] = [];
    for await (const lines of readLines(path.join(REALDATA, 'spot/btcusdt_20240808.gz'))) all.push(...lines);
    const us = (l: string) => BigInt(l.slice(0, Math.max(4, l.indexOf(' '))).slice(0, -3));
    const rank = (l: string) => (l.includes('@trade"') ? 0 : 1);
    all.sort((x, y) => (us(x) < us(y) ? -1 : us(x) > us(y) ? 1 : rank(x) - rank(y)));
    const ws: string[] = [];
    const trades = [TRADES_H];
    const quotes = [QUOTES_H];
    for (const l of all) {
      const sp = l.indexOf(' ');
      if (sp < 0) continue;
      const msg = JSON.parse(l.slice(sp + 1)) as { stream?: string; data?: Record<string, unknown> };
      const d = msg.data;
      const local = l.slice(0, sp - 3); // ns -> µs
      if (msg.stream?.endsWith('@trade') && d) {
        ws.push(l);
        trades.push(['binance', d.s, Number(d.T) * 1000, local, d.t, d.m ? 'sell' : 'buy', d.p, d.q].join(','));
      } else if (msg.stream?.endsWith('@bookTicker') && d) {
        ws.push(l);
        quotes.push(['binance', d.s, local, local, d.A, d.a, d.b, d.B].join(','));
      }
    }
    expect(trades.length - 1).toBe(9757);
    expect(quotes.length - 1).toBe(28040);
    const a = await runImport({
      format: 'ws-capture',
      inputs: [writeGz(path.join(dir, 'btcusdt_20240808.gz'), ws)],
      out: path.join(dir, 'ws'),
    });
    const files = [
      writeGz(path.join(dir, 'binance_trades_2024-08-08_BTCUSDT.csv.gz'), trades),
      writeGz(path.join(dir, 'binance_quotes_2024-08-08_BTCUSDT.csv.gz'), quotes),
    ];
    const t0 = performance.now();
    const b = await runImport({ format: 'tardis', inputs: files, out: path.join(dir, 'td') });
    process.stderr.write(
      `tardis real-capture import: ${trades.length + quotes.length} lines in ${(performance.now() - t0).toFixed(0)} ms\n`,
    );
    // Tardis keeps one exchange time per trade (T), the capture also has E: everything else is equal
    const ra = await rowsOf(a.out);
    const rb = await rowsOf(b.out);
    delete ra.trades.event_ts_ms;
    delete rb.trades.event_ts_ms;
    expect(rb).toEqual(ra);
    const { event_ts_ms_range: ea, ...ca } = comparable(a.counters);
    const { event_ts_ms_range: eb, ...cb } = comparable(b.counters);
    expect(cb).toEqual(ca);
    expect(eb).not.toBeNull();
    expect(ea).not.toBeNull();
    expect(b.counters.rows).toEqual({ trades: 9757, quotes: 28040, depth: 0 });
    expect(b.manifest.markets[SYM]).toEqual(BINANCE_SPOT);
  }, 120_000);

  it('is deterministic and independent of the order the files are given in', async () => {
    const dir = tmpDir('tardis-det');
    const files = writeTardis(dir, spotTicks());
    const a = await runImport({ format: 'tardis', inputs: files, out: path.join(dir, 'a') });
    const b = await runImport({ format: 'tardis', inputs: [...files].reverse(), out: path.join(dir, 'b') });
    expect(b.manifest.files.map((f) => f.sha256)).toEqual(a.manifest.files.map((f) => f.sha256));
    expect({ ...b.manifest, source: null }).toEqual({ ...a.manifest, source: null });
  });

  it('reads USD-M and COIN-M files as their market (exchange column)', async () => {
    const dir = tmpDir('tardis-fut');
    for (const [exchange, want] of [
      ['binance-futures', BINANCE_USDM],
      ['binance-delivery', BINANCE_COINM],
    ] as const) {
      const sub = path.join(dir, exchange);
      fs.mkdirSync(sub);
      const r = await runImport({
        format: 'tardis',
        inputs: writeTardis(sub, spotTicks(), exchange),
        out: path.join(sub, 'out'),
      });
      expect(r.manifest.markets[SYM], exchange).toEqual(want);
      expect(r.counters.rows.trades).toBe(4);
    }
  });

  it('book_snapshot_25: one depth row per line, top depthLevels levels, empty cells end a side', async () => {
    const dir = tmpDir('tardis-snap');
    const head = ['exchange', 'symbol', 'timestamp', 'local_timestamp'];
    for (let i = 0; i < 25; i++)
      head.push(`asks[${i}].price`, `asks[${i}].amount`, `bids[${i}].price`, `bids[${i}].amount`);
    const row = (recv: number, nAsk: number, nBid: number) => {
      const cells: (string | number)[] = ['binance-futures', SYM, (recv - 1000) * 1000, usOf(recv)];
      for (let i = 0; i < 25; i++) {
        cells.push(i < nAsk ? (200 + i).toFixed(1) : '', i < nAsk ? (i + 1).toFixed(3) : '');
        cells.push(i < nBid ? (199 - i).toFixed(1) : '', i < nBid ? (2 * i + 1).toFixed(3) : '');
      }
      return cells.join(',');
    };
    const file = writeGz(path.join(dir, 'binance-futures_book_snapshot_25_2024-08-08_BTCUSDT.csv.gz'), [
      head.join(','),
      row(T0, 25, 25),
      row(T0 + 100, 3, 0),
    ]);
    const r = await runImport({ format: 'tardis', inputs: [file], out: path.join(dir, 'out'), depthLevels: 20 });
    expect(r.counters.rows.depth).toBe(2);
    expect(r.counters.messages).toEqual({ depth_partial: 2 });
    const b = (await new Dataset(r.out).stream(SYM, 'depth').next())
      .value as import('../../src/core/types.js').DepthBatch;
    expect(Array.from(b.n_bid)).toEqual([20, 0]);
    expect(Array.from(b.n_ask)).toEqual([20, 3]);
    expect(b.bid_px[0]).toBe(199);
    expect(b.ask_px[19]).toBe(219);
    expect(b.ask_qty[20 + 2]).toBe(3);
    expect(Array.from(b.ts_ms)).toEqual([T0 - 1000, T0 + 100 - 1000]);
    expect(Array.from(b.recv_ts_ms)).toEqual([T0, T0 + 100]);
    expect(Number.isNaN(b.last_update_id[0])).toBe(true);
    expect(r.manifest.markets[SYM]).toEqual(BINANCE_USDM);
  });

  it('a snapshot after diffs replaces the book (Tardis reconnects); diffs before the first snapshot are stale', async () => {
    const dir = tmpDir('tardis-resnap');
    const l2 = [
      L2_H,
      `binance,${SYM},${usOf(T0)},${usOf(T0)},false,bid,90.0,1`,
      `binance,${SYM},${usOf(T0 + 1)},${usOf(T0 + 1)},true,bid,100.0,1`,
      `binance,${SYM},${usOf(T0 + 1)},${usOf(T0 + 1)},true,ask,101.0,1`,
      `binance,${SYM},${usOf(T0 + 2)},${usOf(T0 + 2)},false,bid,100.5,2`,
      `binance,${SYM},${usOf(T0 + 3)},${usOf(T0 + 3)},true,bid,50.0,1`,
      `binance,${SYM},${usOf(T0 + 3)},${usOf(T0 + 3)},true,ask,51.0,1`,
      `binance,${SYM},${usOf(T0 + 4)},${usOf(T0 + 4)},false,ask,51.0,0`,
      `binance,${SYM},${usOf(T0 + 5)},${usOf(T0 + 5)},false,sideways,51.0,0`,
    ];
    const file = writeGz(path.join(dir, 'l2.csv.gz'), l2);
    const r = await runImport({ format: 'tardis', inputs: [file], out: path.join(dir, 'out') });
    const c = r.counters;
    expect(c.depth_snapshots).toBe(2);
    expect(c.depth_snapshots_ignored).toBe(0);
    expect(c.depth_diffs_stale).toBe(1);
    expect(c.depth_diffs_applied).toBe(2);
    expect(c.bad_rows).toEqual({ depth_level: 1 });
    expect(c.depth_diffs).toBe(
      c.depth_diffs_applied + c.depth_diffs_stale + c.depth_diffs_duplicate + c.depth_diffs_dropped_unsynced,
    );
    const b = (await new Dataset(r.out).stream(SYM, 'depth').next())
      .value as import('../../src/core/types.js').DepthBatch;
    const L = b.levels;
    // after the first snapshot: bids 100.5, 100.0; after the second (and ask 51 removed): bid 50, no asks
    expect([b.bid_px[0], b.bid_px[1], b.n_ask[0]]).toEqual([100.5, 100, 1]);
    expect([b.bid_px[L], b.n_bid[1], b.n_ask[1]]).toEqual([50, 1, 0]);
  });

  it('counts bad rows by reason and keeps the rest', async () => {
    const dir = tmpDir('tardis-bad');
    const file = writeGz(path.join(dir, 'binance_trades_2024-08-08_BTCUSDT.csv.gz'), [
      TRADES_H,
      `binance,${SYM},${T0 * 1000},${usOf(T0)},1,buy,100.0,1`,
      `binance,${SYM},${T0 * 1000},${usOf(T0 + 1)},2,sideways,100.0,1`,
      `binance,${SYM},${T0 * 1000},${usOf(T0 + 2)},3,buy,100.0`,
      `binance-futures,${SYM},${T0 * 1000},${usOf(T0 + 3)},4,buy,100.0,1`,
      `binance,${SYM},${T0 * 1000},${usOf(T0 + 4)},x5,buy,100.0,1`,
      `binance,${SYM},${T0 * 1000},${usOf(T0 + 5)},6,buy,100.0,-1`,
      `binance,${SYM},${T0 * 1000},notatime,7,buy,100.0,1`,
      `binance,${SYM},${T0 * 1000},${usOf(T0 + 7)},8,unknown,100.0,1`,
      '',
    ]);
    const r = await runImport({ format: 'tardis', inputs: [file], out: path.join(dir, 'out') });
    expect(r.counters.bad_rows).toEqual({
      trade_side: 1,
      csv_columns: 1,
      exchange: 1,
      id_invalid: 1,
      trade_qty: 1,
    });
    expect(r.counters.lines_no_timestamp).toBe(1);
    expect(r.counters.trades_side_unknown).toBe(1);
    expect(r.counters.rows.trades).toBe(2);
    expect(r.counters.lines).toBe(10);
  });

  it('refuses files that are not Tardis Binance CSVs with one line naming the file (exit 1)', () => {
    const dir = tmpDir('tardis-err');
    const notTardis = writeGz(path.join(dir, 'x.csv.gz'), ['a,b,c', '1,2,3']);
    const bitmex = writeGz(path.join(dir, 'bitmex_trades.csv.gz'), [
      TRADES_H,
      `bitmex,XBTUSD,${T0 * 1000},${usOf(T0)},1,buy,100.0,1`,
    ]);
    const empty = path.join(dir, 'empty.csv.gz');
    fs.writeFileSync(empty, zlib.gzipSync(Buffer.from(`${TRADES_H}\n`)));
    for (const [f, re] of [
      [notTardis, /'x\.csv\.gz': header 'a,b,c' is not a Tardis CSV header/],
      [
        bitmex,
        /'bitmex_trades\.csv\.gz': exchange 'bitmex' is not one flowlab imports \(expected binance, binance-futures, binance-delivery\)/,
      ],
      [empty, /'empty\.csv\.gz': no data rows/],
    ] as const) {
      const out = path.join(dir, `out-${path.basename(f)}`);
      const r = runCli(['import', '--format', 'tardis', '--in', f, '--out', out]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(fs.existsSync(out)).toBe(false);
    }
  });
});
