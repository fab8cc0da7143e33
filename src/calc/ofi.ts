/**
 * Order-flow imbalance (Cont, Kukanov & Stoikov 2014), ARCHITECTURE §4.
 *
 * L1, per quote update n, with weak inequalities:
 *   e_n = q^b_n·1{P^b_n >= P^b_{n-1}} - q^b_{n-1}·1{P^b_n <= P^b_{n-1}}
 *       - q^a_n·1{P^a_n <= P^a_{n-1}} + q^a_{n-1}·1{P^a_n >= P^a_{n-1}}
 * Units: base-asset quantity (same unit as the sizes). Positive = buy pressure.
 * Equal prices contribute the size change (q_n - q_{n-1}) on that side.
 * Crossed or locked quotes are computed like any other (events.ts flags them).
 *
 * Null rule: the first update of a symbol (no previous quote) returns NaN
 * (null), not 0. A quote with a non-finite price or size also returns NaN and
 * clears the previous quote, so the next valid quote is again a "first".
 *
 * Multi-level (DepthOfi): per level j the same formula on the level-j prices
 * and sizes of two consecutive snapshots, combined as
 *   e_n = Σ_j w_j · e_n^(j),  w_j = level_weights[j] / Σ level_weights  (equal when null).
 * A level a side does not have (thin book) is an empty level at price -∞ (bid)
 * or +∞ (ask) with size 0, so a level that appears adds +q (bid) / -q (ask) and
 * a level that disappears removes its previous size: the formula needs no special case.
 *
 * Cost: O(1) per L1 update, O(levels) per depth snapshot; no allocation.
 *
 * Example (L1):
 *   const o = new L1Ofi();
 *   o.update(100, 5, 101, 7);   // NaN (first)
 *   o.update(100, 6, 101, 7);   // bid equal: +6 - 5 = 1; ask equal: -7 + 7 = 0 => 1
 *   o.update(101, 2, 102, 3);   // bid up: +2; ask up: +7 => 9
 */
import type { OfiParams } from './params.js';
import { checkNumber } from './params.js';
import { UsageError } from '../core/errors.js';

/** e_n for one level/side pair given the previous and current best prices and sizes. */
export function ofiTerm(
  bidPx: number,
  bidQty: number,
  askPx: number,
  askQty: number,
  prevBidPx: number,
  prevBidQty: number,
  prevAskPx: number,
  prevAskQty: number,
): number {
  let e = 0;
  if (bidPx >= prevBidPx) e += bidQty;
  if (bidPx <= prevBidPx) e -= prevBidQty;
  if (askPx <= prevAskPx) e -= askQty;
  if (askPx >= prevAskPx) e += prevAskQty;
  return e === 0 ? 0 : e; // no -0 in outputs
}

/** L1 OFI, one instance per symbol. */
export class L1Ofi {
  private pb = NaN;
  private pbq = NaN;
  private pa = NaN;
  private paq = NaN;
  private has = false;
  /** Updates seen, and updates that returned null (first / invalid). */
  updates = 0;
  nulls = 0;

  /** Returns e_n, or NaN (null) for the first quote and for invalid quotes. */
  update(bidPx: number, bidQty: number, askPx: number, askQty: number): number {
    this.updates++;
    if (!(Number.isFinite(bidPx) && Number.isFinite(bidQty) && Number.isFinite(askPx) && Number.isFinite(askQty))) {
      this.has = false;
      this.nulls++;
      return NaN;
    }
    let e = NaN;
    if (this.has) e = ofiTerm(bidPx, bidQty, askPx, askQty, this.pb, this.pbq, this.pa, this.paq);
    else this.nulls++;
    this.pb = bidPx;
    this.pbq = bidQty;
    this.pa = askPx;
    this.paq = askQty;
    this.has = true;
    return e;
  }

  reset(): void {
    this.has = false;
    this.updates = 0;
    this.nulls = 0;
  }
}

/** Multi-level OFI from depth snapshots, one instance per symbol. */
export class DepthOfi {
  readonly levels: number;
  /** Normalised level weights (sum 1). */
  readonly weights: Float64Array;
  /** Per-level e_n of the last update (NaN when the update returned null). */
  readonly last_levels: Float64Array;
  private readonly pBidPx: Float64Array;
  private readonly pBidQty: Float64Array;
  private readonly pAskPx: Float64Array;
  private readonly pAskQty: Float64Array;
  private has = false;
  updates = 0;
  nulls = 0;

  constructor(params: OfiParams) {
    const L = checkNumber('ofi.depth_levels', params.depth_levels, 1, 1000, true);
    this.levels = L;
    this.weights = new Float64Array(L);
    if (params.level_weights === null) {
      this.weights.fill(1 / L);
    } else {
      const w = params.level_weights;
      if (!Array.isArray(w) || w.length !== L) {
        throw new UsageError(
          `ofi.level_weights: ${JSON.stringify(w)} is not valid (expected ${L} non-negative numbers, one per level, or null)`,
        );
      }
      let sum = 0;
      for (let j = 0; j < L; j++) sum += checkNumber(`ofi.level_weights[${j}]`, w[j], 0);
      if (!(sum > 0))
        throw new UsageError(`ofi.level_weights: ${JSON.stringify(w)} sums to 0 (expected a positive sum)`);
      for (let j = 0; j < L; j++) this.weights[j] = w[j] / sum;
    }
    this.last_levels = new Float64Array(L).fill(NaN);
    this.pBidPx = new Float64Array(L);
    this.pBidQty = new Float64Array(L);
    this.pAskPx = new Float64Array(L);
    this.pAskQty = new Float64Array(L);
  }

  /**
   * One snapshot. Level j of the bid side is `bidPx[off + j]` for j < nBid
   * (same for asks), so a DepthBatch row i is passed as
   * `(b.bid_px, b.bid_qty, b.n_bid[i], b.ask_px, b.ask_qty, b.n_ask[i], i * b.levels)`.
   * Levels beyond `levels` are ignored. Returns the weighted e_n or NaN (first / invalid).
   */
  update(
    bidPx: ArrayLike<number>,
    bidQty: ArrayLike<number>,
    nBid: number,
    askPx: ArrayLike<number>,
    askQty: ArrayLike<number>,
    nAsk: number,
    off = 0,
  ): number {
    this.updates++;
    const L = this.levels;
    const nb = nBid < L ? nBid : L;
    const na = nAsk < L ? nAsk : L;
    for (let j = 0; j < nb; j++) {
      if (!Number.isFinite(bidPx[off + j]) || !Number.isFinite(bidQty[off + j])) return this.invalid();
    }
    for (let j = 0; j < na; j++) {
      if (!Number.isFinite(askPx[off + j]) || !Number.isFinite(askQty[off + j])) return this.invalid();
    }
    let total = NaN;
    if (this.has) {
      total = 0;
      for (let j = 0; j < L; j++) {
        const bp = j < nb ? bidPx[off + j] : -Infinity;
        const bq = j < nb ? bidQty[off + j] : 0;
        const ap = j < na ? askPx[off + j] : Infinity;
        const aq = j < na ? askQty[off + j] : 0;
        const e = ofiTerm(bp, bq, ap, aq, this.pBidPx[j], this.pBidQty[j], this.pAskPx[j], this.pAskQty[j]);
        this.last_levels[j] = e;
        total += this.weights[j] * e;
      }
      if (total === 0) total = 0;
    } else {
      this.nulls++;
      this.last_levels.fill(NaN);
    }
    for (let j = 0; j < L; j++) {
      this.pBidPx[j] = j < nb ? bidPx[off + j] : -Infinity;
      this.pBidQty[j] = j < nb ? bidQty[off + j] : 0;
      this.pAskPx[j] = j < na ? askPx[off + j] : Infinity;
      this.pAskQty[j] = j < na ? askQty[off + j] : 0;
    }
    this.has = true;
    return total;
  }

  reset(): void {
    this.has = false;
    this.updates = 0;
    this.nulls = 0;
    this.last_levels.fill(NaN);
  }

  private invalid(): number {
    this.has = false;
    this.nulls++;
    this.last_levels.fill(NaN);
    return NaN;
  }
}
