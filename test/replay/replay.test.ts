import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runImport } from '../../src/import/run.js';
import { replay, IO_WORKERS_MIN_ROWS, type ReplayResult } from '../../src/replay/replay.js';
import { verifyRun } from '../../src/canary/verify.js';
import { configFromObject, loadConfig } from '../../src/config/load.js';
import { queryRows, sqlString } from '../../src/io/duck.js';
import { Dataset } from '../../src/dataset/reader.js';
import { arrivalBlocks, type ArrivalBlock } from '../../src/pipeline/arrival.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { calcParamsFromConfig } from '../../src/pipeline/params.js';
import { REALDATA, REPO, runCli } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-replay-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const CONFIG = loadConfig(path.join(REPO, 'config/ofi_cvd/prod.yaml'), {});
const SPOT = ['spot/btcusdt_20240808.gz', 'spot/btcusdt_20240809.gz'].map((f) => path.join(REALDATA, f));
const spotData = path.join(tmp, 'datasets', 'spot');
const spotData60 = path.join(tmp, 'datasets', 'spot60');
let base: ReplayResult;

function parquetGlob(run: string, kind: string): string {
  return sqlString(path.join(run, 'data', '*', '*', `kind=${kind}`, '*.parquet'));
}

function rawGlob(ds: string, kind: string): string {
  return sqlString(path.join(ds, '*', '*', `kind=${kind}`, '*.parquet'));
}

const hashes = (r: ReplayResult) => r.manifest.outputs.map((o) => `${o.path} ${o.sha256}`);

beforeAll(async () => {
  for (const f of SPOT) expect(fs.existsSync(f), `real capture ${f} must exist`).toBe(true);
  await runImport({ format: 'ws-capture', inputs: SPOT, out: spotData });
  // the same ticks, rotated into many more part files
  await runImport({ format: 'ws-capture', inputs: SPOT, out: spotData60, rotateSec: 20 });
  base = await replay({ data: spotData, config: CONFIG, out: tmp, runTag: 'base', progress: false });
}, 180_000);

describe('replay on a real Binance capture (spot BTCUSDT, ~11 min)', () => {
  it('writes the five derived tables with exactly the seed columns plus slice columns', async () => {
    const slices = ['session', 'regime', 'vol_bucket', 'scenario_2x2', 'fee_tier'];
    const want: Record<string, string[]> = {
      prices: ['ts_ms', 'event_ts_ms', 'symbol', 'price', 'qty', 'agg_trade_id', 'latency_ms', 'recv_rate_tps'],
      ofi: ['ts_ms', 'symbol', 'ofi_value', 'ofi_z', 'scale'],
      cvd: ['ts_ms', 'symbol', 'cvd', 'delta', 'z_raw', 'z_cvd', 'scale', 'sigma_floor', 'floor_used'],
      fusion: [
        'ts_ms',
        'symbol',
        'score',
        'score_z',
        'z_ofi',
        'z_cvd',
        'w_ofi',
        'w_cvd',
        'cvd_dir',
        'gate',
        'mid',
        'ofi_flow',
        'cvd_flow',
        'merge_time_diff_ms',
      ],
      events: ['ts_ms', 'symbol', 'event_type', 'meta_json'],
    };
    for (const [kind, cols] of Object.entries(want)) {
      const rows = await queryRows(
        `DESCRIBE SELECT * FROM read_parquet(${parquetGlob(base.runDir, kind)}, hive_partitioning = false)`,
      );
      // the files hold every column but `symbol`, which the hive key symbol= carries (README "Reading")
      expect(
        rows.map((r) => r.column_name),
        kind,
      ).toEqual([...cols.filter((c) => c !== 'symbol'), ...slices]);
      const hive = await queryRows(
        `DESCRIBE SELECT * FROM read_parquet(${parquetGlob(base.runDir, kind)}, hive_partitioning = true)`,
      );
      expect(hive.map((r) => r.column_name).sort(), kind).toEqual([...cols, ...slices, 'date', 'kind'].sort());
    }
    const counts = Object.fromEntries(
      ['prices', 'ofi', 'cvd', 'fusion', 'events'].map((k) => [
        k,
        base.manifest.outputs.filter((o) => o.kind === k).reduce((s, o) => s + o.rows, 0),
      ]),
    );
    expect(counts.prices).toBe(20_051 - 147); // every trade of SOURCE.md's two files (9,757 + 10,147 = 19,904)
    expect(counts.cvd).toBe(19_904);
    expect(counts.ofi).toBe(28_040 + 45_134); // every bookTicker
    expect(counts.fusion).toBeGreaterThan(600);
    expect(fs.readFileSync(path.join(base.runDir, 'run_tag.txt'), 'utf8')).toMatch(
      /config_fingerprint=[0-9a-f]{16}\ncvd_direction=|config_fingerprint=[0-9a-f]{16}\nconfig_version=v2\.0-prod\ncvd_direction=BTCUSDT:[+-]1\nmerge_tol_ms=1500\nfusion\(w,g\)=\(0\.6,0\.4,0\)/,
    );
  });

  it('CVD at the end equals the signed sum of the trade quantities', async () => {
    const [raw] = await queryRows(
      `SELECT sum(CASE WHEN is_buyer_maker THEN -qty ELSE qty END) AS s, count(*)::DOUBLE AS n FROM read_parquet(${rawGlob(spotData, 'trades')}, hive_partitioning = false)`,
    );
    const [last] = await queryRows(
      `SELECT cvd FROM read_parquet(${parquetGlob(base.runDir, 'cvd')}, hive_partitioning = false) ORDER BY ts_ms DESC LIMIT 1`,
    );
    expect(raw.n).toBe(19_904);
    expect(last.cvd as number).toBeCloseTo(raw.s as number, 6);
    expect(base.manifest.symbols.BTCUSDT.cvd_final as number).toBeCloseTo(raw.s as number, 6);
  });

  it('OFI per quote update matches e_n computed by hand for the first 20 updates', async () => {
    const q = await queryRows(
      `SELECT bid_px, bid_qty, ask_px, ask_qty FROM read_parquet(${rawGlob(spotData, 'quotes')}, hive_partitioning = false) ORDER BY recv_ts_ms, recv_seq LIMIT 21`,
    );
    const o = await queryRows(
      `SELECT ofi_value FROM read_parquet(${parquetGlob(base.runDir, 'ofi')}, hive_partitioning = false) ORDER BY ts_ms LIMIT 21`,
    );
    expect(o[0].ofi_value).toBeNull(); // first update: no previous book, no e_n (not 0)
    for (let n = 1; n <= 20; n++) {
      const [p, c] = [q[n - 1], q[n]] as { bid_px: number; bid_qty: number; ask_px: number; ask_qty: number }[];
      let e = 0;
      if (c.bid_px >= p.bid_px) e += c.bid_qty;
      if (c.bid_px <= p.bid_px) e -= p.bid_qty;
      if (c.ask_px <= p.ask_px) e -= c.ask_qty;
      if (c.ask_px >= p.ask_px) e += p.ask_qty;
      expect(o[n].ofi_value as number).toBeCloseTo(e, 9);
    }
  });

  it('has no NaN or Infinity anywhere in the outputs', async () => {
    const numeric: Record<string, string[]> = {
      prices: ['price', 'qty', 'latency_ms', 'recv_rate_tps'],
      ofi: ['ofi_value', 'ofi_z', 'scale'],
      cvd: ['cvd', 'delta', 'z_raw', 'z_cvd', 'scale', 'sigma_floor'],
      fusion: [
        'score',
        'score_z',
        'z_ofi',
        'z_cvd',
        'w_ofi',
        'w_cvd',
        'cvd_dir',
        'gate',
        'mid',
        'ofi_flow',
        'cvd_flow',
        'merge_time_diff_ms',
      ],
    };
    for (const [kind, cols] of Object.entries(numeric)) {
      const cond = cols.map((c) => `isnan(${c}) OR isinf(${c})`).join(' OR ');
      const [r] = await queryRows(
        `SELECT count(*)::DOUBLE AS bad FROM read_parquet(${parquetGlob(base.runDir, kind)}, hive_partitioning = false) WHERE ${cond}`,
      );
      expect(r.bad, kind).toBe(0);
    }
    // the real capture's -1.27 s recorder clock offset is taken as skew, not latency
    expect(base.manifest.counters.skew_ms).toBeGreaterThan(-1300);
    expect(base.manifest.counters.skew_ms).toBeLessThan(-1240);
    const [lat] = await queryRows(
      `SELECT quantile_cont(latency_ms, 0.5) AS p50, min(latency_ms) AS lo, count(*) FILTER (WHERE latency_ms < 0)::DOUBLE AS neg
         FROM read_parquet(${parquetGlob(base.runDir, 'prices')}, hive_partitioning = false)`,
    );
    // latency above the symbol's running floor of recv - E: never negative (the skew-net definition gave
    // 12,501 negative values of 19,904 on this capture), the floor itself is reached (0)
    expect(lat.neg).toBe(0);
    expect(lat.lo).toBe(0);
    expect(lat.p50 as number).toBeGreaterThanOrEqual(0);
    expect(lat.p50 as number).toBeLessThan(50);
  });

  it('is deterministic: a second replay gives byte-identical outputs', async () => {
    const again = await replay({ data: spotData, config: CONFIG, out: tmp, runTag: 'again', progress: false });
    expect(hashes(again)).toEqual(hashes(base));
  });

  it('reads and writes on worker threads with byte-identical outputs (io: workers vs inline)', async () => {
    expect(base.manifest.inputs.reduce((s, f) => s + f.rows, 0)).toBeLessThan(IO_WORKERS_MIN_ROWS); // base ran inline
    const w = await replay({
      data: spotData60,
      config: CONFIG,
      out: tmp,
      runTag: 'workers',
      progress: false,
      io: 'workers',
      blockRows: 5000,
    });
    const i = await replay({
      data: spotData60,
      config: CONFIG,
      out: tmp,
      runTag: 'inline',
      progress: false,
      io: 'inline',
      blockRows: 5000,
    });
    expect(w.manifest.outputs.length).toBeGreaterThan(10);
    expect(hashes(w)).toEqual(hashes(i));
    expect(w.manifest.symbols).toEqual(i.manifest.symbols);
    expect(w.manifest.counters).toEqual(i.manifest.counters);
    const full = await replay({
      data: spotData,
      config: CONFIG,
      out: tmp,
      runTag: 'workers-full',
      progress: false,
      io: 'workers',
    });
    expect(hashes(full)).toEqual(hashes(base));
  });

  it('does not depend on input partitioning or batching: many part files, small batches, small output blocks', async () => {
    const ds60 = new Dataset(spotData60);
    expect(ds60.manifest.files.length).toBeGreaterThan(new Dataset(spotData).manifest.files.length * 10);
    const r = await replay({ data: spotData60, config: CONFIG, out: tmp, runTag: 'split', progress: false });
    expect(hashes(r)).toEqual(hashes(base));
    // output parts are cut at fixed row offsets whatever the input, so a smaller block size changes files only by cutting
    const small = await replay({
      data: spotData60,
      config: CONFIG,
      out: tmp,
      runTag: 'small',
      progress: false,
      blockRows: 5000,
    });
    const [a] = await queryRows(
      `SELECT sum(hash(cvd, z_cvd, ts_ms))::DOUBLE AS h, count(*)::DOUBLE AS n FROM read_parquet(${parquetGlob(base.runDir, 'cvd')}, hive_partitioning = false)`,
    );
    const [b] = await queryRows(
      `SELECT sum(hash(cvd, z_cvd, ts_ms))::DOUBLE AS h, count(*)::DOUBLE AS n FROM read_parquet(${parquetGlob(small.runDir, 'cvd')}, hive_partitioning = false)`,
    );
    expect(b).toEqual(a);
  });

  it('the pipeline reads no clock and no randomness (Date, performance.now and Math.random throw while it runs)', async () => {
    const ds = new Dataset(spotData);
    const blocks: ArrivalBlock[] = [];
    for await (const b of arrivalBlocks(ds, { kinds: ['trades', 'quotes'] })) blocks.push(b);
    const run = () => {
      const p = new Pipeline(calcParamsFromConfig(CONFIG.config), { mergeTolMs: CONFIG.config.labels.merge_tol_ms });
      let n = 0;
      for (const b of blocks) {
        p.push(b);
        for (const d of p.take(65_536)) n += d.rows;
      }
      p.finish();
      for (const d of p.take(65_536)) n += d.rows;
      return { n, summary: JSON.stringify(p.symbolSummary()), counters: p.counters };
    };
    const clean = run();
    const saved = { now: Date.now, perf: performance.now, random: Math.random, D: globalThis.Date };
    const boom = () => {
      throw new Error('clock or randomness read inside the pipeline');
    };
    try {
      Date.now = boom;
      performance.now = boom;
      Math.random = boom;
      // `new Date()` and `Date()` read the clock; `new Date(ms)` only converts a tick's timestamp
      (globalThis as { Date: unknown }).Date = new Proxy(saved.D, {
        construct: (target, args) => (args.length === 0 ? boom() : Reflect.construct(target, args)),
        apply: boom,
      });
      const frozen = run();
      expect(frozen).toEqual(clean);
    } finally {
      Date.now = saved.now;
      performance.now = saved.perf;
      Math.random = saved.random;
      (globalThis as { Date: unknown }).Date = saved.D;
    }
  });

  it('verify: 0 when identical, 1 after one output byte changes (naming file), 2 after one input byte changes', async () => {
    const ok = await verifyRun(base.runDir);
    expect(ok.code).toBe(0);
    // one output byte
    const run = await replay({ data: spotData, config: CONFIG, out: tmp, runTag: 'tamper-out', progress: false });
    const victim = run.manifest.outputs.find((o) => o.kind === 'cvd')!;
    const file = path.join(run.runDir, victim.path);
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 3)] ^= 0x01;
    fs.writeFileSync(file, bytes);
    const bad = await verifyRun(run.runDir);
    expect(bad.code).toBe(1);
    expect(bad.message).toContain(victim.path);
    // one input byte (a copy of the dataset)
    const copy = path.join(tmp, 'datasets', 'spot-copy');
    fs.cpSync(spotData, copy, { recursive: true });
    const run2 = await replay({ data: copy, config: CONFIG, out: tmp, runTag: 'tamper-in', progress: false });
    const input = path.join(copy, run2.manifest.inputs[0].path);
    const ib = fs.readFileSync(input);
    ib[Math.floor(ib.length / 2)] ^= 0x01;
    fs.writeFileSync(input, ib);
    const changed = await verifyRun(run2.runDir);
    expect(changed.code).toBe(2);
    expect(changed.message).toMatch(/input changed: .*\.parquet/);
    // the CLI maps these to exit codes
    expect(runCli(['verify', '--run', base.runDir]).code).toBe(0);
    const cli1 = runCli(['verify', '--run', run.runDir]);
    expect(cli1.code).toBe(1);
    expect(cli1.stderr).toContain('kind=cvd');
    expect(runCli(['verify', '--run', run2.runDir]).code).toBe(2);
  });

  it('a different config gives a different fingerprint and different fusion rows; the run records both', async () => {
    const other = configFromObject({ fusion: { weights: { ofi: 0.2, cvd: 0.8 }, slice_overrides: {} } }, {});
    const r = await replay({
      data: spotData,
      config: other,
      out: tmp,
      runTag: 'w28',
      progress: false,
      symbols: ['BTCUSDT'],
    });
    expect(r.manifest.config_fingerprint).not.toBe(base.manifest.config_fingerprint);
    const f1 = base.manifest.outputs.filter((o) => o.kind === 'fusion').map((o) => o.sha256);
    const f2 = r.manifest.outputs.filter((o) => o.kind === 'fusion').map((o) => o.sha256);
    expect(f2).not.toEqual(f1);
    expect(r.manifest.outputs.filter((o) => o.kind === 'cvd').map((o) => o.sha256)).toEqual(
      base.manifest.outputs.filter((o) => o.kind === 'cvd').map((o) => o.sha256),
    );
  });
});

describe('replay: bad input', () => {
  it('a corrupt part file is named, exit 1; an unknown symbol or empty range says so', async () => {
    const copy = path.join(tmp, 'datasets', 'corrupt');
    fs.cpSync(spotData, copy, { recursive: true });
    const victim = new Dataset(copy).manifest.files.find((f) => f.kind === 'quotes')!;
    const file = path.join(copy, victim.path);
    fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 1000));
    const r = runCli(['replay', '--data', copy, '--out', tmp, '--run-tag', 'corrupt']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(path.basename(file));
    // the same error, unchanged, when the part file is read on a worker thread
    const rw = runCli(['replay', '--data', copy, '--out', tmp, '--run-tag', 'corrupt-w', '--io', 'workers']);
    expect(rw.code).toBe(1);
    expect(rw.stderr).toBe(r.stderr);
    const bad = runCli(['replay', '--data', copy, '--out', tmp, '--run-tag', 'badio', '--io', 'threads']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--io.*threads.*auto, inline, workers/);
    const u = runCli(['replay', '--data', spotData, '--out', tmp, '--run-tag', 'unknown', '--symbols', 'DOGEUSDT']);
    expect(u.code).toBe(1);
    expect(u.stderr).toMatch(/symbol 'DOGEUSDT' is not in dataset .* \(it has: BTCUSDT\)/);
    const e = runCli([
      'replay',
      '--data',
      spotData,
      '--out',
      tmp,
      '--run-tag',
      'empty',
      '--from',
      '2020-01-01',
      '--to',
      '2020-01-02',
    ]);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/no data for BTCUSDT in \[2020-01-01.*dataset covers 2024-08-08/);
    const t = runCli(['replay', '--data', spotData, '--out', tmp, '--run-tag', '../escape']);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/--run-tag: '\.\.\/escape' is not a valid tag/);
  });
});
