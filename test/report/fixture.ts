/** Crafted canary_report/ fixture files (exact schemas of the canary writer), written to a folder. */
import fs from 'node:fs';
import path from 'node:path';
import { writeCsv } from '../../src/report/csv.js';

export const T0 = Date.UTC(2024, 7, 8, 8, 0, 0); // 2024-08-08 08:00:00 UTC
const MIN = 60_000;
export const SYMBOLS = ['SOLUSDT', 'ADAUSDT'] as const; // deliberately unsorted
export const FP_A = 'a1b2c3d4e5f60718';
export const FP_B = '0918273645aabbcc';

const iso = (ms: number) => new Date(ms).toISOString();

export const VERDICTS = {
  run_tag: 'canary-20240808-0800',
  config_fingerprint: FP_A,
  pooled_weights: [
    {
      slice: 'Active',
      w_ofi: 0.8,
      w_cvd: 0.2,
      auc_oos: 0.5911,
      auc_oos_ci: [0.575, 0.6072],
      n_oos: 4230,
      folds: 3,
      effective_hours: 10.484,
    },
    {
      slice: 'Quiet',
      w_ofi: null,
      w_cvd: null,
      auc_oos: null,
      auc_oos_ci: null,
      n_oos: 0,
      folds: 0,
      effective_hours: 0,
      reason: 'no fold with enough samples',
    },
  ],
  symbols: {
    SOLUSDT: {
      include_in_pool: false,
      reason: 'active_auc fails (0.541 < 0.58); merge_p99 | P1 still open',
      checks: [
        {
          name: 'active_auc',
          label: 'Active AUC >= 0.58',
          value: 0.5412,
          ci: [0.512, 0.5704],
          n: 1830,
          threshold: 0.58,
          op: '>=',
          status: 'fail',
        },
        {
          name: 'ece',
          label: 'ECE <= 0.10',
          value: null,
          ci: null,
          n: 12,
          threshold: 0.1,
          op: '<=',
          status: 'insufficient',
          detail: 'insufficient samples (n=12; need >= 30)',
        },
        {
          name: 'merge_p99',
          label: 'merge p99 <= 2000 ms',
          value: 2350.25,
          ci: null,
          n: 5400,
          threshold: 2000,
          op: '<=',
          status: 'fail',
        },
        {
          name: 'brier_skill',
          label: 'Brier skill > 0',
          value: -0.0123,
          ci: null,
          n: 5400,
          threshold: 0,
          op: '>',
          status: 'fail',
        },
        {
          name: 'session_best',
          label: 'best session AUC >= 0.60 and ECE <= 0.10',
          value: null,
          ci: null,
          n: 17,
          threshold: 0.6,
          op: '>=',
          status: 'insufficient',
          detail: 'no session meets both',
        },
        {
          name: 'no_open_p1',
          label: 'no open P1 incident',
          value: 1,
          ci: null,
          n: 2,
          threshold: 0,
          op: '==',
          status: 'fail',
        },
      ],
      weights: [
        { slice: 'Active', w_ofi: 0.7, w_cvd: 0.3, auc_oos: null, auc_oos_ci: null, n_oos: 22, effective_hours: 0.25 },
        {
          slice: 'Quiet',
          w_ofi: 0.6,
          w_cvd: 0.4,
          auc_oos: 0.5301,
          auc_oos_ci: [0.501, 0.559],
          n_oos: 2100,
          effective_hours: 1.5,
        },
      ],
    },
    ADAUSDT: {
      include_in_pool: true,
      reason: 'all DoD checks pass',
      checks: [
        {
          name: 'active_auc',
          label: 'Active AUC >= 0.58',
          value: 0.6123,
          ci: [0.5901, 0.6345],
          n: 2400,
          threshold: 0.58,
          op: '>=',
          status: 'pass',
        },
        {
          name: 'ece',
          label: 'ECE <= 0.10',
          value: 0.0431,
          ci: null,
          n: 5400,
          threshold: 0.1,
          op: '<=',
          status: 'pass',
        },
        {
          name: 'merge_p99',
          label: 'merge p99 <= 2000 ms',
          value: 1834.5,
          ci: null,
          n: 5400,
          threshold: 2000,
          op: '<=',
          status: 'pass',
        },
        {
          name: 'brier_skill',
          label: 'Brier skill > 0',
          value: 0.0211,
          ci: null,
          n: 5400,
          threshold: 0,
          op: '>',
          status: 'pass',
        },
        {
          name: 'session_best',
          label: 'best session AUC >= 0.60 and ECE <= 0.10',
          value: 0.6311,
          ci: [0.6012, 0.661],
          n: 1800,
          threshold: 0.6,
          op: '>=',
          status: 'pass',
          detail: 'London',
        },
        {
          name: 'no_open_p1',
          label: 'no open P1 incident',
          value: 0,
          ci: null,
          n: 1,
          threshold: 0,
          op: '==',
          status: 'pass',
        },
      ],
      weights: [
        {
          slice: 'Active',
          w_ofi: 0.75,
          w_cvd: 0.25,
          auc_oos: 0.6034,
          auc_oos_ci: [0.5812, 0.6256],
          n_oos: 2400,
          effective_hours: 10.234,
        },
        {
          slice: 'Quiet',
          w_ofi: 0.55,
          w_cvd: 0.45,
          auc_oos: 0.5712,
          auc_oos_ci: [0.55, 0.5924],
          n_oos: 3000,
          effective_hours: 12.5,
        },
      ],
    },
  },
};

export const INCIDENTS = {
  incidents: [
    {
      id: 'INC-0002',
      symbol: 'SOLUSDT',
      slice: 'all',
      gate: 'merge_p99',
      severity: 'P1',
      opened_at_ms: T0 + 20 * MIN,
      closed_at_ms: null,
      who: 'canary',
      why: 'merge_p99 2350 > 2000 over 5m (n=300)',
      metrics_before: { merge_p99: 2350 },
      metrics_after: null,
      action: 'merge_tol_ms 1500->2000',
      actions: [
        { at_ms: T0 + 20 * MIN, action: 'merge_tol_ms 1500->2000' },
        { at_ms: T0 + 25 * MIN, action: 'merge_tol_ms 2000->2500' },
      ],
      fingerprint_before: FP_A,
      fingerprint_after: FP_B,
    },
    {
      id: 'INC-0001',
      symbol: 'ADAUSDT',
      slice: 'Active',
      gate: 'fusion_auc_active',
      severity: 'P2',
      opened_at_ms: T0 + 12 * MIN,
      closed_at_ms: T0 + 18 * MIN + 30_000,
      who: 'canary',
      why: 'fusion_auc_active 0.512 < 0.58 over 10m (n=540) | low',
      metrics_before: { auc: 0.512, n: 540 },
      metrics_after: { auc: 0.6, n: 560 },
      action: 'downweight_slice',
      fingerprint_before: FP_A,
      fingerprint_after: FP_A,
    },
  ],
  fingerprints: [
    { symbol: 'SOLUSDT', fingerprint: FP_B, from_ms: T0 + 20 * MIN, reason: 'merge_tol_ms 1500->2000 (INC-0002)' },
    { symbol: 'ADAUSDT', fingerprint: FP_A, from_ms: null, reason: 'config at start' },
    { symbol: 'SOLUSDT', fingerprint: FP_A, from_ms: null, reason: 'config at start' },
  ],
};

/** metrics_timeseries.csv written by hand (unquoted, as another writer might). */
function metricsText(): string {
  const header =
    'ts_ms,time_utc,symbol,slice,window_sec,auc,auc_ci_low,auc_ci_high,n,n_pos,n_neg,ece,ece_n,merge_p50,merge_p90,merge_p99,merge_n,calibration_paused,w_ofi,w_cvd,merge_tol_ms,fingerprint,gates_failed';
  const lines = [header];
  for (let m = 1; m <= 30; m++) {
    const ts = T0 + m * MIN;
    for (const sym of ['ADAUSDT', 'SOLUSDT']) {
      for (const slice of ['all', 'Active', 'Quiet']) {
        const warm = m < 5; // insufficient early on
        const auc = warm
          ? ''
          : (0.55 + 0.002 * m + (slice === 'Active' ? 0.02 : 0) - (sym === 'SOLUSDT' ? 0.04 : 0)).toFixed(4);
        const ci = warm ? ',' : `${(Number(auc) - 0.03).toFixed(4)},${(Number(auc) + 0.03).toFixed(4)}`;
        const ece = warm || (sym === 'SOLUSDT' && m % 7 === 0) ? '' : (0.05 + 0.001 * m).toFixed(4);
        const p99 = sym === 'SOLUSDT' && m >= 20 ? 2350 : 1800;
        const gates = sym === 'SOLUSDT' && m >= 20 ? 'fusion_auc_active;merge_p99' : '';
        const fp = sym === 'SOLUSDT' && m >= 20 ? FP_B : FP_A;
        lines.push(
          `${ts},${iso(ts)},${sym},${slice},600,${auc},${ci},${warm ? 20 : 540},${warm ? 8 : 270},${warm ? 12 : 270},${ece},${warm ? 20 : 540},120,600,${p99},300,${m % 10 === 0 ? 1 : 0},0.7,0.3,${sym === 'SOLUSDT' && m >= 20 ? 2000 : 1500},${fp},${gates}`,
        );
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

export function writeFixture(dir: string, opts: { reliability?: boolean } = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'verdicts.json'), JSON.stringify(VERDICTS, null, 2));
  fs.writeFileSync(path.join(dir, 'incidents.json'), JSON.stringify(INCIDENTS, null, 2));
  fs.writeFileSync(path.join(dir, 'metrics_timeseries.csv'), metricsText());

  const sliceHeader = [
    'symbol',
    'dimension',
    'value',
    'rows',
    'labeled',
    'n_pos',
    'n_neg',
    'effective_hours',
    'auc',
    'auc_ci_low',
    'auc_ci_high',
    'ece',
    'brier',
    'brier_skill',
    'topk_hit_rate_5p',
    'reason',
  ];
  const sliceRows: (string | number | null)[][] = [];
  const dims: [string, string[]][] = [
    ['scenario_2x2', ['A_H', 'A_L', 'Q_H', 'Q_L']],
    ['all', ['all']],
    ['session', ['Tokyo', 'London', 'NY']],
    ['regime', ['Active', 'Quiet']],
    ['vol_tertile', ['Q1', 'Median', 'Q3+']],
  ];
  for (const sym of ['ALL', 'ADAUSDT', 'SOLUSDT']) {
    let k = 0;
    for (const [dim, values] of dims) {
      for (const v of values) {
        k++;
        const thin = sym === 'SOLUSDT' && v === 'A_L';
        const auc = thin ? null : 0.52 + 0.01 * k;
        sliceRows.push([
          sym,
          dim,
          v,
          thin ? 40 : 3600,
          thin ? 25 : 3500,
          thin ? 12 : 1750,
          thin ? 13 : 1750,
          thin ? 0.011 : 1,
          auc,
          auc === null ? null : auc - 0.02,
          auc === null ? null : auc + 0.02,
          thin ? null : 0.04,
          thin ? null : 0.245,
          thin ? null : 0.01,
          thin ? null : 0.55,
          thin ? 'insufficient samples (n_pos=12, n_neg=13; need >= 30 each)' : '',
        ]);
      }
    }
  }
  writeCsv(path.join(dir, 'slices_overview.csv'), sliceHeader, sliceRows);

  const calHeader = [
    'symbol',
    'fold',
    'fold_start_ms',
    'status',
    'platt_train_samples',
    'platt_test_samples',
    'A',
    'B',
    'train_base_rate',
    'ece',
    'brier',
    'brier_skill',
    'auc',
  ];
  const calRows: (string | number | null)[][] = [];
  for (const sym of ['ADAUSDT', 'SOLUSDT']) {
    for (let f = 0; f < 4; f++) {
      const ins = f === 0 || (sym === 'SOLUSDT' && f === 3);
      calRows.push([
        sym,
        f,
        T0 + f * 1_800_000,
        ins ? 'insufficient' : 'ok',
        ins ? 20 : 3600,
        ins ? 0 : 1800,
        ins ? null : -1.2 - 0.1 * f,
        ins ? null : 0.01 * f,
        ins ? null : 0.5,
        ins ? null : 0.03 + 0.01 * f,
        ins ? null : 0.24,
        ins ? null : 0.02,
        ins ? null : 0.6,
      ]);
    }
  }
  writeCsv(path.join(dir, 'calibration_summary.csv'), calHeader, calRows);

  const mergeHeader = [
    'ts_ms',
    'time_utc',
    'symbol',
    'window_sec',
    'p50',
    'p90',
    'p99',
    'n',
    'match_rate',
    'merge_tol_ms',
  ];
  const mergeRows: (string | number | null)[][] = [];
  for (let m = 1; m <= 30; m++) {
    const ts = T0 + m * MIN;
    for (const sym of ['ADAUSDT', 'SOLUSDT']) {
      const gap = m === 15; // no samples in that window
      mergeRows.push([
        ts,
        iso(ts),
        sym,
        300,
        gap ? null : 120 + m,
        gap ? null : 600,
        gap ? null : sym === 'SOLUSDT' && m >= 20 ? 2350 : 1800,
        gap ? 0 : 300,
        gap ? null : 0.998,
        sym === 'SOLUSDT' && m >= 20 ? 2000 : 1500,
      ]);
    }
  }
  writeCsv(path.join(dir, 'merge_time_diff_ms.csv'), mergeHeader, mergeRows);

  if (opts.reliability !== false) {
    const relRows: (string | number | null)[][] = [];
    for (const sym of ['ADAUSDT', 'ALL']) {
      for (let b = 0; b < 10; b++) {
        const empty = b === 0 || b === 9;
        relRows.push([
          sym,
          b,
          b / 10,
          (b + 1) / 10,
          empty ? 0 : 100 * b,
          empty ? null : b / 10 + 0.05,
          empty ? null : b / 10 + 0.04,
        ]);
      }
    }
    writeCsv(path.join(dir, 'reliability.csv'), ['symbol', 'bin', 'lo', 'hi', 'count', 'mean_p', 'mean_y'], relRows);
  }
}
