/**
 * Config (YAML keys, ARCHITECTURE §8) -> calculator parameters (src/calc).
 * The one place the two vocabularies meet; every calc parameter comes from a
 * config key, so the config fingerprint covers everything that shapes output.
 */
import type { FlowlabConfig } from '../config/schema.js';
import { cloneCalcParams, type CalcParams, type RobustParams } from '../calc/params.js';

export function calcParamsFromConfig(c: FlowlabConfig): CalcParams {
  const p = cloneCalcParams();
  p.sequencer = {
    watermark_ms: c.sequencer.watermark_ms,
    skew_ms: c.sequencer.skew_ms,
    skew_samples: c.sequencer.skew_samples,
    skew_quantile: c.sequencer.skew_quantile,
    skew_max_wait_ms: c.sequencer.skew_max_wait_ms,
    dedup_ids: c.sequencer.dedup_ids,
  };
  p.ofi = { depth_levels: c.ofi.levels, level_weights: c.ofi.level_weights ? [...c.ofi.level_weights] : null };
  p.cvd = { tick_rule: c.cvd.tick_rule };
  const robust: RobustParams = {
    half_life_sec: c.cvd.half_life_sec,
    fast_half_life_sec: c.cvd.fast_half_life_sec,
    scale_fast_weight: c.cvd.scale_fast_weight,
    mad_multiplier: c.cvd.mad_multiplier,
    mad_window: c.cvd.mad_window,
    winsor_limit: c.cvd.winsor_limit,
    warmup_samples: c.cvd.warmup_samples,
    warmup_sec: c.cvd.warmup_sec,
    gap_sec: c.cvd.gap_sec,
    rewarm_samples: c.cvd.rewarm_samples,
  };
  p.robust = robust;
  const flip = c.fusion.cvd_auto_flip;
  p.fusion = {
    ...p.fusion,
    sample_ms: c.fusion.sample_ms,
    window_ms: c.fusion.window_ms,
    weights: { ...c.fusion.weights },
    gate: c.fusion.gate,
    slice_overrides: structuredClone(c.fusion.slice_overrides),
    slice_precedence: [...c.fusion.slice_precedence],
    robust: { ...robust, warmup_samples: c.fusion.warmup_samples },
    cvd_auto_flip: flip.enabled,
    horizon_ms: c.labels.horizons_s[0] * 1000,
    flip_window: flip.window,
    flip_threshold: flip.threshold,
    flip_min_samples: flip.min_samples,
    flip_cooldown_ms: flip.cooldown_sec * 1000,
    flip_label_stride: flip.label_stride,
  };
  p.slices = {
    sessions: c.slices.sessions.map((r) => ({ name: r.name, tz: r.tz, start: r.from, end: r.to })),
    session_fallback: c.slices.session_fallback,
    win_secs: c.slices.regime.win_secs,
    active_tps: c.slices.regime.active_tps,
    active_tps_by_symbol: { ...c.slices.regime.per_symbol },
    vol_grid_ms: c.slices.vol.grid_ms,
    vol_window_sec: c.slices.vol.window_sec,
    vol_min_returns: c.slices.vol.min_returns,
    vol_history_sec: c.slices.vol.history_sec,
    vol_min_history: c.slices.vol.min_history,
    vol_split: c.slices.vol.vol_split,
    vol_gap_sec: c.slices.vol.gap_sec,
    fee_tiers: { ...c.slices.fee_tier.per_symbol },
    fee_tier_default: c.slices.fee_tier.default,
  };
  p.events = { ...c.events };
  return p;
}
