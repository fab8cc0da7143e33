/**
 * Every real capture in ../shared/realdata/hftbacktest imported end to end
 * (pairs 0808 + 0809 as one capture), read back from Parquet, and checked
 * against the figures in that folder's SOURCE.md. A missing file fails.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { runImport, type ImportResult } from '../../src/import/run.js';
import { Dataset } from '../../src/dataset/reader.js';
import { REALDATA, tmpDir } from './helpers.js';

interface Case {
  readonly name: string;
  readonly files: readonly string[];
  readonly symbol: string;
  /** Per input file, from SOURCE.md's table: lines, trade, bookTicker, depth messages. */
  readonly perFile: readonly { lines: number; trades: number; quotes: number; depth: number; date: string }[];
  readonly snapshotId: number;
  /** Local receive span and exchange E span (SOURCE.md, ms precision, UTC). */
  readonly local: [string, string];
  readonly E: [string, string];
  /** First / last trade id from SOURCE.md's integrity section (null: not given, contiguity is checked). */
  readonly ids: [number, number] | null;
  readonly futures: boolean;
}

const D8 = '2024-08-08';
const D9 = '2024-08-09';
const CASES: readonly Case[] = [
  {
    name: 'spot BTCUSDT',
    files: ['spot/btcusdt_20240808.gz', 'spot/btcusdt_20240809.gz'],
    symbol: 'BTCUSDT',
    perFile: [
      { lines: 41249, trades: 9757, quotes: 28040, depth: 3451, date: D8 },
      { lines: 58325, trades: 10147, quotes: 45134, depth: 3044, date: D9 },
    ],
    snapshotId: 50093239218,
    local: ['2024-08-08T23:54:13.937Z', '2024-08-09T00:05:04.535Z'],
    E: ['2024-08-08T23:54:15.208Z', '2024-08-09T00:05:05.809Z'],
    ids: [3735683259, 3735703162],
    futures: false,
  },
  {
    name: 'spot ETHUSDT',
    files: ['spot/ethusdt_20240808.gz', 'spot/ethusdt_20240809.gz'],
    symbol: 'ETHUSDT',
    perFile: [
      { lines: 33618, trades: 6106, quotes: 24077, depth: 3434, date: D8 },
      { lines: 46126, trades: 8409, quotes: 34681, depth: 3036, date: D9 },
    ],
    snapshotId: 35346513512,
    local: ['2024-08-08T23:54:14.025Z', '2024-08-09T00:05:04.543Z'],
    E: ['2024-08-08T23:54:15.308Z', '2024-08-09T00:05:05.809Z'],
    ids: [1520538925, 1520553439],
    futures: false,
  },
  {
    name: 'USD-M BTCUSDT',
    files: ['usdm/btcusdt_20240808.gz'],
    symbol: 'BTCUSDT',
    perFile: [{ lines: 93954, trades: 21313, quotes: 66089, depth: 6551, date: D8 }],
    snapshotId: 5123107852948,
    local: ['2024-08-08T23:54:15.030Z', '2024-08-08T23:59:59.833Z'],
    E: ['2024-08-08T23:54:16.299Z', '2024-08-09T00:00:01.105Z'],
    ids: [5266583935, 5266605247],
    futures: true,
  },
  {
    name: 'USD-M ETHUSDT',
    files: ['usdm/ethusdt_20240808.gz'],
    symbol: 'ETHUSDT',
    perFile: [{ lines: 74655, trades: 14076, quotes: 53992, depth: 6586, date: D8 }],
    snapshotId: 5123107856276,
    local: ['2024-08-08T23:54:15.088Z', '2024-08-08T23:59:59.881Z'],
    E: ['2024-08-08T23:54:16.303Z', '2024-08-09T00:00:01.152Z'],
    ids: [4308068523, 4308082598],
    futures: true,
  },
  {
    name: 'COIN-M BTCUSD_PERP',
    files: ['cm/btcusd_perp_20240808.gz', 'cm/btcusd_perp_20240809.gz'],
    symbol: 'BTCUSD_PERP',
    perFile: [
      { lines: 48270, trades: 2286, quotes: 19136, depth: 26847, date: D8 },
      { lines: 50116, trades: 2949, quotes: 29219, depth: 17948, date: D9 },
    ],
    snapshotId: 1007198635033,
    local: ['2024-08-08T23:54:16.172Z', '2024-08-09T00:05:03.531Z'],
    E: ['2024-08-08T23:54:17.440Z', '2024-08-09T00:05:04.803Z'],
    ids: null,
    futures: true,
  },
  {
    name: 'COIN-M ETHUSD_PERP',
    files: ['cm/ethusd_perp_20240808.gz', 'cm/ethusd_perp_20240809.gz'],
    symbol: 'ETHUSD_PERP',
    perFile: [
      { lines: 40454, trades: 1732, quotes: 15812, depth: 22909, date: D8 },
      { lines: 37860, trades: 1863, quotes: 19751, depth: 16246, date: D9 },
    ],
    snapshotId: 1007198635066,
    local: ['2024-08-08T23:54:16.172Z', '2024-08-09T00:05:03.537Z'],
    E: ['2024-08-08T23:54:17.440Z', '2024-08-09T00:05:04.810Z'],
    ids: null,
    futures: true,
  },
];

const tmp = tmpDir('realimport');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const iso = (ms: number) => new Date(ms).toISOString();
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe('the real-data table covers every capture file', () => {
  it('lists each file in the folder exactly once, and each exists', () => {
    const listed = CASES.flatMap((c) => c.files).sort();
    const onDisk = ['spot', 'usdm', 'cm']
      .flatMap((d) => fs.readdirSync(path.join(REALDATA, d)).map((f) => `${d}/${f}`))
      .sort();
    expect(onDisk).toEqual(listed);
    for (const f of listed) expect(fs.statSync(path.join(REALDATA, f)).isFile()).toBe(true);
  });
});

describe.each(CASES)('ws-capture import of $name', (tc) => {
  let r: ImportResult;
  let ds: Dataset;

  it('imports every message with zero bad rows and the SOURCE.md counts, spans and snapshot', async () => {
    const inputs = tc.files.map((f) => path.join(REALDATA, f)); // no existence guard: a missing file must fail here
    const out = path.join(tmp, tc.name.replace(/\W+/g, '_'));
    r = await runImport({ format: 'ws-capture', inputs, out, depthLevels: 20, rotateSec: 3600 });
    ds = new Dataset(out);
    const c = r.counters;
    expect(c.lines).toBe(sum(tc.perFile.map((f) => f.lines)));
    expect(c.messages).toEqual({
      trade: sum(tc.perFile.map((f) => f.trades)),
      bookTicker: sum(tc.perFile.map((f) => f.quotes)),
      depth_diff: sum(tc.perFile.map((f) => f.depth)),
      depth_snapshot: 1,
    });
    expect(c.bad_rows).toEqual({});
    expect(c.unknown_streams).toEqual({});
    expect([c.lines_malformed_json, c.lines_no_timestamp, c.lines_unrecognized, c.files_damaged]).toEqual([0, 0, 0, 0]);
    expect([c.trades_duplicate, c.trade_id_gaps, c.quotes_duplicate, c.trades_side_unknown]).toEqual([0, 0, 0, 0]);
    expect(c.trades_dropped_non_market).toEqual({});
    expect(c.crossed_quotes).toBe(0);
    // SOURCE.md rounds ns to the nearest ms (ETHUSDT starts at ...14.024619 ns -> "14.025"); we floor: allow 1 ms.
    const lr = c.recv_ts_ms_range!;
    for (let i = 0; i < 2; i++)
      expect(Math.abs(lr[i] - Date.parse(tc.local[i])), `local ${iso(lr[i])} vs ${tc.local[i]}`).toBeLessThanOrEqual(1);
    expect(c.event_ts_ms_range!.map(iso)).toEqual(tc.E);
    // rows per kind, and per input file through the date partitions (each file holds one local date)
    const m = r.manifest;
    expect(m.symbols).toEqual([tc.symbol]);
    expect(m.rows[tc.symbol].trades).toBe(sum(tc.perFile.map((f) => f.trades)));
    expect(m.rows[tc.symbol].quotes).toBe(sum(tc.perFile.map((f) => f.quotes)));
    for (const f of tc.perFile) {
      const of = (kind: string) => sum(m.files.filter((p) => p.date === f.date && p.kind === kind).map((p) => p.rows));
      expect([of('trades'), of('quotes')]).toEqual([f.trades, f.quotes]);
    }
    expect(m.source).toMatchObject({ type: 'ws-capture', inputs: tc.files.map((f) => ({ file: path.basename(f) })) });
    expect((m.stats.import as { depth_seq_breaks: number }).depth_seq_breaks).toBe(0);
  });

  it('syncs the depth book to the snapshot with zero sequence breaks, one row per applied diff', () => {
    const c = r.counters;
    expect(c.depth_snapshots).toBe(1);
    expect(c.depth_seq_breaks).toBe(0);
    expect(c.depth_diffs_dropped_unsynced).toBe(0);
    expect(c.depth_diffs_duplicate).toBe(0);
    expect(c.depth_diffs_applied + c.depth_diffs_stale).toBe(c.depth_diffs);
    expect(c.depth_diffs_stale).toBeLessThan(30); // only the diffs buffered before the snapshot
    expect(c.depth_diffs_applied).toBeGreaterThan(0);
    expect(r.manifest.rows[tc.symbol].depth).toBe(c.depth_diffs_applied);
    expect(c.depth_crossed).toBe(0);
  });

  it('reads back trades with the SOURCE.md ids, contiguous, raw trade id mapped to agg/first/last', async () => {
    let n = 0;
    let prev = NaN;
    let first = NaN;
    let evMin = Infinity;
    let evMax = -Infinity;
    for await (const b of ds.stream(tc.symbol, 'trades')) {
      if (b.kind !== 'trades') throw new Error('kind');
      for (let i = 0; i < b.length; i++) {
        const id = b.agg_trade_id[i];
        if (Number.isNaN(first)) first = id;
        else expect(id, `trade id after ${prev}`).toBe(prev + 1);
        prev = id;
        if (b.first_trade_id[i] !== id || b.last_trade_id[i] !== id) throw new Error(`first/last != id at ${id}`);
        if (b.is_buyer_maker[i] !== 0 && b.is_buyer_maker[i] !== 1) throw new Error(`side at ${id}`);
        if (!(b.price[i] > 0 && b.qty[i] > 0)) throw new Error(`price/qty at ${id}`);
        evMin = Math.min(evMin, b.event_ts_ms[i]);
        evMax = Math.max(evMax, b.event_ts_ms[i]);
        n++;
      }
    }
    expect(n).toBe(sum(tc.perFile.map((f) => f.trades)));
    expect(prev - first + 1).toBe(n);
    if (tc.ids) expect([first, prev]).toEqual(tc.ids);
    expect(evMin).toBeGreaterThanOrEqual(Date.parse(tc.E[0]));
    expect(evMax).toBeLessThanOrEqual(Date.parse(tc.E[1]));
  });

  it('depth top of book agrees with bookTicker (same update-id sequence, and in arrival order)', async () => {
    const qU: number[] = [];
    const qSeq: number[] = [];
    const qBid: number[] = [];
    const qAsk: number[] = [];
    for await (const b of ds.stream(tc.symbol, 'quotes')) {
      if (b.kind !== 'quotes') throw new Error('kind');
      for (let i = 0; i < b.length; i++) {
        if (qU.length > 0 && !(b.update_id[i] > qU[qU.length - 1])) throw new Error('bookTicker u not increasing');
        qU.push(b.update_id[i]);
        qSeq.push(b.recv_seq[i]);
        qBid.push(b.bid_px[i]);
        qAsk.push(b.ask_px[i]);
      }
    }
    let rows = 0;
    let byId = 0;
    let byArrival = 0;
    let firstU = NaN;
    let prevU = -Infinity;
    let j = 0; // latest quote with update_id <= depth u
    const arrivalOrder: [number, number, number][] = []; // [recv_seq, bid, ask] of depth rows
    for await (const b of ds.stream(tc.symbol, 'depth')) {
      if (b.kind !== 'depth') throw new Error('kind');
      const L = b.levels;
      for (let i = 0; i < b.length; i++) {
        const u = b.last_update_id[i];
        if (Number.isNaN(firstU)) firstU = u;
        if (!(u > prevU)) throw new Error('depth last_update_id not increasing');
        prevU = u;
        const nb = b.n_bid[i];
        const na = b.n_ask[i];
        if (nb !== L || na !== L) throw new Error(`thin book at ${u}: ${nb}/${na}`);
        for (let k = 1; k < L; k++) {
          if (!(b.bid_px[i * L + k] < b.bid_px[i * L + k - 1])) throw new Error(`bids not descending at ${u}`);
          if (!(b.ask_px[i * L + k] > b.ask_px[i * L + k - 1])) throw new Error(`asks not ascending at ${u}`);
        }
        const bid = b.bid_px[i * L];
        const ask = b.ask_px[i * L];
        if (!(bid < ask)) throw new Error(`crossed depth row at ${u}`);
        while (j + 1 < qU.length && qU[j + 1] <= u) j++;
        if (qU[j] <= u) {
          rows++;
          if (qBid[j] === bid && qAsk[j] === ask) byId++;
        }
        arrivalOrder.push([b.recv_seq[i], bid, ask]);
      }
    }
    // the first applied diff straddles the snapshot (BINANCE.md rule)
    expect(firstU).toBeGreaterThanOrEqual(tc.futures ? tc.snapshotId : tc.snapshotId + 1);
    // arrival: the bookTicker received last before the depth row
    let k = -1;
    let arrRows = 0;
    for (const [seq, bid, ask] of arrivalOrder) {
      while (k + 1 < qSeq.length && qSeq[k + 1] < seq) k++;
      if (k < 0) continue;
      arrRows++;
      if (qBid[k] === bid && qAsk[k] === ask) byArrival++;
    }
    // bookTicker and depth diffs share one update-id sequence, so the book at
    // diff u must show the last bookTicker with u' <= u. Measured: 99.97%
    // (spot BTCUSDT, 2 rows where bookTicker skipped a change) to 100%.
    expect(rows).toBeGreaterThan(0.99 * arrivalOrder.length);
    expect(byId / rows).toBeGreaterThanOrEqual(0.995);
    // By arrival, the 100 ms-aggregated diff can lag or lead the bookTicker
    // stream by a message: measured 99.1% (spot) .. 99.7% (COIN-M).
    expect(byArrival / arrRows).toBeGreaterThanOrEqual(0.98);
  });
});
