/**
 * dq on a real capture (spot BTCUSDT, 2024-08-08, hftbacktest example data)
 * imported with `flowlab import --format ws-capture`. The recorder's clock is
 * about 1.27 s behind the exchange (SOURCE.md): dq must report that as skew,
 * and net latency must be small and positive.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../src/import/run.js';
import { runDq, type DqReport } from '../../src/dq/index.js';
import { REALDATA } from '../helpers/cli.js';

const FILE = path.join(REALDATA, 'spot/btcusdt_20240808.gz');
let tmp: string;
let report: DqReport;

beforeAll(async () => {
  if (!fs.existsSync(FILE)) throw new Error(`real capture missing: ${FILE}`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-dq-real-'));
  const ds = path.join(tmp, 'spot');
  await runImport({ format: 'ws-capture', inputs: [FILE], out: ds });
  report = await runDq(ds);
}, 60_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('dq on real spot BTCUSDT', () => {
  it('reports the recorder clock offset as skew, not as negative latency', () => {
    const l = report.summary.symbols.BTCUSDT.trades.latency;
    expect(l.samples).toBe(9757);
    expect(l.raw_ms!.p50).toBeLessThan(-1200); // recv - E is negative: not latency
    expect(Math.abs(l.skew_ms! - -1270)).toBeLessThanOrEqual(30);
    expect(l.skew_large).toBe(true);
    expect(l.net_ms!.p50).toBeGreaterThan(0);
    expect(l.net_ms!.p50).toBeLessThan(20);
    expect(l.net_ms!.p99).toBeGreaterThan(l.net_ms!.p50);
    expect(report.summary.warnings.some((w) => /BTCUSDT: trades clock skew -12\d\d ms/.test(w))).toBe(true);
  });

  it('spot bookTicker latency is not measurable; the trade stream is clean', () => {
    const s = report.summary.symbols.BTCUSDT;
    expect(s.quotes.ts_clock).toBe('recv');
    expect(s.quotes.latency.net_ms).toBeNull();
    expect(s.quotes.latency.reason).toMatch(/not measurable/);
    expect(s.rows.trades).toBe(9757);
    expect(s.rows.quotes).toBe(28040);
    // SOURCE.md: trade ids contiguous, no duplicates, no reordering; bookTicker u strictly increasing
    expect(s.trades.id_gaps).toEqual({ missing_ids: 0, events: 0 });
    expect(s.trades.duplicates.count).toBe(0);
    expect(s.trades.out_of_order.count).toBe(0);
    expect(s.quotes.duplicates.count).toBe(0);
    expect(s.quotes.out_of_order.count).toBe(0);
    expect(s.trades.bad_rows.count).toBe(0);
    expect(report.summary.verdict).toBe('PASS');
    expect(report.summary.hours.map((h) => h.file)).toEqual(['dq_20240808_23.json', 'dq_20240809_00.json']);
  });
});
