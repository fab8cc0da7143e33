/**
 * Fusion of windowed OFI and CVD flows into one score per sample tick
 * (ARCHITECTURE §4).
 *
 * Samples: event times s that are multiples of `sample_ms` (default 1000). Sample s
 * sees every input with ts <= s and none after; it is emitted when the first
 * input (or advance) with time > s arrives, so it is causal by construction.
 *
 * Per sample s:
 *   ofi_flow = Σ e_n over quotes with ts in (s - window_ms, s]
 *   cvd_flow = Σ delta over trades with ts in (s - window_ms, s]
 *     (null until window_ms of event time has passed since that component's first
 *      input: a partial window would understate the flow; 0 when the window is
 *      simply empty, which is a true zero)
 *   z_ofi = RobustScale(fusion.robust) of ofi_flow, z_cvd likewise — each flow has its
 *     own scale, observed once per sample (not per tick), so the flows are normalised
 *     on the clock they are used on (a per-tick scale would be in per-tick units);
 *   (w_ofi, w_cvd, gate) = slice override or defaults (see below);
 *   raw   = w_ofi·z_ofi + dir·w_cvd·z_cvd   (null if z_ofi or z_cvd is null)
 *   score_z = RobustScale(fusion.robust) of raw (its own scale, fed the ungated raw score)
 *   gate: |raw| < gate => score = 0 and score_z = 0 (a null score_z stays null);
 *         otherwise score = raw.
 *   mid   = last (bid+ask)/2 at or before s (null before the first quote).
 *   merge_time_diff_ms = s - min(last quote ts, last trade ts) (age of the oldest
 *         component input joined in; null until both exist).
 * Flows use sample-period buckets: O(1) per input, O(window_ms / sample_ms) per sample.
 * Silence: sample points more than `robust.gap_sec` after the last input are not
 * emitted (skipped and counted); on resumption the scales see the gap and re-warm.
 *
 * Slice overrides: `slice_overrides` maps a slice VALUE (e.g. 'Active', 'London',
 * 'High', 'A_H') to `{ofi, cvd, gate?}`. With a SliceTracker attached, at each
 * sample the dimensions are looked up in `slice_precedence` order (default
 * scenario_2x2, regime, vol_bucket, session) and the FIRST dimension whose current
 * value has an override wins whole (no blending); else the defaults. Weights are
 * used as given (not renormalised).
 *
 * cvd_auto_flip (causal): labels arrive from outside via `resolveLabel(s, y)`.
 * A label is accepted only if `s + horizon_ms <= now` (now = the latest time passed
 * to advance / onQuote / onTrade), the sample s was emitted and is within
 * `label_lookback_ms`, and it was not resolved before; anything else is ignored
 * and counted. Accepted (z_cvd(s), y) pairs with a non-null z_cvd enter a window of
 * the last `flip_window` resolved samples. At each sample, BEFORE its score is
 * computed: if the window holds >= flip_min_samples pairs, the last flip is at
 * least flip_cooldown_ms ago, and dir · spearman(z_cvd, y) < -flip_threshold, then
 * dir = -dir, a flip is emitted (`sink.flip`) and counted. Because the rule tests
 * the DIRECTED correlation, the same evidence cannot flip it back. Every label used
 * satisfied t + H <= now <= s, so no decision ever uses a label unresolved at s.
 *
 * Pipeline order per event at time t (the slice tracker must not see t before the
 * samples < t are labelled): `fusion.advance(t)`, then `slices.onTrade/onMid(t)`,
 * then `fusion.onTrade/onQuote(t, ...)`. At end of stream `flush()`.
 *
 * Example:
 *   const f = new Fusion(DEFAULT_CALC_PARAMS.fusion, { sample: (x) => console.log(x.ts, x.score), flip: () => {} });
 *   f.onQuote(1_000_100, 0.5, 100, 100.01); f.onTrade(1_000_200, -0.2);
 *   f.advance(1_001_500);   // emits sample 1_001_000 (z's null during warm-up)
 */
import type { FusionParams, FusionWeights, SliceDimension } from './params.js';
import { checkNumber, checkRobustParams } from './params.js';
import { RobustScale } from './robust.js';
import { SlidingSpearman } from './rank.js';
import type { SliceTracker } from './slices.js';
import { UsageError } from '../core/errors.js';

/**
 * One fusion sample: the values of a fusion table row (column names as in
 * src/pipeline/tables.ts, slice codes aside). Fusion reuses one object for every
 * sample: a sink copies what it keeps before returning.
 */
export interface FusionSample {
  ts: number;
  score: number;
  score_z: number;
  z_ofi: number;
  z_cvd: number;
  w_ofi: number;
  w_cvd: number;
  /** The CVD direction in force (+1 / -1). */
  cvd_dir: number;
  gate: number;
  mid: number;
  ofi_flow: number;
  cvd_flow: number;
  merge_time_diff_ms: number;
}

/** A fresh sample with every value NaN. */
export function emptyFusionSample(): FusionSample {
  return {
    ts: NaN,
    score: NaN,
    score_z: NaN,
    z_ofi: NaN,
    z_cvd: NaN,
    w_ofi: NaN,
    w_cvd: NaN,
    cvd_dir: NaN,
    gate: NaN,
    mid: NaN,
    ofi_flow: NaN,
    cvd_flow: NaN,
    merge_time_diff_ms: NaN,
  };
}

export interface FusionSink {
  /** Sample `s` was emitted (`s` is reused by the next sample). */
  sample(s: Readonly<FusionSample>): void;
  flip(ts: number, dir: number, rho: number, n: number): void;
}

const DIMS: readonly SliceDimension[] = ['scenario_2x2', 'regime', 'vol_bucket', 'session'];

export class Fusion {
  private readonly sampleMs: number;
  private readonly windowMs: number;
  private readonly nb: number;
  private readonly flipStride: number;
  private wOfi: number;
  private wCvd: number;
  private gate0: number;
  private readonly overrides: Map<string, FusionWeights>;
  private readonly precedence: readonly SliceDimension[];
  private readonly gapMs: number;
  private readonly dir0: number;
  private readonly autoFlip: boolean;
  private readonly horizon: number;
  private readonly flipWindow: number;
  private readonly flipThr: number;
  private readonly flipMin: number;
  private readonly flipCooldown: number;
  private readonly nLab: number;

  readonly ofiScale: RobustScale;
  readonly cvdScale: RobustScale;
  readonly scoreScale: RobustScale;

  private readonly ofiKey: Float64Array;
  private readonly ofiSum: Float64Array;
  private readonly cvdKey: Float64Array;
  private readonly cvdSum: Float64Array;
  private readonly labTs: Float64Array;
  private readonly labZ: Float64Array;
  private readonly labDone: Uint8Array;
  /** Resolved (z_cvd, y) pairs of the flip rule, with incrementally kept ranks. */
  private readonly flipPairs: SlidingSpearman;
  private fDirty = true;
  private rhoCache = NaN;

  private nextSample = NaN;
  private lastInput = -Infinity;
  private nowTs = -Infinity;
  private ofiStart = NaN;
  private cvdStart = NaN;
  private lastQuoteTs = NaN;
  private lastTradeTs = NaN;
  private mid = NaN;
  private lastFlipTs = -Infinity;
  /** The sample handed to the sink (one object, refilled per sample). */
  private readonly out: FusionSample = emptyFusionSample();

  /** Current CVD direction (+1/-1). */
  dir: number;
  // counters
  samples = 0;
  samples_skipped = 0;
  flips = 0;
  labels_accepted = 0;
  labels_rejected_future = 0;
  labels_unmatched = 0;
  labels_duplicate = 0;
  /** Labels not used by the flip rule because their sample is off the stride grid. */
  labels_off_stride = 0;

  constructor(
    params: FusionParams,
    private readonly sink: FusionSink,
    private readonly slices: SliceTracker | null = null,
  ) {
    const p = params;
    this.sampleMs = checkNumber('fusion.sample_ms', p.sample_ms, 1, 86_400_000, true);
    this.windowMs = checkNumber('fusion.window_ms', p.window_ms, 1, Number.MAX_SAFE_INTEGER, true);
    if (this.windowMs % this.sampleMs !== 0) {
      throw new UsageError(
        `fusion.window_ms: ${p.window_ms} is not valid (expected a multiple of fusion.sample_ms = ${p.sample_ms})`,
      );
    }
    this.nb = this.windowMs / this.sampleMs;
    this.wOfi = checkNumber('fusion.weights.ofi', p.weights?.ofi, 0);
    this.wCvd = checkNumber('fusion.weights.cvd', p.weights?.cvd, 0);
    this.gate0 = checkNumber('fusion.gate', p.gate, 0);
    this.overrides = new Map();
    for (const [k, w] of Object.entries(p.slice_overrides ?? {})) {
      checkNumber(`fusion.slice_overrides.${k}.ofi`, w?.ofi, 0);
      checkNumber(`fusion.slice_overrides.${k}.cvd`, w?.cvd, 0);
      if (w.gate !== undefined) checkNumber(`fusion.slice_overrides.${k}.gate`, w.gate, 0);
      this.overrides.set(k, { ofi: w.ofi, cvd: w.cvd, gate: w.gate });
    }
    for (const d of p.slice_precedence) {
      if (!DIMS.includes(d))
        throw new UsageError(`fusion.slice_precedence: '${d}' is not valid (expected some of ${DIMS.join(', ')})`);
    }
    this.precedence = [...p.slice_precedence];
    checkRobustParams(p.robust, 'fusion.robust');
    this.gapMs = p.robust.gap_sec * 1000;
    if (p.cvd_dir !== 1 && p.cvd_dir !== -1)
      throw new UsageError(`fusion.cvd_dir: ${JSON.stringify(p.cvd_dir)} is not valid (expected 1 or -1)`);
    this.dir0 = p.cvd_dir;
    this.dir = p.cvd_dir;
    this.autoFlip = Boolean(p.cvd_auto_flip);
    this.horizon = checkNumber('fusion.horizon_ms', p.horizon_ms, 0);
    this.flipWindow = checkNumber('fusion.flip_window', p.flip_window, 2, 1_000_000, true);
    this.flipThr = checkNumber('fusion.flip_threshold', p.flip_threshold, 0, 1);
    this.flipMin = checkNumber('fusion.flip_min_samples', p.flip_min_samples, 2, this.flipWindow, true);
    this.flipCooldown = checkNumber('fusion.flip_cooldown_ms', p.flip_cooldown_ms, 0);
    this.flipStride = checkNumber('fusion.flip_label_stride', p.flip_label_stride, 1, 1_000_000, true);
    const lookback = checkNumber('fusion.label_lookback_ms', p.label_lookback_ms, this.horizon);
    this.nLab = Math.ceil(lookback / this.sampleMs) + 2;

    this.ofiScale = new RobustScale(p.robust, 'fusion.robust');
    this.cvdScale = new RobustScale(p.robust, 'fusion.robust');
    this.scoreScale = new RobustScale(p.robust, 'fusion.robust');
    this.ofiKey = new Float64Array(this.nb).fill(NaN);
    this.ofiSum = new Float64Array(this.nb);
    this.cvdKey = new Float64Array(this.nb).fill(NaN);
    this.cvdSum = new Float64Array(this.nb);
    this.labTs = new Float64Array(this.nLab).fill(NaN);
    this.labZ = new Float64Array(this.nLab);
    this.labDone = new Uint8Array(this.nLab);
    this.flipPairs = new SlidingSpearman(this.flipWindow);
  }

  /**
   * Change the weights in force for samples from now on (canary actions and
   * rollbacks act like this on a live system). `slice` null changes the
   * defaults; a slice value (e.g. 'Active') sets its override, and `w` null
   * removes that override.
   */
  setWeights(slice: string | null, w: FusionWeights | null): void {
    if (slice === null) {
      if (w === null) throw new UsageError('fusion.setWeights: the default weights cannot be removed');
      this.wOfi = checkNumber('fusion.weights.ofi', w.ofi, 0);
      this.wCvd = checkNumber('fusion.weights.cvd', w.cvd, 0);
      if (w.gate !== undefined) this.gate0 = checkNumber('fusion.gate', w.gate, 0);
      return;
    }
    if (w === null) {
      this.overrides.delete(slice);
      return;
    }
    checkNumber(`fusion.slice_overrides.${slice}.ofi`, w.ofi, 0);
    checkNumber(`fusion.slice_overrides.${slice}.cvd`, w.cvd, 0);
    if (w.gate !== undefined) checkNumber(`fusion.slice_overrides.${slice}.gate`, w.gate, 0);
    this.overrides.set(slice, { ofi: w.ofi, cvd: w.cvd, gate: w.gate });
  }

  /** The defaults and overrides in force (copies, overrides sorted by slice value). */
  weightsInForce(): { defaults: FusionWeights; overrides: Record<string, FusionWeights> } {
    const overrides: Record<string, FusionWeights> = {};
    for (const k of [...this.overrides.keys()].sort()) overrides[k] = { ...this.overrides.get(k)! };
    return { defaults: { ofi: this.wOfi, cvd: this.wCvd, gate: this.gate0 }, overrides };
  }

  /** The latest time seen (advance / onQuote / onTrade), -Infinity before any. */
  get now(): number {
    return this.nowTs;
  }
  /** Resolved (z_cvd, y) pairs currently in the flip window. */
  get flip_window_size(): number {
    return this.flipPairs.size;
  }

  /** Emit every pending sample s < t; afterwards `now >= t`. */
  advance(t: number): void {
    if (t > this.nowTs) this.nowTs = t;
    this.emitBefore(t, false);
  }

  /** A quote at t: e = OFI e_n (NaN = null, skipped), bid/ask for the mid. */
  onQuote(t: number, e: number, bidPx: number, askPx: number): void {
    this.input(t);
    if (Number.isNaN(this.ofiStart)) this.ofiStart = t;
    this.lastQuoteTs = t;
    if (Number.isFinite(e)) addBucket(this.ofiKey, this.ofiSum, Math.ceil(t / this.sampleMs), e);
    const m = (bidPx + askPx) / 2;
    if (Number.isFinite(m)) this.mid = m;
  }

  /** A trade at t: delta = CVD delta (NaN = excluded, skipped). */
  onTrade(t: number, delta: number): void {
    this.input(t);
    if (Number.isNaN(this.cvdStart)) this.cvdStart = t;
    this.lastTradeTs = t;
    if (Number.isFinite(delta)) addBucket(this.cvdKey, this.cvdSum, Math.ceil(t / this.sampleMs), delta);
  }

  /**
   * Feed the resolved label y (1 up, 0 down) of sample `sampleTs`. Returns true if
   * it entered the flip window; false if ignored (future: sampleTs + horizon > now;
   * unknown / too old sample; duplicate; null z_cvd; non-finite y).
   */
  resolveLabel(sampleTs: number, y: number): boolean {
    if (!(sampleTs + this.horizon <= this.nowTs)) {
      this.labels_rejected_future++;
      return false;
    }
    const k = sampleTs / this.sampleMs;
    const slot = Number.isInteger(k) ? mod(k, this.nLab) : -1;
    if (slot < 0 || this.labTs[slot] !== sampleTs || !Number.isFinite(y)) {
      this.labels_unmatched++;
      return false;
    }
    if (this.labDone[slot]) {
      this.labels_duplicate++;
      return false;
    }
    this.labDone[slot] = 1;
    if (mod(k, this.flipStride) !== 0) {
      this.labels_off_stride++;
      return false;
    }
    const z = this.labZ[slot];
    if (Number.isNaN(z)) {
      this.labels_unmatched++;
      return false;
    }
    this.labels_accepted++;
    this.flipPairs.push(z, y);
    this.fDirty = true;
    return true;
  }

  /** Spearman of (z_cvd, y) over the flip window (undirected), NaN if < 2 pairs or constant. */
  windowRho(): number {
    if (!this.fDirty) return this.rhoCache;
    this.rhoCache = this.flipPairs.rho();
    this.fDirty = false;
    return this.rhoCache;
  }

  /** Emit the samples at or before the latest time seen (end of stream). */
  flush(): void {
    this.emitBefore(this.nowTs, true);
  }

  reset(): void {
    this.ofiScale.reset();
    this.cvdScale.reset();
    this.scoreScale.reset();
    this.ofiKey.fill(NaN);
    this.cvdKey.fill(NaN);
    this.labTs.fill(NaN);
    this.labDone.fill(0);
    this.flipPairs.clear();
    this.fDirty = true;
    this.rhoCache = NaN;
    this.nextSample = NaN;
    this.lastInput = -Infinity;
    this.nowTs = -Infinity;
    this.ofiStart = NaN;
    this.cvdStart = NaN;
    this.lastQuoteTs = NaN;
    this.lastTradeTs = NaN;
    this.mid = NaN;
    this.lastFlipTs = -Infinity;
    this.dir = this.dir0;
    this.samples = 0;
    this.samples_skipped = 0;
    this.flips = 0;
    this.labels_accepted = 0;
    this.labels_rejected_future = 0;
    this.labels_unmatched = 0;
    this.labels_duplicate = 0;
  }

  // ------------------------------------------------------------ internals

  private input(t: number): void {
    this.advance(t);
    if (Number.isNaN(this.nextSample)) this.nextSample = Math.ceil(t / this.sampleMs) * this.sampleMs;
    if (t > this.lastInput) this.lastInput = t;
  }

  private emitBefore(t: number, inclusive: boolean): void {
    if (Number.isNaN(this.nextSample)) return;
    while (this.nextSample < t || (inclusive && this.nextSample === t)) {
      const s = this.nextSample;
      if (s - this.lastInput > this.gapMs) {
        // silence: skip sample points until the data resumes
        const resume = Math.max(Math.ceil(t / this.sampleMs) * this.sampleMs, s + this.sampleMs);
        this.samples_skipped += (resume - s) / this.sampleMs;
        this.nextSample = resume;
        if (inclusive) continue;
        break;
      }
      this.emit(s);
      this.nextSample = s + this.sampleMs;
    }
  }

  private emit(s: number): void {
    const k = s / this.sampleMs;
    const ofiFlow =
      !Number.isNaN(this.ofiStart) && s - this.ofiStart >= this.windowMs
        ? windowSum(this.ofiKey, this.ofiSum, k, this.nb)
        : NaN;
    const cvdFlow =
      !Number.isNaN(this.cvdStart) && s - this.cvdStart >= this.windowMs
        ? windowSum(this.cvdKey, this.cvdSum, k, this.nb)
        : NaN;
    const zOfi = Number.isNaN(ofiFlow) ? NaN : this.ofiScale.update(s, ofiFlow);
    const zCvd = Number.isNaN(cvdFlow) ? NaN : this.cvdScale.update(s, cvdFlow);

    let wo = this.wOfi;
    let wc = this.wCvd;
    let gate = this.gate0;
    if (this.slices !== null) {
      this.slices.label(s);
      const o = this.overrides.size > 0 ? overrideFor(this.overrides, this.precedence, this.slices) : undefined;
      if (o !== undefined) {
        wo = o.ofi;
        wc = o.cvd;
        if (o.gate !== undefined) gate = o.gate;
      }
    }

    if (this.autoFlip && this.flipPairs.size >= this.flipMin && s - this.lastFlipTs >= this.flipCooldown) {
      const rho = this.windowRho();
      if (this.dir * rho < -this.flipThr) {
        this.dir = -this.dir;
        this.lastFlipTs = s;
        this.flips++;
        this.sink.flip(s, this.dir, rho, this.flipPairs.size);
      }
    }

    const raw = fusionRaw(wo, zOfi, wc, zCvd, this.dir);
    let scoreZ = Number.isNaN(raw) ? NaN : this.scoreScale.update(s, raw);
    const score = fusionScore(raw, gate);
    if (gatedOut(raw, gate) && !Number.isNaN(scoreZ)) scoreZ = 0;

    const slot = mod(k, this.nLab);
    this.labTs[slot] = s;
    this.labZ[slot] = zCvd;
    this.labDone[slot] = 0;

    const merge =
      Number.isNaN(this.lastQuoteTs) || Number.isNaN(this.lastTradeTs)
        ? NaN
        : s - Math.min(this.lastQuoteTs, this.lastTradeTs);
    this.samples++;
    const o = this.out;
    o.ts = s;
    o.score = score;
    o.score_z = scoreZ;
    o.z_ofi = zOfi;
    o.z_cvd = zCvd;
    o.w_ofi = wo;
    o.w_cvd = wc;
    o.cvd_dir = this.dir;
    o.gate = gate;
    o.mid = this.mid;
    o.ofi_flow = ofiFlow;
    o.cvd_flow = cvdFlow;
    o.merge_time_diff_ms = merge;
    this.sink.sample(o);
  }
}

/**
 * The score rule, part 1: raw = w_ofi·z_ofi + dir·w_cvd·z_cvd (NaN when either z
 * is null). The pipeline and every re-scoring of stored components
 * (src/canary/rescore.ts) use this one function, so they agree to the bit.
 */
export function fusionRaw(wOfi: number, zOfi: number, wCvd: number, zCvd: number, dir: number): number {
  return Number.isNaN(zOfi) || Number.isNaN(zCvd) ? NaN : wOfi * zOfi + dir * wCvd * zCvd;
}

/** The gate: a known raw score with |raw| < gate is silenced. */
export function gatedOut(raw: number, gate: number): boolean {
  return !Number.isNaN(raw) && Math.abs(raw) < gate;
}

/** The score rule, part 2: the gated score (0 when gated out; otherwise raw, NaN stays NaN). */
export function fusionScore(raw: number, gate: number): number {
  return gatedOut(raw, gate) ? 0 : raw;
}

/** The slice values a sample is in, by dimension name (null = unknown). */
export interface SliceValues {
  scenario_name(): string | null;
  regime_name(): string | null;
  vol_bucket_name(): string | null;
  session_name(): string | null;
}

/**
 * The slice override in force: dimensions looked up in `precedence` order, the
 * first whose current value has an override wins whole; undefined = defaults.
 */
export function overrideFor(
  overrides: ReadonlyMap<string, FusionWeights>,
  precedence: readonly SliceDimension[],
  sl: SliceValues,
): FusionWeights | undefined {
  for (const d of precedence) {
    let v: string | null;
    switch (d) {
      case 'scenario_2x2':
        v = sl.scenario_name();
        break;
      case 'regime':
        v = sl.regime_name();
        break;
      case 'vol_bucket':
        v = sl.vol_bucket_name();
        break;
      default:
        v = sl.session_name();
        break;
    }
    if (v !== null) {
      const o = overrides.get(v);
      if (o !== undefined) return o;
    }
  }
  return undefined;
}

function mod(a: number, n: number): number {
  const r = a % n;
  return r < 0 ? r + n : r;
}

function addBucket(keys: Float64Array, sums: Float64Array, k: number, v: number): void {
  const slot = mod(k, keys.length);
  if (keys[slot] !== k) {
    keys[slot] = k;
    sums[slot] = 0;
  }
  sums[slot] += v;
}

/** Σ of buckets k-nb+1 .. k (oldest first); buckets never written count 0. */
function windowSum(keys: Float64Array, sums: Float64Array, k: number, nb: number): number {
  let s = 0;
  let j = k - nb + 1;
  let slot = mod(j, nb);
  for (; j <= k; j++) {
    if (keys[slot] === j) s += sums[slot];
    if (++slot === nb) slot = 0;
  }
  return s === 0 ? 0 : s;
}
