/**
 * The canary engine (ARCHITECTURE §6): watches the pipeline's fusion samples
 * and quotes in event time, resolves labels, fits Platt walk-forward, and every
 * `eval_every_sec` evaluates the gates on rolling windows using ONLY labels
 * resolved by the decision time T, then acts.
 *
 * What the gates measure and what the actions touch:
 *  - Gates measure the fusion signal (`score` as the pipeline computes it under
 *    the config in force), so a throttled slice keeps being measured and its
 *    incident can close.
 *  - Slice actions (downweight x0.5, then pause x0) are a publish throttle: the
 *    published score of samples in that slice is `score * multiplier`. Scaling
 *    the published score is the same as scaling that slice's weights (the score
 *    is linear in them) without contaminating the measurement.
 *  - `pause_calibration` stops publishing calibrated probabilities (prob is
 *    still computed, so ECE can show recovery).
 *  - `merge_tol_ms` adjustments change the tolerance used to match labels (and
 *    the merge match rate) from T on, by +-step within bounds.
 *  - Rollback (a P1 open for `p1_rollback_min`) switches the symbol's fusion
 *    weights to the previous stable config fingerprint (the `extends` base of
 *    an overlay config; the list keeps `keep_fingerprints`). With no previous
 *    fingerprint the rollback is recorded as unavailable.
 *
 * Decision timing: the decision at T (a multiple of eval_every) is taken when
 * the first sample after T arrives, over samples with t <= T; its actions
 * apply to samples after T.
 *
 * Calibration warm-up: no ECE / platt gate before the first fold start that
 * has `train_sec` of history; until a fold fits, calibration is paused.
 *
 * Gate modes (`canary.gate_mode`, table in gates.ts, methods in README.md):
 * `seed` is the seed's point-estimate rules exactly (a test replays the engine
 * of commit aba3a8c beside it); `evidence` (default) decides on one label per
 * horizon with CUSUMs, persistence and hysteresis, and never changes the label
 * tolerance (its merge gate is an alert on label alignment).
 */
import type { FlowlabConfig } from '../config/schema.js';
import type { SymbolCalc } from '../pipeline/symbol-calc.js';
import type { FusionRow, OrderKey, PipelineObserver, ReleaseOrder } from '../pipeline/pipeline.js';
import type { FusionWeights } from '../calc/params.js';
import { GrowableF64, GrowableI8, GrowableI32 } from '../core/growable.js';
import { evaluateAt, type Decision, type RollingOptions } from '../eval/rolling.js';
import { plattFit, plattProb, upperBound, lowerBound } from '../eval/calibration.js';
import { LabelResolver } from '../calc/labels.js';
import { ece as eceOf } from '../eval/calibration.js';
import { aucContribution, Cusum, eceNoiseFloor, percentileRank } from '../eval/sequential.js';
import type { GateActions, GateMode, GateName, SliceName } from './gates.js';

export type { GateName, SliceName } from './gates.js';
export const EVAL_SLICES: readonly SliceName[] = ['all', 'Active', 'Quiet'];

export interface Incident {
  id: string;
  symbol: string;
  slice: SliceName;
  gate: GateName;
  severity: 'P1' | 'P2';
  opened_at_ms: number;
  closed_at_ms: number | null;
  who: string;
  why: string;
  metrics_before: Record<string, number | null>;
  metrics_after: Record<string, number | null> | null;
  action: string;
  actions: { at_ms: number; action: string }[];
  fingerprint_before: string;
  fingerprint_after: string;
  rolled_back?: boolean;
  gate_mode: GateMode;
}

export interface TimeseriesRow {
  ts_ms: number;
  symbol: string;
  slice: SliceName;
  window_sec: number;
  d: Decision;
  calibration_paused: boolean;
  multiplier: number;
  merge_tol_ms: number;
  fingerprint: string;
  gates_failed: string[];
  /** The windowed AUC statistic the discrimination gate acts on (NaN where undefined / not this slice). */
  gate_auc: number;
  /** Evidence mode: the discrimination CUSUM (NaN in seed mode / other slices). */
  cusum: number;
  /** Evidence mode: the calibration gate's ECE minus noise floor (NaN where undefined). */
  gate_ece: number;
  /** Fusion weights in force for this slice at T (after rollbacks), times the publish multiplier. */
  w_ofi: number;
  w_cvd: number;
}

export interface MergeRow {
  ts_ms: number;
  symbol: string;
  window_sec: number;
  p50: number;
  p90: number;
  p99: number;
  n: number;
  match_rate: number;
  merge_tol_ms: number;
  /** `input_age` (seed: age of the oldest fusion input at t) or `label_alignment` (first quote at/after t+H minus t+H). */
  definition: 'input_age' | 'label_alignment';
}

export interface FoldRecord {
  symbol: string;
  fold: number;
  fold_start_ms: number;
  status: 'ok' | 'insufficient';
  platt_train_samples: number;
  platt_test_samples: number;
  A: number | null;
  B: number | null;
  train_base_rate: number | null;
}

/** A config the canary can roll back to: its fingerprint and fusion weights. */
export interface StableConfig {
  readonly fingerprint: string;
  readonly defaults: FusionWeights;
  readonly overrides: Record<string, FusionWeights>;
}

const ACTIVE = 1; // REGIME_NAMES = ['Quiet', 'Active']

/** The release-order phase of the engine's end-of-run decisions (`finish`, symbols sorted): after the pipeline's. */
export const FINISH_PHASE = 3;

/** Per-symbol sample store and canary state. */
export class SymbolTrack {
  readonly t = new GrowableF64(4096);
  readonly score = new GrowableF64(4096);
  readonly published = new GrowableF64(4096);
  readonly z_ofi = new GrowableF64(4096);
  readonly z_cvd = new GrowableF64(4096);
  readonly dir = new GrowableF64(4096);
  readonly mid = new GrowableF64(4096);
  readonly merge = new GrowableF64(4096);
  readonly prob = new GrowableF64(4096);
  readonly y = new GrowableF64(4096);
  readonly resolved_at = new GrowableF64(4096);
  readonly fold = new GrowableI32(4096);
  readonly session = new GrowableI8(4096);
  readonly regime = new GrowableI8(4096);
  readonly vol_bucket = new GrowableI8(4096);
  readonly vol_tertile = new GrowableI8(4096);
  readonly scenario = new GrowableI8(4096);
  readonly calib_paused = new GrowableI8(4096);
  /** Label alignment: first quote at or after t + H, minus t + H (NaN until that quote / at flush). */
  readonly align = new GrowableF64(4096);
  /** Time the alignment became known (that quote's ts). */
  readonly align_at = new GrowableF64(4096);
  /** The merge tolerance each label was resolved under (NaN until resolved). */
  readonly label_tol = new GrowableF64(4096);
  /** Evidence mode: percentile of a stride sample's score in the trailing scores (NaN elsewhere). */
  readonly rank_u = new GrowableF64(4096);
  sessionNames: readonly string[] = [];
  feeTier = 'TM';
  /** Forward as-of labels of this track's samples (index = sample index); writes y / resolved_at. */
  readonly labels: LabelResolver;
  nextDecision = NaN;
  foldStart = NaN;
  foldIndex = -1;
  A = NaN;
  B = NaN;
  fitted = false;
  calibrationPaused = true;
  calibrationGateLive = false;
  activeMultiplier = 1;
  quietMultiplier = 1;
  // evidence-mode state
  lastStrideBucket = -Infinity;
  /** Stride sample indices whose labels are not yet consumed by the sequential tests. */
  pendingStride: number[] = [];
  /** Consumed stride labels: sample time and AUC contribution, in consumption order. */
  readonly evT: number[] = [];
  readonly evX: number[] = [];
  readonly cusumDead = new Cusum();
  readonly cusumUp = new Cusum();
  readonly failLooks = new Map<GateName, number>();
  readonly passLooks = new Map<GateName, number>();
  readonly open = new Map<GateName, Incident>();
  readonly stable: StableConfig[];
  fingerprint: string;
  constructor(
    readonly symbol: string,
    horizonMs: number,
    mergeTol: number,
    stable: StableConfig[],
  ) {
    this.labels = new LabelResolver({ horizon_ms: horizonMs, merge_tol_ms: mergeTol }, (i, y, at, t, quoteTs, tol) => {
      if (y === 0 || y === 1) {
        this.y.data[i] = y;
        this.resolved_at.data[i] = at;
      }
      this.label_tol.data[i] = tol;
      if (Number.isFinite(quoteTs)) {
        this.align.data[i] = quoteTs - (t + horizonMs);
        this.align_at.data[i] = quoteTs;
      }
    });
    this.stable = stable.slice();
    this.fingerprint = stable[stable.length - 1].fingerprint;
  }

  /** The forward as-of tolerance in force (the merge gate widens it at run time). */
  get mergeTol(): number {
    return this.labels.mergeTolMs;
  }
  set mergeTol(v: number) {
    this.labels.mergeTolMs = v;
  }
}

export interface CanaryResult {
  readonly tracks: Map<string, SymbolTrack>;
  readonly timeseries: TimeseriesRow[];
  readonly merge: MergeRow[];
  readonly incidents: Incident[];
  readonly folds: FoldRecord[];
  readonly fingerprints: { symbol: string; fingerprint: string; from_ms: number; reason: string }[];
  readonly gateMode: GateMode;
}

/** The calibration gates' action: pause calibration (the published prob falls back to the base rate). */
function pauseCalibration(act: GateActions): string {
  act.setCalibrationPaused(true);
  return 'pause_calibration';
}

/**
 * Resume calibration once neither calibration gate is open; after the look
 * (`afterLook`) only when the gate is live and a fit exists.
 */
function resumeCalibration(tr: SymbolTrack, act: GateActions, afterLook: boolean): void {
  if (tr.open.has('ece') || tr.open.has('platt_test_samples')) return;
  if (afterLook && !(tr.calibrationGateLive && tr.fitted)) return;
  act.setCalibrationPaused(false);
}
export class CanaryEngine implements PipelineObserver {
  private readonly c: FlowlabConfig;
  private readonly H: number;
  private readonly step: number;
  private readonly trainMs: number;
  private readonly testMs: number;
  private readonly stableInit: StableConfig[];
  readonly mode: GateMode;
  /** DeLong variance inflation: samples per label horizon (overlapping labels). */
  readonly vif: number;
  readonly tracks = new Map<string, SymbolTrack>();
  readonly timeseries: TimeseriesRow[] = [];
  readonly merge: MergeRow[] = [];
  readonly incidents: Incident[] = [];
  readonly folds: FoldRecord[] = [];
  readonly fingerprints: { symbol: string; fingerprint: string; from_ms: number; reason: string }[] = [];
  private incidentSeq = 0;
  private readonly calcs = new Map<string, SymbolCalc>();
  /** The pipeline watched (`attach`): where each incident / fingerprint entry comes in its release order. */
  private order: ReleaseOrder | null = null;
  /** The symbol whose end-of-run decisions `finish` is taking, else null. */
  private finishing: string | null = null;
  /**
   * With a pipeline attached: the release-order key (`OrderKey`) at which each
   * incident / fingerprint entry was recorded, index for index. A run over a
   * subset of the symbols records its entries with the keys a run over all
   * would, so symbol shards' records merge into that run's order
   * (src/canary/shards.ts).
   */
  readonly incidentKeys: OrderKey[] = [];
  readonly fingerprintKeys: OrderKey[] = [];

  /**
   * @param stable the rollback chain, oldest first, the config in force last
   *   (length 1 when the run's config extends nothing).
   * @param shadow see the field.
   */
  constructor(
    config: FlowlabConfig,
    stable: StableConfig[],
    /** A shadow engine only records what its gates would do: it never changes the pipeline's weights. */
    readonly shadow = false,
  ) {
    this.c = config;
    this.mode = config.canary.gate_mode;
    this.H = config.labels.horizons_s[0] * 1000;
    this.step = config.canary.eval_every_sec * 1000;
    this.trainMs = config.calibration.train_sec * 1000;
    this.testMs = config.calibration.test_sec * 1000;
    this.stableInit = stable.slice(-config.canary.keep_fingerprints);
    this.vif = overlapInflation(config);
  }

  attach(order: ReleaseOrder): void {
    this.order = order;
  }

  /** Record an incident (in the order opened; with its release-order key when a pipeline is attached). */
  private addIncident(inc: Incident): void {
    this.incidents.push(inc);
    this.stamp(this.incidentKeys);
  }

  private addFingerprint(f: CanaryResult['fingerprints'][number]): void {
    this.fingerprints.push(f);
    this.stamp(this.fingerprintKeys);
  }

  private stamp(keys: OrderKey[]): void {
    if (this.order) keys.push(this.finishing !== null ? [FINISH_PHASE, this.finishing] : this.order.orderKey());
  }

  private track(symbol: string, calc: SymbolCalc | null): SymbolTrack {
    let tr = this.tracks.get(symbol);
    if (!tr) {
      tr = new SymbolTrack(symbol, this.H, this.c.labels.merge_tol_ms, this.stableInit);
      this.tracks.set(symbol, tr);
      this.addFingerprint({ symbol, fingerprint: tr.fingerprint, from_ms: NaN, reason: 'config at start' });
    }
    if (calc && !this.calcs.has(symbol)) {
      this.calcs.set(symbol, calc);
      tr.sessionNames = calc.sessionNames;
      tr.feeTier = calc.fee_tier;
    }
    return tr;
  }

  onSample(symbol: string, r: Readonly<FusionRow>, calc: SymbolCalc): void {
    const tr = this.track(symbol, calc);
    const t = r.ts;
    if (Number.isNaN(tr.nextDecision)) {
      tr.nextDecision = Math.floor(t / this.step) * this.step + this.step;
      tr.foldStart = Math.floor(t / this.testMs) * this.testMs;
      tr.foldIndex = 0;
      const fp = this.fingerprints.find((f) => f.symbol === symbol && Number.isNaN(f.from_ms));
      if (fp) fp.from_ms = t;
    }
    while (t > tr.nextDecision) {
      this.decide(tr, tr.nextDecision);
      tr.nextDecision += this.step;
    }
    while (t >= tr.foldStart + this.testMs) this.startFold(tr, tr.foldStart + this.testMs);
    const score = r.score;
    const regime = r.regime;
    // evidence mode: the first sample of each stride bucket enters the sequential tests; its score's
    // percentile among the trailing scores (all known at t) is taken now
    let u = NaN;
    if (this.mode === 'evidence') {
      const ev = this.c.canary.evidence;
      const bucket = Math.floor(t / (ev.label_stride_sec * 1000));
      if (bucket > tr.lastStrideBucket) {
        tr.lastStrideBucket = bucket;
        const tv = tr.t.view();
        u = percentileRank(score, tr.score.data, lowerBound(tv, t - ev.rank_ref_sec * 1000), tv.length);
        tr.pendingStride.push(tr.t.length);
      }
    }
    tr.t.push(t);
    tr.score.push(score);
    tr.published.push(regime === ACTIVE ? score * tr.activeMultiplier : score * tr.quietMultiplier);
    tr.z_ofi.push(r.z_ofi);
    tr.z_cvd.push(r.z_cvd);
    tr.dir.push(r.cvd_dir);
    tr.mid.push(r.mid);
    tr.merge.push(r.merge_time_diff_ms);
    tr.prob.push(tr.fitted && Number.isFinite(score) ? plattProb(tr.A, tr.B, score) : NaN);
    tr.fold.push(tr.fitted ? tr.foldIndex : -1);
    tr.rank_u.push(u);
    tr.y.push(NaN);
    tr.resolved_at.push(NaN);
    tr.align.push(NaN);
    tr.align_at.push(NaN);
    tr.label_tol.push(NaN);
    tr.labels.addSample(t, r.mid);
    tr.session.push(r.session);
    tr.regime.push(regime);
    tr.vol_bucket.push(r.vol_bucket);
    tr.vol_tertile.push(r.vol_tertile);
    tr.scenario.push(r.scenario_2x2);
    tr.calib_paused.push(tr.calibrationPaused ? 1 : 0);
  }

  /** Forward as-of labels: the first quote at or after t + H resolves sample t if within the tolerance in force. */
  /** The rollback chain the engine started with, oldest first (recorded in the run manifest for verify). */
  stableChain(): StableConfig[] {
    return this.stableInit.map((c) => ({
      fingerprint: c.fingerprint,
      defaults: { ...c.defaults },
      overrides: { ...c.overrides },
    }));
  }

  onQuote(symbol: string, ts: number, mid: number): void {
    this.tracks.get(symbol)?.labels.onQuote(ts, mid);
  }

  /** Fold at Tf: fit Platt on samples with t in [Tf - train, Tf) and labels resolved by Tf. */
  private startFold(tr: SymbolTrack, Tf: number): void {
    // close the books on the fold that ends here
    this.recordFoldTestCount(tr);
    tr.foldStart = Tf;
    tr.foldIndex++;
    const t = tr.t.view();
    const lo = lowerBound(t, Tf - this.trainMs);
    const hi = lowerBound(t, Tf);
    const sc: number[] = [];
    const ys: number[] = [];
    let pos = 0;
    for (let i = lo; i < hi; i++) {
      const y = tr.y.data[i];
      if ((y === 0 || y === 1) && tr.resolved_at.data[i] <= Tf && Number.isFinite(tr.score.data[i])) {
        sc.push(tr.score.data[i]);
        ys.push(y);
        pos += y;
      }
    }
    const neg = ys.length - pos;
    const hasHistory = t.length > 0 && Tf - t[0] >= this.trainMs;
    if (hasHistory) tr.calibrationGateLive = true;
    const cal = this.c.calibration;
    const enough = ys.length >= cal.min_train && pos >= cal.min_train_per_class && neg >= cal.min_train_per_class;
    let A: number | null = null;
    let B: number | null = null;
    if (enough) {
      const fit = plattFit(sc, ys);
      if (Number.isFinite(fit.A) && Number.isFinite(fit.B)) {
        A = fit.A;
        B = fit.B;
      }
    }
    tr.fitted = A !== null;
    tr.A = A ?? NaN;
    tr.B = B ?? NaN;
    this.folds.push({
      symbol: tr.symbol,
      fold: tr.foldIndex,
      fold_start_ms: Tf,
      status: tr.fitted ? 'ok' : 'insufficient',
      platt_train_samples: ys.length,
      platt_test_samples: 0,
      A,
      B,
      train_base_rate: ys.length > 0 ? pos / ys.length : null,
    });
  }

  private recordFoldTestCount(tr: SymbolTrack): void {
    const f = this.lastFold(tr.symbol);
    if (f?.status !== 'ok') return;
    const t = tr.t.view();
    const lo = lowerBound(t, f.fold_start_ms);
    const hi = lowerBound(t, f.fold_start_ms + this.testMs);
    let n = 0;
    for (let i = lo; i < hi; i++) if (Number.isFinite(tr.prob.data[i])) n++;
    f.platt_test_samples = n;
  }

  private lastFold(symbol: string): FoldRecord | undefined {
    for (let i = this.folds.length - 1; i >= 0; i--) if (this.folds[i].symbol === symbol) return this.folds[i];
    return undefined;
  }

  /** The rolling-window evaluation's options, both gate modes (the 10-minute AUC window). */
  private windowOptions(): RollingOptions {
    const cc = this.c.canary;
    return {
      window_ms: cc.auc_window_sec * 1000,
      merge_window_ms: cc.merge_window_sec * 1000,
      ece_bins: this.c.calibration.ece_bins,
      variance_inflation: this.vif,
    };
  }

  private window(tr: SymbolTrack, T: number, slice: SliceName, windowMs: number) {
    const t = tr.t.view();
    const lo = upperBound(t, T - windowMs);
    const hi = upperBound(t, T);
    if (slice === 'all') {
      return {
        t: t.subarray(lo, hi),
        score: tr.score.view().subarray(lo, hi),
        y: tr.y.view().subarray(lo, hi),
        resolved_at: tr.resolved_at.view().subarray(lo, hi),
        prob: tr.prob.view().subarray(lo, hi),
        merge_time_diff_ms: tr.merge.view().subarray(lo, hi),
      };
    }
    const want = slice === 'Active' ? ACTIVE : 0;
    const idx: number[] = [];
    for (let i = lo; i < hi; i++) if (tr.regime.data[i] === want) idx.push(i);
    const pick = (g: GrowableF64) => Float64Array.from(idx, (i) => g.data[i]);
    return {
      t: pick(tr.t),
      score: pick(tr.score),
      y: pick(tr.y),
      resolved_at: pick(tr.resolved_at),
      prob: pick(tr.prob),
      merge_time_diff_ms: pick(tr.merge),
    };
  }

  private decide(tr: SymbolTrack, T: number): void {
    if (this.mode === 'seed') this.decideSeed(tr, T);
    else this.decideEvidence(tr, T);
  }

  /** The narrow interface gates act through (gates.ts). */
  private actions(tr: SymbolTrack): GateActions {
    const [lo, hi] = this.c.canary.merge_tol_bounds_ms;
    return {
      setMultiplier: (slice, m) => {
        if (slice === 'Active') tr.activeMultiplier = m;
        else tr.quietMultiplier = m;
      },
      setCalibrationPaused: (p) => {
        tr.calibrationPaused = p;
      },
      setMergeTol: (ms) => {
        tr.mergeTol = Math.min(hi, Math.max(lo, ms));
        return tr.mergeTol;
      },
      rollback: (reason) => {
        const prev = tr.stable.length >= 2 ? tr.stable[tr.stable.length - 2] : null;
        if (!prev || prev.fingerprint === tr.fingerprint) return null;
        const calc = this.calcs.get(tr.symbol);
        if (calc && !this.shadow) applyWeights(calc, prev);
        tr.fingerprint = prev.fingerprint;
        tr.stable.pop();
        return reason;
      },
    };
  }

  /** The seed's rules (gate_mode seed): point estimates every look, exactly as commit aba3a8c. */
  private decideSeed(tr: SymbolTrack, T: number): void {
    const cc = this.c.canary;
    const act_ = this.actions(tr);
    const winMs = cc.auc_window_sec * 1000;
    const opts = this.windowOptions();
    const decisions = new Map<SliceName, Decision>();
    for (const s of EVAL_SLICES) decisions.set(s, evaluateAt(T, this.window(tr, T, s, winMs), opts));
    const all = decisions.get('all')!;
    const act = decisions.get('Active')!;
    const failed: GateName[] = [];

    // fusion_auc_active < min over 10 m (insufficient samples: no decision)
    const aucA = act.auc.auc;
    const aucKnown = aucA !== null && Number.isFinite(aucA);
    if (aucKnown && aucA! < cc.auc_active_min) failed.push('fusion_auc_active');
    // calibration: ece > max or the current fold has no fit (after warm-up)
    const eceV = all.ece?.value ?? null;
    let calibFail: GateName | null = null;
    if (tr.calibrationGateLive) {
      if (!tr.fitted) calibFail = 'platt_test_samples';
      else if (eceV !== null && eceV > cc.ece_max) calibFail = 'ece';
    }
    if (calibFail) failed.push(calibFail);
    // merge p99 over 5 m
    const p99 = all.merge_p99;
    if (Number.isFinite(p99) && p99 > cc.merge_p99_max_ms) failed.push('merge_p99');

    const metrics = {
      auc_active: aucKnown ? aucA : null,
      auc_active_n: act.auc.n,
      ece: eceV,
      platt_fitted: tr.fitted ? 1 : 0,
      merge_p99: Number.isFinite(p99) ? p99 : null,
    };

    // --- AUC gate: P1, downweight then pause the Active slice; close restores
    this.gate(
      tr,
      T,
      'fusion_auc_active',
      'Active',
      'P1',
      aucKnown ? failed.includes('fusion_auc_active') : null,
      metrics,
      () => {
        act_.setMultiplier('Active', 0.5);
        return 'downweight_slice';
      },
      () => {
        act_.setMultiplier('Active', 1);
      },
    );
    const auc = tr.open.get('fusion_auc_active');
    if (auc && tr.activeMultiplier === 0.5 && T - auc.opened_at_ms >= winMs) {
      act_.setMultiplier('Active', 0);
      auc.actions.push({ at_ms: T, action: 'pause_slice' });
      auc.action = 'pause_slice';
    }
    // --- calibration gates: P2, pause calibration; close resumes
    this.calibrationGates(
      tr,
      T,
      (['ece', 'platt_test_samples'] as const).map((g) => [g, tr.calibrationGateLive ? failed.includes(g) : null]),
      metrics,
      act_,
    );
    // --- merge gate: P2, widen merge_tol_ms by a step (bounded); close restores the configured value
    this.gate(
      tr,
      T,
      'merge_p99',
      'all',
      'P2',
      Number.isFinite(p99) ? failed.includes('merge_p99') : null,
      metrics,
      () => {
        const before = tr.mergeTol;
        act_.setMergeTol(before + cc.merge_tol_step_ms);
        return `merge_tol_ms ${before}->${tr.mergeTol}`;
      },
      () => {
        act_.setMergeTol(this.c.labels.merge_tol_ms);
      },
    );
    this.rollbacks(tr, T, metrics);

    const gateAuc = (s: SliceName) => (s === 'Active' && aucKnown ? aucA! : NaN);
    this.record(tr, T, decisions, failed, gateAuc, NaN, NaN);
    // merge match rate over the merge window under the tolerance in force
    const t = tr.t.view();
    const lo2 = upperBound(t, T - cc.merge_window_sec * 1000);
    const hi2 = upperBound(t, T);
    let matched = 0;
    let nm = 0;
    for (let i = lo2; i < hi2; i++) {
      const m = tr.merge.data[i];
      if (!Number.isFinite(m)) continue;
      nm++;
      if (m <= tr.mergeTol) matched++;
    }
    this.merge.push({
      ts_ms: T,
      symbol: tr.symbol,
      window_sec: cc.merge_window_sec,
      p50: all.merge_p50,
      p90: all.merge_p90,
      p99: all.merge_p99,
      n: all.n_merge,
      match_rate: nm > 0 ? matched / nm : NaN,
      merge_tol_ms: tr.mergeTol,
      definition: 'input_age',
    });
  }

  /** Evidence gates (gate_mode evidence, the default): see gates.ts and README.md. */
  private decideEvidence(tr: SymbolTrack, T: number): void {
    const cc = this.c.canary;
    const ev = cc.evidence;
    const act_ = this.actions(tr);
    const winMs = cc.auc_window_sec * 1000;
    const opts = this.windowOptions();
    // the 10-minute windows stay in the timeseries as a display (they are not what the gates act on)
    const decisions = new Map<SliceName, Decision>();
    const align = this.alignment(tr, T, cc.merge_window_sec * 1000);
    const alignLong = this.alignment(tr, T, ev.merge_window_sec * 1000);
    for (const s of EVAL_SLICES) {
      const d = evaluateAt(T, this.window(tr, T, s, winMs), opts);
      decisions.set(s, { ...d, merge_p50: align.p50, merge_p90: align.p90, merge_p99: align.p99, n_merge: align.n });
    }
    const failed: GateName[] = [];

    // --- discrimination: consume the stride labels resolved by T, in sample order; CUSUM for a drop of
    // the per-label AUC contribution from auc_ok to auc_dead (reference value k halfway)
    const open = tr.open.get('fusion_auc');
    const k = (ev.auc_ok + ev.auc_dead) / 2;
    const keep: number[] = [];
    for (const i of tr.pendingStride) {
      const y = tr.y.data[i];
      if ((y === 0 || y === 1) && tr.resolved_at.data[i] <= T) {
        const u = tr.rank_u.data[i];
        if (Number.isFinite(u)) {
          const x = aucContribution(y, u);
          tr.evT.push(tr.t.data[i]);
          tr.evX.push(x);
          tr.cusumDead.add(k - x);
          if (open) tr.cusumUp.add(x - k);
        }
      } else if (y === 0 || y === 1 || !Number.isFinite(tr.label_tol.data[i])) keep.push(i); // not known by T
      // else: final without a usable label (unmatched or equal mids): dropped
    }
    tr.pendingStride = keep;
    let sx = 0;
    let nx = 0;
    const from = T - ev.auc_window_sec * 1000;
    for (let k = tr.evT.length - 1; k >= 0; k--) {
      const tk = tr.evT[k];
      if (tk <= from - 600_000) break; // consumption order is sample order up to resolution delays
      if (tk > from) {
        sx += tr.evX[k];
        nx++;
      }
    }
    const gateAuc = nx >= ev.auc_min_labels ? sx / nx : NaN;
    const aucFail = tr.cusumDead.value > ev.cusum_open && gateAuc < ev.auc_confirm_max;
    if (aucFail) failed.push('fusion_auc');
    const aucRecovered = tr.cusumUp.value > ev.cusum_close && gateAuc >= ev.auc_close_min;

    // --- calibration: ECE over the long window minus its noise floor; the fold has a fit
    let gateEce = NaN;
    let eceV: number | null = null;
    let eceN = 0;
    if (tr.calibrationGateLive) {
      const t = tr.t.view();
      const lo = upperBound(t, T - ev.ece_window_sec * 1000);
      const hi = upperBound(t, T);
      const p: number[] = [];
      const y: number[] = [];
      for (let i = lo; i < hi; i++) {
        const pi = tr.prob.data[i];
        const yi = tr.y.data[i];
        if (pi === pi && (yi === 0 || yi === 1) && tr.resolved_at.data[i] <= T) {
          p.push(pi);
          y.push(yi);
        }
      }
      eceN = p.length;
      if (eceN >= ev.ece_min_samples) {
        const e = eceOf(p, y, this.c.calibration.ece_bins, { min_samples: 1 });
        eceV = e.value;
        if (e.value !== null) gateEce = Math.max(0, e.value - eceNoiseFloor(e.bins, this.vif));
      }
    }
    const eceFail = Number.isFinite(gateEce) ? gateEce > cc.ece_max : null;
    if (eceFail) failed.push('ece');
    const plattFail = tr.calibrationGateLive ? !tr.fitted : null;
    if (plattFail) failed.push('platt_test_samples');
    const matchRate = alignLong.n >= 30 ? alignLong.matched / alignLong.n : NaN;
    const mergeFail = Number.isFinite(matchRate) ? matchRate < ev.merge_match_min : null;
    if (mergeFail) failed.push('merge_label_match');

    const metrics = {
      gate_auc: Number.isFinite(gateAuc) ? gateAuc : null,
      gate_auc_n: nx,
      cusum: tr.cusumDead.value,
      cusum_recovery: tr.cusumUp.value,
      gate_ece: Number.isFinite(gateEce) ? gateEce : null,
      ece: eceV,
      ece_n: eceN,
      platt_fitted: tr.fitted ? 1 : 0,
      merge_alignment_p99: Number.isFinite(alignLong.p99) ? alignLong.p99 : null,
      label_match_rate: Number.isFinite(matchRate) ? matchRate : null,
      label_match_n: alignLong.n,
      merge_tol_ms: tr.mergeTol,
    };

    // --- discrimination gate: P1; downweight every slice, pause after the window; close on recovery evidence
    const aucDecision = open ? (aucRecovered ? false : null) : aucFail ? true : null;
    this.gate(
      tr,
      T,
      'fusion_auc',
      'all',
      'P1',
      aucDecision,
      metrics,
      () => {
        act_.setMultiplier('Active', 0.5);
        act_.setMultiplier('Quiet', 0.5);
        tr.cusumUp.reset();
        return 'downweight_slice';
      },
      () => {
        act_.setMultiplier('Active', 1);
        act_.setMultiplier('Quiet', 1);
        tr.cusumDead.reset();
        tr.cusumUp.reset();
      },
    );
    const inc = tr.open.get('fusion_auc');
    if (inc && tr.activeMultiplier === 0.5 && T - inc.opened_at_ms >= winMs) {
      act_.setMultiplier('Active', 0);
      act_.setMultiplier('Quiet', 0);
      inc.actions.push({ at_ms: T, action: 'pause_slice' });
      inc.action = 'pause_slice';
    }
    // --- calibration gates: P2, pause calibration; close resumes
    const persist = (g: GateName, failing: boolean | null): boolean | null => {
      if (failing === null) return null;
      if (failing) {
        tr.failLooks.set(g, (tr.failLooks.get(g) ?? 0) + 1);
        tr.passLooks.set(g, 0);
      } else {
        tr.passLooks.set(g, (tr.passLooks.get(g) ?? 0) + 1);
        tr.failLooks.set(g, 0);
      }
      if ((tr.failLooks.get(g) ?? 0) >= ev.open_looks) return true;
      if ((tr.passLooks.get(g) ?? 0) >= ev.close_looks) return false;
      return null;
    };
    this.calibrationGates(
      tr,
      T,
      [
        ['ece', persist('ece', eceFail)],
        ['platt_test_samples', plattFail],
      ],
      metrics,
      act_,
    );
    // --- label matching: P2 alert, no automatic action (the label definition stays fixed)
    this.gate(
      tr,
      T,
      'merge_label_match',
      'all',
      'P2',
      persist('merge_label_match', mergeFail),
      metrics,
      () => 'alert',
      () => {},
    );
    this.rollbacks(tr, T, metrics);

    this.record(tr, T, decisions, failed, (s) => (s === 'all' ? gateAuc : NaN), tr.cusumDead.value, gateEce);
    this.merge.push({
      ts_ms: T,
      symbol: tr.symbol,
      window_sec: cc.merge_window_sec,
      p50: align.p50,
      p90: align.p90,
      p99: align.p99,
      n: align.n,
      match_rate: align.n > 0 ? align.matched / align.n : NaN,
      merge_tol_ms: tr.mergeTol,
      definition: 'label_alignment',
    });
  }

  /**
   * Label alignment over the merge window: labels whose first quote at or after
   * t + H arrived in (T - merge_window, T]; gap = that quote's ts - (t + H).
   * A label matches when its gap is within the tolerance it was resolved under.
   */
  private alignment(tr: SymbolTrack, T: number, mw: number) {
    const t = tr.t.view();
    const hi = upperBound(t, T - this.H);
    const lo = upperBound(t, T - mw - this.H - 600_000);
    const v: number[] = [];
    let matched = 0;
    for (let i = lo; i < hi; i++) {
      const at = tr.align_at.data[i];
      if (!(at > T - mw && at <= T)) continue;
      const a = tr.align.data[i];
      v.push(a);
      if (a <= tr.label_tol.data[i]) matched++;
    }
    const s = Float64Array.from(v).sort();
    const q = (p: number) => {
      if (s.length === 0) return NaN;
      const h = (s.length - 1) * p;
      const l = Math.floor(h);
      return l >= s.length - 1 ? s[s.length - 1] : s[l] + (h - l) * (s[l + 1] - s[l]);
    };
    return { p50: q(0.5), p90: q(0.9), p99: q(0.99), n: s.length, matched };
  }

  /** P1 open too long: roll back to the previous stable fingerprint (once per incident). */
  private rollbacks(tr: SymbolTrack, T: number, metrics: Record<string, number | null>): void {
    const cc = this.c.canary;
    for (const inc of tr.open.values()) {
      if (inc.severity !== 'P1' || inc.rolled_back || T - inc.opened_at_ms < cc.p1_rollback_min * 60_000) continue;
      inc.rolled_back = true;
      const before = tr.fingerprint;
      const reason = `rollback: ${inc.id} open ${cc.p1_rollback_min} min`;
      let action: string;
      if (this.actions(tr).rollback(reason) !== null) {
        action = 'rollback';
        this.addFingerprint({ symbol: tr.symbol, fingerprint: tr.fingerprint, from_ms: T, reason });
      } else {
        action = 'rollback unavailable: no previous stable fingerprint';
      }
      inc.actions.push({ at_ms: T, action });
      // evidence mode: the rollback is an escalation of the open P1 (one of its actions), not a new breach
      if (this.mode === 'evidence') {
        inc.action = action;
        inc.fingerprint_after = tr.fingerprint;
        continue;
      }
      this.addIncident({
        id: this.nextId(),
        symbol: tr.symbol,
        slice: inc.slice,
        gate: 'p1_timeout',
        severity: 'P1',
        opened_at_ms: T,
        closed_at_ms: T,
        who: 'canary',
        why: `${inc.id} (${inc.gate}) open for ${Math.round((T - inc.opened_at_ms) / 60_000)} min >= ${cc.p1_rollback_min} min`,
        metrics_before: { ...metrics },
        metrics_after: { ...metrics },
        action,
        actions: [{ at_ms: T, action }],
        fingerprint_before: before,
        fingerprint_after: tr.fingerprint,
        gate_mode: this.mode,
      });
    }
  }

  /** One timeseries row per slice at T, with the weights actually in force. */
  private record(
    tr: SymbolTrack,
    T: number,
    decisions: Map<SliceName, Decision>,
    failed: GateName[],
    gateAuc: (s: SliceName) => number,
    cusum: number,
    gateEce: number,
  ): void {
    const cc = this.c.canary;
    const discr: GateName = this.mode === 'seed' ? 'fusion_auc_active' : 'fusion_auc';
    const w = this.calcs.get(tr.symbol)?.fusion.weightsInForce() ?? {
      defaults: tr.stable[tr.stable.length - 1].defaults,
      overrides: tr.stable[tr.stable.length - 1].overrides,
    };
    for (const s of EVAL_SLICES) {
      const am = tr.activeMultiplier;
      const qm = tr.quietMultiplier;
      const multiplier = s === 'Active' ? am : s === 'Quiet' ? qm : am === qm ? am : 1;
      const ws = s === 'all' ? w.defaults : (w.overrides[s] ?? w.defaults);
      this.timeseries.push({
        ts_ms: T,
        symbol: tr.symbol,
        slice: s,
        window_sec: cc.auc_window_sec,
        d: decisions.get(s)!,
        calibration_paused: tr.calibrationPaused,
        multiplier,
        merge_tol_ms: tr.mergeTol,
        fingerprint: tr.fingerprint,
        gates_failed:
          s === 'all' ? failed : s === 'Active' && this.mode === 'seed' && failed.includes(discr) ? [discr] : [],
        gate_auc: gateAuc(s),
        cusum: s === 'all' ? cusum : NaN,
        gate_ece: s === 'all' ? gateEce : NaN,
        w_ofi: ws.ofi * multiplier,
        w_cvd: ws.cvd * multiplier,
      });
    }
  }

  /**
   * The calibration gates of either mode (P2): each decision opens / closes its
   * gate, opening pauses calibration and the last close resumes it; then the
   * look's resume rule (the one pause/resume rule of both modes).
   */
  private calibrationGates(
    tr: SymbolTrack,
    T: number,
    decisions: readonly (readonly [GateName, boolean | null])[],
    metrics: Record<string, number | null>,
    act_: GateActions,
  ): void {
    for (const [g, decision] of decisions) {
      this.gate(
        tr,
        T,
        g,
        'all',
        'P2',
        decision,
        metrics,
        () => pauseCalibration(act_),
        () => resumeCalibration(tr, act_, false),
      );
    }
    resumeCalibration(tr, act_, true);
  }

  /**
   * Open an incident when `failing` and none is open for the gate; close it when
   * the gate is evaluated and passes. `failing` null = not evaluable (no change).
   */
  private gate(
    tr: SymbolTrack,
    T: number,
    gate: GateName,
    slice: SliceName,
    severity: 'P1' | 'P2',
    failing: boolean | null,
    metrics: Record<string, number | null>,
    act: () => string,
    restore: () => void,
  ): void {
    if (failing === null) return;
    const open = tr.open.get(gate);
    if (failing && !open) {
      const before = tr.fingerprint;
      const action = act();
      const inc: Incident = {
        id: this.nextId(),
        symbol: tr.symbol,
        slice,
        gate,
        severity,
        opened_at_ms: T,
        closed_at_ms: null,
        who: 'canary',
        why: whyText(gate, metrics, this.c),
        metrics_before: { ...metrics },
        metrics_after: null,
        action,
        actions: [{ at_ms: T, action }],
        fingerprint_before: before,
        fingerprint_after: tr.fingerprint,
        gate_mode: this.mode,
      };
      tr.open.set(gate, inc);
      this.addIncident(inc);
    } else if (!failing && open) {
      open.closed_at_ms = T;
      open.metrics_after = { ...metrics };
      tr.open.delete(gate);
      restore();
      open.actions.push({ at_ms: T, action: 'restore' });
      open.fingerprint_after = tr.fingerprint;
    }
  }

  private nextId(): string {
    return `INC-${String(++this.incidentSeq).padStart(4, '0')}`;
  }

  /** End of run: take the decisions still due up to the last sample, close the fold books. */
  finish(): CanaryResult {
    for (const tr of [...this.tracks.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : 1))) {
      const n = tr.t.length;
      if (n === 0) continue;
      const last = tr.t.data[n - 1];
      this.finishing = tr.symbol;
      while (tr.nextDecision <= last) {
        this.decide(tr, tr.nextDecision);
        tr.nextDecision += this.step;
      }
      this.finishing = null;
      this.recordFoldTestCount(tr);
    }
    sortRecords(this);
    return {
      tracks: this.tracks,
      timeseries: this.timeseries,
      merge: this.merge,
      incidents: this.incidents,
      folds: this.folds,
      fingerprints: this.fingerprints,
      gateMode: this.mode,
    };
  }
}

/**
 * The stable order of the per-symbol tables: by symbol, then time (then slice
 * / fold). Each (symbol, time[, slice]) is one row, so the order does not
 * depend on the order the rows were recorded in (nor on symbol shards).
 */
export function sortRecords(r: Pick<CanaryResult, 'timeseries' | 'merge' | 'folds'>): void {
  r.timeseries.sort((a, b) =>
    a.symbol < b.symbol
      ? -1
      : a.symbol > b.symbol
        ? 1
        : a.ts_ms - b.ts_ms || EVAL_SLICES.indexOf(a.slice) - EVAL_SLICES.indexOf(b.slice),
  );
  r.merge.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.ts_ms - b.ts_ms));
  r.folds.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.fold - b.fold));
}

/**
 * Variance inflation for AUCs over fusion samples: samples every sample_ms with
 * labels over the horizon overlap horizon / sample_ms times (at least 1).
 */
export function overlapInflation(c: FlowlabConfig): number {
  return Math.max(1, (c.labels.horizons_s[0] * 1000) / c.fusion.sample_ms);
}

function applyWeights(calc: SymbolCalc, cfg: StableConfig): void {
  const f = calc.fusion;
  f.setWeights(null, cfg.defaults);
  for (const k of Object.keys(f.weightsInForce().overrides)) f.setWeights(k, null);
  for (const [k, w] of Object.entries(cfg.overrides)) f.setWeights(k, w);
}

function fmt(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits);
}

function whyText(gate: GateName, m: Record<string, number | null>, c: FlowlabConfig): string {
  const cc = c.canary;
  switch (gate) {
    case 'fusion_auc_active':
      return `fusion_auc_active ${fmt(m.auc_active)} < ${cc.auc_active_min} over ${cc.auc_window_sec / 60}m (n=${m.auc_active_n})`;
    case 'ece':
      if (cc.gate_mode === 'evidence')
        return `ece ${fmt(m.ece)} minus noise floor = ${fmt(m.gate_ece)} > ${cc.ece_max} over ${cc.evidence.ece_window_sec / 60}m (n=${m.ece_n}) for ${cc.evidence.open_looks} looks`;
      return `ece ${fmt(m.ece)} > ${cc.ece_max} over ${cc.auc_window_sec / 60}m`;
    case 'platt_test_samples':
      return 'platt_test_samples = 0: the current calibration fold has no Platt fit (too few resolved training labels)';
    case 'merge_p99':
      return `merge_time_diff_ms p99 ${fmt(m.merge_p99, 0)} > ${cc.merge_p99_max_ms} over ${cc.merge_window_sec / 60}m`;
    case 'p1_timeout':
      return 'P1 open too long';
    case 'fusion_auc': {
      const ev = cc.evidence;
      return `fusion_auc: CUSUM ${fmt(m.cusum, 2)} > ${ev.cusum_open} (evidence AUC fell from ${ev.auc_ok} to ${ev.auc_dead}) and gate_auc ${fmt(m.gate_auc)} < ${ev.auc_confirm_max} over ${ev.auc_window_sec / 60}m (n=${m.gate_auc_n} labels, one per ${ev.label_stride_sec}s)`;
    }
    case 'merge_label_match':
      return `label match rate ${fmt(m.label_match_rate)} < ${cc.evidence.merge_match_min} over ${cc.evidence.merge_window_sec / 60}m for ${cc.evidence.open_looks} looks (n=${m.label_match_n} labels; alignment p99 ${fmt(m.merge_alignment_p99, 0)} ms; tolerance ${m.merge_tol_ms} ms, fixed)`;
  }
}
