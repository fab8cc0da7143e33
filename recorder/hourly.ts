/**
 * Hourly recorder outputs, in `<dataset>/hourly/`:
 *
 * - `slices_manifest_YYYYMMDD_HH.json`: per symbol, trades received in the UTC
 *   hour (by receive time) per scenario_2x2 cell {A_H, A_L, Q_H, Q_L} (plus
 *   `warmup`: trades before the vol bucket exists), from a causal
 *   `SliceTracker` (src/calc/slices.ts, seed parameters) fed trades and
 *   bookTicker mids in arrival order (event time clamped to be non-decreasing);
 *   `scene_coverage_miss` = number of (symbol, cell) pairs with zero trades,
 *   and which ones.
 * - `dq_YYYYMMDD_HH.json`: the full `runDq` report (src/dq) for that hour,
 *   computed over the dataset's checkpointed part files after the hour closed.
 *   runDq scans the whole dataset (one DuckDB pass per symbol and kind), which
 *   is fine for day-long recordings; split longer ones.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SliceTracker, SCENARIO_NAMES } from '../src/calc/slices.js';
import { DEFAULT_CALC_PARAMS, type SliceParams } from '../src/calc/params.js';
import { hourFileName, hourLabel, runDq, dqJson } from '../src/dq/index.js';

export const HOUR_MS = 3_600_000;
const CELLS = ['A_H', 'A_L', 'Q_H', 'Q_L'] as const;

export function slicesFileName(hour: number): string {
  return hourFileName(hour).replace(/^dq_/, 'slices_manifest_');
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

export class SliceCoverage {
  private readonly trackers = new Map<string, SliceTracker>();
  private readonly last = new Map<string, number>();
  /** hour -> symbol -> counts [A_H, A_L, Q_H, Q_L, warmup] */
  private readonly counts = new Map<number, Map<string, number[]>>();
  private readonly params: SliceParams;

  constructor(readonly symbols: readonly string[]) {
    this.params = structuredClone(DEFAULT_CALC_PARAMS.slices) as SliceParams;
    // trackers up front: their session classifiers build Intl formatters (tens of ms), not at the first tick
    for (const s of symbols) this.tracker(s);
  }

  private tracker(sym: string): SliceTracker {
    let t = this.trackers.get(sym);
    if (!t) this.trackers.set(sym, (t = new SliceTracker(this.params, sym)));
    return t;
  }

  private t(sym: string, ts: number): number {
    const prev = this.last.get(sym) ?? -Infinity;
    const t = ts > prev ? ts : prev;
    this.last.set(sym, t);
    return t;
  }

  onMid(sym: string, ts: number, mid: number): void {
    if (!(mid > 0)) return;
    this.tracker(sym).onMid(this.t(sym, ts), mid);
  }

  onTrade(sym: string, recvMs: number, ts: number): void {
    const tr = this.tracker(sym);
    const t = this.t(sym, ts);
    tr.onTrade(t);
    tr.label(t);
    const hour = Math.floor(recvMs / HOUR_MS);
    let h = this.counts.get(hour);
    if (!h) this.counts.set(hour, (h = new Map()));
    let c = h.get(sym);
    if (!c) h.set(sym, (c = [0, 0, 0, 0, 0]));
    const name = tr.scenario_name();
    c[name === null ? 4 : CELLS.indexOf(name as (typeof CELLS)[number])]++;
  }

  manifest(hour: number, partial: boolean): Record<string, unknown> {
    const h = this.counts.get(hour) ?? new Map<string, number[]>();
    const symbols: Record<string, Record<string, number>> = {};
    const missing: string[] = [];
    for (const s of [...this.symbols].sort()) {
      const c = h.get(s) ?? [0, 0, 0, 0, 0];
      symbols[s] = { A_H: c[0], A_L: c[1], Q_H: c[2], Q_L: c[3], warmup: c[4] };
      CELLS.forEach((cell, k) => {
        if (c[k] === 0) missing.push(`${s}:${cell}`);
      });
    }
    return {
      hour: hourLabel(hour),
      partial,
      cells: [...SCENARIO_NAMES].reverse(),
      symbols,
      scene_coverage_miss: missing.length,
      missing,
    };
  }

  miss(hour: number): number {
    return (this.manifest(hour, true).scene_coverage_miss as number) ?? 0;
  }

  hours(): number[] {
    return [...this.counts.keys()].sort((a, b) => a - b);
  }

  write(dir: string, hour: number, partial: boolean): string {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, slicesFileName(hour));
    writeAtomic(file, `${JSON.stringify(this.manifest(hour, partial), null, 2)}\n`);
    return file;
  }
}

/** Run the dq over the dataset and write the report of each requested hour. Returns the files written. */
export async function writeHourlyDq(datasetRoot: string, dir: string, hours: readonly number[]): Promise<string[]> {
  if (hours.length === 0) return [];
  const report = await runDq(datasetRoot, { progress: false });
  fs.mkdirSync(dir, { recursive: true });
  const want = new Set(hours.map(hourLabel));
  const out: string[] = [];
  report.hours.forEach((h, i) => {
    const label = h.scope.hour;
    if (label === null || !want.has(label)) return;
    const file = path.join(dir, report.summary.hours[i].file);
    writeAtomic(file, dqJson(h));
    out.push(file);
  });
  return out;
}
