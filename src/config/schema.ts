/**
 * The config schema (ARCHITECTURE §8). Every key has the seed default, so a
 * partial file (or an overlay) is filled to the same canonical config; objects
 * are strict, so a misspelt key is an error rather than silently ignored.
 */
import { z } from 'zod';

const num = (min: number, max: number) => z.number().min(min).max(max);
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const SYMBOL = z.string().regex(/^[A-Z0-9][A-Z0-9_]{1,29}$/, 'a symbol such as BTCUSDT');
const HHMM = z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'a time HH:MM');
const FEE_TIER = z.enum(['TL', 'TM', 'TH']);
const WEIGHTS = z.strictObject({ ofi: num(-10, 10), cvd: num(-10, 10) });

function isZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const ConfigSchema = z.strictObject({
  version: z.string().min(1).max(64).default('v2.0-prod'),
  symbols: z.array(SYMBOL).min(1).default(['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'XRPUSDT', 'ADAUSDT', 'SOLUSDT']),
  run: z
    .strictObject({
      hours: num(0.001, 24 * 366)
        .nullable()
        .default(null),
    })
    .prefault({}),
  sequencer: z
    .strictObject({
      watermark_ms: int(0, 60_000).default(500),
      /** null = estimate the receive-minus-exchange clock skew causally from the first ticks. */
      skew_ms: num(-3_600_000, 3_600_000).nullable().default(null),
      skew_samples: int(1, 1_000_000).default(500),
      skew_quantile: num(0, 0.5).default(0.01),
      skew_max_wait_ms: int(0, 3_600_000).default(10_000),
      /** Recent (symbol, agg_trade_id) pairs remembered to drop repeated trades before the calculators. */
      dedup_ids: int(1, 100_000_000).default(200_000),
    })
    .prefault({}),
  recorder: z
    .strictObject({
      parquet_rotate_sec: int(1, 86_400).default(60),
      dedup_lru: int(1, 100_000_000).default(200_000),
      wss_ping_interval_sec: num(1, 3600).default(20),
      silence_watchdog_sec: num(1, 3600).default(60),
      proactive_reconnect_hours: num(0.01, 24).default(23.5),
      depth_levels: int(1, 100).default(20),
      write_retries: int(0, 100).default(3),
    })
    .prefault({}),
  ofi: z
    .strictObject({
      levels: int(1, 20).default(5),
      /** null = equal weights; otherwise exactly `levels` entries, normalised to sum 1. */
      level_weights: z.array(num(0, 1)).min(1).nullable().default([0.4, 0.25, 0.15, 0.1, 0.1]),
    })
    .refine((o) => o.level_weights === null || o.level_weights.length === o.levels, {
      message: 'level_weights must have exactly `levels` entries',
      path: ['level_weights'],
    })
    .prefault({}),
  cvd: z
    .strictObject({
      tick_rule: z.boolean().default(true),
      half_life_sec: num(1, 86_400).default(600),
      fast_half_life_sec: num(0.1, 86_400).default(60),
      scale_fast_weight: num(0, 1).default(0.2),
      mad_window: int(5, 100_000).default(300),
      mad_multiplier: num(0, 100).default(1.8),
      winsor_limit: num(0.5, 1000).default(8),
      warmup_samples: int(0, 1_000_000).default(50),
      warmup_sec: num(0, 86_400).default(30),
      gap_sec: num(0.1, 86_400).default(30),
      rewarm_samples: int(1, 1_000_000).default(20),
    })
    .prefault({}),
  fusion: z
    .strictObject({
      sample_ms: int(10, 3_600_000).default(1000),
      window_ms: int(100, 86_400_000).default(60_000),
      weights: WEIGHTS.default({ ofi: 0.6, cvd: 0.4 }),
      gate: num(0, 100).default(0),
      slice_overrides: z
        .record(z.string().regex(/^[A-Za-z_]+$/, 'a slice value such as Active or NY'), WEIGHTS)
        .default({ Active: { ofi: 0.7, cvd: 0.3 } }),
      slice_precedence: z
        .array(z.enum(['scenario_2x2', 'regime', 'vol_bucket', 'session']))
        .default(['scenario_2x2', 'regime', 'vol_bucket', 'session']),
      /** Warm-up (samples) of the robust scales of the sampled flows and of the score. */
      warmup_samples: int(0, 1_000_000).default(30),
      cvd_auto_flip: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Resolved labels (on the stride grid) in the trailing rank correlation. */
          window: int(10, 1_000_000).default(360),
          threshold: num(0, 1).default(0.1),
          min_samples: int(2, 1_000_000).default(120),
          cooldown_sec: num(0, 86_400 * 7).default(3600),
          /** Use the label of every label_stride-th sample only (60 = one per 60 s horizon: non-overlapping). */
          label_stride: int(1, 1_000_000).default(60),
        })
        .prefault({}),
    })
    .refine((f) => f.window_ms % f.sample_ms === 0, {
      message: 'window_ms must be a multiple of sample_ms',
      path: ['window_ms'],
    })
    .prefault({}),
  slices: z
    .strictObject({
      /** First matching rule wins; instants no rule matches get `session_fallback`, so every instant has exactly one session. */
      sessions: z
        .array(
          z.strictObject({
            name: z.enum(['Tokyo', 'London', 'NY']),
            tz: z.string().refine(isZone, 'an IANA time zone such as Europe/London'),
            from: HHMM,
            to: HHMM,
          }),
        )
        .default([
          { name: 'London', tz: 'Europe/London', from: '08:00', to: '13:00' },
          { name: 'NY', tz: 'America/New_York', from: '08:00', to: '17:00' },
        ]),
      session_fallback: z.enum(['Tokyo', 'London', 'NY']).default('Tokyo'),
      regime: z
        .strictObject({
          win_secs: num(1, 86_400).default(300),
          active_tps: num(0, 100_000).default(2.0),
          per_symbol: z.record(SYMBOL, num(0, 100_000)).default({}),
        })
        .prefault({}),
      vol: z
        .strictObject({
          grid_ms: int(10, 3_600_000).default(1000),
          window_sec: num(1, 86_400).default(60),
          min_returns: int(2, 1_000_000).default(30),
          history_sec: num(60, 86_400 * 30).default(3600),
          min_history: int(1, 1_000_000).default(60),
          vol_split: num(0.01, 0.99).default(0.5),
          gap_sec: num(0.1, 86_400).default(30),
        })
        .prefault({}),
      fee_tier: z
        .strictObject({ default: FEE_TIER.default('TM'), per_symbol: z.record(SYMBOL, FEE_TIER).default({}) })
        .prefault({}),
    })
    .prefault({}),
  events: z
    .strictObject({
      grid_ms: int(10, 3_600_000).default(1000),
      div_window: int(2, 100_000).default(60),
      div_cooldown_ms: int(0, 86_400_000).default(30_000),
      pivot_k: int(1, 10_000).default(30),
      anomaly_z: num(0.1, 1000).default(8),
      anomaly_cooldown_ms: int(0, 86_400_000).default(5000),
      gap_sec: num(0.1, 86_400).default(30),
    })
    .prefault({}),
  labels: z
    .strictObject({
      horizons_s: z.array(int(1, 86_400)).min(1).default([60]),
      merge_tol_ms: int(0, 600_000).default(1500),
    })
    .prefault({}),
  calibration: z
    .strictObject({
      train_sec: num(60, 86_400 * 30).default(7200),
      test_sec: num(60, 86_400 * 30).default(1800),
      ece_bins: int(2, 1000).default(10),
      /** A fold fits Platt only with at least this many resolved training labels ... */
      min_train: int(2, 10_000_000).default(50),
      /** ... and at least this many of each class. */
      min_train_per_class: int(1, 10_000_000).default(10),
    })
    .prefault({}),
  canary: z
    .strictObject({
      eval_every_sec: num(1, 86_400).default(60),
      auc_window_sec: num(60, 86_400).default(600),
      merge_window_sec: num(60, 86_400).default(300),
      auc_active_min: num(0, 1).default(0.58),
      ece_max: num(0, 1).default(0.1),
      merge_p99_max_ms: num(0, 600_000).default(2000),
      merge_tol_step_ms: int(1, 60_000).default(500),
      merge_tol_bounds_ms: z.tuple([int(0, 600_000), int(0, 600_000)]).default([500, 3000]),
      p1_rollback_min: num(1, 10_000).default(30),
      keep_fingerprints: int(1, 100).default(2),
      /**
       * `evidence` (default): gates decide on evidence that accounts for overlapping labels and repeated
       * looks (src/canary/README.md). `seed`: the seed's point-estimate rules, exactly as before.
       */
      gate_mode: z.enum(['evidence', 'seed']).default('evidence'),
      /** Evidence-mode gates (src/canary/gates.ts). */
      evidence: z
        .strictObject({
          /** One label per this many seconds enters the sequential tests (60 = one per 60 s horizon: non-overlapping). */
          label_stride_sec: num(1, 86_400).default(60),
          /** Trailing window of sample scores that ranks a label's score (percentile) for gate_auc. */
          rank_ref_sec: num(60, 86_400 * 7).default(7200),
          /** gate_auc: mean per-label AUC contribution over the stride labels resolved in this trailing window. */
          auc_window_sec: num(60, 86_400 * 7).default(3600),
          /** gate_auc needs this many stride labels in its window, else it is undefined. */
          auc_min_labels: int(1, 1_000_000).default(30),
          /** The CUSUM tests a drop of the per-label AUC contribution from auc_ok (healthy) to auc_dead. */
          auc_ok: num(0, 1).default(0.7),
          auc_dead: num(0, 1).default(0.5),
          /** Open when that CUSUM exceeds this (sets the false-alarm rate; README) ... */
          cusum_open: num(0.1, 1000).default(10),
          /** ... and gate_auc is below this. */
          auc_confirm_max: num(0, 1).default(0.62),
          /** Close when the recovery CUSUM (auc_dead -> auc_ok) exceeds this and gate_auc is at least auc_close_min. */
          cusum_close: num(0.1, 1000).default(10),
          auc_close_min: num(0, 1).default(0.65),
          /** Calibration gate: ECE over this trailing window of resolved 1 s labels, minus its noise floor. */
          ece_window_sec: num(60, 86_400 * 7).default(14_400),
          ece_min_samples: int(1, 100_000_000).default(3600),
          /** Label matching alert: share of labels resolved within the tolerance over this trailing window ... */
          merge_window_sec: num(60, 86_400 * 7).default(3600),
          /** ... below this for open_looks looks raises a P2 alert (no action: the label definition stays fixed). */
          merge_match_min: num(0, 1).default(0.8),
          /** Calibration and merge gates: consecutive failing looks before an incident opens, passing looks before it closes. */
          open_looks: int(1, 100_000).default(30),
          close_looks: int(1, 100_000).default(30),
        })
        .prefault({}),
      /** Verdict (ramp DoD) checks: thresholds and minimum samples. */
      verdict: z
        .strictObject({
          brier_skill_min: num(-10, 1).default(0.05),
          session_auc_min: num(0, 1).default(0.6),
          merge_p99_min_samples: int(1, 100_000_000).default(100),
          /** AUC figures need this many samples of each class. */
          auc_min_per_class: int(1, 100_000_000).default(30),
          /** Block length (s) of the moving-block bootstrap CIs of ECE, Brier skill and merge p99. */
          bootstrap_block_sec: num(1, 86_400).default(600),
          bootstrap_reps: int(10, 100_000).default(200),
        })
        .prefault({}),
    })
    .prefault({}),
  dq: z
    .strictObject({
      empty_bucket_max: num(0, 1).default(0.001),
      dup_rate_max: num(0, 1).default(0.005),
      latency_p99_max_ms: num(0, 600_000).default(120),
      latency_p50_max_ms: num(0, 600_000).default(60),
    })
    .prefault({}),
  /** The seed's 1.3.1 harvest acceptance (src/dq/harvest.ts, `flowlab dq --run`). */
  harvest: z
    .strictObject({
      /** Per symbol, each scenario_2x2 cell needs this many trade rows ... */
      scenario_min_rows: int(0, 1_000_000_000).default(2000),
      /** ... or this share of the symbol's labelled trade rows (whichever is easier to meet). */
      scenario_min_share: num(0, 1).default(0.05),
      /** Per symbol x session, at least `session_min_scenarios` cells need this many trade rows. */
      session_min_rows: int(0, 1_000_000_000).default(1000),
      session_min_scenarios: int(0, 4).default(2),
      /** Events (divergence, pivot, anomaly) needed per `events_per_hours` h x `events_per_symbols` symbols. */
      events_min: num(0, 1e12).default(1000),
      events_per_hours: num(0.001, 24 * 366).default(72),
      events_per_symbols: int(1, 10_000).default(6),
      /** Fewer emitted (non-null) z_raw rows than this: winsor_separation is insufficient. */
      winsor_min_samples: int(1, 1_000_000_000).default(1000),
      /** The tails' quantiles reported: q and 1 - q of z_raw and z_cvd. */
      winsor_tail_q: num(0, 0.5).default(0.001),
      /** Share of emitted cvd rows carrying scale, sigma_floor and floor_used. */
      completeness_min: num(0, 1).default(1),
    })
    .prefault({}),
  fee_tiers: z.record(FEE_TIER, z.strictObject({ maker_bps: num(-100, 1000), taker_bps: num(-100, 1000) })).default({
    TL: { maker_bps: 0, taker_bps: 2 },
    TM: { maker_bps: 1, taker_bps: 4 },
    TH: { maker_bps: 2, taker_bps: 7.5 },
  }),
});

export type FlowlabConfig = z.output<typeof ConfigSchema>;

/**
 * Seed environment variables and the keys they override. Values are parsed as
 * numbers unless the key is a string / list (SYMBOLS is comma-separated).
 */
export const ENV_OVERRIDES: Readonly<Record<string, readonly string[]>> = {
  SYMBOLS: ['symbols'],
  RUN_HOURS: ['run', 'hours'],
  HALF_LIFE_SEC: ['cvd', 'half_life_sec'],
  SCALE_FAST_WEIGHT: ['cvd', 'scale_fast_weight'],
  MAD_MULTIPLIER: ['cvd', 'mad_multiplier'],
  WINSOR_LIMIT: ['cvd', 'winsor_limit'],
  WIN_SECS: ['slices', 'regime', 'win_secs'],
  ACTIVE_TPS: ['slices', 'regime', 'active_tps'],
  VOL_SPLIT: ['slices', 'vol', 'vol_split'],
  PARQUET_ROTATE_SEC: ['recorder', 'parquet_rotate_sec'],
  DEDUP_LRU: ['recorder', 'dedup_lru'],
  WSS_PING_INTERVAL: ['recorder', 'wss_ping_interval_sec'],
  WATERMARK_MS: ['sequencer', 'watermark_ms'],
  MERGE_TOL_MS: ['labels', 'merge_tol_ms'],
  FUSION_SAMPLE_MS: ['fusion', 'sample_ms'],
  FUSION_GATE: ['fusion', 'gate'],
  W_OFI: ['fusion', 'weights', 'ofi'],
  W_CVD: ['fusion', 'weights', 'cvd'],
};
