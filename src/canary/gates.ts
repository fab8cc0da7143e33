/**
 * The canary's gate table (ARCHITECTURE §6), one declarative row per gate and
 * gate mode: the metric it reads, its window, threshold, evidence rule,
 * severity, action and close rule, every figure from the config (so the config
 * fingerprint covers it). The engine (engine.ts) evaluates these rows; the
 * report prints them. Methods and assumptions: src/canary/README.md.
 *
 * Gates read pipeline outputs only (scores, calibrated probabilities, labels,
 * label alignment) and change what is published only through `GateActions`.
 */
import type { FlowlabConfig } from '../config/schema.js';

export type GateMode = 'evidence' | 'seed';
export const GATE_MODES: readonly GateMode[] = ['evidence', 'seed'];

export type GateName =
  | 'fusion_auc'
  | 'fusion_auc_active'
  | 'ece'
  | 'platt_test_samples'
  | 'merge_p99'
  | 'merge_label_match'
  | 'p1_timeout';
export type SliceName = 'all' | 'Active' | 'Quiet';
export type Severity = 'P1' | 'P2';
export type GateKind = 'discrimination' | 'calibration' | 'merge' | 'rollback';

export interface GateSpec {
  readonly gate: GateName;
  readonly kind: GateKind;
  readonly mode: GateMode;
  /** The slice whose samples the gate reads. */
  readonly slice: SliceName;
  readonly metric: string;
  readonly window: string;
  readonly threshold: string;
  readonly evidence: string;
  readonly severity: Severity;
  readonly action: string;
  readonly close: string;
}

/**
 * The narrow interface through which gates act. The engine implements it on a
 * symbol's track; no gate reaches into the calculators.
 */
export interface GateActions {
  /** Publish-throttle multiplier for a regime slice (the score is linear in the slice's weights). */
  setMultiplier(slice: 'Active' | 'Quiet', m: number): void;
  /** Stop / resume publishing calibrated probabilities (they are still computed). */
  setCalibrationPaused(paused: boolean): void;
  /** Label matching tolerance from now on (seed mode only); returns the value in force. */
  setMergeTol(ms: number): number;
  /** Switch to the previous stable fingerprint; null when there is none. */
  rollback(reason: string): string | null;
}

const min = (sec: number) => (sec % 60 === 0 ? `${sec / 60}m` : `${sec}s`);

/** The gates of `mode` under config `c`, in evaluation order. */
export function gateTable(c: FlowlabConfig, mode: GateMode = c.canary.gate_mode): GateSpec[] {
  const cc = c.canary;
  const ev = cc.evidence;
  const H = c.labels.horizons_s[0];
  const [lo, hi] = cc.merge_tol_bounds_ms;
  const rollback: GateSpec = {
    gate: 'p1_timeout',
    kind: 'rollback',
    mode,
    slice: 'all',
    metric: 'age of an open P1 incident',
    window: '-',
    threshold: `> ${cc.p1_rollback_min} min`,
    evidence: 'the P1 itself',
    severity: 'P1',
    action: `roll back to the previous stable fingerprint (keep last ${cc.keep_fingerprints})${mode === 'evidence' ? ': recorded as an action of that P1, not as an incident of its own' : ': recorded as an incident of its own'}`,
    close: 'immediately (one rollback per incident)',
  };
  const platt: GateSpec = {
    gate: 'platt_test_samples',
    kind: 'calibration',
    mode,
    slice: 'all',
    metric: 'platt_test_samples of the fold in force',
    window: `fold (${min(c.calibration.test_sec)}, trained on ${min(c.calibration.train_sec)})`,
    threshold: `= 0 (fit needs ${c.calibration.min_train} labels, ${c.calibration.min_train_per_class} per class)`,
    evidence: 'after warm-up (a fold with a full training window)',
    severity: 'P2',
    action: 'pause_calibration',
    close: 'the next fold fits',
  };
  if (mode === 'seed') {
    return [
      {
        gate: 'fusion_auc_active',
        kind: 'discrimination',
        mode,
        slice: 'Active',
        metric: 'AUC of score on the 1 s samples of the Active slice',
        window: min(cc.auc_window_sec),
        threshold: `< ${cc.auc_active_min}`,
        evidence: `point estimate every ${min(cc.eval_every_sec)} (30 per class)`,
        severity: 'P1',
        action: `downweight_slice x0.5, pause_slice x0 after ${min(cc.auc_window_sec)}`,
        close: 'first look with AUC >= threshold',
      },
      {
        gate: 'ece',
        kind: 'calibration',
        mode,
        slice: 'all',
        metric: 'ECE of the calibrated prob',
        window: min(cc.auc_window_sec),
        threshold: `> ${cc.ece_max}`,
        evidence: `point estimate every ${min(cc.eval_every_sec)} (30 rows)`,
        severity: 'P2',
        action: 'pause_calibration',
        close: 'first look with ECE <= threshold',
      },
      platt,
      {
        gate: 'merge_p99',
        kind: 'merge',
        mode,
        slice: 'all',
        metric: 'merge_time_diff_ms p99 (age of the oldest fusion input at the sample)',
        window: min(cc.merge_window_sec),
        threshold: `> ${cc.merge_p99_max_ms} ms`,
        evidence: `point estimate every ${min(cc.eval_every_sec)}`,
        severity: 'P2',
        action: `merge_tol_ms + ${cc.merge_tol_step_ms} within [${lo}, ${hi}]`,
        close: `first look with p99 <= threshold (restores ${c.labels.merge_tol_ms} ms)`,
      },
      rollback,
    ];
  }
  return [
    {
      gate: 'fusion_auc',
      kind: 'discrimination',
      mode,
      slice: 'all',
      metric: `CUSUM of k - x per label, x = ½ + 2(2y-1)(U-½) (U = score percentile in the trailing ${min(ev.rank_ref_sec)}), k = (${ev.auc_ok} + ${ev.auc_dead})/2, one label per ${min(ev.label_stride_sec)}; gate_auc = mean x`,
      window: `CUSUM since the last reset; gate_auc over ${min(ev.auc_window_sec)} (>= ${ev.auc_min_labels} labels)`,
      threshold: `CUSUM > ${ev.cusum_open} and gate_auc < ${ev.auc_confirm_max}`,
      evidence: `non-overlapping labels (stride ${min(ev.label_stride_sec)} >= H ${min(H)}); the CUSUM threshold sets the false-alarm rate`,
      severity: 'P1',
      action: `downweight x0.5 every slice, pause x0 after ${min(cc.auc_window_sec)}`,
      close: `recovery CUSUM of x - k > ${ev.cusum_close} and gate_auc >= ${ev.auc_close_min}`,
    },
    {
      gate: 'ece',
      kind: 'calibration',
      mode,
      slice: 'all',
      metric: 'ECE of the calibrated prob minus its noise floor under perfect calibration (overlap-aware)',
      window: `${min(ev.ece_window_sec)} (>= ${ev.ece_min_samples} resolved labels)`,
      threshold: `> ${cc.ece_max}`,
      evidence: `${ev.open_looks} consecutive failing looks`,
      severity: 'P2',
      action: 'pause_calibration',
      close: `${ev.close_looks} consecutive passing looks`,
    },
    platt,
    {
      gate: 'merge_label_match',
      kind: 'merge',
      mode,
      slice: 'all',
      metric: `label match rate: share of labels whose merge_time_diff_ms (first quote at or after t+H minus t+H) is within the tolerance (${c.labels.merge_tol_ms} ms)`,
      window: `${min(ev.merge_window_sec)} (>= 30 labels)`,
      threshold: `< ${ev.merge_match_min}`,
      evidence: `${ev.open_looks} consecutive failing looks`,
      severity: 'P2',
      action: 'alert only (the label tolerance never changes mid-run)',
      close: `${ev.close_looks} consecutive passing looks`,
    },
    rollback,
  ];
}

/** The gate's kind (discrimination / calibration / merge / rollback). */
export function gateKind(g: GateName): GateKind {
  if (g === 'fusion_auc' || g === 'fusion_auc_active') return 'discrimination';
  if (g === 'ece' || g === 'platt_test_samples') return 'calibration';
  if (g === 'merge_p99' || g === 'merge_label_match') return 'merge';
  return 'rollback';
}
