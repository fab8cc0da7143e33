/**
 * Exchange-to-receiver channel of one symbol: latency, clock skew and injected
 * imperfections, plus the outbox that holds generated messages until they can
 * be released in arrival order.
 *
 * Delivery model (per symbol, one FIFO connection):
 *   emit time  em = event_ts_ms (`E`) for trades, ts_ms for quotes and depth
 *   latency    lat = 1 + floor(latencyMedianMs · exp(latencySigma · N(0,1)))
 *              + with probability spikeProb a spike U(spikeMinMs, spikeMaxMs)
 *   chain      recv_i = max(recv_{i-1}, em_i + skewMs + lat_i)
 *              (FIFO: a spike delays the messages queued behind it, so latency
 *              alone never reorders a symbol's messages)
 * Injected faults (counted exactly, see `ChannelCounters`):
 *   gap   (trades, rate gapRate): the message is lost; its agg id is skipped.
 *   dup   (trades, rate dupRate): delivered again, U(1, 250) ms after the original
 *         (a reconnect replaying the overlap); same ids and fields.
 *   ooo   (any kind, rate oooRate): this message alone is held back by an extra
 *         delay, U(30, 400) ms for 90% of them (within the 500 ms sequencer
 *         watermark once latency is added) and U(600, 2000) ms for 10%; the
 *         FIFO chain behind it is not delayed, so later messages overtake it.
 *
 * Draws come from two streams per symbol: 'latency' (one normal + one uniform
 * per generated message, lost ones included) and 'faults', so changing a fault
 * rate never changes latencies, and neither changes the market.
 *
 * Outbox: typed-array columns (no row objects) plus `order`, the pending
 * message indices kept sorted by (recv_ts_ms, seq) by online insertion (almost
 * every message lands at the end). `compact()` moves the pending tail to a
 * fresh buffer after each release, so memory stays one chunk wide.
 */
import type { RawSink } from '../core/types.js';
import { Rng } from './rng.js';

export const K_TRADE = 0;
export const K_QUOTE = 1;
export const K_DEPTH = 2;

export interface ChannelParams {
  readonly latencyMedianMs: number;
  readonly latencySigma: number;
  readonly spikeProb: number;
  readonly spikeMinMs: number;
  readonly spikeMaxMs: number;
  /** Constant clock skew added to every receive time (integer ms, may be negative). */
  readonly skewMs: number;
  readonly dupRate: number;
  readonly gapRate: number;
  readonly oooRate: number;
  /** Watermark used only to count messages that arrive too late for the sequencer. */
  readonly watermarkMs: number;
}

export const DEFAULT_CHANNEL: Omit<ChannelParams, 'skewMs' | 'dupRate' | 'gapRate' | 'oooRate'> = {
  latencyMedianMs: 27,
  latencySigma: 0.35,
  spikeProb: 0.0004,
  spikeMinMs: 80,
  spikeMaxMs: 600,
  watermarkMs: 500,
};

/** Exact counts of what the channel did: the truth DQ figures can be checked against. */
export interface ChannelCounters {
  /** Messages handed to the sink (dups included, lost trades excluded). */
  messages: number;
  trades_delivered: number;
  quotes_delivered: number;
  depth_delivered: number;
  /** Trades lost on the way (each one is a skipped agg id). */
  lost_trades: number;
  /** Extra deliveries of a trade already delivered. */
  dup_trades: number;
  /** Messages given an extra hold-back delay. */
  ooo_delayed: number;
  /** ... of which at least one later-generated message of the symbol arrived first. */
  ooo_reordered: number;
  /** Messages (any cause) whose recv - em - skew exceeds the watermark (late for the sequencer). */
  late_over_watermark: number;
  /** Latency spikes drawn. */
  latency_spikes: number;
}

export function newCounters(): ChannelCounters {
  return {
    messages: 0,
    trades_delivered: 0,
    quotes_delivered: 0,
    depth_delivered: 0,
    lost_trades: 0,
    dup_trades: 0,
    ooo_delayed: 0,
    ooo_reordered: 0,
    late_over_watermark: 0,
    latency_spikes: 0,
  };
}

const F64_FIELDS = ['recv', 'seq', 'ts', 'evt', 'id', 'id2', 'id3', 'p1', 'q1', 'p2', 'q2'] as const;
type F64Field = (typeof F64_FIELDS)[number];

/** One buffer of message columns. Depth payloads live in a pool; `id2` holds the pool slot. */
class MsgCols {
  cap: number;
  f: Record<F64Field, Float64Array>;
  kind: Uint8Array;
  side: Int8Array;
  n = 0;
  dcap: number;
  dn = 0;
  dbp: Float64Array;
  dbq: Float64Array;
  dap: Float64Array;
  daq: Float64Array;
  dnb: Uint8Array;
  dna: Uint8Array;
  constructor(
    cap: number,
    dcap: number,
    readonly levels: number,
  ) {
    this.cap = cap;
    this.f = {} as Record<F64Field, Float64Array>;
    for (const k of F64_FIELDS) this.f[k] = new Float64Array(cap);
    this.kind = new Uint8Array(cap);
    this.side = new Int8Array(cap);
    this.dcap = dcap;
    this.dbp = new Float64Array(dcap * levels);
    this.dbq = new Float64Array(dcap * levels);
    this.dap = new Float64Array(dcap * levels);
    this.daq = new Float64Array(dcap * levels);
    this.dnb = new Uint8Array(dcap);
    this.dna = new Uint8Array(dcap);
  }
  ensure(): void {
    if (this.n < this.cap) return;
    const cap = this.cap * 2;
    for (const k of F64_FIELDS) {
      const a = new Float64Array(cap);
      a.set(this.f[k]);
      this.f[k] = a;
    }
    const kind = new Uint8Array(cap);
    kind.set(this.kind);
    this.kind = kind;
    const side = new Int8Array(cap);
    side.set(this.side);
    this.side = side;
    this.cap = cap;
  }
  ensureDepth(): void {
    if (this.dn < this.dcap) return;
    const cap = this.dcap * 2;
    const L = this.levels;
    const grow = (a: Float64Array) => {
      const b = new Float64Array(cap * L);
      b.set(a);
      return b;
    };
    this.dbp = grow(this.dbp);
    this.dbq = grow(this.dbq);
    this.dap = grow(this.dap);
    this.daq = grow(this.daq);
    const nb = new Uint8Array(cap);
    nb.set(this.dnb);
    this.dnb = nb;
    const na = new Uint8Array(cap);
    na.set(this.dna);
    this.dna = na;
    this.dcap = cap;
  }
}

export class Outbox {
  private cur: MsgCols;
  private spare: MsgCols;
  /** Pending message indices sorted by (recv, seq); [head, len) are not yet released. */
  private order: Int32Array;
  private head = 0;
  private len = 0;
  private seq = 0;
  private chainRecv = -Infinity;
  /** Receive times of held-back messages not yet known to be overtaken (cleared by the next on-chain arrival). */
  private heldBack: number[] = [];
  private readonly lat: Rng;
  private readonly faults: Rng;
  readonly counters: ChannelCounters = newCounters();
  /** Histogram of chain latency (recv - em - skew), 1 ms bins; last bin is overflow. */
  readonly latencyHist = new Float64Array(5001);

  constructor(
    readonly symbol: string,
    readonly symbolIndex: number,
    seed: number,
    readonly params: ChannelParams,
    readonly levels: number,
  ) {
    this.cur = new MsgCols(4096, 256, levels);
    this.spare = new MsgCols(4096, 256, levels);
    this.order = new Int32Array(4096);
    this.lat = Rng.derive(seed, symbol, 'latency');
    this.faults = Rng.derive(seed, symbol, 'faults');
  }

  /** Receive time of the next message in arrival order, or Infinity. */
  headRecv(): number {
    return this.head < this.len ? this.cur.f.recv[this.order[this.head]] : Infinity;
  }

  get pending(): number {
    return this.len - this.head;
  }

  /** Draw this message's chain receive time (FIFO). */
  private chain(em: number): number {
    const p = this.params;
    let lat = 1 + Math.floor(p.latencyMedianMs * Math.exp(p.latencySigma * this.lat.normal()));
    if (this.lat.uniform() < p.spikeProb) {
      lat += Math.floor(p.spikeMinMs + (p.spikeMaxMs - p.spikeMinMs) * this.lat.uniform());
      this.counters.latency_spikes++;
    }
    return Math.max(this.chainRecv, em + p.skewMs + lat);
  }

  /** Commit a chain receive time (FIFO state and latency histogram). */
  private advanceChain(recv: number, em: number): void {
    this.chainRecv = recv;
    const l = recv - em - this.params.skewMs;
    this.latencyHist[Math.min(5000, Math.max(0, l))]++;
  }

  /**
   * Apply the ooo hold-back to a delivered chain message and settle the
   * reorder check: an earlier held-back message is overtaken when this one
   * arrives strictly before it. Once a message arrives on the chain (not held
   * back), every later message arrives no earlier, so the pending list clears.
   */
  private holdBack(recv: number): number {
    const p = this.params;
    let out = recv;
    const held = p.oooRate > 0 && this.faults.uniform() < p.oooRate;
    if (held) {
      const far = this.faults.uniform() < 0.1;
      out += far ? 600 + Math.floor(1400 * this.faults.uniform()) : 30 + Math.floor(370 * this.faults.uniform());
      this.counters.ooo_delayed++;
    }
    const pend = this.heldBack;
    if (pend.length > 0) {
      let keep = 0;
      for (let j = 0; j < pend.length; j++) {
        if (pend[j] > out) this.counters.ooo_reordered++;
        else if (held) pend[keep++] = pend[j];
      }
      pend.length = keep;
    }
    if (held) pend.push(out);
    return out;
  }

  private slot(kind: number, recv: number, ts: number, em: number): number {
    const c = this.cur;
    c.ensure();
    const i = c.n++;
    c.kind[i] = kind;
    c.f.recv[i] = recv;
    c.f.seq[i] = this.seq++;
    c.f.ts[i] = ts;
    c.f.evt[i] = em;
    if (recv - em - this.params.skewMs > this.params.watermarkMs) this.counters.late_over_watermark++;
    // online insertion into arrival order (stable: equal recv keeps generation order)
    if (this.len === this.order.length) {
      const o = new Int32Array(this.order.length * 2);
      o.set(this.order);
      this.order = o;
    }
    const order = this.order;
    const recvCol = c.f.recv;
    let j = this.len++;
    while (j > this.head && recvCol[order[j - 1]] > recv) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = i;
    this.counters.messages++;
    return i;
  }

  trade(
    ts: number,
    evt: number,
    aggId: number,
    price: number,
    qty: number,
    isBuyerMaker: number,
    firstId: number,
    lastId: number,
  ): void {
    const recv0 = this.chain(evt);
    if (this.params.gapRate > 0 && this.faults.uniform() < this.params.gapRate) {
      this.counters.lost_trades++;
      return;
    }
    this.advanceChain(recv0, evt);
    const recv = this.holdBack(recv0);
    this.putTrade(recv, ts, evt, aggId, price, qty, isBuyerMaker, firstId, lastId);
    if (this.params.dupRate > 0 && this.faults.uniform() < this.params.dupRate) {
      this.counters.dup_trades++;
      this.putTrade(
        recv + 1 + Math.floor(250 * this.faults.uniform()),
        ts,
        evt,
        aggId,
        price,
        qty,
        isBuyerMaker,
        firstId,
        lastId,
      );
    }
  }

  private putTrade(
    recv: number,
    ts: number,
    evt: number,
    aggId: number,
    price: number,
    qty: number,
    m: number,
    firstId: number,
    lastId: number,
  ): void {
    const i = this.slot(K_TRADE, recv, ts, evt);
    const f = this.cur.f;
    f.id[i] = aggId;
    f.id2[i] = firstId;
    f.id3[i] = lastId;
    f.p1[i] = price;
    f.q1[i] = qty;
    this.cur.side[i] = m;
    this.counters.trades_delivered++;
  }

  quote(ts: number, updateId: number, bidPx: number, bidQty: number, askPx: number, askQty: number): void {
    const recv0 = this.chain(ts);
    this.advanceChain(recv0, ts);
    const i = this.slot(K_QUOTE, this.holdBack(recv0), ts, ts);
    const f = this.cur.f;
    f.id[i] = updateId;
    f.p1[i] = bidPx;
    f.q1[i] = bidQty;
    f.p2[i] = askPx;
    f.q2[i] = askQty;
    this.counters.quotes_delivered++;
  }

  depth(
    ts: number,
    lastUpdateId: number,
    bidPx: ArrayLike<number>,
    bidQty: ArrayLike<number>,
    nBid: number,
    askPx: ArrayLike<number>,
    askQty: ArrayLike<number>,
    nAsk: number,
  ): void {
    const recv0 = this.chain(ts);
    this.advanceChain(recv0, ts);
    const i = this.slot(K_DEPTH, this.holdBack(recv0), ts, ts);
    const c = this.cur;
    c.ensureDepth();
    const d = c.dn++;
    const L = this.levels;
    const nb = Math.min(nBid, L);
    const na = Math.min(nAsk, L);
    for (let j = 0; j < nb; j++) {
      c.dbp[d * L + j] = bidPx[j];
      c.dbq[d * L + j] = bidQty[j];
    }
    for (let j = 0; j < na; j++) {
      c.dap[d * L + j] = askPx[j];
      c.daq[d * L + j] = askQty[j];
    }
    c.dnb[d] = nb;
    c.dna[d] = na;
    c.f.id[i] = lastUpdateId;
    c.f.id2[i] = d;
    this.counters.depth_delivered++;
  }

  /** Hand the next message in arrival order to the sink. */
  emitHead(sink: RawSink): void {
    const c = this.cur;
    const f = c.f;
    const i = this.order[this.head++];
    const s = this.symbol;
    switch (c.kind[i]) {
      case K_TRADE:
        sink.trade(s, f.recv[i], f.ts[i], f.evt[i], f.id[i], f.p1[i], f.q1[i], c.side[i], f.id2[i], f.id3[i]);
        break;
      case K_QUOTE:
        sink.quote(s, f.recv[i], f.ts[i], f.id[i], f.p1[i], f.q1[i], f.p2[i], f.q2[i]);
        break;
      default: {
        const d = f.id2[i];
        const L = this.levels;
        const o = d * L;
        sink.depth(
          s,
          f.recv[i],
          f.ts[i],
          f.id[i],
          c.dbp.subarray(o, o + L),
          c.dbq.subarray(o, o + L),
          c.dnb[d],
          c.dap.subarray(o, o + L),
          c.daq.subarray(o, o + L),
          c.dna[d],
        );
      }
    }
  }

  /** Move the pending messages to the spare buffer (in arrival order) and swap. */
  compact(): void {
    const src = this.cur;
    const dst = this.spare;
    dst.n = 0;
    dst.dn = 0;
    const L = this.levels;
    for (let j = this.head; j < this.len; j++) {
      const i = this.order[j];
      dst.ensure();
      const k = dst.n++;
      for (const name of F64_FIELDS) dst.f[name][k] = src.f[name][i];
      dst.kind[k] = src.kind[i];
      dst.side[k] = src.side[i];
      if (src.kind[i] === K_DEPTH) {
        dst.ensureDepth();
        const d = dst.dn++;
        const s = src.f.id2[i];
        dst.dbp.set(src.dbp.subarray(s * L, s * L + L), d * L);
        dst.dbq.set(src.dbq.subarray(s * L, s * L + L), d * L);
        dst.dap.set(src.dap.subarray(s * L, s * L + L), d * L);
        dst.daq.set(src.daq.subarray(s * L, s * L + L), d * L);
        dst.dnb[d] = src.dnb[s];
        dst.dna[d] = src.dna[s];
        dst.f.id2[k] = d;
      }
    }
    const n = dst.n;
    for (let j = 0; j < n; j++) this.order[j] = j;
    this.head = 0;
    this.len = n;
    this.spare = src;
    this.cur = dst;
  }
}

/**
 * Release, in global arrival order, every pending message with recv <= `cutoff`
 * across the outboxes. Ties on recv_ts_ms go to the lower symbol index, then
 * generation order. Returns the number of messages released.
 */
export function releaseUntil(outboxes: readonly Outbox[], cutoff: number, sink: RawSink): number {
  let n = 0;
  for (;;) {
    let best = -1;
    let bestRecv = Infinity;
    for (let k = 0; k < outboxes.length; k++) {
      const r = outboxes[k].headRecv();
      if (r < bestRecv) {
        bestRecv = r;
        best = k;
      }
    }
    if (best < 0 || bestRecv > cutoff) return n;
    // release the whole run of this outbox that precedes every other head
    let limit = Infinity;
    let limitIdx = Infinity;
    for (let k = 0; k < outboxes.length; k++) {
      if (k === best) continue;
      const r = outboxes[k].headRecv();
      if (r < limit || (r === limit && k < limitIdx)) {
        limit = r;
        limitIdx = k;
      }
    }
    const ob = outboxes[best];
    for (;;) {
      ob.emitHead(sink);
      n++;
      const r = ob.headRecv();
      if (r > cutoff || r > limit || (r === limit && limitIdx < best) || r === Infinity) break;
    }
  }
}
