/**
 * Sequencer: arrival order `(recv_ts_ms, recv_seq)` in, event-time order out
 * (ARCHITECTURE §1). Live and replay push the same arrival order through the
 * same code and get the same output.
 *
 * ## Groups are independent
 * Every tick belongs to a **group** (the pipeline uses one per symbol; default
 * 0). Everything that decides when and with which ts a tick is released is
 * per group: the arrival clock, the skew estimate, the warm-up staging, the
 * pending heap and the late rule. So the ticks of one group come out in the
 * same order, at the same points of that group's own arrivals, with the same
 * ts and flags whatever the other groups do: a group pushed alone gives
 * exactly its part of a multi-group run (a prerequisite of sharding by
 * symbol). A push releases only ticks of its own group; the one global release
 * order is a function of the arrival order (each push's releases, in order;
 * `flush()` merges what is left of all groups by the release tuple). The price:
 * a quiet group's tick waits for that group's next arrival (or a flush), not
 * any group's.
 *
 * ## Clocks and skew
 * A tick's `ts_ms` is on one of two clocks:
 * - `CLOCK_EXCHANGE` (trades' `T`, futures bookTicker `T`, depth `E`): the exchange clock;
 * - `CLOCK_LOCAL` (spot bookTicker, which carries no time, so `ts_ms = recv_ts_ms`): the local clock.
 * The sequencer orders everything on the **exchange** clock. With
 * `skew = recv_ts - exchange_ts` of the group (negative on the reference
 * captures, about -1270 ms, because the recorder's clock was behind):
 * - key time of an exchange tick = `ts_ms` (unchanged);
 * - key time of a local tick = `recv_ts_ms - skew` (its estimated exchange time);
 * - the group's arrival clock = `max(recv_ts_ms of the group's ticks) - skew`.
 * A tick is released once its group's arrival clock `>= key + watermark_ms`.
 *
 * Skew, auto mode (`skew_ms = null`), per group: the `skew_quantile` (default
 * 0.01) order statistic (no interpolation, so integer inputs give an integer)
 * of `recv - ts` over the group's first `skew_samples` (500) exchange-clock
 * ticks, then frozen. A low quantile estimates clock offset + minimum latency,
 * so a local tick's estimated exchange time is never earlier than its true
 * time for 99% of latencies: quotes are not moved ahead of trades they could
 * not have seen. Until a group's estimate is frozen none of its ticks is
 * released: they wait in the group's staging FIFO and are keyed at freeze
 * time. The estimate freezes early when the group's arrival clock has advanced
 * `skew_max_wait_ms` since the group's first tick, or on `flush()`; a group
 * with no exchange-clock tick by then gets skew 0. A fixed `skew_ms` (all
 * groups) skips all of this.
 *
 * ## Order and late ticks
 * Release order within a group: `(key ts, kind rank, recv_seq, push order)`;
 * the last term only makes duplicated `recv_seq`s deterministic.
 * A tick that sorts before the last released tick **of its group** (key ts
 * earlier than that tick's ts, or equal ts with a smaller (rank, recv_seq); it
 * arrived after its watermark passed and after later ticks of its group went
 * out) is **released immediately with its ts clamped up to its group's last
 * released ts**. Each group's output ts stays monotone non-decreasing and
 * nothing is dropped; such ticks are counted in `late_ticks`, flagged
 * `FLAG_LATE`, and `max_late_ms` records the largest clamp (0 for an equal-ts
 * late tick). A tick that arrives after its watermark (on its group's clock)
 * but is still in order within its group keeps its own ts (it is released at
 * once, as the smallest pending key). The global release order is monotone in
 * ts only per group. With one group the non-late output is sorted by the full tuple.
 *
 * ## Cost
 * O(log n) per tick (one binary heap of slot indices per group; per-tick
 * fields live in one pool of parallel typed arrays, per-group state in typed
 * arrays indexed by group; no object or closure per tick), n = ticks pending
 * in the group. `flush()` is O(groups) per remaining tick (a k-way merge).
 *
 * ## Example
 *   const seq = new Sequencer({ ...DEFAULT_CALC_PARAMS.sequencer, skew_ms: 0 },
 *     (handle, ts, rank, flags) => out.push(handle));
 *   seq.push(KIND_RANK.trades, 1000, 1000, 0, packHandle(0, 0));  // trade at 1000
 *   seq.push(KIND_RANK.quotes,  990, 1010, 1, packHandle(1, 0));  // quote, arrived later but earlier in time
 *   seq.push(KIND_RANK.trades, 1600, 1600, 2, packHandle(0, 1));  // clock 1600: releases ts <= 1100
 *   // out = [quote handle, trade handle]
 */
import type { SequencerParams } from '../calc/params.js';
import { checkNumber } from '../calc/params.js';
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

  // slot pool (shared by all groups): per pending tick
  private cap = 0;
  private sKey = new Float64Array(0);
  private sRecv = new Float64Array(0);
  private sSeq = new Float64Array(0);
  private sOrd = new Float64Array(0);
  private sHandle = new Float64Array(0);
  private sRank = new Uint8Array(0);
  private sFlags = new Uint8Array(0);
  private free = new Int32Array(0);
  private nFree = 0;
  private nPending = 0;

  // per group (index = group id): clock, skew estimate, staging FIFO, heap, last released tick
  private nGroups = 0;
  private gMaxRecv = new Float64Array(0);
  private gFirstRecv = new Float64Array(0);
  private gSkew = new Float64Array(0);
  private gFrozen = new Uint8Array(0);
  private gNSamples = new Int32Array(0);
  /** Skew samples of a group still warming up (null once frozen or never seen). */
  private gSamples: (Float64Array | null)[] = [];
  /** Binary heap of slot ids, one per group. */
  private gHeap: Int32Array[] = [];
  private gNHeap = new Int32Array(0);
  /** Staging FIFO of slot ids (auto-skew warm-up), one per group. */
  private gStaged: Int32Array[] = [];
  private gNStaged = new Int32Array(0);
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
    this.grow(1024);
    this.reset();
  }

  /** Skew estimate of group 0 (`recv - exchange ts`, ms); NaN while it is still warming up. See `skewOf`. */
  get skew_ms(): number {
    return this.skewOf(0);
  }
  /** Number of exchange-clock ticks group 0's skew estimate used (0 when fixed). See `skewSamplesUsed`. */
  get skew_samples_used(): number {
    return this.skewSamplesUsed(0);
  }
  /** Skew of `group` (ms): the fixed `skew_ms`, or its own estimate (NaN while warming up or never seen). */
  skewOf(group: number): number {
    if (group < this.nGroups) return this.gSkew[group];
    return this.fixedSkew ?? NaN;
  }
  /** Exchange-clock ticks of `group` its skew estimate used (0 when fixed). */
  skewSamplesUsed(group: number): number {
    return this.fixedSkew === null && group < this.nGroups ? this.gNSamples[group] : 0;
  }
  /** Groups seen so far (ids 0 .. groups - 1; an id skipped over counts as seen, with no ticks). */
  get groups(): number {
    return this.nGroups;
  }
  /** Ticks held (heaps + staging, all groups). */
  get pending(): number {
    return this.nPending;
  }
  /** Last released ts of `group` (monotone), -Infinity before its first release. */
  lastReleasedTs(group = 0): number {
    return group < this.nGroups ? this.gLastTs[group] : -Infinity;
  }

  /**
   * Push one tick in arrival order. Releases (through the callback) every tick
   * of the tick's group that became due, possibly including this one; other
   * groups are not touched.
   * @param kindRank KIND_RANK[kind] (quotes 0, depth 1, trades 2)
   * @param tsMs event time on the tick's clock (ignored for CLOCK_LOCAL: recvTsMs is used)
   * @param recvTsMs local receive time
   * @param recvSeq arrival sequence number
   * @param handle opaque number returned on release (e.g. packHandle(batch, row))
   * @param clock CLOCK_EXCHANGE (default) or CLOCK_LOCAL
   * @param group independent group (integer >= 0, e.g. a symbol index; default 0)
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
    const g = group;
    if (!(g >= 0 && g < this.nGroups)) this.growGroups(g);
    this.pushed++;
    if (Number.isNaN(this.gFirstRecv[g])) this.gFirstRecv[g] = recvTsMs;
    if (recvTsMs > this.gMaxRecv[g]) this.gMaxRecv[g] = recvTsMs;

    if (this.gFrozen[g] === 0) {
      const n = this.gNSamples[g];
      if (clock === CLOCK_EXCHANGE && n < this.skewCap) {
        this.gSamples[g]![n] = recvTsMs - tsMs;
        this.gNSamples[g] = n + 1;
      }
      const s = this.alloc(kindRank, tsMs, recvTsMs, recvSeq, handle, clock);
      this.stage(g, s);
      if (this.gNSamples[g] >= this.skewCap || this.gMaxRecv[g] - this.gFirstRecv[g] >= this.skewWait) {
        this.freeze(g);
        this.drain(g, this.gMaxRecv[g] - this.gSkew[g] - this.watermark);
      }
      return;
    }

    const skew = this.gSkew[g];
    const key = clock === CLOCK_LOCAL ? recvTsMs - skew : tsMs;
    const limit = this.gMaxRecv[g] - skew - this.watermark;
    const past = key < limit ? FLAG_PAST_WATERMARK : 0;
    if (past) this.past_watermark++;
    const last = this.gLastTs[g];
    const lastRank = this.gLastRank[g];
    if (
      key < last ||
      (key === last && (kindRank < lastRank || (kindRank === lastRank && recvSeq < this.gLastSeq[g])))
    ) {
      // late rule: release now, clamped to the group's last released ts
      this.late_ticks++;
      const lateBy = last - key;
      if (lateBy > this.max_late_ms) this.max_late_ms = lateBy;
      this.released++;
      this.onRelease(handle, last, kindRank, FLAG_LATE | past | (clock === CLOCK_LOCAL ? FLAG_LOCAL_CLOCK : 0));
    } else {
      const s = this.alloc(kindRank, tsMs, recvTsMs, recvSeq, handle, clock);
      this.sKey[s] = key;
      this.sFlags[s] |= past;
      this.heapPush(g, s);
    }
    this.drain(g, limit);
  }

  /**
   * A heartbeat of `group` in arrival order: advances the group's arrival
   * clock to `recvTsMs` (never back) and releases what became due, like a
   * push without a tick. For a stream of the group's own that is not
   * sequenced (the pipeline: the symbol's depth messages), so the group's
   * clock moves between its ticks while it stays a function of the group's
   * own arrivals. Counts toward `skew_max_wait_ms`; not in `pushed`.
   */
  advance(recvTsMs: number, group = 0): void {
    if (!Number.isFinite(recvTsMs))
      throw new FlowlabError(`sequencer: heartbeat with non-finite recv_ts_ms=${recvTsMs}`);
    const g = group;
    if (!(g >= 0 && g < this.nGroups)) this.growGroups(g);
    if (Number.isNaN(this.gFirstRecv[g])) this.gFirstRecv[g] = recvTsMs;
    if (recvTsMs > this.gMaxRecv[g]) this.gMaxRecv[g] = recvTsMs;
    if (this.gFrozen[g] === 0) {
      if (this.gMaxRecv[g] - this.gFirstRecv[g] < this.skewWait) return;
      this.freeze(g);
    }
    this.drain(g, this.gMaxRecv[g] - this.gSkew[g] - this.watermark);
  }

  /**
   * Release everything still held (end of stream), all groups merged in
   * release-tuple order `(key ts, kind rank, recv_seq, push order)`; a group
   * still warming up its skew estimate freezes first. Pushing may continue afterwards.
   */
  flush(): void {
    const G = this.nGroups;
    for (let g = 0; g < G; g++) if (this.gFrozen[g] === 0) this.freeze(g);
    // k-way merge of the group heaps: O(groups) per tick, only at end of stream
    for (;;) {
      let best = -1;
      for (let g = 0; g < G; g++) {
        if (this.gNHeap[g] > 0 && (best < 0 || this.less(this.gHeap[g][0], this.gHeap[best][0]))) best = g;
      }
      if (best < 0) break;
      this.releaseSlot(best, this.heapPop(best));
    }
  }

  /** Forget all state (pending ticks are dropped, counters zeroed, auto skew re-estimated). */
  reset(): void {
    this.nFree = 0;
    for (let i = this.cap - 1; i >= 0; i--) this.free[this.nFree++] = i;
    this.nPending = 0;
    this.nGroups = 0;
    this.gSamples = [];
    this.gHeap = [];
    this.gStaged = [];
    this.ord = 0;
    this.pushed = 0;
    this.released = 0;
    this.late_ticks = 0;
    this.max_late_ms = 0;
    this.past_watermark = 0;
  }

  // ------------------------------------------------------------ internals

  /** Fix group g's skew (its own samples' quantile; 0 without any) and key + heap its staged ticks. */
  private freeze(g: number): void {
    const n = this.gNSamples[g];
    let skew = 0;
    if (n > 0) {
      const sorted = this.gSamples[g]!.slice(0, n).sort();
      skew = sorted[Math.floor(this.skewQ * (n - 1))];
    }
    this.gSkew[g] = skew;
    this.gFrozen[g] = 1;
    this.gSamples[g] = null;
    const staged = this.gStaged[g];
    const m = this.gNStaged[g];
    for (let i = 0; i < m; i++) {
      const s = staged[i];
      if (this.sFlags[s] & FLAG_LOCAL_CLOCK) this.sKey[s] = this.sRecv[s] - skew;
      this.heapPush(g, s);
    }
    this.gNStaged[g] = 0;
    this.gStaged[g] = new Int32Array(0);
  }

  private drain(g: number, limit: number): void {
    const heap = this.gHeap[g];
    while (this.gNHeap[g] > 0 && this.sKey[heap[0]] <= limit) this.releaseSlot(g, this.heapPop(g));
  }

  private releaseSlot(g: number, s: number): void {
    const ts = this.sKey[s];
    this.gLastTs[g] = ts;
    this.gLastRank[g] = this.sRank[s];
    this.gLastSeq[g] = this.sSeq[s];
    this.released++;
    this.nPending--;
    this.free[this.nFree++] = s;
    this.onRelease(this.sHandle[s], ts, this.sRank[s], this.sFlags[s]);
  }

  private alloc(rank: number, ts: number, recv: number, seq: number, handle: number, clock: number): number {
    if (this.nFree === 0) this.grow(this.cap * 2);
    const s = this.free[--this.nFree];
    this.nPending++;
    this.sKey[s] = ts;
    this.sRecv[s] = recv;
    this.sSeq[s] = seq;
    this.sOrd[s] = this.ord++;
    this.sHandle[s] = handle;
    this.sRank[s] = rank;
    this.sFlags[s] = clock === CLOCK_LOCAL ? FLAG_LOCAL_CLOCK : 0;
    return s;
  }

  /** Make room for groups 0..group (ids are small dense integers); new groups start empty. */
  private growGroups(group: number): void {
    if (!(Number.isInteger(group) && group >= 0 && group < 1 << 20))
      throw new FlowlabError(`sequencer: group ${group} is not an integer in [0, 2^20)`);
    const old = this.nGroups;
    const n = group + 1;
    if (n > this.gMaxRecv.length) {
      const size = Math.max(8, n, this.gMaxRecv.length * 2);
      const f64 = (a: Float64Array) => {
        const b = new Float64Array(size);
        b.set(a);
        return b;
      };
      const i32 = (a: Int32Array) => {
        const b = new Int32Array(size);
        b.set(a);
        return b;
      };
      this.gMaxRecv = f64(this.gMaxRecv);
      this.gFirstRecv = f64(this.gFirstRecv);
      this.gSkew = f64(this.gSkew);
      this.gLastTs = f64(this.gLastTs);
      this.gLastSeq = f64(this.gLastSeq);
      const frozen = new Uint8Array(size);
      frozen.set(this.gFrozen);
      this.gFrozen = frozen;
      const rank = new Int16Array(size);
      rank.set(this.gLastRank);
      this.gLastRank = rank;
      this.gNSamples = i32(this.gNSamples);
      this.gNHeap = i32(this.gNHeap);
      this.gNStaged = i32(this.gNStaged);
    }
    const fixed = this.fixedSkew !== null;
    for (let g = old; g < n; g++) {
      this.gMaxRecv[g] = -Infinity;
      this.gFirstRecv[g] = NaN;
      this.gSkew[g] = this.fixedSkew ?? NaN;
      this.gFrozen[g] = fixed ? 1 : 0;
      this.gNSamples[g] = 0;
      this.gSamples[g] = fixed ? null : new Float64Array(this.skewCap);
      this.gHeap[g] = new Int32Array(64);
      this.gNHeap[g] = 0;
      this.gStaged[g] = new Int32Array(fixed ? 0 : 64);
      this.gNStaged[g] = 0;
      this.gLastTs[g] = -Infinity;
      this.gLastRank[g] = -1;
      this.gLastSeq[g] = -Infinity;
    }
    if (n > old) this.nGroups = n;
  }

  private stage(g: number, s: number): void {
    const n = this.gNStaged[g];
    if (n === this.gStaged[g].length) {
      const next = new Int32Array(Math.max(64, n * 2));
      next.set(this.gStaged[g]);
      this.gStaged[g] = next;
    }
    this.gStaged[g][n] = s;
    this.gNStaged[g] = n + 1;
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

  private heapPush(g: number, s: number): void {
    let heap = this.gHeap[g];
    let i = this.gNHeap[g];
    if (i === heap.length) {
      const next = new Int32Array(i * 2);
      next.set(heap);
      this.gHeap[g] = heap = next;
    }
    this.gNHeap[g] = i + 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(s, heap[p])) break;
      heap[i] = heap[p];
      i = p;
    }
    heap[i] = s;
  }

  private heapPop(g: number): number {
    const heap = this.gHeap[g];
    const top = heap[0];
    const n = this.gNHeap[g] - 1;
    this.gNHeap[g] = n;
    const last = heap[n];
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
