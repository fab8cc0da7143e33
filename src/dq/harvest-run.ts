/**
 * The harvest acceptance over a run folder (`flowlab dq --run <out>/<tag>`)
 * and the run's slices manifests: DuckDB scans of the derived tables listed in
 * the run's manifest.json, the raw dq of its input dataset (./run.ts), judged
 * by ./harvest.ts. Definitions: ./README.md "Harvest acceptance".
 *
 * Files:
 * - in the run folder, written by every replay / canary / live run when it
 *   finishes (src/replay finalizeRun): `slices/slices_manifest_YYYYMMDD_HH.json`
 *   per UTC hour of trade time and `slices/slices_summary.json` (coverage
 *   verdict, thresholds, both fingerprints); listed with sha256 under
 *   `slices` in manifest.json, and the verdict goes into run_tag.txt.
 * - in `--out` (default `artifacts/dq/<tag>`): `dq_summary.json` (every check,
 *   the raw dq summary embedded), `harvest_acceptance.md`, and the raw dq's
 *   hourly `dq_YYYYMMDD_HH.json`. Nothing is written into the run folder, so a
 *   run stays exactly what its replay produced (`flowlab verify`).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { z } from 'zod';
import { duck, queryRows, sqlString } from '../io/duck.js';
import { FlowlabError } from '../core/errors.js';
import { canonicalJson, sha256File } from '../core/hash.js';
import { safeJoin, zDate, zSha256, zSymbol, zTag } from '../core/validate.js';
import { configFromObject, type LoadedConfig } from '../config/load.js';
import { writeFileAtomic } from '../report/csv.js';
import { calcParamsFromConfig } from '../pipeline/params.js';
import { DERIVED_KINDS } from '../pipeline/tables.js';
import { SessionClassifier } from '../calc/session.js';
import { resolveDqParams, runDq } from './run.js';
import { writeDqReport } from './write.js';
import {
  CoverageCounts,
  INSUFFICIENT_COVERAGE,
  SIGNAL_EVENT_TYPES,
  SLICES_SUMMARY_FILE,
  CELLS,
  cellCounts,
  harvestVerdict,
  judgeCompleteness,
  judgeCoverage,
  judgeEvents,
  judgeWinsor,
  rawCheckRows,
  resolveHarvestThresholds,
  sliceManifest,
  slicesFileName,
  thresholdsFingerprint,
  type CompletenessFigures,
  type CoverageJudgement,
  type EventsFigures,
  type HarvestCheck,
  type HarvestThresholds,
  type HarvestVerdict,
  type RawCheckRow,
  type WinsorFigures,
} from './harvest.js';
import type { DqSummary } from './types.js';
import { REPLAY_MANIFEST } from '../core/run-files.js';

export const SLICES_DIR = 'slices';
export const HARVEST_SUMMARY_FILE = 'dq_summary.json';
export const HARVEST_MD_FILE = 'harvest_acceptance.md';

interface RunOutput {
  readonly path: string;
  readonly kind: string;
  readonly symbol: string;
}

/**
 * What the harvest reads of a run's manifest.json (src/replay `ReplayManifest`
 * has these and more; replay writes it, the harvest only reads these fields).
 */
interface RunManifestView {
  readonly run_tag: string;
  readonly config: unknown;
  readonly config_fingerprint: string;
  readonly dataset: { readonly path: string; readonly files_sha256: string };
  readonly selection: { readonly symbols: readonly string[] };
  readonly outputs: readonly RunOutput[];
  /** Derived tables written (absent in runs from before `--tables`: all five). */
  readonly tables?: readonly string[];
}

const zKind = z.enum(DERIVED_KINDS as unknown as [string, ...string[]]);

/**
 * The fields of RunManifestView checked as strictly as src/replay's reading of
 * the whole manifest (the same patterns; dq does not import replay): a tag, an
 * absolute dataset path without quotes, symbols, and outputs whose path is the
 * one their date, symbol and kind imply. Other fields are kept unread.
 */
const RunViewSchema = z.looseObject({
  run_tag: zTag,
  config: z.record(z.string(), z.unknown()),
  config_fingerprint: z.string().regex(/^[0-9a-f]{16}$/, '16 hex digits'),
  dataset: z.looseObject({
    path: z
      .string()
      .refine((p) => path.isAbsolute(p) && !/[\0'"\n\r]/.test(p), 'an absolute path without quotes or newlines'),
    files_sha256: zSha256,
  }),
  selection: z.looseObject({ symbols: z.array(zSymbol).min(1) }),
  outputs: z.array(
    z
      .looseObject({ path: z.string(), kind: zKind, symbol: zSymbol, date: zDate })
      .refine(
        (o) => new RegExp(`^data/date=${o.date}/symbol=${o.symbol}/kind=${o.kind}/part-\\d{9}\\.parquet$`).test(o.path),
        'a part path data/date=<date>/symbol=<symbol>/kind=<kind>/part-<9 digits>.parquet matching the entry',
      ),
  ),
  tables: z.array(zKind).min(1).optional(),
});

/** Session names of a config, in code order (as the derived rows' session column spells them). */
export function sessionNames(config: LoadedConfig): readonly string[] {
  const p = calcParamsFromConfig(config.config).slices;
  return new SessionClassifier(p.sessions, p.session_fallback).names;
}

function partFiles(runDir: string, outputs: readonly RunOutput[], kind: string): string[] {
  return outputs
    .filter((o) => o.kind === kind)
    .map((o) => safeJoin(runDir, o.path))
    .sort();
}

function list(paths: readonly string[]): string {
  return `[${paths.map(sqlString).join(', ')}]`;
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));

/** Trade rows per (symbol, hour of ts_ms, session, scenario_2x2) from the run's prices parts. */
export async function scanCoverage(
  runDir: string,
  outputs: readonly RunOutput[],
  sessions: readonly string[],
  conn?: DuckDBConnection,
): Promise<CoverageCounts> {
  const counts = new CoverageCounts(sessions);
  const prices = partFiles(runDir, outputs, 'prices');
  if (prices.length === 0) return counts;
  const rows = await queryRows(
    `SELECT symbol, (ts_ms // 3600000)::DOUBLE AS hour, session, scenario_2x2, count(*)::DOUBLE AS n
       FROM read_parquet(${list(prices)}) GROUP BY ALL ORDER BY ALL`,
    conn,
  );
  for (const r of rows) {
    counts.addNamed(
      r.symbol as string,
      num(r.hour),
      r.session as string,
      (r.scenario_2x2 as string | null) ?? null,
      num(r.n),
    );
  }
  return counts;
}

export interface RunSlices {
  /** Paths relative to the run folder, with sha256, in name order. */
  readonly files: { readonly path: string; readonly sha256: string }[];
  readonly judgement: CoverageJudgement;
  readonly thresholds_fingerprint: string;
}

/**
 * Count the coverage of a finished run and write its slices manifests
 * (`slices/` in the run folder: one per hour of trade time plus the summary).
 * Deterministic: the bytes depend only on the derived rows and the config.
 */
export async function writeRunSlices(a: {
  runDir: string;
  runTag: string;
  config: LoadedConfig;
  symbols: readonly string[];
  outputs: readonly RunOutput[];
}): Promise<RunSlices> {
  const cfg = a.config.config;
  const th = resolveHarvestThresholds(cfg.harvest);
  const counts = await scanCoverage(a.runDir, a.outputs, sessionNames(a.config));
  const symbols = [...a.symbols].sort();
  const judgement = judgeCoverage(counts, symbols, th);
  const tfp = thresholdsFingerprint(th, cfg.dq, cfg.cvd.winsor_limit);
  const dir = path.join(a.runDir, SLICES_DIR);
  fs.mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  const hours = counts.hours();
  for (const h of hours) {
    const name = slicesFileName(h);
    writeFileAtomic(path.join(dir, name), json(sliceManifest(counts, h, symbols, false)));
    names.push(name);
  }
  writeFileAtomic(
    path.join(dir, SLICES_SUMMARY_FILE),
    json(slicesSummary({ runTag: a.runTag, config: a.config, counts, symbols, judgement, th, tfp, files: names })),
  );
  names.push(SLICES_SUMMARY_FILE);
  const out: RunSlices['files'] = [];
  for (const n of names.sort()) out.push({ path: `${SLICES_DIR}/${n}`, sha256: await sha256File(path.join(dir, n)) });
  return { files: out, judgement, thresholds_fingerprint: tfp };
}

/** The final summary manifest of a run's slices: whole-run counts, the gate, thresholds, fingerprints. */
export function slicesSummary(a: {
  runTag: string;
  config: LoadedConfig;
  counts: CoverageCounts;
  symbols: readonly string[];
  judgement: CoverageJudgement;
  th: HarvestThresholds;
  tfp: string;
  files: readonly string[];
}): Record<string, unknown> {
  const per: Record<string, unknown> = {};
  for (const s of a.symbols) {
    const sessions: Record<string, unknown> = {};
    [...a.counts.sessions]
      .map((name, k) => ({ name, k }))
      .sort((x, y) => (x.name < y.name ? -1 : 1))
      .forEach(({ name, k }) => {
        sessions[name] = cellCounts(a.counts.slots(s, null, k));
      });
    per[s] = { ...cellCounts(a.counts.slots(s)), sessions };
  }
  const j = a.judgement;
  return {
    run_tag: a.runTag,
    config_fingerprint: a.config.fingerprint,
    config_version: a.config.config.version,
    thresholds_fingerprint: a.tfp,
    thresholds: a.th,
    cells: [...CELLS],
    sessions: [...a.counts.sessions].sort(),
    hourly_files: [...a.files],
    symbols: per,
    scene_coverage_miss: j.scene_coverage_miss,
    tags: j.scene_coverage_miss ? [INSUFFICIENT_COVERAGE] : [],
    failing: j.failing,
    checks: {
      scenario_coverage: { status: j.scenario_coverage.status, failing: j.scenario_coverage.failing },
      session_coverage: { status: j.session_coverage.status, failing: j.session_coverage.failing },
    },
  };
}

function json(x: unknown): string {
  return `${JSON.stringify(x, null, 2)}\n`;
}

/** A run folder's manifest.json, checked for what the harvest reads, every listed output present. */
function readRun(runDir: string): RunManifestView {
  const file = path.join(runDir, REPLAY_MANIFEST);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new FlowlabError(`'${runDir}' has no readable manifest.json (expected a replay, canary or live run folder)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FlowlabError(`${file}: not JSON (${(e as Error).message})`);
  }
  const parsed = RunViewSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FlowlabError(
      `${file}: ${issue.path.join('.') || '(root)'}: ${issue.message} (expected a replay, canary or live run manifest)`,
    );
  }
  const m = parsed.data as RunManifestView;
  if (m.run_tag !== path.basename(path.resolve(runDir)))
    throw new FlowlabError(`${file}: run_tag '${m.run_tag}' is not the folder's name '${path.basename(runDir)}'`);
  for (const o of m.outputs) {
    if (!fs.existsSync(safeJoin(runDir, o.path)))
      throw new FlowlabError(`${file}: output '${o.path}' is missing from the run folder`);
  }
  return m;
}

export interface HarvestOptions {
  /** Thresholds from this config (default: the config the run was made with, from its manifest). */
  readonly config?: LoadedConfig;
  /**
   * The raw dq of the run's dataset, already computed (the demo runs it first);
   * used only when it covers the run's symbols with the same dq thresholds,
   * otherwise computed again.
   */
  readonly raw?: Awaited<ReturnType<typeof runDq>>;
  /** The raw dq's clock-skew quantile (default 0.01, as `flowlab dq`). */
  readonly skewQuantile?: number;
}

export interface HarvestSummary {
  readonly flowlab_harvest: 1;
  readonly verdict: HarvestVerdict;
  readonly failed: string[];
  readonly insufficient: string[];
  readonly tags: string[];
  /** null: not known (the run did not write the prices table). */
  readonly scene_coverage_miss: 0 | 1 | null;
  readonly coverage_failing: string[];
  readonly run: {
    readonly run_tag: string;
    readonly config_fingerprint: string;
    readonly dataset: { readonly name: string; readonly files_sha256: string };
    readonly symbols: string[];
    readonly symbol_hours: number;
  };
  readonly thresholds: {
    readonly source: 'run' | 'config';
    readonly config_fingerprint: string;
    readonly fingerprint: string;
    readonly harvest: HarvestThresholds;
    readonly dq: DqSummary['params']['thresholds'];
    readonly winsor_limit: number;
  };
  readonly checks: HarvestCheck[];
  readonly raw_checks: RawCheckRow[];
  readonly raw: DqSummary;
}

export interface HarvestReport {
  readonly summary: HarvestSummary;
  readonly rawHours: Awaited<ReturnType<typeof runDq>>;
}

/**
 * The whole 1.3.1 DoD over a run folder and its raw dataset.
 *
 * Cost: the raw dq (one DuckDB scan per symbol and kind of the inputs) plus
 * one aggregate per derived table (prices, cvd, events, ofi span).
 */
export async function runHarvest(runDir: string, opts: HarvestOptions = {}): Promise<HarvestReport> {
  const m = readRun(runDir);
  const runConfig = configFromObject(m.config, {}, `${path.join(runDir, REPLAY_MANIFEST)} config`);
  const thConfig = opts.config ?? runConfig;
  const th = resolveHarvestThresholds(thConfig.config.harvest);
  const limit = thConfig.config.cvd.winsor_limit;
  const symbols = [...m.selection.symbols].sort();
  if (!fs.existsSync(m.dataset.path))
    throw new FlowlabError(`${runDir}: the run's raw dataset '${m.dataset.path}' is missing (manifest dataset.path)`);
  const given = opts.raw;
  const reuse =
    given !== undefined &&
    given.summary.params.skew_quantile === (opts.skewQuantile ?? 0.01) &&
    canonicalJson(Object.keys(given.summary.symbols).sort()) === canonicalJson(symbols) &&
    canonicalJson(given.summary.params.thresholds) ===
      canonicalJson(resolveDqParams({ thresholds: thConfig.config.dq }).thresholds);
  const raw = reuse
    ? given
    : await runDq(m.dataset.path, { symbols, thresholds: thConfig.config.dq, skewQuantile: opts.skewQuantile });

  const conn = await duck();
  let counts: CoverageCounts;
  const events: EventsFigures['by_symbol'] = {};
  const winsor: Record<string, WinsorFigures> = {};
  const complete: Record<string, CompletenessFigures> = {};
  let symbolHours = 0;
  try {
    counts = await scanCoverage(runDir, m.outputs, sessionNames(runConfig), conn);
    for (const s of symbols) {
      events[s] = { divergence: 0, pivot: 0, anomaly: 0 };
      winsor[s] = { emitted: 0, beyond: 0, violations: 0, max_abs_z_cvd: null, z_raw_tails: null, z_cvd_tails: null };
      complete[s] = { emitted: 0, complete: 0, null_z: 0 };
    }
    const ev = partFiles(runDir, m.outputs, 'events');
    if (ev.length > 0) {
      const types = SIGNAL_EVENT_TYPES.map(sqlString).join(', ');
      for (const r of await queryRows(
        `SELECT symbol, event_type, count(*)::DOUBLE AS n FROM read_parquet(${list(ev)})
          WHERE event_type IN (${types}) GROUP BY ALL ORDER BY ALL`,
        conn,
      )) {
        const e = events[r.symbol as string] as Record<string, number> | undefined;
        if (e) e[r.event_type as string] = num(r.n);
      }
    }
    const cvd = partFiles(runDir, m.outputs, 'cvd');
    if (cvd.length > 0) {
      const L = String(limit);
      const q = String(th.winsor_tail_q);
      const q1 = String(1 - th.winsor_tail_q);
      for (const r of await queryRows(
        `SELECT symbol,
                count(z_raw)::DOUBLE AS emitted_raw,
                count(*) FILTER (WHERE abs(z_raw) > ${L})::DOUBLE AS beyond,
                count(*) FILTER (WHERE z_raw IS NOT NULL AND (z_cvd IS NULL OR z_cvd <> greatest(least(z_raw, ${L}), -${L})))::DOUBLE AS violations,
                max(abs(z_cvd)) AS max_abs,
                quantile_cont(z_raw, ${q}) AS r_lo, quantile_cont(z_raw, ${q1}) AS r_hi,
                quantile_cont(z_cvd, ${q}) AS c_lo, quantile_cont(z_cvd, ${q1}) AS c_hi,
                count(z_cvd)::DOUBLE AS emitted,
                count(*) FILTER (WHERE z_cvd IS NOT NULL AND scale IS NOT NULL AND sigma_floor IS NOT NULL AND floor_used IS NOT NULL)::DOUBLE AS complete,
                count(*) FILTER (WHERE z_cvd IS NULL)::DOUBLE AS null_z
           FROM read_parquet(${list(cvd)}) GROUP BY symbol ORDER BY symbol`,
        conn,
      )) {
        const s = r.symbol as string;
        if (!(s in winsor)) continue;
        const tails = (lo: unknown, hi: unknown): [number, number] | null =>
          lo === null || hi === null ? null : [round6(num(lo)), round6(num(hi))];
        winsor[s] = {
          emitted: num(r.emitted_raw),
          beyond: num(r.beyond),
          violations: num(r.violations),
          max_abs_z_cvd: r.max_abs === null ? null : round6(num(r.max_abs)),
          z_raw_tails: tails(r.r_lo, r.r_hi),
          z_cvd_tails: tails(r.c_lo, r.c_hi),
        };
        complete[s] = { emitted: num(r.emitted), complete: num(r.complete), null_z: num(r.null_z) };
      }
    }
    // each symbol's span of derived rows (trades and quote updates), for the events scaling
    const span = new Map<string, [number, number]>();
    for (const kind of ['prices', 'ofi']) {
      const parts = partFiles(runDir, m.outputs, kind);
      if (parts.length === 0) continue;
      for (const r of await queryRows(
        `SELECT symbol, min(ts_ms)::DOUBLE AS lo, max(ts_ms)::DOUBLE AS hi FROM read_parquet(${list(parts)}) GROUP BY symbol`,
        conn,
      )) {
        const s = r.symbol as string;
        const lo = numOrNull(r.lo);
        const hi = numOrNull(r.hi);
        if (lo === null || hi === null) continue;
        const cur = span.get(s);
        span.set(s, cur ? [Math.min(cur[0], lo), Math.max(cur[1], hi)] : [lo, hi]);
      }
    }
    for (const s of symbols) {
      const sp = span.get(s);
      if (sp) symbolHours += (sp[1] - sp[0]) / 3_600_000;
    }
  } finally {
    conn.closeSync();
  }

  // a run made with `replay --tables` may lack a table a check reads: that check is insufficient
  const written = new Set<string>(m.tables ?? DERIVED_KINDS);
  const needs = (c: HarvestCheck, ...tables: string[]): HarvestCheck => {
    const missing = tables.filter((t) => !written.has(t));
    if (missing.length === 0) return c;
    return {
      name: c.name,
      status: 'insufficient',
      figure: null,
      measure: c.measure,
      n: 0,
      threshold: c.threshold,
      reason: `the run did not write the ${missing.join(' and ')} table${missing.length > 1 ? 's' : ''} (replay --tables ${[...written].join(',')})`,
    };
  };
  const cov = judgeCoverage(counts, symbols, th);
  const hasPrices = written.has('prices');
  const checks: HarvestCheck[] = [
    needs(cov.scenario_coverage, 'prices'),
    needs(cov.session_coverage, 'prices'),
    needs(judgeEvents({ by_symbol: events, symbol_hours: symbolHours }, th), 'events', hasPrices ? 'prices' : 'ofi'),
    needs(judgeWinsor(winsor, limit, th), 'cvd'),
    needs(judgeCompleteness(complete, th), 'cvd'),
  ];
  const miss = hasPrices ? cov.scene_coverage_miss : null;
  const v = harvestVerdict(checks, raw.summary);
  const summary: HarvestSummary = {
    flowlab_harvest: 1,
    verdict: v.verdict,
    failed: v.failed,
    insufficient: v.insufficient,
    tags: miss === 1 ? [INSUFFICIENT_COVERAGE] : [],
    scene_coverage_miss: miss,
    coverage_failing: hasPrices ? cov.failing : [],
    run: {
      run_tag: m.run_tag,
      config_fingerprint: m.config_fingerprint,
      dataset: { name: path.basename(m.dataset.path), files_sha256: m.dataset.files_sha256 },
      symbols,
      symbol_hours: round6(symbolHours),
    },
    thresholds: {
      source: opts.config ? 'config' : 'run',
      config_fingerprint: thConfig.fingerprint,
      fingerprint: thresholdsFingerprint(th, raw.summary.params.thresholds, limit),
      harvest: th,
      dq: raw.summary.params.thresholds,
      winsor_limit: limit,
    },
    checks,
    raw_checks: rawCheckRows(raw.summary),
    raw: raw.summary,
  };
  return { summary, rawHours: raw };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** The verdict line (the demo and the CLI print it; the markdown starts with it). */
export function harvestVerdictLine(s: HarvestSummary): string {
  const parts = [`harvest ${s.run.run_tag}: ${s.verdict}`];
  if (s.failed.length > 0) parts.push(`failed: ${s.failed.join(', ')}`);
  if (s.insufficient.length > 0) parts.push(`insufficient: ${s.insufficient.join(', ')}`);
  if (s.tags.length > 0) parts.push(`tags: ${s.tags.join(', ')}`);
  return parts.join('; ');
}

function fmt(x: number | null): string {
  if (x === null) return 'n/a';
  return Number.isInteger(x) ? x.toLocaleString('en-US') : String(round6(x));
}

/** `harvest_acceptance.md`: verdict and what failed first, then every check and the coverage tables. */
export function harvestMarkdown(s: HarvestSummary): string {
  const L: string[] = [];
  L.push(`# Harvest acceptance (seed 1.3.1): ${s.verdict}`, '');
  L.push(`- failed: ${s.failed.length > 0 ? s.failed.join(', ') : 'none'}`);
  if (s.insufficient.length > 0) L.push(`- insufficient: ${s.insufficient.join(', ')}`);
  if (s.tags.length > 0) L.push(`- tags: ${s.tags.join(', ')} (failing pairs: ${s.coverage_failing.join(', ')})`);
  L.push('');
  L.push(
    `Run \`${s.run.run_tag}\` (config ${s.run.config_fingerprint}), dataset \`${s.run.dataset.name}\`, ` +
      `symbols ${s.run.symbols.join(', ')}, ${fmt(s.run.symbol_hours)} symbol-hours. Thresholds from the ` +
      `${s.thresholds.source === 'run' ? "run's own config" : 'given config'} (${s.thresholds.config_fingerprint}), ` +
      `thresholds fingerprint ${s.thresholds.fingerprint}.`,
    '',
  );
  L.push('| check | status | figure | n | threshold | measure |', '|---|---|---|---|---|---|');
  for (const c of s.checks) {
    L.push(
      `| ${c.name} | ${c.status}${c.reason ? ` (${c.reason})` : ''} | ${fmt(c.figure)} | ${fmt(c.n)} | ${c.threshold} | ${c.measure} |`,
    );
  }
  L.push('', `Raw data (\`flowlab dq\`): ${s.raw.verdict} (${s.raw.verdict_reason}).`, '');
  L.push('| symbol | check | status | figure | threshold |', '|---|---|---|---|---|');
  for (const r of s.raw_checks) {
    L.push(
      `| ${r.symbol} | ${r.name} | ${r.status}${r.reason ? ` (${r.reason})` : ''} | ${fmt(r.figure)} | ${r.threshold} |`,
    );
  }
  const scen = s.checks.find((c) => c.name === 'scenario_coverage')?.by_symbol as
    | Record<string, Record<string, number>>
    | undefined;
  if (scen) {
    L.push('', '## Trade rows per scenario_2x2 cell', '');
    L.push('| symbol | A_H | A_L | Q_H | Q_L | warm-up | cell minimum |', '|---|---|---|---|---|---|---|');
    for (const [sym, c] of Object.entries(scen))
      L.push(
        `| ${sym} | ${fmt(c.A_H)} | ${fmt(c.A_L)} | ${fmt(c.Q_H)} | ${fmt(c.Q_L)} | ${fmt(c.warmup)} | ${fmt(c.need)} |`,
      );
  }
  const sess = s.checks.find((c) => c.name === 'session_coverage')?.by_symbol as
    | Record<string, Record<string, Record<string, number | string[] | boolean>>>
    | undefined;
  if (sess) {
    L.push('', '## Sessions: cells at the session minimum', '');
    L.push(
      '| symbol | session | A_H | A_L | Q_H | Q_L | cells at minimum | pass |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const [sym, by] of Object.entries(sess)) {
      for (const [name, c] of Object.entries(by)) {
        L.push(
          `| ${sym} | ${name} | ${fmt(c.A_H as number)} | ${fmt(c.A_L as number)} | ${fmt(c.Q_H as number)} | ${fmt(c.Q_L as number)} | ${(c.cells_at_min as string[]).join(' ') || '-'} | ${c.pass ? 'yes' : 'no'} |`,
        );
      }
    }
  }
  const ev = s.checks.find((c) => c.name === 'events_volume')?.by_symbol as
    | Record<string, Record<string, number>>
    | undefined;
  if (ev) {
    L.push('', '## Events per symbol', '');
    L.push('| symbol | divergence | pivot | anomaly |', '|---|---|---|---|');
    for (const [sym, e] of Object.entries(ev))
      L.push(`| ${sym} | ${fmt(e.divergence)} | ${fmt(e.pivot)} | ${fmt(e.anomaly)} |`);
  }
  const w = s.checks.find((c) => c.name === 'winsor_separation')?.by_symbol as
    | Record<string, WinsorFigures>
    | undefined;
  if (w) {
    const q = s.thresholds.harvest.winsor_tail_q;
    const tails = (t: readonly [number, number] | null) => (t === null ? 'n/a' : `${fmt(t[0])} / ${fmt(t[1])}`);
    L.push(
      '',
      `## Winsor: z_raw and z_cvd in the tails (limit ${s.thresholds.winsor_limit}, quantiles ${q} / ${1 - q})`,
      '',
    );
    L.push(
      '| symbol | emitted | beyond limit | violations | max abs z_cvd | z_raw tails | z_cvd tails |',
      '|---|---|---|---|---|---|---|',
    );
    for (const [sym, x] of Object.entries(w))
      L.push(
        `| ${sym} | ${fmt(x.emitted)} | ${fmt(x.beyond)} | ${fmt(x.violations)} | ${fmt(x.max_abs_z_cvd)} | ${tails(x.z_raw_tails)} | ${tails(x.z_cvd_tails)} |`,
      );
  }
  return `${L.join('\n')}\n`;
}

/**
 * Write the harvest files into `outDir`: the raw dq's hourly files (./write.ts;
 * its summary is embedded, not written separately), then `harvest_acceptance.md`
 * and `dq_summary.json` (the harvest summary), before the folder's marker goes.
 * Returns the paths written.
 */
export function writeHarvestReport(r: HarvestReport, outDir: string): string[] {
  const summary = path.join(outDir, HARVEST_SUMMARY_FILE);
  const md = path.join(outDir, HARVEST_MD_FILE);
  // the summary and markdown are written before the folder's _INCOMPLETE marker is removed
  return writeDqReport(r.rawHours, outDir, {
    summary: false,
    also: () => {
      writeFileAtomic(md, harvestMarkdown(r.summary));
      writeFileAtomic(summary, json(r.summary));
      return [summary, md];
    },
  });
}
