/**
 * Slow, obvious reference computations over a synthetic market held in memory:
 * a RawSink that keeps every tick (columnar, per symbol, in arrival order), and
 * the AUC of windowed order flow against the sign of the forward mid change.
 * Used by the synth tests and by measure-auc.ts (the figures in src/synth/README.md).
 */
import { GrowableF64, GrowableI8, GrowableU8 } from '../../src/core/growable.js';
import type { RawSink } from '../../src/core/types.js';

export class SymbolTicks {
  // trades, arrival order
  readonly tRecv = new GrowableF64(1 << 16);
  readonly tTs = new GrowableF64(1 << 16);
  readonly tEvt = new GrowableF64(1 << 16);
  readonly tId = new GrowableF64(1 << 16);
  readonly tFirst = new GrowableF64(1 << 16);
  readonly tLast = new GrowableF64(1 << 16);
  readonly tPx = new GrowableF64(1 << 16);
  readonly tQty = new GrowableF64(1 << 16);
  readonly tM = new GrowableI8(1 << 16);
  readonly tSeq = new GrowableF64(1 << 16);
  // quotes, arrival order
  readonly qRecv = new GrowableF64(1 << 16);
  readonly qTs = new GrowableF64(1 << 16);
  readonly qId = new GrowableF64(1 << 16);
  readonly qBid = new GrowableF64(1 << 16);
  readonly qBidQty = new GrowableF64(1 << 16);
  readonly qAsk = new GrowableF64(1 << 16);
  readonly qAskQty = new GrowableF64(1 << 16);
  readonly qSeq = new GrowableF64(1 << 16);
  // depth (level 0 plus counts), arrival order
  readonly dRecv = new GrowableF64(1 << 12);
  readonly dTs = new GrowableF64(1 << 12);
  readonly dId = new GrowableF64(1 << 12);
  readonly dBid0 = new GrowableF64(1 << 12);
  readonly dBidQty0 = new GrowableF64(1 << 12);
  readonly dAsk0 = new GrowableF64(1 << 12);
  readonly dAskQty0 = new GrowableF64(1 << 12);
  readonly dNb = new GrowableU8(1 << 12);
  readonly dNa = new GrowableU8(1 << 12);
  readonly dSeq = new GrowableF64(1 << 12);
  /** Depth rows whose levels are not strictly monotone away from the touch. */
  depthNonMonotone = 0;
}

/** Keeps every tick in memory. `keepDepthLevels` checks level ordering on the fly (levels are not stored). */
export class MemorySink implements RawSink {
  readonly bySymbol = new Map<string, SymbolTicks>();
  seq = 0;
  private sym(s: string): SymbolTicks {
    let x = this.bySymbol.get(s);
    if (!x) {
      x = new SymbolTicks();
      this.bySymbol.set(s, x);
    }
    return x;
  }
  trade(
    symbol: string,
    recv: number,
    ts: number,
    evt: number,
    id: number,
    price: number,
    qty: number,
    m: number,
    first: number,
    last: number,
  ): void {
    const x = this.sym(symbol);
    x.tRecv.push(recv);
    x.tTs.push(ts);
    x.tEvt.push(evt);
    x.tId.push(id);
    x.tFirst.push(first);
    x.tLast.push(last);
    x.tPx.push(price);
    x.tQty.push(qty);
    x.tM.push(m);
    x.tSeq.push(this.seq++);
  }
  quote(symbol: string, recv: number, ts: number, id: number, bid: number, bq: number, ask: number, aq: number): void {
    const x = this.sym(symbol);
    x.qRecv.push(recv);
    x.qTs.push(ts);
    x.qId.push(id);
    x.qBid.push(bid);
    x.qBidQty.push(bq);
    x.qAsk.push(ask);
    x.qAskQty.push(aq);
    x.qSeq.push(this.seq++);
  }
  depth(
    symbol: string,
    recv: number,
    ts: number,
    id: number,
    bidPx: ArrayLike<number>,
    bidQty: ArrayLike<number>,
    nb: number,
    askPx: ArrayLike<number>,
    askQty: ArrayLike<number>,
    na: number,
  ): void {
    const x = this.sym(symbol);
    x.dRecv.push(recv);
    x.dTs.push(ts);
    x.dId.push(id);
    x.dBid0.push(nb > 0 ? bidPx[0] : NaN);
    x.dBidQty0.push(nb > 0 ? bidQty[0] : NaN);
    x.dAsk0.push(na > 0 ? askPx[0] : NaN);
    x.dAskQty0.push(na > 0 ? askQty[0] : NaN);
    x.dNb.push(nb);
    x.dNa.push(na);
    x.dSeq.push(this.seq++);
    for (let j = 1; j < nb; j++) if (!(bidPx[j] < bidPx[j - 1]) || !(bidQty[j] > 0)) x.depthNonMonotone++;
    for (let j = 1; j < na; j++) if (!(askPx[j] > askPx[j - 1]) || !(askQty[j] > 0)) x.depthNonMonotone++;
  }
}

/** Indices 0..n-1 sorted by (key, tie). */
export function argsort(key: Float64Array, tie?: Float64Array): Int32Array {
  const idx = Array.from({ length: key.length }, (_, i) => i);
  idx.sort((a, b) => key[a] - key[b] || (tie ? tie[a] - tie[b] : a - b));
  return Int32Array.from(idx);
}

/** Event-time view of one symbol: trades deduplicated by agg id, both kinds sorted by ts_ms. */
export interface EventView {
  readonly tradeTs: Float64Array;
  /** +qty for buy aggressors, -qty for sells (m = true means the taker sold). */
  readonly signedQty: Float64Array;
  readonly quoteTs: Float64Array;
  readonly bid: Float64Array;
  readonly ask: Float64Array;
  readonly bidQty: Float64Array;
  readonly askQty: Float64Array;
}

export function eventView(x: SymbolTicks): EventView {
  const ti = argsort(x.tTs.view(), x.tSeq.view());
  const seen = new Set<number>();
  const ts: number[] = [];
  const sq: number[] = [];
  for (const i of ti) {
    const id = x.tId.data[i];
    if (seen.has(id)) continue;
    seen.add(id);
    ts.push(x.tTs.data[i]);
    sq.push(x.tM.data[i] === 1 ? -x.tQty.data[i] : x.tQty.data[i]);
  }
  const qi = argsort(x.qTs.view(), x.qSeq.view());
  const pick = (g: GrowableF64) => Float64Array.from(qi, (i) => g.data[i]);
  return {
    tradeTs: Float64Array.from(ts),
    signedQty: Float64Array.from(sq),
    quoteTs: pick(x.qTs),
    bid: pick(x.qBid),
    ask: pick(x.qAsk),
    bidQty: pick(x.qBidQty),
    askQty: pick(x.qAskQty),
  };
}

/** Cont-Kukanov-Stoikov e_n per quote (ARCHITECTURE §4), e_0 = 0. */
export function ofiIncrements(v: EventView): Float64Array {
  const n = v.quoteTs.length;
  const e = new Float64Array(n);
  for (let i = 1; i < n; i++) {
    const pb = v.bid[i];
    const pb0 = v.bid[i - 1];
    const pa = v.ask[i];
    const pa0 = v.ask[i - 1];
    e[i] =
      (pb >= pb0 ? v.bidQty[i] : 0) -
      (pb <= pb0 ? v.bidQty[i - 1] : 0) -
      (pa <= pa0 ? v.askQty[i] : 0) +
      (pa >= pa0 ? v.askQty[i - 1] : 0);
  }
  return e;
}

/** Sum of `vals` over events with ts in (s - windowMs, s], for s = t0, t0 + step, ... (two pointers). */
export function windowSums(
  ts: Float64Array,
  vals: Float64Array,
  t0: number,
  t1: number,
  stepMs: number,
  windowMs: number,
): Float64Array {
  const n = Math.floor((t1 - t0) / stepMs) + 1;
  const out = new Float64Array(n);
  let hi = 0;
  let lo = 0;
  let sum = 0;
  for (let k = 0; k < n; k++) {
    const s = t0 + k * stepMs;
    while (hi < ts.length && ts[hi] <= s) sum += vals[hi++];
    while (lo < hi && ts[lo] <= s - windowMs) sum -= vals[lo++];
    out[k] = sum;
  }
  return out;
}

/**
 * Label per sample s (ARCHITECTURE §5): mid(s) = last quote at or before s,
 * mid(s+H) = first quote at or after s+H within tolMs (inclusive);
 * 1 up, 0 down, NaN if equal or unmatched.
 */
export function labels(
  v: EventView,
  t0: number,
  t1: number,
  stepMs: number,
  horizonMs: number,
  tolMs = 1500,
): Float64Array {
  const n = Math.floor((t1 - t0) / stepMs) + 1;
  const y = new Float64Array(n).fill(NaN);
  const q = v.quoteTs;
  let a = 0;
  let b = 0;
  for (let k = 0; k < n; k++) {
    const s = t0 + k * stepMs;
    while (a < q.length && q[a] <= s) a++;
    if (a === 0) continue;
    const m0 = (v.bid[a - 1] + v.ask[a - 1]) / 2;
    while (b < q.length && q[b] < s + horizonMs) b++;
    if (b >= q.length || q[b] > s + horizonMs + tolMs) continue;
    const m1 = (v.bid[b] + v.ask[b]) / 2;
    if (m1 !== m0) y[k] = m1 > m0 ? 1 : 0;
  }
  return y;
}

/** ROC AUC by ranks (Mann-Whitney, average ranks for ties) over samples with a label and a finite score. */
export function aucByRanks(score: Float64Array, y: Float64Array): { auc: number; n: number; pos: number } {
  const idx: number[] = [];
  for (let i = 0; i < score.length; i++) if (!Number.isNaN(y[i]) && Number.isFinite(score[i])) idx.push(i);
  idx.sort((a, b) => score[a] - score[b]);
  let rankSumPos = 0;
  let pos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && score[idx[j + 1]] === score[idx[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (y[idx[k]] === 1) {
        rankSumPos += avgRank;
        pos++;
      }
    i = j + 1;
  }
  const neg = idx.length - pos;
  const auc = pos > 0 && neg > 0 ? (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg) : NaN;
  return { auc, n: idx.length, pos };
}

/** Causal scale-free z: x / EWMA(|x|) of the previous samples (half-life in samples); NaN during warm-up. */
export function causalZ(x: Float64Array, halfLife: number, warmup: number): Float64Array {
  const a = 0.5 ** (1 / halfLife);
  const z = new Float64Array(x.length);
  let m = 0;
  let w = 0;
  for (let i = 0; i < x.length; i++) {
    z[i] = i >= warmup && m > 0 ? x[i] / (m / w) : NaN;
    m = a * m + Math.abs(x[i]);
    w = a * w + 1;
  }
  return z;
}

export interface FlowAuc {
  readonly cvd: number;
  readonly ofi: number;
  readonly fusion: number;
  readonly n: number;
}

/**
 * AUCs of one symbol, sampled every second from start + 10 min to end - H:
 * cvd = windowed signed trade volume, ofi = windowed CKS OFI,
 * fusion = 0.6·z_ofi + 0.4·z_cvd with causal EWMA-|x| scales (half-life 600 samples).
 */
export function flowAuc(v: EventView, startMs: number, endMs: number, windowMs: number, horizonMs = 60_000): FlowAuc {
  const t0 = startMs + 600_000;
  const t1 = endMs - horizonMs - 2000;
  const y = labels(v, t0, t1, 1000, horizonMs);
  const cvd = windowSums(v.tradeTs, v.signedQty, t0, t1, 1000, windowMs);
  const ofi = windowSums(v.quoteTs, ofiIncrements(v), t0, t1, 1000, windowMs);
  const zc = causalZ(cvd, 600, 300);
  const zo = causalZ(ofi, 600, 300);
  const fusion = new Float64Array(cvd.length);
  for (let i = 0; i < fusion.length; i++) fusion[i] = 0.6 * zo[i] + 0.4 * zc[i];
  const a = aucByRanks(cvd, y);
  return { cvd: a.auc, ofi: aucByRanks(ofi, y).auc, fusion: aucByRanks(fusion, y).auc, n: a.n };
}

/** Keeps only what the flow/label references need (ts, signed size, L1), much lighter than MemorySink. */
export class FlowSink implements RawSink {
  private readonly t = new Map<string, { ts: GrowableF64; sq: GrowableF64; id: GrowableF64 }>();
  private readonly q = new Map<
    string,
    { ts: GrowableF64; bid: GrowableF64; ask: GrowableF64; bq: GrowableF64; aq: GrowableF64 }
  >();
  trade(
    symbol: string,
    _recv: number,
    ts: number,
    _evt: number,
    id: number,
    _price: number,
    qty: number,
    m: number,
  ): void {
    let x = this.t.get(symbol);
    if (!x)
      this.t.set(
        symbol,
        (x = { ts: new GrowableF64(1 << 18), sq: new GrowableF64(1 << 18), id: new GrowableF64(1 << 18) }),
      );
    x.ts.push(ts);
    x.sq.push(m === 1 ? -qty : qty);
    x.id.push(id);
  }
  quote(
    symbol: string,
    _recv: number,
    ts: number,
    _id: number,
    bid: number,
    bq: number,
    ask: number,
    aq: number,
  ): void {
    let x = this.q.get(symbol);
    if (!x) {
      const g = () => new GrowableF64(1 << 18);
      this.q.set(symbol, (x = { ts: g(), bid: g(), ask: g(), bq: g(), aq: g() }));
    }
    x.ts.push(ts);
    x.bid.push(bid);
    x.ask.push(ask);
    x.bq.push(bq);
    x.aq.push(aq);
  }
  depth(): void {}
  symbols(): string[] {
    return [...this.t.keys()].sort();
  }
  /** Event-time view (trades deduplicated by agg id, keeping the first arrival). */
  view(symbol: string): EventView {
    const t = this.t.get(symbol)!;
    const q = this.q.get(symbol)!;
    const seen = new Set<number>();
    const keep: number[] = [];
    for (let i = 0; i < t.id.length; i++) {
      if (seen.has(t.id.data[i])) continue;
      seen.add(t.id.data[i]);
      keep.push(i);
    }
    keep.sort((a, b) => t.ts.data[a] - t.ts.data[b] || a - b);
    const qi = argsort(q.ts.view());
    const pick = (g: GrowableF64) => Float64Array.from(qi, (i) => g.data[i]);
    return {
      tradeTs: Float64Array.from(keep, (i) => t.ts.data[i]),
      signedQty: Float64Array.from(keep, (i) => t.sq.data[i]),
      quoteTs: pick(q.ts),
      bid: pick(q.bid),
      ask: pick(q.ask),
      bidQty: pick(q.bq),
      askQty: pick(q.aq),
    };
  }
}
