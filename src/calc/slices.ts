/**
 * Causal slice labels for any event time t (ARCHITECTURE §4): session, regime,
 * vol_bucket, scenario_2x2, fee_tier, plus volatility tertile buckets for reports.
 * Every label at t uses only events with ts <= t.
 *
 * - session: see session.ts (IANA zones, DST, first matching rule else fallback).
 * - regime: rate = (#trades with ts in (t - win_secs, t]) / D, with
 *   D = clamp(t - t_start, 1 s, win_secs) seconds and t_start = the first event
 *   fed to the tracker (coverage-adjusted, so the first win_secs of a replay are
 *   not biased towards Quiet). Active iff rate >= active_tps (per-symbol
 *   override in active_tps_by_symbol). Ring buffer of trade times: O(1) amortised.
 * - vol: the mid is sampled on a grid of vol_grid_ms (default 1 s): the value at
 *   grid point g is the last mid with ts <= g, and g is finalised once an event
 *   (or a label query) with time > g is seen. r_g = ln(mid_g / mid_{g-1}).
 *   Realized vol = sqrt(mean of r²) over the last vol_window_sec grid returns
 *   (zero-mean convention, standard for high-frequency returns); it exists once
 *   vol_min_returns returns are in. Grid points more than vol_gap_sec after the
 *   last mid are skipped (a silence is not filled with zero returns) and the
 *   return across the silence is not taken.
 * - vol_bucket: each new vol value is appended to a history of the last
 *   vol_history_sec values (count of grid points); vol_bucket = High iff the
 *   current vol > the vol_split quantile (type 7) of that history (the current
 *   value included), else Low. NULL (code -1) until vol_min_history values exist:
 *   no guessed bucket during warm-up.
 * - vol_tertile: Q1 iff vol <= q(1/3), Q3+ iff vol > q(2/3), else Median, same history; -1 during warm-up.
 * - scenario_2x2: `{A|Q}_{H|L}` from regime and vol_bucket; -1 when vol_bucket is null.
 * - fee_tier: fee_tiers[symbol] ?? fee_tier_default (constant per tracker).
 *
 * Contract: feed events in event-time order (onTrade, onMid) and call
 * label(t) with t >= the last fed event time (throws otherwise: a label at an
 * earlier time could see later events). After label(t) the codes are fields.
 *
 * Cost: label O(#session rules) + amortised O(1); each grid point O(vol_window)
 * + O(vol_history) memmove (once per second, independent of the tick rate).
 *
 * Example:
 *   const s = new SliceTracker(DEFAULT_CALC_PARAMS.slices, 'BTCUSDT');
 *   s.onTrade(t); s.onMid(t, 61000.5); s.label(t);
 *   s.regime_name();   // 'Quiet' / 'Active'
 */
import type { SliceParams } from './params.js';
import { checkNumber, checkPositive } from './params.js';
import { SessionClassifier } from './session.js';
import { SortedWindow } from './sorted-window.js';
import { UsageError } from '../core/errors.js';

export const REGIME_NAMES = ['Quiet', 'Active'] as const;
export const VOL_BUCKET_NAMES = ['Low', 'High'] as const;
/** scenario code = regime * 2 + vol_bucket. */
export const SCENARIO_NAMES = ['Q_L', 'Q_H', 'A_L', 'A_H'] as const;
export const VOL_TERTILE_NAMES = ['Q1', 'Median', 'Q3+'] as const;
export const FEE_TIERS = ['TL', 'TM', 'TH'] as const;
/** Code for "unknown" (warm-up); written as NULL. */
export const SLICE_NULL = -1;

/** Trades/s over a trailing event-time window (coverage-adjusted, see file doc). */
export class RegimeTracker {
  private ring = new Float64Array(1024);
  private head = 0;
  private n = 0;
  private tStart = NaN;
  readonly winMs: number;
  readonly activeTps: number;

  constructor(winSecs: number, activeTps: number) {
    this.winMs = winSecs * 1000;
    this.activeTps = activeTps;
  }

  /** Mark the start of the stream (first event of any kind). */
  start(t: number): void {
    if (Number.isNaN(this.tStart)) this.tStart = t;
  }

  onTrade(t: number): void {
    this.start(t);
    if (this.n === this.ring.length) {
      const next = new Float64Array(this.ring.length * 2);
      for (let i = 0; i < this.n; i++) next[i] = this.ring[(this.head + i) % this.ring.length];
      this.ring = next;
      this.head = 0;
    }
    this.ring[(this.head + this.n) % this.ring.length] = t;
    this.n++;
  }

  /** trades/s at t (NaN before any event). */
  rate(t: number): number {
    if (Number.isNaN(this.tStart)) return NaN;
    const lo = t - this.winMs;
    const cap = this.ring.length;
    while (this.n > 0 && this.ring[this.head] <= lo) {
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
      this.n--;
    }
    let d = t - this.tStart;
    if (d > this.winMs) d = this.winMs;
    if (d < 1000) d = 1000;
    return this.n / (d / 1000);
  }

  reset(): void {
    this.head = 0;
    this.n = 0;
    this.tStart = NaN;
  }
}

/** Realized volatility of grid-sampled mid log-returns and its trailing quantiles. */
export class VolTracker {
  private readonly gridMs: number;
  private readonly gapMs: number;
  private readonly minReturns: number;
  private readonly minHistory: number;
  private readonly split: number;
  private readonly rets: Float64Array;
  private rHead = 0;
  private rN = 0;
  readonly history: SortedWindow;

  private lastMid = NaN;
  private lastMidTs = NaN;
  private gridNext = NaN;
  private prevGridMid = NaN;

  /** Latest realized vol (per grid step, log-return units), NaN until it exists. */
  vol = NaN;
  private bucketCode = SLICE_NULL;
  private tertileCode = SLICE_NULL;
  /** Grid points finalised / skipped (silence). */
  grid_points = 0;
  grid_skipped = 0;

  constructor(p: SliceParams) {
    this.gridMs = checkPositive('slices.vol_grid_ms', p.vol_grid_ms);
    const winN = Math.round((checkPositive('slices.vol_window_sec', p.vol_window_sec) * 1000) / this.gridMs);
    const histN = Math.round((checkPositive('slices.vol_history_sec', p.vol_history_sec) * 1000) / this.gridMs);
    if (winN < 1 || histN < 1)
      throw new UsageError(`slices.vol_window_sec / vol_history_sec must each cover at least one vol_grid_ms`);
    this.minReturns = checkNumber('slices.vol_min_returns', p.vol_min_returns, 1, winN, true);
    this.minHistory = checkNumber('slices.vol_min_history', p.vol_min_history, 1, histN, true);
    this.split = checkNumber('slices.vol_split', p.vol_split, 0, 1);
    this.gapMs = checkPositive('slices.vol_gap_sec', p.vol_gap_sec) * 1000;
    this.rets = new Float64Array(winN);
    this.history = new SortedWindow(histN);
  }

  onMid(t: number, mid: number): void {
    if (!(Number.isFinite(mid) && mid > 0)) return;
    if (Number.isNaN(this.lastMid)) {
      this.gridNext = Math.ceil(t / this.gridMs) * this.gridMs;
    } else {
      this.finalize(t);
    }
    this.lastMid = mid;
    this.lastMidTs = t;
  }

  /** Finalise every grid point g < t. */
  finalize(t: number): void {
    if (Number.isNaN(this.lastMid)) return;
    while (this.gridNext < t) {
      const g = this.gridNext;
      if (g - this.lastMidTs > this.gapMs) {
        // silence: skip the grid points until the data resumes
        const resume = Math.ceil(t / this.gridMs) * this.gridMs;
        this.grid_skipped += (resume - g) / this.gridMs;
        this.gridNext = resume;
        this.prevGridMid = NaN;
        break;
      }
      const m = this.lastMid;
      if (!Number.isNaN(this.prevGridMid)) this.addReturn(Math.log(m / this.prevGridMid));
      this.prevGridMid = m;
      this.gridNext = g + this.gridMs;
      this.grid_points++;
    }
  }

  /** Bucket code of the current vol: 1 High, 0 Low, -1 unknown. */
  bucket(): number {
    return this.bucketCode;
  }

  /** Tertile code: 0 Q1, 1 Median, 2 Q3+, -1 unknown. */
  tertile(): number {
    return this.tertileCode;
  }

  /** bucket() and tertile() change only when vol and history do: computed here, once per grid point. */
  private classify(): void {
    if (Number.isNaN(this.vol) || this.history.size < this.minHistory) {
      this.bucketCode = SLICE_NULL;
      this.tertileCode = SLICE_NULL;
      return;
    }
    this.bucketCode = this.vol > this.history.quantile(this.split) ? 1 : 0;
    this.tertileCode = this.vol <= this.history.quantile(1 / 3) ? 0 : this.vol > this.history.quantile(2 / 3) ? 2 : 1;
  }

  /** The vol_split quantile of the history (NaN when empty). */
  splitValue(): number {
    return this.history.quantile(this.split);
  }

  reset(): void {
    this.rHead = 0;
    this.rN = 0;
    this.history.clear();
    this.lastMid = NaN;
    this.lastMidTs = NaN;
    this.gridNext = NaN;
    this.prevGridMid = NaN;
    this.vol = NaN;
    this.bucketCode = SLICE_NULL;
    this.tertileCode = SLICE_NULL;
    this.grid_points = 0;
    this.grid_skipped = 0;
  }

  private addReturn(r: number): void {
    const cap = this.rets.length;
    if (this.rN < cap) {
      this.rets[(this.rHead + this.rN) % cap] = r;
      this.rN++;
    } else {
      this.rets[this.rHead] = r;
      this.rHead = this.rHead + 1 === cap ? 0 : this.rHead + 1;
    }
    if (this.rN < this.minReturns) return;
    // exact re-sum, oldest first (once per grid point, so O(window) per second): the ring from
    // its head to the end, then from 0 (no modulo per element; the same order of additions)
    let s = 0;
    const rets = this.rets;
    const end = this.rHead + this.rN;
    const stop1 = end < cap ? end : cap;
    for (let i = this.rHead; i < stop1; i++) s += rets[i] * rets[i];
    for (let i = 0, stop2 = end - cap; i < stop2; i++) s += rets[i] * rets[i];
    this.vol = Math.sqrt(s / this.rN);
    this.history.push(this.vol);
    this.classify();
  }
}

export class SliceTracker {
  readonly symbol: string;
  readonly sessions: SessionClassifier;
  readonly regimeTracker: RegimeTracker;
  readonly volTracker: VolTracker;
  /** Fee tier name for this symbol. */
  readonly fee_tier: 'TL' | 'TM' | 'TH';
  private lastFed = -Infinity;

  // outputs of the last label(t)
  session = 0;
  regime = 0;
  vol_bucket = SLICE_NULL;
  scenario_2x2 = SLICE_NULL;
  vol_tertile = SLICE_NULL;
  trade_rate = NaN;

  constructor(p: SliceParams, symbol: string) {
    this.symbol = symbol;
    this.sessions = new SessionClassifier(p.sessions, p.session_fallback);
    checkPositive('slices.win_secs', p.win_secs);
    const override = p.active_tps_by_symbol?.[symbol];
    const tps =
      override !== undefined
        ? checkNumber(`slices.active_tps_by_symbol.${symbol}`, override, 0)
        : checkNumber('slices.active_tps', p.active_tps, 0);
    this.regimeTracker = new RegimeTracker(p.win_secs, tps);
    this.volTracker = new VolTracker(p);
    const tier = p.fee_tiers?.[symbol] ?? p.fee_tier_default;
    if (!(FEE_TIERS as readonly string[]).includes(tier)) {
      throw new UsageError(
        `slices.fee_tiers.${symbol}: ${JSON.stringify(tier)} is not valid (expected one of ${FEE_TIERS.join(', ')})`,
      );
    }
    this.fee_tier = tier;
  }

  onTrade(t: number): void {
    this.fed(t);
    this.regimeTracker.onTrade(t);
  }

  onMid(t: number, mid: number): void {
    this.fed(t);
    this.regimeTracker.start(t);
    this.volTracker.onMid(t, mid);
  }

  /** Compute every label at t (t >= last fed event time). */
  label(t: number): void {
    if (t < this.lastFed) {
      throw new RangeError(
        `SliceTracker.label(${t}) asked after an event at ${this.lastFed} was fed: labels must be causal`,
      );
    }
    this.session = this.sessions.code_at(t);
    const rate = this.regimeTracker.rate(t);
    this.trade_rate = rate;
    this.regime = rate >= this.regimeTracker.activeTps ? 1 : 0;
    this.volTracker.finalize(t);
    const vb = this.volTracker.bucket();
    this.vol_bucket = vb;
    this.scenario_2x2 = vb === SLICE_NULL ? SLICE_NULL : this.regime * 2 + vb;
    this.vol_tertile = this.volTracker.tertile();
  }

  session_name(): string {
    return this.sessions.names[this.session];
  }
  regime_name(): string {
    return REGIME_NAMES[this.regime];
  }
  vol_bucket_name(): string | null {
    return this.vol_bucket === SLICE_NULL ? null : VOL_BUCKET_NAMES[this.vol_bucket];
  }
  scenario_name(): string | null {
    return this.scenario_2x2 === SLICE_NULL ? null : SCENARIO_NAMES[this.scenario_2x2];
  }
  vol_tertile_name(): string | null {
    return this.vol_tertile === SLICE_NULL ? null : VOL_TERTILE_NAMES[this.vol_tertile];
  }

  reset(): void {
    this.regimeTracker.reset();
    this.volTracker.reset();
    this.lastFed = -Infinity;
    this.session = 0;
    this.regime = 0;
    this.vol_bucket = SLICE_NULL;
    this.scenario_2x2 = SLICE_NULL;
    this.vol_tertile = SLICE_NULL;
    this.trade_rate = NaN;
  }

  private fed(t: number): void {
    if (t > this.lastFed) this.lastFed = t;
  }
}
