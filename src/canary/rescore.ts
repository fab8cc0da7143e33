/**
 * Re-scoring a finished canary run under other fusion weights, gate and slice
 * overrides, without replaying it: the fusion components the score is made of
 * (z_ofi, z_cvd and the CVD direction in force, per sample) do not depend on
 * the weights, nor do the labels (y, resolved_at), the slices or the CVD flips.
 * So the score under any weights is the pipeline's own rule (`fusionRaw`,
 * `fusionScore`, `overrideFor` from src/calc/fusion.ts) applied to the stored
 * components, followed by the canary's walk-forward Platt and its slices
 * overview (`overviewRows`, the code that writes slices_overview.csv). What
 * no weight changes (pooled labels, slice codes, the slice layout, each row's
 * weight-table index) is built once per run, symbols and dimensions, and reused.
 * The result equals `flowlab canary` run with that config on the same data
 * (tested), except after a rollback: a run whose config `extends` a base can
 * switch back to the base weights mid-run, which depends on its gates;
 * re-scoring applies the given weights throughout.
 *
 * Inputs: `<run>/manifest.json` (the run's canonical config),
 * `<run>/canary_report/eval_samples.parquet` (every sample: labels, slices) and
 * the run's derived fusion table (z_ofi, z_cvd, cvd_dir), joined on
 * (symbol, ts_ms) once by `loadRescoreRun`; `rescore` is pure and columnar.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FlowlabError, UsageError } from '../core/errors.js';
import type { FlowlabConfig } from '../config/schema.js';
import type { FusionWeights } from '../calc/params.js';
import { fusionRaw, fusionScore, overrideFor, type SliceValues } from '../calc/fusion.js';
import { REGIME_NAMES, SCENARIO_NAMES, VOL_BUCKET_NAMES, VOL_TERTILE_NAMES } from '../calc/slices.js';
import { SessionClassifier } from '../calc/session.js';
import { calcParamsFromConfig } from '../pipeline/params.js';
import { readRunManifest } from '../replay/run-folder.js';
import { walkForwardPlatt } from '../eval/calibration.js';
import { duck, readF64, readI8, sqlString, streamChunks } from '../io/duck.js';
import {
  type CalibrationJob,
  type CalibrationSettings,
  type CalibrationThread,
  sharedF64,
  sharedI8,
} from './calibration-thread.js';
import { overlapInflation } from './engine.js';
import {
  OVERVIEW_DIMS,
  overviewMetricsOptions,
  overviewPlan,
  overviewRowsOf,
  type OverviewDim,
  type OverviewOptions,
  type OverviewPlan,
  type OverviewRow,
} from './overview.js';
import { probSliceMetrics, scoreSliceMetrics } from '../eval/multislice.js';

/** One symbol's stored samples, sorted by time. */
export interface RescoreTrack {
  readonly symbol: string;
  readonly t: Float64Array;
  readonly z_ofi: Float64Array;
  readonly z_cvd: Float64Array;
  readonly dir: Float64Array;
  readonly y: Float64Array;
  readonly resolved_at: Float64Array;
  readonly session: Int8Array;
  readonly regime: Int8Array;
  readonly vol_bucket: Int8Array;
  readonly vol_tertile: Int8Array;
  readonly scenario: Int8Array;
}

export interface RescoreRun {
  readonly runDir: string;
  /** The run's canonical config (manifest.json). */
  readonly config: FlowlabConfig;
  readonly sessionNames: readonly string[];
  /** Sorted. */
  readonly symbols: readonly string[];
  readonly tracks: ReadonlyMap<string, RescoreTrack>;
}

export interface RescoreRequest {
  /** Default weights (default: the run's config). */
  readonly weights?: { readonly ofi: number; readonly cvd: number };
  /** Default gate (default: the run's config). */
  readonly gate?: number;
  /** Slice overrides, slice value -> weights (default: the run's config; `{}` = none). */
  readonly slices?: Readonly<Record<string, FusionWeights>>;
  /** Symbols (default: all of the run); the pooled group is always 'ALL'. */
  readonly symbols?: readonly string[];
  /** Overview dimensions (default all four; fewer is faster). */
  readonly dims?: readonly OverviewDim[];
  /** Top-5% hit rate per slice (default true). */
  readonly topk?: boolean;
  /**
   * Walk-forward Platt, hence ECE, Brier and Brier skill (default true; false:
   * AUC, CI and counts only: 47 ms against 120 ms on one thread for the 24 h x 6
   * demo run, 70 ms with a CalibrationThread; e.g. to scan a grid, then
   * evaluate the best in full).
   */
  readonly calibrate?: boolean;
  /**
   * Sample time window, ms: only samples with `fromMs <= ts_ms < toMs` are
   * scored and evaluated (default: all). Selected before scoring, so the
   * walk-forward Platt (when `calibrate`) is fitted within the window.
   */
  readonly fromMs?: number;
  readonly toMs?: number;
}

export interface RescoreResult {
  /** Per group (each symbol, then ALL) and slice: n, AUC with the overlap-corrected CI, ECE, Brier skill... */
  readonly rows: OverviewRow[];
  /** The weights applied (defaults filled from the run's config). */
  readonly applied: { weights: { ofi: number; cvd: number }; gate: number; slices: Record<string, FusionWeights> };
}

/** How to compute (not what): results are the same with or without. */
export interface RescoreOptions {
  /** A second core for the walk-forward fits (src/canary/calibration-thread.ts). */
  readonly thread?: CalibrationThread;
}

const codeSql = (col: string, names: readonly string[]) =>
  `CAST(CASE ${names.map((n, i) => `WHEN e.${col} = ${sqlString(n)} THEN ${i}`).join(' ')} ELSE -1 END AS TINYINT)`;

/** Reads the run once: every sample's components, labels and slices, per symbol. */
export async function loadRescoreRun(runDir: string): Promise<RescoreRun> {
  const manifestFile = path.join(runDir, 'manifest.json');
  const samplesFile = path.join(runDir, 'canary_report', 'eval_samples.parquet');
  for (const f of [manifestFile, samplesFile])
    if (!fs.existsSync(f))
      throw new FlowlabError(`run '${runDir}': ${path.relative(runDir, f)} is missing (not a canary run?)`);
  const m = readRunManifest(runDir); // validated: symbols name folders (globs) below, config keys are read
  const config = m.config as unknown as FlowlabConfig;
  if (!config?.fusion || !config.calibration || !config.labels)
    throw new FlowlabError(`run '${runDir}': manifest.json holds no canonical config (key config)`);
  const cp = calcParamsFromConfig(config);
  const sessionNames = new SessionClassifier(cp.slices.sessions, cp.slices.session_fallback).names;
  const symbols = [...m.selection.symbols].sort();
  const conn = await duck();
  const tracks = new Map<string, RescoreTrack>();
  try {
    for (const symbol of symbols) {
      const fusion = path.join(runDir, 'data', '*', `symbol=${symbol}`, 'kind=fusion', '*.parquet');
      const cnt = await conn.runAndReadAll(
        `SELECT count(*)::INTEGER FROM read_parquet(${sqlString(samplesFile)}) WHERE symbol = ${sqlString(symbol)}`,
      );
      const n = Number(cnt.getRows()[0][0]);
      const q = `SELECT CAST(e.ts_ms AS DOUBLE), f.z_ofi, f.z_cvd, CAST(f.cvd_dir AS DOUBLE), e.y, e.resolved_at_ms,
          ${codeSql('session', sessionNames)}, ${codeSql('regime', REGIME_NAMES)}, ${codeSql('vol_bucket', VOL_BUCKET_NAMES)},
          ${codeSql('vol_tertile', VOL_TERTILE_NAMES)}, ${codeSql('scenario_2x2', SCENARIO_NAMES)}
        FROM read_parquet(${sqlString(samplesFile)}) e
        LEFT JOIN read_parquet(${sqlString(fusion)}, hive_partitioning = false) f ON f.ts_ms = e.ts_ms
        WHERE e.symbol = ${sqlString(symbol)} ORDER BY e.ts_ms`;
      // on shared memory: a CalibrationThread's worker reads the columns without a copy
      const f64 = () => sharedF64(n);
      const i8 = () => sharedI8(n);
      const tr: RescoreTrack = {
        symbol,
        t: f64(),
        z_ofi: f64(),
        z_cvd: f64(),
        dir: f64(),
        y: f64(),
        resolved_at: f64(),
        session: i8(),
        regime: i8(),
        vol_bucket: i8(),
        vol_tertile: i8(),
        scenario: i8(),
      };
      let o = 0;
      for await (const chunk of streamChunks(q, conn)) {
        if (o + chunk.rowCount > n) throw new FlowlabError(`run '${runDir}': ${symbol} fusion rows join twice`);
        const f = [tr.t, tr.z_ofi, tr.z_cvd, tr.dir, tr.y, tr.resolved_at];
        for (let c = 0; c < f.length; c++) readF64(chunk, c, f[c], o);
        const b = [tr.session, tr.regime, tr.vol_bucket, tr.vol_tertile, tr.scenario];
        for (let c = 0; c < b.length; c++) readI8(chunk, f.length + c, b[c], o);
        o += chunk.rowCount;
      }
      if (o !== n) throw new FlowlabError(`run '${runDir}': ${symbol} has ${n} eval samples but ${o} joined rows`);
      tracks.set(symbol, tr);
    }
  } finally {
    conn.closeSync();
  }
  return { runDir, config, sessionNames, symbols, tracks };
}

const checkWeight = (where: string, v: unknown): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new UsageError(`${where}: ${JSON.stringify(v)} is not valid (expected a number >= 0)`);
  return v;
};

/**
 * Scores, walk-forward Platt probabilities and the slices overview of `run`
 * under the request's weights. Pure: no IO, no clock.
 */
export function rescore(run: RescoreRun, req: RescoreRequest = {}, opts: RescoreOptions = {}): RescoreResult {
  if (req.fromMs !== undefined || req.toMs !== undefined)
    return rescore(windowRun(run, req.fromMs, req.toMs), { ...req, fromMs: undefined, toMs: undefined }, opts);
  const cfg = run.config;
  const fz = cfg.fusion;
  const weights = {
    ofi: checkWeight('weights.ofi', req.weights?.ofi ?? fz.weights.ofi),
    cvd: checkWeight('weights.cvd', req.weights?.cvd ?? fz.weights.cvd),
  };
  const gate = checkWeight('gate', req.gate ?? fz.gate);
  const slices: Record<string, FusionWeights> = {};
  const given: Readonly<Record<string, FusionWeights>> = req.slices ?? fz.slice_overrides;
  for (const [k, w] of Object.entries(given)) {
    const ofi = checkWeight(`slices.${k}.ofi`, w?.ofi);
    const cvd = checkWeight(`slices.${k}.cvd`, w?.cvd);
    slices[k] = w.gate === undefined ? { ofi, cvd } : { ofi, cvd, gate: checkWeight(`slices.${k}.gate`, w.gate) };
  }
  const symbols = [...(req.symbols ?? run.symbols)].sort();
  const applied = { weights, gate, slices };
  for (const s of symbols)
    if (!run.tracks.has(s))
      throw new UsageError(`symbols: '${s}' is not in run ${run.runDir} (it has: ${run.symbols.join(', ')})`);

  const plan = planOf(run, symbols, req.dims ?? OVERVIEW_DIMS);
  // the weights in force per slice combination (5 scenario x 3 regime x 3 vol bucket x sessions + 1 codes)
  const overrides = new Map(Object.entries(slices));
  const nS = run.sessionNames.length + 1;
  const combos = new Float64Array(5 * 3 * 3 * nS * 3);
  const at = { sc: -1, rg: -1, vb: -1, se: -1 };
  const sv: SliceValues = {
    scenario_name: () => (at.sc < 0 ? null : SCENARIO_NAMES[at.sc]),
    regime_name: () => (at.rg < 0 ? null : REGIME_NAMES[at.rg]),
    vol_bucket_name: () => (at.vb < 0 ? null : VOL_BUCKET_NAMES[at.vb]),
    session_name: () => (at.se < 0 ? null : run.sessionNames[at.se]),
  };
  for (let sc = -1; sc < 4; sc++)
    for (let rg = -1; rg < 2; rg++)
      for (let vb = -1; vb < 2; vb++)
        for (let se = -1; se < run.sessionNames.length; se++) {
          at.sc = sc;
          at.rg = rg;
          at.vb = vb;
          at.se = se;
          const o = overrides.size > 0 ? overrideFor(overrides, fz.slice_precedence, sv) : undefined;
          const k = comboOf(sc, rg, vb, se, nS) * 3;
          combos[k] = o ? o.ofi : weights.ofi;
          combos[k + 1] = o ? o.cvd : weights.cvd;
          combos[k + 2] = o?.gate !== undefined ? o.gate : gate;
        }

  const n = plan.combo.length;
  // the plan's scratch columns: rewritten in full below, read by nothing after this call returns
  const { combo, z_ofi, z_cvd, dir, score } = plan;
  for (let i = 0; i < n; i++) {
    const k = combo[i];
    score[i] = fusionScore(fusionRaw(combos[k], z_ofi[i], combos[k + 1], z_cvd[i], dir[i]), combos[k + 2]);
  }
  const o: OverviewOptions = {
    sample_ms: fz.sample_ms,
    ece_bins: cfg.calibration.ece_bins,
    variance_inflation: overlapInflation(cfg),
    topk: req.topk,
  };
  const mo = overviewMetricsOptions(o);
  const membership = plan.overview.layout.membership;
  const y = plan.overview.y;
  if (req.calibrate === false)
    return { rows: overviewRowsOf(plan.overview, scoreSliceMetrics(membership, { score, y }, mo), null, o), applied };

  // calibrated: the score metrics (sort, AUC, top-k) need no probabilities, so they run while the
  // walk-forward fits do; the probability metrics (ECE, Brier, skill) after. With a thread, it fits the
  // symbols this thread has no time for: largest first, each to the side with less work, this side
  // starting with the score metrics' share (SCORE_METRICS_COST fit-rows per row and membership column)
  const { prob, ref } = plan;
  const cal = {
    train_sec: cfg.calibration.train_sec,
    test_sec: cfg.calibration.test_sec,
    ece_bins: cfg.calibration.ece_bins,
  };
  const jobs: CalibrationJob[] = symbols.map((s, g) => {
    const tr = run.tracks.get(s)!;
    const at = plan.offsets[g];
    const m = tr.t.length;
    const part = (a: Float64Array) => a.subarray(at, at + m);
    return { t: tr.t, score: part(score), y: tr.y, resolved_at: tr.resolved_at, prob: part(prob), ref: part(ref) };
  });
  const thread = opts.thread?.usable && jobs.length > 1 ? opts.thread : undefined;
  const remote: CalibrationJob[] = [];
  const local: CalibrationJob[] = [];
  if (thread) {
    let here = SCORE_METRICS_COST * membership.width * n;
    let there = 0;
    for (const j of [...jobs].sort((a, b) => b.t.length - a.t.length))
      if (there < here) {
        remote.push(j);
        there += j.t.length;
      } else {
        local.push(j);
        here += j.t.length;
      }
    if (remote.length > 0) thread.post(remote, cal);
  } else local.push(...jobs);
  const sm = scoreSliceMetrics(membership, { score, y }, mo);
  for (const j of local) calibrateTrack(j, cal);
  if (thread && remote.length > 0 && !thread.wait()) for (const j of remote) calibrateTrack(j, cal);
  const pm = probSliceMetrics(membership, { prob, y, ref }, mo);
  return { rows: overviewRowsOf(plan.overview, sm, pm, o), applied };
}

/**
 * The score metrics' cost per row and membership column in fitted rows (the
 * work balance of a call with a CalibrationThread; speed only, never results):
 * on the demo run (24 h x 6, width 10, top-k) the score metrics took 45 ms and
 * fitting every row once 61.5 ms (compiled, load 3), i.e. 0.073 per column;
 * the thread then fits 5 of the 6 symbols.
 */
const SCORE_METRICS_COST = 0.07;

/**
 * One symbol's walk-forward Platt (as the canary): `job.prob` gets each
 * sample's probability and `job.ref` the Brier-skill reference, its fold's
 * training base rate when the fold is fitted (NaN otherwise). The one
 * implementation for this thread and CalibrationThread's worker.
 */
export function calibrateTrack(job: CalibrationJob, cal: CalibrationSettings): void {
  const wf = walkForwardPlatt(job.t, job.score, job.y, job.resolved_at, {
    ...cal,
    fold_metrics: false,
    prob_out: job.prob,
  });
  // folds are runs of consecutive samples: look each fold up once
  const ref = job.ref;
  const m = ref.length;
  let k = -2;
  let br = NaN;
  for (let i = 0; i < m; i++) {
    if (wf.fold[i] !== k) {
      k = wf.fold[i];
      const f = k >= 0 ? wf.folds[k] : undefined;
      br = f && f.status === 'ok' ? f.train_base_rate : NaN;
    }
    ref[i] = br;
  }
}

const windows = new WeakMap<RescoreRun, Map<string, RescoreRun>>();

/**
 * `run` with each track cut to the samples with `fromMs <= t < toMs` (views, no copy; tracks are sorted by t);
 * the same object for the same window of the same run (a memo), so its re-scoring plan is built once.
 */
function windowRun(run: RescoreRun, fromMs: number | undefined, toMs: number | undefined): RescoreRun {
  const wkey = `${fromMs}|${toMs}`;
  const known = windows.get(run)?.get(wkey);
  if (known) return known;
  for (const [k, v] of [
    ['fromMs', fromMs],
    ['toMs', toMs],
  ] as const)
    if (v !== undefined && !Number.isFinite(v))
      throw new UsageError(`${k}: ${String(v)} is not valid (expected a time in ms)`);
  const lo = fromMs ?? Number.NEGATIVE_INFINITY;
  const hi = toMs ?? Number.POSITIVE_INFINITY;
  const first = (t: Float64Array, x: number) => {
    let a = 0;
    let b = t.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (t[m] < x) a = m + 1;
      else b = m;
    }
    return a;
  };
  const tracks = new Map<string, RescoreTrack>();
  for (const [s, tr] of run.tracks) {
    const a = first(tr.t, lo);
    const b = Math.max(a, first(tr.t, hi));
    tracks.set(s, {
      symbol: tr.symbol,
      t: tr.t.subarray(a, b),
      z_ofi: tr.z_ofi.subarray(a, b),
      z_cvd: tr.z_cvd.subarray(a, b),
      dir: tr.dir.subarray(a, b),
      y: tr.y.subarray(a, b),
      resolved_at: tr.resolved_at.subarray(a, b),
      session: tr.session.subarray(a, b),
      regime: tr.regime.subarray(a, b),
      vol_bucket: tr.vol_bucket.subarray(a, b),
      vol_tertile: tr.vol_tertile.subarray(a, b),
      scenario: tr.scenario.subarray(a, b),
    });
  }
  const out = { ...run, tracks };
  if (!windows.has(run)) windows.set(run, new Map());
  windows.get(run)!.set(wkey, out);
  return out;
}

const comboOf = (sc: number, rg: number, vb: number, se: number, nS: number) =>
  (((sc + 1) * 3 + (rg + 1)) * 3 + (vb + 1)) * nS + (se + 1);

/** What one (symbols, dimensions) request of a run needs that no weight changes: pooled columns, slice layout. */
interface RescorePlan {
  readonly offsets: readonly number[];
  /** Per pooled row: 3 x its slice combination (the index of its weights in the combos table). */
  readonly combo: Int32Array;
  readonly z_ofi: Float64Array;
  readonly z_cvd: Float64Array;
  readonly dir: Float64Array;
  readonly overview: OverviewPlan;
  /**
   * Scratch, one per plan (rescore is synchronous): a call's scores, walk-forward probabilities and
   * Brier-skill references, on shared memory (a CalibrationThread's worker writes into them).
   */
  readonly score: Float64Array;
  readonly prob: Float64Array;
  readonly ref: Float64Array;
}

const plans = new WeakMap<RescoreRun, Map<string, RescorePlan>>();

/** The run's plan for these symbols and dimensions (built on first use, then reused: a memo, not state). */
function planOf(run: RescoreRun, symbols: readonly string[], dims: readonly OverviewDim[]): RescorePlan {
  let byKey = plans.get(run);
  if (!byKey) {
    byKey = new Map();
    plans.set(run, byKey);
  }
  const key = `${symbols.join(',')}|${dims.join(',')}`;
  const hit = byKey.get(key);
  if (hit) return hit;
  const parts = symbols.map((s) => run.tracks.get(s)!);
  const n = parts.reduce((a, t) => a + t.t.length, 0);
  const offsets: number[] = [];
  const cat = (pick: (t: RescoreTrack) => Float64Array) => {
    const out = new Float64Array(n);
    for (let g = 0, o = 0; g < parts.length; o += parts[g].t.length, g++) out.set(pick(parts[g]), o);
    return out;
  };
  const cat8 = (pick: (t: RescoreTrack) => Int8Array) => {
    const out = new Int8Array(n);
    for (let g = 0, o = 0; g < parts.length; o += parts[g].t.length, g++) out.set(pick(parts[g]), o);
    return out;
  };
  const group = new Int32Array(n);
  for (let g = 0, o = 0; g < parts.length; o += parts[g].t.length, g++) {
    offsets.push(o);
    group.fill(g, o, o + parts[g].t.length);
  }
  const scenario = cat8((t) => t.scenario);
  const regime = cat8((t) => t.regime);
  const vol_bucket = cat8((t) => t.vol_bucket);
  const session = cat8((t) => t.session);
  const nS = run.sessionNames.length + 1;
  const combo = new Int32Array(n);
  for (let i = 0; i < n; i++) combo[i] = comboOf(scenario[i], regime[i], vol_bucket[i], session[i], nS) * 3;
  const overview = overviewPlan(
    {
      y: cat((t) => t.y),
      group,
      groupNames: symbols,
      regime,
      session,
      vol_tertile: cat8((t) => t.vol_tertile),
      scenario,
      sessionNames: run.sessionNames,
    },
    dims,
  );
  const plan: RescorePlan = {
    offsets,
    combo,
    z_ofi: cat((t) => t.z_ofi),
    z_cvd: cat((t) => t.z_cvd),
    dir: cat((t) => t.dir),
    overview,
    score: sharedF64(n),
    prob: sharedF64(n),
    ref: sharedF64(n),
  };
  byKey.set(key, plan);
  return plan;
}
