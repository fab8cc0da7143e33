/**
 * Typed parameters of every streaming calculator, with the seed defaults
 * (ARCHITECTURE §1, §4) in one object, `DEFAULT_CALC_PARAMS`.
 *
 * Names are snake_case so the config layer can map YAML keys onto them 1:1
 * (e.g. `robust.half_life_sec` <- `HALF_LIFE_SEC`). Units are in the names:
 * `_ms` = milliseconds of event time, `_sec` = seconds of event time, a bare
 * count is a number of observations. Nothing here reads the wall clock.
 *
 * Validation: each calculator checks the params it uses when constructed and
 * throws a `UsageError` naming the key, the value and what is allowed
 * (see `check*` helpers at the end of this file).
 */
import { UsageError } from '../core/errors.js';

export interface SequencerParams {
  /** Hold a tick until the arrival clock (on the exchange time scale) passes `ts_ms + watermark_ms`. */
  watermark_ms: number;
  /**
   * Fixed clock skew `recv_ts - exchange_ts` in ms (negative when the local clock is behind),
   * or `null` to estimate it causally from the first `skew_samples` exchange-stamped ticks.
   */
  skew_ms: number | null;
  /** Number of exchange-stamped ticks used by the causal skew estimate (auto mode). */
  skew_samples: number;
  /** Quantile of `recv - ts` taken as the skew (auto mode); low, so that latency is not counted as skew. */
  skew_quantile: number;
  /** Auto mode: stop waiting for `skew_samples` once the arrival clock has advanced this far. */
  skew_max_wait_ms: number;
  /**
   * Pipeline (not the Sequencer class): how many recent agg_trade_ids of each
   * symbol are remembered to drop repeated trades before the calculators
   * (one `DedupMemory` per symbol, oldest forgotten first).
   */
  dedup_ids: number;
}

export interface OfiParams {
  /** Levels used by multi-level OFI from depth snapshots. */
  depth_levels: number;
  /** Per-level weights (length `depth_levels`), normalised to sum 1; `null` = equal weights. */
  level_weights: readonly number[] | null;
}

export interface CvdParams {
  /** Use the tick rule for trades whose side is unknown (is_buyer_maker = -1); false = exclude them. */
  tick_rule: boolean;
}

export interface RobustParams {
  /** Half-life of the slow EWMA of |x|, seconds of event time (`HALF_LIFE_SEC`). */
  half_life_sec: number;
  /** Half-life of the fast EWMA of |x|, seconds of event time. */
  fast_half_life_sec: number;
  /** Weight of the fast EWMA in the mix (`SCALE_FAST_WEIGHT`); the slow one gets `1 - scale_fast_weight`. */
  scale_fast_weight: number;
  /** `sigma_floor = 1.4826 * MAD * mad_multiplier` (`MAD_MULTIPLIER`). */
  mad_multiplier: number;
  /** Number of most recent x values in the trailing MAD window. */
  mad_window: number;
  /** `z = clamp(x / scale, -winsor_limit, +winsor_limit)` (`WINSOR_LIMIT`). */
  winsor_limit: number;
  /** z is null until this many observations have been seen before the current one. */
  warmup_samples: number;
  /** ...and until this much event time has passed since the first observation. */
  warmup_sec: number;
  /** An event-time gap larger than this between consecutive observations freezes z. */
  gap_sec: number;
  /** After a gap, this many observations (the one after the gap included) emit null z. */
  rewarm_samples: number;
}

export interface FusionWeights {
  ofi: number;
  cvd: number;
  /** Optional gate override for this slice. */
  gate?: number;
}

export type SliceDimension = 'scenario_2x2' | 'regime' | 'vol_bucket' | 'session';

export interface FusionParams {
  /** Sample tick period, ms of event time; samples sit at multiples of it. */
  sample_ms: number;
  /** Trailing window of the OFI and CVD flows, ms; a multiple of `sample_ms`. */
  window_ms: number;
  /** Default weights. */
  weights: FusionWeights;
  /** `|score| < gate` => score = 0. */
  gate: number;
  /** Weight overrides keyed by a slice value (e.g. `Active`, `London`, `A_H`). */
  slice_overrides: Record<string, FusionWeights>;
  /** Order in which slice dimensions are looked up in `slice_overrides`; first match wins. */
  slice_precedence: readonly SliceDimension[];
  /** Robust scale parameters for the component flows and for the score (sample-tick observations). */
  robust: RobustParams;
  /** Initial CVD direction (+1 or -1). */
  cvd_dir: number;
  /** Enable the causal auto-flip of the CVD direction. */
  cvd_auto_flip: boolean;
  /** Label horizon H in ms: a label for sample t may only be used once `t + H <= now`. */
  horizon_ms: number;
  /** Number of most recent resolved labels used by the flip rule. */
  flip_window: number;
  /** Flip when `dir * spearman(z_cvd, y) < -flip_threshold`. */
  flip_threshold: number;
  /** No flip decision with fewer resolved labels than this in the window. */
  flip_min_samples: number;
  /** Minimum event time between two flips, ms. */
  flip_cooldown_ms: number;
  /**
   * Only labels of samples on every `flip_label_stride`-th sample tick enter the
   * flip window. Labels of 1 s samples over a 60 s horizon overlap almost
   * entirely; a stride of horizon / sample_ms makes them non-overlapping, so the
   * window's rank correlation is not dominated by a handful of independent moves.
   */
  flip_label_stride: number;
  /** How far back (ms of sample time) labels can still be matched to their sample. */
  label_lookback_ms: number;
}

export interface SessionRule {
  /** Session name emitted when this rule matches. */
  name: string;
  /** IANA time zone, e.g. `Europe/London`. */
  tz: string;
  /** Local start time `HH:MM`, inclusive. */
  start: string;
  /** Local end time `HH:MM`, exclusive; `end < start` wraps past midnight. */
  end: string;
}

export interface SliceParams {
  /** Ordered session rules; the first whose local window contains the instant wins. */
  sessions: readonly SessionRule[];
  /** Session for instants no rule matches (this makes the sessions a partition). */
  session_fallback: string;
  /** Trailing window for the trade rate, seconds (`WIN_SECS`). */
  win_secs: number;
  /** Active when trades/s >= active_tps (`ACTIVE_TPS`). */
  active_tps: number;
  /** Per-symbol `active_tps` overrides. */
  active_tps_by_symbol: Record<string, number>;
  /** Grid of the mid log-returns, ms. */
  vol_grid_ms: number;
  /** Number of most recent grid returns in the realized volatility. */
  vol_window_sec: number;
  /** Minimum number of returns before a volatility value exists. */
  vol_min_returns: number;
  /** Number of most recent volatility values in the trailing quantile history. */
  vol_history_sec: number;
  /** Minimum history length before vol buckets are emitted (null before). */
  vol_min_history: number;
  /** High when vol > the `vol_split` quantile of the history (`VOL_SPLIT`). */
  vol_split: number;
  /** A silence longer than this (s) is not filled with zero returns; the grid restarts after it. */
  vol_gap_sec: number;
  /** Fee tier per symbol. */
  fee_tiers: Record<string, 'TL' | 'TM' | 'TH'>;
  /** Fee tier for symbols not in `fee_tiers`. */
  fee_tier_default: 'TL' | 'TM' | 'TH';
}

export interface EventParams {
  /** Event grid (divergence / pivot evaluation), ms. */
  grid_ms: number;
  /** Number of previous grid points a new high/low is measured against. */
  div_window: number;
  /** Minimum event time between two divergence events of the same kind, ms. */
  div_cooldown_ms: number;
  /** Pivot half-width k in grid points: a pivot is confirmed k points after it. */
  pivot_k: number;
  /** |z| >= this is an anomaly (normally = robust.winsor_limit). */
  anomaly_z: number;
  /** Minimum event time between two z anomalies of the same source, ms. */
  anomaly_cooldown_ms: number;
  /** An event-time silence longer than this is a `gap` event. */
  gap_sec: number;
}

export interface CalcParams {
  sequencer: SequencerParams;
  ofi: OfiParams;
  cvd: CvdParams;
  robust: RobustParams;
  fusion: FusionParams;
  slices: SliceParams;
  events: EventParams;
}

const ROBUST_DEFAULTS: RobustParams = {
  half_life_sec: 600,
  fast_half_life_sec: 60,
  scale_fast_weight: 0.2,
  mad_multiplier: 1.8,
  mad_window: 300,
  winsor_limit: 8,
  warmup_samples: 50,
  warmup_sec: 30,
  gap_sec: 30,
  rewarm_samples: 20,
};

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Seed defaults, deeply frozen; copy with `cloneCalcParams` before changing. */
export const DEFAULT_CALC_PARAMS: DeepReadonly<CalcParams> = deepFreeze({
  sequencer: {
    watermark_ms: 500,
    skew_ms: null,
    skew_samples: 500,
    skew_quantile: 0.01,
    skew_max_wait_ms: 10_000,
    dedup_ids: 200_000,
  },
  ofi: { depth_levels: 5, level_weights: null },
  cvd: { tick_rule: true },
  robust: { ...ROBUST_DEFAULTS },
  fusion: {
    sample_ms: 1000,
    window_ms: 10_000,
    weights: { ofi: 0.6, cvd: 0.4 },
    gate: 0,
    slice_overrides: { Active: { ofi: 0.7, cvd: 0.3 } },
    slice_precedence: ['scenario_2x2', 'regime', 'vol_bucket', 'session'],
    robust: { ...ROBUST_DEFAULTS, warmup_samples: 30 },
    cvd_dir: 1,
    cvd_auto_flip: true,
    horizon_ms: 60_000,
    flip_window: 300,
    flip_threshold: 0.05,
    flip_min_samples: 100,
    flip_cooldown_ms: 600_000,
    flip_label_stride: 1,
    label_lookback_ms: 600_000,
  },
  slices: {
    sessions: [
      { name: 'London', tz: 'Europe/London', start: '08:00', end: '13:00' },
      { name: 'NY', tz: 'America/New_York', start: '08:00', end: '17:00' },
    ],
    session_fallback: 'Tokyo',
    win_secs: 300,
    active_tps: 2.0,
    active_tps_by_symbol: {},
    vol_grid_ms: 1000,
    vol_window_sec: 60,
    vol_min_returns: 30,
    vol_history_sec: 3600,
    vol_min_history: 60,
    vol_split: 0.5,
    vol_gap_sec: 30,
    fee_tiers: {},
    fee_tier_default: 'TM',
  },
  events: {
    grid_ms: 1000,
    div_window: 60,
    div_cooldown_ms: 30_000,
    pivot_k: 30,
    anomaly_z: 8,
    anomaly_cooldown_ms: 5000,
    gap_sec: 30,
  },
} satisfies CalcParams);

/** A deep, mutable copy of `DEFAULT_CALC_PARAMS` (or of `p`). */
export function cloneCalcParams(p: DeepReadonly<CalcParams> = DEFAULT_CALC_PARAMS): CalcParams {
  return structuredClone(p) as CalcParams;
}

// ---------------------------------------------------------------- validation

/** Throw a UsageError unless `v` is a finite number in [min, max] (and an integer if asked). */
export function checkNumber(where: string, v: unknown, min: number, max = Infinity, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    const what = `${integer ? 'an integer' : 'a number'} >= ${min}${max !== Infinity ? ` and <= ${max}` : ''}`;
    throw new UsageError(`${where}: ${JSON.stringify(v)} is not valid (expected ${what})`);
  }
  return v;
}

/** Like checkNumber with an exclusive lower bound. */
export function checkPositive(where: string, v: unknown, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max) {
    throw new UsageError(
      `${where}: ${JSON.stringify(v)} is not valid (expected a number > 0${max !== Infinity ? ` and <= ${max}` : ''})`,
    );
  }
  return v;
}

export function checkRobustParams(p: RobustParams, where = 'robust'): void {
  checkPositive(`${where}.half_life_sec`, p.half_life_sec);
  checkPositive(`${where}.fast_half_life_sec`, p.fast_half_life_sec);
  checkNumber(`${where}.scale_fast_weight`, p.scale_fast_weight, 0, 1);
  checkNumber(`${where}.mad_multiplier`, p.mad_multiplier, 0);
  checkNumber(`${where}.mad_window`, p.mad_window, 1, 1_000_000, true);
  checkPositive(`${where}.winsor_limit`, p.winsor_limit);
  checkNumber(`${where}.warmup_samples`, p.warmup_samples, 0, Number.MAX_SAFE_INTEGER, true);
  checkNumber(`${where}.warmup_sec`, p.warmup_sec, 0);
  checkPositive(`${where}.gap_sec`, p.gap_sec);
  checkNumber(`${where}.rewarm_samples`, p.rewarm_samples, 1, Number.MAX_SAFE_INTEGER, true);
}
