/**
 * The figures of `npm run bench -- canary`, read from the files a canary run
 * writes (incidents.json, verdicts.json, metrics_timeseries.csv,
 * slices_overview.csv) and aggregated over seeds. Nothing here runs a process:
 * canary.bench.ts runs them, test/synth/canary-bench.test.ts checks these
 * functions on a hand-made run folder.
 *
 * Gate kinds, by gate name (printed per gate so nothing is counted unseen):
 * discrimination = names with `auc`, `discrim` or `p1_timeout` (the rollback
 * timeout escalates a discrimination P1); calibration = `ece`, `calib`,
 * `platt` or `brier`; merge = `merge`; anything else is `other`. False alarms
 * and detections count discrimination + calibration incidents only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { csvRecords, readCsv, type CsvCell } from '../src/report/csv.js';

export type CaseName = 'healthy' | 'dying' | 'null';
export type GateKind = 'discrimination' | 'calibration' | 'merge' | 'other';

/** One canary run to read: its report folder and the truth it was generated with. */
export interface RunSpec {
  readonly case: CaseName;
  readonly seed: number;
  /** Gate mode label (the --gate-mode value, or 'default' when the CLI has no flag). */
  readonly mode: string;
  /** The run's canary_report folder. */
  readonly reportDir: string;
  readonly symbols: readonly string[];
  readonly startMs: number;
  readonly hours: number;
  /** Dying case: the symbol whose signal dies and when (epoch ms). */
  readonly change?: { readonly symbol: string; readonly atMs: number };
}

export interface RunFigures {
  readonly spec: RunSpec;
  /** gate -> incidents opened (any symbol). */
  readonly byGate: Record<string, number>;
  /** Discrimination + calibration incidents that are false alarms (all of them, except on the changed symbol from its change on). */
  readonly falseAlarms: number;
  /** ... of which on the changed symbol before its change (dying). */
  readonly falseAlarmsBeforeChange: number;
  /** Symbol-days (or, for the changed symbol, the part before the change) the false alarms were counted over. */
  readonly alarmSymbolDays: number;
  /** Dying: ms from the change to the first P1 discrimination incident opened on the changed symbol at or after it; null = none (a miss). */
  readonly detectionDelayMs: number | null;
  /** Symbols with include_in_pool true. */
  readonly recommended: readonly string[];
  /** Per symbol: day mean of the gate's windowed AUC statistic vs the pooled AUC of the same slice. */
  readonly gateStat: readonly GateStat[];
  /** Per symbol: pooled fusion AUC over the run (slices_overview dimension all). */
  readonly pooled: readonly { symbol: string; auc: number | null; ci: [number, number] | null; n: number }[];
  /** The gate_mode field of incidents.json entries, when they carry one. */
  readonly gateModes: readonly string[];
}

export interface GateStat {
  readonly symbol: string;
  /** metrics_timeseries.csv column the mean was taken of: gate_auc when the file has it, else auc. */
  readonly column: string;
  readonly slice: string;
  readonly mean: number | null;
  readonly rows: number;
  readonly pooled: number | null;
}

export function gateKind(gate: string): GateKind {
  const g = gate.toLowerCase();
  if (/auc|discrim|p1_timeout/.test(g)) return 'discrimination';
  if (/ece|calib|platt|brier/.test(g)) return 'calibration';
  if (/merge/.test(g)) return 'merge';
  return 'other';
}

interface IncidentLite {
  symbol: string;
  gate: string;
  severity: string;
  opened_at_ms: number;
  gate_mode?: string;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`${file}: cannot be read (expected a canary run's report file)`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message})`);
  }
}

function readIncidents(dir: string): IncidentLite[] {
  const file = path.join(dir, 'incidents.json');
  const j = readJson(file) as { incidents?: unknown };
  if (!j || !Array.isArray(j.incidents)) throw new Error(`${file}: no incidents array`);
  return j.incidents.map((x: unknown, i: number) => {
    const r = x as Record<string, unknown>;
    if (typeof r.symbol !== 'string' || typeof r.gate !== 'string' || typeof r.opened_at_ms !== 'number')
      throw new Error(`${file}: incidents[${i}] lacks symbol / gate / opened_at_ms`);
    return {
      symbol: r.symbol,
      gate: r.gate,
      severity: String(r.severity),
      opened_at_ms: r.opened_at_ms,
      gate_mode: typeof r.gate_mode === 'string' ? r.gate_mode : undefined,
    };
  });
}

function readRecommended(dir: string): string[] {
  const file = path.join(dir, 'verdicts.json');
  const j = readJson(file) as { symbols?: Record<string, { include_in_pool?: unknown }> };
  if (!j || typeof j.symbols !== 'object' || j.symbols === null) throw new Error(`${file}: no symbols object`);
  return Object.entries(j.symbols)
    .filter(([, v]) => v.include_in_pool === true)
    .map(([s]) => s)
    .sort();
}

const num = (c: CsvCell | undefined): number | null => (typeof c === 'number' && Number.isFinite(c) ? c : null);

/** slice name -> (dimension, value) in slices_overview.csv. */
function overviewKey(slice: string): [string, string] {
  return slice === 'all' ? ['all', 'all'] : ['regime', slice];
}

/** Read one run's files into its figures. */
export function readRun(spec: RunSpec): RunFigures {
  const dir = spec.reportDir;
  const incidents = readIncidents(dir);
  const recommended = readRecommended(dir);
  const ts = readCsv(path.join(dir, 'metrics_timeseries.csv'), { text: ['symbol', 'slice', 'gates_failed'] });
  const ov = csvRecords(
    readCsv(path.join(dir, 'slices_overview.csv'), { text: ['symbol', 'dimension', 'value', 'reason'] }),
  );

  const byGate: Record<string, number> = {};
  let falseAlarms = 0;
  let before = 0;
  let firstDetect = Infinity;
  const ch = spec.change;
  for (const inc of incidents) {
    byGate[inc.gate] = (byGate[inc.gate] ?? 0) + 1;
    const kind = gateKind(inc.gate);
    if (kind !== 'discrimination' && kind !== 'calibration') continue;
    if (ch && inc.symbol === ch.symbol && inc.opened_at_ms >= ch.atMs) {
      if (kind === 'discrimination' && inc.severity === 'P1') firstDetect = Math.min(firstDetect, inc.opened_at_ms);
      continue;
    }
    falseAlarms++;
    if (ch && inc.symbol === ch.symbol) before++;
  }
  const days = spec.hours / 24;
  const alarmSymbolDays = ch
    ? (spec.symbols.length - 1) * days + (ch.atMs - spec.startMs) / 86_400_000
    : spec.symbols.length * days;

  const pooledOf = (symbol: string, slice: string): { auc: number | null; ci: [number, number] | null; n: number } => {
    const [dim, val] = overviewKey(slice);
    const r = ov.find((o) => o.symbol === symbol && o.dimension === dim && o.value === val);
    if (!r) return { auc: null, ci: null, n: 0 };
    const lo = num(r.auc_ci_low);
    const hi = num(r.auc_ci_high);
    return {
      auc: num(r.auc),
      ci: lo !== null && hi !== null ? [lo, hi] : null,
      n: (num(r.n_pos) ?? 0) + (num(r.n_neg) ?? 0),
    };
  };

  const column = ts.header.includes('gate_auc') ? 'gate_auc' : 'auc';
  const iSym = ts.header.indexOf('symbol');
  const iSlice = ts.header.indexOf('slice');
  const iVal = ts.header.indexOf(column);
  if (iSym < 0 || iSlice < 0 || iVal < 0)
    throw new Error(`${path.join(dir, 'metrics_timeseries.csv')}: lacks symbol / slice / ${column} columns`);
  const gateStat: GateStat[] = spec.symbols.map((symbol) => {
    const sums = new Map<string, { s: number; n: number }>();
    for (const row of ts.rows) {
      if (row[iSym] !== symbol) continue;
      const v = num(row[iVal]);
      if (v === null) continue;
      const sl = String(row[iSlice]);
      const acc = sums.get(sl) ?? { s: 0, n: 0 };
      acc.s += v;
      acc.n++;
      sums.set(sl, acc);
    }
    // the discrimination gate's slice: Active when it has values, else all, else the first that has
    const slice = sums.has('Active') ? 'Active' : sums.has('all') ? 'all' : ([...sums.keys()][0] ?? 'Active');
    const acc = sums.get(slice);
    return {
      symbol,
      column,
      slice,
      mean: acc ? acc.s / acc.n : null,
      rows: acc?.n ?? 0,
      pooled: pooledOf(symbol, slice).auc,
    };
  });
  const pooled = spec.symbols.map((symbol) => ({ symbol, ...pooledOf(symbol, 'all') }));
  const gateModes = [...new Set(incidents.map((i) => i.gate_mode).filter((m): m is string => m !== undefined))];
  return {
    spec,
    byGate,
    falseAlarms,
    falseAlarmsBeforeChange: before,
    alarmSymbolDays,
    detectionDelayMs: Number.isFinite(firstDetect) ? firstDetect - (ch?.atMs ?? 0) : null,
    recommended,
    gateStat,
    pooled,
    gateModes,
  };
}

/** Figures of one case under one gate mode, over its seeds. */
export interface CaseSummary {
  readonly case: CaseName;
  readonly mode: string;
  readonly runs: number;
  readonly seeds: readonly number[];
  readonly symbolDays: number;
  readonly byGate: Record<string, number>;
  readonly falseAlarms: number;
  readonly falseAlarmsPerSymbolDay: number;
  /** Dying: on the changed symbol before the change. */
  readonly falseAlarmsBeforeChange: number;
  /** Dying: on the other symbols. */
  readonly falseAlarmsOtherSymbols: number;
  /** Dying: delays of the detected runs, minutes, ascending. */
  readonly delaysMin: readonly number[];
  readonly misses: number;
  /** Median over all runs with a miss counted as infinitely late (Infinity when half or more missed). */
  readonly medianDelayMin: number | null;
  /** Worst delay of a detected run (misses are reported apart). */
  readonly worstDelayMin: number | null;
  readonly recommended: number;
  readonly symbols: number;
  /** Dying: runs in which the changed symbol was recommended. */
  readonly changedRecommended: number;
  /** Gate statistic bias (day mean - pooled) per symbol-run. */
  readonly bias: readonly number[];
  readonly biasColumn: string;
  readonly biasSlice: string;
  readonly pooledAuc: readonly number[];
  /** Half-widths of the pooled AUCs' (overlap-inflated DeLong) 95% CIs, and their n (labelled samples the AUC used). */
  readonly pooledCiHalf: readonly number[];
  readonly pooledN: readonly number[];
  readonly gateModes: readonly string[];
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Aggregate run figures into one summary per (case, mode), in the order first seen. */
export function summarize(runs: readonly RunFigures[]): CaseSummary[] {
  const groups = new Map<string, RunFigures[]>();
  for (const r of runs) {
    const k = `${r.spec.case}\u0000${r.spec.mode}`;
    const g = groups.get(k) ?? [];
    g.push(r);
    groups.set(k, g);
  }
  const out: CaseSummary[] = [];
  for (const g of groups.values()) {
    const byGate: Record<string, number> = {};
    for (const r of g) for (const [k, v] of Object.entries(r.byGate)) byGate[k] = (byGate[k] ?? 0) + v;
    const falseAlarms = g.reduce((a, r) => a + r.falseAlarms, 0);
    const before = g.reduce((a, r) => a + r.falseAlarmsBeforeChange, 0);
    const symbolDays = g.reduce((a, r) => a + r.alarmSymbolDays, 0);
    const dying = g.some((r) => r.spec.change !== undefined);
    const delays = g
      .map((r) => r.detectionDelayMs)
      .filter((d): d is number => d !== null)
      .map((d) => d / 60_000)
      .sort((a, b) => a - b);
    const misses = dying ? g.length - delays.length : 0;
    const withMiss = [...delays, ...Array.from({ length: misses }, () => Infinity)];
    const stats = g.flatMap((r) => r.gateStat);
    const bias = stats.filter((s) => s.mean !== null && s.pooled !== null).map((s) => s.mean! - s.pooled!);
    out.push({
      case: g[0].spec.case,
      mode: g[0].spec.mode,
      runs: g.length,
      seeds: g.map((r) => r.spec.seed),
      symbolDays,
      byGate,
      falseAlarms,
      falseAlarmsPerSymbolDay: symbolDays > 0 ? falseAlarms / symbolDays : NaN,
      falseAlarmsBeforeChange: before,
      falseAlarmsOtherSymbols: falseAlarms - before,
      delaysMin: delays,
      misses,
      medianDelayMin: dying ? median(withMiss) : null,
      worstDelayMin: delays.length > 0 ? delays[delays.length - 1] : null,
      recommended: g.reduce((a, r) => a + r.recommended.length, 0),
      symbols: g.reduce((a, r) => a + r.spec.symbols.length, 0),
      changedRecommended: g.filter((r) => r.spec.change && r.recommended.includes(r.spec.change.symbol)).length,
      bias,
      biasColumn: [...new Set(stats.map((s) => s.column))].join('/'),
      biasSlice: [...new Set(stats.map((s) => s.slice))].join('/'),
      pooledAuc: g.flatMap((r) => r.pooled.map((p) => p.auc).filter((a): a is number => a !== null)),
      pooledCiHalf: g.flatMap((r) => r.pooled.filter((p) => p.ci !== null).map((p) => (p.ci![1] - p.ci![0]) / 2)),
      pooledN: g.flatMap((r) => r.pooled.filter((p) => p.auc !== null).map((p) => p.n)),
      gateModes: [...new Set(g.flatMap((r) => r.gateModes))],
    });
  }
  return out;
}

const f = (v: number | null, d = 2): string =>
  v === null || Number.isNaN(v) ? 'n/a' : v === Infinity ? 'miss' : v.toFixed(d);
const mean = (xs: readonly number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const range = (xs: readonly number[], d = 3): string =>
  xs.length ? `${Math.min(...xs).toFixed(d)}..${Math.max(...xs).toFixed(d)}` : 'n/a';

/** The side-by-side table: one row per figure, one column per gate mode. */
export function formatSummary(sums: readonly CaseSummary[], modes: readonly string[]): string {
  const get = (c: CaseName, m: string) => sums.find((s) => s.case === c && s.mode === m);
  const W = 58;
  const C = 30;
  const lines: string[] = [];
  lines.push(`${''.padEnd(W)}${modes.map((m) => m.padEnd(C)).join('')}`);
  const row = (label: string, cell: (s: CaseSummary) => string, c: CaseName) =>
    lines.push(
      `${`  ${label}`.padEnd(W)}${modes
        .map((m) => {
          const s = get(c, m);
          return (s ? cell(s) : '-').padEnd(C);
        })
        .join('')}`,
    );
  const gates = (s: CaseSummary) =>
    Object.entries(s.byGate)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([g, n]) => `${g} ${n}`)
      .join(', ') || 'none';
  const pooledCell = (s: CaseSummary) => `${f(mean(s.pooledAuc), 3)} (${range(s.pooledAuc)})`;
  const pooledCiCell = (s: CaseSummary) => `+-${f(mean(s.pooledCiHalf), 3)}; ${f(mean(s.pooledN), 0)}`;
  const any = (c: CaseName) => modes.map((m) => get(c, m)).find((s) => s !== undefined);

  const h = any('healthy');
  if (h) {
    lines.push(`healthy (${h.runs} seeds, ${f(h.symbolDays, 0)} symbol-days)`);
    row(
      'disc+calib incidents per symbol-day (total)',
      (s) => `${f(s.falseAlarmsPerSymbolDay)} (${s.falseAlarms})`,
      'healthy',
    );
    row('symbols recommended', (s) => `${s.recommended}/${s.symbols}`, 'healthy');
    row('pooled fusion AUC, mean (range)', pooledCell, 'healthy');
    row('... mean 95% CI half-width; mean n per symbol-day', pooledCiCell, 'healthy');
  }
  const d = any('dying');
  if (d) {
    lines.push(`dying (${d.runs} seeds; changed symbol's first P1 discrimination incident after the change)`);
    row('detection delay median, min (miss = infinitely late)', (s) => f(s.medianDelayMin, 0), 'dying');
    row('detection delay worst detected, min', (s) => f(s.worstDelayMin, 0), 'dying');
    row('misses (no such incident by the end of the day)', (s) => `${s.misses}/${s.runs}`, 'dying');
    row('false alarms: other symbol, whole day', (s) => String(s.falseAlarmsOtherSymbols), 'dying');
    row('false alarms: changed symbol before the change', (s) => String(s.falseAlarmsBeforeChange), 'dying');
    row(
      'false alarms per symbol-day (both)',
      (s) => `${f(s.falseAlarmsPerSymbolDay)} (/${f(s.symbolDays, 0)})`,
      'dying',
    );
    row('changed symbol recommended', (s) => `${s.changedRecommended}/${s.runs}`, 'dying');
  }
  const n = any('null');
  if (n) {
    lines.push(`null (${n.runs} seeds)`);
    row('symbols recommended', (s) => `${s.recommended}/${s.symbols}`, 'null');
    row('gate AUC stat: day mean - pooled, mean (range)', (s) => `${f(mean(s.bias), 3)} (${range(s.bias)})`, 'null');
    row('... statistic used (column, slice)', (s) => `${s.biasColumn}, ${s.biasSlice}`, 'null');
    row('pooled fusion AUC, mean (range)', pooledCell, 'null');
    row('... mean 95% CI half-width; mean n per symbol-day', pooledCiCell, 'null');
  }
  lines.push('incidents opened, by gate (all symbols, all seeds)');
  for (const c of ['healthy', 'dying', 'null'] as const) {
    for (const m of modes) {
      const s = get(c, m);
      if (s)
        lines.push(`  ${c} / ${m}: ${gates(s)}${s.gateModes.length ? ` [gate_mode ${s.gateModes.join(',')}]` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
