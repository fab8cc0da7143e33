/**
 * The canary bench's summary logic (bench/canary-summary.ts) on hand-made run
 * folders whose figures are worked out by hand here: false alarms, detection
 * delay with misses, verdict counts and the gate statistic's bias.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatSummary, gateKind, readRun, summarize, type RunSpec } from '../../bench/canary-summary.js';
import { parseModes, parseSeeds } from '../../bench/canary.bench.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-canary-bench-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const T0 = Date.UTC(2024, 7, 8);
const H = 3_600_000;
const NOON = T0 + 12 * H;

interface Inc {
  symbol: string;
  gate: string;
  severity: string;
  at: number;
  mode?: string;
}

const TS_HEADER =
  'ts_ms,time_utc,symbol,slice,window_sec,auc,auc_ci_low,auc_ci_high,n,n_pos,n_neg,ece,ece_n,merge_p50,merge_p90,merge_p99,merge_n,calibration_paused,w_ofi,w_cvd,merge_tol_ms,fingerprint,gates_failed';
const OV_HEADER =
  'symbol,dimension,value,rows,labeled,n_pos,n_neg,effective_hours,auc,auc_ci_low,auc_ci_high,ece,brier,brier_skill,topk_hit_rate_5p,reason';

/** A canary_report folder with just the four files the bench reads. */
function runDir(
  name: string,
  o: {
    incidents: Inc[];
    include: Record<string, boolean>;
    /** [symbol, slice, auc or ''] rows of metrics_timeseries.csv */
    ts: [string, string, number | ''][];
    /** extra gate_auc column values, parallel to ts */
    gateAuc?: (number | '')[];
    /** [symbol, dimension, value, auc, n_pos, n_neg] */
    ov: [string, string, string, number, number, number][];
  },
): string {
  const dir = path.join(tmp, name, 'canary_report');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'incidents.json'),
    JSON.stringify({
      incidents: o.incidents.map((x, i) => ({
        id: `INC-${i}`,
        symbol: x.symbol,
        slice: 'Active',
        gate: x.gate,
        severity: x.severity,
        opened_at_ms: x.at,
        closed_at_ms: null,
        ...(x.mode ? { gate_mode: x.mode } : {}),
      })),
      fingerprints: [],
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'verdicts.json'),
    JSON.stringify({
      run_tag: name,
      symbols: Object.fromEntries(
        Object.entries(o.include).map(([s, v]) => [s, { include_in_pool: v, reason: '', checks: [] }]),
      ),
    }),
  );
  const header = o.gateAuc ? `${TS_HEADER},gate_auc` : TS_HEADER;
  const rows = o.ts.map(
    ([sym, slice, auc], i) =>
      `${T0 + i * 60_000},x,${sym},${slice},600,${auc},,,0,0,0,,0,1,1,1,1,0,0.6,0.4,1500,abc,""${o.gateAuc ? `,${o.gateAuc[i]}` : ''}`,
  );
  fs.writeFileSync(path.join(dir, 'metrics_timeseries.csv'), `${[header, ...rows].join('\n')}\n`);
  const ov = o.ov.map(
    ([s, d, v, auc, p, n]) => `${s},${d},${v},100,100,${p},${n},1,${auc},${auc - 0.05},${auc + 0.05},,,,,`,
  );
  fs.writeFileSync(path.join(dir, 'slices_overview.csv'), `${[OV_HEADER, ...ov].join('\n')}\n`);
  return dir;
}

const DYING = (seed: number, reportDir: string): RunSpec => ({
  case: 'dying',
  seed,
  mode: 'seed',
  reportDir,
  symbols: ['BTCUSDT', 'SOLUSDT'],
  startMs: T0,
  hours: 24,
  change: { symbol: 'SOLUSDT', atMs: NOON },
});

const OV_BOTH: [string, string, string, number, number, number][] = [
  ['BTCUSDT', 'all', 'all', 0.51, 40, 60],
  ['BTCUSDT', 'regime', 'Active', 0.52, 10, 20],
  ['SOLUSDT', 'all', 'all', 0.49, 30, 30],
  ['SOLUSDT', 'regime', 'Active', 0.47, 5, 5],
];

describe('canary bench summary', () => {
  it('classifies gates by name', () => {
    expect(gateKind('fusion_auc_active')).toBe('discrimination');
    expect(gateKind('p1_timeout')).toBe('discrimination');
    expect(gateKind('ece')).toBe('calibration');
    expect(gateKind('platt_test_samples')).toBe('calibration');
    expect(gateKind('merge_p99')).toBe('merge');
    expect(gateKind('disk_full')).toBe('other');
  });

  it('reads one dying run: false alarms before the change and on the other symbol, the first P1 after it', () => {
    const dir = runDir('d1', {
      incidents: [
        { symbol: 'SOLUSDT', gate: 'ece', severity: 'P2', at: T0 + 3 * H }, // false, before the change
        { symbol: 'SOLUSDT', gate: 'fusion_auc_active', severity: 'P1', at: NOON - 60_000 }, // false, before
        { symbol: 'SOLUSDT', gate: 'ece', severity: 'P2', at: NOON + 10 * 60_000 }, // after: not a false alarm, not P1
        { symbol: 'SOLUSDT', gate: 'fusion_auc_active', severity: 'P1', at: NOON + 30 * 60_000 }, // detection, 30 min
        { symbol: 'SOLUSDT', gate: 'p1_timeout', severity: 'P1', at: NOON + 60 * 60_000 },
        { symbol: 'BTCUSDT', gate: 'ece', severity: 'P2', at: NOON + H }, // false, other symbol
        { symbol: 'BTCUSDT', gate: 'merge_p99', severity: 'P2', at: T0 + H }, // not counted
        { symbol: 'BTCUSDT', gate: 'disk_full', severity: 'P1', at: T0 + H }, // other: not counted
      ],
      include: { BTCUSDT: true, SOLUSDT: false },
      ts: [
        ['BTCUSDT', 'Active', 0.4],
        ['BTCUSDT', 'Active', 0.5],
        ['BTCUSDT', 'Active', ''],
        ['BTCUSDT', 'all', 0.9],
        ['SOLUSDT', 'Active', 0.45],
      ],
      ov: OV_BOTH,
    });
    const r = readRun(DYING(1, dir));
    expect(r.falseAlarms).toBe(3);
    expect(r.falseAlarmsBeforeChange).toBe(2);
    expect(r.alarmSymbolDays).toBe(1.5);
    expect(r.detectionDelayMs).toBe(30 * 60_000);
    expect(r.recommended).toEqual(['BTCUSDT']);
    expect(r.byGate).toEqual({ ece: 3, fusion_auc_active: 2, p1_timeout: 1, merge_p99: 1, disk_full: 1 });
    const btc = r.gateStat.find((g) => g.symbol === 'BTCUSDT')!;
    expect(btc).toMatchObject({ column: 'auc', slice: 'Active', rows: 2, pooled: 0.52 });
    expect(btc.mean).toBeCloseTo(0.45, 12);
    expect(r.pooled[0]).toEqual({ symbol: 'BTCUSDT', auc: 0.51, ci: [0.46, 0.56], n: 100 });
    expect(r.gateModes).toEqual([]);
  });

  it('prefers gate_auc when the file has it, and aggregates seeds with misses counted as infinitely late', () => {
    const mk = (name: string, delayMin: number | null) =>
      readRun(
        DYING(
          Number(name.slice(1)),
          runDir(name, {
            incidents:
              delayMin === null
                ? [{ symbol: 'SOLUSDT', gate: 'ece', severity: 'P2', at: NOON + H, mode: 'seed' }]
                : [
                    {
                      symbol: 'SOLUSDT',
                      gate: 'fusion_auc_active',
                      severity: 'P1',
                      at: NOON + delayMin * 60_000,
                      mode: 'seed',
                    },
                  ],
            include: { BTCUSDT: false, SOLUSDT: delayMin === null },
            ts: [
              ['BTCUSDT', 'Active', 0.1],
              ['BTCUSDT', 'Active', 0.1],
              ['SOLUSDT', 'all', 0.1],
            ],
            gateAuc: [0.5, '', 0.44],
            ov: OV_BOTH,
          }),
        ),
      );
    const runs = [mk('d2', 30), mk('d3', 90), mk('d4', null)];
    expect(runs[0].gateStat.map((g) => [g.column, g.slice, g.mean, g.pooled])).toEqual([
      ['gate_auc', 'Active', 0.5, 0.52],
      ['gate_auc', 'all', 0.44, 0.49],
    ]);
    const [s] = summarize(runs);
    expect(s.case).toBe('dying');
    expect(s.delaysMin).toEqual([30, 90]);
    expect(s.misses).toBe(1);
    expect(s.medianDelayMin).toBe(90);
    expect(s.worstDelayMin).toBe(90);
    expect(s.changedRecommended).toBe(1);
    expect(s.recommended).toBe(1);
    expect(s.falseAlarms).toBe(0);
    expect(s.symbolDays).toBe(4.5);
    expect(s.bias.map((b) => Number(b.toFixed(12)))).toEqual([-0.02, -0.05, -0.02, -0.05, -0.02, -0.05]);
    expect(s.gateModes).toEqual(['seed']);
    // two misses of three: the median is a miss
    const [t] = summarize([runs[0], runs[2], { ...runs[2], spec: { ...runs[2].spec, seed: 5 } }]);
    expect(t.medianDelayMin).toBe(Infinity);
    const text = formatSummary([s, { ...t, mode: 'evidence' }], ['seed', 'evidence']);
    const line = text.split('\n').find((l) => l.includes('detection delay median'))!;
    expect(line).toMatch(/\s90\s+miss\s*$/);
    expect(text).toMatch(/misses \(no such incident by the end of the day\)\s+1\/3\s+2\/3/);
  });

  it('counts a healthy case per symbol-day', () => {
    const dir = runDir('h1', {
      incidents: [
        { symbol: 'BTCUSDT', gate: 'fusion_auc_active', severity: 'P1', at: T0 + H },
        { symbol: 'SOLUSDT', gate: 'ece', severity: 'P2', at: T0 + 2 * H },
        { symbol: 'SOLUSDT', gate: 'merge_p99', severity: 'P2', at: T0 + 2 * H },
      ],
      include: { BTCUSDT: true, SOLUSDT: true },
      ts: [['BTCUSDT', 'Active', 0.6]],
      ov: OV_BOTH,
    });
    const spec: RunSpec = {
      case: 'healthy',
      seed: 1,
      mode: 'default',
      reportDir: dir,
      symbols: ['BTCUSDT', 'SOLUSDT'],
      startMs: T0,
      hours: 24,
    };
    const [s] = summarize([readRun(spec), readRun({ ...spec, seed: 2 })]);
    expect(s.falseAlarms).toBe(4);
    expect(s.falseAlarmsPerSymbolDay).toBe(1);
    expect(s.medianDelayMin).toBeNull();
    expect(s.recommended).toBe(4);
    expect(s.pooledAuc).toEqual([0.51, 0.49, 0.51, 0.49]);
    expect(s.pooledN).toEqual([100, 60, 100, 60]);
    expect(s.pooledCiHalf.map((x) => Number(x.toFixed(12)))).toEqual([0.05, 0.05, 0.05, 0.05]);
    const text = formatSummary([s], ['default']);
    expect(text).toMatch(/disc\+calib incidents per symbol-day \(total\)\s+1\.00 \(4\)/);
    expect(text).toMatch(/pooled fusion AUC, mean \(range\)\s+0\.500 \(0\.490\.\.0\.510\)/);
    expect(text).toMatch(/CI half-width; mean n per symbol-day\s+\+-0\.050; 80/);
  });

  it('names the file when a run folder is incomplete, and parses --seeds and --modes', () => {
    const dir = path.join(tmp, 'empty', 'canary_report');
    fs.mkdirSync(dir, { recursive: true });
    expect(() => readRun({ ...DYING(1, dir) })).toThrow(/incidents\.json: cannot be read/);
    expect(parseSeeds([])).toBe(10);
    expect(parseSeeds(['--seeds', '3'])).toBe(3);
    expect(() => parseSeeds(['--seeds', '0'])).toThrow(/--seeds: '0'/);
    expect(() => parseSeeds(['--seeds'])).toThrow(/--seeds: ''/);
    expect(parseModes([], ['seed', 'evidence'])).toEqual(['seed', 'evidence']);
    expect(parseModes(['--modes', 'evidence,seed'], ['seed', 'evidence'])).toEqual(['seed', 'evidence']);
    expect(parseModes(['--modes', 'evidence'], ['seed', 'evidence'])).toEqual(['evidence']);
    expect(() => parseModes(['--modes', 'evidence'], ['default'])).toThrow(/--modes: 'evidence'.*default/);
  });
});
