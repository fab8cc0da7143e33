/**
 * The synthetic market of one symbol: an event-time model of a latent price
 * and the order flow around it, producing Binance-like aggTrades, bookTicker
 * quotes and top-N depth snapshots into an `Outbox` (which adds latency and
 * faults, see channel.ts).
 *
 * ## Model (all draws from the symbol's own 'market' stream)
 *
 * Clock: steps of Δ = 100 ms; the slow state moves once per second.
 *
 * Slow state (per second):
 * - Session multiplier S(t) ∈ [0.72, 1.48] from a UTC-hour profile
 *   (`SESSION_PROFILE`, linear between hour centres): quiet Tokyo hours
 *   (21-07 UTC), busier London (07-12), busiest London/NY overlap (13-16).
 * - Regime R ∈ {Quiet, Active}: Markov switch, P(Q→A) per second = S/meanQuietSec,
 *   P(A→Q) = 1/meanActiveSec (mean stays 40 min Quiet at S=1, 25 min Active).
 * - Target trade rate λ̄ = rate_R · S · activity (Quiet 1.0/s, Active 4.0/s).
 * - Log-vol h: OU, half-life 30 min, stationary sd 0.35.
 *   σ(t) = annualVol/√(365·86400) · exp(h - sd²) · vol_R/rms(vol_R) · √S  (per √s,
 *   relative), vol_Active = 1.3, vol_Quiet = 0.85, rms over the stationary regime
 *   mix (1.046); so E[σ²] matches annualVol. σ_T = σ · P in ticks.
 * - Latent order-flow pressure I: OU, time constant 120 s, sd 1.
 *
 * Fast state (per step):
 * - Hawkes-like arrivals: λ = (1 - n)·λ̄ + X, X decays with time constant 4 s and
 *   jumps by n/4 per trade (branching ratio n = 0.35, so the mean rate is λ̄).
 *   Trades in the step ~ Poisson(λΔ); independent quote events ~ Poisson(0.8·λ̄Δ).
 * - Realized flows, both exponentially decayed with τ = 60 s:
 *   trades  G = (B - S)/(B + S + 1), B / S = buy / sell volume in median trade sizes;
 *   quotes  Q = (O⁺ - O⁻)/(O⁺ + O⁻ + 1), O± = positive / negative parts of the L1
 *           order-flow imbalance e_n (Cont-Kukanov-Stoikov, ARCHITECTURE §4) of every
 *           bookTicker update, in median L1 queue sizes.
 *   Each is standardised by its own slow RMS (half-life 30 min, clamped to ±4):
 *   F = 0.4·Ĝ + 0.6·Q̂ — the same 0.6/0.4 OFI/CVD weighting as the seed fusion.
 * - Aggressor side and impact: each trade draws an impact shock x ~ N(0,1) and a
 *   noise e ~ N(0,1); it is a buy iff x + 0.59·I + 0.5·e > 0, so
 *   P(buy | I) = Φ(0.53·I) (≈ logistic(0.9·I)) and the side agrees with the sign
 *   of x 85% of the time at I = 0.
 * - **Latent price P (ticks)**:
 *     P ← P + effect · σ_T · F · Δ  +  √(1-φ) · σ_T · √Δ · N(0,1)          (each step)
 *     P ← P + σ_T · √(φ/λ̄) · √(q/E[q]) · x                                 (each trade)
 *   with q the trade size and φ = 0.6 the impact share of the variance.
 *   `effect` is the drift per second, in units of the 1-second volatility, per unit
 *   of standardised flow F. Because G and Q remember the last minute (τ = 60 s) and
 *   the pressure I is persistent (120 s), the order flow of the last minute
 *   predicts the mid change of the next minute: weakly, by design.
 *   Null model: the shock x is standard normal and independent of everything
 *   before the trade, so with effect = 0 every future increment is symmetric and
 *   unpredictable: P(up | any past information) = 1/2 exactly, and any past-only
 *   score has AUC 0.5 in expectation. (An impact proportional to the side surprise
 *   s - E[s | I] is zero-mean too, but skewed when the pressure is one-sided, and a
 *   sign AUC picks skew up: we measured +0.003 with it.) Flow and price still
 *   co-move within the trade: buys mostly push the price up.
 *
 * Observables:
 * - aggTrade: side s (m = true for sells), size q ~ lognormal(median, σ = 1.2)
 *   rounded to the lot, 1 + Geometric(0.55) fills (first/last trade ids
 *   consecutive), price = the displayed ask for buys / bid for sells; E = T + 0..2 ms.
 *   Every trade is followed 1-3 ms later by a bookTicker update (impact applied,
 *   the hit queue depleted when its price did not move).
 * - bookTicker: bid = round(P - spread/2), ask = bid + spread, spread ∈ {1,2,3,4}
 *   ticks (p = .75/.17/.06/.02, redrawn at 25% of independent quote events);
 *   queue sizes median · exp(0.7·z ± 0.35·I) with z an AR(1) (0.8) per quote event:
 *   the L1 queue imbalance leans with the latent pressure. `u` increases by
 *   1 + Geometric(0.3) per update.
 * - depth: every `depthIntervalMs`, the top N levels; level 0 equals the L1 quote
 *   in force (same prices, sizes and update id). Deeper levels come from a
 *   persistent profile anchored at the touch: level j sits gap_j ticks beyond
 *   level j-1 (gap = 1 + floor(Exp(depthGapTicks))) with a lognormal base size
 *   (σ = 0.8, growing 5% per level); 3 random levels per side are redrawn per
 *   snapshot, and sizes lean with the pressure (bid × e^{0.35·I}, ask ÷ e^{0.35·I}).
 * - Times: every trade and quote of a symbol has a distinct ts_ms, strictly
 *   increasing in generation order (a colliding candidate is pushed 1 ms later),
 *   so as-of joins on ts_ms are unambiguous. A depth snapshot at T shows the book
 *   of every quote with ts_ms <= T (it may share the ms of the last one, which the
 *   sequencer orders first); no trade or quote after it has ts_ms <= T.
 * - Streams: the market draws from (seed, symbol, 'market'); depth from
 *   (seed, symbol, 'depth'), so the depth cadence never changes trades or quotes.
 */
import { Rng } from './rng.js';
import { scaled, type SymbolSpec } from './symbols.js';
import type { Outbox } from './channel.js';

/** Activity multiplier per UTC hour (value at the hour's centre). */
export const SESSION_PROFILE: readonly number[] = [
  0.8,
  0.78,
  0.76,
  0.74,
  0.72,
  0.72,
  0.8, // 00-06 Tokyo
  0.98,
  1.05,
  1.05,
  1.02,
  1.08, // 07-11 London
  1.25,
  1.4,
  1.48,
  1.42,
  1.3,
  1.18,
  1.1,
  1.05,
  1.0, // 12-20 NY (13-16 overlap)
  0.9,
  0.85,
  0.82, // 21-23 Tokyo
];

export const MODEL = {
  stepMs: 100,
  rateQuiet: 1.0,
  rateActive: 4.0,
  meanQuietSec: 2400,
  meanActiveSec: 1500,
  hawkesBranching: 0.35,
  hawkesTauSec: 4,
  quoteEventRatio: 0.8,
  volHalfLifeSec: 1800,
  volSd: 0.35,
  volActive: 1.3,
  volQuiet: 0.85,
  pressureTauSec: 120,
  sidePressure: 0.59,
  sideNoise: 0.5,
  flowTauSec: 60,
  flowWeightTrades: 0.4,
  /** Per-second retention of the slow RMS of G and Q: half-life 30 min. */
  flowRmsKeep: Math.exp(-Math.LN2 / 1800),
  impactShare: 0.6,
  tradeQtySigma: 1.2,
  fillsP: 0.55,
  queueAr: 0.8,
  queueSigma: 0.7,
  queueTilt: 0.35,
  depthQtySigma: 0.8,
  depthRedrawPerSide: 3,
  spreadCdf: [0.75, 0.92, 0.98, 1.0],
  spreadRedraw: 0.25,
  updateIdP: 0.3,
} as const;

const SECONDS_PER_YEAR = 365 * 86400;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Session multiplier at an instant: linear between hour centres of SESSION_PROFILE. */
export function sessionMultiplier(ms: number): number {
  const h = (((ms % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS - 0.5;
  const i0 = Math.floor(h);
  const w = h - i0;
  const a = SESSION_PROFILE[(i0 + 24) % 24];
  const b = SESSION_PROFILE[(i0 + 25) % 24];
  return a + (b - a) * w;
}

export interface MarketOptions {
  readonly seed: number;
  readonly startMs: number;
  readonly effect: number;
  /**
   * Changes of the effect, absolute ms, in time order: a step that starts at or
   * after `atMs` uses `effect`. The effect enters the price drift only (no draw
   * depends on it), so the run is identical to a constant-effect one before the
   * first change, and trade times, ids, sides and sizes are identical throughout.
   */
  readonly effectSchedule?: readonly { readonly atMs: number; readonly effect: number }[];
  readonly depthIntervalMs: number;
  readonly depthLevels: number;
}

/** Ground truth of the latent model, per symbol (for the manifest and for tests). */
export interface MarketTruth {
  trades_generated: number;
  quote_events: number;
  depth_snapshots: number;
  active_seconds: number;
  quiet_seconds: number;
  regime_switches: number;
  first_agg_id: number;
  last_agg_id: number;
}

export class SymbolMarket {
  private readonly rng: Rng;
  /** Depth snapshots draw from their own stream, so the cadence never changes the market. */
  private readonly drng: Rng;
  private effect: number;
  private readonly schedule: readonly { readonly atMs: number; readonly effect: number }[];
  /** Index of the next pending effect change in `schedule`. */
  private nextChange = 0;
  private readonly depthIntervalMs: number;
  private readonly L: number;
  private readonly tradeMedLots: number;
  private readonly meanQNorm: number;
  private readonly l1Lots: number;
  private readonly depthLots: number;
  private readonly sigmaBase: number;
  private readonly decayFlow: number;
  private readonly decayHawkes: number;
  private readonly hawkesJump: number;

  // clock
  private t: number;
  private stepIdx = 0;
  private lastTs: number;
  private nextDepthMs: number;
  // slow state
  private active = false;
  private h = 0;
  private I = 0;
  private lambdaBar = 1;
  private sigmaT = 1;
  private impactScale = 0;
  // fast state
  private P: number;
  private X = 0;
  private B = 0;
  private Sv = 0;
  /** Decayed positive / negative L1 OFI (CKS e_n in units of the median L1 queue). */
  private Op = 0;
  private On = 0;
  /** Slow mean squares of G and Q (standardisation), seeded with their typical values. */
  private vG = 0.33 * 0.33;
  private vQ = 0.07 * 0.07;
  // displayed book
  private spread = 1;
  private bid = 0;
  private ask = 0;
  private bidLots = 1;
  private askLots = 1;
  private zb = 0;
  private za = 0;
  private updateId: number;
  private aggId: number;
  private tradeId: number;
  // scratch
  private evOff = new Int32Array(64);
  private evType = new Uint8Array(64);
  private readonly dBidPx: Float64Array;
  private readonly dBidQty: Float64Array;
  private readonly dAskPx: Float64Array;
  private readonly dAskQty: Float64Array;
  /** Persistent deep-book profile: tick gaps to the level above and base sizes (lots) per level. */
  private readonly gapB: Int32Array;
  private readonly gapA: Int32Array;
  private readonly lotsB: Float64Array;
  private readonly lotsA: Float64Array;

  readonly truth: MarketTruth;

  constructor(
    readonly spec: SymbolSpec,
    opts: MarketOptions,
    private readonly out: Outbox,
  ) {
    this.rng = Rng.derive(opts.seed, spec.symbol, 'market');
    this.drng = Rng.derive(opts.seed, spec.symbol, 'depth');
    this.effect = opts.effect;
    this.schedule = opts.effectSchedule ?? [];
    this.depthIntervalMs = opts.depthIntervalMs;
    this.L = opts.depthLevels;
    const lot = scaled(1, spec.lotUnits, spec.qtyDp);
    this.tradeMedLots = Math.max(1, spec.tradeQtyMedian / lot);
    this.meanQNorm = Math.exp((MODEL.tradeQtySigma * MODEL.tradeQtySigma) / 2);
    this.l1Lots = Math.max(1, spec.l1QtyMedian / lot);
    this.depthLots = Math.max(1, spec.depthQtyMedian / lot);
    // E[σ²] = (annualVol)²/year: exp(h - sd²) has E[exp(2h - 2sd²)] = 1, and the
    // regime factor is divided by its stationary RMS (sessions average to ~1)
    const pA = MODEL.meanActiveSec / (MODEL.meanActiveSec + MODEL.meanQuietSec);
    const regimeRms = Math.sqrt(pA * MODEL.volActive ** 2 + (1 - pA) * MODEL.volQuiet ** 2);
    this.sigmaBase = spec.annualVol / Math.sqrt(SECONDS_PER_YEAR) / regimeRms;
    const dt = MODEL.stepMs / 1000;
    this.decayFlow = Math.exp(-dt / MODEL.flowTauSec);
    this.decayHawkes = Math.exp(-dt / MODEL.hawkesTauSec);
    this.hawkesJump = MODEL.hawkesBranching / MODEL.hawkesTauSec;
    this.dBidPx = new Float64Array(this.L);
    this.dBidQty = new Float64Array(this.L);
    this.dAskPx = new Float64Array(this.L);
    this.dAskQty = new Float64Array(this.L);
    this.gapB = new Int32Array(this.L);
    this.gapA = new Int32Array(this.L);
    this.lotsB = new Float64Array(this.L);
    this.lotsA = new Float64Array(this.L);

    const r = this.rng;
    this.t = opts.startMs;
    this.lastTs = opts.startMs - 1;
    this.nextDepthMs = opts.startMs + opts.depthIntervalMs;
    // ids grow with the start time so datasets of different days look plausible
    const secSince2024 = Math.max(0, Math.floor((opts.startMs - Date.UTC(2024, 0, 1)) / 1000));
    this.aggId = spec.baseAggId + secSince2024 * 2;
    this.tradeId = spec.baseTradeId + secSince2024 * 3;
    this.updateId = spec.baseUpdateId + secSince2024 * 40;
    // initial state drawn from the stationary laws
    const tick = scaled(1, spec.tickUnits, spec.priceDp);
    this.P = (spec.price * Math.exp(0.02 * r.normal())) / tick;
    this.active = r.uniform() < MODEL.meanActiveSec / (MODEL.meanActiveSec + MODEL.meanQuietSec);
    this.h = MODEL.volSd * r.normal();
    this.I = r.normal();
    this.truth = {
      trades_generated: 0,
      quote_events: 0,
      depth_snapshots: 0,
      active_seconds: 0,
      quiet_seconds: 0,
      regime_switches: 0,
      first_agg_id: this.aggId,
      last_agg_id: this.aggId - 1,
    };
    this.slowUpdate(false);
    const flow0 = (this.lambdaBar * MODEL.flowTauSec * this.meanQNorm) / 2;
    this.B = flow0;
    this.Sv = flow0;
    const ofi0 = this.lambdaBar * (1 + MODEL.quoteEventRatio) * MODEL.flowTauSec * 0.5;
    this.Op = ofi0;
    this.On = ofi0;
    for (let j = 1; j < this.L; j++) {
      this.redrawLevel(this.gapB, this.lotsB, j);
      this.redrawLevel(this.gapA, this.lotsA, j);
    }
    this.spread = this.drawSpread();
    this.quote(opts.startMs, false, 0, 0);
  }

  /** Latent state, for tests and diagnostics. */
  get state(): {
    readonly active: boolean;
    readonly pressure: number;
    readonly tradeImbalance: number;
    readonly quoteImbalance: number;
    readonly priceTicks: number;
  } {
    return {
      active: this.active,
      pressure: this.I,
      tradeImbalance: (this.B - this.Sv) / (this.B + this.Sv + 1),
      quoteImbalance: (this.Op - this.On) / (this.Op + this.On + 1),
      priceTicks: this.P,
    };
  }

  /** Simulate every step that starts before `untilMs`. */
  run(untilMs: number): void {
    while (this.t < untilMs) this.step();
  }

  private drawSpread(): number {
    const u = this.rng.uniform();
    const cdf = MODEL.spreadCdf;
    for (let i = 0; i < cdf.length; i++) if (u < cdf[i]) return i + 1;
    return cdf.length;
  }

  private slowUpdate(advance: boolean): void {
    const r = this.rng;
    const S = sessionMultiplier(this.t);
    if (advance) {
      const pSwitch = this.active ? 1 / MODEL.meanActiveSec : S / MODEL.meanQuietSec;
      if (r.uniform() < pSwitch) {
        this.active = !this.active;
        this.truth.regime_switches++;
      }
      const kv = Math.exp((-Math.LN2 * 1) / MODEL.volHalfLifeSec);
      this.h = kv * this.h + MODEL.volSd * Math.sqrt(1 - kv * kv) * r.normal();
      const ki = Math.exp(-1 / MODEL.pressureTauSec);
      this.I = ki * this.I + Math.sqrt(1 - ki * ki) * r.normal();
      if (this.active) this.truth.active_seconds++;
      else this.truth.quiet_seconds++;
    }
    this.lambdaBar = (this.active ? MODEL.rateActive : MODEL.rateQuiet) * S * this.spec.activity;
    const sigma =
      this.sigmaBase *
      Math.exp(this.h - MODEL.volSd * MODEL.volSd) *
      (this.active ? MODEL.volActive : MODEL.volQuiet) *
      Math.sqrt(S);
    this.sigmaT = sigma * this.P;
    this.impactScale = (this.sigmaT * Math.sqrt(MODEL.impactShare / this.lambdaBar)) / Math.sqrt(this.meanQNorm);
  }

  /** F = w·Ĝ + (1-w)·Q̂, each flow standardised by its slow RMS (updated once per second), clamped to ±4. */
  private flowSignal(G: number, Q: number): number {
    if (this.stepIdx % 10 === 1) {
      const k = MODEL.flowRmsKeep;
      this.vG = k * this.vG + (1 - k) * G * G;
      this.vQ = k * this.vQ + (1 - k) * Q * Q;
    }
    const g = Math.max(-4, Math.min(4, G / Math.sqrt(this.vG)));
    const q = Math.max(-4, Math.min(4, Q / Math.sqrt(this.vQ)));
    return MODEL.flowWeightTrades * g + (1 - MODEL.flowWeightTrades) * q;
  }

  private step(): void {
    const r = this.rng;
    const stepMs = MODEL.stepMs;
    while (this.nextChange < this.schedule.length && this.t >= this.schedule[this.nextChange].atMs)
      this.effect = this.schedule[this.nextChange++].effect;
    if (this.stepIdx % 10 === 0) this.slowUpdate(true);
    this.stepIdx++;
    const dt = stepMs / 1000;
    this.X *= this.decayHawkes;
    this.B *= this.decayFlow;
    this.Sv *= this.decayFlow;
    this.Op *= this.decayFlow;
    this.On *= this.decayFlow;
    const G = (this.B - this.Sv) / (this.B + this.Sv + 1);
    const Q = (this.Op - this.On) / (this.Op + this.On + 1);
    const F = this.flowSignal(G, Q);
    this.P +=
      this.effect * this.sigmaT * F * dt + Math.sqrt(1 - MODEL.impactShare) * this.sigmaT * Math.sqrt(dt) * r.normal();
    if (this.P < 10) this.P = 10;
    const lambda = (1 - MODEL.hawkesBranching) * this.lambdaBar + this.X;
    const nT = r.poisson(lambda * dt);
    const nQ = r.poisson(MODEL.quoteEventRatio * this.lambdaBar * dt);
    const t0 = this.t;
    const depthDue = this.nextDepthMs < t0 + stepMs;
    const n = nT + nQ + (depthDue ? 1 : 0);
    if (n > this.evOff.length) {
      this.evOff = new Int32Array(n * 2);
      this.evType = new Uint8Array(n * 2);
    }
    const off = this.evOff;
    const typ = this.evType;
    let k = 0;
    for (let i = 0; i < nT; i++, k++) {
      off[k] = r.int(stepMs);
      typ[k] = 0;
    }
    for (let i = 0; i < nQ; i++, k++) {
      off[k] = r.int(stepMs);
      typ[k] = 1;
    }
    if (depthDue) {
      off[k] = Math.max(0, this.nextDepthMs - t0);
      typ[k] = 2;
      k++;
      this.nextDepthMs += this.depthIntervalMs;
    }
    // stable insertion sort by offset (n is tiny)
    for (let i = 1; i < n; i++) {
      const o = off[i];
      const ty = typ[i];
      let j = i - 1;
      while (j >= 0 && off[j] > o) {
        off[j + 1] = off[j];
        typ[j + 1] = typ[j];
        j--;
      }
      off[j + 1] = o;
      typ[j + 1] = ty;
    }
    for (let i = 0; i < n; i++) {
      if (typ[i] === 2) {
        // depth sorts last among equal offsets and does not move lastTs: it shows
        // the book of every event with ts <= its own, and the next event is later
        this.depth(Math.max(t0 + off[i], this.lastTs));
        continue;
      }
      const ts = Math.max(t0 + off[i], this.lastTs + 1);
      if (typ[i] === 0) this.trade(ts);
      else {
        if (r.uniform() < MODEL.spreadRedraw) this.spread = this.drawSpread();
        this.truth.quote_events++;
        this.quote(ts, false, 0, 0);
      }
    }
    this.t = t0 + stepMs;
  }

  private trade(ts: number): void {
    const r = this.rng;
    const spec = this.spec;
    const x = r.normal();
    const buy = x + MODEL.sidePressure * this.I + MODEL.sideNoise * r.normal() > 0;
    const lots = Math.max(1, Math.round(this.tradeMedLots * Math.exp(MODEL.tradeQtySigma * r.normal())));
    const fills = 1 + r.geometric(MODEL.fillsP);
    const evt = ts + r.int(3);
    const qNorm = lots / this.tradeMedLots;
    const priceTicks = buy ? this.ask : this.bid;
    const first = this.tradeId;
    const last = first + fills - 1;
    this.tradeId = last + 1;
    const id = this.aggId++;
    this.out.trade(
      ts,
      evt,
      id,
      scaled(priceTicks, spec.tickUnits, spec.priceDp),
      scaled(lots, spec.lotUnits, spec.qtyDp),
      buy ? 0 : 1,
      first,
      last,
    );
    this.truth.trades_generated++;
    this.truth.last_agg_id = id;
    this.lastTs = ts;
    // latent updates: impact shock, flow memory, self-excitation
    this.P += this.impactScale * Math.sqrt(qNorm) * x;
    if (this.P < 10) this.P = 10;
    if (buy) this.B += qNorm;
    else this.Sv += qNorm;
    this.X += this.hawkesJump;
    // the book reacts 1-3 ms later
    const tq = Math.max(ts + 1 + r.int(3), this.lastTs + 1);
    this.quote(tq, true, buy ? 1 : -1, lots);
  }

  /** Publish the displayed L1 from the latent price. After a trade (`side` ±1) the hit queue is depleted instead of redrawn. */
  private quote(ts: number, afterTrade: boolean, side: number, lots: number): void {
    const r = this.rng;
    const spec = this.spec;
    const s = this.spread;
    const oldBid = this.bid;
    const oldAsk = this.ask;
    const oldBidLots = this.bidLots;
    const oldAskLots = this.askLots;
    let bid = Math.round(this.P - s / 2);
    if (bid < 1) bid = 1;
    this.bid = bid;
    this.ask = bid + s;
    const tilt = MODEL.queueTilt * this.I;
    const a = MODEL.queueAr;
    const b = Math.sqrt(1 - a * a);
    // draw both innovations every time: the draws never depend on prices, so the
    // order flow is the same for every `effect` (only prices differ)
    this.za = a * this.za + b * r.normal();
    this.zb = a * this.zb + b * r.normal();
    if (afterTrade && side > 0 && this.ask === oldAsk && this.askLots > lots) this.askLots -= lots;
    else this.askLots = Math.max(1, Math.round(this.l1Lots * Math.exp(MODEL.queueSigma * this.za - tilt)));
    if (afterTrade && side < 0 && this.bid === oldBid && this.bidLots > lots) this.bidLots -= lots;
    else this.bidLots = Math.max(1, Math.round(this.l1Lots * Math.exp(MODEL.queueSigma * this.zb + tilt)));
    // L1 order-flow imbalance of this update (Cont-Kukanov-Stoikov, weak inequalities)
    if (oldBid > 0) {
      const e =
        (this.bid >= oldBid ? this.bidLots : 0) -
        (this.bid <= oldBid ? oldBidLots : 0) -
        (this.ask <= oldAsk ? this.askLots : 0) +
        (this.ask >= oldAsk ? oldAskLots : 0);
      const en = e / this.l1Lots;
      if (en > 0) this.Op += en;
      else this.On -= en;
    }
    this.updateId += 1 + r.geometric(MODEL.updateIdP);
    this.out.quote(
      ts,
      this.updateId,
      scaled(this.bid, spec.tickUnits, spec.priceDp),
      scaled(this.bidLots, spec.lotUnits, spec.qtyDp),
      scaled(this.ask, spec.tickUnits, spec.priceDp),
      scaled(this.askLots, spec.lotUnits, spec.qtyDp),
    );
    this.lastTs = ts;
  }

  /** Redraw one deeper level (1..L-1) of one side of the persistent book profile. */
  private redrawLevel(gaps: Int32Array, lots: Float64Array, j: number): void {
    const r = this.drng;
    gaps[j] = 1 + Math.floor(this.spec.depthGapTicks * r.exponential());
    lots[j] = this.depthLots * (1 + 0.05 * j) * Math.exp(MODEL.depthQtySigma * r.normal());
  }

  private depth(ts: number): void {
    const r = this.drng;
    const spec = this.spec;
    const L = this.L;
    // the deep book persists: a few levels per side change between snapshots
    for (let k = 0; k < MODEL.depthRedrawPerSide && L > 1; k++) {
      this.redrawLevel(this.gapB, this.lotsB, 1 + r.int(L - 1));
      this.redrawLevel(this.gapA, this.lotsA, 1 + r.int(L - 1));
    }
    const lean = Math.exp(MODEL.queueTilt * this.I);
    let nb = 0;
    let px = this.bid;
    for (let j = 0; j < L; j++) {
      if (j > 0) px -= this.gapB[j];
      if (px < 1) break;
      const lots = j === 0 ? this.bidLots : Math.max(1, Math.round(this.lotsB[j] * lean));
      this.dBidPx[nb] = scaled(px, spec.tickUnits, spec.priceDp);
      this.dBidQty[nb] = scaled(lots, spec.lotUnits, spec.qtyDp);
      nb++;
    }
    px = this.ask;
    for (let j = 0; j < L; j++) {
      if (j > 0) px += this.gapA[j];
      const lots = j === 0 ? this.askLots : Math.max(1, Math.round(this.lotsA[j] / lean));
      this.dAskPx[j] = scaled(px, spec.tickUnits, spec.priceDp);
      this.dAskQty[j] = scaled(lots, spec.lotUnits, spec.qtyDp);
    }
    this.out.depth(ts, this.updateId, this.dBidPx, this.dBidQty, nb, this.dAskPx, this.dAskQty, L);
    this.truth.depth_snapshots++;
  }
}
