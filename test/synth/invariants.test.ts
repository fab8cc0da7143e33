/**
 * Exchange semantics of the synthetic market, checked tick by tick on 3 h x 6
 * symbols held in memory: price/lot grids, uncrossed L1, trade-at-touch by
 * aggressor side, depth top == L1 in force, consecutive aggTrade ids except
 * the injected faults (whose counts must match the truth in the summary),
 * latency figures and arrival order.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SYNTH, generate, specFor, type SynthSummary } from '../../src/synth/index.js';
import { POW10 } from '../../src/synth/symbols.js';
import { MemorySink, argsort, type SymbolTicks } from './reference.js';

const HOURS = 3;
let sink: MemorySink;
let summary: Omit<SynthSummary, 'outDir'>;
// a second run with fault rates 10x the defaults, to check the counters against the data
let faultySink: MemorySink;
let faulty: Omit<SynthSummary, 'outDir'>;

beforeAll(async () => {
  sink = new MemorySink();
  summary = await generate({ ...DEFAULT_SYNTH, hours: HOURS }, sink);
  faultySink = new MemorySink();
  faulty = await generate(
    { ...DEFAULT_SYNTH, hours: 1, dupRate: 0.01, gapRate: 0.005, oooRate: 0.02, symbols: ['BTCUSDT', 'XRPUSDT'] },
    faultySink,
  );
}, 60_000);

function onGrid(v: number, dp: number, units: number): boolean {
  const n = (v * POW10[dp]) / units;
  return Math.abs(n - Math.round(n)) < 1e-6 && Number.parseFloat(v.toFixed(dp)) === v;
}

/** Index of the last quote (in ts order) with ts <= t, or -1. */
function asOf(qTs: Float64Array, t: number): number {
  let lo = 0;
  let hi = qTs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (qTs[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function quotesByTs(x: SymbolTicks) {
  const qi = argsort(x.qTs.view(), x.qSeq.view());
  const pick = (a: Float64Array) => Float64Array.from(qi, (i) => a[i]);
  return {
    ts: pick(x.qTs.view()),
    bid: pick(x.qBid.view()),
    ask: pick(x.qAsk.view()),
    bq: pick(x.qBidQty.view()),
    aq: pick(x.qAskQty.view()),
    id: pick(x.qId.view()),
  };
}

describe('synthetic market: exchange semantics', () => {
  it('generates all six seed symbols with plausible activity', () => {
    expect([...sink.bySymbol.keys()].sort()).toEqual([
      'ADAUSDT',
      'BNBUSDT',
      'BTCUSDT',
      'ETHUSDT',
      'SOLUSDT',
      'XRPUSDT',
    ]);
    for (const s of summary.symbols) {
      const tps = s.market.trades_generated / (HOURS * 3600);
      expect(tps).toBeGreaterThan(0.7);
      expect(tps).toBeLessThan(6);
      const qpt = s.channel.quotes_delivered / s.market.trades_generated;
      expect(qpt).toBeGreaterThanOrEqual(1.5);
      expect(qpt).toBeLessThanOrEqual(3);
    }
  });

  it('puts every price on the tick grid and every size on the lot grid', () => {
    for (const [sym, x] of sink.bySymbol) {
      const spec = specFor(sym);
      let bad = 0;
      for (const v of x.tPx.view()) if (!onGrid(v, spec.priceDp, spec.tickUnits)) bad++;
      for (const v of x.qBid.view()) if (!onGrid(v, spec.priceDp, spec.tickUnits)) bad++;
      for (const v of x.qAsk.view()) if (!onGrid(v, spec.priceDp, spec.tickUnits)) bad++;
      for (const v of x.tQty.view()) if (!onGrid(v, spec.qtyDp, spec.lotUnits) || !(v > 0)) bad++;
      for (const v of x.qBidQty.view()) if (!onGrid(v, spec.qtyDp, spec.lotUnits) || !(v > 0)) bad++;
      for (const v of x.qAskQty.view()) if (!onGrid(v, spec.qtyDp, spec.lotUnits) || !(v > 0)) bad++;
      expect(bad, sym).toBe(0);
    }
    // price levels are plausible for mid-2024
    const first = (s: string) => sink.bySymbol.get(s)!.tPx.data[0];
    expect(first('BTCUSDT')).toBeGreaterThan(50000);
    expect(first('BTCUSDT')).toBeLessThan(70000);
    expect(first('XRPUSDT')).toBeGreaterThan(0.45);
    expect(first('XRPUSDT')).toBeLessThan(0.65);
  });

  it('never crosses the L1 book, and spreads are 1-4 ticks', () => {
    for (const [sym, x] of sink.bySymbol) {
      const spec = specFor(sym);
      const tick = spec.tickUnits / POW10[spec.priceDp];
      const b = x.qBid.view();
      const a = x.qAsk.view();
      let crossed = 0;
      let wide = 0;
      for (let i = 0; i < b.length; i++) {
        if (!(b[i] < a[i])) crossed++;
        const ticks = Math.round((a[i] - b[i]) / tick);
        if (ticks < 1 || ticks > 4) wide++;
      }
      expect(crossed, sym).toBe(0);
      expect(wide, sym).toBe(0);
    }
  });

  it('executes buys at the ask and sells (m = true) at the bid of the L1 in force', () => {
    for (const [sym, x] of sink.bySymbol) {
      const q = quotesByTs(x);
      let bad = 0;
      let sells = 0;
      const n = x.tTs.length;
      for (let i = 0; i < n; i++) {
        const k = asOf(q.ts, x.tTs.data[i]);
        const px = x.tPx.data[i];
        if (k < 0) bad++;
        else if (x.tM.data[i] === 1) {
          sells++;
          if (px !== q.bid[k]) bad++;
        } else if (px !== q.ask[k]) bad++;
      }
      expect(bad, sym).toBe(0);
      expect(sells / n).toBeGreaterThan(0.3);
      expect(sells / n).toBeLessThan(0.7);
    }
  });

  it('gives every trade and quote of a symbol its own ts_ms, and trades E = T + 0..2 ms', () => {
    for (const [sym, x] of sink.bySymbol) {
      const ts = new Set<number>();
      const ids = new Set<number>();
      let badE = 0;
      for (let i = 0; i < x.tTs.length; i++) {
        const id = x.tId.data[i];
        if (ids.has(id)) continue; // injected duplicate
        ids.add(id);
        ts.add(x.tTs.data[i]);
        const d = x.tEvt.data[i] - x.tTs.data[i];
        if (!(d >= 0 && d <= 2)) badE++;
      }
      for (const t of x.qTs.view()) ts.add(t);
      expect(ts.size, sym).toBe(ids.size + x.qTs.length);
      expect(badE, sym).toBe(0);
    }
  });

  it('keeps the depth top level equal to the L1 quote in force, levels monotone', () => {
    for (const [sym, x] of sink.bySymbol) {
      const q = quotesByTs(x);
      let bad = 0;
      for (let i = 0; i < x.dTs.length; i++) {
        const k = asOf(q.ts, x.dTs.data[i]);
        if (
          k < 0 ||
          x.dBid0.data[i] !== q.bid[k] ||
          x.dAsk0.data[i] !== q.ask[k] ||
          x.dBidQty0.data[i] !== q.bq[k] ||
          x.dAskQty0.data[i] !== q.aq[k] ||
          x.dId.data[i] !== q.id[k]
        ) {
          bad++;
        }
        if (x.dNb.data[i] !== 20 || x.dNa.data[i] !== 20) bad++;
      }
      expect(bad, sym).toBe(0);
      expect(x.depthNonMonotone, sym).toBe(0);
      expect(x.dTs.length).toBe((HOURS * 3600) / 5 - 1);
    }
  });

  it('numbers aggTrades consecutively with consistent trade ids, except the injected gaps and duplicates', () => {
    for (const [s, sm] of [
      [sink, summary],
      [faultySink, faulty],
    ] as const) {
      for (const sym of s.bySymbol.keys()) {
        const x = s.bySymbol.get(sym)!;
        const truth = sm.symbols.find((y) => y.symbol === sym)!;
        const order = argsort(x.tId.view(), x.tSeq.view());
        let dups = 0;
        let missing = 0;
        let badIds = 0;
        let prevId = NaN;
        let prevLast = NaN;
        for (const i of order) {
          const id = x.tId.data[i];
          if (id === prevId) {
            dups++;
            continue;
          }
          if (!(x.tLast.data[i] >= x.tFirst.data[i])) badIds++;
          if (!Number.isNaN(prevId)) {
            missing += id - prevId - 1;
            // first_trade_id continues the previous last_trade_id, or jumps over the lost fills
            if (id === prevId + 1 ? x.tFirst.data[i] !== prevLast + 1 : !(x.tFirst.data[i] > prevLast + 1)) badIds++;
          }
          prevId = id;
          prevLast = x.tLast.data[i];
        }
        expect(badIds, sym).toBe(0);
        expect(dups, sym).toBe(truth.channel.dup_trades);
        expect(missing, sym).toBe(
          truth.channel.lost_trades -
            (x.tId.data[order[0]] - truth.market.first_agg_id) -
            (truth.market.last_agg_id - prevId),
        );
        expect(truth.channel.trades_delivered).toBe(
          truth.market.trades_generated - truth.channel.lost_trades + truth.channel.dup_trades,
        );
      }
    }
    // the faulty run really injected something, and at about the asked rates
    expect(faulty.injected.dup_trades).toBeGreaterThan(20);
    expect(faulty.injected.lost_trades).toBeGreaterThan(10);
    const trades = faulty.symbols.reduce((a, s) => a + s.market.trades_generated, 0);
    expect(faulty.injected.dup_trades / trades).toBeGreaterThan(0.005);
    expect(faulty.injected.dup_trades / trades).toBeLessThan(0.02);
    // defaults keep a DQ duplicate check (< 0.5%) passing
    const t0 = summary.symbols.reduce((a, s) => a + s.market.trades_generated, 0);
    expect(summary.injected.dup_trades / t0).toBeLessThan(0.005);
  });

  it('hands ticks to the sink in arrival order, with lognormal latency and counted out-of-order arrivals', () => {
    for (const [s, sm] of [
      [sink, summary],
      [faultySink, faulty],
    ] as const) {
      for (const [sym, x] of s.bySymbol) {
        // merged arrival order: recv non-decreasing in sink call order (seq)
        const recv: number[] = [];
        const seq: number[] = [];
        const ts: number[] = [];
        const rank: number[] = [];
        const push = (r: Float64Array, q: Float64Array, t: Float64Array, k: number) => {
          for (let i = 0; i < r.length; i++) {
            recv.push(r[i]);
            seq.push(q[i]);
            ts.push(t[i]);
            rank.push(k);
          }
        };
        // generation order of a symbol is (ts, quote before depth); drop duplicate trades (second arrival)
        const seen = new Set<number>();
        const keep: number[] = [];
        for (const i of argsort(x.tSeq.view())) {
          if (seen.has(x.tId.data[i])) continue;
          seen.add(x.tId.data[i]);
          keep.push(i);
        }
        push(
          Float64Array.from(keep, (i) => x.tRecv.data[i]),
          Float64Array.from(keep, (i) => x.tSeq.data[i]),
          Float64Array.from(keep, (i) => x.tTs.data[i]),
          2,
        );
        push(x.qRecv.view(), x.qSeq.view(), x.qTs.view(), 0);
        push(x.dRecv.view(), x.dSeq.view(), x.dTs.view(), 1);
        const truth = sm.symbols.find((y) => y.symbol === sym)!;
        // recount "overtaken" messages: some later-generated message arrived strictly earlier
        const gen = Array.from({ length: recv.length }, (_, i) => i).sort((a, b) => ts[a] - ts[b] || rank[a] - rank[b]);
        let minLater = Infinity;
        let overtaken = 0;
        let late = 0;
        for (let j = gen.length - 1; j >= 0; j--) {
          const i = gen[j];
          if (recv[i] > minLater) overtaken++;
          minLater = Math.min(minLater, recv[i]);
          if (recv[i] - ts[i] > 500 + 2) late++;
        }
        expect(overtaken, sym).toBe(truth.channel.ooo_reordered);
        expect(late).toBeLessThanOrEqual(truth.channel.late_over_watermark);
        expect(truth.latency_ms.p50).toBeGreaterThanOrEqual(20);
        expect(truth.latency_ms.p50).toBeLessThanOrEqual(40);
        expect(truth.latency_ms.p99).toBeLessThan(120);
        let neg = 0;
        for (let i = 0; i < recv.length; i++) if (recv[i] - ts[i] < 1) neg++;
        expect(neg).toBe(0);
      }
      expect(sm.injected.ooo_reordered).toBeLessThanOrEqual(sm.injected.ooo_delayed);
    }
    expect(faulty.injected.ooo_delayed).toBeGreaterThan(100);
    // most held-back messages stay within the 500 ms sequencer watermark
    expect(faulty.injected.late_over_watermark / faulty.injected.ooo_delayed).toBeLessThan(0.25);
  });

  it('calls the sink in non-decreasing recv_ts_ms across all symbols', () => {
    const n = sink.seq;
    const recv = new Float64Array(n);
    recv.fill(NaN);
    for (const x of sink.bySymbol.values()) {
      for (let i = 0; i < x.tRecv.length; i++) recv[x.tSeq.data[i]] = x.tRecv.data[i];
      for (let i = 0; i < x.qRecv.length; i++) recv[x.qSeq.data[i]] = x.qRecv.data[i];
      for (let i = 0; i < x.dRecv.length; i++) recv[x.dSeq.data[i]] = x.dRecv.data[i];
    }
    let prev = -Infinity;
    let bad = 0;
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(recv[i]) || recv[i] < prev) bad++;
      prev = recv[i];
    }
    expect(bad).toBe(0);
  });

  it('adds a constant clock skew to receive times', async () => {
    const m = new MemorySink();
    const r = await generate({ ...DEFAULT_SYNTH, symbols: ['ETHUSDT'], hours: 0.1, skewMs: -1300 }, m);
    const x = m.bySymbol.get('ETHUSDT')!;
    const d = Array.from(x.qRecv.view(), (v, i) => v - x.qTs.data[i]).sort((a, b) => a - b);
    expect(d[Math.floor(d.length / 2)]).toBeGreaterThan(-1300 + 15);
    expect(d[Math.floor(d.length / 2)]).toBeLessThan(-1300 + 45);
    expect(r.symbols[0].latency_ms.p50).toBeGreaterThanOrEqual(20); // net of the skew
  });

  it('generates a plausible market for a symbol outside the seed list', async () => {
    const m = new MemorySink();
    const r = await generate({ ...DEFAULT_SYNTH, symbols: ['DOGEUSDT'], hours: 0.25 }, m);
    const x = m.bySymbol.get('DOGEUSDT')!;
    const spec = specFor('DOGEUSDT');
    expect(r.symbols[0].market.trades_generated).toBeGreaterThan(300);
    let bad = 0;
    for (const v of x.tPx.view()) if (!onGrid(v, spec.priceDp, spec.tickUnits) || !(v > 0)) bad++;
    for (let i = 0; i < x.qBid.length; i++) if (!(x.qBid.data[i] < x.qAsk.data[i])) bad++;
    expect(bad).toBe(0);
    // the spec comes from the symbol name, not the seed
    expect(specFor('DOGEUSDT')).toEqual(spec);
  });
});
