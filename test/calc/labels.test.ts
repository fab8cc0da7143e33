import { describe, it, expect } from 'vitest';
import { forwardLabels, LabelResolver, type LabelOptions } from '../../src/calc/labels.js';
import { EvalRng } from '../../src/eval/rng.js';

const H = 60_000;
const TOL = 1500;
const O: LabelOptions = { horizon_ms: H, merge_tol_ms: TOL };

describe('forwardLabels (batch)', () => {
  it('doc example', () => {
    const r = forwardLabels(Float64Array.of(0), null, Float64Array.of(0, 60_000), Float64Array.of(100, 101), O);
    expect(r.y[0]).toBe(1);
    expect(r.resolved_at[0]).toBe(60_000);
    expect(r.label_match_rate).toBe(1);
  });

  it('tolerance is inclusive at exactly merge_tol_ms, unmatched one ms later', () => {
    // sample at 0, mid 100 at 0; next quote at H + TOL (matched, down); sample at 1 needs <= H + 1 + TOL
    const quoteTs = Float64Array.of(0, H + TOL);
    const quoteMid = Float64Array.of(100, 99);
    const r = forwardLabels(Float64Array.of(0, 0, 1), null, quoteTs, quoteMid, O);
    expect(Array.from(r.y)).toEqual([0, 0, 0]);
    expect(Array.from(r.resolved_at)).toEqual([H + TOL, H + TOL, H + TOL]);
    const r2 = forwardLabels(Float64Array.of(0), null, Float64Array.of(0, H + TOL + 1), Float64Array.of(100, 99), O);
    expect(r2.y[0]).toBeNaN();
    expect(r2.resolved_at[0]).toBeNaN();
    expect(r2.counts).toMatchObject({ n: 1, matched: 0, unmatched: 1, unmatched_no_end: 1 });
    expect(r2.label_match_rate).toBe(0);
  });

  it('first quote at or after t+H resolves (not a later, closer-to-tolerance one); equal mids excluded but matched', () => {
    const quoteTs = Float64Array.of(0, H - 1, H, H, H + 10);
    const quoteMid = Float64Array.of(100, 200, 100, 300, 50);
    const r = forwardLabels(Float64Array.of(0), null, quoteTs, quoteMid, O);
    expect(r.y[0]).toBeNaN(); // first quote at H has mid 100 = mid(0)
    expect(r.resolved_at[0]).toBe(H);
    expect(r.counts).toMatchObject({ matched: 1, equal: 1, up: 0, down: 0, unmatched: 0 });
    expect(r.label_match_rate).toBe(1);
  });

  it('mid(t) = last quote at or before t (ties: last of them); no quote yet → unmatched_no_start; sample mids used when given', () => {
    const quoteTs = Float64Array.of(10, 10, 20, H + 10, H + 20);
    const quoteMid = Float64Array.of(1, 2, 3, 2.5, 2.5);
    const t = Float64Array.of(5, 10, 20);
    const r = forwardLabels(t, null, quoteTs, quoteMid, O);
    expect(r.y[0]).toBeNaN();
    expect(r.y[1]).toBe(1); // mid(10) = 2 (last at ts 10), mid(H+10) = 2.5
    expect(r.y[2]).toBe(0); // mid(20) = 3, mid(H+20) = 2.5
    expect(r.counts).toMatchObject({ n: 3, matched: 2, unmatched: 1, unmatched_no_start: 1, up: 1, down: 1 });
    expect(r.label_match_rate).toBeCloseTo(2 / 3, 15);
    const r2 = forwardLabels(t, Float64Array.of(2, NaN, 2.5), quoteTs, quoteMid, O);
    expect(r2.y[0]).toBe(1);
    expect(r2.y[1]).toBeNaN();
    expect(r2.y[2]).toBeNaN(); // equal
    expect(r2.counts).toMatchObject({ unmatched_no_start: 1, equal: 1, up: 1 });
  });

  it('quotes with a NaN mid are ignored; unsorted inputs throw', () => {
    const r = forwardLabels(Float64Array.of(0), null, Float64Array.of(0, H, H + 5), Float64Array.of(100, NaN, 101), O);
    expect(r.y[0]).toBe(1);
    expect(r.resolved_at[0]).toBe(H + 5);
    expect(() => forwardLabels([2, 1], null, [0], [1], O)).toThrow(/t\[1\] = 1 < t\[0\] = 2/);
    expect(() => forwardLabels([0], null, [5, 1], [1, 1], O)).toThrow(/quoteTs\[1\]/);
    expect(() => forwardLabels([0], null, [0], [1], { horizon_ms: H, merge_tol_ms: -1 })).toThrow(/merge_tol_ms/);
  });
});

describe('LabelResolver (streaming)', () => {
  it('oracle: streaming == batch on random data (as-of mids and given mids), labels emitted in order', () => {
    const rng = new EvalRng(11);
    const seen = { up: 0, down: 0, equal: 0, unmatched_no_start: 0, unmatched_no_end: 0 };
    for (let trial = 0; trial < 100; trial++) {
      // quotes on a coarse ms grid with frequent ties and gaps; mids on a coarse grid (many equal labels)
      const M = 50 + rng.int(400);
      const qTs = new Float64Array(M);
      const qMid = new Float64Array(M);
      let ts = rng.int(5000);
      for (let i = 0; i < M; i++) {
        const u = rng.uniform();
        ts += u < 0.2 ? 0 : u < 0.9 ? rng.int(2000) : rng.int(20_000);
        qTs[i] = ts;
        qMid[i] = rng.uniform() < 0.03 ? NaN : 100 + rng.int(4);
      }
      const N = 20 + rng.int(300);
      const t = new Float64Array(N);
      let s = rng.int(3000);
      for (let i = 0; i < N; i++) {
        s += rng.uniform() < 0.1 ? 0 : rng.int(3000);
        t[i] = s;
      }
      const opts: LabelOptions = { horizon_ms: (1 + rng.int(3)) * 20_000, merge_tol_ms: rng.int(3) * 1000 };
      const givenMid =
        rng.uniform() < 0.5 ? Float64Array.from(t, () => (rng.uniform() < 0.05 ? NaN : 100 + rng.int(4))) : null;
      const batch = forwardLabels(t, givenMid, qTs, qMid, opts);

      const y = new Float64Array(N).fill(-1);
      const ra = new Float64Array(N).fill(-1);
      let expectNext = 0;
      const lr = new LabelResolver(opts, (i, yi, r) => {
        expect(i).toBe(expectNext++);
        y[i] = yi;
        ra[i] = r;
      });
      // event order: quotes first at equal times; with given mids, samples are added up to 500 ms late
      const lag = givenMid ? 500 : 0;
      let qi = 0;
      for (let i = 0; i < N; i++) {
        while (qi < M && qTs[qi] <= t[i] + lag && qTs[qi] < t[i] + opts.horizon_ms) lr.onQuote(qTs[qi], qMid[qi++]);
        if (givenMid) lr.addSample(t[i], givenMid[i]);
        else lr.addSample(t[i]);
      }
      while (qi < M) lr.onQuote(qTs[qi], qMid[qi++]);
      lr.flush();
      expect(lr.pending).toBe(0);
      expect(Array.from(y)).toEqual(Array.from(batch.y));
      expect(Array.from(ra)).toEqual(Array.from(batch.resolved_at));
      expect(lr.counts).toEqual(batch.counts);
      if (N > 0) expect(lr.label_match_rate).toBe(batch.label_match_rate);
      for (const k of Object.keys(seen) as (keyof typeof seen)[]) seen[k] += batch.counts[k];
    }
    // the random data exercise every outcome
    for (const v of Object.values(seen)) expect(v).toBeGreaterThan(50);
  });

  it('emits a label exactly when its resolving quote arrives', () => {
    const got: [number, number, number][] = [];
    const lr = new LabelResolver(O, (i, y, r) => got.push([i, y, r]));
    lr.onQuote(0, 100);
    lr.addSample(0);
    lr.addSample(0);
    lr.onQuote(H - 1, 101);
    expect(got).toEqual([]);
    expect(lr.pending).toBe(2);
    lr.onQuote(H, 102);
    expect(got).toEqual([
      [0, 1, H],
      [1, 1, H],
    ]);
    lr.addSample(H + 1, 102);
    lr.onQuote(2 * H + TOL + 2, 1); // too late: proves unmatched
    expect(got[2][0]).toBe(2);
    expect(got[2][1]).toBeNaN();
    expect(got[2][2]).toBeNaN();
  });

  it('refuses feeds that would look ahead or miss the resolving quote', () => {
    const lr = new LabelResolver(O, () => {});
    lr.onQuote(1000, 100);
    expect(() => lr.addSample(999)).toThrow(/would see the future/);
    expect(() => lr.addSample(1000 - H, 100)).toThrow(/resolving quote may already have passed/);
    lr.addSample(1000);
    expect(() => lr.onQuote(999, 1)).toThrow(/non-decreasing/);
    expect(() => lr.addSample(998, 1)).toThrow(/samples must be non-decreasing/);
  });

  it('passes the sample time, and applies a tolerance changed at run time to the quotes fed after the change', () => {
    const got: [number, number, number, number][] = [];
    const lr = new LabelResolver(O, (i, y, r, t) => got.push([i, y, r, t]));
    lr.addSample(10, 100);
    lr.addSample(20, 100);
    lr.onQuote(10 + H + TOL + 5, 101); // both late by > TOL for sample 10, TOL - 5 for sample 20
    expect(got.map((g) => [g[0], g[3]])).toEqual([
      [0, 10],
      [1, 20],
    ]);
    expect(got[0][1]).toBeNaN(); // unmatched
    expect(got[1][1]).toBe(1);
    const t2 = 10 + H + TOL + 5; // no quote at or after t2 + H yet
    lr.addSample(t2, 100);
    lr.mergeTolMs = TOL + 100; // e.g. the canary's merge gate widening it
    expect(lr.mergeTolMs).toBe(TOL + 100);
    lr.onQuote(t2 + H + TOL + 50, 99);
    expect(got[2]).toEqual([2, 0, t2 + H + TOL + 50, t2]);
    expect(() => (lr.mergeTolMs = -1)).toThrow(/merge_tol_ms/);
  });
});
