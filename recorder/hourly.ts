/**
 * Hourly recorder outputs, in `<dataset>/_hourly/` (HOURLY_DIR):
 *
 * - `slices_manifest_YYYYMMDD_HH.json`: per symbol, trades per scenario_2x2
 *   cell {A_H, A_L, Q_H, Q_L} (plus `warmup`: trades before the vol bucket
 *   exists) in the UTC hour of their event time, and `scene_coverage_miss` =
 *   (symbol, cell) pairs with no trade in the hour. `slices_summary.json`: the
 *   whole recording so far, with the seed's 2x2 coverage gate
 *   (`scene_coverage_miss` 0/1, `insufficient_coverage`, failing pairs), the
 *   thresholds and the fingerprints.
 *
 *   One implementation with replay: the ticks the recorder accepts go, in
 *   writer call order with the writer's recv_seq (the arrival order a replay
 *   of the dataset reads), through a LiveBatcher into the same `Pipeline` a
 *   replay runs, with the config's parameters; its trades' slice labels are
 *   counted by `CoverageCounts`, the files are `sliceManifest` and
 *   `slicesSummary`, and the gate is `judgeCoverage` with the config's
 *   `harvest:` thresholds (src/dq/harvest.ts). A replay of the recorded
 *   dataset writes the same counts and verdict into its run folder (tested
 *   in test/live/parity.test.ts). Ticks still behind the sequencer's watermark
 *   when an hour's file is written are counted when released; the final write
 *   at stop rewrites every hour. Journal replays at start-up are not shown to
 *   the coverage (like the live tap): after a crash the counts restart.
 * - `dq_YYYYMMDD_HH.json`: the full `runDq` report (src/dq) for that hour,
 *   computed over the dataset's checkpointed part files after the hour closed.
 *   runDq scans the whole dataset (one DuckDB pass per symbol and kind), which
 *   is fine for day-long recordings; split longer ones.
 */
import fs from 'node:fs';
import path from 'node:path';
import { hourLabel, runDq, dqJson } from '../src/dq/index.js';
import {
  CoverageCounts,
  SLICES_SUMMARY_FILE,
  judgeCoverage,
  resolveHarvestThresholds,
  sliceManifest,
  slicesFileName,
  thresholdsFingerprint,
} from '../src/dq/harvest.js';
import { sessionNames, slicesSummary } from '../src/dq/harvest-run.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { calcParamsFromConfig } from '../src/pipeline/params.js';
import { LiveBatcher } from './batcher.js';
import type { SymbolCalc } from '../src/pipeline/symbol-calc.js';
import { configFromObject, type LoadedConfig } from '../src/config/load.js';
import { writeFileAtomic } from '../src/report/csv.js';
import type { RawSink } from '../src/core/types.js';

export const HOUR_MS = 3_600_000;
export { slicesFileName } from '../src/dq/harvest.js';

/** Derived rows are discarded in blocks of this many (the coverage needs only the trades' labels). */
const DISCARD_ROWS = 4096;
/** Ticks collected before they are pushed through the pipeline. */
const PUSH_TICKS = 4096;

export class SliceCoverage {
  private readonly batcher = new LiveBatcher();
  private readonly pipeline: Pipeline;
  private readonly counts: CoverageCounts;
  private readonly config: LoadedConfig;
  private finished = false;

  /** `config` (default: the defaults of the config schema) gives the pipeline's parameters and the thresholds. */
  constructor(
    readonly symbols: readonly string[],
    config?: LoadedConfig,
  ) {
    this.config = config ?? configFromObject({});
    const cfg = this.config.config;
    const counts = (this.counts = new CoverageCounts(sessionNames(this.config)));
    this.pipeline = new Pipeline(calcParamsFromConfig(cfg), {
      mergeTolMs: cfg.labels.merge_tol_ms,
      observer: {
        onTrade(symbol: string, ts: number, calc: SymbolCalc): void {
          const sl = calc.slices;
          counts.add(symbol, Math.floor(ts / HOUR_MS), sl.session, sl.scenario_2x2);
        },
      },
    });
  }

  /** An accepted trade, with the recv_seq the dataset writer gave it (LiveTap). */
  trade(recvSeq: number, ...a: Parameters<RawSink['trade']>): void {
    if (this.finished) return;
    this.batcher.trade(recvSeq, ...a);
    if (this.batcher.ticks % PUSH_TICKS === 0) this.push();
  }

  /** An accepted quote (LiveTap). */
  quote(recvSeq: number, ...a: Parameters<RawSink['quote']>): void {
    if (this.finished) return;
    this.batcher.quote(recvSeq, ...a);
    if (this.batcher.ticks % PUSH_TICKS === 0) this.push();
  }

  private push(): void {
    const block = this.batcher.flush();
    if (block) this.pipeline.push(block);
    this.pipeline.take(DISCARD_ROWS);
  }

  /** End of the recording: release every tick still in the sequencer (later ticks are ignored). */
  finish(): void {
    if (this.finished) return;
    this.push();
    this.pipeline.finish();
    this.pipeline.take(DISCARD_ROWS);
    this.finished = true;
  }

  manifest(hour: number, partial: boolean): Record<string, unknown> {
    if (!this.finished) this.push();
    return sliceManifest(this.counts, hour, this.symbols, partial);
  }

  miss(hour: number): number {
    return (this.manifest(hour, true).scene_coverage_miss as number) ?? 0;
  }

  hours(): number[] {
    if (!this.finished) this.push();
    return this.counts.hours();
  }

  /** Write the hour's manifest and refresh `slices_summary.json` (the recording so far). */
  write(dir: string, hour: number, partial: boolean): string {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, slicesFileName(hour));
    writeFileAtomic(file, `${JSON.stringify(this.manifest(hour, partial), null, 2)}\n`);
    const cfg = this.config.config;
    const th = resolveHarvestThresholds(cfg.harvest);
    const symbols = [...this.symbols].sort();
    const summary = slicesSummary({
      runTag: path.basename(path.dirname(path.resolve(dir))),
      config: this.config,
      counts: this.counts,
      symbols,
      judgement: judgeCoverage(this.counts, symbols, th),
      th,
      tfp: thresholdsFingerprint(th, cfg.dq, cfg.cvd.winsor_limit),
      files: this.counts.hours().map(slicesFileName),
    });
    writeFileAtomic(path.join(dir, SLICES_SUMMARY_FILE), `${JSON.stringify(summary, null, 2)}\n`);
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
    writeFileAtomic(file, dqJson(h));
    out.push(file);
  });
  return out;
}
