/**
 * ws-capture importer on small crafted captures: every kind of bad input is
 * counted and survives; the book follows Binance's sync rules and never
 * papers over a break.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { WsCaptureImporter, importWsCapture, symbolFromCaptureName } from '../../src/import/wscapture.js';
import { BookSide, SyncedBook, type DepthDiff } from '../../src/import/depthbook.js';
import { newCounters } from '../../src/import/counters.js';
import { runImport } from '../../src/import/run.js';
import { Dataset } from '../../src/dataset/reader.js';
import { RecordingSink, T0, bookTickerMsg, diffMsg, line, snapshotMsg, tmpDir, tradeMsg, writeGz } from './helpers.js';

const tmp = tmpDir('wscap');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let seq = 0;
/** Each fixture in its own folder so file names (which carry symbols) stay as given. */
const file = (name: string, lines: readonly string[]) => {
  const dir = path.join(tmp, String(seq++));
  fs.mkdirSync(dir);
  return writeGz(path.join(dir, name), lines);
};

/** Snapshot lastUpdateId=100 with bids 99/98, asks 101/102; then spot diffs 95..105 (stale), 96..110 straddles 101. */
function spotBook(sym = 'BTCUSDT'): string[] {
  return [
    line(T0, diffMsg(sym, 90, 95, [['99', '1']], [], T0 + 1)),
    line(
      T0 + 5,
      snapshotMsg(
        100,
        [
          ['99', '1'],
          ['98', '2'],
        ],
        [
          ['101', '1'],
          ['102', '2'],
        ],
      ),
    ),
    line(T0 + 10, diffMsg(sym, 96, 110, [['99', '1.5']], [], T0 + 11)),
    line(T0 + 20, diffMsg(sym, 111, 115, [], [['101', '0']], T0 + 21)),
    line(T0 + 30, diffMsg(sym, 116, 120, [['99.5', '3']], [], T0 + 31)),
  ];
}

describe('ws-capture line parsing and mapping', () => {
  it('maps @trade (raw id into agg/first/last), @aggTrade, bookTicker; floors ns to ms exactly', async () => {
    const sink = new RecordingSink();
    const f = file('btcusdt_20240808.gz', [
      `1723161253937999999 ${JSON.stringify(tradeMsg('BTCUSDT', 7, '61837.63', '0.02', T0))}`,
      line(T0 + 1, {
        stream: 'btcusdt@aggTrade',
        data: {
          e: 'aggTrade',
          E: T0 + 3,
          s: 'BTCUSDT',
          a: 50,
          p: '61837.64',
          q: '0.5',
          f: 8,
          l: 10,
          T: T0 + 2,
          m: false,
        },
      }),
      line(T0 + 2, bookTickerMsg('BTCUSDT', 1000, '61837.63', '3.7', '61837.64', '1.5')),
      line(
        T0 + 3,
        bookTickerMsg('BTCUSDT', 1001, '61837.63', '3.6', '61837.64', '1.5', {
          e: 'bookTicker',
          T: T0 + 9,
          E: T0 + 10,
        }),
      ),
    ]);
    const c = await importWsCapture([f], sink);
    expect(sink.trades).toEqual([
      {
        symbol: 'BTCUSDT',
        recv: 1723161253937,
        ts: T0,
        ev: T0 + 1,
        id: 7,
        price: 61837.63,
        qty: 0.02,
        m: 1,
        first: 7,
        last: 7,
      },
      {
        symbol: 'BTCUSDT',
        recv: T0 + 1,
        ts: T0 + 2,
        ev: T0 + 3,
        id: 50,
        price: 61837.64,
        qty: 0.5,
        m: 0,
        first: 8,
        last: 10,
      },
    ]);
    // spot bookTicker has no exchange time: ts = recv; futures: T
    expect(sink.quotes.map((q) => [q.recv, q.ts, q.u])).toEqual([
      [T0 + 2, T0 + 2, 1000],
      [T0 + 3, T0 + 9, 1001],
    ]);
    expect(c.messages).toEqual({ trade: 1, aggTrade: 1, bookTicker: 2 });
    expect(c.recv_ts_ms_range).toEqual([1723161253937, T0 + 3]);
    expect(c.event_ts_ms_range).toEqual([T0 + 1, T0 + 10]);
  });

  it('counts malformed JSON, missing timestamps, empty and unrecognised lines, unknown streams; keeps going', async () => {
    const sink = new RecordingSink();
    const f = file('mixed.gz', [
      line(T0, tradeMsg('BTCUSDT', 1, '100', '1', T0)),
      `${T0}000000 {"stream":"btcusdt@trade","data":{"t":2,`,
      JSON.stringify(tradeMsg('BTCUSDT', 3, '100', '1', T0)),
      `abc ${JSON.stringify(tradeMsg('BTCUSDT', 4, '100', '1', T0))}`,
      '',
      line(T0 + 1, { result: null, id: 1 }),
      line(T0 + 2, { stream: 'btcusdt@kline_1m', data: { k: {} } }),
      line(T0 + 3, { stream: 'btcusdt@kline_1m', data: { k: {} } }),
      line(T0 + 4, { stream: 'ethusdt@markPrice', data: {} }),
      line(T0 + 5, tradeMsg('BTCUSDT', 5, '100', '1', T0 + 5)),
    ]);
    const c = await importWsCapture([f], sink);
    expect(c.lines).toBe(10);
    expect(c.lines_malformed_json).toBe(1);
    expect(c.lines_no_timestamp).toBe(2);
    expect(c.lines_empty).toBe(1);
    expect(c.lines_unrecognized).toBe(1);
    expect(c.unknown_streams).toEqual({ 'btcusdt@kline_1m': 2, 'ethusdt@markPrice': 1 });
    expect(sink.trades.map((t) => t.id)).toEqual([1, 5]);
    expect(c.trade_id_gaps).toBe(1);
    expect(c.trade_ids_missing).toBe(3);
  });

  it('rejects negative / NaN / zero prices and quantities by reason, and ids >= 2^53', async () => {
    const sink = new RecordingSink();
    const f = file('bad.gz', [
      line(T0, tradeMsg('BTCUSDT', 1, '100', '-1', T0)),
      line(T0, tradeMsg('BTCUSDT', 2, 'NaN', '1', T0)),
      line(T0, tradeMsg('BTCUSDT', 3, '100', '0', T0)),
      line(T0, tradeMsg('BTCUSDT', 4, '', '1', T0)),
      `${T0}000000 {"stream":"btcusdt@trade","data":{"e":"trade","E":${T0},"s":"BTCUSDT","t":9007199254740993,"p":"1","q":"1","T":${T0},"m":true}}`,
      line(T0, tradeMsg('BTCUSDT', 5, '100', '1', T0, { T: 'x' })),
      line(T0, bookTickerMsg('BTCUSDT', 10, '100', '-2', '101', '1')),
      line(T0, bookTickerMsg('BTCUSDT', 11, '0', '2', '101', '1')),
      line(T0, diffMsg('BTCUSDT', 1, 2, [['100', 'NaN']], [], T0)),
      line(T0, tradeMsg('BTCUSDT', 6, '100', '1', T0)),
    ]);
    const c = await importWsCapture([f], sink);
    expect(c.bad_rows).toEqual({
      trade_qty: 2,
      trade_price: 2,
      id_unsafe: 1,
      trade_ts: 1,
      quote_qty: 1,
      quote_price: 1,
      depth_level: 1,
    });
    expect(sink.trades.map((t) => t.id)).toEqual([6]);
    expect(sink.quotes).toHaveLength(0);
  });

  it('keeps crossed bookTickers and counts them', async () => {
    const sink = new RecordingSink();
    const f = file('crossed.gz', [
      line(T0, bookTickerMsg('BTCUSDT', 10, '101', '1', '100', '1')),
      line(T0, bookTickerMsg('BTCUSDT', 11, '100', '1', '100', '1')),
      line(T0, bookTickerMsg('BTCUSDT', 12, '99', '1', '100', '1')),
    ]);
    const c = await importWsCapture([f], sink);
    expect(c.crossed_quotes).toBe(2);
    expect(sink.quotes.map((q) => q.u)).toEqual([10, 11, 12]);
  });

  it('drops duplicated lines (trade, bookTicker, depth diff) as re-deliveries without breaking the book', async () => {
    const sink = new RecordingSink();
    const lines = spotBook();
    const dupDiff = lines[3];
    const f = file('dup.gz', [
      ...lines.slice(0, 4),
      dupDiff,
      lines[4],
      line(T0 + 40, tradeMsg('BTCUSDT', 1, '100', '1', T0 + 40)),
      line(T0 + 40, tradeMsg('BTCUSDT', 1, '100', '1', T0 + 40)),
      line(T0 + 41, bookTickerMsg('BTCUSDT', 121, '99.5', '3', '102', '2')),
      line(T0 + 41, bookTickerMsg('BTCUSDT', 121, '99.5', '3', '102', '2')),
    ]);
    const c = await importWsCapture([f], sink);
    expect(c.trades_duplicate).toBe(1);
    expect(c.quotes_duplicate).toBe(1);
    expect(c.depth_diffs_duplicate).toBe(1);
    expect(c.depth_seq_breaks).toBe(0);
    expect(sink.trades).toHaveLength(1);
    expect(sink.quotes).toHaveLength(1);
    expect(sink.depths.map((d) => d.u)).toEqual([110, 115, 120]);
  });

  it('drops futures trades that are not MARKET, counted by X, without counting an id gap', async () => {
    const sink = new RecordingSink();
    const f = file('x.gz', [
      line(T0, tradeMsg('BTCUSDT', 1, '100', '1', T0, { X: 'MARKET' })),
      line(T0, tradeMsg('BTCUSDT', 2, '100', '1', T0, { X: 'INSURANCE_FUND' })),
      line(T0, tradeMsg('BTCUSDT', 3, '100', '1', T0, { X: 'ADL' })),
      line(T0, tradeMsg('BTCUSDT', 4, '100', '1', T0, { X: 'NA' })),
      line(T0, tradeMsg('BTCUSDT', 5, '100', '1', T0, { X: 'MARKET', m: undefined })),
    ]);
    const c = await importWsCapture([f], sink);
    expect(c.trades_dropped_non_market).toEqual({ INSURANCE_FUND: 1, ADL: 1, NA: 1 });
    expect(c.trade_id_gaps).toBe(0);
    expect(sink.trades.map((t) => [t.id, t.m])).toEqual([
      [1, 1],
      [5, -1],
    ]);
    expect(c.trades_side_unknown).toBe(1);
  });

  it('keeps rows read before a truncated gzip, warns, and counts the damaged file and dropped tail', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(line(T0 + i, tradeMsg('BTCUSDT', i + 1, '100', '1', T0 + i)));
    const gz = zlib.gzipSync(Buffer.from(`${lines.join('\n')}\n`));
    const f = path.join(tmp, 'trunc.gz');
    fs.writeFileSync(f, gz.subarray(0, Math.floor(gz.length * 0.6)));
    const warnings: string[] = [];
    const sink = new RecordingSink();
    const c = await importWsCapture([f], sink, { onWarning: (w) => warnings.push(w) });
    expect(c.files_damaged).toBe(1);
    expect(c.lines_truncated).toBe(1);
    expect(c.lines_malformed_json).toBe(0);
    expect(sink.trades.length).toBeGreaterThan(100);
    expect(sink.trades.length).toBeLessThan(3000);
    // every row kept is whole and in order
    sink.trades.forEach((t, i) => expect(t.id).toBe(i + 1));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/trunc\.gz: compressed stream damaged/);
    expect(c.warnings).toEqual(warnings);
  });

  it('reads plain-text captures too (container sniffed from the bytes)', async () => {
    const f = path.join(tmp, 'plain.txt');
    fs.writeFileSync(
      f,
      [line(T0, tradeMsg('BTCUSDT', 1, '100', '1', T0)), line(T0, tradeMsg('BTCUSDT', 2, '100', '1', T0))].join('\r\n'),
    );
    const sink = new RecordingSink();
    const c = await importWsCapture([f], sink);
    expect(sink.trades.map((t) => t.id)).toEqual([1, 2]);
    expect(c.lines_malformed_json).toBe(0);
  });
});

describe('depth book sync (spot and futures rules)', () => {
  it('spot: buffers pre-snapshot diffs, drops stale, applies the straddling one, emits top-N after each diff', async () => {
    const sink = new RecordingSink();
    const c = await importWsCapture([file('btcusdt_20240808.gz', spotBook())], sink, { depthLevels: 3 });
    expect(c.depth_diffs).toBe(4);
    expect(c.depth_diffs_stale).toBe(1);
    expect(c.depth_diffs_applied).toBe(3);
    expect(c.depth_seq_breaks).toBe(0);
    expect(sink.depths).toEqual([
      // the diff buffered before the snapshot (u=95) is stale; the first applied one straddles lastUpdateId+1 = 101
      {
        symbol: 'BTCUSDT',
        recv: T0 + 10,
        ts: T0 + 11,
        u: 110,
        bids: [
          [99, 1.5],
          [98, 2],
        ],
        asks: [
          [101, 1],
          [102, 2],
        ],
      },
      {
        symbol: 'BTCUSDT',
        recv: T0 + 20,
        ts: T0 + 21,
        u: 115,
        bids: [
          [99, 1.5],
          [98, 2],
        ],
        asks: [[102, 2]],
      },
      {
        symbol: 'BTCUSDT',
        recv: T0 + 30,
        ts: T0 + 31,
        u: 120,
        bids: [
          [99.5, 3],
          [99, 1.5],
          [98, 2],
        ],
        asks: [[102, 2]],
      },
    ]);
  });

  it('rows for diffs buffered before the snapshot carry the snapshot arrival time', async () => {
    const sink = new RecordingSink();
    const sym = 'BTCUSDT';
    await importWsCapture(
      [
        file('buffered.gz', [
          line(T0, diffMsg(sym, 96, 110, [['99', '1.5']], [], T0 + 1)),
          line(T0 + 3, diffMsg(sym, 111, 112, [['97', '1']], [], T0 + 4)),
          line(T0 + 50, snapshotMsg(100, [['99', '1']], [['101', '1']])),
          line(T0 + 60, diffMsg(sym, 113, 114, [['97', '0']], [], T0 + 61)),
        ]),
      ],
      sink,
    );
    expect(sink.depths.map((d) => [d.recv, d.ts, d.u])).toEqual([
      [T0 + 50, T0 + 1, 110],
      [T0 + 50, T0 + 4, 112],
      [T0 + 60, T0 + 61, 114],
    ]);
  });

  it('a sequence break is counted, the book goes unsynced and no depth row follows (no second snapshot)', async () => {
    const sink = new RecordingSink();
    const lines = [
      ...spotBook(),
      line(T0 + 40, diffMsg('BTCUSDT', 125, 130, [['99.6', '1']], [], T0 + 41)), // gap: expected U=121
      line(T0 + 50, diffMsg('BTCUSDT', 131, 135, [['99.7', '1']], [], T0 + 51)),
      line(T0 + 60, diffMsg('BTCUSDT', 136, 140, [['99.8', '1']], [], T0 + 61)),
    ];
    const warnings: string[] = [];
    const c = await importWsCapture([file('break.gz', lines)], sink, { onWarning: (w) => warnings.push(w) });
    expect(c.depth_seq_breaks).toBe(1);
    expect(c.depth_diffs_dropped_unsynced).toBe(3);
    expect(sink.depths.map((d) => d.u)).toEqual([110, 115, 120]);
    expect(c.depth_diffs).toBe(
      c.depth_diffs_applied + c.depth_diffs_stale + c.depth_diffs_duplicate + c.depth_diffs_dropped_unsynced,
    );
    expect(warnings.join('\n')).toMatch(/BTCUSDT: 3 depth diffs never applied/);
  });

  it('resyncs from a later snapshot after a break', async () => {
    const sink = new RecordingSink();
    const lines = [
      ...spotBook(),
      line(T0 + 40, diffMsg('BTCUSDT', 125, 130, [['99.6', '1']], [], T0 + 41)),
      line(T0 + 50, snapshotMsg(128, [['99.6', '1']], [['102', '2']])),
      line(T0 + 60, diffMsg('BTCUSDT', 131, 135, [['99.7', '1']], [], T0 + 61)),
    ];
    const c = await importWsCapture([file('resync.gz', lines)], sink);
    expect(c.depth_seq_breaks).toBe(1);
    expect(c.depth_snapshots).toBe(2);
    expect(sink.depths.map((d) => d.u)).toEqual([110, 115, 120, 130, 135]);
    expect(sink.depths[4].bids[0]).toEqual([99.7, 1]);
  });

  it('a snapshot older than the first diff (gap) is a break, not a silent start', async () => {
    const sink = new RecordingSink();
    const c = await importWsCapture(
      [
        file('old.gz', [
          line(T0, snapshotMsg(100, [['99', '1']], [['101', '1']])),
          line(T0 + 1, diffMsg('BTCUSDT', 105, 110, [], [], T0 + 1)),
        ]),
      ],
      sink,
    );
    expect(c.depth_seq_breaks).toBe(1);
    expect(sink.depths).toHaveLength(0);
  });

  it('futures: drops u < lastUpdateId, first diff has U <= lid <= u, then pu == prev u', async () => {
    const sink = new RecordingSink();
    const s = 'BTCUSDT';
    const lines = [
      line(T0, diffMsg(s, 80, 99, [['99', '5']], [], T0 + 1, 79)), // u < 100: stale
      line(T0 + 1, diffMsg(s, 95, 100, [['99', '6']], [], T0 + 2, 99)), // straddles: U <= 100 <= u (spot rule would drop it)
      line(T0 + 2, { lastUpdateId: 100, E: T0 + 2, T: T0 + 1, bids: [['99', '1']], asks: [['101', '1']] }),
      line(T0 + 3, diffMsg(s, 104, 107, [], [['101', '2']], T0 + 4, 100)), // pu == 100 although U != 101
      line(T0 + 4, diffMsg(s, 109, 112, [], [['101', '3']], T0 + 5, 108)), // pu != 107: break
    ];
    const c = await importWsCapture([file('btcusdt_20240808.gz', lines)], sink);
    expect(c.depth_diffs_stale).toBe(1);
    expect(c.depth_diffs_applied).toBe(2);
    expect(c.depth_seq_breaks).toBe(1);
    // futures depth rows use T (matching-engine time) = E - 1 in this fixture
    expect(sink.depths.map((d) => [d.u, d.ts, d.bids[0][1], d.asks[0][1]])).toEqual([
      [100, T0 + 1, 6, 1],
      [107, T0 + 3, 6, 2],
    ]);
  });

  it('repairs a crossed book by removing stale levels on the side that did not update', () => {
    const c = newCounters();
    const sink = new RecordingSink();
    const book = new SyncedBook('BTCUSDT', sink, c, 5);
    const f = (xs: number[]) => Float64Array.from(xs);
    book.onSnapshot(
      { lastUpdateId: 10, bidPx: f([100, 99]), bidQty: f([1, 1]), askPx: f([101, 102, 103]), askQty: f([1, 1, 1]) },
      T0,
    );
    const diff = (U: number, u: number, b: number[][], a: number[][]): DepthDiff => ({
      U,
      u,
      pu: NaN,
      tsMs: T0 + u,
      recvTsMs: T0 + u,
      bidPx: f(b.map((x) => x[0])),
      bidQty: f(b.map((x) => x[1])),
      askPx: f(a.map((x) => x[0])),
      askQty: f(a.map((x) => x[1])),
    });
    // a new bid at 102 (the bid side just updated): asks 101 and 102 are stale
    book.onDiff(diff(11, 11, [[102, 2]], []));
    expect(c.depth_crossed).toBe(1);
    expect(c.depth_crossed_levels_removed).toBe(2);
    expect(sink.depths[0].bids[0]).toEqual([102, 2]);
    expect(sink.depths[0].asks).toEqual([[103, 1]]);
    // a new ask at 99.5 (ask side updated): bids 102, 100 are stale
    book.onDiff(diff(12, 12, [], [[99.5, 4]]));
    expect(c.depth_crossed).toBe(2);
    expect(c.depth_crossed_levels_removed).toBe(4);
    expect(sink.depths[1].bids).toEqual([[99, 1]]);
    expect(sink.depths[1].asks[0]).toEqual([99.5, 4]);
  });

  it('continues book state and ids across files; a file without a snapshot still syncs from the previous one', async () => {
    const sink = new RecordingSink();
    const lines = spotBook();
    const f1 = file('btcusdt_20240808.gz', [
      ...lines.slice(0, 3),
      line(T0 + 10, tradeMsg('BTCUSDT', 1, '100', '1', T0 + 10)),
    ]);
    const f2 = file('btcusdt_20240809.gz', [
      ...lines.slice(3),
      line(T0 + 40, tradeMsg('BTCUSDT', 2, '100', '1', T0 + 40)),
    ]);
    const c = await importWsCapture([f1, f2], sink);
    expect(c.files).toBe(2);
    expect(c.depth_seq_breaks).toBe(0);
    expect(sink.depths.map((d) => d.u)).toEqual([110, 115, 120]);
    expect(c.trade_id_gaps).toBe(0);
  });

  it('attributes snapshots to the file symbol (file name when seen in the file, else the first stream symbol); books per symbol', async () => {
    const sink = new RecordingSink();
    const both = [
      line(T0, diffMsg('BTCUSDT', 96, 110, [['99', '2']], [], T0)),
      line(T0, diffMsg('ETHUSDT', 5000, 5010, [['9', '2']], [], T0)),
      line(T0 + 1, snapshotMsg(5005, [['9', '1']], [['11', '1']])), // ETH's snapshot: the file is named after ETHUSDT
      line(T0 + 2, diffMsg('ETHUSDT', 5011, 5012, [['9', '3']], [], T0 + 2)),
    ];
    const c = await importWsCapture([file('ethusdt_20240808.gz', both)], sink);
    expect(c.depth_seq_breaks).toBe(0);
    expect(sink.depths.map((d) => [d.symbol, d.u])).toEqual([
      ['ETHUSDT', 5010],
      ['ETHUSDT', 5012],
    ]);
    expect(c.depth_diffs_dropped_unsynced).toBe(1); // BTCUSDT never got a snapshot

    // a snapshot before any stream message waits for the first one
    const sink2 = new RecordingSink();
    const c2 = await importWsCapture(
      [file('capture.gz', [line(T0, snapshotMsg(100, [['99', '1']], [['101', '1']])), ...spotBook().slice(2)])],
      sink2,
    );
    expect(c2.depth_seq_breaks).toBe(0);
    expect(sink2.depths.map((d) => d.u)).toEqual([110, 115, 120]);
  });

  it('infers symbols from capture file names', () => {
    expect(symbolFromCaptureName('/x/btcusdt_20240808.gz')).toBe('BTCUSDT');
    expect(symbolFromCaptureName('btcusd_perp_20240809.gz')).toBe('BTCUSD_PERP');
    expect(symbolFromCaptureName('capture.gz')).toBeNull();
  });

  it('bounds the pre-snapshot buffer and counts overflow', async () => {
    const sink = new RecordingSink();
    const imp = new WsCaptureImporter(sink, { maxBufferedDiffs: 3 });
    for (let i = 0; i < 5; i++)
      imp.handleLine(line(T0 + i, diffMsg('BTCUSDT', 10 * i + 1, 10 * i + 10, [], [], T0 + i)));
    const c = imp.finish();
    expect(c.depth_buffer_overflow).toBe(2);
    expect(c.depth_diffs_dropped_unsynced).toBe(5);
  });
});

describe('BookSide against a Map oracle', () => {
  it('matches a slow reference over random updates (insert, update, delete, delete-missing), both sides', () => {
    let s = 12345;
    const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (const sign of [1, -1] as const) {
      const side = new BookSide(sign, 4);
      const ref = new Map<number, number>();
      for (let i = 0; i < 20000; i++) {
        const p = Math.round((100 + rnd() * 20) * 100) / 100;
        const q = rnd() < 0.35 ? 0 : Math.round(rnd() * 1000) / 100;
        side.set(p, q);
        if (q === 0) ref.delete(p);
        else ref.set(p, q);
        if (i % 997 === 0 || i === 19999) {
          const want = [...ref.entries()].sort((a, b) => (sign === 1 ? b[0] - a[0] : a[0] - b[0]));
          expect(side.levels()).toEqual(want);
          const px = new Float64Array(10);
          const qty = new Float64Array(10);
          const n = side.top(10, px, qty);
          expect(Array.from(px.subarray(0, n))).toEqual(want.slice(0, 10).map((x) => x[0]));
          expect(side.best()).toBe(want.length ? want[0][0] : NaN);
        }
      }
    }
  });
});

describe('ws-capture through runImport into a dataset', () => {
  it('writes the counters to manifest stats.import and the source inputs with sha256', async () => {
    const f = file('btcusdt_20240808.gz', [
      ...spotBook(),
      line(T0 + 40, tradeMsg('BTCUSDT', 1, '100', '-1', T0 + 40)),
      line(T0 + 41, tradeMsg('BTCUSDT', 2, '100', '1', T0 + 41)),
    ]);
    const out = path.join(tmp, 'ds-small');
    const r = await runImport({ format: 'ws-capture', inputs: [f], out, depthLevels: 2 });
    const m = new Dataset(out).manifest;
    expect(m.source).toEqual({
      type: 'ws-capture',
      inputs: [{ file: path.basename(f), sha256: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: fs.statSync(f).size }],
    });
    const st = m.stats.import as Record<string, unknown>;
    expect(st.bad_rows).toEqual({ trade_qty: 1 });
    expect(st.depth_diffs_applied).toBe(3);
    expect(m.rows.BTCUSDT).toEqual({ trades: 1, quotes: 0, depth: 3 });
    expect(m.depth_levels).toBe(2);
    expect(r.counters.rows).toEqual({ trades: 1, quotes: 0, depth: 3 });
  });
});
