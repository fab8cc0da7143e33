/**
 * RobustScale: the robust z of ARCHITECTURE §4 for one stream of values x_n at
 * event times t_n (ms, non-decreasing).
 *
 *   ewma_H(|x|) = Σ_i w_i |x_i| / Σ_i w_i,  w_i = 2^(-(t - t_i) / H)      (event-time decay, H in s)
 *   mix         = w_fast · ewma_fast + (1 - w_fast) · ewma_slow             (w_fast = scale_fast_weight)
 *   sigma_floor = 1.4826 · MAD(last mad_window x) · mad_multiplier
 *   scale       = max(mix, sigma_floor, 1e-9)
 *   z_raw       = x / scale,  z = clamp(z_raw, ±winsor_limit),  floor_used = sigma_floor > mix
 *
 * The EWMA is the normalised (bias-free) form: numerator and denominator decay
 * by 2^(-dt/H) and then add |x| and 1. Observations at identical timestamps
 * therefore weigh equally (a plain `α = 1 - 2^(-dt/H)` EWMA would ignore them).
 *
 * The scale used for x_n is computed from observations **before** x_n (the
 * update happens after z is computed), so a spike cannot shrink its own z;
 * the scale is in the units of x.
 *
 * Null rules (z, z_raw = NaN, meaning null — never a fake 0):
 * - warm-up: fewer than `warmup_samples` earlier observations, or
 *   `t_n - t_first < warmup_sec`;
 * - after a gap: when `t_n - t_{n-1} > gap_sec`, this and the next
 *   `rewarm_samples - 1` observations emit null. The state is kept (the EWMAs
 *   have decayed through the gap in event time; the MAD window keeps its values);
 * - a non-finite x is not observed at all (null z, counted in `invalid`).
 * `scale`, `sigma_floor`, `ewma_mix` and `floor_used` are reported whenever
 * there is at least one earlier observation, even during warm-up.
 *
 * Counters over emitted (non-null) z: `emitted`, `floor_hits`
 * (floor_used), `winsor_hits` (|z_raw| >= winsor_limit, i.e. |z| is at the limit).
 *
 * Times must be non-decreasing (the sequencer guarantees it); a time earlier
 * than the previous one is treated as equal to it (no decay, no gap).
 *
 * Cost: O(1) for the EWMAs + O(mad_window) memmove and O(log mad_window) for the
 * MAD (see SortedWindow) per update; no allocation.
 *
 * Example:
 *   const r = new RobustScale({ ...DEFAULT_CALC_PARAMS.robust, warmup_samples: 2, warmup_sec: 0 });
 *   r.update(0, 1); r.update(1000, -1);    // NaN, NaN (warm-up)
 *   r.update(2000, 3);                     // 3 / max(1, 1.4826·1·1.8=2.67) ≈ 1.12
 */
import type { RobustParams } from './params.js';
import { checkRobustParams } from './params.js';
import { SortedWindow } from './sorted-window.js';

const MAD_TO_SIGMA = 1.4826;
const SCALE_EPS = 1e-9;

/**
 * Decay factors exp(-k * dt) for integer dt in [0, DECAY_TABLE): the same
 * `Math.exp` values, computed once per k (ticks repeat small dt's; fusion
 * samples use one dt), so the output is bit-identical to calling Math.exp.
 */
const DECAY_TABLE = 65_536;
const decayTables = new Map<number, Float64Array>();

function decayTable(k: number): Float64Array {
  let t = decayTables.get(k);
  if (!t) {
    t = new Float64Array(DECAY_TABLE);
    for (let dt = 0; dt < DECAY_TABLE; dt++) t[dt] = Math.exp(-k * dt);
    decayTables.set(k, t);
  }
  return t;
}

export class RobustScale {
  private readonly kSlow: number; // ln2 / (half-life in ms)
  private readonly kFast: number;
  private readonly wFast: number;
  private readonly floorMult: number;
  private readonly winsor: number;
  private readonly warmN: number;
  private readonly warmMs: number;
  private readonly gapMs: number;
  private readonly rewarmN: number;
  private readonly window: SortedWindow;
  private readonly tabSlow: Float64Array;
  private readonly tabFast: Float64Array;

  private sSlow = 0;
  private wSlow = 0;
  private sFast = 0;
  private wFast_ = 0;
  private n = 0;
  private tFirst = NaN;
  private tLast = NaN;
  private rewarmLeft = 0;

  // outputs of the last update
  z = NaN;
  z_raw = NaN;
  scale = NaN;
  sigma_floor = NaN;
  ewma_mix = NaN;
  floor_used = false;

  // counters
  observed = 0;
  invalid = 0;
  emitted = 0;
  floor_hits = 0;
  winsor_hits = 0;
  gaps = 0;

  constructor(params: RobustParams, where = 'robust') {
    checkRobustParams(params, where);
    this.kSlow = Math.LN2 / (params.half_life_sec * 1000);
    this.kFast = Math.LN2 / (params.fast_half_life_sec * 1000);
    this.wFast = params.scale_fast_weight;
    this.floorMult = MAD_TO_SIGMA * params.mad_multiplier;
    this.winsor = params.winsor_limit;
    this.warmN = params.warmup_samples;
    this.warmMs = params.warmup_sec * 1000;
    this.gapMs = params.gap_sec * 1000;
    this.rewarmN = params.rewarm_samples;
    this.window = new SortedWindow(params.mad_window);
    this.tabSlow = decayTable(this.kSlow);
    this.tabFast = decayTable(this.kFast);
  }

  /** Fraction of emitted z where the MAD floor was binding (NaN before any). */
  get sigma_floor_hit_rate(): number {
    return this.emitted > 0 ? this.floor_hits / this.emitted : NaN;
  }
  /** Fraction of emitted z that were clamped at ±winsor_limit (NaN before any). */
  get winsor_hit_rate(): number {
    return this.emitted > 0 ? this.winsor_hits / this.emitted : NaN;
  }
  /** Number of valid observations so far. */
  get count(): number {
    return this.n;
  }

  /**
   * Observe x at event time tMs; returns z (NaN = null). The other outputs
   * (z_raw, scale, sigma_floor, ewma_mix, floor_used) are fields read afterwards.
   */
  update(tMs: number, x: number): number {
    if (!Number.isFinite(x) || !Number.isFinite(tMs)) {
      this.invalid++;
      this.z = NaN;
      this.z_raw = NaN;
      return NaN;
    }
    this.observed++;
    const n = this.n;
    let nullZ = false;
    if (n === 0) {
      this.tFirst = tMs;
      this.scale = NaN;
      this.sigma_floor = NaN;
      this.ewma_mix = NaN;
      this.floor_used = false;
      nullZ = true;
    } else {
      const dt = tMs - this.tLast;
      if (dt > this.gapMs) {
        this.gaps++;
        this.rewarmLeft = this.rewarmN;
      }
      // scale from observations before x (the decay factor cancels in the ratio)
      const mix = this.wFast * (this.sFast / this.wFast_) + (1 - this.wFast) * (this.sSlow / this.wSlow);
      const floor = this.floorMult * this.window.mad();
      let scale = mix > floor ? mix : floor;
      if (!(scale > SCALE_EPS)) scale = SCALE_EPS;
      this.ewma_mix = mix;
      this.sigma_floor = floor;
      this.scale = scale;
      this.floor_used = floor > mix;
      if (n < this.warmN || tMs - this.tFirst < this.warmMs) nullZ = true;
      if (this.rewarmLeft > 0) {
        this.rewarmLeft--;
        nullZ = true;
      }
    }

    if (nullZ) {
      this.z = NaN;
      this.z_raw = NaN;
    } else {
      const zr = x / this.scale;
      const lim = this.winsor;
      this.z_raw = zr;
      this.z = zr > lim ? lim : zr < -lim ? -lim : zr;
      this.emitted++;
      if (this.floor_used) this.floor_hits++;
      if (zr >= lim || zr <= -lim) this.winsor_hits++;
    }

    // update the state with x
    const ax = x < 0 ? -x : x;
    if (n === 0) {
      this.sSlow = ax;
      this.wSlow = 1;
      this.sFast = ax;
      this.wFast_ = 1;
    } else {
      const dt = tMs > this.tLast ? tMs - this.tLast : 0; // out-of-order time: no decay
      let dS: number;
      let dF: number;
      if (dt < DECAY_TABLE && dt === Math.floor(dt)) {
        dS = this.tabSlow[dt];
        dF = this.tabFast[dt];
      } else {
        dS = Math.exp(-this.kSlow * dt);
        dF = Math.exp(-this.kFast * dt);
      }
      this.sSlow = this.sSlow * dS + ax;
      this.wSlow = this.wSlow * dS + 1;
      this.sFast = this.sFast * dF + ax;
      this.wFast_ = this.wFast_ * dF + 1;
    }
    this.window.push(x);
    this.tLast = tMs;
    this.n = n + 1;
    return this.z;
  }

  reset(): void {
    this.sSlow = 0;
    this.wSlow = 0;
    this.sFast = 0;
    this.wFast_ = 0;
    this.n = 0;
    this.tFirst = NaN;
    this.tLast = NaN;
    this.rewarmLeft = 0;
    this.window.clear();
    this.z = NaN;
    this.z_raw = NaN;
    this.scale = NaN;
    this.sigma_floor = NaN;
    this.ewma_mix = NaN;
    this.floor_used = false;
    this.observed = 0;
    this.invalid = 0;
    this.emitted = 0;
    this.floor_hits = 0;
    this.winsor_hits = 0;
    this.gaps = 0;
  }
}
