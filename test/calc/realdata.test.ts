/**
 * Real Binance data sanity (hftbacktest capture, spot BTCUSDT 2024-08-08 23:54-00:00 UTC).
 * The file must exist: a missing file FAILS the test (loadRealFile throws).
 * Lines are parsed inline here (@trade and @bookTicker only); the real importer lives elsewhere.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { createHash } from 'node:crypto';
import {
  Sequencer,
  packHandle,
  handleBatch,
  handleRow,
  CLOCK_EXCHANGE,
  CLOCK_LOCAL,
  FLAG_LATE,
} from '../../src/pipeline/sequencer.js';
import { L1Ofi } from '../../src/calc/ofi.js';
import { Cvd } from '../../src/calc/cvd.js';
import { RobustScale } from '../../src/calc/robust.js';
import { Fusion } from '../../src/calc/fusion.js';
import { SliceTracker } from '../../src/calc/slices.js';
import { EventDetector } from '../../src/calc/events.js';
import { GrowableF64 } from '../../src/core/growable.js';
import { DEFAULT_CALC_PARAMS } from '../../src/calc/params.js';
import { SymbolCalc } from '../../src/pipeline/symbol-calc.js';
import { KIND_RANK } from '../../src/core/types.js';
import { EventLog, loadRealFile, SampleLog, type RealFile } from './helpers.js';

const QUOTES = 0,
  TRADES = 1;

/** The whole per-symbol chain, wired in the documented order. */
function runPipeline(file: RealFile) {
  const P = DEFAULT_CALC_PARAMS;
  const order: Array<[number, number]> = [];
  const seqTs = new GrowableF64();
  const ofiE = new GrowableF64();
  const ofiZ = new GrowableF64();
  const cvdZ = new GrowableF64();
  const cvdDelta = new GrowableF64();
  const ofi = new L1Ofi();
  const cvd = new Cvd(P.cvd);
  const ofiScale = new RobustScale(P.robust);
  const cvdScale = new RobustScale(P.robust);
  const slices = new SliceTracker(P.slices, 'BTCUSDT');
  const evCols = new EventLog();
  const events = new EventDetector(P.events, 'BTCUSDT', evCols);
  const fCols = new SampleLog(slices);
  const sink = {
    sample: fCols.sample.bind(fCols),
    flip: (ts: number, dir: number, rho: number, n: number) => {
      fCols.flip(ts, dir, rho, n);
      events.onFlip(ts, dir, rho, n);
    },
  };
  const fusion = new Fusion(P.fusion, sink, slices);
  const sessions = new Set<string>();
  const regimes = new Set<string>();
  let lateSeen = 0;

  const seq = new Sequencer(P.sequencer, (handle, ts, _rank, flags) => {
    const b = handleBatch(handle),
      i = handleRow(handle);
    order.push([b, i]);
    seqTs.push(ts);
    if (flags & FLAG_LATE) lateSeen++;
    fusion.advance(ts);
    if (b === QUOTES) {
      const q = file.quotes[i];
      const e = ofi.update(q.bid, q.bidQty, q.ask, q.askQty);
      ofiE.push(e);
      const z = Number.isNaN(e) ? NaN : ofiScale.update(ts, e);
      ofiZ.push(z);
      slices.onMid(ts, (q.bid + q.ask) / 2);
      fusion.onQuote(ts, e, q.bid, q.ask);
      events.onQuote(ts, q.bid, q.ask);
      events.onZ(ts, 'ofi_z', z);
    } else {
      const t = file.trades[i];
      const d = cvd.update(t.price, t.qty, t.m);
      cvdDelta.push(d);
      const z = cvdScale.update(ts, d);
      cvdZ.push(z);
      slices.onTrade(ts);
      fusion.onTrade(ts, d);
      events.onTrade(ts, cvd.cvd);
      events.onZ(ts, 'cvd_z', z);
    }
    slices.label(ts);
    sessions.add(slices.session_name());
    regimes.add(slices.regime_name());
  });

  for (const [kind, i] of file.arrival) {
    if (kind === 0) {
      const q = file.quotes[i];
      seq.push(KIND_RANK.quotes, q.recvMs, q.recvMs, q.seq, packHandle(QUOTES, i), CLOCK_LOCAL);
    } else {
      const t = file.trades[i];
      seq.push(KIND_RANK.trades, t.T, t.recvMs, t.seq, packHandle(TRADES, i), CLOCK_EXCHANGE);
    }
  }
  seq.flush();
  fusion.flush();
  events.flush();
  return {
    seq,
    order,
    seqTs,
    ofiE,
    ofiZ,
    cvdZ,
    cvdDelta,
    cvd,
    ofiScale,
    cvdScale,
    fusion,
    fCols,
    evCols,
    sessions,
    regimes,
    lateSeen,
  };
}

function digest(...cols: Float64Array[]): string {
  const h = createHash('sha256');
  for (const c of cols) h.update(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  return h.digest('hex');
}

/** Every value after the first finite one is finite (no NaN after warm-up, no Infinity ever). */
function finiteAfterWarmup(xs: Float64Array): { first: number; bad: number } {
  let first = -1,
    bad = 0;
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] === Infinity || xs[i] === -Infinity) bad++;
    else if (first < 0 && Number.isFinite(xs[i])) first = i;
    else if (first >= 0 && !Number.isFinite(xs[i])) bad++;
  }
  return { first, bad };
}

describe('real data: spot BTCUSDT 2024-08-08 (hftbacktest)', () => {
  let file: RealFile;
  let r: ReturnType<typeof runPipeline>;

  beforeAll(() => {
    file = loadRealFile('spot/btcusdt_20240808.gz');
    r = runPipeline(file);
  });

  it('parsed the expected message counts (SOURCE.md)', () => {
    expect(file.trades.length).toBe(9757);
    expect(file.quotes.length).toBe(28040);
  });

  it('sequencer: every tick out once, ts monotone, skew ≈ -1.27 s estimated causally', () => {
    expect(r.order.length).toBe(file.trades.length + file.quotes.length);
    expect(new Set(r.order.map(([b, i]) => b * 1e6 + i)).size).toBe(r.order.length);
    const ts = r.seqTs.view();
    let nonMono = 0;
    for (let i = 1; i < ts.length; i++) if (ts[i] < ts[i - 1]) nonMono++;
    expect(nonMono).toBe(0);
    expect(r.seq.skew_ms).toBeGreaterThan(-1400);
    expect(r.seq.skew_ms).toBeLessThan(-1150);
    expect(r.seq.late_ticks).toBe(r.lateSeen);
    expect(r.seq.late_ticks / r.order.length).toBeLessThan(0.01);
    // spot quotes are all on the local clock: their relative order is the file order
    const qOrder = r.order.filter(([b]) => b === QUOTES).map(([, i]) => i);
    expect(qOrder).toEqual(qOrder.map((_, i) => i));
  });

  it('CVD: final value equals the signed sum of trade quantities', () => {
    let sum = 0,
      abs = 0;
    for (const t of file.trades) {
      sum += t.m ? -t.qty : t.qty;
      abs += t.qty;
    }
    expect(r.cvd.excluded).toBe(0);
    expect(r.cvd.trades).toBe(file.trades.length);
    expect(Math.abs(r.cvd.cvd - sum)).toBeLessThanOrEqual(1e-9 * abs);
    expect(Math.abs(r.cvd.cvd)).toBeGreaterThan(0);
  });

  it('OFI: the first 20 e_n match a by-hand loop', () => {
    const qs = file.quotes;
    const hand: number[] = [];
    for (let n = 1; n <= 20; n++) {
      const c = qs[n],
        p = qs[n - 1];
      let e = 0;
      if (c.bid >= p.bid) e += c.bidQty;
      if (c.bid <= p.bid) e -= p.bidQty;
      if (c.ask <= p.ask) e -= c.askQty;
      if (c.ask >= p.ask) e += p.askQty;
      hand.push(e);
    }
    const got = Array.from(r.ofiE.view().subarray(0, 21));
    expect(got[0]).toBeNaN();
    expect(got.slice(1)).toEqual(hand);
    expect(hand.some((e) => e !== 0)).toBe(true);
  });

  it('no NaN / Infinity in z outputs after warm-up', () => {
    for (const [name, col] of [
      ['ofi_z', r.ofiZ.view().filter((_, i) => !Number.isNaN(r.ofiE.get(i)))],
      ['cvd_z', r.cvdZ.view()],
      ['fusion z_ofi', r.fCols.z_ofi.view()],
      ['fusion z_cvd', r.fCols.z_cvd.view()],
      ['fusion score', r.fCols.score.view()],
      ['fusion score_z', r.fCols.score_z.view()],
    ] as const) {
      const { first, bad } = finiteAfterWarmup(col);
      expect(first, name).toBeGreaterThanOrEqual(0);
      expect(bad, name).toBe(0);
    }
    expect(r.cvdScale.emitted).toBeGreaterThan(9000);
    expect(r.cvdScale.sigma_floor_hit_rate).toBeGreaterThanOrEqual(0);
    expect(r.cvdScale.winsor_hit_rate).toBeLessThan(0.05);
    // ~346 one-second samples over 23:54:15-00:00:01 exchange time, all with a mid
    expect(r.fCols.length).toBeGreaterThan(330);
    expect(r.fCols.length).toBeLessThan(360);
    expect(r.fusion.samples_skipped).toBe(0);
    expect(Array.from(r.fCols.mid.view()).every((m) => m > 60_000 && m < 63_000)).toBe(true);
    const merge = Array.from(r.fCols.merge_time_diff_ms.view())
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    expect(merge[Math.floor(merge.length * 0.5)]).toBeLessThan(1000);
  });

  it('slices and events are defined on real data', () => {
    expect([...r.sessions]).toEqual(['Tokyo']); // 23:54-00:00 UTC
    expect(r.regimes.has('Active')).toBe(true); // ~28 trades/s
    expect(r.fCols.vol_bucket.view().some((v) => v >= 0)).toBe(true);
    expect(r.evCols.event_type.includes('pivot')).toBe(true);
    for (const m of r.evCols.meta_json) expect(() => JSON.parse(m)).not.toThrow();
  });

  it('SymbolCalc (the same wiring, packaged) reproduces the per-tick columns and resolves labels causally', () => {
    const c = new SymbolCalc(DEFAULT_CALC_PARAMS, 'BTCUSDT');
    const seq = new Sequencer(DEFAULT_CALC_PARAMS.sequencer, (handle, ts) => {
      const i = handleRow(handle);
      if (handleBatch(handle) === QUOTES) {
        const q = file.quotes[i];
        c.onQuote(ts, q.bid, q.bidQty, q.ask, q.askQty);
      } else {
        const t = file.trades[i];
        c.onTrade(ts, t.price, t.qty, t.m);
      }
    });
    for (const [kind, i] of file.arrival) {
      if (kind === 0)
        seq.push(
          KIND_RANK.quotes,
          file.quotes[i].recvMs,
          file.quotes[i].recvMs,
          file.quotes[i].seq,
          packHandle(QUOTES, i),
          CLOCK_LOCAL,
        );
      else
        seq.push(
          KIND_RANK.trades,
          file.trades[i].T,
          file.trades[i].recvMs,
          file.trades[i].seq,
          packHandle(TRADES, i),
          CLOCK_EXCHANGE,
        );
    }
    seq.flush();
    c.flush();
    expect(Array.from(c.ofiRows.ofi_value.view())).toEqual(Array.from(r.ofiE.view()));
    expect(Array.from(c.ofiRows.ofi_z.view())).toEqual(Array.from(r.ofiZ.view()));
    expect(Array.from(c.cvdRows.z_cvd.view())).toEqual(Array.from(r.cvdZ.view()));
    expect(c.cvdRows.cvd.get(c.cvdRows.length - 1)).toBe(r.cvd.cvd);
    expect(Array.from(c.fusionRows.z_ofi.view())).toEqual(Array.from(r.fCols.z_ofi.view()));
    expect(c.labels_up + c.labels_down).toBeGreaterThan(200);
    expect(c.fusion.labels_rejected_future).toBe(0);
    const { bad } = finiteAfterWarmup(c.cvdRows.z_raw.view());
    expect(bad).toBe(0);
  });

  it('determinism: a second run gives byte-identical outputs', () => {
    const r2 = runPipeline(file);
    const cols = (x: typeof r) => [
      x.seqTs.view(),
      x.ofiE.view(),
      x.ofiZ.view(),
      x.cvdZ.view(),
      x.fCols.score.view(),
      x.fCols.score_z.view(),
      x.fCols.mid.view(),
    ];
    expect(digest(...cols(r2))).toBe(digest(...cols(r)));
    expect(r2.evCols.meta_json).toEqual(r.evCols.meta_json);
  });
});
