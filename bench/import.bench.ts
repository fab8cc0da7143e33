/**
 * Import throughput on the real spot BTCUSDT capture pair
 * (../shared/realdata/hftbacktest/spot/btcusdt_2024080{8,9}.gz, 99,574 lines):
 * - parse + book only, into a sink that drops rows (the importer's own cost);
 * - end to end into a Parquet dataset (gunzip, parse, book, DuckDB writes, hashes).
 * Best of `REPS` runs each, lines per second.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RawSink } from '../src/core/types.js';
import { importWsCapture } from '../src/import/wscapture.js';
import { runImport } from '../src/import/run.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SPOT = path.resolve(HERE, '../../shared/realdata/hftbacktest/spot');
const FILES = ['btcusdt_20240808.gz', 'btcusdt_20240809.gz'].map((f) => path.join(SPOT, f));
const REPS = 3;

const nullSink: RawSink = {
  trade() {},
  quote() {},
  depth() {},
};

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
  ];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const r of await benchImport()) process.stdout.write(`${r.name.padEnd(60)} ${Math.round(r.value)} ${r.unit}\n`);
}
