/**
 * Re-scoring a canary run from its stored fusion components equals running
 * the canary with those weights, gate and slice overrides: the same
 * slices_overview.csv bytes and the same Active AUC / CI / n, ECE and Brier
 * skill as verdicts.json (full precision).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SYNTH, synthesize } from '../../src/synth/index.js';
import { runCanary, type CanaryRun } from '../../src/canary/canary.js';
import { configToYaml, loadConfig } from '../../src/config/load.js';
import { loadRescoreRun, rescore, type RescoreRun, type RescoreTrack } from '../../src/canary/rescore.js';
import { formatCsv } from '../../src/report/csv.js';
import { overviewCells, SLICES_OVERVIEW_CSV_HEADER } from '../../src/canary/overview.js';
import { queryRows, sqlString } from '../../src/io/duck.js';
import { REPO } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-rescore-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PROD = path.join(REPO, 'config/ofi_cvd/prod.yaml');
const OTHER = {
  weights: { ofi: 0.25, cvd: 0.75 },
  gate: 0.3,
  slices: { Quiet: { ofi: 0.9, cvd: 0.1 }, London: { ofi: 0.5, cvd: 0.5 } },
};
let base: CanaryRun;
let other: CanaryRun;
let run: RescoreRun;

beforeAll(async () => {
  const data = path.join(tmp, 'd');
  await synthesize({ ...DEFAULT_SYNTH, symbols: ['BTCUSDT', 'ETHUSDT'], hours: 4 }, data);
  const prod = loadConfig(PROD, {});
  // a full config (no `extends`: no rollback target, as re-scoring assumes)
  const cfg = structuredClone(prod.config);
  cfg.fusion.weights = OTHER.weights;
  cfg.fusion.gate = OTHER.gate;
  cfg.fusion.slice_overrides = OTHER.slices;
  const otherFile = path.join(tmp, 'other.yaml');
  fs.writeFileSync(otherFile, configToYaml(cfg));
  const go = (file: string, tag: string) =>
    runCanary({
      data,
      config: loadConfig(file, {}),
      configPath: file,
      out: path.join(tmp, 'runs'),
      runTag: tag,
      progress: false,
    });
  base = await go(PROD, 'base');
  other = await go(otherFile, 'other');
  run = await loadRescoreRun(base.replay.runDir);
}, 600_000);

const csvOf = (rows: ReturnType<typeof rescore>['rows']) =>
  formatCsv([...SLICES_OVERVIEW_CSV_HEADER], rows.map(overviewCells));
const csvFile = (r: CanaryRun) => fs.readFileSync(path.join(r.reportDir, 'slices_overview.csv'), 'utf8');

describe('rescore (stored components -> canary metrics)', () => {
  it('under the run own config: the scores of eval_samples.parquet and its slices_overview.csv', async () => {
    const r = rescore(run);
    expect(csvOf(r.rows)).toBe(csvFile(base));
    expect(r.applied.weights).toEqual(loadConfig(PROD, {}).config.fusion.weights);
    const file = path.join(base.reportDir, 'eval_samples.parquet');
    const n = await queryRows(`SELECT count(*)::INTEGER AS n FROM read_parquet(${sqlString(file)})`);
    expect(run.tracks.get('BTCUSDT')!.t.length + run.tracks.get('ETHUSDT')!.t.length).toBe(n[0].n);
  });

  it('under other weights, gate and slice overrides: equal to the canary run with that config', () => {
    const r = rescore(run, OTHER);
    expect(csvOf(r.rows)).toBe(csvFile(other));
    const v = JSON.parse(fs.readFileSync(path.join(other.reportDir, 'verdicts.json'), 'utf8'));
    for (const sym of ['BTCUSDT', 'ETHUSDT']) {
      const checks = v.symbols[sym].checks as { name: string; value: number | null; ci: number[] | null; n: number }[];
      const active = checks.find((c) => c.name === 'active_auc')!;
      const row = r.rows.find((x) => x.group === sym && x.dim === 'regime' && x.value === 'Active')!;
      expect(row.auc.auc).toBe(active.value);
      expect([row.auc.ci_low, row.auc.ci_high]).toEqual(active.ci);
      expect(row.auc.n).toBe(active.n);
      // the verdict's ECE and Brier skill come from ece() / brierSkillVsRef() on the symbol's rows in row
      // order, the overview's from sliceMetrics' per-combination sums: equal to rounding (1e-12 relative to
      // max(|value|, 1); test/eval/multislice.test.ts), not to the bit
      const all = r.rows.find((x) => x.group === sym && x.dim === 'all')!;
      for (const [got, name] of [
        [all.ece.value, 'ece'],
        [all.brier_skill.value, 'brier_skill'],
      ] as const) {
        const want = checks.find((c) => c.name === name)!.value;
        expect(got, name).not.toBeNull();
        expect(want, name).not.toBeNull();
        expect(Math.abs(got! - want!), name).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want!)));
      }
    }
    // and it is a different result from the base run (the test would be vacuous otherwise)
    expect(csvOf(r.rows)).not.toBe(csvFile(base));
  });

  it('is deterministic, restricts to symbols and dimensions, and rejects bad requests', () => {
    const a = rescore(run, { ...OTHER, symbols: ['ETHUSDT'], dims: ['regime'] });
    const b = rescore(run, { ...OTHER, symbols: ['ETHUSDT'], dims: ['regime'] });
    expect(csvOf(a.rows)).toBe(csvOf(b.rows));
    expect(new Set(a.rows.map((x) => x.group))).toEqual(new Set(['ETHUSDT', 'ALL']));
    expect(new Set(a.rows.map((x) => x.dim))).toEqual(new Set(['all', 'regime']));
    const full = rescore(run, OTHER).rows.find((x) => x.group === 'ETHUSDT' && x.value === 'Active')!;
    expect(a.rows.find((x) => x.group === 'ETHUSDT' && x.value === 'Active')!.auc).toEqual(full.auc);
    // without calibration: the same AUCs, CIs and counts; ECE / Brier skill not computed
    const fast = rescore(run, { ...OTHER, calibrate: false, topk: false });
    const fullRows = rescore(run, OTHER).rows;
    expect(fast.rows.map((x) => [x.group, x.dim, x.value, x.auc])).toEqual(
      fullRows.map((x) => [x.group, x.dim, x.value, x.auc]),
    );
    expect(fast.rows.every((x) => x.ece.value === null && x.brier_skill.value === null && x.topk.value === null)).toBe(
      true,
    );
    expect(() => rescore(run, { symbols: ['DOGEUSDT'] })).toThrow(/symbols: 'DOGEUSDT' is not in run/);
    expect(() => rescore(run, { weights: { ofi: -1, cvd: 1 } })).toThrow(/weights\.ofi: -1 is not valid/);
  });

  it('restricts to a sample time window [fromMs, toMs): equal to re-scoring a run holding only those samples', () => {
    // the reference: every track filtered row by row (a slow obvious copy, not the binary search + views)
    const only = (from: number, to: number): RescoreRun => {
      const tracks = new Map<string, RescoreTrack>();
      for (const [s, tr] of run.tracks) {
        const keep: number[] = [];
        for (let i = 0; i < tr.t.length; i++) if (tr.t[i] >= from && tr.t[i] < to) keep.push(i);
        const f = (a: Float64Array) => Float64Array.from(keep, (i) => a[i]);
        const b = (a: Int8Array) => Int8Array.from(keep, (i) => a[i]);
        tracks.set(s, {
          symbol: s,
          t: f(tr.t),
          z_ofi: f(tr.z_ofi),
          z_cvd: f(tr.z_cvd),
          dir: f(tr.dir),
          y: f(tr.y),
          resolved_at: f(tr.resolved_at),
          session: b(tr.session),
          regime: b(tr.regime),
          vol_bucket: b(tr.vol_bucket),
          vol_tertile: b(tr.vol_tertile),
          scenario: b(tr.scenario),
        });
      }
      return { ...run, tracks };
    };
    const t = run.tracks.get('BTCUSDT')!.t;
    const t0 = t[0];
    const mid = t0 + 90 * 60_000 + 500; // between two samples: 90.5 min in
    const end = t0 + 150 * 60_000; // on a sample: excluded (toMs is exclusive)
    expect(t.includes(end)).toBe(true);
    for (const [from, to] of [
      [mid, end],
      [mid, undefined],
      [undefined, end],
    ] as const) {
      const got = rescore(run, { ...OTHER, fromMs: from, toMs: to });
      const want = rescore(only(from ?? -Infinity, to ?? Infinity), OTHER);
      expect(csvOf(got.rows)).toBe(csvOf(want.rows));
      const all = got.rows.find((x) => x.group === 'BTCUSDT' && x.dim === 'all')!;
      let n = 0;
      for (let i = 0; i < t.length; i++) if (t[i] >= (from ?? -Infinity) && t[i] < (to ?? Infinity)) n++;
      expect(all.rows).toBe(n);
      expect(all.rows).toBeLessThan(t.length);
      expect(all.auc.auc).not.toBeNull();
    }
    const whole = rescore(run, OTHER);
    expect(csvOf(rescore(run, { ...OTHER, fromMs: t0 - 1, toMs: 1e15 }).rows)).toBe(csvOf(whole.rows));
    const none = rescore(run, { ...OTHER, fromMs: end, toMs: mid }).rows.find(
      (x) => x.group === 'ALL' && x.dim === 'all',
    )!;
    expect(none.rows).toBe(0);
    expect(none.auc.auc).toBeNull();
    expect(() => rescore(run, { fromMs: Number.NaN })).toThrow(/fromMs: NaN is not valid \(expected a time in ms\)/);
  });
});
