/**
 * dq edge cases: null fields and bad times (injected into Parquet), edge
 * minutes, kinds missing, too few latency samples, empty dataset.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetWriter } from '../../src/dataset/writer.js';
import { MANIFEST_FILE } from '../../src/dataset/manifest.js';
import { duck, sqlString } from '../../src/io/duck.js';
import { runDq, type DqReport } from '../../src/dq/index.js';
import { sha256File } from '../../src/core/hash.js';

const T = Date.UTC(2024, 0, 1, 0, 0, 0);
let tmp: string;
let ds: string;
let report: DqReport;

/** Rewrite one Parquet file through DuckDB with `select` (e.g. injecting NULLs the writer cannot produce). */
async function rewrite(file: string, select: string): Promise<void> {
  const conn = await duck();
  const tmpFile = `${file}.rewrite`;
  await conn.run(
    `COPY (SELECT ${select} FROM read_parquet(${sqlString(file)})) TO ${sqlString(tmpFile)} (FORMAT parquet)`,
  );
  conn.closeSync();
  fs.renameSync(tmpFile, file);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-dq-edge-'));
  ds = path.join(tmp, 'edge');
  const w = new DatasetWriter(ds, { rotateSec: 3600 });
  // SOLUSDT: trades 00:00:10 .. 00:03:29, quotes 00:00:05 .. 00:04:00 (exchange time), latency 10 ms, no skew
  for (let i = 0; i < 240; i++) {
    const e = T + 5_000 + i * 1000;
    if (i >= 5 && i < 205) {
      const id = i - 4; // 1..200
      const ts = id === 70 ? 0 : e; // bad time: no hour
      w.trade('SOLUSDT', e + 10, ts, e, id, 100, 1, 0, id, id);
    }
    w.quote('SOLUSDT', e + 10, e, 1_000 + i, 99.9, 1, 100.1, 1);
  }
  w.quote('SOLUSDT', T + 240_500 + 10, T + 240_500, 2_000, 99.9, 1, 100.1, 1); // 00:04:00.5
  // ADAUSDT: quotes only
  for (let i = 0; i < 150; i++) w.quote('ADAUSDT', T + i * 1000 + 20, T + i * 1000, 10 + i, 0.5, 1, 0.51, 1);
  // DOTUSDT: depth only
  for (let i = 0; i < 5; i++)
    w.depth('DOTUSDT', T + i * 1000 + 20, T + i * 1000, 100 + i, [5, 4.9], [1, 1], 2, [5.1, 5.2], [1, 1], 2);
  const m = await w.close();
  const part = m.files.find((f) => f.symbol === 'SOLUSDT' && f.kind === 'trades')!;
  await rewrite(
    path.join(ds, part.path),
    `* REPLACE (CASE WHEN agg_trade_id = 50 THEN NULL ELSE price END AS price, CASE WHEN agg_trade_id = 60 THEN 'XXX' ELSE symbol END AS symbol)`,
  );
  // the manifest describes the rewritten file (dq checks every part's sha256 against it)
  const mf = path.join(ds, MANIFEST_FILE);
  const mj = JSON.parse(fs.readFileSync(mf, 'utf8'));
  const entry = mj.files.find((f: { path: string }) => f.path === part.path);
  entry.sha256 = await sha256File(path.join(ds, part.path));
  entry.bytes = fs.statSync(path.join(ds, part.path)).size;
  fs.writeFileSync(mf, JSON.stringify(mj, null, 2));
  report = await runDq(ds);
}, 60_000);

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('dq edge cases', () => {
  it('null fields, symbol mismatch and non-positive times are bad rows; a row without a time belongs to no hour', () => {
    const s = report.summary.symbols.SOLUSDT;
    expect(s.trades.rows).toBe(200);
    expect(s.trades.bad_rows).toEqual({
      count: 3,
      rate: 3 / 200,
      null_fields: 1,
      bad_price: 0,
      bad_qty: 0,
      bad_time: 1,
      symbol_mismatch: 1,
      foreign_parts: 0,
    });
    expect(report.hours).toHaveLength(1);
    expect(report.hours[0].symbols.SOLUSDT.trades.rows).toBe(199);
    expect(s.trades.id_gaps).toEqual({ missing_ids: 0, events: 0 });
    expect(s.trades.duplicates.count).toBe(0);
  });

  it('a partly recorded edge minute without rows of a kind is left out, not counted empty', () => {
    const s = report.summary.symbols.SOLUSDT;
    // symbol span 00:00..00:04 (quotes reach 00:04:00.5); trades end 00:03:29
    expect(s.trades.empty_buckets).toEqual({
      clock: 'exchange',
      minutes: 4,
      empty_minutes: 0,
      edges_excluded: 1,
      rate: 0,
    });
    expect(s.quotes.empty_buckets).toEqual({
      clock: 'exchange',
      minutes: 5,
      empty_minutes: 0,
      edges_excluded: 0,
      rate: 0,
    });
  });

  it('small skew is not flagged; net latency of a constant latency is 0', () => {
    const l = report.summary.symbols.SOLUSDT.trades.latency;
    expect(l.skew_ms).toBe(10);
    expect(l.skew_large).toBe(false);
    expect(l.net_ms).toEqual({ p50: 0, p90: 0, p99: 0 });
    expect(report.summary.symbols.SOLUSDT.warnings.some((w) => w.includes('skew'))).toBe(false);
  });

  it('a kind with no rows gives null figures with a reason and n/a checks, never a pass', () => {
    const a = report.summary.symbols.ADAUSDT;
    expect(a.trades.empty_buckets.rate).toBeNull();
    expect(a.trades.empty_buckets.reason).toBe('no trade rows for this symbol in the dataset');
    expect(a.trades.duplicates).toEqual({ count: 0, rate: null, reason: 'no trade rows in scope' });
    expect(a.trades.latency.reason).toBe('no trade rows for this symbol in the dataset');
    const st = Object.fromEntries(a.checks.map((c) => [c.name, c.status]));
    expect(st.trades_empty_buckets).toBe('n/a');
    expect(st.trades_dup_rate).toBe('n/a');
    expect(st.trades_latency_p99_net).toBe('n/a');
    expect(st.quotes_latency_p99_net).toBe('pass');
    expect(a.verdict).toBe('PASS');
  });

  it('a symbol with nothing checkable is N/A, and alone it fails the run', async () => {
    expect(report.summary.symbols.DOTUSDT.verdict).toBe('N/A');
    expect(report.summary.warnings).toContain('DOTUSDT: nothing verified (every check n/a)');
    expect(report.summary.verdict).toBe('PASS');
    const only = await runDq(ds, { symbols: ['DOTUSDT'] });
    expect(only.summary.verdict).toBe('FAIL');
    expect(only.summary.verdict_reason).toBe('no computable check (8 n/a): nothing was verified');
  });

  it('too few latency samples: null with a reason', async () => {
    const r = await runDq(ds, { symbols: ['SOLUSDT'], minLatencySamples: 500 });
    const l = r.summary.symbols.SOLUSDT.trades.latency;
    expect(l.samples).toBe(200);
    expect(l.net_ms).toBeNull();
    expect(l.reason).toBe('only 200 latency samples in scope (need >= 500 for p99 and the skew quantile)');
    expect(r.summary.symbols.SOLUSDT.checks.find((c) => c.name === 'trades_latency_p50_net')!.status).toBe('n/a');
  });

  it('an empty dataset runs and fails: no data', async () => {
    const empty = path.join(tmp, 'empty');
    await new DatasetWriter(empty).close();
    const r = await runDq(empty);
    expect(r.hours).toEqual([]);
    expect(r.summary.symbols).toEqual({});
    expect(r.summary.verdict).toBe('FAIL');
    expect(r.summary.verdict_reason).toBe('no data in scope');
    expect(r.summary.scope).toEqual({ kind: 'summary', hour: null, from_ms: null, to_ms: null });
  });

  it('a missing part file is named', async () => {
    const broken = path.join(tmp, 'broken');
    fs.cpSync(ds, broken, { recursive: true });
    const m = JSON.parse(fs.readFileSync(path.join(broken, MANIFEST_FILE), 'utf8')) as { files: { path: string }[] };
    fs.rmSync(path.join(broken, m.files[0].path));
    await expect(runDq(broken)).rejects.toThrow(/part file '.*' listed in the manifest is missing/);
  });
});
