/**
 * Local order book rebuilt from Binance depth diffs, synced to a REST snapshot
 * with Binance's rules (BINANCE.md), emitting a top-N row after every applied
 * diff.
 *
 * Sync rules (chosen per diff: a diff carrying `pu` follows the futures rules):
 *   spot:    drop `u <= lastUpdateId`; the first applied has `U <= lastUpdateId+1 <= u`;
 *            afterwards `U == prev u + 1`.
 *   futures: drop `u < lastUpdateId`;  the first applied has `U <= lastUpdateId <= u`;
 *            afterwards `pu == prev u`.
 * While synced, a diff with `u <= prev u` is a re-delivery (duplicate line),
 * dropped and counted, not a break. Any other discontinuity is a sequence
 * break: counted, the book is cleared and marked unsynced, and no depth row is
 * emitted until the next snapshot (diffs are buffered for it; those never used
 * are counted as `depth_diffs_dropped_unsynced`). Nothing is papered over.
 *
 * Diffs that arrive before the snapshot are buffered (bounded, oldest evicted
 * and counted). When the snapshot arrives they are replayed through the rules;
 * the rows they produce carry the snapshot line's receive time, because that is
 * when the book became known locally (no row claims knowledge before arrival),
 * and their own exchange time. The snapshot itself emits no row: the first
 * applied diff straddles it and supersedes it at once.
 *
 * Crossed books (best bid >= best ask after a diff, e.g. after a missed
 * zero-size update) are counted and repaired by removing the stale crossed
 * levels on the side that did NOT just update: if the diff set the new best
 * bid, asks at or below it go; if it set the new best ask, bids at or above it
 * go. A diff that set both (self-contradictory) trims the asks (documented tie rule).
 *
 * Cost: each side is a sorted Float64Array (binary search, memmove insert /
 * delete). Keys are `sign * price` ascending so the best level is always the
 * last element: updates near the top of the book move few elements.
 */
import type { RawSink } from '../core/types.js';
import type { ImportCounters } from './counters.js';

/** One side of a price-level book. */
export class BookSide {
  private keys: Float64Array;
  private qtys: Float64Array;
  /** Number of levels. */
  n = 0;
  /** +1 for bids (best = highest price), -1 for asks (best = lowest price). */
  constructor(
    readonly sign: 1 | -1,
    capacity = 1024,
  ) {
    this.keys = new Float64Array(capacity);
    this.qtys = new Float64Array(capacity);
  }

  clear(): void {
    this.n = 0;
  }

  /** Index of the first key >= k. */
  private lowerBound(k: number): number {
    let lo = 0;
    let hi = this.n;
    const keys = this.keys;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid] < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Set the absolute quantity at `price`; qty 0 removes the level (removing a missing level is normal). */
  set(price: number, qty: number): void {
    const k = this.sign * price;
    const i = this.lowerBound(k);
    const n = this.n;
    if (i < n && this.keys[i] === k) {
      if (qty === 0) {
        this.keys.copyWithin(i, i + 1, n);
        this.qtys.copyWithin(i, i + 1, n);
        this.n = n - 1;
      } else {
        this.qtys[i] = qty;
      }
      return;
    }
    if (qty === 0) return;
    if (n === this.keys.length) {
      const nk = new Float64Array(n * 2);
      const nq = new Float64Array(n * 2);
      nk.set(this.keys);
      nq.set(this.qtys);
      this.keys = nk;
      this.qtys = nq;
    }
    this.keys.copyWithin(i + 1, i, n);
    this.qtys.copyWithin(i + 1, i, n);
    this.keys[i] = k;
    this.qtys[i] = qty;
    this.n = n + 1;
  }

  /** Best price, NaN when empty. */
  best(): number {
    return this.n > 0 ? this.sign * this.keys[this.n - 1] : NaN;
  }

  bestQty(): number {
    return this.n > 0 ? this.qtys[this.n - 1] : NaN;
  }

  /** Quantity at `price`, 0 when absent. */
  qtyAt(price: number): number {
    const k = this.sign * price;
    const i = this.lowerBound(k);
    return i < this.n && this.keys[i] === k ? this.qtys[i] : 0;
  }

  /** Copy the best `max` levels, best first, into `px` / `qty`; returns how many. */
  top(max: number, px: Float64Array, qty: Float64Array): number {
    const m = Math.min(max, this.n);
    for (let j = 0; j < m; j++) {
      const i = this.n - 1 - j;
      px[j] = this.sign * this.keys[i];
      qty[j] = this.qtys[i];
    }
    return m;
  }

  /**
   * Remove the levels that cross the other side's best price `other`: for bids,
   * prices >= other; for asks, prices <= other. Returns how many were removed.
   */
  trimCrossing(other: number): number {
    const k = this.sign * other;
    let removed = 0;
    while (this.n > 0 && this.keys[this.n - 1] >= k) {
      this.n--;
      removed++;
    }
    return removed;
  }

  /** All levels, best first (tests and debugging; allocates). */
  levels(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = this.n - 1; i >= 0; i--) out.push([this.sign * this.keys[i], this.qtys[i]]);
    return out;
  }
}

/** A parsed depth diff (`depthUpdate`). `pu` is NaN on spot. Level arrays are parallel. */
export interface DepthDiff {
  readonly U: number;
  readonly u: number;
  readonly pu: number;
  readonly tsMs: number;
  readonly recvTsMs: number;
  readonly bidPx: Float64Array;
  readonly bidQty: Float64Array;
  readonly askPx: Float64Array;
  readonly askQty: Float64Array;
}

/** A parsed REST depth snapshot. */
export interface DepthSnapshot {
  readonly lastUpdateId: number;
  readonly bidPx: Float64Array;
  readonly bidQty: Float64Array;
  readonly askPx: Float64Array;
  readonly askQty: Float64Array;
}

export type BookState = 'waiting' | 'syncing' | 'synced';

/**
 * A `SyncedBook`'s state as plain JSON (the recorder checkpoints it): sync
 * state, last update id (null while waiting), every level best first as a
 * flat `[price, qty, price, qty, ...]` list, and the diffs buffered while
 * waiting for a snapshot. Doubles survive `JSON.stringify` / `JSON.parse`
 * exactly (shortest round-trip form).
 */
export interface BookStateJson {
  readonly state: BookState;
  readonly lastUpdateId: number | null;
  readonly bids: number[];
  readonly asks: number[];
  readonly buffer: DiffJson[];
}

/** A buffered diff as JSON (`pu` null on spot; level arrays parallel). */
export interface DiffJson {
  readonly U: number;
  readonly u: number;
  readonly pu: number | null;
  readonly ts: number;
  readonly recv: number;
  readonly bp: number[];
  readonly bq: number[];
  readonly ap: number[];
  readonly aq: number[];
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isLevels(v: unknown): v is number[] {
  return Array.isArray(v) && v.length % 2 === 0 && v.every((x) => isNum(x) && x > 0);
}

function isNums(v: unknown): v is number[] {
  return Array.isArray(v) && v.every(isNum);
}

/** Shape check of a `BookStateJson` read back from disk; returns a reason, or null when usable. */
export function checkBookStateJson(v: unknown): string | null {
  if (v === null || typeof v !== 'object') return 'not an object';
  const o = v as Record<string, unknown>;
  if (o.state !== 'waiting' && o.state !== 'syncing' && o.state !== 'synced')
    return `bad state ${JSON.stringify(o.state)}`;
  if (o.state !== 'waiting' && !isNum(o.lastUpdateId)) return 'no lastUpdateId';
  if (!isLevels(o.bids) || !isLevels(o.asks)) return 'bad levels';
  if (!Array.isArray(o.buffer)) return 'no buffer';
  for (const d of o.buffer as Record<string, unknown>[]) {
    if (
      d === null ||
      typeof d !== 'object' ||
      !isNum(d.U) ||
      !isNum(d.u) ||
      !(d.pu === null || isNum(d.pu)) ||
      !isNum(d.ts) ||
      !isNum(d.recv)
    )
      return 'bad buffered diff';
    if (
      !isNums(d.bp) ||
      !isNums(d.bq) ||
      !isNums(d.ap) ||
      !isNums(d.aq) ||
      d.bp.length !== d.bq.length ||
      d.ap.length !== d.aq.length
    )
      return 'bad buffered diff levels';
  }
  return null;
}

/** Default bound on diffs buffered while waiting for a snapshot (~8 min of spot @100ms diffs). */
export const DEFAULT_MAX_BUFFERED_DIFFS = 5000;

/**
 * The book of one symbol plus its sync state machine:
 *   waiting (no usable snapshot; diffs buffered) --snapshot--> syncing
 *   syncing (snapshot loaded; waiting for the straddling diff) --diff--> synced | waiting (break)
 *   synced --break--> waiting (book cleared)
 */
export class SyncedBook {
  readonly bids = new BookSide(1);
  readonly asks = new BookSide(-1);
  state: BookState = 'waiting';
  /** Last applied update id (synced), or the snapshot's lastUpdateId (syncing). */
  lastUpdateId = NaN;
  private buffer: DepthDiff[] = [];
  private readonly bp: Float64Array;
  private readonly bq: Float64Array;
  private readonly ap: Float64Array;
  private readonly aq: Float64Array;

  constructor(
    readonly symbol: string,
    private readonly sink: RawSink,
    private readonly c: ImportCounters,
    readonly levels: number,
    readonly maxBuffered = DEFAULT_MAX_BUFFERED_DIFFS,
  ) {
    this.bp = new Float64Array(levels);
    this.bq = new Float64Array(levels);
    this.ap = new Float64Array(levels);
    this.aq = new Float64Array(levels);
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /** A REST snapshot arrived (at `recvTsMs`). */
  onSnapshot(s: DepthSnapshot, recvTsMs: number): void {
    this.c.depth_snapshots++;
    if (this.state === 'synced') {
      this.c.depth_snapshots_ignored++;
      return;
    }
    this.bids.clear();
    this.asks.clear();
    for (let i = 0; i < s.bidPx.length; i++) this.bids.set(s.bidPx[i], s.bidQty[i]);
    for (let i = 0; i < s.askPx.length; i++) this.asks.set(s.askPx[i], s.askQty[i]);
    this.lastUpdateId = s.lastUpdateId;
    this.state = 'syncing';
    const pending = this.buffer;
    this.buffer = [];
    for (const d of pending) this.process(d, Math.max(d.recvTsMs, recvTsMs));
  }

  /** A diff arrived. */
  onDiff(d: DepthDiff): void {
    this.c.depth_diffs++;
    this.process(d, d.recvTsMs);
  }

  private process(d: DepthDiff, recvTsMs: number): void {
    const c = this.c;
    const futures = !Number.isNaN(d.pu);
    if (this.state === 'synced') {
      if (d.u <= this.lastUpdateId) {
        c.depth_diffs_duplicate++;
        return;
      }
      const follows = futures ? d.pu === this.lastUpdateId : d.U === this.lastUpdateId + 1;
      if (!follows) return this.breakSeq(d);
      this.apply(d, recvTsMs);
      return;
    }
    if (this.state === 'syncing') {
      const lid = this.lastUpdateId;
      if (futures ? d.u < lid : d.u <= lid) {
        c.depth_diffs_stale++;
        return;
      }
      if (d.U <= (futures ? lid : lid + 1)) {
        this.state = 'synced';
        this.apply(d, recvTsMs);
        return;
      }
      return this.breakSeq(d);
    }
    this.bufferDiff(d);
  }

  private breakSeq(d: DepthDiff): void {
    this.c.depth_seq_breaks++;
    this.state = 'waiting';
    this.bids.clear();
    this.asks.clear();
    this.lastUpdateId = NaN;
    this.bufferDiff(d);
  }

  private bufferDiff(d: DepthDiff): void {
    if (this.buffer.length >= this.maxBuffered) {
      this.buffer.shift();
      this.c.depth_buffer_overflow++;
      this.c.depth_diffs_dropped_unsynced++;
      this.evicted++;
    }
    this.buffer.push(d);
  }

  private apply(d: DepthDiff, recvTsMs: number): void {
    const c = this.c;
    for (let i = 0; i < d.bidPx.length; i++) this.bids.set(d.bidPx[i], d.bidQty[i]);
    for (let i = 0; i < d.askPx.length; i++) this.asks.set(d.askPx[i], d.askQty[i]);
    this.lastUpdateId = d.u;
    c.depth_diffs_applied++;
    const bb = this.bids.best();
    const ba = this.asks.best();
    if (bb >= ba) {
      c.depth_crossed++;
      const bidFresh = touches(d.bidPx, d.bidQty, bb);
      const askFresh = touches(d.askPx, d.askQty, ba);
      if (askFresh && !bidFresh) c.depth_crossed_levels_removed += this.bids.trimCrossing(ba);
      else c.depth_crossed_levels_removed += this.asks.trimCrossing(bb);
    }
    const L = this.levels;
    const nb = this.bids.top(L, this.bp, this.bq);
    const na = this.asks.top(L, this.ap, this.aq);
    this.sink.depth(this.symbol, recvTsMs, d.tsMs, d.u, this.bp, this.bq, nb, this.ap, this.aq, na);
    c.rows.depth++;
  }

  /** The whole state (levels, sync state, buffered diffs) as JSON; `restore` rebuilds exactly this book. */
  toJSON(): BookStateJson {
    return {
      state: this.state,
      lastUpdateId: Number.isNaN(this.lastUpdateId) ? null : this.lastUpdateId,
      bids: this.bids.levels().flat(),
      asks: this.asks.levels().flat(),
      buffer: this.buffer.map((d) => ({
        U: d.U,
        u: d.u,
        pu: Number.isNaN(d.pu) ? null : d.pu,
        ts: d.tsMs,
        recv: d.recvTsMs,
        bp: Array.from(d.bidPx),
        bq: Array.from(d.bidQty),
        ap: Array.from(d.askPx),
        aq: Array.from(d.askQty),
      })),
    };
  }

  /** Replace the state with one from `toJSON()` (shape-checked by `checkBookStateJson`). Counters are not touched. */
  restore(j: BookStateJson): void {
    this.bids.clear();
    this.asks.clear();
    for (let i = 0; i + 1 < j.bids.length; i += 2) this.bids.set(j.bids[i], j.bids[i + 1]);
    for (let i = 0; i + 1 < j.asks.length; i += 2) this.asks.set(j.asks[i], j.asks[i + 1]);
    this.state = j.state;
    this.lastUpdateId = j.lastUpdateId === null ? NaN : j.lastUpdateId;
    this.buffer = j.buffer.map((d) => ({
      U: d.U,
      u: d.u,
      pu: d.pu === null ? NaN : d.pu,
      tsMs: d.ts,
      recvTsMs: d.recv,
      bidPx: Float64Array.from(d.bp),
      bidQty: Float64Array.from(d.bq),
      askPx: Float64Array.from(d.ap),
      askQty: Float64Array.from(d.aq),
    }));
  }

  /** Buffered diffs of this book evicted because the buffer was full (this process; not checkpointed). */
  evicted = 0;

  /**
   * End of input: buffered diffs were never applied. Returns how many, with
   * the ones evicted earlier: every diff of this book counted in
   * `depth_diffs_dropped_unsynced`, so a warning and the counter agree.
   */
  finish(): { buffered: number; evicted: number } {
    const n = this.buffer.length;
    this.c.depth_diffs_dropped_unsynced += n;
    this.buffer = [];
    return { buffered: n, evicted: this.evicted };
  }
}

/** Did the diff set `price` with a positive quantity? */
function touches(px: Float64Array, qty: Float64Array, price: number): boolean {
  for (let i = 0; i < px.length; i++) if (px[i] === price && qty[i] > 0) return true;
  return false;
}
