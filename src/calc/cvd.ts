/**
 * Cumulative volume delta, ARCHITECTURE §4.
 *
 *   delta = m ? -qty : +qty       (m = is_buyer_maker; m = true means the taker SOLD)
 *   cvd   = Σ delta               (over included trades, since the last reset)
 * Units: base-asset quantity.
 *
 * Tick rule, only when the side is missing (is_buyer_maker = SIDE_UNKNOWN = -1):
 *   price > previous trade price  => buy  (+qty)
 *   price < previous trade price  => sell (-qty)
 *   price = previous trade price  => direction of the last non-zero price change
 *   no such change yet            => excluded: delta = NaN (null), cvd unchanged,
 *                                    counted in `excluded`
 * "Previous trade" and "last non-zero price change" are over all trades of the
 * symbol (sided or not), in event-time order. With `tick_rule = false` every
 * unsided trade is excluded. Trades with a non-finite price or qty are excluded too.
 *
 * Cost: O(1) per trade, no allocation.
 *
 * Example:
 *   const c = new Cvd(DEFAULT_CALC_PARAMS.cvd);
 *   c.update(100, 2, 0);    // +2  (taker bought), cvd 2
 *   c.update(100, 1, 1);    // -1  (taker sold),   cvd 1
 *   c.update(101, 3, -1);   // +3  (unknown side, uptick), cvd 4
 */
import type { CvdParams } from './params.js';
import { SIDE_UNKNOWN } from '../core/types.js';

export class Cvd {
  private readonly tickRule: boolean;
  private lastPx = NaN;
  private lastDir = 0;

  /** Running sum of included deltas. */
  cvd = 0;
  /** Trades seen, excluded (delta null), and signed by the tick rule. */
  trades = 0;
  excluded = 0;
  tick_rule_used = 0;

  constructor(params: CvdParams) {
    this.tickRule = params.tick_rule;
  }

  /**
   * One trade; isBuyerMaker is 1 (taker sold), 0 (taker bought) or -1 (unknown).
   * Returns delta, or NaN when the trade is excluded. Read `cvd` afterwards.
   */
  update(price: number, qty: number, isBuyerMaker: number): number {
    this.trades++;
    if (!Number.isFinite(price) || !Number.isFinite(qty)) {
      this.excluded++;
      return NaN;
    }
    let dir = 0;
    if (Number.isFinite(this.lastPx)) {
      if (price > this.lastPx) dir = 1;
      else if (price < this.lastPx) dir = -1;
    }
    if (dir !== 0) this.lastDir = dir;
    this.lastPx = price;

    let delta: number;
    if (isBuyerMaker === SIDE_UNKNOWN) {
      if (!this.tickRule || this.lastDir === 0) {
        this.excluded++;
        return NaN;
      }
      this.tick_rule_used++;
      delta = this.lastDir > 0 ? qty : -qty;
    } else {
      delta = isBuyerMaker ? -qty : qty;
    }
    if (delta === 0) delta = 0; // no -0
    this.cvd += delta;
    return delta;
  }

  reset(): void {
    this.lastPx = NaN;
    this.lastDir = 0;
    this.cvd = 0;
    this.trades = 0;
    this.excluded = 0;
    this.tick_rule_used = 0;
  }
}
