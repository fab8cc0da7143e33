/**
 * Writing dq files and the human table. JSON is `JSON.stringify(x, null, 2)`
 * of objects built in a fixed key order, with no wall-clock field, so the
 * same dataset and parameters give byte-identical files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FlowlabError, UsageError, describeError } from '../core/errors.js';
import { SUMMARY_FILE } from './run.js';
import {
  INCOMPLETE_MARKER,
  TEMP_SUFFIX_RE,
  isIncomplete,
  markComplete,
  markIncomplete,
  writeFileAtomic,
} from '../core/atomic.js';
import { RUN_TAG_FILE } from '../core/run-files.js';
import { MANIFEST_FILE, isDataset } from '../dataset/manifest.js';
import type { DqCheck, DqReport, DqSummary } from './types.js';

/** Hourly dq file names (`dq_YYYYMMDD_HH.json`). */
export const HOUR_FILE_RE = /^dq_\d{8}_\d{2}\.json$/;

/** The bytes of a dq file. */
export function dqJson(x: unknown): string {
  return `${JSON.stringify(x, null, 2)}\n`;
}

/** Names a dq or harvest writes into its folder (hourly files, summary, harvest markdown, their temp files). */
const DQ_NAME_RE = new RegExp(
  `^(?:dq_\\d{8}_\\d{2}\\.json|dq_summary\\.json|harvest_acceptance\\.md)(?:${TEMP_SUFFIX_RE})?$`,
);

/** True when `file` is a dq_summary.json that flowlab wrote (`dq --data` or `dq --run`). */
function isFlowlabSummary(file: string): boolean {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    return j !== null && typeof j === 'object' && (j.flowlab_dq === 1 || j.flowlab_harvest === 1);
  } catch {
    return false;
  }
}

/**
 * The output folder rule of `dq`: a new or empty folder, a folder a previous
 * dq (or an interrupted one) wrote, or a raw dataset folder (dq files beside
 * its manifest). Anything else is refused before a byte is written, so dq
 * never replaces a file it did not create (a user's own `dq_summary.json`,
 * hourly-looking files, a run folder that `verify` must find unchanged).
 */
export function checkDqOutFolder(outDir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(outDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new FlowlabError(`cannot read output folder '${outDir}': ${describeError(e)}`);
  }
  if (!st.isDirectory())
    throw new UsageError(`--out '${outDir}' exists and is not a folder (expected a new folder or a dq output folder)`);
  if (fs.existsSync(path.join(outDir, MANIFEST_FILE))) return;
  if (isDataset(outDir) && !fs.existsSync(path.join(outDir, RUN_TAG_FILE))) return; // a legacy dataset (manifest.json)
  const names = fs.readdirSync(outDir);
  if (names.length === 0) return;
  const summary = path.join(outDir, SUMMARY_FILE);
  if (fs.existsSync(summary)) {
    if (isFlowlabSummary(summary)) return;
    throw new UsageError(
      `--out '${outDir}': its ${SUMMARY_FILE} was not written by flowlab dq; refusing to replace it (choose a new or empty folder)`,
    );
  }
  if (isIncomplete(outDir) && names.every((n) => n === INCOMPLETE_MARKER || DQ_NAME_RE.test(n))) return;
  throw new UsageError(
    `--out '${outDir}' is not empty and holds no flowlab dq output (${SUMMARY_FILE}); choose a new or empty folder`,
  );
}

/**
 * Write `dq_summary.json` and one `dq_YYYYMMDD_HH.json` per hour into `outDir`
 * (created if needed). Hourly dq files of an earlier run that this run does
 * not produce are removed, so the folder always describes one run.
 * Returns the written paths, summary first then hours in time order.
 */
export function writeDqReport(
  report: DqReport,
  outDir: string,
  opts: { summary?: boolean; also?: () => string[] } = {},
): string[] {
  checkDqOutFolder(outDir);
  try {
    fs.mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw new FlowlabError(`cannot create output folder '${outDir}': ${describeError(e)}`);
  }
  // marked incomplete until the summary (written last) is in place: a crash never leaves a
  // summary beside another run's hourly files without saying so
  // (not when --out is a dataset folder itself: its marker would make the dataset unreadable after a crash)
  const mark = !fs.existsSync(path.join(outDir, MANIFEST_FILE));
  if (mark) markIncomplete(outDir, 'dq');
  const keep = new Set(report.summary.hours.map((h) => h.file));
  for (const name of fs.readdirSync(outDir)) {
    if (HOUR_FILE_RE.test(name) && !keep.has(name)) fs.rmSync(path.join(outDir, name), { force: true });
  }
  const hours: string[] = [];
  report.hours.forEach((h, i) => {
    const file = path.join(outDir, report.summary.hours[i].file);
    writeFileAtomic(file, dqJson(h));
    hours.push(file);
  });
  const written: string[] = [];
  if (opts.summary !== false) {
    // (`flowlab dq --run` writes its own dq_summary.json, with this summary inside)
    const summaryFile = path.join(outDir, SUMMARY_FILE);
    writeFileAtomic(summaryFile, dqJson(report.summary));
    written.push(summaryFile);
  }
  // (`also`: the harvest's summary and markdown, still inside the marked window)
  if (opts.also) written.push(...opts.also());
  if (mark) markComplete(outDir);
  return [...written, ...hours];
}

function pct(x: number): string {
  if (x === 0) return '0%';
  const v = x * 100;
  return `${v < 0.01 ? v.toPrecision(1) : v < 10 ? v.toFixed(2) : v.toFixed(1)}%`;
}

function cell(c: DqCheck | undefined, kind: 'rate' | 'ms'): string {
  if (!c) return '-';
  if (c.status === 'n/a' || c.value === null) return 'n/a';
  const v = kind === 'rate' ? pct(c.value) : `${c.value.toFixed(1)}`;
  return c.status === 'pass' ? `${v} ok` : `${v} FAIL`;
}

function pad(rows: string[][]): string[] {
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows.map((r) =>
    r
      .map((c, j) => (j === 0 ? c.padEnd(w[j]) : c.padStart(w[j])))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * Compact table: one row per symbol, one column per check, then warnings and
 * the verdict. Columns: rows, empty 1-min buckets, duplicate rate, skew,
 * net latency p50 / p99 (trades `t`, quotes `q`).
 */
export function formatDqTable(s: DqSummary): string {
  const head = [
    'symbol',
    'trades',
    'quotes',
    'empty t',
    'empty q',
    'dup t',
    'dup q',
    'skew ms',
    'p50 t',
    'p99 t',
    'p50 q',
    'p99 q',
    'verdict',
  ];
  const rows: string[][] = [head];
  for (const [sym, r] of Object.entries(s.symbols)) {
    const c = (name: string) => r.checks.find((x) => x.name === name);
    const skew = r.trades.latency.skew_ms ?? r.quotes.latency.skew_ms;
    rows.push([
      sym,
      String(r.rows.trades),
      String(r.rows.quotes),
      cell(c('trades_empty_buckets'), 'rate'),
      cell(c('quotes_empty_buckets'), 'rate'),
      cell(c('trades_dup_rate'), 'rate'),
      cell(c('quotes_dup_rate'), 'rate'),
      skew === null ? 'n/a' : `${skew.toFixed(1)}${Math.abs(skew) > s.params.skew_warn_ms ? ' !' : ''}`,
      cell(c('trades_latency_p50_net'), 'ms'),
      cell(c('trades_latency_p99_net'), 'ms'),
      cell(c('quotes_latency_p50_net'), 'ms'),
      cell(c('quotes_latency_p99_net'), 'ms'),
      r.verdict,
    ]);
  }
  const th = s.params.thresholds;
  const lines = [
    `dq ${s.dataset.name}: ${Object.keys(s.symbols).length} symbols, ${s.hours.length} hourly files` +
      (s.scope.from_ms !== null && s.scope.to_ms !== null
        ? `, ts ${new Date(s.scope.from_ms).toISOString()} .. ${new Date(s.scope.to_ms).toISOString()}`
        : ''),
    `thresholds: empty < ${pct(th.empty_bucket_max)}, dup < ${pct(th.dup_rate_max)}, ` +
      `latency above the floor p50 < ${th.latency_p50_max_ms} ms, p99 < ${th.latency_p99_max_ms} ms ` +
      `(floor = skew = q${s.params.skew_quantile} of recv - exchange time, so clock offset and minimum latency ` +
      `are both excluded; ! = |skew| > ${s.params.skew_warn_ms} ms)`,
    '',
    ...pad(rows),
  ];
  const na: string[] = [];
  for (const [sym, r] of Object.entries(s.symbols)) {
    const byReason = new Map<string, string[]>();
    for (const c of r.checks) {
      if (c.status !== 'n/a') continue;
      const why = c.reason ?? 'not computable';
      byReason.set(why, [...(byReason.get(why) ?? []), c.name]);
    }
    for (const [why, names] of byReason) na.push(`  ${sym} ${names.join(', ')}: n/a (${why})`);
  }
  if (na.length > 0) lines.push('', ...na);
  if (s.warnings.length > 0) lines.push('', 'warnings:', ...s.warnings.map((w) => `  ${w}`));
  const failedHours = s.hours.filter((h) => h.verdict === 'FAIL').length;
  lines.push('', `hours: ${s.hours.length - failedHours} PASS, ${failedHours} FAIL`);
  lines.push(`verdict: ${s.verdict} (${s.verdict_reason})`);
  return lines.join('\n');
}
