/**
 * Sequencer: arrival order `(recv_ts_ms, recv_seq)` in, event-time order out
 * (ARCHITECTURE §1). Live and replay push the same arrival order through the
 * same code and get the same output.
 *
 * ## Clocks and skew
 * A tick's `ts_ms` is on one of two clocks:
 * - `CLOCK_EXCHANGE` (trades' `T`, futures bookTicker `T`, depth `E`): the exchange clock;
 * - `CLOCK_LOCAL` (spot bookTicker, which carries no time, so `ts_ms = recv_ts_ms`): the local clock.
 * The sequencer orders everything on the **exchange** clock. With
 * `skew = recv_ts - exchange_ts` (negative on the reference captures, about
 * -1270 ms, because the recorder's clock was behind):
 * - key time of an exchange tick = `ts_ms` (unchanged);
 * - key time of a local tick = `recv_ts_ms - skew` (its estimated exchange time);
 * - arrival clock = `max(recv_ts_ms seen) - skew`.
 * A tick is released once `arrival clock >= key + watermark_ms`.
 *
 * Skew, auto mode (`skew_ms = null`): the `skew_quantile` (default 0.01)
 * order statistic (no interpolation, so integer inputs give an integer) of
 * `recv - ts` over the first `skew_samples` (500) exchange-clock ticks, then
 * frozen. A low quantile estimates clock offset + minimum latency, so a local
 * tick's estimated exchange time is never earlier than its true time for 99% of
 * latencies: quotes are not moved ahead of trades they could not have seen.
 * Until the estimate is frozen nothing is released: ticks wait in a staging
 * FIFO and are keyed at freeze time. The estimate freezes early when the arrival
 * clock has advanced `skew_max_wait_ms` since the first tick, or on `flush()`;
 * with no exchange-clock tick at all the skew is 0. A fixed `skew_ms` skips all of this.
 *
 * ## Order and late ticks
 * Release order: `(key ts, kind rank, recv_seq, push order)`; the last term
 * only makes duplicated `recv_seq`s deterministic.
 * Every tick belongs to a **group** (the pipeline uses one per symbol; default
 * 0). Lateness is judged within the group only, because groups are
 * independent downstream (the calculators are per symbol):
 * a tick that sorts before the last released tick **of its group** (key ts
 * earlier than that tick's ts, or equal ts with a smaller (rank, recv_seq); it
 * arrived after its watermark passed and after later ticks of its group went
 * out) is **released immediately with its ts clamped up to its group's last
 * released ts**. Each group's output ts stays monotone non-decreasing and
 * nothing is dropped; such ticks are counted in `late_ticks`, flagged
 * `FLAG_LATE`, and `max_late_ms` records the largest clamp (0 for an equal-ts
 * late tick). A tick that arrives after its watermark but is still in order
 * within its group keeps its own ts (it is released at once, as the smallest
 * pending key): the one global release order stays a deterministic function
 * of the arrival order, but is monotone in ts only per group. With one group
 * the non-late output is sorted by the full tuple.
 *
 * ## Cost
 * O(log n) per tick (binary heap of slot indices; per-tick fields live in
 * parallel typed arrays, no object or closure per tick), n = ticks pending.
 *
 * ## Example
 *   const seq = new Sequencer({ ...DEFAULT_CALC_PARAMS.sequencer, skew_ms: 0 },
 *     (handle, ts, rank, flags) => out.push(handle));
 *   seq.push(KIND_RANK.trades, 1000, 1000, 0, packHandle(0, 0));  // trade at 1000
 *   seq.push(KIND_RANK.quotes,  990, 1010, 1, packHandle(1, 0));  // quote, arrived later but earlier in time
 *   seq.push(KIND_RANK.trades, 1600, 1600, 2, packHandle(0, 1));  // clock 1600: releases ts <= 1100
 *   // out = [quote handle, trade handle]
 */
import type { SequencerParams } from './params.js';
import { checkNumber } from './params.js';
import { FlowlabError } from '../core/errors.js';

export const CLOCK_EXCHANGE = 0;
export const CLOCK_LOCAL = 1;

/** Released-tick flag: the tick was late and its ts was clamped. */
export const FLAG_LATE = 1;
/** Released-tick flag: the ts was derived from the local receive time (`recv - skew`). */
export const FLAG_LOCAL_CLOCK = 2;
/**
 * Released-tick flag: the tick arrived after its watermark had passed (key ts
 * below the arrival clock minus the watermark when it was pushed), so it went
 * out at once. Set on late (clamped) ticks and on ticks that were still in
 * order within their group. Not set on ticks held while the skew estimate warms up.
 */
export const FLAG_PAST_WATERMARK = 4;

/** Called once per released tick, in event-time order per group. `tsMs` is the key time (clamped when late). */
export type ReleaseFn = (handle: number, tsMs: number, kindRank: number, flags: number) => void;

const ROW_BITS = 2 ** 32;

/** Pack a batch id (< 2^21) and a row index (< 2^32) into one float64 handle. */
export function packHandle(batchId: number, row: number): number {
  return batchId * ROW_BITS + row;
}
export function handleBatch(handle: number): number {
  return Math.floor(handle / ROW_BITS);
}
export function handleRow(handle: number): number {
  return handle % ROW_BITS;
}

export class Sequencer {
  private readonly watermark: number;
  private readonly fixedSkew: number | null;
  private readonly skewCap: number;
  private readonly skewQ: number;
  private readonly skewWait: number;

  // slot pool: per pending tick
  private cap = 0;
  private sKey = new Float64Array(0);
  private sRecv = new Float64Array(0);
  private sSeq = new Float64Array(0);
  private sOrd = new Float64Array(0);
  private sHandle = new Float64Array(0);
  private sRank = new Uint8Array(0);
  private sFlags = new Uint8Array(0);
  private sGroup = new Int32Array(0);
  private free = new Int32Array(0);
  private nFree = 0;
  // binary heap of slot ids
  private heap = new Int32Array(0);
  private nHeap = 0;
  // staging FIFO (auto-skew warm-up) of slot ids
  private staged = new Int32Array(0);
  private nStaged = 0;

  private skewSamples: Float64Array;
  private nSkewSamples = 0;
  private skew = NaN;
  private frozen = false;
  private firstRecv = NaN;
  private maxRecv = -Infinity;
  // per group: the last released tick's (ts, rank, recv_seq)
  private gLastTs = new Float64Array(0);
  private gLastRank = new Int16Array(0);
  private gLastSeq = new Float64Array(0);
  private ord = 0;

  /** Ticks pushed / released since the last reset. */
  pushed = 0;
  released = 0;
  /** Ticks released late (clamped), see the late rule above. */
  late_ticks = 0;
  /** Largest clamp applied to a late tick, ms. */
  max_late_ms = 0;
  /** Ticks released with FLAG_PAST_WATERMARK (late or not). */
  past_watermark = 0;

  constructor(
    params: SequencerParams,
    private readonly onRelease: ReleaseFn,
  ) {
    this.watermark = checkNumber('sequencer.watermark_ms', params.watermark_ms, 0);
    if (params.skew_ms !== null) checkNumber('sequencer.skew_ms', params.skew_ms, -Number.MAX_SAFE_INTEGER);
    this.fixedSkew = params.skew_ms;
    this.skewCap = checkNumber('sequencer.skew_samples', params.skew_samples, 1, 1_000_000, true);
    this.skewQ = checkNumber('sequencer.skew_quantile', params.skew_quantile, 0, 1);
    this.skewWait = checkNumber('sequencer.skew_max_wait_ms', params.skew_max_wait_ms, 0);
    this.skewSamples = new Float64Array(this.skewCap);
    this.grow(1024);
    this.reset();
  }

  /** Current skew estimate (`recv - exchange ts`, ms); NaN while the auto estimate is still warming up. */
  get skew_ms(): number {
    return this.skew;
  }
  /** Number of exchange-clock ticks the skew estimate used (0 when fixed). */
  get skew_samples_used(): number {
    return this.fixedSkew === null ? this.nSkewSamples : 0;
  }
  /** Ticks held (heap + staging). */
  get pending(): number {
    return this.nHeap + this.nStaged;
  }
  /** Last released ts of `group` (monotone), -Infinity before its first release. */
  lastReleasedTs(group = 0): number {
    return group < this.gLastTs.length ? this.gLastTs[group] : -Infinity;
  }

  /**
   * Push one tick in arrival order. Releases (through the callback) every tick
   * that became due, possibly including this one.
   * @param kindRank KIND_RANK[kind] (quotes 0, depth 1, trades 2)
   * @param tsMs event time on the tick's clock (ignored for CLOCK_LOCAL: recvTsMs is used)
   * @param recvTsMs local receive time
   * @param recvSeq arrival sequence number
   * @param handle opaque number returned on release (e.g. packHandle(batch, row))
   * @param clock CLOCK_EXCHANGE (default) or CLOCK_LOCAL
   * @param group lateness group (integer >= 0, e.g. a symbol index; default 0)
   */
  push(
    kindRank: number,
    tsMs: number,
    recvTsMs: number,
    recvSeq: number,
    handle: number,
    clock = CLOCK_EXCHANGE,
    group = 0,
  ): void {
    if (!Number.isFinite(recvTsMs) || (clock === CLOCK_EXCHANGE && !Number.isFinite(tsMs))) {
      throw new FlowlabError(
        `sequencer: tick with non-finite time (ts_ms=${tsMs}, recv_ts_ms=${recvTsMs}, recv_seq=${recvSeq})`,
      );
    }
    if (group >= this.gLastTs.length) this.growGroups(group);
    this.pushed++;
    if (this.pushed === 1) this.firstRecv = recvTsMs;
    if (recvTsMs > this.maxRecv) this.maxRecv = recvTsMs;

    if (!this.frozen) {
      if (clock === CLOCK_EXCHANGE && this.nSkewSamples < this.skewCap) {
        this.skewSamples[this.nSkewSamples++] = recvTsMs - tsMs;
      }
      const s = this.alloc(kindRank, tsMs, recvTsMs, recvSeq, handle, clock, group);
      this.stage(s);
      if (this.nSkewSamples >= this.skewCap || this.maxRecv - this.firstRecv >= this.skewWait) this.freeze();
      return;
    }

    const key = clock === CLOCK_LOCAL ? recvTsMs - this.skew : tsMs;
    const limit = this.maxRecv - this.skew - this.watermark;
    const past = key < limit ? FLAG_PAST_WATERMARK : 0;
    if (past) this.past_watermark++;
    const last = this.gLastTs[group];
    const lastRank = this.gLastRank[group];
    if (
      key < last ||
      (key === last && (kindRank < lastRank || (kindRank === lastRank && recvSeq < this.gLastSeq[group])))
    ) {
      // late rule: release now, clamped to the group's last released ts
      this.late_ticks++;
      const lateBy = last - key;
      if (lateBy > this.max_late_ms) this.max_late_ms = lateBy;
      this.released++;
      this.onRelease(handle, last, kindRank, FLAG_LATE | past | (clock === CLOCK_LOCAL ? FLAG_LOCAL_CLOCK : 0));
    } else {
      const s = this.alloc(kindRank, tsMs, recvTsMs, recvSeq, handle, clock, group);
      this.sKey[s] = key;
      this.sFlags[s] |= past;
      this.heapPush(s);
    }
    this.drain(limit);
  }

  /** Release everything still held (end of stream). Pushing may continue afterwards. */
  flush(): void {
    if (!this.frozen) this.freeze();
    this.drain(Infinity);
  }

  /** Forget all state (pending ticks are dropped, counters zeroed, auto skew re-estimated). */
  reset(): void {
    this.nHeap = 0;
    this.nStaged = 0;
    this.nFree = 0;
    for (let i = this.cap - 1; i >= 0; i--) this.free[this.nFree++] = i;
    this.nSkewSamples = 0;
    this.frozen = this.fixedSkew !== null;
    this.skew = this.fixedSkew ?? NaN;
    this.firstRecv = NaN;
    this.maxRecv = -Infinity;
    this.gLastTs.fill(-Infinity);
    this.gLastRank.fill(-1);
    this.gLastSeq.fill(-Infinity);
    this.ord = 0;
    this.pushed = 0;
    this.released = 0;
    this.late_ticks = 0;
    this.max_late_ms = 0;
    this.past_watermark = 0;
  }

  // ------------------------------------------------------------ internals

  private freeze(): void {
    const n = this.nSkewSamples;
    if (n === 0) {
      this.skew = 0;
    } else {
      const sorted = this.skewSamples.slice(0, n).sort();
      this.skew = sorted[Math.floor(this.skewQ * (n - 1))];
    }
    this.frozen = true;
    for (let i = 0; i < this.nStaged; i++) {
      const s = this.staged[i];
      this.sKey[s] = this.sFlags[s] & FLAG_LOCAL_CLOCK ? this.sRecv[s] - this.skew : this.sKey[s];
      this.heapPush(s);
    }
    this.nStaged = 0;
    this.drain(this.maxRecv - this.skew - this.watermark);
  }

  private drain(limit: number): void {
    const heap = this.heap;
    while (this.nHeap > 0 && this.sKey[heap[0]] <= limit) {
      const s = this.heapPop();
      const ts = this.sKey[s];
      const g = this.sGroup[s];
      this.gLastTs[g] = ts;
      this.gLastRank[g] = this.sRank[s];
      this.gLastSeq[g] = this.sSeq[s];
      this.released++;
      this.free[this.nFree++] = s;
      this.onRelease(this.sHandle[s], ts, this.sRank[s], this.sFlags[s]);
    }
  }

  private alloc(
    rank: number,
    ts: number,
    recv: number,
    seq: number,
    handle: number,
    clock: number,
    group: number,
  ): number {
    if (this.nFree === 0) this.grow(this.cap * 2);
    const s = this.free[--this.nFree];
    this.sKey[s] = ts;
    this.sRecv[s] = recv;
    this.sSeq[s] = seq;
    this.sOrd[s] = this.ord++;
    this.sHandle[s] = handle;
    this.sRank[s] = rank;
    this.sFlags[s] = clock === CLOCK_LOCAL ? FLAG_LOCAL_CLOCK : 0;
    this.sGroup[s] = group;
    return s;
  }

  /** Make room for groups 0..group (ids are small dense integers). */
  private growGroups(group: number): void {
    if (!(Number.isInteger(group) && group >= 0 && group < 1 << 20))
      throw new FlowlabError(`sequencer: group ${group} is not an integer in [0, 2^20)`);
    const n = Math.max(8, group + 1, this.gLastTs.length * 2);
    const ts = new Float64Array(n).fill(-Infinity);
    ts.set(this.gLastTs);
    const rank = new Int16Array(n).fill(-1);
    rank.set(this.gLastRank);
    const seq = new Float64Array(n).fill(-Infinity);
    seq.set(this.gLastSeq);
    this.gLastTs = ts;
    this.gLastRank = rank;
    this.gLastSeq = seq;
  }

  private stage(s: number): void {
    if (this.nStaged === this.staged.length) {
      const next = new Int32Array(Math.max(1024, this.staged.length * 2));
      next.set(this.staged);
      this.staged = next;
    }
    this.staged[this.nStaged++] = s;
  }

  private grow(n: number): void {
    const old = this.cap;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(n);
      b.set(a);
      return b;
    };
    this.sKey = f64(this.sKey);
    this.sRecv = f64(this.sRecv);
    this.sSeq = f64(this.sSeq);
    this.sOrd = f64(this.sOrd);
    this.sHandle = f64(this.sHandle);
    this.sRank = u8(this.sRank);
    this.sFlags = u8(this.sFlags);
    const g = new Int32Array(n);
    g.set(this.sGroup);
    this.sGroup = g;
    const heap = new Int32Array(n);
    heap.set(this.heap.subarray(0, this.nHeap));
    this.heap = heap;
    const free = new Int32Array(n);
    free.set(this.free.subarray(0, this.nFree));
    this.free = free;
    for (let i = n - 1; i >= old; i--) this.free[this.nFree++] = i;
    this.cap = n;
  }

  /** a before b in release order. */
  private less(a: number, b: number): boolean {
    const ka = this.sKey[a];
    const kb = this.sKey[b];
    if (ka !== kb) return ka < kb;
    const ra = this.sRank[a];
    const rb = this.sRank[b];
    if (ra !== rb) return ra < rb;
    const qa = this.sSeq[a];
    const qb = this.sSeq[b];
    if (qa !== qb) return qa < qb;
    return this.sOrd[a] < this.sOrd[b];
  }

  private heapPush(s: number): void {
    const heap = this.heap;
    let i = this.nHeap++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(s, heap[p])) break;
      heap[i] = heap[p];
      i = p;
    }
    heap[i] = s;
  }

  private heapPop(): number {
    const heap = this.heap;
    const top = heap[0];
    const last = heap[--this.nHeap];
    const n = this.nHeap;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(heap[r], heap[l]) ? r : l;
      if (!this.less(heap[c], last)) break;
      heap[i] = heap[c];
      i = c;
    }
    if (n > 0) heap[i] = last;
    return top;
  }
}
