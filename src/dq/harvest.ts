/**
 * The seed's 1.3.1 harvest acceptance, pure part: trade-row coverage of the
 * scenario_2x2 cells per symbol and per session, signal volume, winsor
 * separation and completeness, judged against `harvest:` thresholds of the
 * config. Definitions: ./README.md "Harvest acceptance". IO (the DuckDB scans
 * of a run's derived tables, the files) is in ./harvest-run.ts.
 *
 * One implementation of coverage: `CoverageCounts` + `judgeCoverage` +
 * `sliceManifest` serve the replay / live / canary run folders (counted from
 * the derived `prices` rows, src/replay) and the recorder's hourly files
 * (recorder/hourly.ts), so both apply the same rule with the same thresholds.
 *
 * Example:
 *   const c = new CoverageCounts(['London', 'NY', 'Tokyo']);
 *   c.add('BTCUSDT', hour, 0, 3, 2500);                 // 2500 trades, London, A_H
 *   judgeCoverage(c, ['BTCUSDT'], DEFAULT_HARVEST_THRESHOLDS).failing;  // ['BTCUSDT:A_L', ...]
 */
import { canonicalJson, sha256 } from '../core/hash.js';
import { UsageError } from '../core/errors.js';
import { SCENARIO_NAMES } from '../calc/slices.js';
import { hourLabel } from './run.js';
import type { DqSummary, DqThresholds } from './types.js';

/** The `harvest:` config key (src/config/schema.ts has the seed defaults). */
export interface HarvestThresholds {
  readonly scenario_min_rows: number;
  readonly scenario_min_share: number;
  readonly session_min_rows: number;
  readonly session_min_scenarios: number;
  readonly events_min: number;
  readonly events_per_hours: number;
  readonly events_per_symbols: number;
  readonly winsor_min_samples: number;
  readonly winsor_tail_q: number;
  readonly completeness_min: number;
}

export const DEFAULT_HARVEST_THRESHOLDS: Readonly<HarvestThresholds> = Object.freeze({
  scenario_min_rows: 2000,
  scenario_min_share: 0.05,
  session_min_rows: 1000,
  session_min_scenarios: 2,
  events_min: 1000,
  events_per_hours: 72,
  events_per_symbols: 6,
  winsor_min_samples: 1000,
  winsor_tail_q: 0.001,
  completeness_min: 1,
});

/** The four cells in report order. */
export const CELLS = ['A_H', 'A_L', 'Q_H', 'Q_L'] as const;
export type Cell = (typeof CELLS)[number];
/** Slot of trades before the vol bucket exists (scenario_2x2 null). */
const WARMUP = 4;
const SLOTS = 5;

export const INSUFFICIENT_COVERAGE = 'insufficient_coverage';

/**
 * Trade rows per (symbol, UTC hour, session, scenario_2x2 cell). `add` takes
 * codes: the session index into `sessions`, the scenario code of
 * src/calc/slices.ts (Q_L 0, Q_H 1, A_L 2, A_H 3, -1 warm-up). Memory:
 * 5 x sessions numbers per (symbol, hour) that holds a trade.
 */
export class CoverageCounts {
  private readonly bySymbol = new Map<string, Map<number, Float64Array>>();
  constructor(readonly sessions: readonly string[]) {}

  add(symbol: string, hour: number, session: number, scenario: number, n = 1): void {
    if (!(session >= 0 && session < this.sessions.length))
      throw new RangeError(`coverage: session code ${session} is not one of ${this.sessions.length} sessions`);
    let hours = this.bySymbol.get(symbol);
    if (!hours) this.bySymbol.set(symbol, (hours = new Map()));
    let c = hours.get(hour);
    if (!c) hours.set(hour, (c = new Float64Array(this.sessions.length * SLOTS)));
    c[session * SLOTS + (scenario >= 0 && scenario < 4 ? scenario : WARMUP)] += n;
  }

  /** Add by names (the DuckDB path): session name, cell name or null (warm-up). */
  addNamed(symbol: string, hour: number, session: string, cell: string | null, n: number): void {
    const s = this.sessions.indexOf(session);
    if (s < 0) throw new RangeError(`coverage: session '${session}' is not one of ${this.sessions.join(', ')}`);
    const code = cell === null ? -1 : (SCENARIO_NAMES as readonly string[]).indexOf(cell);
    if (cell !== null && code < 0) throw new RangeError(`coverage: scenario_2x2 '${cell}' is not a cell`);
    this.add(symbol, hour, s, code, n);
  }

  symbols(): string[] {
    return [...this.bySymbol.keys()].sort();
  }

  hours(): number[] {
    const hs = new Set<number>();
    for (const m of this.bySymbol.values()) for (const h of m.keys()) hs.add(h);
    return [...hs].sort((a, b) => a - b);
  }

  /** Slot counts [Q_L, Q_H, A_L, A_H, warmup] of a symbol, summed over the hours and sessions selected. */
  slots(symbol: string, hour: number | null = null, session: number | null = null): number[] {
    const out = [0, 0, 0, 0, 0];
    const hours = this.bySymbol.get(symbol);
    if (!hours) return out;
    for (const [h, c] of hours) {
      if (hour !== null && h !== hour) continue;
      for (let s = 0; s < this.sessions.length; s++) {
        if (session !== null && s !== session) continue;
        for (let k = 0; k < SLOTS; k++) out[k] += c[s * SLOTS + k];
      }
    }
    return out;
  }
}

/** `{A_H, A_L, Q_H, Q_L, warmup}` of slot counts. */
export function cellCounts(slots: readonly number[]): Record<Cell | 'warmup', number> {
  return { A_H: slots[3], A_L: slots[2], Q_H: slots[1], Q_L: slots[0], warmup: slots[WARMUP] };
}

/** `slices_manifest_YYYYMMDD_HH.json` of an hour index. */
export function slicesFileName(hour: number): string {
  const iso = new Date(hour * 3_600_000).toISOString();
  return `slices_manifest_${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}.json`;
}
export const SLICES_SUMMARY_FILE = 'slices_summary.json';

/**
 * One hour's slices manifest: trade rows per (symbol, scenario_2x2) as a list
 * and as a table, and `scene_coverage_miss` = (symbol, cell) pairs with no
 * trade in the hour (the recorder's hourly gauge; the run-level gate is
 * `judgeCoverage`).
 */
export function sliceManifest(
  counts: CoverageCounts,
  hour: number,
  symbols: readonly string[],
  partial: boolean,
): Record<string, unknown> {
  const rows: { symbol: string; scenario_2x2: string | null; count: number }[] = [];
  const table: Record<string, Record<string, number>> = {};
  const missing: string[] = [];
  for (const s of [...symbols].sort()) {
    const c = cellCounts(counts.slots(s, hour));
    table[s] = c;
    for (const cell of CELLS) {
      rows.push({ symbol: s, scenario_2x2: cell, count: c[cell] });
      if (c[cell] === 0) missing.push(`${s}:${cell}`);
    }
    rows.push({ symbol: s, scenario_2x2: null, count: c.warmup });
  }
  return {
    hour: hourLabel(hour),
    partial,
    cells: [...CELLS],
    rows,
    symbols: table,
    scene_coverage_miss: missing.length,
    missing,
  };
}

export type HarvestStatus = 'pass' | 'fail' | 'insufficient';

/** One acceptance check: its figure, over n, against the threshold. */
export interface HarvestCheck {
  readonly name: string;
  readonly status: HarvestStatus;
  readonly figure: number | null;
  /** What `figure` is. */
  readonly measure: string;
  readonly n: number;
  readonly threshold: string;
  readonly reason?: string;
  /** Failing (symbol, cell) / (symbol, session) pairs or symbols. */
  readonly failing?: string[];
  readonly by_symbol?: Record<string, unknown>;
}

export interface CoverageJudgement {
  readonly scenario_coverage: HarvestCheck;
  readonly session_coverage: HarvestCheck;
  /** The seed's gate: 1 when either coverage check does not pass. */
  readonly scene_coverage_miss: 0 | 1;
  /** Every failing pair: `SYM:A_H` (scenario) and `SYM:London` (session). */
  readonly failing: string[];
}

/**
 * The 2x2 coverage gate over a whole run:
 * - scenario_coverage: per symbol, each cell has > 0 and (>= scenario_min_rows
 *   or >= scenario_min_share of the symbol's labelled trade rows) trade rows;
 * - session_coverage: per symbol x session, >= session_min_scenarios cells
 *   with >= session_min_rows trade rows.
 * `symbols` are the run's symbols: one without any trade fails every pair.
 */
export function judgeCoverage(
  counts: CoverageCounts,
  symbols: readonly string[],
  th: HarvestThresholds,
): CoverageJudgement {
  const syms = [...symbols].sort();
  const scenFail: string[] = [];
  const sessFail: string[] = [];
  const scenBy: Record<string, unknown> = {};
  const sessBy: Record<string, unknown> = {};
  for (const s of syms) {
    const slots = counts.slots(s);
    const labelled = slots[0] + slots[1] + slots[2] + slots[3];
    const need = Math.min(th.scenario_min_rows, th.scenario_min_share * labelled);
    const c = cellCounts(slots);
    const failing = CELLS.filter((cell) => !(c[cell] > 0 && c[cell] >= need));
    for (const cell of failing) scenFail.push(`${s}:${cell}`);
    scenBy[s] = { ...c, labelled, need: round6(need), failing };
    const sess: Record<string, unknown> = {};
    counts.sessions
      .map((name, k) => ({ name, k }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .forEach(({ name, k }) => {
        const cc = cellCounts(counts.slots(s, null, k));
        const ok = CELLS.filter((cell) => cc[cell] >= th.session_min_rows);
        const pass = ok.length >= th.session_min_scenarios;
        if (!pass) sessFail.push(`${s}:${name}`);
        sess[name] = { ...cc, cells_at_min: ok, pass };
      });
    sessBy[s] = sess;
  }
  const noSymbols = syms.length === 0;
  const scenario: HarvestCheck = {
    name: 'scenario_coverage',
    status: noSymbols ? 'insufficient' : scenFail.length === 0 ? 'pass' : 'fail',
    figure: noSymbols ? null : scenFail.length,
    measure: '(symbol, cell) pairs below the minimum',
    n: syms.length * CELLS.length,
    threshold: `0 pairs; a cell passes with >= ${th.scenario_min_rows} trade rows or >= ${round6(th.scenario_min_share * 100)}% of the symbol's labelled trade rows`,
    ...(noSymbols ? { reason: 'no symbols in the run' } : {}),
    failing: scenFail,
    by_symbol: scenBy,
  };
  const session: HarvestCheck = {
    name: 'session_coverage',
    status: noSymbols ? 'insufficient' : sessFail.length === 0 ? 'pass' : 'fail',
    figure: noSymbols ? null : sessFail.length,
    measure: '(symbol, session) pairs with too few well-covered cells',
    n: syms.length * counts.sessions.length,
    threshold: `0 pairs; a session passes with >= ${th.session_min_scenarios} cells of >= ${th.session_min_rows} trade rows`,
    ...(noSymbols ? { reason: 'no symbols in the run' } : {}),
    failing: sessFail,
    by_symbol: sessBy,
  };
  const miss = scenario.status === 'pass' && session.status === 'pass' ? 0 : 1;
  return {
    scenario_coverage: scenario,
    session_coverage: session,
    scene_coverage_miss: miss,
    failing: [...scenFail, ...sessFail],
  };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Events per symbol from the events table (divergence, pivot, anomaly counted; cvd_flip and gap are not signals). */
export interface EventsFigures {
  readonly by_symbol: Record<string, { readonly divergence: number; readonly pivot: number; readonly anomaly: number }>;
  /** Σ over symbols of the symbol's derived-data span (first to last prices/ofi row), hours. */
  readonly symbol_hours: number;
}

export const SIGNAL_EVENT_TYPES = ['divergence', 'pivot', 'anomaly'] as const;

/**
 * events_volume: events >= events_min per events_per_hours h over
 * events_per_symbols symbols, scaled to the run's symbol-hours:
 * required = events_min x symbol_hours / (events_per_hours x events_per_symbols).
 */
export function judgeEvents(f: EventsFigures, th: HarvestThresholds): HarvestCheck {
  let total = 0;
  for (const v of Object.values(f.by_symbol)) total += v.divergence + v.pivot + v.anomaly;
  const required = (th.events_min * f.symbol_hours) / (th.events_per_hours * th.events_per_symbols);
  const scaled = `scaled from >= ${th.events_min} per ${th.events_per_hours} h x ${th.events_per_symbols} symbols to this run's ${round6(f.symbol_hours)} symbol-hours`;
  if (!(f.symbol_hours > 0)) {
    return {
      name: 'events_volume',
      status: 'insufficient',
      figure: total,
      measure: 'divergence + pivot + anomaly events',
      n: 0,
      threshold: scaled,
      reason: 'the run holds no derived rows (0 symbol-hours)',
      by_symbol: f.by_symbol,
    };
  }
  return {
    name: 'events_volume',
    status: total >= required ? 'pass' : 'fail',
    figure: total,
    measure: 'divergence + pivot + anomaly events',
    n: Object.keys(f.by_symbol).length,
    threshold: `>= ${round6(required)} (${scaled})`,
    by_symbol: f.by_symbol,
  };
}

/** Per symbol, over cvd rows with a non-null z_raw. */
export interface WinsorFigures {
  readonly emitted: number;
  /** |z_raw| > winsor_limit. */
  readonly beyond: number;
  /** Rows whose z_cvd is not clamp(z_raw, ±limit). */
  readonly violations: number;
  readonly max_abs_z_cvd: number | null;
  /** Quantiles q and 1 - q (type 7). */
  readonly z_raw_tails: readonly [number, number] | null;
  readonly z_cvd_tails: readonly [number, number] | null;
}

/**
 * winsor_separation: the winsor acts and only in the tails. Fail when any
 * z_cvd differs from clamp(z_raw, ±limit), or when z_raw never leaves ±limit
 * (the tails do not separate); insufficient below winsor_min_samples rows.
 */
export function judgeWinsor(by: Record<string, WinsorFigures>, limit: number, th: HarvestThresholds): HarvestCheck {
  let n = 0;
  let beyond = 0;
  let violations = 0;
  for (const v of Object.values(by)) {
    n += v.emitted;
    beyond += v.beyond;
    violations += v.violations;
  }
  const base = {
    name: 'winsor_separation',
    figure: beyond,
    measure: `cvd rows with |z_raw| > winsor_limit ${limit} (violations: ${violations} rows with z_cvd != clamp(z_raw))`,
    n,
    threshold: `>= 1 row beyond the limit and 0 violations, over >= ${th.winsor_min_samples} emitted rows`,
    by_symbol: by,
  };
  if (violations > 0) return { ...base, status: 'fail', reason: `${violations} rows with z_cvd != clamp(z_raw)` };
  if (n < th.winsor_min_samples)
    return { ...base, status: 'insufficient', reason: `only ${n} emitted z_raw rows (need ${th.winsor_min_samples})` };
  if (beyond === 0) return { ...base, status: 'fail', reason: `no |z_raw| beyond ${limit}: the tails do not separate` };
  return { ...base, status: 'pass' };
}

/** Per symbol, over cvd rows with a non-null z_cvd. */
export interface CompletenessFigures {
  readonly emitted: number;
  /** Emitted rows with scale, sigma_floor and floor_used all present. */
  readonly complete: number;
  /** cvd rows with a null z_cvd (warm-up, after gaps): not judged. */
  readonly null_z: number;
}

export function judgeCompleteness(by: Record<string, CompletenessFigures>, th: HarvestThresholds): HarvestCheck {
  let n = 0;
  let ok = 0;
  for (const v of Object.values(by)) {
    n += v.emitted;
    ok += v.complete;
  }
  const share = n > 0 ? ok / n : null;
  return {
    name: 'completeness',
    status: share === null ? 'insufficient' : share >= th.completeness_min ? 'pass' : 'fail',
    figure: share === null ? null : round6(share),
    measure: 'share of emitted cvd rows (z_cvd non-null) with scale, sigma_floor and floor_used present',
    n,
    threshold: `>= ${th.completeness_min}`,
    ...(share === null ? { reason: 'no emitted cvd rows' } : {}),
    by_symbol: by,
  };
}

/** The raw-data checks of `flowlab dq` (per symbol), in the harvest check shape; raw n/a stays n/a. */
export interface RawCheckRow {
  readonly name: string;
  readonly symbol: string;
  readonly status: 'pass' | 'fail' | 'n/a';
  readonly figure: number | null;
  readonly threshold: string;
  readonly reason?: string;
}

export function rawCheckRows(raw: DqSummary): RawCheckRow[] {
  const out: RawCheckRow[] = [];
  for (const [sym, r] of Object.entries(raw.symbols)) {
    for (const c of r.checks) {
      out.push({
        name: c.name,
        symbol: sym,
        status: c.status,
        figure: c.value,
        threshold: `< ${c.max}`,
        ...(c.reason !== undefined ? { reason: c.reason } : {}),
      });
    }
  }
  return out;
}

export type HarvestVerdict = 'PASS' | 'FAIL' | 'INSUFFICIENT';

/**
 * FAIL when a harvest check fails or the raw dq verdict is FAIL; else
 * INSUFFICIENT when a harvest check is insufficient; else PASS. Raw checks
 * that are n/a follow `flowlab dq` (they do not fail the raw verdict).
 */
export function harvestVerdict(
  checks: readonly HarvestCheck[],
  raw: DqSummary,
): { verdict: HarvestVerdict; failed: string[]; insufficient: string[] } {
  const failed = checks.filter((c) => c.status === 'fail').map((c) => c.name);
  const insufficient = checks.filter((c) => c.status === 'insufficient').map((c) => c.name);
  if (raw.verdict === 'FAIL') failed.push(`raw_dq (${raw.verdict_reason})`);
  const verdict = failed.length > 0 ? 'FAIL' : insufficient.length > 0 ? 'INSUFFICIENT' : 'PASS';
  return { verdict, failed, insufficient };
}

/** Thresholds (harvest + raw dq + the winsor limit they judge against) and their fingerprint. */
export function thresholdsFingerprint(h: HarvestThresholds, dq: DqThresholds, winsorLimit: number): string {
  return sha256(canonicalJson({ harvest: h, dq, winsor_limit: winsorLimit })).slice(0, 16);
}

/** Defaults filled, every value checked (errors name the key). */
export function resolveHarvestThresholds(over: Partial<HarvestThresholds> = {}): HarvestThresholds {
  const th = { ...DEFAULT_HARVEST_THRESHOLDS, ...over };
  for (const [k, v] of Object.entries(th)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new UsageError(`harvest.${k}: ${String(v)} is not valid (expected a number >= 0)`);
  }
  if (th.scenario_min_share > 1 || th.completeness_min > 1 || th.winsor_tail_q > 0.5)
    throw new UsageError('harvest: scenario_min_share and completeness_min must be <= 1, winsor_tail_q <= 0.5');
  if (!(th.events_per_hours > 0 && th.events_per_symbols > 0))
    throw new UsageError('harvest: events_per_hours and events_per_symbols must be > 0');
  return th;
}
