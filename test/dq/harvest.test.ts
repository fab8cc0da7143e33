/**
 * The seed's 1.3.1 harvest acceptance (`flowlab dq --run`, src/dq/harvest*.ts).
 *
 * - Six symbols x 4 h of synth (05:00-09:00 UTC: Tokyo, then London; the
 *   suite's stand-in for `synth --hours 24`, which takes ~2 min here;
 *   `HARVEST_TEST_HOURS=24` runs the same tests on the 24 h default day): every
 *   check's figure and verdict is reproduced by independent DuckDB queries over
 *   the derived tables (globs, not the manifest's file list), and the hourly
 *   slices manifests by an hourly GROUP BY.
 * - A dataset built to miss coverage (2 h of one quiet symbol) is tagged
 *   insufficient_coverage in run_tag.txt and the summary, failing pairs named.
 * - Changing a threshold in config changes the verdict and the fingerprint.
 * - Same run and thresholds: byte-identical files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { synthesize, DEFAULT_SYNTH } from '../../src/synth/index.js';
import { replay, type ReplayResult } from '../../src/replay/replay.js';
import { configFromObject, loadConfig } from '../../src/config/load.js';
import { queryRows, sqlString } from '../../src/io/duck.js';
import { runHarvest, writeHarvestReport, type HarvestSummary } from '../../src/dq/harvest-run.js';
import {
  CoverageCounts,
  DEFAULT_HARVEST_THRESHOLDS,
  judgeCoverage,
  judgeEvents,
  judgeWinsor,
  slicesFileName,
} from '../../src/dq/harvest.js';
import { REPO } from '../helpers/cli.js';
import { flowlab as cli } from '../helpers/flowlab.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-harvest-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const PROD = path.join(REPO, 'config/ofi_cvd/prod.yaml');
const CONFIG = loadConfig(PROD, {});
const SIX = ['ADAUSDT', 'BNBUSDT', 'BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT'];
const HOURS = Number(process.env.HARVEST_TEST_HOURS ?? 4);
const SHORT = HOURS === 4;

let run: ReplayResult;
let h: HarvestSummary;

const glob = (runDir: string, kind: string) =>
  `read_parquet(${sqlString(path.join(runDir, 'data', '*', '*', `kind=${kind}`, '*.parquet'))}, hive_partitioning = true)`;
const n = (v: unknown) => Number(v);
const check = (s: HarvestSummary, name: string) => {
  const c = s.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check ${name}`);
  return c;
};

beforeAll(async () => {
  const data = path.join(tmp, 'six');
  await synthesize(
    { ...DEFAULT_SYNTH, symbols: SIX, hours: HOURS, startMs: SHORT ? Date.UTC(2024, 7, 8, 5) : DEFAULT_SYNTH.startMs },
    data,
  );
  run = await replay({ data, config: CONFIG, out: path.join(tmp, 'runs'), runTag: 'six', progress: false });
  h = (await runHarvest(run.runDir)).summary;
}, 900_000);

describe(`harvest acceptance on six symbols x ${HOURS} h, reproduced by DuckDB over the derived tables`, () => {
  it('scenario_coverage and session_coverage: counts and failing pairs', async () => {
    const p = glob(run.runDir, 'prices');
    const syms = `[${SIX.map(sqlString).join(', ')}]`;
    const cells = await queryRows(
      `WITH c AS (SELECT symbol, scenario_2x2 AS cell, count(*) AS n FROM ${p} WHERE scenario_2x2 IS NOT NULL GROUP BY ALL),
            t AS (SELECT symbol, sum(n) AS labelled FROM c GROUP BY symbol),
            g AS (SELECT s.symbol, k.cell, coalesce(c.n, 0) AS n, coalesce(t.labelled, 0) AS labelled
                    FROM (SELECT unnest(${syms}) AS symbol) s
                    CROSS JOIN (SELECT unnest(['A_H', 'A_L', 'Q_H', 'Q_L']) AS cell) k
                    LEFT JOIN c USING (symbol, cell) LEFT JOIN t USING (symbol))
       SELECT symbol, cell, n::DOUBLE AS n, (n > 0 AND (n >= 2000 OR n >= 0.05 * labelled)) AS ok FROM g ORDER BY symbol, cell`,
    );
    expect(cells).toHaveLength(24);
    const by = check(h, 'scenario_coverage').by_symbol as Record<string, Record<string, number>>;
    for (const r of cells) expect(by[r.symbol as string][r.cell as string], `${r.symbol} ${r.cell}`).toBe(n(r.n));
    const scenFail = cells.filter((r) => !r.ok).map((r) => `${r.symbol}:${r.cell}`);
    expect(check(h, 'scenario_coverage').failing).toEqual(scenFail);
    if (SHORT) {
      expect(scenFail.length).toBeGreaterThan(0); // the 4 h exercise a failing cell (too few A_L trades somewhere)
      expect(scenFail.length).toBeLessThan(24);
    }
    expect(check(h, 'scenario_coverage').status).toBe(scenFail.length === 0 ? 'pass' : 'fail');

    const sess = await queryRows(
      `WITH sc AS (SELECT symbol, session, scenario_2x2, count(*) AS n FROM ${p} WHERE scenario_2x2 IS NOT NULL GROUP BY ALL)
       SELECT s.symbol, e.session,
              (SELECT count(*) FROM sc WHERE sc.symbol = s.symbol AND sc.session = e.session AND sc.n >= 1000)::DOUBLE AS ok
         FROM (SELECT unnest(${syms}) AS symbol) s CROSS JOIN (SELECT unnest(['London', 'NY', 'Tokyo']) AS session) e
        ORDER BY s.symbol, e.session`,
    );
    const sessFail = sess.filter((r) => n(r.ok) < 2).map((r) => `${r.symbol}:${r.session}`);
    expect(check(h, 'session_coverage').failing).toEqual(sessFail);
    expect(check(h, 'session_coverage').status).toBe(sessFail.length === 0 ? 'pass' : 'fail');
    const failing = [...scenFail, ...sessFail];
    expect(h.coverage_failing).toEqual(failing);
    expect(h.scene_coverage_miss).toBe(failing.length > 0 ? 1 : 0);
    expect(h.tags).toEqual(failing.length > 0 ? ['insufficient_coverage'] : []);
    const tag = fs.readFileSync(path.join(run.runDir, 'run_tag.txt'), 'utf8');
    expect(tag).toContain(`scene_coverage_miss=${h.scene_coverage_miss}\n`);
    if (failing.length > 0) expect(tag).toContain(`coverage_failing=${failing.join(',')}\n`);
    // 05-09 UTC in August: Tokyo and London only, so every symbol misses NY
    if (SHORT) for (const s of SIX) expect(sessFail).toContain(`${s}:NY`);
    process.stderr.write(
      `harvest ${HOURS} h: scenario failing [${scenFail.join(' ')}], session failing [${sessFail.join(' ')}]\n`,
    );
  });

  it('hourly slices manifests hold the per-hour counts; the summary carries both fingerprints', async () => {
    const rows = await queryRows(
      `SELECT (ts_ms // 3600000)::DOUBLE AS hour, symbol, coalesce(scenario_2x2, 'warmup') AS cell, count(*)::DOUBLE AS n
         FROM ${glob(run.runDir, 'prices')} GROUP BY ALL ORDER BY ALL`,
    );
    const hours = [...new Set(rows.map((r) => n(r.hour)))];
    expect(hours).toHaveLength(HOURS);
    const dir = path.join(run.runDir, 'slices');
    expect(fs.readdirSync(dir).sort()).toEqual([...hours.map(slicesFileName), 'slices_summary.json'].sort());
    for (const r of rows) {
      const m = JSON.parse(fs.readFileSync(path.join(dir, slicesFileName(n(r.hour))), 'utf8'));
      expect(m.symbols[r.symbol as string][r.cell as string], `${r.hour} ${r.symbol} ${r.cell}`).toBe(n(r.n));
      if (r.cell !== 'warmup') expect(m.rows).toContainEqual({ symbol: r.symbol, scenario_2x2: r.cell, count: n(r.n) });
    }
    const sum = JSON.parse(fs.readFileSync(path.join(dir, 'slices_summary.json'), 'utf8'));
    expect(sum.config_fingerprint).toBe(CONFIG.fingerprint);
    expect(sum.thresholds_fingerprint).toBe(h.thresholds.fingerprint);
    expect(sum.failing).toEqual(h.coverage_failing);
    expect(run.manifest.slices?.files.map((f) => f.path)).toEqual(
      fs
        .readdirSync(dir)
        .sort()
        .map((f) => `slices/${f}`),
    );
  });

  it('events_volume, winsor_separation and completeness', async () => {
    const [ev] = await queryRows(
      `SELECT count(*)::DOUBLE AS n FROM ${glob(run.runDir, 'events')} WHERE event_type IN ('divergence', 'pivot', 'anomaly')`,
    );
    const [span] = await queryRows(
      `SELECT sum((hi - lo) / 3600000.0) AS sh FROM (SELECT symbol, min(ts_ms) AS lo, max(ts_ms) AS hi FROM
         (SELECT symbol, ts_ms FROM ${glob(run.runDir, 'prices')} UNION ALL SELECT symbol, ts_ms FROM ${glob(run.runDir, 'ofi')})
         GROUP BY symbol)`,
    );
    const events = check(h, 'events_volume');
    expect(events.figure).toBe(n(ev.n));
    const required = (1000 * n(span.sh)) / (72 * 6);
    expect(h.run.symbol_hours).toBeCloseTo(n(span.sh), 5);
    expect(n(span.sh)).toBeGreaterThan(HOURS * 6 - 0.1);
    expect(events.status).toBe(n(ev.n) >= required ? 'pass' : 'fail');
    expect(events.threshold).toContain('scaled from >= 1000 per 72 h x 6 symbols');

    const [z] = await queryRows(
      `SELECT count(z_raw)::DOUBLE AS emitted, count(*) FILTER (WHERE abs(z_raw) > 8)::DOUBLE AS beyond,
              max(abs(z_cvd)) AS zmax, count(z_cvd)::DOUBLE AS zn,
              count(*) FILTER (WHERE z_cvd IS NOT NULL AND scale IS NOT NULL AND sigma_floor IS NOT NULL AND floor_used IS NOT NULL)::DOUBLE AS ok
         FROM ${glob(run.runDir, 'cvd')}`,
    );
    const w = check(h, 'winsor_separation');
    expect(w.figure).toBe(n(z.beyond));
    expect(w.n).toBe(n(z.emitted));
    expect(n(z.beyond)).toBeGreaterThan(0);
    expect(n(z.zmax)).toBeLessThanOrEqual(8);
    expect(w.status).toBe('pass');
    const c = check(h, 'completeness');
    expect(c.n).toBe(n(z.zn));
    expect(c.figure).toBe(Math.round((n(z.ok) / n(z.zn)) * 1e6) / 1e6);
    expect(c.status).toBe(n(z.ok) === n(z.zn) ? 'pass' : 'fail');
    // the raw checks are flowlab dq's, eight per symbol
    expect(h.raw_checks).toHaveLength(SIX.length * 8);
    const anyFail = h.checks.some((x) => x.status === 'fail') || h.raw.verdict === 'FAIL';
    expect(h.verdict).toBe(anyFail ? 'FAIL' : 'PASS');
    if (SHORT) expect(h.failed).toContain('session_coverage');
    process.stderr.write(
      `harvest ${HOURS} h: events ${ev.n} (need ${required.toFixed(1)}), beyond ${z.beyond} of ${z.emitted}, complete ${z.ok}/${z.zn}, verdict ${h.verdict}\n`,
    );
  });

  it('flowlab dq --run writes dq_summary.json and harvest_acceptance.md (verdict first), byte-identical twice', async () => {
    const out1 = path.join(tmp, 'dq1');
    const out2 = path.join(tmp, 'dq2');
    const r = await cli(['dq', '--run', run.runDir, '--out', out1]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toContain(
      `harvest six: ${h.verdict}${h.failed.length ? `; failed: ${h.failed.join(', ')}` : ''}${h.tags.length ? '; tags: insufficient_coverage' : ''}`,
    );
    if (SHORT) expect(h.failed).toContain('session_coverage');
    expect((await cli(['dq', '--run', run.runDir, '--out', out2, '--strict'])).code).toBe(h.verdict === 'PASS' ? 0 : 1);
    for (const f of ['dq_summary.json', 'harvest_acceptance.md'])
      expect(fs.readFileSync(path.join(out2, f), 'utf8'), f).toBe(fs.readFileSync(path.join(out1, f), 'utf8'));
    const md = fs.readFileSync(path.join(out1, 'harvest_acceptance.md'), 'utf8').split('\n');
    expect(md[0]).toBe(`# Harvest acceptance (seed 1.3.1): ${h.verdict}`);
    expect(md[2]).toBe(`- failed: ${h.failed.length ? h.failed.join(', ') : 'none'}`);
    if (SHORT) expect(md[3]).toMatch(/^- tags: insufficient_coverage \(failing pairs: .*ADAUSDT:NY/);
    const j = JSON.parse(fs.readFileSync(path.join(out1, 'dq_summary.json'), 'utf8'));
    expect(j.checks.map((c: { name: string }) => c.name)).toEqual([
      'scenario_coverage',
      'session_coverage',
      'events_volume',
      'winsor_separation',
      'completeness',
    ]);
    for (const c of j.checks) {
      expect(['pass', 'fail', 'insufficient']).toContain(c.status);
      expect(typeof c.n).toBe('number');
      expect(typeof c.threshold).toBe('string');
    }
    expect(fs.readdirSync(out1).filter((f) => /^dq_\d{8}_\d{2}\.json$/.test(f))).toHaveLength(HOURS);
    const usage = await cli(['dq', '--run', run.runDir, '--data', run.runDir]);
    expect(usage.code).toBe(2);
    const missing = await cli(['dq', '--run', path.join(tmp, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^flowlab: '.*nope' has no readable manifest\.json .*\n$/);
  });

  it('thresholds from config change the verdict and the fingerprint', async () => {
    const lax = configFromObject({ harvest: { session_min_scenarios: 0 } });
    const a = (await runHarvest(run.runDir, { config: lax })).summary;
    expect(check(a, 'session_coverage').status).toBe('pass');
    expect(a.thresholds.fingerprint).not.toBe(h.thresholds.fingerprint);
    expect(a.thresholds.config_fingerprint).not.toBe(CONFIG.fingerprint);
    expect(a.thresholds.source).toBe('config');
    const strict = configFromObject({ harvest: { events_min: 1e9 } });
    const b = (await runHarvest(run.runDir, { config: strict })).summary;
    expect(check(h, 'events_volume').status).toBe('pass');
    expect(check(b, 'events_volume').status).toBe('fail');
    expect(b.thresholds.fingerprint).not.toBe(h.thresholds.fingerprint);
    // the run's own config decides its run_tag.txt: a replay under the lax config is not tagged
    const laxRun = await replay({
      data: path.join(tmp, 'six'),
      config: lax,
      out: path.join(tmp, 'runs'),
      runTag: 'six-lax',
      progress: false,
      symbols: ['BTCUSDT'],
    });
    const tag = fs.readFileSync(path.join(laxRun.runDir, 'run_tag.txt'), 'utf8');
    const sc = (await runHarvest(laxRun.runDir)).summary;
    expect(sc.scene_coverage_miss).toBe(check(sc, 'scenario_coverage').status === 'pass' ? 0 : 1);
    expect(tag).toContain(`scene_coverage_miss=${sc.scene_coverage_miss}\n`);
    expect(tag).toContain(`config_fingerprint=${lax.fingerprint}\n`);
  }, 120_000);
});

describe('a dataset built to miss coverage', () => {
  it('2 h of one quiet symbol: insufficient_coverage in run_tag.txt and the summary, failing pairs named', async () => {
    const data = path.join(tmp, 'quiet');
    await synthesize({ ...DEFAULT_SYNTH, symbols: ['ADAUSDT'], hours: 2 }, data);
    const r = await replay({ data, config: CONFIG, out: path.join(tmp, 'runs'), runTag: 'quiet', progress: false });
    const tag = fs.readFileSync(path.join(r.runDir, 'run_tag.txt'), 'utf8');
    expect(tag).toMatch(/^scene_coverage_miss=1$/m);
    expect(tag).toMatch(/^tags=insufficient_coverage$/m);
    const rep = await runHarvest(r.runDir);
    const s = rep.summary;
    expect(s.tags).toEqual(['insufficient_coverage']);
    // 00-02 UTC is Tokyo: London and NY hold no trade at all
    expect(s.coverage_failing).toEqual(expect.arrayContaining(['ADAUSDT:London', 'ADAUSDT:NY']));
    expect(tag).toContain(`coverage_failing=${s.coverage_failing.join(',')}\n`);
    const [{ n: londonRows }] = await queryRows(
      `SELECT count(*)::DOUBLE AS n FROM ${glob(r.runDir, 'prices')} WHERE session <> 'Tokyo'`,
    );
    expect(n(londonRows)).toBe(0);
    // the slices manifests are deterministic outputs of the replay: a second replay writes the same bytes
    const again = await replay({
      data,
      config: CONFIG,
      out: path.join(tmp, 'runs'),
      runTag: 'quiet2',
      progress: false,
    });
    const hourly = fs.readdirSync(path.join(r.runDir, 'slices')).filter((f) => f !== 'slices_summary.json');
    expect(hourly).toHaveLength(2);
    for (const f of hourly)
      expect(fs.readFileSync(path.join(again.runDir, 'slices', f), 'utf8'), f).toBe(
        fs.readFileSync(path.join(r.runDir, 'slices', f), 'utf8'),
      );
    const strip = (dir: string) => {
      const j = JSON.parse(fs.readFileSync(path.join(dir, 'slices', 'slices_summary.json'), 'utf8'));
      delete j.run_tag;
      return j;
    };
    expect(strip(again.runDir)).toEqual(strip(r.runDir));
    // a run with only some tables (replay --tables): no slices, the checks on missing tables insufficient
    const part = await replay({
      data,
      config: CONFIG,
      out: path.join(tmp, 'runs'),
      runTag: 'quiet-fusion',
      progress: false,
      tables: ['fusion', 'cvd'],
    });
    expect(fs.existsSync(path.join(part.runDir, 'slices'))).toBe(false);
    expect(fs.readFileSync(path.join(part.runDir, 'run_tag.txt'), 'utf8')).not.toContain('scene_coverage_miss');
    const ps = (await runHarvest(part.runDir)).summary;
    expect(check(ps, 'scenario_coverage').status).toBe('insufficient');
    expect(check(ps, 'scenario_coverage').reason).toMatch(/did not write the prices table/);
    expect(check(ps, 'events_volume').status).toBe('insufficient');
    expect(check(ps, 'winsor_separation').figure).toBe(check(s, 'winsor_separation').figure);
    expect(ps.scene_coverage_miss).toBeNull();
    expect(ps.tags).toEqual([]);
    expect(ps.verdict).toBe('INSUFFICIENT');
    const out = path.join(tmp, 'dq-quiet');
    writeHarvestReport(rep, out);
    const md = fs.readFileSync(path.join(out, 'harvest_acceptance.md'), 'utf8');
    expect(md.split('\n')[0]).toBe('# Harvest acceptance (seed 1.3.1): FAIL');
    expect(md).toContain('ADAUSDT:London');
  }, 120_000);
});

describe('judgeCoverage / judgeEvents / judgeWinsor (rules at their edges)', () => {
  const TH = DEFAULT_HARVEST_THRESHOLDS;
  it('a cell passes with min rows or min share, whichever is easier; an empty cell or absent symbol fails', () => {
    const c = new CoverageCounts(['London', 'NY', 'Tokyo']);
    // X: 10,000 labelled rows, Q_L 500 = 5% (passes by share), A_H 6000
    c.add('X', 0, 2, 3, 6000);
    c.add('X', 0, 2, 2, 2000);
    c.add('X', 0, 2, 1, 1500);
    c.add('X', 0, 2, 0, 499);
    c.add('X', 1, 2, 0, 1);
    c.add('X', 1, 2, -1, 77); // warm-up: not labelled, not in the share's base
    let j = judgeCoverage(c, ['X', 'Y'], TH);
    expect(j.scenario_coverage.failing).toEqual(['Y:A_H', 'Y:A_L', 'Y:Q_H', 'Y:Q_L']);
    expect((j.scenario_coverage.by_symbol as Record<string, { need: number }>).X.need).toBe(500);
    c.add('X', 1, 2, 0, -1);
    j = judgeCoverage(c, ['X'], TH);
    expect(j.scenario_coverage.failing).toEqual(['X:Q_L']); // 499 < 0.05 x 9999
    // sessions: Tokyo has A_H, A_L, Q_H >= 1000; London and NY none
    expect(j.session_coverage.failing).toEqual(['X:London', 'X:NY']);
    expect(j.scene_coverage_miss).toBe(1);
    const lax = { ...TH, session_min_scenarios: 0, scenario_min_share: 0.0499 };
    expect(judgeCoverage(c, ['X'], lax).scene_coverage_miss).toBe(0);
    const zero = new CoverageCounts(['Tokyo']);
    zero.add('Z', 0, 0, 3, 10);
    expect(judgeCoverage(zero, ['Z'], { ...TH, scenario_min_share: 0 }).scenario_coverage.failing).toEqual([
      'Z:A_L',
      'Z:Q_H',
      'Z:Q_L',
    ]);
  });

  it('events scale with symbol-hours; winsor needs a tail beyond the limit and no clamp violation', () => {
    const by = { A: { divergence: 100, pivot: 30, anomaly: 8 } };
    // 138 events over 72 symbol-hours need 1000 x 72 / 432 = 166.7
    expect(judgeEvents({ by_symbol: by, symbol_hours: 72 }, TH).status).toBe('fail');
    expect(judgeEvents({ by_symbol: by, symbol_hours: 59.6 }, TH).status).toBe('pass');
    expect(judgeEvents({ by_symbol: by, symbol_hours: 0 }, TH).status).toBe('insufficient');
    const w = (beyond: number, violations: number, emitted = 5000) => ({
      A: { emitted, beyond, violations, max_abs_z_cvd: 8, z_raw_tails: null, z_cvd_tails: null },
    });
    expect(judgeWinsor(w(3, 0), 8, TH).status).toBe('pass');
    expect(judgeWinsor(w(0, 0), 8, TH).status).toBe('fail');
    expect(judgeWinsor(w(3, 1), 8, TH).status).toBe('fail');
    expect(judgeWinsor(w(3, 0, 999), 8, TH).status).toBe('insufficient');
  });
});
