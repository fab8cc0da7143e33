/**
 * LiveBatcher: tapped ticks (./recorder.ts `LiveTap`) collected into columnar
 * arrival blocks for `Pipeline.push`, the call a replay makes. Used by
 * `flowlab live` (src/live/live.ts) and the recorder's hourly coverage
 * (./hourly.ts), so both label ticks exactly as a replay does. It lives here,
 * beside the tap it implements, so the recorder does not import src/live.
 */
import type { LiveTap } from './recorder.js';
import type { ArrivalBlock } from '../src/pipeline/arrival.js';
import { GrowableF64, GrowableI32, GrowableI8, GrowableU8 } from '../src/core/growable.js';
import { F64_COLUMNS, type QuoteBatch, type TickBatch, type TradeBatch } from '../src/core/types.js';
import { FlowlabError } from '../src/core/errors.js';

/** Replay batch ids must stay below 2^20 (src/pipeline); live ids wrap, long after their ticks were released. */
const ID_SPACE = 2 ** 20;

interface Stream {
  readonly index: number;
  readonly symbol: string;
  readonly kind: 'trades' | 'quotes';
  readonly cols: GrowableF64[];
  readonly side: GrowableI8 | null;
  rows: number;
}

/** Collects tapped ticks into columnar arrival blocks (no per-tick objects). */
export class LiveBatcher implements LiveTap {
  private readonly streams: Stream[] = [];
  private readonly index = new Map<string, number>();
  private readonly src = new GrowableU8(4096);
  private readonly row = new GrowableI32(4096);
  private nextId = 0;
  ticks = 0;

  private stream(symbol: string, kind: 'trades' | 'quotes'): Stream {
    const key = `${symbol}\u0000${kind}`;
    let k = this.index.get(key);
    if (k === undefined) {
      if (this.streams.length >= 255) throw new FlowlabError('live: more than 255 streams');
      k = this.streams.length;
      const names = F64_COLUMNS[kind]; // cols[i] is names[i]: the pushes below go by position
      this.streams.push({
        index: k,
        symbol,
        kind,
        cols: names.map(() => new GrowableF64(1024)),
        side: kind === 'trades' ? new GrowableI8(1024) : null,
        rows: 0,
      });
      this.index.set(key, k);
    }
    return this.streams[k];
  }

  private arrive(st: Stream): void {
    this.src.push(st.index);
    this.row.push(st.rows++);
    this.ticks++;
  }

  trade(
    recvSeq: number,
    symbol: string,
    recv: number,
    ts: number,
    ev: number,
    id: number,
    price: number,
    qty: number,
    side: number,
    first: number,
    last: number,
  ): void {
    const st = this.stream(symbol, 'trades');
    const c = st.cols;
    c[0].push(recv);
    c[1].push(recvSeq);
    c[2].push(ts);
    c[3].push(ev);
    c[4].push(id);
    c[5].push(price);
    c[6].push(qty);
    c[7].push(first);
    c[8].push(last);
    st.side!.push(side);
    this.arrive(st);
  }

  quote(
    recvSeq: number,
    symbol: string,
    recv: number,
    ts: number,
    updateId: number,
    bp: number,
    bq: number,
    ap: number,
    aq: number,
  ): void {
    const st = this.stream(symbol, 'quotes');
    const c = st.cols;
    c[0].push(recv);
    c[1].push(recvSeq);
    c[2].push(ts);
    c[3].push(updateId);
    c[4].push(bp);
    c[5].push(bq);
    c[6].push(ap);
    c[7].push(aq);
    this.arrive(st);
  }

  /** The arrivals since the last flush as one block (null when there were none). */
  flush(): ArrivalBlock | null {
    const n = this.src.length;
    if (n === 0) return null;
    const batches: TickBatch[] = [];
    const batchIds: number[] = [];
    for (const st of this.streams) {
      const v = st.cols.map((g) => g.view().slice());
      if (st.kind === 'trades') {
        const b: TradeBatch = {
          kind: 'trades',
          symbol: st.symbol,
          length: st.rows,
          recv_ts_ms: v[0],
          recv_seq: v[1],
          ts_ms: v[2],
          event_ts_ms: v[3],
          agg_trade_id: v[4],
          price: v[5],
          qty: v[6],
          is_buyer_maker: st.side!.view().slice(),
          first_trade_id: v[7],
          last_trade_id: v[8],
        };
        batches.push(b);
      } else {
        const b: QuoteBatch = {
          kind: 'quotes',
          symbol: st.symbol,
          length: st.rows,
          recv_ts_ms: v[0],
          recv_seq: v[1],
          ts_ms: v[2],
          update_id: v[3],
          bid_px: v[4],
          bid_qty: v[5],
          ask_px: v[6],
          ask_qty: v[7],
        };
        batches.push(b);
      }
      if (st.rows > 0) {
        batchIds.push(this.nextId);
        this.nextId = (this.nextId + 1) % ID_SPACE;
      } else batchIds.push(-1);
      for (const g of st.cols) g.clear();
      st.side?.clear();
      st.rows = 0;
    }
    const block: ArrivalBlock = { n, batches, batchIds, src: this.src.view().slice(), row: this.row.view().slice() };
    this.src.clear();
    this.row.clear();
    return block;
  }
}
