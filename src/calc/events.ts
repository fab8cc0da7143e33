/**
 * Event detection, one detector per symbol: rows (ts_ms, symbol, event_type,
 * meta_json) for the `events` derived table (ARCHITECTURE §3).
 *
 * Grid: mid and CVD are sampled at multiples of `grid_ms` (value at g = last
 * value with ts <= g; g is finalised when an input with time > g arrives), as in
 * fusion. Grid points more than `gap_sec` after the last input are skipped and the
 * grid history restarts after the silence. Divergence and pivot need a full,
 * contiguous history.
 *
 * - divergence (at grid g, vs the previous `div_window` grid points, g excluded):
 *     price new high (mid_g > max prior mid) and CVD not (cvd_g <= max prior cvd) => bearish, leader price
 *     price new low  (mid_g < min prior mid) and CVD not (cvd_g >= min prior cvd) => bullish, leader price
 *     CVD new high and price not                                                 => bullish, leader cvd
 *     CVD new low  and price not                                                 => bearish, leader cvd
 *   Each (kind, leader) pair has its own cooldown `div_cooldown_ms`.
 *   meta: {cvd, kind, leader, prior_cvd_max|min, prior_mid_max|min, mid, window}.
 * - pivot (fractal, k = pivot_k grid points): the mid at c = g - k is a swing high
 *   when it is > every mid in [g-2k, c) and >= every mid in (c, g] (a low mirrors
 *   it); strict on the left only, so a plateau yields one pivot. Emitted at g (the
 *   confirmation time, causal); meta: {kind, k, mid, pivot_ts}.
 * - anomaly: (a) |z| >= anomaly_z for a z stream fed with onZ (per-source cooldown
 *   `anomaly_cooldown_ms`; suppressed ones are counted); meta {source, z};
 *   (b) a quote that is crossed (bid > ask) or locked (bid == ask), emitted when the
 *   book ENTERS that state (not on every quote while it stays); meta {ask, bid, reason}.
 * - cvd_flip: forwarded from fusion (onFlip); meta {dir, n, rho}.
 * - gap: an input more than gap_sec after the previous one; meta {from_ts, gap_ms}.
 *
 * meta_json is deterministic: keys sorted, integers exact, other numbers rounded
 * to 12 significant digits and printed in JavaScript's shortest round-trip form,
 * non-finite => null.
 * Rows come out in non-decreasing ts when inputs are fed in event-time order.
 *
 * Cost: O(1) per input; O(div_window + pivot_k) per grid point.
 *
 * Example:
 *   const d = new EventDetector(DEFAULT_CALC_PARAMS.events, 'BTCUSDT', { event: (ts, sym, type, meta) => {} });
 *   d.onQuote(t, 100.02, 100.01);   // crossed => anomaly {"ask":100.01,"bid":100.02,"reason":"crossed"}
 */
import type { EventParams } from './params.js';
import { checkNumber, checkPositive } from './params.js';

export type EventType = 'divergence' | 'pivot' | 'anomaly' | 'cvd_flip' | 'gap';

export interface EventSink {
  event(ts: number, symbol: string, event_type: EventType, meta_json: string): void;
}

/**
 * Format a number for meta_json: integers (e.g. epoch ms) exactly; other numbers
 * rounded to 12 significant digits, shortest round-trip form; null if non-finite; no -0.
 */
export function fmtNum(x: number): string {
  if (!Number.isFinite(x)) return 'null';
  if (Number.isSafeInteger(x)) return String(x === 0 ? 0 : x);
  const r = Number(x.toPrecision(12));
  return String(r === 0 ? 0 : r);
}

/** Deterministic JSON of a flat record: sorted keys, fmtNum numbers. */
export function metaJson(meta: Readonly<Record<string, number | string | boolean | null>>): string {
  const keys = Object.keys(meta).sort();
  const parts: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const v = meta[keys[i]];
    const value = typeof v === 'number' ? fmtNum(v) : v === null ? 'null' : JSON.stringify(v);
    parts.push(`${JSON.stringify(keys[i])}:${value}`);
  }
  // join builds one flat string; `+=` would keep a rope of ~30 pieces per event alive until the row is written
  return `{${parts.join(',')}}`;
}

const DIV_KEYS = ['bearish:price', 'bullish:price', 'bullish:cvd', 'bearish:cvd'] as const;

export class EventDetector {
  private readonly gridMs: number;
  private readonly divN: number;
  private readonly divCooldown: number;
  private readonly k: number;
  private readonly anomZ: number;
  private readonly anomCooldown: number;
  private readonly gapMs: number;
  private readonly cap: number;
  private readonly gMid: Float64Array;
  private readonly gCvd: Float64Array;
  private gHead = 0; // index of the oldest
  private gN = 0;
  private readonly lastDiv = new Float64Array(4).fill(-Infinity);
  private readonly lastAnom = new Map<string, number>();

  private nextGrid = NaN;
  private lastInput = NaN;
  private mid = NaN;
  private cvd = NaN;
  private bookState = 0; // 0 normal, 1 locked, 2 crossed

  // counters
  events = 0;
  anomalies_suppressed = 0;

  constructor(
    params: EventParams,
    readonly symbol: string,
    private readonly sink: EventSink,
  ) {
    this.gridMs = checkPositive('events.grid_ms', params.grid_ms);
    this.divN = checkNumber('events.div_window', params.div_window, 1, 1_000_000, true);
    this.divCooldown = checkNumber('events.div_cooldown_ms', params.div_cooldown_ms, 0);
    this.k = checkNumber('events.pivot_k', params.pivot_k, 1, 1_000_000, true);
    this.anomZ = checkPositive('events.anomaly_z', params.anomaly_z);
    this.anomCooldown = checkNumber('events.anomaly_cooldown_ms', params.anomaly_cooldown_ms, 0);
    this.gapMs = checkPositive('events.gap_sec', params.gap_sec) * 1000;
    this.cap = Math.max(this.divN + 1, 2 * this.k + 1);
    this.gMid = new Float64Array(this.cap);
    this.gCvd = new Float64Array(this.cap);
  }

  /** A quote at t (best bid / ask). */
  onQuote(t: number, bidPx: number, askPx: number): void {
    this.time(t);
    if (Number.isFinite(bidPx) && Number.isFinite(askPx)) {
      const state = bidPx > askPx ? 2 : bidPx === askPx ? 1 : 0;
      if (state !== 0 && state !== this.bookState) {
        this.emit(t, 'anomaly', metaJson({ ask: askPx, bid: bidPx, reason: state === 2 ? 'crossed' : 'locked' }));
      }
      this.bookState = state;
      this.mid = (bidPx + askPx) / 2;
    }
  }

  /** A trade at t; cvd = the running CVD after this trade. */
  onTrade(t: number, cvd: number): void {
    this.time(t);
    if (Number.isFinite(cvd)) this.cvd = cvd;
  }

  /** A z value of stream `source` (e.g. 'ofi_z', 'cvd_z', 'score_z') at t; NaN is ignored. */
  onZ(t: number, source: string, z: number): void {
    this.time(t);
    if (!(Math.abs(z) >= this.anomZ)) return;
    const last = this.lastAnom.get(source);
    if (last !== undefined && t - last < this.anomCooldown) {
      this.anomalies_suppressed++;
      return;
    }
    this.lastAnom.set(source, t);
    this.emit(t, 'anomaly', metaJson({ reason: 'z_limit', source, z }));
  }

  /** A CVD direction flip from fusion at sample time t. */
  onFlip(t: number, dir: number, rho: number, n: number): void {
    this.time(t);
    this.emit(t, 'cvd_flip', metaJson({ dir, n, rho }));
  }

  /** Finalise grid points at or before the last input (end of stream). */
  flush(): void {
    if (!Number.isNaN(this.lastInput)) this.advanceGrid(this.lastInput, true);
  }

  reset(): void {
    this.gHead = 0;
    this.gN = 0;
    this.lastDiv.fill(-Infinity);
    this.lastAnom.clear();
    this.nextGrid = NaN;
    this.lastInput = NaN;
    this.mid = NaN;
    this.cvd = NaN;
    this.bookState = 0;
    this.events = 0;
    this.anomalies_suppressed = 0;
  }

  // ------------------------------------------------------------ internals

  private time(t: number): void {
    if (Number.isNaN(this.lastInput)) {
      this.lastInput = t;
      this.nextGrid = Math.ceil(t / this.gridMs) * this.gridMs;
      return;
    }
    if (t < this.lastInput) return; // not in event-time order: no grid / gap processing
    this.advanceGrid(t, false);
    if (t - this.lastInput > this.gapMs) {
      this.emit(t, 'gap', metaJson({ from_ts: this.lastInput, gap_ms: t - this.lastInput }));
    }
    this.lastInput = t;
  }

  private advanceGrid(t: number, inclusive: boolean): void {
    while (this.nextGrid < t || (inclusive && this.nextGrid === t)) {
      const g = this.nextGrid;
      if (g - this.lastInput > this.gapMs) {
        this.gN = 0; // restart the history after the silence
        this.nextGrid = Math.max(Math.ceil(t / this.gridMs) * this.gridMs, g + this.gridMs);
        if (inclusive) continue;
        break;
      }
      this.gridPoint(g);
      this.nextGrid = g + this.gridMs;
    }
  }

  private gridPoint(g: number): void {
    const mid = this.mid;
    const cvd = this.cvd;
    if (Number.isNaN(mid) || Number.isNaN(cvd)) return;
    const cap = this.cap;
    // divergence vs the previous divN points
    if (this.gN >= this.divN) {
      let mx = -Infinity,
        mn = Infinity,
        cx = -Infinity,
        cn = Infinity;
      let j = (this.gHead + this.gN - this.divN) % cap;
      for (let i = 0; i < this.divN; i++, j = j + 1 === cap ? 0 : j + 1) {
        const m = this.gMid[j];
        const c = this.gCvd[j];
        if (m > mx) mx = m;
        if (m < mn) mn = m;
        if (c > cx) cx = c;
        if (c < cn) cn = c;
      }
      const pH = mid > mx,
        pL = mid < mn,
        cH = cvd > cx,
        cL = cvd < cn;
      if (pH && !cH) this.divergence(g, 0, mid, cvd, mx, cx, 'max');
      if (pL && !cL) this.divergence(g, 1, mid, cvd, mn, cn, 'min');
      if (cH && !pH) this.divergence(g, 2, mid, cvd, mx, cx, 'max');
      if (cL && !pL) this.divergence(g, 3, mid, cvd, mn, cn, 'min');
    }
    // append
    if (this.gN < cap) {
      const j = (this.gHead + this.gN) % cap;
      this.gMid[j] = mid;
      this.gCvd[j] = cvd;
      this.gN++;
    } else {
      this.gMid[this.gHead] = mid;
      this.gCvd[this.gHead] = cvd;
      this.gHead = (this.gHead + 1) % cap;
    }
    // pivot at c = g - k over [g-2k, g]
    const k = this.k;
    if (this.gN >= 2 * k + 1) {
      const base = this.gN - (2 * k + 1);
      const c = this.gMid[(this.gHead + base + k) % cap];
      let high = true,
        low = true;
      let j = (this.gHead + base) % cap;
      for (let i = 0; i <= 2 * k && (high || low); i++, j = j + 1 === cap ? 0 : j + 1) {
        if (i === k) continue;
        const v = this.gMid[j];
        if (i < k) {
          if (!(c > v)) high = false;
          if (!(c < v)) low = false;
        } else {
          if (!(c >= v)) high = false;
          if (!(c <= v)) low = false;
        }
      }
      if (high || low) {
        this.emit(g, 'pivot', metaJson({ k, kind: high ? 'high' : 'low', mid: c, pivot_ts: g - k * this.gridMs }));
      }
    }
  }

  private divergence(
    g: number,
    which: number,
    mid: number,
    cvd: number,
    priorMid: number,
    priorCvd: number,
    ext: 'max' | 'min',
  ): void {
    if (g - this.lastDiv[which] < this.divCooldown) return;
    this.lastDiv[which] = g;
    const [kind, leader] = DIV_KEYS[which].split(':');
    const meta: Record<string, number | string> = { cvd, kind, leader, mid, window: this.divN };
    meta[`prior_cvd_${ext}`] = priorCvd;
    meta[`prior_mid_${ext}`] = priorMid;
    this.emit(g, 'divergence', metaJson(meta));
  }

  private emit(ts: number, type: EventType, meta: string): void {
    this.events++;
    this.sink.event(ts, this.symbol, type, meta);
  }
}
