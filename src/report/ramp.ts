/**
 * The canary acceptance report (ARCHITECTURE §6, "ramp recommendation"):
 * reads the files of `artifacts/runtime/<RUN_TAG>/canary_report/`, writes
 * `charts/*.svg` and `ramp_batch_summary.md` beside them.
 *
 * Inputs (schemas in src/report/README.md):
 *   verdicts.json            required: per-symbol DoD checks, include-in-pool, slice weights
 *   metrics_timeseries.csv   required: rolling AUC / ECE per decision minute × symbol × slice
 *   slices_overview.csv      required: AUC (+CI), ECE, Brier skill... per symbol × slice
 *   calibration_summary.csv  required: walk-forward Platt folds
 *   merge_time_diff_ms.csv   required: merge-diff percentiles over time
 *   incidents.json           required: incidents + fingerprint history
 *   reliability.csv          optional: `symbol,bin,lo,hi,count,mean_p,mean_y` (reliability diagrams)
 *
 * The verdicts are the lead's (computed by the canary run); this file only
 * renders them, never re-decides. Null figures print as "insufficient samples
 * (n=..)". Output is deterministic: symbols sorted, incidents by open time then
 * id, no wall clock, times in UTC.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { FlowlabError } from '../core/errors.js';
import { formatMetric } from '../eval/metric.js';
import { ConfigSchema } from '../config/schema.js';
import {
  csvRecords,
  formatNumber,
  readCsv,
  requireColumns,
  writeFileAtomic,
  type CsvCell,
  type CsvTable,
} from './csv.js';
import {
  barChart,
  lineChart,
  percentileChart,
  reliabilityDiagram,
  PALETTE,
  type Band,
  type Bar,
  type LineSeries,
  type ReliabilityBin,
} from './svg.js';

// ---------------------------------------------------------------- file schemas

const NUM = z.number().refine(Number.isFinite, 'a finite number');
const CI = z.tuple([NUM, NUM]).nullable();

const CheckSchema = z.object({
  name: z.string(),
  label: z.string(),
  value: NUM.nullable(),
  ci: CI.optional().default(null),
  n: NUM.nullable().optional().default(null),
  threshold: NUM.nullable().optional().default(null),
  op: z.string().optional().default(''),
  status: z.enum(['pass', 'fail', 'insufficient']),
  detail: z.string().nullable().optional(),
});

const WeightSchema = z.object({
  slice: z.string(),
  /** null: the weight search found nothing usable (see `reason`). */
  w_ofi: NUM.nullable(),
  w_cvd: NUM.nullable(),
  auc_oos: NUM.nullable(),
  auc_oos_ci: CI.optional().default(null),
  n_oos: NUM.nullable().optional().default(null),
  folds: NUM.nullable().optional().default(null),
  effective_hours: NUM.nullable().optional().default(null),
  reason: z.string().nullable().optional(),
});

const VerdictsSchema = z.object({
  run_tag: z.string(),
  config_fingerprint: z.string(),
  /** Weights searched over all symbols together (the source of `slice_weights.yaml`). */
  pooled_weights: z.array(WeightSchema).optional().default([]),
  /** The gate mode of the run (absent in files written before gate modes). */
  gate_mode: z.string().optional(),
  /** The gate table in force (src/canary/gates.ts). */
  gate_table: z
    .array(
      z.object({
        gate: z.string(),
        kind: z.string(),
        slice: z.string(),
        metric: z.string(),
        window: z.string(),
        threshold: z.string(),
        evidence: z.string(),
        severity: z.string(),
        action: z.string(),
        close: z.string(),
      }),
    )
    .optional()
    .default([]),
  /** Incidents by gate kind x symbol x severity, for the run's gate mode and the other mode's shadow. */
  incident_summary: z
    .array(
      z.object({
        kind: z.string(),
        symbol: z.string(),
        severity: z.string(),
        gates: z.record(z.string(), z.array(z.string())),
        count: z.record(z.string(), NUM.nullable()),
      }),
    )
    .optional()
    .default([]),
  symbols: z.record(
    z.string(),
    z.object({
      include_in_pool: z.boolean(),
      reason: z.string(),
      checks: z.array(CheckSchema),
      weights: z.array(WeightSchema).optional().default([]),
    }),
  ),
});

const IncidentSchema = z.object({
  id: z.string(),
  symbol: z.string(),
  slice: z.string().optional().default('all'),
  gate: z.string(),
  severity: z.string(),
  opened_at_ms: NUM,
  closed_at_ms: NUM.nullable().optional().default(null),
  who: z.string().optional().default(''),
  why: z.string().optional().default(''),
  metrics_before: z.record(z.string(), z.unknown()).nullable().optional().default(null),
  metrics_after: z.record(z.string(), z.unknown()).nullable().optional().default(null),
  action: z.string().optional().default(''),
  /** Every action taken while the incident was open, in order. */
  actions: z
    .array(z.object({ at_ms: NUM, action: z.string() }))
    .optional()
    .default([]),
  fingerprint_before: z.string().nullable().optional().default(null),
  fingerprint_after: z.string().nullable().optional().default(null),
});

const IncidentsSchema = z.object({
  incidents: z.array(IncidentSchema),
  /** `from_ms` null: in force from the start of the run. */
  fingerprints: z
    .array(
      z.object({
        symbol: z.string().optional(),
        fingerprint: z.string(),
        from_ms: NUM.nullable(),
        reason: z.string().optional().default(''),
      }),
    )
    .optional()
    .default([]),
});

export type Verdicts = z.output<typeof VerdictsSchema>;
export type SymbolVerdict = Verdicts['symbols'][string];
export type Check = z.output<typeof CheckSchema>;
export type SliceWeight = z.output<typeof WeightSchema>;
export type Incident = z.output<typeof IncidentSchema>;
export type IncidentsFile = z.output<typeof IncidentsSchema>;

export const METRICS_TIMESERIES_HEADER = [
  'ts_ms',
  'time_utc',
  'symbol',
  'slice',
  'window_sec',
  'auc',
  'auc_ci_low',
  'auc_ci_high',
  'n',
  'n_pos',
  'n_neg',
  'ece',
  'ece_n',
  'merge_p50',
  'merge_p90',
  'merge_p99',
  'merge_n',
  'calibration_paused',
  'w_ofi',
  'w_cvd',
  'merge_tol_ms',
  'fingerprint',
  'gates_failed',
] as const;
export const SLICES_OVERVIEW_HEADER = [
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
] as const;
export const CALIBRATION_SUMMARY_HEADER = [
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
] as const;
export const MERGE_DIFF_HEADER = [
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
] as const;
export const RELIABILITY_HEADER = ['symbol', 'bin', 'lo', 'hi', 'count', 'mean_p', 'mean_y'] as const;

/** Columns read as text whatever they look like. */
const TEXT_COLS = [
  'time_utc',
  'symbol',
  'slice',
  'dimension',
  'value',
  'reason',
  'status',
  'fingerprint',
  'gates_failed',
  'calibration_paused',
];

export type Row = Record<string, CsvCell>;

/** Everything the report is made from. */
export interface CanaryReportData {
  readonly verdicts: Verdicts;
  readonly incidents: IncidentsFile;
  readonly metrics: readonly Row[];
  readonly slices: readonly Row[];
  readonly calibration: readonly Row[];
  readonly merge: readonly Row[];
  /** null when reliability.csv is absent. */
  readonly reliability: readonly Row[] | null;
}

export const REPORT_FILES = {
  verdicts: 'verdicts.json',
  incidents: 'incidents.json',
  metrics: 'metrics_timeseries.csv',
  slices: 'slices_overview.csv',
  calibration: 'calibration_summary.csv',
  merge: 'merge_time_diff_ms.csv',
  reliability: 'reliability.csv',
  markdown: 'ramp_batch_summary.md',
  charts: 'charts',
} as const;

function readJson<T>(file: string, schema: z.ZodType<T>): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new FlowlabError(`${file}: cannot be read (missing or not a file)`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FlowlabError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  const r = schema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = issue.path.map(String).join('.') || '(top level)';
    throw new FlowlabError(`${file}: ${key}: ${issue.message}`);
  }
  return r.data;
}

function readTable(file: string, header: readonly string[]): Row[] {
  const t: CsvTable = readCsv(file, { text: TEXT_COLS });
  requireColumns(t, header, file);
  return csvRecords(t);
}

/** `verdicts.json` of a canary report folder, validated (errors name the file and key). */
export function readVerdicts(reportDir: string): Verdicts {
  return readJson(path.join(reportDir, REPORT_FILES.verdicts), VerdictsSchema);
}

/** `incidents.json` of a canary report folder, validated (errors name the file and key). */
export function readIncidents(reportDir: string): IncidentsFile {
  return readJson(path.join(reportDir, REPORT_FILES.incidents), IncidentsSchema);
}

/** Reads and validates the canary report files of `reportDir`. */
export function loadCanaryReport(reportDir: string): CanaryReportData {
  const p = (f: string) => path.join(reportDir, f);
  const relFile = p(REPORT_FILES.reliability);
  return {
    verdicts: readVerdicts(reportDir),
    incidents: readIncidents(reportDir),
    metrics: readTable(p(REPORT_FILES.metrics), METRICS_TIMESERIES_HEADER),
    slices: readTable(p(REPORT_FILES.slices), SLICES_OVERVIEW_HEADER),
    calibration: readTable(p(REPORT_FILES.calibration), CALIBRATION_SUMMARY_HEADER),
    merge: readTable(p(REPORT_FILES.merge), MERGE_DIFF_HEADER),
    reliability: fs.existsSync(relFile) ? readTable(relFile, RELIABILITY_HEADER) : null,
  };
}

// ---------------------------------------------------------------- formatting

function num(v: CsvCell | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: CsvCell | undefined): string {
  return v === null || v === undefined ? '' : String(v);
}

/** Markdown table cell: pipes escaped, line breaks flattened. */
export function cell(s: string): string {
  return s
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n|\r/g, ' ');
}

function row(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

/** A markdown inline code span of any text: a fence one backtick longer than the longest run inside it. */
export function codeSpan(s: string): string {
  let longest = 0;
  for (const m of s.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** A markdown table; cells are escaped (`cell`). */
export function mdTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: readonly ('l' | 'r')[],
): string[] {
  const sep = header.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  return [row(header), `| ${sep.join(' | ')} |`, ...rows.map(row)];
}

/** A figure: integers as they are, |v| >= 100 with 1 decimal, else 3 decimals. */
export function fmtFigure(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3);
}

function fmtCi(ci: readonly [number, number] | null | undefined): string {
  return ci ? `[${fmtFigure(ci[0])}, ${fmtFigure(ci[1])}]` : '—';
}

function fmtN(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : String(n);
}

/** A null figure's text: `insufficient samples (n=..)`. */
function fmtValue(v: number | null, n: number | null | undefined, digits?: number): string {
  if (v === null)
    return formatMetric({
      value: null,
      n: n ?? 0,
      reason: n === null || n === undefined ? 'insufficient samples' : undefined,
    });
  return digits === undefined ? fmtFigure(v) : v.toFixed(digits);
}

/** `YYYY-MM-DD HH:MM:SS` in UTC. */
export function fmtUtc(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

const STATUS_ICON: Record<Check['status'], string> = {
  pass: '✅ pass',
  fail: '❌ fail',
  insufficient: '⚠ insufficient',
};

function fileSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    let g = m.get(k);
    if (!g) m.set(k, (g = []));
    g.push(x);
  }
  return m;
}

function sortedKeys<T>(m: Map<string, T>): string[] {
  return [...m.keys()].sort(cmp);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---------------------------------------------------------------- thresholds

interface Gates {
  readonly auc: number;
  readonly ece: number;
  readonly mergeP99: number;
}

const DEFAULT_CANARY = ConfigSchema.parse({}).canary;

/** Gate lines: from the verdict checks when they carry a threshold, else the config defaults. */
function gatesFor(v: SymbolVerdict | undefined): Gates {
  const th = (name: string, dflt: number) => v?.checks.find((c) => c.name === name)?.threshold ?? dflt;
  return {
    auc: th('active_auc', DEFAULT_CANARY.auc_active_min),
    ece: th('ece', DEFAULT_CANARY.ece_max),
    mergeP99: th('merge_p99', DEFAULT_CANARY.merge_p99_max_ms),
  };
}

// ---------------------------------------------------------------- charts

export interface ReportChart {
  readonly file: string; // relative to the report dir, posix
  readonly alt: string;
  readonly svg: string;
}

const SLICE_HEADER = [
  'dimension',
  'value',
  'rows',
  'labeled',
  'n+ / n−',
  'eff. hours',
  'AUC [95% CI]',
  'ECE',
  'Brier',
  'Brier skill',
  'top-5% hit',
  'note',
];
const SLICE_ALIGN = ['l', 'l', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'l'] as const;

const MERGE_GATES = new Set(['merge_p99', 'merge_label_match']);

/**
 * Incidents of a symbol as a strip per gate: the [open, close) intervals
 * (still open: to `endMs`) merged where they overlap or touch, one band per run.
 */
function incidentBands(
  incs: readonly Incident[],
  symbol: string,
  merge: boolean,
  endMs: number,
): { bands: Band[]; note: string | undefined } {
  const mine = incs.filter((i) => i.symbol === symbol && MERGE_GATES.has(i.gate) === merge);
  const byRow = groupBy(mine, (i) => `${i.gate} ${i.severity}`);
  const bands: Band[] = [];
  let periods = 0;
  for (const row of sortedKeys(byRow)) {
    const iv = byRow
      .get(row)!
      .map((i) => [i.opened_at_ms, i.closed_at_ms ?? Math.max(endMs, i.opened_at_ms)] as [number, number])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const color = row.endsWith(' P1') ? '#d62728' : '#ff9f40';
    const start = bands.length;
    for (const [a, b] of iv) {
      const last = bands.length > start ? bands[bands.length - 1] : undefined;
      if (last && a <= last.x1) bands[bands.length - 1] = { ...last, x1: Math.max(last.x1, b) };
      else bands.push({ x0: a, x1: b, row, color });
    }
    periods += bands.length - start;
  }
  const p1 = mine.filter((i) => i.severity === 'P1').length;
  const note =
    mine.length === 0
      ? undefined
      : `incidents (strip below): ${mine.length} (${p1} P1) in ${periods} open period${periods > 1 ? 's' : ''}`;
  return { bands, note };
}

function rollingCharts(d: CanaryReportData, incs: readonly Incident[]): Map<string, ReportChart[]> {
  const out = new Map<string, ReportChart[]>();
  const bySym = groupBy(d.metrics, (r) => str(r.symbol));
  for (const sym of sortedKeys(bySym)) {
    const g = gatesFor(d.verdicts.symbols[sym]);
    const byWin = groupBy(bySym.get(sym)!, (r) => str(r.window_sec));
    const wins = sortedKeys(byWin);
    const charts: ReportChart[] = [];
    for (const win of wins.sort((a, b) => Number(a) - Number(b))) {
      const rows = [...byWin.get(win)!].sort((a, b) => (num(a.ts_ms) ?? 0) - (num(b.ts_ms) ?? 0));
      const sl = (s: string) => rows.filter((r) => str(r.slice) === s);
      const series: LineSeries[] = [];
      // context first (thin, faded), the gate's own statistic last: drawn on top
      const eceRows = sl('all');
      if (eceRows.length > 0)
        series.push({
          name: 'ECE (all)',
          x: eceRows.map((r) => num(r.ts_ms) ?? NaN),
          y: eceRows.map((r) => num(r.ece)),
          color: PALETTE[3],
          dash: '4 2',
          width: 1,
          opacity: 0.8,
        });
      for (const [s, color] of [
        ['all', '#9e9e9e'],
        ['Quiet', PALETTE[2]],
      ] as const) {
        const rs = sl(s);
        if (rs.length > 0)
          series.push({
            name: `AUC ${s}`,
            x: rs.map((r) => num(r.ts_ms) ?? NaN),
            y: rs.map((r) => num(r.auc)),
            color,
            width: 1,
            opacity: 0.7,
          });
      }
      // the statistic the AUC gate acts on: `gate_auc` when the run writes it (evidence mode: slice all;
      // seed mode: Active), else the Active AUC
      const gateSlice = ['all', 'Active'].find((s) => sl(s).some((r) => num(r.gate_auc) !== null));
      const gateRows = gateSlice === undefined ? [] : sl(gateSlice).filter((r) => num(r.gate_auc) !== null);
      const act = gateRows.length > 0 ? gateRows : sl('Active');
      if (act.length > 0)
        series.push({
          name: gateRows.length > 0 ? 'gate AUC (what the gate acts on)' : 'AUC Active (the gate acts on it)',
          x: act.map((r) => num(r.ts_ms) ?? NaN),
          y: act.map((r) => num(gateRows.length > 0 ? r.gate_auc : r.auc)),
          color: PALETTE[0],
          width: 2.2,
        });
      const end = rows.reduce((m, r) => Math.max(m, num(r.ts_ms) ?? -Infinity), -Infinity);
      const inc = incidentBands(incs, sym, false, end);
      const suffix = wins.length > 1 ? `_${fileSafe(win)}s` : '';
      const winTxt = win === '' ? '' : `, ${Number(win) / 60}-min window`;
      charts.push({
        file: `charts/rolling_${fileSafe(sym)}${suffix}.svg`,
        alt: `${sym} rolling AUC and ECE`,
        svg: lineChart({
          title: `${sym}: rolling AUC by slice and ECE${winTxt}`,
          series,
          xTime: true,
          yLabel: 'AUC / ECE',
          yDomain: [0, 1],
          thresholds: [
            { y: g.auc, label: `AUC gate ${g.auc}`, color: '#d62728' },
            { y: g.ece, label: `ECE gate ${g.ece}`, color: '#ff7f0e' },
          ],
          bands: inc.bands,
          note: inc.note,
        }),
      });
    }
    out.set(sym, charts);
  }
  return out;
}

function mergeCharts(d: CanaryReportData, incs: readonly Incident[]): Map<string, ReportChart[]> {
  const out = new Map<string, ReportChart[]>();
  const bySym = groupBy(d.merge, (r) => str(r.symbol));
  for (const sym of sortedKeys(bySym)) {
    const g = gatesFor(d.verdicts.symbols[sym]);
    const byWin = groupBy(bySym.get(sym)!, (r) => str(r.window_sec));
    const wins = sortedKeys(byWin).sort((a, b) => Number(a) - Number(b));
    const charts: ReportChart[] = [];
    for (const win of wins) {
      const rows = [...byWin.get(win)!].sort((a, b) => (num(a.ts_ms) ?? 0) - (num(b.ts_ms) ?? 0));
      const x = rows.map((r) => num(r.ts_ms) ?? NaN);
      const suffix = wins.length > 1 ? `_${fileSafe(win)}s` : '';
      const winTxt = win === '' ? '' : `, ${Number(win) / 60}-min window`;
      const inc = incidentBands(
        incs,
        sym,
        true,
        x.reduce((m, v) => Math.max(m, v), -Infinity),
      );
      charts.push({
        file: `charts/merge_${fileSafe(sym)}${suffix}.svg`,
        alt: `${sym} merge_time_diff_ms percentiles`,
        svg: percentileChart({
          title: `${sym}: merge_time_diff_ms percentiles${winTxt}`,
          x,
          p50: rows.map((r) => num(r.p50)),
          p90: rows.map((r) => num(r.p90)),
          p99: rows.map((r) => num(r.p99)),
          extra: [
            {
              name: 'merge_tol_ms',
              x,
              y: rows.map((r) => num(r.merge_tol_ms)),
              color: '#000000',
              dash: '6 3',
              step: true,
              width: 2,
            },
          ],
          thresholds: [{ y: g.mergeP99, label: `p99 gate ${g.mergeP99} ms`, color: '#d62728' }],
          bands: inc.bands,
          note: inc.note,
        }),
      });
    }
    out.set(sym, charts);
  }
  return out;
}

/** The overview's row order: dimensions, then values within them. */
export const DIM_ORDER = ['all', 'regime', 'session', 'vol_tertile', 'scenario_2x2'];
export const VALUE_ORDER = [
  'all',
  'Active',
  'Quiet',
  'Tokyo',
  'London',
  'NY',
  'Q1',
  'Median',
  'Q3+',
  'A_H',
  'A_L',
  'Q_H',
  'Q_L',
];

function orderIndex(list: readonly string[], v: string): number {
  const i = list.indexOf(v);
  return i < 0 ? list.length : i;
}

function sliceOrder(a: Row, b: Row): number {
  const da = str(a.dimension);
  const db = str(b.dimension);
  return (
    orderIndex(DIM_ORDER, da) - orderIndex(DIM_ORDER, db) ||
    cmp(da, db) ||
    orderIndex(VALUE_ORDER, str(a.value)) - orderIndex(VALUE_ORDER, str(b.value)) ||
    cmp(str(a.value), str(b.value))
  );
}

function sliceCharts(d: CanaryReportData): Map<string, ReportChart> {
  const out = new Map<string, ReportChart>();
  const bySym = groupBy(d.slices, (r) => str(r.symbol));
  for (const sym of sortedKeys(bySym)) {
    const g = gatesFor(d.verdicts.symbols[sym]);
    const rows = [...bySym.get(sym)!].sort(sliceOrder);
    const dims = [...new Set(rows.map((r) => str(r.dimension)))];
    const bars: Bar[] = rows.map((r) => {
      const np = num(r.n_pos);
      const nn = num(r.n_neg);
      return {
        label: str(r.value),
        group: str(r.dimension),
        value: num(r.auc),
        lo: num(r.auc_ci_low),
        hi: num(r.auc_ci_high),
        note: np !== null && nn !== null ? `n=${np + nn}` : undefined,
        color: PALETTE[dims.indexOf(str(r.dimension)) % PALETTE.length],
      };
    });
    out.set(sym, {
      file: `charts/auc_slices_${fileSafe(sym)}.svg`,
      alt: `${sym} AUC by slice with 95% CI`,
      svg: barChart({
        title: `${sym}: AUC by slice (95% DeLong CI, overlap-corrected)`,
        bars,
        yLabel: 'AUC (bars from chance 0.5)',
        baseline: 0.5,
        thresholds: [
          { y: 0.5, label: 'chance 0.5', color: '#999999' },
          { y: g.auc, label: `AUC gate ${g.auc}`, color: '#d62728' },
        ],
      }),
    });
  }
  return out;
}

function reliabilityCharts(d: CanaryReportData): Map<string, ReportChart> {
  const out = new Map<string, ReportChart>();
  if (!d.reliability) return out;
  const bySym = groupBy(d.reliability, (r) => str(r.symbol));
  for (const sym of sortedKeys(bySym)) {
    const rows = [...bySym.get(sym)!].sort((a, b) => (num(a.bin) ?? 0) - (num(b.bin) ?? 0));
    const bins: ReliabilityBin[] = rows.map((r) => ({
      lo: num(r.lo) ?? NaN,
      hi: num(r.hi) ?? NaN,
      count: num(r.count) ?? 0,
      mean_p: num(r.mean_p),
      mean_y: num(r.mean_y),
    }));
    let n = 0;
    let acc = 0;
    for (const b of bins) {
      if (b.count > 0 && b.mean_p !== null && b.mean_y !== null) {
        n += b.count;
        acc += b.count * Math.abs(b.mean_y - b.mean_p);
      }
    }
    const subtitle =
      n > 0
        ? `ECE over these bins ${(acc / n).toFixed(3)} (n=${n}, ${bins.length} bins)`
        : `no calibrated samples (${bins.length} bins)`;
    out.set(sym, {
      file: `charts/reliability_${fileSafe(sym)}.svg`,
      alt: `${sym} reliability diagram`,
      svg: reliabilityDiagram({ title: `${sym}: reliability (calibrated probability)`, subtitle, bins }),
    });
  }
  return out;
}

// ---------------------------------------------------------------- markdown

function checkRows(v: SymbolVerdict): string[][] {
  return v.checks.map((c) => [
    c.label || c.name,
    fmtValue(c.value, c.n),
    c.value === null ? '—' : fmtCi(c.ci),
    fmtN(c.n),
    c.threshold === null ? c.op || '—' : `${c.op} ${formatNumber(c.threshold)}`.trim(),
    STATUS_ICON[c.status],
    c.detail ?? '',
  ]);
}

const WEIGHT_HEADER = ['slice', 'w_ofi', 'w_cvd', 'out-of-sample AUC [95% CI]', 'n (OOS)', 'effective hours', 'note'];
const WEIGHT_ALIGN = ['l', 'r', 'r', 'l', 'r', 'r', 'l'] as const;

function weightRows(ws: readonly SliceWeight[]): string[][] {
  return ws.map((w) => [
    w.slice,
    w.w_ofi === null ? '—' : formatNumber(w.w_ofi),
    w.w_cvd === null ? '—' : formatNumber(w.w_cvd),
    w.auc_oos === null ? fmtValue(null, w.n_oos) : `${w.auc_oos.toFixed(3)} ${fmtCi(w.auc_oos_ci)}`,
    fmtN(w.n_oos),
    w.effective_hours === null ? '—' : w.effective_hours.toFixed(2),
    [w.folds === null ? '' : `${w.folds} folds`, w.reason ?? ''].filter(Boolean).join('; '),
  ]);
}

function sliceRows(rows: readonly Row[]): string[][] {
  return [...rows].sort(sliceOrder).map((r) => {
    const np = num(r.n_pos);
    const nn = num(r.n_neg);
    const n = np !== null && nn !== null ? np + nn : num(r.labeled);
    const auc = num(r.auc);
    const lo = num(r.auc_ci_low);
    const hi = num(r.auc_ci_high);
    const opt = (v: number | null) => (v === null ? '—' : v.toFixed(3));
    return [
      str(r.dimension),
      str(r.value),
      fmtN(num(r.rows)),
      fmtN(num(r.labeled)),
      `${fmtN(np)} / ${fmtN(nn)}`,
      num(r.effective_hours) === null ? '—' : (num(r.effective_hours) as number).toFixed(2),
      auc === null
        ? fmtValue(null, n)
        : `${auc.toFixed(3)}${lo !== null && hi !== null ? ` [${lo.toFixed(3)}, ${hi.toFixed(3)}]` : ''}`,
      opt(num(r.ece)),
      opt(num(r.brier)),
      opt(num(r.brier_skill)),
      opt(num(r.topk_hit_rate_5p)),
      str(r.reason),
    ];
  });
}

function checkTally(v: SymbolVerdict): string {
  const c = { pass: 0, fail: 0, insufficient: 0 };
  for (const k of v.checks) c[k.status]++;
  return `${c.pass} pass, ${c.fail} fail, ${c.insufficient} insufficient`;
}

function calibrationRows(d: CanaryReportData): string[][] {
  const bySym = groupBy(d.calibration, (r) => str(r.symbol));
  return sortedKeys(bySym).map((sym) => {
    const rows = [...bySym.get(sym)!].sort((a, b) => (num(a.fold) ?? 0) - (num(b.fold) ?? 0));
    const status = groupBy(rows, (r) => str(r.status) || '(none)');
    const statusTxt = sortedKeys(status)
      .map((s) => `${s} ${status.get(s)!.length}`)
      .join(', ');
    const test = rows.reduce((a, r) => a + (num(r.platt_test_samples) ?? 0), 0);
    const eces = rows.map((r) => num(r.ece)).filter((v): v is number => v !== null);
    const skills = rows.map((r) => num(r.brier_skill)).filter((v): v is number => v !== null);
    const fitted = rows.filter((r) => num(r.A) !== null && num(r.B) !== null);
    const last = fitted[fitted.length - 1];
    const med = (xs: number[]) => {
      const m = median(xs);
      return m === null ? `insufficient samples (folds=0)` : `${m.toFixed(3)} (folds=${xs.length})`;
    };
    return [
      sym,
      String(rows.length),
      statusTxt,
      String(test),
      med(eces),
      med(skills),
      last
        ? `A=${(num(last.A) as number).toFixed(3)}, B=${(num(last.B) as number).toFixed(3)} (fold ${str(last.fold)})`
        : '—',
    ];
  });
}

function incidentRows(incs: readonly Incident[]): string[][] {
  return incs.map((i) => [
    i.id,
    i.symbol,
    i.slice,
    i.gate,
    i.severity,
    fmtUtc(i.opened_at_ms),
    i.closed_at_ms === null ? 'open' : fmtUtc(i.closed_at_ms),
    actionText(i),
    `${i.fingerprint_before ?? '—'} → ${i.fingerprint_after ?? '—'}`,
    i.why,
  ]);
}

/** The incident's action, and the later ones when it took several. */
function actionText(i: Incident): string {
  if (i.actions.length <= 1) return i.action;
  return `${i.action} (actions: ${i.actions.map((a) => `${fmtUtc(a.at_ms).slice(11, 16)} ${a.action}`).join(', ')})`;
}

const KIND_ORDER = ['discrimination', 'calibration', 'merge', 'rollback'];

function summaryOrder(a: Verdicts['incident_summary'][number], b: Verdicts['incident_summary'][number]): number {
  const k = (x: string) => (KIND_ORDER.includes(x) ? KIND_ORDER.indexOf(x) : KIND_ORDER.length);
  return k(a.kind) - k(b.kind) || cmp(a.kind, b.kind) || cmp(a.symbol, b.symbol) || cmp(a.severity, b.severity);
}

/** A check's figure [CI] (n). */
function figureCell(c: Check): string {
  return c.value === null
    ? fmtValue(null, c.n)
    : `${fmtValue(c.value, c.n)}${c.ci ? ` ${fmtCi(c.ci)}` : ''} (n=${fmtN(c.n)})`;
}

/** A check as one cell: status, figure [CI] (n). */
function checkCell(c: Check): string {
  return `${STATUS_ICON[c.status]} ${figureCell(c)}`;
}

/**
 * The first screen: per symbol the verdict and the checks that decided it,
 * blockers counted across symbols, every check with n and CI, the incidents by
 * gate x symbol x severity for both gate modes, and the gates in force.
 */
function decisionScreen(v: Verdicts, symbols: readonly string[], incs: readonly Incident[]): string[] {
  const L: string[] = [];
  L.push('## Decision', '');
  L.push(
    ...mdTable(
      ['symbol', 'include in pool', 'DoD checks', 'decided by'],
      symbols.map((s) => {
        const sv = v.symbols[s];
        const bad = sv.checks.filter((c) => c.status !== 'pass');
        const by =
          bad.length === 0
            ? sv.reason
            : bad
                .map(
                  (c) =>
                    `${c.name} ${c.status === 'insufficient' ? 'insufficient' : 'fails'}: ${figureCell(c)}${c.threshold === null ? '' : ` vs ${c.op} ${formatNumber(c.threshold)}`}`,
                )
                .join('; ');
        return [s, sv.include_in_pool ? '✅ yes' : '❌ no', checkTally(sv), by];
      }),
    ),
  );
  L.push('');
  // blockers across symbols
  const names: string[] = [];
  for (const s of symbols) for (const c of v.symbols[s].checks) if (!names.includes(c.name)) names.push(c.name);
  const blockers = names
    .map((n) => {
      const fail = symbols.filter((s) => v.symbols[s].checks.find((c) => c.name === n)?.status === 'fail');
      const ins = symbols.filter((s) => v.symbols[s].checks.find((c) => c.name === n)?.status === 'insufficient');
      return { n, fail, ins };
    })
    .filter((b) => b.fail.length + b.ins.length > 0)
    .sort((a, b) => b.fail.length + b.ins.length - (a.fail.length + a.ins.length) || cmp(a.n, b.n));
  L.push('### Blockers across symbols', '');
  if (blockers.length === 0) L.push('None: every check passes on every symbol.');
  else
    L.push(
      ...mdTable(
        ['check', 'symbols failing', 'symbols insufficient', 'which'],
        blockers.map((b) => [b.n, String(b.fail.length), String(b.ins.length), [...b.fail, ...b.ins].join(', ')]),
        ['l', 'r', 'r', 'l'],
      ),
    );
  L.push('');
  L.push('### Every check: figure [95% CI] (n)', '');
  L.push(
    ...mdTable(
      ['check', 'threshold', ...symbols],
      names.map((n) => {
        const any = symbols.map((s) => v.symbols[s].checks.find((c) => c.name === n)).find((c) => c);
        return [
          any?.label || n,
          any?.threshold === null || any?.threshold === undefined ? '—' : `${any.op} ${formatNumber(any.threshold)}`,
          ...symbols.map((s) => {
            const c = v.symbols[s].checks.find((x) => x.name === n);
            return c ? checkCell(c) : '—';
          }),
        ];
      }),
    ),
  );
  L.push('');
  L.push('### Incidents by gate × symbol × severity', '');
  if (v.incident_summary.length > 0) {
    const modes = [...new Set(v.incident_summary.flatMap((r) => Object.keys(r.count)))].sort((a, b) =>
      a === v.gate_mode ? -1 : b === v.gate_mode ? 1 : cmp(a, b),
    );
    L.push(
      `This run's gate mode is **${v.gate_mode ?? '?'}**; ${modes
        .filter((m) => m !== v.gate_mode)
        .map(
          (m) =>
            `the ${m} column counts what the ${m} rules raise on the same samples (a shadow engine that takes no action on the pipeline)`,
        )
        .join('; ')}. The full list: \`incidents.json\` and the Incidents section below.`,
      '',
    );
    L.push(
      ...mdTable(
        [
          'gate kind',
          'symbol',
          'severity',
          ...modes.map((m) => `${m}${m === v.gate_mode ? ' (this run)' : ''}`),
          'gates',
        ],
        [...v.incident_summary]
          .sort(summaryOrder)
          .map((r) => [
            r.kind,
            r.symbol,
            r.severity,
            ...modes.map((m) => (r.count[m] === null || r.count[m] === undefined ? '—' : String(r.count[m]))),
            modes.map((m) => `${m}: ${(r.gates[m] ?? []).join(', ') || '—'}`).join('; '),
          ]),
      ),
    );
  } else {
    const by = groupBy(incs, (i) => `${i.gate}|${i.symbol}|${i.severity}`);
    if (by.size === 0) L.push('No incidents.');
    else
      L.push(
        ...mdTable(
          ['gate', 'symbol', 'severity', 'incidents'],
          sortedKeys(by).map((k) => [...k.split('|'), String(by.get(k)!.length)]),
        ),
      );
  }
  L.push('');
  if (v.gate_table.length > 0) {
    L.push(`### Gates in force (${v.gate_mode ?? '?'} mode)`, '');
    L.push(
      ...mdTable(
        ['gate', 'slice', 'metric', 'window', 'fails when', 'evidence', 'severity', 'action', 'closes when'],
        v.gate_table.map((g) => [
          g.gate,
          g.slice,
          g.metric,
          g.window,
          g.threshold,
          g.evidence,
          g.severity,
          g.action,
          g.close,
        ]),
      ),
    );
    L.push('');
  }
  return L;
}

function embed(c: ReportChart): string {
  return `![${c.alt}](${c.file})`;
}

const HOW_TO_READ = [
  '## How to read this',
  '',
  "- **AUC** — ROC AUC of the fusion score against the 60 s forward mid move (Mann–Whitney, ties ½); the 95% CI is DeLong's (AUC ± 1.96·√Var). 0.5 = no skill.",
  '- **ECE** — expected calibration error of the Platt-calibrated probability over 10 equal-width bins of [0, 1]: Σ (n_bin/n)·|observed − mean predicted|. Lower is better.',
  '- **Brier skill** — 1 − Brier / Brier_ref, where the reference always predicts the base rate of the *training window*; > 0 beats that model-free forecast.',
  '- **merge_time_diff_ms** — age of the oldest input joined into a fusion sample; p50/p90/p99 over the rolling window; a sample matches when within `merge_tol_ms`.',
  '- **effective hours** — rows × sample interval of a slice (how much time the figure stands on).',
  '- **insufficient samples (n=..)** — too few samples (or one class only) for the figure to mean anything; no number is printed. ⚠ checks neither pass nor fail.',
  '- **Incidents** — gate breaches the canary acted on (downweight / pause a slice, pause calibration, adjust `merge_tol_ms`, roll back); chart markers are labelled with the incident id at its opening time.',
];

/** Markdown of the report and the charts it embeds (pure: no IO). */
export function renderRampMarkdown(d: CanaryReportData): { markdown: string; charts: ReportChart[] } {
  const v = d.verdicts;
  const symbols = Object.keys(v.symbols).sort(cmp);
  const incs = [...d.incidents.incidents].sort((a, b) => a.opened_at_ms - b.opened_at_ms || cmp(a.id, b.id));
  const rolling = rollingCharts(d, incs);
  const merge = mergeCharts(d, incs);
  const slices = sliceCharts(d);
  const rel = reliabilityCharts(d);
  const charts: ReportChart[] = [];
  const use = (c: ReportChart | undefined): string[] => {
    if (!c) return [];
    charts.push(c);
    return [embed(c), ''];
  };

  const L: string[] = [];
  const included = symbols.filter((s) => v.symbols[s].include_in_pool);
  L.push(`# Canary ramp report — ${v.run_tag}`, '');
  L.push(`- Run tag: \`${v.run_tag}\``);
  L.push(`- Config fingerprint: \`${v.config_fingerprint}\``);
  L.push(
    `- Symbols: ${symbols.length}; included in the standard pool: ${included.length} (${included.join(', ') || 'none'})`,
  );
  L.push(
    `- Incidents: ${incs.length} (${incs.filter((i) => i.closed_at_ms === null).length} open at the end of the run)`,
  );
  if (v.gate_mode) L.push(`- Gate mode: **${v.gate_mode}** (\`canary.gate_mode\`; src/canary/README.md)`);
  L.push('');
  L.push(...decisionScreen(v, symbols, incs));

  const slicesBySym = groupBy(d.slices, (r) => str(r.symbol));
  for (const s of symbols) {
    const sv = v.symbols[s];
    L.push(`## ${s}`, '');
    L.push(`**Include in standard pool: ${sv.include_in_pool ? 'yes ✅' : 'no ❌'}** — ${sv.reason}`, '');
    L.push('### DoD checks', '');
    L.push(
      ...mdTable(['check', 'figure', '95% CI', 'n', 'threshold', 'status', 'detail'], checkRows(sv), [
        'l',
        'r',
        'l',
        'r',
        'l',
        'l',
        'l',
      ]),
    );
    L.push('');
    L.push('### Slice weights', '');
    if (sv.weights.length === 0) L.push('No slice weights in verdicts.json for this symbol.');
    else L.push(...mdTable(WEIGHT_HEADER, weightRows(sv.weights), WEIGHT_ALIGN));
    L.push('');
    const srows = slicesBySym.get(s);
    if (srows) {
      L.push('### Slices', '');
      L.push(...mdTable(SLICE_HEADER, sliceRows(srows), SLICE_ALIGN));
      L.push('');
    }
    L.push('### Charts', '');
    const before = charts.length;
    L.push(...use(rel.get(s)));
    L.push(...use(slices.get(s)));
    for (const c of rolling.get(s) ?? []) L.push(...use(c));
    for (const c of merge.get(s) ?? []) L.push(...use(c));
    if (charts.length === before) L.push('No chart data for this symbol.', '');
    if (!rel.has(s))
      L.push(
        d.reliability
          ? `No reliability bins for ${s} in reliability.csv.`
          : 'No reliability diagram: reliability.csv is absent.',
        '',
      );
  }

  // symbols present in the data but without a verdict (e.g. the ALL aggregate)
  const extra = [...new Set([...slices.keys(), ...rel.keys()])].filter((s) => !(s in v.symbols)).sort(cmp);
  if (extra.length > 0) {
    L.push('## Aggregates and symbols without a verdict', '');
    for (const s of extra) {
      L.push(`### ${s}`, '');
      const srows = slicesBySym.get(s);
      if (srows) {
        L.push(...mdTable(SLICE_HEADER, sliceRows(srows), SLICE_ALIGN));
        L.push('');
      }
      L.push(...use(rel.get(s)));
      L.push(...use(slices.get(s)));
    }
  }

  if (v.pooled_weights.length > 0) {
    L.push('## Pooled slice weights', '');
    L.push(
      `Searched over ${symbols.join(', ')} together; the source of \`slice_weights.yaml\` when the run wrote one.`,
      '',
    );
    L.push(...mdTable(WEIGHT_HEADER, weightRows(v.pooled_weights), WEIGHT_ALIGN), '');
  }

  L.push('## Calibration (walk-forward Platt)', '');
  if (d.calibration.length === 0) L.push('calibration_summary.csv has no folds.');
  else
    L.push(
      ...mdTable(
        ['symbol', 'folds', 'status', 'platt_test_samples', 'median ECE', 'median Brier skill', 'last fit'],
        calibrationRows(d),
        ['l', 'r', 'l', 'r', 'l', 'l', 'l'],
      ),
    );
  L.push('');

  L.push('## Incidents', '');
  if (incs.length === 0) L.push('No incidents.');
  else
    L.push(
      ...mdTable(
        [
          'id',
          'symbol',
          'slice',
          'gate',
          'severity',
          'opened (UTC)',
          'closed (UTC)',
          'action',
          'fingerprint before → after',
          'why',
        ],
        incidentRows(incs),
      ),
    );
  L.push('');
  const fps = [...d.incidents.fingerprints].sort(
    (a, b) =>
      (a.from_ms ?? -Infinity) - (b.from_ms ?? -Infinity) ||
      cmp(a.symbol ?? '', b.symbol ?? '') ||
      cmp(a.fingerprint, b.fingerprint),
  );
  if (fps.length > 0) {
    L.push('### Config fingerprints', '');
    L.push(
      ...mdTable(
        ['symbol', 'fingerprint', 'from (UTC)', 'reason'],
        fps.map((f) => [
          f.symbol ?? 'all',
          `\`${f.fingerprint}\``,
          f.from_ms === null ? 'start of run' : fmtUtc(f.from_ms),
          f.reason,
        ]),
      ),
    );
    L.push('');
  }

  L.push(...HOW_TO_READ, '');
  L.push(
    `Sources: ${[REPORT_FILES.verdicts, REPORT_FILES.metrics, REPORT_FILES.slices, REPORT_FILES.calibration, REPORT_FILES.merge, REPORT_FILES.incidents, ...(d.reliability ? [REPORT_FILES.reliability] : [])].map((f) => `\`${f}\``).join(', ')}.`,
  );
  return { markdown: `${L.join('\n')}\n`, charts };
}

/**
 * Reads the canary report files of `reportDir`, writes `charts/*.svg` and
 * `ramp_batch_summary.md` there. `files`: the written files relative to
 * `reportDir` (markdown first, then charts in the order they are embedded).
 */
export function renderRampReport(reportDir: string): { markdown: string; files: string[] } {
  const data = loadCanaryReport(reportDir);
  const { markdown, charts } = renderRampMarkdown(data);
  for (const c of charts) writeFileAtomic(path.join(reportDir, ...c.file.split('/')), c.svg);
  writeFileAtomic(path.join(reportDir, REPORT_FILES.markdown), markdown);
  return { markdown, files: [REPORT_FILES.markdown, ...charts.map((c) => c.file)] };
}
