/**
 * Sweep results, from the shard folders alone (so a local and a queued sweep of
 * the same grid give the same bytes):
 *
 * - `sweep_results.parquet`: one row per (config, symbol): the grid values,
 *   every verdict check (value, CI, n, status), incidents by gate, the fusion
 *   AUC on the training and the held-out period (overlap-aware DeLong CI: the
 *   variance times horizon / sample interval, as everywhere in flowlab), the
 *   fingerprint and the shard path.
 * - Selection is honest: the best config is chosen on the training period only
 *   (mean over symbols of the training AUC), then reported on the later held-out
 *   period, with how many configs were tried. Training samples whose label
 *   reaches into the held-out period (ts >= split - horizon) are left out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { aucDeLong } from '../eval/auc.js';
import { overlapInflation } from '../canary/engine.js';
import { readF64, streamChunks, sqlString, writeParquet, type OutColumn } from '../io/duck.js';
import { REPORT_DIR } from '../canary/canary.js';
import type { LoadedConfig } from '../config/load.js';
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
  n: number;
  status: string;
}

export interface ShardResult {
  readonly plan: ShardPlan;
  readonly include: boolean;
  readonly checks: Map<string, Check>;
  readonly incidents: Map<string, number>;
  readonly train: AucFigure;
  readonly holdout: AucFigure;
}

function aucFig(score: Float64Array, y: Float64Array, vif: number): AucFigure {
  if (score.length === 0) return { auc: null, ci: null, n: 0 };
  const r = aucDeLong(score, y, { variance_inflation: vif });
  return { auc: r.auc, ci: r.ci_low !== null && r.ci_high !== null ? [r.ci_low, r.ci_high] : null, n: r.n };
}

async function splitAuc(
  file: string,
  splitMs: number | null,
  cfg: LoadedConfig,
): Promise<{ train: AucFigure; holdout: AucFigure }> {
  const hMs = cfg.config.labels.horizons_s[0] * 1000;
  const sql = `SELECT ts_ms::DOUBLE, score, y FROM read_parquet(${sqlString(file)}) WHERE score IS NOT NULL AND y IS NOT NULL ORDER BY ts_ms`;
  const parts: Float64Array[][] = [];
  for await (const chunk of streamChunks(sql)) {
    const n = chunk.rowCount;
    const t = new Float64Array(n);
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    readF64(chunk, 0, t, 0);
    readF64(chunk, 1, s, 0);
    readF64(chunk, 2, y, 0);
    parts.push([t, s, y]);
  }
  let nTrain = 0;
  let nHold = 0;
  for (const [t] of parts)
    for (let i = 0; i < t.length; i++) {
      if (splitMs === null || t[i] < splitMs - hMs) nTrain++;
      else if (t[i] >= splitMs) nHold++;
    }
  const trS = new Float64Array(nTrain);
  const trY = new Float64Array(nTrain);
  const hoS = new Float64Array(nHold);
  const hoY = new Float64Array(nHold);
  let a = 0;
  let b = 0;
  for (const [t, s, y] of parts)
    for (let i = 0; i < t.length; i++) {
      if (splitMs === null || t[i] < splitMs - hMs) {
        trS[a] = s[i];
        trY[a++] = y[i];
      } else if (t[i] >= splitMs) {
        hoS[b] = s[i];
        hoY[b++] = y[i];
      }
    }
  const vif = overlapInflation(cfg.config);
  return { train: aucFig(trS, trY, vif), holdout: aucFig(hoS, hoY, vif) };
}

/** Read one shard's figures. */
export async function readShard(plan: ShardPlan, splitMs: number | null): Promise<ShardResult> {
  const report = path.join(shardDir(plan.job.out, plan.job.id), REPORT_DIR);
  const verdicts = JSON.parse(fs.readFileSync(path.join(report, 'verdicts.json'), 'utf8'));
  const v = verdicts.symbols?.[plan.job.symbol];
  const checks = new Map<string, Check>();
  for (const c of (v?.checks ?? []) as Check[])
    checks.set(c.name, { name: c.name, value: c.value, ci: c.ci, n: c.n, status: c.status });
  const incidents = new Map<string, number>();
  const inc = JSON.parse(fs.readFileSync(path.join(report, 'incidents.json'), 'utf8'));
  for (const i of (inc.incidents ?? []) as { gate: string; severity: string }[]) {
    const k = `${i.gate}_${i.severity}`;
    incidents.set(k, (incidents.get(k) ?? 0) + 1);
  }
  const { train, holdout } = await splitAuc(path.join(report, 'eval_samples.parquet'), splitMs, plan.point.config);
  return { plan, include: v?.include_in_pool === true, checks, incidents, train, holdout };
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
    '| symbol | training AUC [95% CI] (n) | held-out AUC [95% CI] (n) | verdict over the whole run |',
    '|---|---|---|---|',
  );
  for (const r of bestRows)
    L.push(
      `| ${r.plan.job.symbol} | ${f3(r.train.auc)} ${ciTxt(r.train)} (${r.train.n}) | ${f3(r.holdout.auc)} ${ciTxt(r.holdout)} (${r.holdout.n}) | ${r.include ? 'INCLUDE' : 'HOLD'} |`,
    );
  L.push(
    '',
    'The best of many configs on the same data overstates its skill: only the held-out column is an honest estimate. CIs are DeLong with the variance inflated by horizon / sample interval (overlapping labels).',
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
