/**
 * Sweep results, from the shard folders alone (so a local and a queued sweep of
 * the same grid give the same bytes):
 *
 * - `sweep_results.parquet`: one row per (config, symbol): the grid values,
 *   the canary's own figures as it ran (every verdict check with value, CI, n,
 *   status; incidents by gate; when it first rolled back to the base config),
 *   the fusion AUC on the training and the held-out period (overlap-aware
 *   DeLong CI: the variance times horizon / sample interval, as everywhere in
 *   flowlab), the fingerprint and the shard path.
 * - The training and held-out AUCs are the grid point's own score rule over
 *   the whole shard: its stored fusion components re-scored under its config
 *   (`rescore`), not the canary's published score, which after a P1 rollback is
 *   the base config's (every config would then show the base's figures).
 * - Selection is honest: the best config is chosen on the training period only
 *   (mean over symbols of the training AUC), then reported on the later held-out
 *   period, with how many configs were tried. Training samples whose label
 *   reaches into the held-out period (ts >= split - horizon) are left out.
 */
import path from 'node:path';
import { loadRescoreRun, rescore, type RescoreRun } from '../canary/rescore.js';
import { canonicalJson } from '../core/hash.js';
import { FlowlabError } from '../core/errors.js';
import { writeParquet, type OutColumn } from '../io/duck.js';
import { REPORT_DIR } from '../canary/canary.js';
import { readIncidents, readVerdicts } from '../report/ramp.js';
import { describe, type SweepConfig } from './grid.js';
import { shardDir, SHARDS_DIR, type ShardJob } from './shard.js';

export interface ShardPlan {
  readonly job: ShardJob;
  readonly point: SweepConfig;
}

export interface AucFigure {
  readonly auc: number | null;
  readonly ci: [number, number] | null;
  readonly n: number;
}

interface Check {
  name: string;
  value: number | null;
  ci: [number, number] | null;
  n: number | null;
  status: string;
}

export interface ShardResult {
  readonly plan: ShardPlan;
  readonly include: boolean;
  readonly checks: Map<string, Check>;
  readonly incidents: Map<string, number>;
  /** When the shard's canary first rolled back to the base config (null: never). */
  readonly rollbackAtMs: number | null;
  /** Fusion AUC of the grid point's own score rule (re-scored), not of the canary's published score. */
  readonly train: AucFigure;
  readonly holdout: AucFigure;
}

const NO_FIGURE: AucFigure = { auc: null, ci: null, n: 0 };

/**
 * The fusion AUC of the grid point's own score rule over [fromMs, toMs): the
 * shard's stored components re-scored under its config (src/canary/rescore.ts,
 * the rule the canary and the notebooks use), so a rollback in the shard does
 * not put the base config's scores in the figure.
 */
function rescoredAuc(run: RescoreRun, symbol: string, fromMs?: number, toMs?: number): AucFigure {
  const r = rescore(run, { symbols: [symbol], dims: [], topk: false, calibrate: false, fromMs, toMs });
  const row = r.rows.find((x) => x.group === symbol && x.dim === 'all');
  if (!row) throw new FlowlabError(`rescore of ${run.runDir} returned no 'all' row for ${symbol}`);
  const a = row.auc;
  if (a.n === 0) return NO_FIGURE;
  return { auc: a.auc, ci: a.ci_low !== null && a.ci_high !== null ? [a.ci_low, a.ci_high] : null, n: a.n };
}

/** Read one shard's figures. */
export async function readShard(plan: ShardPlan, splitMs: number | null): Promise<ShardResult> {
  const dir = shardDir(plan.job.out, plan.job.id);
  const report = path.join(dir, REPORT_DIR);
  // read as the report re-render reads them (validated; a torn or edited file is named, not an internal error)
  const v = readVerdicts(report).symbols[plan.job.symbol];
  const checks = new Map<string, Check>();
  for (const c of v?.checks ?? [])
    checks.set(c.name, { name: c.name, value: c.value, ci: c.ci, n: c.n, status: c.status });
  const incidents = new Map<string, number>();
  let rollbackAtMs: number | null = null;
  for (const i of readIncidents(report).incidents) {
    const k = `${i.gate}_${i.severity}`;
    incidents.set(k, (incidents.get(k) ?? 0) + 1);
    for (const a of i.actions ?? [])
      if (a.action === 'rollback' && (rollbackAtMs === null || a.at_ms < rollbackAtMs)) rollbackAtMs = a.at_ms;
  }
  const run = await loadRescoreRun(dir);
  if (canonicalJson(run.config) !== canonicalJson(plan.point.config.config))
    throw new FlowlabError(
      `shard ${dir}: manifest.json config is not grid point ${plan.point.point.index}'s (${plan.point.file}); the shard is not this sweep's`,
    );
  const hMs = run.config.labels.horizons_s[0] * 1000;
  const sym = plan.job.symbol;
  // training: samples whose label ends before the split (embargo of one horizon); held out: from the split
  const train = splitMs === null ? rescoredAuc(run, sym) : rescoredAuc(run, sym, undefined, splitMs - hMs);
  const holdout = splitMs === null ? NO_FIGURE : rescoredAuc(run, sym, splitMs);
  return { plan, include: v?.include_in_pool === true, checks, incidents, rollbackAtMs, train, holdout };
}

/** A plain column name (letters, digits, _) for a dotted key. */
const col = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, '_');

const num = (x: number | null | undefined): number => (x === null || x === undefined ? NaN : x);

/** The results table (rows in grid order, then symbol order). */
export async function writeResults(file: string, results: readonly ShardResult[]): Promise<void> {
  const n = results.length;
  const cols: OutColumn[] = [];
  const f64 = (name: string, get: (r: ShardResult) => number) => {
    const d = new Float64Array(n);
    results.forEach((r, i) => (d[i] = get(r)));
    cols.push({ name, type: 'f64', data: d, nullNaN: true });
  };
  const i64 = (name: string, get: (r: ShardResult) => number) => {
    const d = new Float64Array(n);
    results.forEach((r, i) => (d[i] = get(r)));
    cols.push({ name, type: 'i64', data: d });
  };
  const str = (name: string, get: (r: ShardResult) => string) =>
    cols.push({ name, type: 'str', data: results.map(get) });
  i64('config_index', (r) => r.plan.point.point.index);
  str('config_fingerprint', (r) => r.plan.point.config.fingerprint);
  str('symbol', (r) => r.plan.job.symbol);
  const keys = results[0]?.plan.point.point.assignments.map(([k]) => k) ?? [];
  keys.forEach((k, j) => {
    const v0 = results[0].plan.point.point.assignments[j][1];
    if (typeof v0 === 'number') f64(col(`grid_${k}`), (r) => r.plan.point.point.assignments[j][1] as number);
    else str(col(`grid_${k}`), (r) => String(r.plan.point.point.assignments[j][1]));
  });
  cols.push({ name: 'include_in_pool', type: 'bool', data: Int8Array.from(results, (r) => (r.include ? 1 : 0)) });
  cols.push({
    name: 'rollback_at_ms',
    type: 'i64',
    data: Float64Array.from(results, (r) => r.rollbackAtMs ?? NaN),
    nullNaN: true,
  });
  for (const [label, get] of [
    ['train', (r: ShardResult) => r.train],
    ['holdout', (r: ShardResult) => r.holdout],
  ] as const) {
    f64(`auc_${label}`, (r) => num(get(r).auc));
    f64(`auc_${label}_ci_lo`, (r) => num(get(r).ci?.[0]));
    f64(`auc_${label}_ci_hi`, (r) => num(get(r).ci?.[1]));
    i64(`auc_${label}_n`, (r) => get(r).n);
  }
  const checkNames = [...new Set(results.flatMap((r) => [...r.checks.keys()]))].sort();
  for (const c of checkNames) {
    f64(col(`check_${c}_value`), (r) => num(r.checks.get(c)?.value));
    f64(col(`check_${c}_ci_lo`), (r) => num(r.checks.get(c)?.ci?.[0]));
    f64(col(`check_${c}_ci_hi`), (r) => num(r.checks.get(c)?.ci?.[1]));
    i64(col(`check_${c}_n`), (r) => r.checks.get(c)?.n ?? 0);
    str(col(`check_${c}_status`), (r) => r.checks.get(c)?.status ?? 'absent');
  }
  const gates = [...new Set(results.flatMap((r) => [...r.incidents.keys()]))].sort();
  for (const g of gates) i64(col(`incidents_${g}`), (r) => r.incidents.get(g) ?? 0);
  str('shard', (r) => `${SHARDS_DIR}/${r.plan.job.id}`);
  await writeParquet(file, cols, n);
}

const f3 = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
const ciTxt = (a: AucFigure) => (a.ci ? `[${a.ci[0].toFixed(3)}, ${a.ci[1].toFixed(3)}]` : '');

/** Mean training AUC over symbols per config; the chosen config is the highest (lowest index on ties). */
export function chooseConfig(results: readonly ShardResult[]): { index: number; score: number }[] {
  const by = new Map<number, number[]>();
  for (const r of results) {
    const k = r.plan.point.point.index;
    if (!by.has(k)) by.set(k, []);
    if (r.train.auc !== null) by.get(k)!.push(r.train.auc);
  }
  const out = [...by.entries()].map(([index, a]) => ({
    index,
    score: a.length ? a.reduce((p, q) => p + q, 0) / a.length : NaN,
  }));
  const key = (x: number) => (Number.isFinite(x) ? x : Number.NEGATIVE_INFINITY);
  return out.sort((a, b) => key(b.score) - key(a.score) || a.index - b.index);
}

export function summaryMarkdown(a: {
  results: readonly ShardResult[];
  holdoutFraction: number;
  splitMs: number | null;
  baseConfig: string;
  datasetSha: string;
}): string {
  const { results } = a;
  const ranked = chooseConfig(results);
  const nConfigs = ranked.length;
  const symbols = [...new Set(results.map((r) => r.plan.job.symbol))].sort();
  const L: string[] = [];
  L.push('# Sweep summary', '');
  if (ranked.length === 0) return `${L.join('\n')}No shards.\n`;
  const best = ranked[0];
  const bestRows = results.filter((r) => r.plan.point.point.index === best.index);
  const point = bestRows[0].plan.point;
  L.push(
    a.splitMs === null
      ? `**${nConfigs} configs tried** on ${symbols.length} symbols; no held-out period (--holdout 0): the best config's figures below are in-sample and overstate it.`
      : `**${nConfigs} configs tried** on ${symbols.length} symbols. Chosen on the training period (first ${Math.round((1 - a.holdoutFraction) * 100)}%, up to ${new Date(a.splitMs).toISOString()}), reported on the later held-out ${Math.round(a.holdoutFraction * 100)}%.`,
    '',
    `Chosen: config ${best.index} (\`${describe(point.point)}\`, fingerprint \`${point.config.fingerprint}\`), mean training AUC ${f3(best.score)}.`,
    '',
    '| symbol | training AUC [95% CI] (n) | held-out AUC [95% CI] (n) | canary verdict over the whole run | canary rolled back at |',
    '|---|---|---|---|---|',
  );
  for (const r of bestRows)
    L.push(
      `| ${r.plan.job.symbol} | ${f3(r.train.auc)} ${ciTxt(r.train)} (${r.train.n}) | ${f3(r.holdout.auc)} ${ciTxt(r.holdout)} (${r.holdout.n}) | ${r.include ? 'INCLUDE' : 'HOLD'} | ${r.rollbackAtMs === null ? 'never' : new Date(r.rollbackAtMs).toISOString()} |`,
    );
  L.push(
    '',
    'The best of many configs on the same data overstates its skill: only the held-out column is an honest estimate. CIs are DeLong with the variance inflated by horizon / sample interval (overlapping labels).',
    '',
    "Re-scored vs the canary's: the training and held-out AUCs are re-scored, the config's own score rule applied to each shard's stored fusion components over the whole shard (src/canary/rescore.ts), so they stay the config's after a rollback. The verdict, its checks, the incidents and the rollback time are the canary's, as it ran (after a P1 rollback the base config is in force for the rest of the shard; `sweep_results.parquet` has every check and `rollback_at_ms`).",
    '',
    '## Configs by training AUC (top 10)',
    '',
    '| rank | config | grid | mean training AUC | mean held-out AUC |',
    '|---|---|---|---|---|',
  );
  ranked.slice(0, 10).forEach((c, k) => {
    const rows = results.filter((r) => r.plan.point.point.index === c.index);
    const ho = rows.map((r) => r.holdout.auc).filter((x): x is number => x !== null);
    const hoMean = ho.length ? ho.reduce((p, q) => p + q, 0) / ho.length : null;
    L.push(
      `| ${k + 1} | ${c.index} | \`${describe(rows[0].plan.point.point)}\` | ${f3(Number.isFinite(c.score) ? c.score : null)} | ${f3(hoMean)} |`,
    );
  });
  L.push(
    '',
    `Base config: \`${a.baseConfig}\`. Dataset manifest sha256: \`${a.datasetSha}\`. Every shard is a canary run folder under \`${SHARDS_DIR}/\` (\`flowlab verify\` accepts it); all rows are in \`sweep_results.parquet\`.`,
    '',
  );
  return L.join('\n');
}
