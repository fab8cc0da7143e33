/**
 * SymbolCalc: every calculator of one symbol (src/calc) wired in the
 * documented order, fed with sequenced (event-time ordered) ticks, writing the
 * `ofi`, `cvd`, `fusion` and `events` derived rows (ARCHITECTURE §3) into the
 * column builders of the schema (tables.ts), each row with its slice codes
 * (`prices` rows need recorder-side fields and are left to the pipeline).
 *
 * Per tick at event time t, in this order (it is what makes everything causal):
 *   1. fusion.advance(t)      emits samples s < t (sliced by SliceTracker.label(s);
 *                             flips go to the event detector, score_z to onZ)
 *   2. label resolution       (quotes only, `LabelResolver` of calc/labels.ts, the one the
 *                             evaluation and the canary use) every pending sample s with
 *                             s + H <= t is resolved with THIS quote, the first with a finite
 *                             mid at or after s + H: y = 1 if mid_t > mid_s, 0 if lower,
 *                             excluded if equal, unmatched if t - (s + H) > merge_tol_ms
 *                             (ARCHITECTURE §5); fusion.resolveLabel refuses anything with
 *                             s + H > now.
 *   3. OFI / CVD update, per-tick robust z (x = e_n for ofi, x = delta for cvd)
 *   4. slices.onMid / onTrade, fusion.onQuote / onTrade, events.onQuote / onTrade / onZ
 *   5. slices.label(t) and the row is written with the slice codes at t.
 * `flush()` at end of stream emits the samples at or before the last tick.
 *
 * Null encoding in the columns: NaN = null for floats; -1 = null for slice codes
 * (codes: session = index into `sessionNames`, regime 0 Quiet / 1 Active,
 * vol_bucket 0 Low / 1 High, scenario_2x2 0 Q_L, 1 Q_H, 2 A_L, 3 A_H); floor_used 0/1
 * (-1 when the scale did not exist yet). fee_tier is constant per symbol (`fee_tier`).
 *
 * Cost: O(1) amortised per tick plus the per-sample work of fusion/slices/events.
 *
 * Example:
 *   const c = new SymbolCalc(DEFAULT_CALC_PARAMS, 'BTCUSDT');
 *   // from the sequencer's release callback:
 *   c.onQuote(ts, bid, bidQty, ask, askQty);  c.onTrade(ts, price, qty, isBuyerMaker);
 *   c.flush();   // then read c.ofiRows, c.cvdRows, c.fusionRows, c.eventRows
 */
import type { CalcParams } from '../calc/params.js';
import { checkNumber } from '../calc/params.js';
import { L1Ofi } from '../calc/ofi.js';
import { Cvd } from '../calc/cvd.js';
import { RobustScale } from '../calc/robust.js';
import { SliceTracker } from '../calc/slices.js';
import { Fusion, type FusionSink } from '../calc/fusion.js';
import { EventDetector } from '../calc/events.js';
import { LabelResolver } from '../calc/labels.js';
import { GrowableI8 } from '../core/growable.js';
import { tableRows, type TableRows } from './tables.js';

export interface SymbolCalcOptions {
  /** Resolve labels from the quote stream and feed them to cvd_auto_flip (default true). */
  auto_labels?: boolean;
  /** Forward as-of join tolerance for labels, ms, inclusive (default 1500 = labels.merge_tol_ms). */
  merge_tol_ms?: number;
  /** Write `ofiRows` / `cvdRows` (default true; false when the table is not wanted: the calculators still run). */
  ofi_rows?: boolean;
  cvd_rows?: boolean;
}

export class SymbolCalc {
  readonly symbol: string;
  readonly ofi = new L1Ofi();
  readonly cvd: Cvd;
  readonly ofiScale: RobustScale;
  readonly cvdScale: RobustScale;
  readonly slices: SliceTracker;
  readonly fusion: Fusion;
  readonly events: EventDetector;

  /** The derived rows (builders generated from the schema, src/pipeline/tables.ts). */
  readonly ofiRows: TableRows<'ofi'> = tableRows('ofi');
  readonly cvdRows: TableRows<'cvd'> = tableRows('cvd');
  readonly fusionRows: TableRows<'fusion'> = tableRows('fusion');
  readonly eventRows: TableRows<'events'> = tableRows('events');
  /**
   * vol_tertile code of each fusion row (not a written column: the canary's
   * slices overview reads it); cut together with fusionRows.
   */
  readonly fusionVolTertile = new GrowableI8();

  private readonly autoLabels: boolean;
  private readonly keepOfiRows: boolean;
  private readonly keepCvdRows: boolean;
  /** Forward as-of labels of the fusion samples (calc/labels.ts), fed to cvd_auto_flip. */
  readonly labels: LabelResolver;

  // label counters
  get labels_up(): number {
    return this.labels.counts.up;
  }
  get labels_down(): number {
    return this.labels.counts.down;
  }
  get labels_equal(): number {
    return this.labels.counts.equal;
  }
  get labels_unmatched(): number {
    return this.labels.counts.unmatched;
  }

  constructor(params: CalcParams, symbol: string, opts: SymbolCalcOptions = {}) {
    this.symbol = symbol;
    this.cvd = new Cvd(params.cvd);
    this.ofiScale = new RobustScale(params.robust);
    this.cvdScale = new RobustScale(params.robust);
    this.slices = new SliceTracker(params.slices, symbol);
    const slices = this.slices;
    const ev = this.eventRows;
    this.events = new EventDetector(params.events, symbol, {
      event: (ts, _symbol, type, meta) => {
        ev.ts_ms.push(ts);
        ev.event_type.push(type);
        ev.meta_json.push(meta);
        ev.session.push(slices.session);
        ev.regime.push(slices.regime);
        ev.vol_bucket.push(slices.vol_bucket);
        ev.scenario_2x2.push(slices.scenario_2x2);
      },
    });
    this.autoLabels = opts.auto_labels ?? true;
    this.keepOfiRows = opts.ofi_rows ?? true;
    this.keepCvdRows = opts.cvd_rows ?? true;
    const mergeTol = checkNumber('labels.merge_tol_ms', opts.merge_tol_ms ?? 1500, 0);
    this.labels = new LabelResolver(
      { horizon_ms: params.fusion.horizon_ms, merge_tol_ms: mergeTol },
      (_i, y, _at, s) => {
        if (y === 0 || y === 1) this.fusion.resolveLabel(s, y);
      },
    );
    const rows = this.fusionRows;
    const sink: FusionSink = {
      sample: (x) => {
        rows.ts_ms.push(x.ts);
        rows.score.push(x.score);
        rows.score_z.push(x.score_z);
        rows.z_ofi.push(x.z_ofi);
        rows.z_cvd.push(x.z_cvd);
        rows.w_ofi.push(x.w_ofi);
        rows.w_cvd.push(x.w_cvd);
        rows.cvd_dir.push(x.cvd_dir);
        rows.gate.push(x.gate);
        rows.mid.push(x.mid);
        rows.ofi_flow.push(x.ofi_flow);
        rows.cvd_flow.push(x.cvd_flow);
        rows.merge_time_diff_ms.push(x.merge_time_diff_ms);
        rows.session.push(slices.session);
        rows.regime.push(slices.regime);
        rows.vol_bucket.push(slices.vol_bucket);
        rows.scenario_2x2.push(slices.scenario_2x2);
        this.fusionVolTertile.push(slices.vol_tertile);
        this.events.onZ(x.ts, 'score_z', x.score_z);
        if (this.autoLabels) this.labels.addSample(x.ts, x.mid);
      },
      flip: (ts, dir, rho, n) => this.events.onFlip(ts, dir, rho, n),
    };
    this.fusion = new Fusion(params.fusion, sink, this.slices);
  }

  /** Session names (index = session code). */
  get sessionNames(): readonly string[] {
    return this.slices.sessions.names;
  }
  get fee_tier(): string {
    return this.slices.fee_tier;
  }

  onQuote(ts: number, bidPx: number, bidQty: number, askPx: number, askQty: number): void {
    this.fusion.advance(ts);
    const mid = (bidPx + askPx) / 2;
    if (this.autoLabels) this.labels.onQuote(ts, mid);
    const e = this.ofi.update(bidPx, bidQty, askPx, askQty);
    let z = NaN;
    let scale = NaN;
    if (!Number.isNaN(e)) {
      z = this.ofiScale.update(ts, e);
      scale = this.ofiScale.scale;
    }
    this.slices.onMid(ts, mid);
    this.fusion.onQuote(ts, e, bidPx, askPx);
    this.events.onQuote(ts, bidPx, askPx);
    this.events.onZ(ts, 'ofi_z', z);
    this.slices.label(ts);
    if (!this.keepOfiRows) return;
    const r = this.ofiRows;
    r.ts_ms.push(ts);
    r.ofi_value.push(e);
    r.ofi_z.push(z);
    r.scale.push(scale);
    r.session.push(this.slices.session);
    r.regime.push(this.slices.regime);
    r.vol_bucket.push(this.slices.vol_bucket);
    r.scenario_2x2.push(this.slices.scenario_2x2);
  }

  onTrade(ts: number, price: number, qty: number, isBuyerMaker: number): void {
    this.fusion.advance(ts);
    const d = this.cvd.update(price, qty, isBuyerMaker);
    const sc = this.cvdScale;
    const valid = !Number.isNaN(d);
    if (valid) sc.update(ts, d);
    this.slices.onTrade(ts);
    this.fusion.onTrade(ts, d);
    this.events.onTrade(ts, this.cvd.cvd);
    this.events.onZ(ts, 'cvd_z', valid ? sc.z : NaN);
    this.slices.label(ts);
    if (!this.keepCvdRows) return;
    const r = this.cvdRows;
    r.ts_ms.push(ts);
    r.cvd.push(this.cvd.cvd);
    r.delta.push(d);
    r.z_raw.push(valid ? sc.z_raw : NaN);
    r.z_cvd.push(valid ? sc.z : NaN);
    r.scale.push(valid ? sc.scale : NaN);
    r.sigma_floor.push(valid ? sc.sigma_floor : NaN);
    r.floor_used.push(valid && !Number.isNaN(sc.scale) ? (sc.floor_used ? 1 : 0) : -1);
    r.session.push(this.slices.session);
    r.regime.push(this.slices.regime);
    r.vol_bucket.push(this.slices.vol_bucket);
    r.scenario_2x2.push(this.slices.scenario_2x2);
  }

  /** End of stream: emit the samples at or before the last tick, finalise events. */
  flush(): void {
    this.fusion.flush();
    this.events.flush();
  }
}
