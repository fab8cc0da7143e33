/**
 * `flowlab canary`: replay a time range for a batch of symbols under a config,
 * run the canary engine online (gates every minute, actions, incidents), then
 * write the seed's artifacts:
 *
 *   <out>/<run_tag>/run_tag.txt  manifest.json  data/...   (as `flowlab replay`)
 *   <out>/<run_tag>/canary_report/
 *     metrics_timeseries.csv  slices_overview.csv  calibration_summary.csv
 *     merge_time_diff_ms.csv  incidents.json  verdicts.json  reliability.csv
 *     eval_samples.parquet  slice_weights.yaml  ramp_batch_summary.md  charts/*.svg
 *
 * End-of-run figures (verdicts, slices, calibration summary) use every label
 * resolved by the end of the run: they are retrospective by nature; the gate
 * decisions in metrics_timeseries.csv / incidents.json used only labels
 * resolved by their decision time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { replay, runTagText, writeRunMetadata, type ReplayRequest, type ReplayResult } from '../replay/replay.js';
import { markComplete } from '../core/atomic.js';
import { discardRunFolder } from '../replay/run-folder.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { overlapInflation, type CanaryResult, type SymbolTrack, type StableConfig } from './engine.js';
import { canaryShardObserver, mergeEngineRecords, type CanaryShardRecord, type FinishedEngine } from './shards.js';
import { searchWeights, type WeightChoice } from './weights.js';
import { aucDeLong } from '../eval/auc.js';
import { ece as eceOf, brier as brierOf, brierSkillVsRef } from '../eval/calibration.js';
import { slicesOverview, overviewCells, SLICES_OVERVIEW_CSV_HEADER } from './overview.js';
import { REGIME_NAMES, SCENARIO_NAMES, VOL_BUCKET_NAMES, VOL_TERTILE_NAMES } from '../calc/slices.js';
import { writeCsv, writeFileAtomic } from '../report/csv.js';
import { writeWeightOverlay } from '../report/overlay.js';
import {
  CALIBRATION_SUMMARY_HEADER,
  MERGE_DIFF_HEADER,
  METRICS_TIMESERIES_HEADER,
  RELIABILITY_HEADER,
  renderRampReport,
} from '../report/ramp.js';
import { writeParquet, type OutColumn } from '../io/duck.js';
import { sha256File } from '../core/hash.js';
import { progressBar, type Progress } from '../core/progress.js';
import { EvalRng } from '../eval/rng.js';
import { blockBootstrapCi } from '../eval/sequential.js';
import type { FlowlabConfig } from '../config/schema.js';
import { gateKind, gateTable, type GateKind, type GateMode } from './gates.js';

export const REPORT_DIR = 'canary_report';

export interface CanaryRequest {
  readonly data: string;
  readonly config: LoadedConfig;
  /** Path the config was loaded from (for the overlay's `extends`). */
  readonly configPath: string;
  readonly out: string;
  readonly runTag: string;
  readonly symbols?: readonly string[];
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly overwrite?: boolean;
  readonly progress?: boolean;
  /**
   * Symbol shards, each replay + canary engines on a thread of its own
   * (src/canary/shards.ts); 'auto' (default) as `replay --threads auto`. Every
   * file of the run folder is byte-identical for every value.
   */
  readonly threads?: number | 'auto';
  /** Called with the shard workers once they are started (tests use it to kill one). */
  readonly onShardWorkers?: ReplayRequest['onShardWorkers'];
}

export interface CheckResult {
  name: string;
  label: string;
  value: number | null;
  ci: [number, number] | null;
  n: number;
  threshold: number;
  op: '>=' | '<=' | '==';
  status: 'pass' | 'fail' | 'insufficient';
  detail?: string;
}

export interface SymbolVerdict {
  include_in_pool: boolean;
  reason: string;
  checks: CheckResult[];
  weights: WeightChoice[];
}

export interface CanaryRun {
  readonly replay: ReplayResult;
  readonly result: CanaryResult;
  readonly reportDir: string;
  readonly verdicts: Record<string, SymbolVerdict>;
  readonly files: string[];
  /** Incidents by gate kind x symbol x severity, this run's mode and the shadow's. */
  readonly summary: IncidentSummaryRow[];
}

/** The rollback chain: the config in force last, its `extends` base before it. */
export function stableChain(c: LoadedConfig): StableConfig[] {
  const here: StableConfig = {
    fingerprint: c.fingerprint,
    defaults: { ...c.config.fusion.weights, gate: c.config.fusion.gate },
    overrides: c.config.fusion.slice_overrides,
  };
  if (c.files.length < 2) return [here];
  const base = loadConfig(c.files[c.files.length - 2], {});
  return [
    {
      fingerprint: base.fingerprint,
      defaults: { ...base.config.fusion.weights, gate: base.config.fusion.gate },
      overrides: base.config.fusion.slice_overrides,
    },
    here,
  ];
}

export async function runCanary(req: CanaryRequest): Promise<CanaryRun> {
  const cfg = req.config.config;
  const rep = await replay({
    data: req.data,
    config: req.config,
    out: req.out,
    runTag: req.runTag,
    symbols: req.symbols,
    fromMs: req.fromMs,
    toMs: req.toMs,
    overwrite: req.overwrite,
    progress: req.progress,
    // the engine and its shadow run beside the pipeline in every symbol shard; their records merge here
    shardObserver: canaryShardObserver(cfg, stableChain(req.config)),
    threads: req.threads,
    onShardWorkers: req.onShardWorkers,
    // the folder stays marked incomplete until the report files are listed in the manifest
    keepIncomplete: true,
  });
  try {
    const shards = rep.observed as CanaryShardRecord[];
    const H = cfg.labels.horizons_s[0] * 1000;
    const engine = mergeEngineRecords(
      shards.map((s) => s.engine),
      H,
    );
    const shadow = mergeEngineRecords(
      shards.map((s) => s.shadow),
      H,
    );
    return await writeCanaryReport({
      rep,
      engine,
      shadow,
      config: req.config,
      configPath: req.configPath,
      runTag: req.runTag,
      progress: req.progress,
    });
  } catch (e) {
    // this run's folder, still marked incomplete: nothing of it is worth keeping
    discardRunFolder(rep.runDir);
    throw e;
  }
}

/**
 * The canary artifacts of a finished run whose pipeline fed `engine` (a replay,
 * or a live run): report files, verdicts, weight overlay, the markdown report,
 * and the run's manifest / run_tag.txt extended with them.
 */
export interface CanaryReportRequest {
  rep: ReplayResult;
  /** The engine that watched the run (a CanaryEngine, or its symbol shards' records merged). */
  engine: FinishedEngine;
  /** The other gate mode's shadow (`canaryEngines`), fed the same samples; optional. */
  shadow?: FinishedEngine;
  config: LoadedConfig;
  configPath: string;
  runTag: string;
  /** Progress bar of the evaluation steps (default: when stderr is a terminal). */
  progress?: boolean;
}

export async function writeCanaryReport(a: CanaryReportRequest): Promise<CanaryRun> {
  const bar = progressBar(a.progress);
  try {
    return await evaluateRun(a, bar);
  } finally {
    bar.stop();
  }
}

async function evaluateRun(a: CanaryReportRequest, bar: Progress): Promise<CanaryRun> {
  const { rep, engine } = a;
  const req = { config: a.config, configPath: a.configPath, runTag: a.runTag };
  const cfg = req.config.config;
  const result = engine.finish();
  const shadowResult = a.shadow?.finish() ?? null;
  const reportDir = path.join(rep.runDir, REPORT_DIR);
  fs.mkdirSync(reportDir, { recursive: true });
  const tracks = [...result.tracks.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  // steps: a verdict per symbol, a slice table per symbol and ALL, pooled weights, eval samples, the report
  let step = 0;
  const stepDone = () => bar.update(++step);
  bar.start('evaluate', 2 * tracks.length + 4, 'steps');
  const sampleMs = cfg.fusion.sample_ms;
  const vif = overlapInflation(cfg);
  const aopt = { variance_inflation: vif };
  const wopts = { trainMs: cfg.calibration.train_sec * 1000, testMs: cfg.calibration.test_sec * 1000, sampleMs, vif };

  // per-sample training base rate of its fold (for Brier skill)
  const baseRate = new Map<string, Map<number, number>>();
  for (const f of result.folds) {
    if (!baseRate.has(f.symbol)) baseRate.set(f.symbol, new Map());
    if (f.train_base_rate !== null) baseRate.get(f.symbol)!.set(f.fold, f.train_base_rate);
  }
  // each sample's reference forecast for Brier skill: its fold's training base rate
  const refOf = (tr: SymbolTrack): Float64Array => {
    const br = baseRate.get(tr.symbol);
    const ref = new Float64Array(tr.t.length).fill(NaN);
    for (let i = 0; i < ref.length; i++) ref[i] = br?.get(tr.fold.data[i]) ?? NaN;
    return ref;
  };
  const refs = new Map(tracks.map((t) => [t.symbol, refOf(t)]));
  const skill = (tr: SymbolTrack, keep: (i: number) => boolean) =>
    brierSkillVsRef(tr.prob.view(), tr.y.view(), refs.get(tr.symbol)!, keep);

  // ---- verdicts per symbol (thresholds and minimum samples from config: canary.verdict)
  const cc = cfg.canary;
  const vc = cc.verdict;
  const blockRows = Math.max(1, Math.round((vc.bootstrap_block_sec * 1000) / sampleMs));
  const verdicts: Record<string, SymbolVerdict> = {};
  const reliability: (string | number | null)[][] = [];
  const aoptV = { variance_inflation: vif, min_per_class: vc.auc_min_per_class };
  for (const tr of tracks) {
    const n = tr.t.length;
    const pick = (keep: (i: number) => boolean) => {
      const s: number[] = [];
      const y: number[] = [];
      const p: number[] = [];
      for (let i = 0; i < n; i++) {
        if (!keep(i)) continue;
        s.push(tr.score.data[i]);
        y.push(tr.y.data[i]);
        p.push(tr.prob.data[i]);
      }
      return { s, y, p };
    };
    // the deterministic bootstrap stream of this symbol's CIs
    const rng = new EvalRng(seedOf(tr.symbol));
    const boot = (rows: number, stat: (idx: Int32Array, k: number) => number) =>
      blockBootstrapCi(rows, blockRows, vc.bootstrap_reps, rng, stat);
    const checks: CheckResult[] = [];
    const act = pick((i) => tr.regime.data[i] === 1);
    const aAuc = aucDeLong(act.s, act.y, aoptV);
    checks.push(
      check(
        'active_auc',
        `Active AUC >= ${cc.auc_active_min}`,
        aAuc.auc,
        aAuc.auc === null ? null : [aAuc.ci_low!, aAuc.ci_high!],
        aAuc.n,
        cc.auc_active_min,
        '>=',
        aAuc.reason,
      ),
    );
    const all = pick(() => true);
    const e = eceOf(all.p, all.y, cfg.calibration.ece_bins);
    // ECE CI: moving-block bootstrap over the rows with a prob and a label, in time order
    const ep: number[] = [];
    const ey: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = all.p[i];
      const y = all.y[i];
      if (p === p && (y === 0 || y === 1)) {
        ep.push(p);
        ey.push(y);
      }
    }
    const eceCi =
      e.value === null
        ? null
        : boot(ep.length, (idx, k) => {
            const bp = new Float64Array(k);
            const by = new Float64Array(k);
            for (let j = 0; j < k; j++) {
              bp[j] = ep[idx[j]];
              by[j] = ey[idx[j]];
            }
            return eceOf(bp, by, cfg.calibration.ece_bins).value ?? NaN;
          });
    checks.push(check('ece', `ECE <= ${cc.ece_max}`, e.value, eceCi, e.n, cc.ece_max, '<=', e.reason));
    for (const b of e.bins) reliability.push([tr.symbol, e.bins.indexOf(b), b.lo, b.hi, b.count, b.mean_p, b.mean_y]);
    checks.push(mergeCheck(tr, result.gateMode, cfg, boot));
    const sk = skill(tr, () => true);
    const ref = refs.get(tr.symbol)!;
    const sp: number[] = [];
    const sy: number[] = [];
    const sr: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = tr.prob.data[i];
      const y = tr.y.data[i];
      if (p === p && (y === 0 || y === 1) && ref[i] === ref[i]) {
        sp.push(p);
        sy.push(y);
        sr.push(ref[i]);
      }
    }
    const skCi =
      sk.value === null
        ? null
        : boot(sp.length, (idx, k) => {
            let a = 0;
            let b = 0;
            for (let j = 0; j < k; j++) {
              const i = idx[j];
              a += (sp[i] - sy[i]) ** 2;
              b += (sy[i] - sr[i]) ** 2;
            }
            return b > 0 ? 1 - a / b : NaN;
          });
    checks.push(
      check(
        'brier_skill',
        `Brier skill >= ${vc.brier_skill_min}`,
        sk.value,
        skCi,
        sk.n,
        vc.brier_skill_min,
        '>=',
        sk.reason,
      ),
    );
    // best of Tokyo / London / NY with AUC >= session_auc_min and ECE <= ece_max
    const sessLabel = `a session (Tokyo/London/NY) with AUC >= ${vc.session_auc_min} and ECE <= ${cc.ece_max}`;
    let best: { name: string; auc: number; ci: [number, number]; n: number; ece: number | null; ok: boolean } | null =
      null;
    for (const sess of ['Tokyo', 'London', 'NY']) {
      const code = tr.sessionNames.indexOf(sess);
      if (code < 0) continue;
      const g = pick((i) => tr.session.data[i] === code);
      const a = aucDeLong(g.s, g.y, aoptV);
      if (a.auc === null) continue;
      const ge = eceOf(g.p, g.y, cfg.calibration.ece_bins);
      const ok = a.auc >= vc.session_auc_min && ge.value !== null && ge.value <= cc.ece_max;
      const cand = {
        name: sess,
        auc: a.auc,
        ci: [a.ci_low!, a.ci_high!] as [number, number],
        n: a.n,
        ece: ge.value,
        ok,
      };
      if (!best || (cand.ok && !best.ok) || (cand.ok === best.ok && cand.auc > best.auc)) best = cand;
    }
    checks.push(
      best
        ? {
            name: 'session_best',
            label: sessLabel,
            value: best.auc,
            ci: best.ci,
            n: best.n,
            threshold: vc.session_auc_min,
            op: '>=',
            status: best.ok ? 'pass' : 'fail',
            detail: `${best.name} (ECE ${best.ece === null ? 'insufficient' : best.ece.toFixed(3)})`,
          }
        : check(
            'session_best',
            sessLabel,
            null,
            null,
            0,
            vc.session_auc_min,
            '>=',
            'insufficient samples in every session',
          ),
    );
    const openP1 = [...tr.open.values()].filter((i) => i.severity === 'P1').length;
    checks.push({
      name: 'no_open_p1',
      label: 'no P1 incident left open',
      value: openP1,
      ci: null,
      n: result.incidents.filter((i) => i.symbol === tr.symbol && i.severity === 'P1').length,
      threshold: 0,
      op: '==',
      status: openP1 === 0 ? 'pass' : 'fail',
    });
    const weights = (['Active', 'Quiet'] as const).map((s) => searchWeights([tr], s, wopts));
    const bad = checks.filter((c) => c.status !== 'pass');
    verdicts[tr.symbol] = {
      include_in_pool: bad.length === 0,
      reason:
        bad.length === 0
          ? 'all DoD checks pass'
          : bad.map((c) => `${c.name} ${c.status === 'insufficient' ? 'insufficient samples' : 'fails'}`).join('; '),
      checks,
      weights,
    };
    stepDone();
  }

  const summary = incidentSummary(result, shadowResult);
  // ---- files
  const files: string[] = [];
  const put = (name: string) => {
    files.push(name);
    return path.join(reportDir, name);
  };
  const iso = (ms: number) => new Date(ms).toISOString();
  writeCsv(
    put('metrics_timeseries.csv'),
    [...METRICS_TIMESERIES_HEADER, 'gate_mode', 'gate_auc', 'gate_cusum', 'gate_ece', 'merge_definition'],
    result.timeseries.map((r) => {
      return [
        r.ts_ms,
        iso(r.ts_ms),
        r.symbol,
        r.slice,
        r.window_sec,
        r.d.auc.auc,
        r.d.auc.ci_low,
        r.d.auc.ci_high,
        r.d.auc.n,
        r.d.auc.n_pos,
        r.d.auc.n_neg,
        r.d.ece?.value ?? null,
        r.d.ece?.n ?? 0,
        num(r.d.merge_p50),
        num(r.d.merge_p90),
        num(r.d.merge_p99),
        r.d.n_merge,
        r.calibration_paused ? 1 : 0,
        r.w_ofi,
        r.w_cvd,
        r.merge_tol_ms,
        r.fingerprint,
        r.gates_failed.join(';'),
        result.gateMode,
        num(r.gate_auc),
        num(r.cusum),
        num(r.gate_ece),
        result.gateMode === 'seed' ? 'input_age' : 'label_alignment',
      ];
    }),
  );
  writeCsv(
    put('merge_time_diff_ms.csv'),
    [...MERGE_DIFF_HEADER, 'definition'],
    result.merge.map((m) => [
      m.ts_ms,
      iso(m.ts_ms),
      m.symbol,
      m.window_sec,
      num(m.p50),
      num(m.p90),
      num(m.p99),
      m.n,
      num(m.match_rate),
      m.merge_tol_ms,
      m.definition,
    ]),
  );
  // calibration summary: per fold, test metrics over the fold's samples (retrospective)
  const calRows: (string | number | null)[][] = [];
  for (const f of result.folds) {
    const tr = result.tracks.get(f.symbol)!;
    const p: number[] = [];
    const y: number[] = [];
    const s: number[] = [];
    for (let i = 0; i < tr.t.length; i++) {
      if (tr.fold.data[i] !== f.fold) continue;
      p.push(tr.prob.data[i]);
      y.push(tr.y.data[i]);
      s.push(tr.score.data[i]);
    }
    const fe = eceOf(p, y, cfg.calibration.ece_bins);
    const fb = brierOf(p, y);
    const fs_ = skill(tr, (i) => tr.fold.data[i] === f.fold);
    const fa = aucDeLong(s, y, aopt);
    calRows.push([
      f.symbol,
      f.fold,
      f.fold_start_ms,
      f.status,
      f.platt_train_samples,
      f.platt_test_samples,
      f.A,
      f.B,
      f.train_base_rate,
      fe.value,
      fb.value,
      fs_.value,
      fa.auc,
    ]);
  }
  writeCsv(put('calibration_summary.csv'), [...CALIBRATION_SUMMARY_HEADER], calRows);
  writeCsv(put('reliability.csv'), [...RELIABILITY_HEADER], reliability);

  // slices overview: per symbol and ALL
  const cat = concatTracks(tracks, refs);
  const groupOf = new Int32Array(cat.y.length);
  for (let g = 0, o = 0; g < tracks.length; o += tracks[g].t.length, g++) groupOf.fill(g, o, o + tracks[g].t.length);
  const overview = slicesOverview(
    {
      ...cat,
      group: groupOf,
      groupNames: tracks.map((t) => t.symbol),
      sessionNames: tracks[0]?.sessionNames ?? [],
    },
    { sample_ms: sampleMs, ece_bins: cfg.calibration.ece_bins, variance_inflation: vif },
  );
  for (let i = 0; i <= tracks.length; i++) stepDone();
  writeCsv(put('slices_overview.csv'), [...SLICES_OVERVIEW_CSV_HEADER], overview.map(overviewCells));

  const incidents = result.incidents.map((i) => ({ ...i, rolled_back: undefined }));
  writeFileAtomic(
    put('incidents.json'),
    `${JSON.stringify(
      {
        incidents,
        fingerprints: result.fingerprints.map((f) => ({
          ...f,
          from_ms: Number.isFinite(f.from_ms) ? f.from_ms : null,
        })),
      },
      null,
      2,
    )}\n`,
  );
  // pooled weight search -> overlay that `--config` accepts
  const pooled = (['Active', 'Quiet'] as const).map((s) => searchWeights(tracks, s, wopts));
  stepDone();
  const usable = pooled
    .filter((w) => w.w_ofi !== null && w.w_cvd !== null)
    .map((w) => ({ slice: w.slice, w_ofi: w.w_ofi!, w_cvd: w.w_cvd! }));
  const overlayFile = put('slice_weights.yaml');
  if (usable.length > 0) {
    const base = path.relative(reportDir, path.resolve(req.configPath));
    writeWeightOverlay(overlayFile, base, usable, {
      source: `canary run ${req.runTag}: walk-forward weight search pooled over ${tracks.map((t) => t.symbol).join(',')}`,
    });
  } else {
    files.pop();
  }
  writeFileAtomic(
    put('verdicts.json'),
    `${JSON.stringify(
      {
        run_tag: req.runTag,
        config_fingerprint: req.config.fingerprint,
        gate_mode: result.gateMode,
        gate_table: gateTable(cfg, result.gateMode),
        incident_summary: summary,
        pooled_weights: pooled,
        symbols: verdicts,
      },
      null,
      2,
    )}\n`,
  );
  await writeEvalSamples(put('eval_samples.parquet'), tracks, cfg.labels.horizons_s[0], result.gateMode);
  stepDone();
  const rendered = renderRampReport(reportDir);
  stepDone();
  files.push(...rendered.files.filter((f) => !files.includes(f)));

  // run_tag.txt gains the canary's view; the manifest lists the report files with sha256
  // (both atomic; the folder is marked complete only after both are in place)
  const finalTol = tracks.map((t) => `${t.symbol}:${t.mergeTol}`).join(',');
  const runTag =
    runTagText(rep.manifest, req.config) +
    `canary_merge_tol_ms=${finalTol}\ncanary_incidents=${result.incidents.length}\n`;
  const canaryFiles: { path: string; sha256: string }[] = [];
  for (const f of [...files].sort())
    canaryFiles.push({ path: `${REPORT_DIR}/${f}`, sha256: await sha256File(path.join(reportDir, f)) });
  writeRunMetadata(
    rep.runDir,
    { ...rep.manifest, canary: { report_dir: REPORT_DIR, stable_chain: a.engine.stableChain(), files: canaryFiles } },
    runTag,
  );
  markComplete(rep.runDir);
  return { replay: rep, result, reportDir, verdicts, files, summary };
}

export interface IncidentSummaryRow {
  kind: GateKind;
  symbol: string;
  severity: 'P1' | 'P2';
  /** Gates of that kind that raised incidents, per mode. */
  gates: Record<GateMode, string[]>;
  /** Incidents opened, per mode (null: that mode was not run). */
  count: Record<GateMode, number | null>;
}

/** Incidents by gate kind x symbol x severity, for the run's mode and the shadow's. */
export function incidentSummary(main: CanaryResult, shadow: CanaryResult | null): IncidentSummaryRow[] {
  const rows = new Map<string, IncidentSummaryRow>();
  const symbols = [...main.tracks.keys()].sort();
  const add = (r: CanaryResult) => {
    for (const i of r.incidents) {
      const kind = gateKind(i.gate);
      const key = `${kind}|${i.symbol}|${i.severity}`;
      let row = rows.get(key);
      if (!row) {
        row = {
          kind,
          symbol: i.symbol,
          severity: i.severity,
          gates: { evidence: [], seed: [] },
          count: { evidence: null, seed: null },
        };
        rows.set(key, row);
      }
      row.count[r.gateMode] = (row.count[r.gateMode] ?? 0) + 1;
      if (!row.gates[r.gateMode].includes(i.gate)) row.gates[r.gateMode].push(i.gate);
    }
  };
  add(main);
  if (shadow) add(shadow);
  // a mode that ran has 0 where it raised nothing
  for (const row of rows.values()) {
    for (const m of [main.gateMode, ...(shadow ? [shadow.gateMode] : [])]) row.count[m] ??= 0;
  }
  const kinds: GateKind[] = ['discrimination', 'calibration', 'merge', 'rollback'];
  return [...rows.values()].sort(
    (a, b) =>
      kinds.indexOf(a.kind) - kinds.indexOf(b.kind) ||
      symbols.indexOf(a.symbol) - symbols.indexOf(b.symbol) ||
      (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0) ||
      (a.severity < b.severity ? -1 : 1),
  );
}

/** A stable 32-bit seed from a symbol name (FNV-1a): the bootstrap of each symbol is reproducible. */
function seedOf(symbol: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < symbol.length; i++) h = Math.imul(h ^ symbol.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The merge check. seed: p99 of the pipeline's input age (merge_time_diff_ms as the seed defined it) <=
 * merge_p99_max_ms. evidence: the label match rate (labels whose alignment gap, first quote at or after
 * t + H minus t + H, is within the tolerance they were resolved under) >= evidence.merge_match_min; the
 * alignment p99 is reported beside it. Both with a moving-block bootstrap CI.
 */
function mergeCheck(
  tr: SymbolTrack,
  mode: GateMode,
  cfg: FlowlabConfig,
  boot: (rows: number, stat: (idx: Int32Array, k: number) => number) => [number, number] | null,
): CheckResult {
  const cc = cfg.canary;
  const minN = cc.verdict.merge_p99_min_samples;
  const p99Of = (v: Float64Array) => resampleQuantile(v, 0.99);
  if (mode === 'seed') {
    const merges = Float64Array.from(tr.merge.view()).filter(Number.isFinite);
    const sorted = Float64Array.from(merges).sort();
    const p99 = sorted.length >= minN ? quantile(sorted, 0.99) : null;
    return check(
      'merge_p99',
      `merge_time_diff_ms p99 <= ${cc.merge_p99_max_ms}`,
      p99,
      p99 === null ? null : boot(merges.length, p99Of(merges)),
      merges.length,
      cc.merge_p99_max_ms,
      '<=',
      p99 === null ? `insufficient samples (n=${merges.length}; need >= ${minN})` : undefined,
    );
  }
  const n = tr.t.length;
  const gaps: number[] = [];
  const hit: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = tr.align.data[i];
    if (!Number.isFinite(a)) continue;
    gaps.push(a);
    hit.push(a <= tr.label_tol.data[i] ? 1 : 0);
  }
  const g = Float64Array.from(gaps);
  const k = g.length;
  let m = 0;
  for (const h of hit) m += h;
  const rate = k >= minN ? m / k : null;
  const c = check(
    'label_match_rate',
    `label match rate >= ${cc.evidence.merge_match_min}`,
    rate,
    rate === null
      ? null
      : boot(k, (idx, kk) => {
          let s = 0;
          for (let j = 0; j < kk; j++) s += hit[idx[j]];
          return s / kk;
        }),
    k,
    cc.evidence.merge_match_min,
    '>=',
    rate === null ? `insufficient samples (n=${k}; need >= ${minN})` : undefined,
  );
  if (rate !== null) {
    const p99 = quantile(Float64Array.from(g).sort(), 0.99);
    const ci = boot(k, p99Of(g));
    c.detail = `merge_time_diff_ms (label alignment) p99 ${p99.toFixed(0)} ms${ci ? ` [${ci[0].toFixed(0)}, ${ci[1].toFixed(0)}]` : ''}, tolerance ${cfg.labels.merge_tol_ms} ms`;
  }
  return c;
}

function num(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/**
 * `quantile(q)` of resamples of `v` (`stat` of blockBootstrapCi: the values
 * `v[idx[0..k)]`), the same number as sorting each resample and taking
 * `quantile(sorted, q)`, without the sort: the resample's counts per distinct
 * value of `v` (sorted once), read from the top down to the two positions the
 * quantile interpolates. O(k + distinct values) per resample instead of
 * O(k log k) and an allocation (the merge checks' 200 resamples of ~86k
 * samples per symbol took 11.5 of the demo's 21.6 s of evaluation). `v` holds
 * finite values; one with a -0 (which sorts before +0 and is the same bucket
 * here) or a NaN takes the sorting path.
 */
export function resampleQuantile(v: Float64Array, q: number): (idx: Int32Array, k: number) => number {
  const sorting = (idx: Int32Array, k: number) => {
    const b = new Float64Array(k);
    for (let j = 0; j < k; j++) b[j] = v[idx[j]];
    b.sort();
    return quantile(b, q);
  };
  if (v.some((x) => Object.is(x, -0) || x !== x)) return sorting;
  const sorted = Float64Array.from(v).sort();
  const distinct: number[] = [];
  for (const x of sorted) if (distinct.length === 0 || distinct[distinct.length - 1] !== x) distinct.push(x);
  const bucket = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    let lo = 0;
    let hi = distinct.length - 1;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (distinct[m] < v[i]) lo = m + 1;
      else hi = m;
    }
    bucket[i] = lo;
  }
  const count = new Int32Array(distinct.length);
  return (idx, k) => {
    if (k === 0) return Number.NaN;
    count.fill(0);
    for (let j = 0; j < k; j++) count[bucket[idx[j]]]++;
    const h = (k - 1) * q;
    const lo = Math.floor(h);
    const hi = Math.min(lo + 1, k - 1);
    // positions [start, end) of the sorted resample hold distinct[u]; walk down from the largest
    let end = k;
    let vHi = Number.NaN;
    let vLo = Number.NaN;
    for (let u = distinct.length - 1; u >= 0; u--) {
      const c = count[u];
      if (c === 0) continue;
      const start = end - c;
      if (hi >= start && Number.isNaN(vHi)) vHi = distinct[u];
      if (lo >= start) {
        vLo = distinct[u];
        break;
      }
      end = start;
    }
    return vLo + (vHi - vLo) * (h - lo);
  };
}

function quantile(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (h - lo);
}

function check(
  name: string,
  label: string,
  value: number | null,
  ci: [number, number] | null,
  n: number,
  threshold: number,
  op: '>=' | '<=',
  reason?: string,
): CheckResult {
  if (value === null || !Number.isFinite(value))
    return { name, label, value: null, ci: null, n, threshold, op, status: 'insufficient', detail: reason };
  const pass = op === '>=' ? value >= threshold : value <= threshold;
  return { name, label, value, ci, n, threshold, op, status: pass ? 'pass' : 'fail' };
}

interface Cat {
  symbol: string[];
  ref: Float64Array;
  fold: Int32Array;
  score: Float64Array;
  y: Float64Array;
  prob: Float64Array;
  regime: Int8Array;
  session: Int8Array;
  vol_tertile: Int8Array;
  scenario: Int8Array;
}

function concatTracks(tracks: readonly SymbolTrack[], refs?: ReadonlyMap<string, Float64Array>): Cat {
  const n = tracks.reduce((s, t) => s + t.t.length, 0);
  const cat: Cat = {
    symbol: [],
    ref: new Float64Array(n).fill(NaN),
    fold: new Int32Array(n),
    score: new Float64Array(n),
    y: new Float64Array(n),
    prob: new Float64Array(n),
    regime: new Int8Array(n),
    session: new Int8Array(n),
    vol_tertile: new Int8Array(n),
    scenario: new Int8Array(n),
  };
  let o = 0;
  for (const t of tracks) {
    const k = t.t.length;
    cat.fold.set(t.fold.view(), o);
    const r = refs?.get(t.symbol);
    if (r) cat.ref.set(r, o);
    cat.score.set(t.score.view(), o);
    cat.y.set(t.y.view(), o);
    cat.prob.set(t.prob.view(), o);
    cat.regime.set(t.regime.view(), o);
    cat.session.set(t.session.view(), o);
    cat.vol_tertile.set(t.vol_tertile.view(), o);
    cat.scenario.set(t.scenario.view(), o);
    for (let i = 0; i < k; i++) cat.symbol.push(t.symbol);
    o += k;
  }
  return cat;
}

/** eval_samples.parquet: every fusion sample with its label, calibrated prob, fold and slices. */
async function writeEvalSamples(
  file: string,
  tracks: readonly SymbolTrack[],
  horizonS: number,
  mode: GateMode,
): Promise<void> {
  const cat = concatTracks(tracks);
  const n = cat.y.length;
  const t = new Float64Array(n);
  const res = new Float64Array(n);
  const pub = new Float64Array(n);
  const merge = new Float64Array(n);
  const align = new Float64Array(n);
  const tol = new Float64Array(n);
  const volB = new Int8Array(n);
  const paused = new Int8Array(n);
  const fee: string[] = [];
  const sym: string[] = cat.symbol;
  let o = 0;
  for (const tr of tracks) {
    t.set(tr.t.view(), o);
    res.set(tr.resolved_at.view(), o);
    pub.set(tr.published.view(), o);
    merge.set(tr.merge.view(), o);
    align.set(tr.align.view(), o);
    tol.set(tr.label_tol.view(), o);
    volB.set(tr.vol_bucket.view(), o);
    paused.set(tr.calib_paused.view(), o);
    for (let i = 0; i < tr.t.length; i++) fee.push(tr.feeTier);
    o += tr.t.length;
  }
  const sessions = tracks[0]?.sessionNames ?? [];
  const cols: OutColumn[] = [
    { name: 'ts_ms', type: 'i64', data: t },
    { name: 'symbol', type: 'str', data: sym },
    { name: 'horizon_s', type: 'i64', data: new Float64Array(n).fill(horizonS) },
    { name: 'score', type: 'f64', data: cat.score, nullNaN: true },
    { name: 'published_score', type: 'f64', data: pub, nullNaN: true },
    { name: 'prob', type: 'f64', data: cat.prob, nullNaN: true },
    { name: 'y', type: 'f64', data: cat.y, nullNaN: true },
    { name: 'resolved_at_ms', type: 'f64', data: res, nullNaN: true },
    { name: 'fold', type: 'i64', data: Float64Array.from(cat.fold) },
    { name: 'calibration_paused', type: 'bool', data: paused },
    // merge_time_diff_ms in the run's definition (evidence: label alignment; seed: input age), both kept
    { name: 'merge_time_diff_ms', type: 'f64', data: mode === 'seed' ? merge : align, nullNaN: true },
    {
      name: 'merge_definition',
      type: 'str',
      data: new Array<string>(n).fill(mode === 'seed' ? 'input_age' : 'label_alignment'),
    },
    { name: 'input_age_ms', type: 'f64', data: merge, nullNaN: true },
    { name: 'label_align_ms', type: 'f64', data: align, nullNaN: true },
    { name: 'label_tol_ms', type: 'f64', data: tol, nullNaN: true },
    { name: 'session', type: 'codes', codes: cat.session, names: sessions },
    { name: 'regime', type: 'codes', codes: cat.regime, names: REGIME_NAMES },
    { name: 'vol_bucket', type: 'codes', codes: volB, names: VOL_BUCKET_NAMES },
    { name: 'vol_tertile', type: 'codes', codes: cat.vol_tertile, names: VOL_TERTILE_NAMES },
    { name: 'scenario_2x2', type: 'codes', codes: cat.scenario, names: SCENARIO_NAMES },
    { name: 'fee_tier', type: 'str', data: fee },
  ];
  await writeParquet(file, cols, n);
}
