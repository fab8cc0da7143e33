/**
 * Import throughput on the real spot BTCUSDT capture pair
 * (../shared/realdata/hftbacktest/spot/btcusdt_2024080{8,9}.gz, 99,574 lines):
 * - parse + book only, into a sink that drops rows (the importer's own cost);
 * - end to end into a Parquet dataset (gunzip, parse, book, DuckDB writes, hashes);
 * - the same ticks as Tardis.dev CSV files (trades, quotes, incremental_book_L2, written
 *   here from the capture), `--format tardis` end to end: CSV rows per second.
 * Best of `REPS` runs each.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RawSink } from '../src/core/types.js';
import { importWsCapture } from '../src/import/wscapture.js';
import { runImport } from '../src/import/run.js';
import { readLines } from '../src/import/lines.js';
import zlib from 'node:zlib';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SPOT = path.resolve(HERE, '../../shared/realdata/hftbacktest/spot');
const FILES = ['btcusdt_20240808.gz', 'btcusdt_20240809.gz'].map((f) => path.join(SPOT, f));
const REPS = 3;

const nullSink: RawSink = {
  trade() {},
  quote() {},
  depth() {},
};

/** The capture's trades, bookTickers, REST snapshot and depth diffs as Tardis CSV files (gzip) in `dir`; returns files and rows. */
async function writeTardis(dir: string): Promise<{ files: string[]; rows: number }> {
  const trades = ['exchange,symbol,timestamp,local_timestamp,id,side,price,amount'];
  const quotes = ['exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount'];
  const l2 = ['exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount'];
  for (const f of FILES) {
    for await (const lines of readLines(f)) {
      for (const l of lines) {
        const sp = l.indexOf(' ');
        if (sp < 4) continue;
        const us = l.slice(0, sp - 3);
        const m = JSON.parse(l.slice(sp + 1));
        const d = m.data;
        if (m.lastUpdateId !== undefined) {
          for (const [p, q] of m.bids) l2.push(`binance,BTCUSDT,${us},${us},true,bid,${p},${q}`);
          for (const [p, q] of m.asks) l2.push(`binance,BTCUSDT,${us},${us},true,ask,${p},${q}`);
        } else if (m.stream?.endsWith('@trade'))
          trades.push(`binance,${d.s},${d.T * 1000},${us},${d.t},${d.m ? 'sell' : 'buy'},${d.p},${d.q}`);
        else if (m.stream?.endsWith('@bookTicker'))
          quotes.push(`binance,${d.s},${us},${us},${d.A},${d.a},${d.b},${d.B}`);
        else if (m.stream?.includes('@depth')) {
          for (const [p, q] of d.b) l2.push(`binance,${d.s},${d.E * 1000},${us},false,bid,${p},${q}`);
          for (const [p, q] of d.a) l2.push(`binance,${d.s},${d.E * 1000},${us},false,ask,${p},${q}`);
        }
      }
    }
  }
  const files: string[] = [];
  for (const [name, rows] of [
    ['trades', trades],
    ['quotes', quotes],
    ['incremental_book_L2', l2],
  ] as const) {
    const file = path.join(dir, `binance_${name}_2024-08-08_BTCUSDT.csv.gz`);
    fs.writeFileSync(file, zlib.gzipSync(`${rows.join('\n')}\n`));
    files.push(file);
  }
  return { files, rows: trades.length + quotes.length + l2.length - 3 };
}

export async function benchImport(): Promise<{ name: string; value: number; unit: string }[]> {
  for (const f of FILES) if (!fs.existsSync(f)) throw new Error(`bench input missing: ${f}`);
  let lines = 0;
  let bestParse = Infinity;
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    const c = await importWsCapture(FILES, nullSink);
    bestParse = Math.min(bestParse, performance.now() - t0);
    lines = c.lines;
  }
  let bestFull = Infinity;
  for (let i = 0; i < REPS; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-bench-import-'));
    try {
      const t0 = performance.now();
      await runImport({ format: 'ws-capture', inputs: FILES, out: path.join(dir, 'ds') });
      bestFull = Math.min(bestFull, performance.now() - t0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const tdir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-bench-tardis-'));
  let bestTardis = Infinity;
  let tardisRows = 0;
  try {
    const { files, rows } = await writeTardis(tdir);
    tardisRows = rows;
    for (let i = 0; i < REPS; i++) {
      const out = path.join(tdir, `ds${i}`);
      const t0 = performance.now();
      await runImport({ format: 'tardis', inputs: files, out });
      bestTardis = Math.min(bestTardis, performance.now() - t0);
    }
  } finally {
    fs.rmSync(tdir, { recursive: true, force: true });
  }
  return [
    {
      name: 'import ws-capture spot BTCUSDT: parse + book (null sink)',
      value: (lines / bestParse) * 1000,
      unit: 'lines/s',
    },
    {
      name: 'import ws-capture spot BTCUSDT: end to end to Parquet',
      value: (lines / bestFull) * 1000,
      unit: 'lines/s',
    },
    {
      name: `import tardis (same ticks, ${tardisRows} CSV rows): end to end`,
      value: (tardisRows / bestTardis) * 1000,
      unit: 'rows/s',
    },
  ];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const r of await benchImport()) process.stdout.write(`${r.name.padEnd(60)} ${Math.round(r.value)} ${r.unit}\n`);
}
