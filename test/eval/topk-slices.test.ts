import { describe, it, expect } from 'vitest';
import { topkHitRate } from '../../src/eval/topk.js';
import { evaluateSlices, effectiveHours } from '../../src/eval/slices.js';
import { REGIME_NAMES, VOL_TERTILE_NAMES } from '../../src/calc/slices.js';
import { aucDeLong } from '../../src/eval/auc.js';
import { formatMetric } from '../../src/eval/metric.js';

describe('topkHitRate', () => {
  it('top 5% by |score|, sign vs label, counts', () => {
    // 1000 rows: |score| = 1..1000; the top 50 (|s| 951..1000) alternate sign; y matches the sign on 40 of them
    const n = 1000;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const a = i + 1;
      const sign = i % 2 ? 1 : -1;
      s[i] = sign * a;
      const right = sign > 0 ? 1 : 0;
      y[i] = a > 950 && a <= 960 ? 1 - right : right; // 10 misses in the top bucket
    }
    const r = topkHitRate(s, y);
    expect(r).toMatchObject({ n: 1000, k: 50, cut: 951, bucket: 50, hits: 40, ties_at_cut: 1, zeros_dropped: 0 });
    expect(r.value).toBe(0.8);
  });

  it('ties at the cut are all included (order-independent); zeros are never calls; NaN excluded', () => {
    // 100 valid rows: 3 rows |s| = 10, 4 rows |s| = 5, rest |s| = 1; k = 5 → cut = 5, bucket = 3 + 4 = 7
    const s: number[] = [10, -10, 10, 5, -5, 5, -5];
    const y: number[] = [1, 0, 0, 1, 0, 1, 1];
    for (let i = 0; i < 93; i++) {
      s.push(i % 2 ? 1 : -1);
      y.push(1);
    }
    s.push(NaN);
    y.push(1);
    s.push(100);
    y.push(NaN);
    const r = topkHitRate(s, y, { min_bucket: 1 });
    expect(r).toMatchObject({ n: 100, k: 5, cut: 5, bucket: 7, ties_at_cut: 4, hits: 5 });
    const rev = topkHitRate([...s].reverse(), [...y].reverse(), { min_bucket: 1 });
    expect(rev.value).toBe(r.value);
    // gated: 99 zeros and one call → the zeros at the cut are dropped, bucket = 1 < 20
    const z = topkHitRate([...new Array(99).fill(0), 2], [...new Array(99).fill(1), 1]);
    expect(z).toMatchObject({ k: 5, cut: 0, bucket: 1, zeros_dropped: 99, value: null });
    expect(formatMetric(z)).toBe('insufficient samples (bucket=1 of n=100; need >= 20)');
    expect(topkHitRate([], []).value).toBeNull();
  });
});

describe('evaluateSlices / effectiveHours', () => {
  it('effectiveHours = finite samples × sample_ms / 3.6e6', () => {
    expect(effectiveHours(new Float64Array(3600).fill(1), 1000)).toBe(1);
    expect(effectiveHours([1, NaN, 3], 1_800_000)).toBe(1);
    expect(() => effectiveHours([1], 0)).toThrow(/sample_ms/);
  });

  it('per-slice metrics and counts on crafted data (Active separates, Quiet does not)', () => {
    // 400 rows: even rows Active with score = ±(1 + i) matching y; odd rows Quiet with constant score
    const n = 400;
    const score = new Float64Array(n);
    const y = new Float64Array(n);
    const regime = new Int8Array(n);
    const tert = new Int8Array(n);
    const prob = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = (i >> 1) % 2;
      regime[i] = i % 2 ? 0 : 1;
      score[i] = regime[i] === 1 ? (y[i] ? 1 : -1) * (1 + i) : 0.5;
      tert[i] = i < 10 ? -1 : i % 3;
      prob[i] = y[i] ? 0.8 : 0.2;
    }
    y[0] = NaN; // one unresolved label in Active
    const rows = evaluateSlices(
      { score, y, prob },
      [
        { name: 'regime', codes: regime, names: REGIME_NAMES },
        { name: 'vol_tertile', codes: tert, names: VOL_TERTILE_NAMES },
      ],
      { sample_ms: 1000 },
    );
    expect(rows.map((r) => `${r.dim}:${r.value}`)).toEqual([
      'all:all',
      'regime:Quiet',
      'regime:Active',
      'vol_tertile:Q1',
      'vol_tertile:Median',
      'vol_tertile:Q3+',
      'vol_tertile:(unknown)',
    ]);
    const [all, quiet, active] = rows;
    expect(all).toMatchObject({ rows: 400, labeled: 399 });
    expect(all.effective_hours).toBeCloseTo(400 / 3600, 15);
    expect(active).toMatchObject({ rows: 200, labeled: 199, n_pos: 100, n_neg: 99 });
    expect(active.auc.auc).toBe(1);
    expect(active.topk.value).toBeNull(); // 5% of 199 → bucket 10 < 20
    expect(quiet.auc.auc).toBe(0.5);
    expect(quiet.ece.value).toBeCloseTo(0.2, 12);
    expect(quiet.brier.value).toBeCloseTo(0.04, 12);
    const tRows = rows.slice(3);
    expect(tRows.reduce((a, r) => a + r.rows, 0)).toBe(400);
    expect(tRows[3]).toMatchObject({ code: -1, rows: 10 });
    // the same as computing on the subset directly
    const idx = [...Array(n).keys()].filter((i) => tert[i] === 1);
    expect(tRows[1].auc).toEqual(
      aucDeLong(
        idx.map((i) => score[i]),
        idx.map((i) => y[i]),
      ),
    );
  });

  it('empty slice values are reported with zero counts; without prob, calibration says why; bad codes throw', () => {
    const rows = evaluateSlices({ score: [1, 2], y: [1, 0] }, [
      { name: 'regime', codes: Int8Array.of(0, 0), names: REGIME_NAMES },
    ]);
    expect(rows[2]).toMatchObject({ value: 'Active', rows: 0, labeled: 0 });
    expect(rows[2].auc.auc).toBeNull();
    expect(rows[1].ece.reason).toBe('no calibrated probabilities given');
    expect(() => evaluateSlices({ score: [1], y: [1] }, [{ name: 'regime', codes: [5], names: REGIME_NAMES }])).toThrow(
      /code 5 at row 0/,
    );
  });
});
