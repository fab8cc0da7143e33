/**
 * dq on a crafted dataset with known defects (see ./fixture.ts): exact
 * figures, skew and latency against a reference quantile, verdicts, hourly
 * files, determinism.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixture, quantile, SKEW, type Expected } from './fixture.js';
import {
  DEFAULT_DQ_THRESHOLDS,
  dqJson,
  runDq,
  writeDqReport,
  type DqReport,
  type LatencyFigure,
  type SymbolReport,
} from '../../src/dq/index.js';

let tmp: string;
let ds: string;
let exp: Expected;
let report: DqReport;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-dq-'));
  ds = path.join(tmp, 'fixture');
  exp = await buildFixture(ds);
  report = await runDq(ds);
}, 60_000);

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const H22 = 0;
const H23 = 1;
const sym = (r: { symbols: Record<string, SymbolReport> }, s: string): SymbolReport => r.symbols[s];
const check = (r: SymbolReport, name: string) => r.checks.find((c) => c.name === name)!;

/** Latency figure equals the reference: quantiles of raw, skew = q0.01, net = raw - skew. */
function expectLatency(l: LatencyFigure, raw: number[]): void {
  const skew = quantile(raw, 0.01);
  expect(l.samples).toBe(raw.length);
  expect(l.skew_ms).toBeCloseTo(skew, 3);
  expect(l.raw_ms!.p50).toBeCloseTo(quantile(raw, 0.5), 3);
  expect(l.raw_ms!.p90).toBeCloseTo(quantile(raw, 0.9), 3);
  expect(l.raw_ms!.p99).toBeCloseTo(quantile(raw, 0.99), 3);
  expect(l.net_ms!.p50).toBeCloseTo(quantile(raw, 0.5) - skew, 3);
  expect(l.net_ms!.p90).toBeCloseTo(quantile(raw, 0.9) - skew, 3);
  expect(l.net_ms!.p99).toBeCloseTo(quantile(raw, 0.99) - skew, 3);
}

describe('dq summary on the crafted fixture', () => {
  it('clean symbol: every figure zero, skew = constant offset + minimum latency, PASS', () => {
    const b = sym(report.summary, 'BTCUSDT');
    expect(b.rows).toEqual({ trades: 360, quotes: 360, depth: 0 });
    expect(b.trades.empty_buckets).toEqual({
      clock: 'exchange',
      minutes: 6,
      empty_minutes: 0,
      edges_excluded: 0,
      rate: 0,
    });
    expect(b.quotes.empty_buckets).toEqual({
      clock: 'exchange',
      minutes: 6,
      empty_minutes: 0,
      edges_excluded: 0,
      rate: 0,
    });
    expect(b.trades.duplicates).toEqual({ count: 0, rate: 0 });
    expect(b.trades.id_gaps).toEqual({ missing_ids: 0, events: 0 });
    expect(b.trades.out_of_order).toEqual({ count: 0, rate: 0 });
    expect(b.quotes.ts_clock).toBe('exchange');
    // skew: recorder clock 1300 ms behind, minimum latency 5 ms -> about -1295 (the documented bias)
    expect(b.trades.latency.skew_ms).toBe(-1295);
    expect(Math.abs(b.trades.latency.skew_ms! - SKEW)).toBeLessThanOrEqual(10);
    expectLatency(b.trades.latency, exp.tradeRaw.BTCUSDT);
    // latencies 5..100 uniform, 18 of each: net = latency - 5, type-7 interpolation
    expect(b.trades.latency.net_ms).toEqual({ p50: 47.5, p90: 85.5, p99: 95 });
    expect(b.trades.latency.skew_large).toBe(true);
    expectLatency(b.quotes.latency, exp.quoteRaw.BTCUSDT);
    expect(b.depth.rows).toBe(0);
    expect(b.depth.unordered).toEqual({ count: 0, rate: null, reason: 'no depth rows in scope' });
    expect(b.checks.map((c) => c.status)).toEqual(Array(8).fill('pass'));
    expect(b.verdict).toBe('PASS');
    expect(b.warnings.some((w) => w.startsWith('trades clock skew -1295 ms'))).toBe(true);
  });

  it('dirty symbol: exact defect counts and rates', () => {
    const e = sym(report.summary, 'ETHUSDT');
    expect(e.rows).toEqual({ trades: 303, quotes: 151, depth: 20 });
    const t = e.trades;
    expect(t.empty_buckets).toEqual({
      clock: 'exchange',
      minutes: 6,
      empty_minutes: 1,
      edges_excluded: 0,
      rate: 1 / 6,
    });
    expect(t.duplicates).toEqual({ count: 3, rate: 3 / 303 });
    expect(t.id_gaps).toEqual({ missing_ids: 11, events: 4 });
    expect(t.out_of_order).toEqual({ count: 1, rate: 1 / 303 });
    expect(t.bad_rows).toEqual({
      count: 2,
      rate: 2 / 303,
      null_fields: 0,
      bad_price: 1,
      bad_qty: 1,
      bad_time: 0,
      symbol_mismatch: 0,
      foreign_parts: 0,
    });
    expectLatency(t.latency, exp.tradeRaw.ETHUSDT);

    const q = e.quotes;
    expect(q.ts_clock).toBe('recv');
    // local clock span 22:57..23:03 (trades arrive from 22:57:59 local), local minute 23:01 empty
    expect(q.empty_buckets).toEqual({ clock: 'recv', minutes: 7, empty_minutes: 1, edges_excluded: 0, rate: 1 / 7 });
    expect(q.duplicates).toEqual({ count: 2, rate: 2 / 151 });
    expect(q.out_of_order).toEqual({ count: 1, rate: 1 / 151 });
    expect(q.crossed).toEqual({ count: 3, rate: 3 / 151 });
    expect(q.locked).toEqual({ count: 2, rate: 2 / 151 });
    expect(q.bad_rows).toEqual({
      count: 2,
      rate: 2 / 151,
      null_fields: 0,
      bad_price: 1,
      bad_qty: 1,
      bad_time: 0,
      symbol_mismatch: 0,
      foreign_parts: 0,
    });
    expect(q.latency.raw_ms).toBeNull();
    expect(q.latency.net_ms).toBeNull();
    expect(q.latency.skew_ms).toBeNull();
    expect(q.latency.reason).toMatch(/no exchange time.*not measurable/);

    const d = e.depth;
    expect(d.rows).toBe(20);
    expect(d.unordered).toEqual({ count: 3, rate: 3 / 20 });
    expect(d.crossed).toEqual({ count: 1, rate: 1 / 20 });
    expect(d.locked).toEqual({ count: 1, rate: 1 / 20 });
    expect(d.bad_rows.count).toBe(1);
    expect(d.bad_rows.bad_qty).toBe(1);
  });

  it('checks and verdicts: fails named, n/a is not a pass, overall FAIL', () => {
    const e = sym(report.summary, 'ETHUSDT');
    expect(Object.fromEntries(e.checks.map((c) => [c.name, c.status]))).toEqual({
      trades_empty_buckets: 'fail',
      quotes_empty_buckets: 'fail',
      trades_dup_rate: 'fail',
      quotes_dup_rate: 'fail',
      trades_latency_p50_net: 'pass',
      trades_latency_p99_net: 'pass',
      quotes_latency_p50_net: 'n/a',
      quotes_latency_p99_net: 'n/a',
    });
    expect(check(e, 'quotes_latency_p99_net').value).toBeNull();
    expect(check(e, 'quotes_latency_p99_net').reason).toMatch(/not measurable/);
    expect(check(e, 'trades_dup_rate')).toEqual({
      name: 'trades_dup_rate',
      value: 3 / 303,
      op: '<',
      max: 0.005,
      status: 'fail',
    });
    expect(e.verdict).toBe('FAIL');
    expect(report.summary.verdict).toBe('FAIL');
    expect(report.summary.verdict_reason).toMatch(
      /^4 of 14 computable checks fail: ETHUSDT trades_empty_buckets 0\.1667 >= 0\.001/,
    );
    expect(report.summary.params.thresholds).toEqual(DEFAULT_DQ_THRESHOLDS);
    expect(report.summary.warnings).toContain('ETHUSDT: trades: 11 missing aggTrade ids in 4 gaps');
    expect(report.summary.warnings).toContain('ETHUSDT: quotes: 3 crossed, 2 locked');
  });

  it('latency checks state what they measure: latency above the q0.01 floor, not absolute latency', () => {
    const b = sym(report.summary, 'BTCUSDT');
    expect(check(b, 'trades_latency_p50_net').measures).toBe(
      'p50 of (recv_ts_ms - event_ts_ms) minus its q0.01 in scope: latency above the floor, ms (not absolute latency)',
    );
    expect(check(b, 'quotes_latency_p99_net').measures).toBe(
      'p99 of (recv_ts_ms - ts_ms) minus its q0.01 in scope: latency above the floor, ms (not absolute latency)',
    );
    // the clean symbol's trade latencies are 5..100 ms: the figure is that minus the 5 ms floor
    expect(check(b, 'trades_latency_p50_net').value).toBe(47.5);
    expect(check(b, 'trades_dup_rate').measures).toBeUndefined();
  });

  it('symbol selection: the clean symbol alone passes', async () => {
    const r = await runDq(ds, { symbols: ['BTCUSDT'] });
    expect(Object.keys(r.summary.symbols)).toEqual(['BTCUSDT']);
    expect(r.summary.verdict).toBe('PASS');
    expect(r.summary.verdict_reason).toBe('all 8 computable checks pass (0 n/a)');
    expect(r.hours.map((h) => h.verdict)).toEqual(['PASS', 'PASS']);
    expect(r.summary.dataset.files).toBeLessThan(report.summary.dataset.files);
  });

  it('thresholds are parameters', async () => {
    const loose = await runDq(ds, { symbols: ['ETHUSDT'], thresholds: { dup_rate_max: 0.02, empty_bucket_max: 0.2 } });
    expect(loose.summary.params.thresholds).toEqual({
      empty_bucket_max: 0.2,
      dup_rate_max: 0.02,
      latency_p99_max_ms: 120,
      latency_p50_max_ms: 60,
    });
    expect(loose.summary.verdict).toBe('PASS');
    const tight = await runDq(ds, { symbols: ['BTCUSDT'], thresholds: { latency_p50_max_ms: 40 } });
    expect(check(sym(tight.summary, 'BTCUSDT'), 'trades_latency_p50_net').status).toBe('fail');
    expect(check(sym(tight.summary, 'BTCUSDT'), 'quotes_latency_p50_net').status).toBe('pass');
    expect(tight.summary.verdict).toBe('FAIL');
    await expect(runDq(ds, { thresholds: { dup_rate_max: -1 } })).rejects.toThrow(/dq\.dup_rate_max: -1 is not valid/);
    await expect(runDq(ds, { skewQuantile: 0.7 })).rejects.toThrow(/skew quantile/);
    await expect(runDq(ds, { symbols: ['XRPUSDT'] })).rejects.toThrow(/symbol 'XRPUSDT' is not in dataset/);
  });
});

describe('dq hourly reports', () => {
  it('one report per UTC hour of exchange time, named dq_YYYYMMDD_HH.json', () => {
    expect(report.summary.hours).toEqual([
      { hour: '2024-08-08T22', file: 'dq_20240808_22.json', verdict: 'FAIL' },
      { hour: '2024-08-08T23', file: 'dq_20240808_23.json', verdict: 'FAIL' },
    ]);
    const h = report.hours[H22];
    expect(h.scope).toEqual({
      kind: 'hour',
      hour: '2024-08-08T22',
      from_ms: Date.UTC(2024, 7, 8, 22),
      to_ms: Date.UTC(2024, 7, 8, 23),
    });
  });

  it('hour 22: defects that fall in it', () => {
    const e = sym(report.hours[H22], 'ETHUSDT');
    expect(e.rows).toEqual({ trades: 122, quotes: 61, depth: 8 });
    expect(e.trades.empty_buckets).toEqual({
      clock: 'exchange',
      minutes: 2,
      empty_minutes: 0,
      edges_excluded: 0,
      rate: 0,
    });
    expect(e.trades.duplicates).toEqual({ count: 2, rate: 2 / 122 });
    expect(e.trades.id_gaps).toEqual({ missing_ids: 2, events: 1 });
    expect(e.trades.out_of_order.count).toBe(0);
    expect(e.trades.bad_rows.bad_price).toBe(1);
    expect(e.trades.bad_rows.bad_qty).toBe(0);
    expectLatency(e.trades.latency, exp.tradeRawByHour.ETHUSDT[Math.floor(Date.UTC(2024, 7, 8, 22) / 3_600_000)]);
    expect(e.quotes.empty_buckets).toEqual({ clock: 'recv', minutes: 3, empty_minutes: 0, edges_excluded: 0, rate: 0 });
    expect(e.quotes.duplicates.count).toBe(1);
    expect(e.quotes.out_of_order.count).toBe(1);
    expect(e.quotes.crossed.count).toBe(2);
    expect(e.quotes.locked.count).toBe(1);
    expect(e.depth.unordered.count).toBe(3);
    expect(e.depth.crossed.count).toBe(1);
    expect(e.depth.locked.count).toBe(1);
    expect(e.depth.bad_rows.count).toBe(1);
    expect(e.verdict).toBe('FAIL');
    expect(check(e, 'trades_empty_buckets').status).toBe('pass');
    expect(sym(report.hours[H22], 'BTCUSDT').verdict).toBe('PASS');
  });

  it('hour 23: gap at the hour boundary belongs to the later hour; empty minute 23:01', () => {
    const e = sym(report.hours[H23], 'ETHUSDT');
    expect(e.rows).toEqual({ trades: 181, quotes: 90, depth: 12 });
    expect(e.trades.empty_buckets).toEqual({
      clock: 'exchange',
      minutes: 4,
      empty_minutes: 1,
      edges_excluded: 0,
      rate: 0.25,
    });
    expect(e.trades.id_gaps).toEqual({ missing_ids: 9, events: 3 });
    expect(e.trades.duplicates.count).toBe(1);
    expect(e.trades.out_of_order.count).toBe(1);
    expect(e.trades.bad_rows.bad_qty).toBe(1);
    expectLatency(e.trades.latency, exp.tradeRawByHour.ETHUSDT[Math.floor(Date.UTC(2024, 7, 8, 23) / 3_600_000)]);
    expect(e.quotes.empty_buckets).toEqual({
      clock: 'recv',
      minutes: 4,
      empty_minutes: 1,
      edges_excluded: 0,
      rate: 0.25,
    });
    expect(e.depth.unordered.count).toBe(0);
  });

  it('hourly counts add up to the summary', () => {
    for (const s of ['BTCUSDT', 'ETHUSDT']) {
      const tot = sym(report.summary, s);
      const hs = report.hours.map((h) => sym(h, s));
      const sum = (f: (r: SymbolReport) => number) => hs.reduce((a, r) => a + f(r), 0);
      expect(sum((r) => r.rows.trades)).toBe(tot.rows.trades);
      expect(sum((r) => r.rows.quotes)).toBe(tot.rows.quotes);
      expect(sum((r) => r.rows.depth)).toBe(tot.rows.depth);
      expect(sum((r) => r.trades.duplicates.count)).toBe(tot.trades.duplicates.count);
      expect(sum((r) => r.trades.id_gaps.missing_ids)).toBe(tot.trades.id_gaps.missing_ids);
      expect(sum((r) => r.trades.id_gaps.events)).toBe(tot.trades.id_gaps.events);
      expect(sum((r) => r.trades.out_of_order.count)).toBe(tot.trades.out_of_order.count);
      expect(sum((r) => r.trades.empty_buckets.minutes)).toBe(tot.trades.empty_buckets.minutes);
      expect(sum((r) => r.trades.empty_buckets.empty_minutes)).toBe(tot.trades.empty_buckets.empty_minutes);
      expect(sum((r) => r.quotes.empty_buckets.minutes)).toBe(tot.quotes.empty_buckets.minutes);
      expect(sum((r) => r.quotes.crossed.count)).toBe(tot.quotes.crossed.count);
    }
  });
});

describe('dq files', () => {
  it('writes the summary and hourly files with the report bytes, and is byte-identical across runs', async () => {
    const out1 = path.join(tmp, 'out1');
    const out2 = path.join(tmp, 'out2');
    const files1 = writeDqReport(report, out1);
    expect(files1.map((f) => path.basename(f))).toEqual([
      'dq_summary.json',
      'dq_20240808_22.json',
      'dq_20240808_23.json',
    ]);
    expect(fs.readFileSync(path.join(out1, 'dq_summary.json'), 'utf8')).toBe(dqJson(report.summary));
    expect(JSON.parse(fs.readFileSync(path.join(out1, 'dq_20240808_23.json'), 'utf8'))).toEqual(report.hours[H23]);
    const again = await runDq(ds);
    writeDqReport(again, out2);
    const names = fs.readdirSync(out1).sort();
    expect(fs.readdirSync(out2).sort()).toEqual(names);
    for (const n of names) expect(fs.readFileSync(path.join(out2, n))).toEqual(fs.readFileSync(path.join(out1, n)));
    // no wall-clock or absolute-path field
    const text = fs.readFileSync(path.join(out1, 'dq_summary.json'), 'utf8');
    expect(text).not.toContain(tmp);
    expect(text).not.toMatch(/generated|created_at|wall/);
  });

  it('removes hourly files of an earlier run from the output folder', () => {
    const out = path.join(tmp, 'out3');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'dq_20000101_00.json'), '{}');
    fs.writeFileSync(path.join(out, 'dq_summary.json'), '{"flowlab_dq": 1}'); // the earlier run's (--out must be a dq folder)
    fs.writeFileSync(path.join(out, 'notes.txt'), 'keep me');
    writeDqReport(report, out);
    expect(fs.readdirSync(out).sort()).toEqual([
      'dq_20240808_22.json',
      'dq_20240808_23.json',
      'dq_summary.json',
      'notes.txt',
    ]);
  });
});
