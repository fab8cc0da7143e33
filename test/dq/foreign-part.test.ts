/**
 * A part file whose every row carries another symbol in its own `symbol`
 * column (a file in the wrong partition, from a dataset written with the
 * in-file column) holds another symbol's data: the figures computed on it
 * verify nothing about the partition's symbol, so dq must not PASS. A part
 * with a few mismatched rows stays a bad-row warning (README: no DoD threshold).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/core/hash.js';
import { MANIFEST_FILE } from '../../src/dataset/manifest.js';
import { DatasetWriter } from '../../src/dataset/writer.js';
import { runDq } from '../../src/dq/index.js';
import { duck, sqlString } from '../../src/io/duck.js';

const T = Date.UTC(2024, 0, 1, 0, 0, 0);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-dq-foreign-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A clean 4-minute SOLUSDT + ADAUSDT dataset (every check passes); returns its folder. */
async function clean(name: string): Promise<string> {
  const ds = path.join(tmp, name);
  const w = new DatasetWriter(ds, { rotateSec: 3600 });
  for (const [k, sym] of ['SOLUSDT', 'ADAUSDT'].entries()) {
    for (let i = 0; i < 240; i++) {
      const e = T + 5_000 + i * 1000;
      w.trade(sym, e + 10, e, e, i + 1, 100 + k, 1, 0, i + 1, i + 1);
      w.quote(sym, e + 10, e, 1_000 + i, 99.9 + k, 1, 100.1 + k, 1);
    }
  }
  await w.close();
  return ds;
}

/** Rewrite the `symbol` column of the SOLUSDT trades part (`where` picks the rows) and fix the manifest's sha256. */
async function relabel(ds: string, where: string): Promise<void> {
  const mf = path.join(ds, MANIFEST_FILE);
  const mj = JSON.parse(fs.readFileSync(mf, 'utf8'));
  const entry = mj.files.find((f: { symbol: string; kind: string }) => f.symbol === 'SOLUSDT' && f.kind === 'trades');
  const file = path.join(ds, entry.path);
  const conn = await duck();
  await conn.run(
    `COPY (SELECT * REPLACE (CASE WHEN ${where} THEN 'BTCUSDT' ELSE 'SOLUSDT' END AS symbol) FROM read_parquet(${sqlString(file)}))
     TO ${sqlString(`${file}.rw`)} (FORMAT parquet)`,
  );
  conn.closeSync();
  fs.renameSync(`${file}.rw`, file);
  entry.sha256 = await sha256File(file);
  entry.bytes = fs.statSync(file).size;
  fs.writeFileSync(mf, JSON.stringify(mj, null, 2));
}

let control: Awaited<ReturnType<typeof runDq>>;
let foreign: Awaited<ReturnType<typeof runDq>>;
let partial: Awaited<ReturnType<typeof runDq>>;

beforeAll(async () => {
  control = await runDq(await clean('control'));
  const f = await clean('foreign');
  await relabel(f, 'true');
  foreign = await runDq(f);
  const p = await clean('partial');
  await relabel(p, 'agg_trade_id = 7');
  partial = await runDq(p);
}, 60_000);

describe('dq: a part file of another symbol', () => {
  it('control: the clean dataset passes', () => {
    expect(control.summary.verdict).toBe('PASS');
    expect(control.summary.symbols.SOLUSDT.verdict).toBe('PASS');
    expect(control.summary.symbols.SOLUSDT.trades.bad_rows.foreign_parts).toBe(0);
  });

  it('every row of the SOLUSDT trades part says BTCUSDT: SOLUSDT and the dataset FAIL, saying why', () => {
    const s = foreign.summary.symbols.SOLUSDT;
    expect(s.trades.bad_rows.symbol_mismatch).toBe(240);
    expect(s.trades.bad_rows.foreign_parts).toBe(1);
    expect(s.verdict).toBe('FAIL');
    expect(foreign.summary.symbols.ADAUSDT.verdict).toBe('PASS');
    expect(foreign.summary.verdict).toBe('FAIL');
    expect(foreign.summary.verdict_reason).toMatch(
      /SOLUSDT trades: 1 part file whose every row has another symbol \(symbol_mismatch\)/,
    );
    expect(s.warnings.join('\n')).toMatch(/trades: 1 part file whose every row has another symbol/);
    // the hour the part covers fails too
    expect(foreign.hours.map((h) => h.verdict)).toEqual(['FAIL']);
    expect(foreign.hours[0].symbols.SOLUSDT.trades.bad_rows.foreign_parts).toBe(1);
  });

  it('one mismatched row is a bad row (warning), not a foreign part: the verdict stands', () => {
    const s = partial.summary.symbols.SOLUSDT;
    expect(s.trades.bad_rows.symbol_mismatch).toBe(1);
    expect(s.trades.bad_rows.foreign_parts).toBe(0);
    expect(s.verdict).toBe('PASS');
    expect(partial.summary.verdict).toBe('PASS');
  });
});
