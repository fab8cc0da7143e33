/**
 * binance-vision importer on crafted public-data files: with and without
 * header, plain / zip (both zip layouts) / gzip, ms and µs timestamps.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Zip, ZipDeflate, strToU8, zipSync } from 'fflate';
import { importVision, parseVisionName, planFromFirstLine } from '../../src/import/vision.js';
import { runImport } from '../../src/import/run.js';
import { Dataset } from '../../src/dataset/reader.js';
import { FlowlabError, UsageError } from '../../src/core/errors.js';
import { RecordingSink, tmpDir } from './helpers.js';

const tmp = tmpDir('vision');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let seq = 0;
function put(name: string, data: string | Uint8Array): string {
  const dir = path.join(tmp, String(seq++));
  fs.mkdirSync(dir);
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
}
/** A zip written in one go (sizes in the local header). */
const zipOf = (entry: string, text: string) => zipSync({ [entry]: strToU8(text) });
/** A zip written as a stream (sizes only in a data descriptor after the data). */
function streamedZipOf(entry: string, text: string): Uint8Array {
  const parts: Uint8Array[] = [];
  const z = new Zip((err, chunk) => {
    if (err) throw err;
    parts.push(chunk);
  });
  const e = new ZipDeflate(entry, { level: 6 });
  z.add(e);
  e.push(strToU8(text), true);
  z.end();
  return Buffer.concat(parts);
}

const MS = Date.UTC(2024, 7, 8, 0, 0, 0);
const US = Date.UTC(2025, 0, 1, 0, 0, 0) * 1000;

// spot aggTrades: no header, 8 columns, µs since 2025, True/False
const SPOT_AGG_US = [
  `4000000001,93000.01000000,0.00100000,5000000001,5000000003,${US + 1500},True,True`,
  `4000000002,93000.02000000,0.20000000,5000000004,5000000004,${US + 2999},False,True`,
  `4000000003,93000.03000000,0.30000000,5000000005,5000000006,${US + 1_000_000},True,True`,
].join('\n');
// futures aggTrades: header, 7 columns, ms, true/false
const FUT_AGG_MS = [
  'agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker',
  `100,61800.30,0.006,200,201,${MS + 1},false`,
  `101,61800.20,0.010,202,202,${MS + 2},true`,
  `103,61800.10,0.500,205,207,${MS + 5},true`,
].join('\n');
const FUT_BOOK = [
  'update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time',
  `5123107839020,61800.20,2.507,61800.30,2.510,${MS + 10},${MS + 12}`,
  `5123107839021,61800.20,2.400,61800.30,2.510,${MS + 11},${MS + 13}`,
  `5123107839021,61800.20,2.400,61800.30,2.510,${MS + 11},${MS + 13}`,
  `5123107839022,61800.40,1.000,61800.30,2.510,${MS + 14},${MS + 15}`,
].join('\r\n');

describe('binance-vision kinds, headers and timestamps', () => {
  it('spot aggTrades without header, µs timestamps converted to ms, plain csv', async () => {
    const f = put('BTCUSDT-aggTrades-2025-01-01.csv', `${SPOT_AGG_US}\n`);
    const sink = new RecordingSink();
    const c = await importVision([f], sink);
    const t0 = US / 1000;
    expect(sink.trades).toEqual([
      {
        symbol: 'BTCUSDT',
        recv: t0 + 1,
        ts: t0 + 1,
        ev: t0 + 1,
        id: 4000000001,
        price: 93000.01,
        qty: 0.001,
        m: 1,
        first: 5000000001,
        last: 5000000003,
      },
      {
        symbol: 'BTCUSDT',
        recv: t0 + 2,
        ts: t0 + 2,
        ev: t0 + 2,
        id: 4000000002,
        price: 93000.02,
        qty: 0.2,
        m: 0,
        first: 5000000004,
        last: 5000000004,
      },
      {
        symbol: 'BTCUSDT',
        recv: t0 + 1000,
        ts: t0 + 1000,
        ev: t0 + 1000,
        id: 4000000003,
        price: 93000.03,
        qty: 0.3,
        m: 1,
        first: 5000000005,
        last: 5000000006,
      },
    ]);
    expect(c.messages).toEqual({ aggTrades: 3 });
    expect(c.bad_rows).toEqual({});
  });

  it('futures aggTrades with header and ms timestamps, zipped (local-header sizes); counts the id gap', async () => {
    const f = put('BTCUSDT-aggTrades-2024-08-08.zip', zipOf('BTCUSDT-aggTrades-2024-08-08.csv', FUT_AGG_MS));
    const sink = new RecordingSink();
    const c = await importVision([f], sink);
    expect(sink.trades.map((t) => [t.id, t.ts, t.recv, t.m, t.first, t.last])).toEqual([
      [100, MS + 1, MS + 1, 0, 200, 201],
      [101, MS + 2, MS + 2, 1, 202, 202],
      [103, MS + 5, MS + 5, 1, 205, 207],
    ]);
    expect(c.trade_id_gaps).toBe(1);
    expect(c.trade_ids_missing).toBe(2);
    expect(c.lines).toBe(4);
  });

  it('futures bookTicker with header, streamed zip (data descriptor), --symbol for a bare name; duplicates and crossed counted', async () => {
    const f = put('book.zip', streamedZipOf('book.csv', FUT_BOOK));
    const sink = new RecordingSink();
    const c = await importVision([f], sink, { symbol: 'btcusdt' });
    expect(sink.quotes.map((q) => [q.symbol, q.u, q.ts, q.recv, q.bp, q.bq, q.ap, q.aq])).toEqual([
      ['BTCUSDT', 5123107839020, MS + 10, MS + 12, 61800.2, 2.507, 61800.3, 2.51],
      ['BTCUSDT', 5123107839021, MS + 11, MS + 13, 61800.2, 2.4, 61800.3, 2.51],
      ['BTCUSDT', 5123107839022, MS + 14, MS + 15, 61800.4, 1, 61800.3, 2.51],
    ]);
    expect(c.quotes_duplicate).toBe(1);
    expect(c.crossed_quotes).toBe(1);
  });

  it('headerless 7-column files: aggTrades vs bookTicker told apart by value shape; gzip csv accepted', async () => {
    const agg = FUT_AGG_MS.split('\n').slice(1).join('\n');
    const book = FUT_BOOK.split('\r\n').slice(1, 3).join('\n');
    const fa = put('agg.csv.gz', zlib.gzipSync(agg));
    const fb = put('book.csv', book);
    const sink = new RecordingSink();
    const c = await importVision([fa, fb], sink, { symbol: 'ETHUSDT' });
    expect(sink.trades).toHaveLength(3);
    expect(sink.quotes).toHaveLength(2);
    expect(c.files).toBe(2);
    expect(planFromFirstLine('x.csv', '1,2.5,3,4,5,1723161256322,false', 'BTCUSDT').kind).toBe('aggTrades');
    expect(planFromFirstLine('x.csv', '1,2.5,3,4,5,1723161256322,1723161256323', 'BTCUSDT').kind).toBe('bookTicker');
    expect(planFromFirstLine('x.csv', '1,2.5,3,4,1723161256322,true,true', 'BTCUSDT').kind).toBe('trades');
    expect(planFromFirstLine('x.csv', '1,2.5,3,4,1723161256322,true', 'BTCUSDT').kind).toBe('trades');
  });

  it('raw trades files map like @trade: agg_trade_id = first = last = id', async () => {
    const f = put(
      'ETHUSDT-trades-2024-08-08.csv',
      `id,price,qty,quote_qty,time,is_buyer_maker\n7,2500.5,1.5,3750.75,${MS + 3},true\n8,2500.6,0.5,1250.3,${MS + 4},false\n`,
    );
    const sink = new RecordingSink();
    await importVision([f], sink);
    expect(sink.trades.map((t) => [t.symbol, t.id, t.first, t.last, t.m])).toEqual([
      ['ETHUSDT', 7, 7, 7, 1],
      ['ETHUSDT', 8, 8, 8, 0],
    ]);
  });

  it('counts bad rows by reason and keeps the good ones', async () => {
    const rows = [
      `1,100,1,1,1,${MS},true,true`,
      `2,100,1,2,2,${MS}`, // too few columns
      `3,-5,1,3,3,${MS},true,true`,
      `4,100,NaN,4,4,${MS},true,true`,
      `5,100,1,5,5,${MS},maybe,true`,
      `6,100,1,6,6,12345,true,true`, // timestamp of no known unit
      `9007199254740993,100,1,7,7,${MS},true,true`,
      `8,100,1,9,8,${MS},true,true`, // first > last
      `9,100,1,9,9,${MS},false,true`,
    ];
    const f = put('SOLUSDT-aggTrades-2024-08-08.csv', rows.join('\n'));
    const sink = new RecordingSink();
    const c = await importVision([f], sink);
    expect(c.bad_rows).toEqual({
      csv_columns: 1,
      trade_price: 1,
      trade_qty: 1,
      trade_side: 1,
      trade_ts: 1,
      id_unsafe: 1,
      id_invalid: 1,
    });
    expect(sink.trades.map((t) => t.id)).toEqual([1, 9]);
  });

  it('a truncated zip keeps the rows before the damage and counts the file', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 20000; i++)
      lines.push(
        `${i + 1},${100 + (i % 7)},0.${(i % 9) + 1},${i + 1},${i + 1},${MS + i},${i % 2 ? 'true' : 'false'},true`,
      );
    const zip = zipOf('BTCUSDT-aggTrades-2024-08-08.csv', lines.join('\n'));
    const f = put('BTCUSDT-aggTrades-2024-08-08.zip', zip.subarray(0, Math.floor(zip.length / 2)));
    const sink = new RecordingSink();
    const warnings: string[] = [];
    const c = await importVision([f], sink, { onWarning: (w) => warnings.push(w) });
    expect(c.files_damaged).toBe(1);
    expect(sink.trades.length).toBeGreaterThan(1000);
    expect(sink.trades.length).toBeLessThan(20000);
    expect(c.trade_id_gaps).toBe(0);
    expect(warnings[0]).toMatch(/damaged/);
  });
});

describe('binance-vision symbol and kind inference', () => {
  it('parses Binance file names', () => {
    expect(parseVisionName('/d/BTCUSDT-aggTrades-2024-08-08.zip')).toEqual({ symbol: 'BTCUSDT', kind: 'aggTrades' });
    expect(parseVisionName('BTCUSD_PERP-bookTicker-2024-08.zip')).toEqual({
      symbol: 'BTCUSD_PERP',
      kind: 'bookTicker',
    });
    expect(parseVisionName('data.csv')).toBeNull();
  });

  it('refuses a file without an inferable symbol, a contradicting --symbol and an unknown header', async () => {
    const bare = put('data.csv', `1,100,1,1,1,${MS},true,true\n`);
    await expect(importVision([bare], new RecordingSink())).rejects.toThrow(UsageError);
    await expect(importVision([bare], new RecordingSink())).rejects.toThrow(/pass --symbol/);
    const named = put('BTCUSDT-aggTrades-2024-08-08.csv', `1,100,1,1,1,${MS},true,true\n`);
    await expect(importVision([named], new RecordingSink(), { symbol: 'ETHUSDT' })).rejects.toThrow(/contradicts/);
    const odd = put('BTCUSDT-aggTrades-2024-08-09.csv', 'open_time,open,high,low,close\n1,2,3,4,5\n');
    await expect(importVision([odd], new RecordingSink())).rejects.toThrow(FlowlabError);
    await expect(importVision([odd], new RecordingSink())).rejects.toThrow(/unrecognised header/);
  });

  it('imports into a dataset with recv = exchange time and the source in the manifest', async () => {
    const f1 = put('BTCUSDT-aggTrades-2024-08-08.zip', zipOf('BTCUSDT-aggTrades-2024-08-08.csv', FUT_AGG_MS));
    const f2 = put('BTCUSDT-bookTicker-2024-08-08.csv', FUT_BOOK);
    const out = path.join(tmp, 'vision-ds');
    const r = await runImport({ format: 'binance-vision', inputs: [f1, f2], out });
    const ds = new Dataset(out);
    expect(ds.manifest.rows.BTCUSDT).toEqual({ trades: 3, quotes: 3, depth: 0 });
    expect(ds.manifest.source).toMatchObject({
      type: 'binance-vision',
      inputs: [{ file: path.basename(f1) }, { file: path.basename(f2) }],
    });
    for await (const b of ds.stream('BTCUSDT', 'trades')) {
      if (b.kind !== 'trades') throw new Error('kind');
      expect(Array.from(b.recv_ts_ms)).toEqual(Array.from(b.ts_ms));
      expect(Array.from(b.recv_seq)).toEqual([0, 1, 2]); // file order
    }
    expect(r.counters.event_ts_ms_range).toEqual([MS + 1, MS + 15]);
  });
});
