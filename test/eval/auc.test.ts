import { describe, it, expect } from 'vitest';
import { errorFunction } from 'simple-statistics';
import { aucDeLong, bootstrapAuc, AucScratch } from '../../src/eval/auc.js';
import { formatMetric, formatWithCi } from '../../src/eval/metric.js';
import { EvalRng } from '../../src/eval/rng.js';

/** O(n²) pair count, ties 1/2. */
function bruteAuc(s: number[], y: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < s.length; i++) {
    if (y[i] !== 1 || Number.isNaN(s[i])) continue;
    for (let j = 0; j < s.length; j++) {
      if (y[j] !== 0 || Number.isNaN(s[j])) continue;
      den++;
      num += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return num / den;
}

/** O(n²) DeLong from its definition. */
function bruteDeLongVar(s: number[], y: number[]): number {
  const X = s.filter((v, i) => y[i] === 1 && !Number.isNaN(v));
  const Y = s.filter((v, i) => y[i] === 0 && !Number.isNaN(v));
  const psi = (a: number, b: number) => (a > b ? 1 : a === b ? 0.5 : 0);
  const v10 = X.map((x) => Y.reduce((acc, yy) => acc + psi(x, yy), 0) / Y.length);
  const v01 = Y.map((yy) => X.reduce((acc, x) => acc + psi(x, yy), 0) / X.length);
  const a = v10.reduce((p, c) => p + c, 0) / X.length;
  const s10 = v10.reduce((p, c) => p + (c - a) ** 2, 0) / (X.length - 1);
  const s01 = v01.reduce((p, c) => p + (c - a) ** 2, 0) / (Y.length - 1);
  return s10 / X.length + s01 / Y.length;
}

const Phi = (x: number) => 0.5 * (1 + errorFunction(x / Math.SQRT2));

function twoNormals(rng: EvalRng, m: number, n: number, d: number): { s: Float64Array; y: Float64Array } {
  const s = new Float64Array(m + n);
  const y = new Float64Array(m + n);
  for (let i = 0; i < m + n; i++) {
    const pos = i < m;
    y[i] = pos ? 1 : 0;
    s[i] = rng.normal() + (pos ? d : 0);
  }
  return { s, y };
}

describe('aucDeLong', () => {
  it('doc example', () => {
    expect(aucDeLong(Float64Array.of(0.1, 0.4, 0.35, 0.8), Float64Array.of(0, 0, 1, 1), { min_per_class: 1 }).auc).toBe(
      0.75,
    );
  });

  it('oracle: equals the O(n²) pair count and the O(n²) DeLong variance on random data with many ties', () => {
    const rng = new EvalRng(7);
    const sc = new AucScratch();
    for (let trial = 0; trial < 300; trial++) {
      const len = 4 + rng.int(150);
      const levels = 1 + rng.int(8);
      const s: number[] = [];
      const y: number[] = [];
      for (let i = 0; i < len; i++) {
        s.push(rng.uniform() < 0.05 ? NaN : rng.int(levels) - 3 + (rng.uniform() < 0.1 ? -0 : 0));
        const u = rng.uniform();
        y.push(u < 0.05 ? NaN : u < 0.5 ? 1 : 0);
      }
      const np = s.filter((v, i) => !Number.isNaN(v) && y[i] === 1).length;
      const nn = s.filter((v, i) => !Number.isNaN(v) && y[i] === 0).length;
      const r = aucDeLong(s, y, { min_per_class: 2, scratch: sc });
      expect(r.n_pos).toBe(np);
      expect(r.n_neg).toBe(nn);
      expect(r.n_excluded).toBe(len - np - nn);
      if (np < 2 || nn < 2) {
        expect(r.auc).toBeNull();
        continue;
      }
      expect(Math.abs((r.auc as number) - bruteAuc(s, y))).toBeLessThanOrEqual(1e-12);
      expect(Math.abs((r.var as number) - bruteDeLongVar(s, y))).toBeLessThanOrEqual(1e-12);
      expect(r.value).toBe(r.auc);
      expect(r.ci_low as number).toBeGreaterThanOrEqual(0);
      expect(r.ci_high as number).toBeLessThanOrEqual(1);
    }
  });

  it('edge cases: all equal → 0.5, perfect separation → 1 (CI [1, 1]), reversed → 0, NaNs excluded', () => {
    const y = Float64Array.from({ length: 80 }, (_, i) => (i % 2 ? 1 : 0));
    const eq = aucDeLong(new Float64Array(80).fill(3), y);
    expect(eq.auc).toBe(0.5);
    expect(eq.var).toBe(0);
    const perfect = aucDeLong(
      Float64Array.from(y, (v, i) => v * 100 + i),
      y,
    );
    expect(perfect.auc).toBe(1);
    expect(perfect.ci_low).toBe(1);
    expect(perfect.ci_high).toBe(1);
    expect(
      aucDeLong(
        Float64Array.from(y, (v, i) => -v * 100 + i),
        y,
      ).auc,
    ).toBe(0);
    // NaN scores and NaN labels are excluded and counted
    const s = Float64Array.from(y, (v, i) => v * 100 + i);
    s[3] = NaN;
    const yy = Float64Array.from(y);
    yy[4] = NaN;
    const r = aucDeLong(s, yy);
    expect(r.auc).toBe(1);
    expect(r.n).toBe(78);
    expect(r.n_excluded).toBe(2);
  });

  it('insufficient samples: single class or < min_per_class → null with reason', () => {
    const one = aucDeLong(
      new Float64Array(100).map((_, i) => i),
      new Float64Array(100).fill(1),
    );
    expect(one.auc).toBeNull();
    expect(one.reason).toBe('insufficient samples (n_pos=100, n_neg=0; need >= 30 each)');
    const few = aucDeLong(
      Float64Array.from({ length: 59 }, (_, i) => i),
      Float64Array.from({ length: 59 }, (_, i) => (i < 30 ? 1 : 0)),
    );
    expect(few.auc).toBeNull();
    expect(few.reason).toBe('insufficient samples (n_pos=30, n_neg=29; need >= 30 each)');
    expect(formatMetric(few)).toBe('insufficient samples (n_pos=30, n_neg=29; need >= 30 each)');
    expect(formatMetric({ value: null, n: 12 })).toBe('insufficient samples (n=12)');
    expect(aucDeLong([], []).reason).toBe('insufficient samples (n_pos=0, n_neg=0; need >= 30 each)');
    expect(() => aucDeLong([1, 2], [1])).toThrow(/2 rows but y has 1/);
  });

  it('DeLong variance agrees with a seeded stratified bootstrap (2000 resamples) within 15%', () => {
    for (const [seed, d] of [
      [1, 0.5],
      [2, 1.0],
      [3, 1.5],
    ] as const) {
      const { s, y } = twoNormals(new EvalRng(seed), 300, 300, d);
      const r = aucDeLong(s, y);
      const b = bootstrapAuc(s, y, 2000, 100 + seed);
      expect(Math.abs((r.var as number) / b.var - 1)).toBeLessThan(0.15);
      expect(Math.abs((r.auc as number) - b.mean)).toBeLessThan(0.01);
      expect(formatWithCi(r)).toMatch(/^0\.\d{3} \[0\.\d{3}, [01]\.\d{3}\]$/);
    }
  });

  it('95% CI covers the true AUC Φ(d/√2) in >= 85% of 100 seeded runs', () => {
    const d = 1;
    const truth = Phi(d / Math.SQRT2);
    expect(truth).toBeCloseTo(0.7602, 4);
    const rng = new EvalRng(2024);
    let cover = 0;
    const sc = new AucScratch();
    for (let run = 0; run < 100; run++) {
      const { s, y } = twoNormals(rng, 150, 250, d);
      const r = aucDeLong(s, y, { scratch: sc });
      if ((r.ci_low as number) <= truth && truth <= (r.ci_high as number)) cover++;
    }
    expect(cover).toBeGreaterThanOrEqual(85);
    expect(cover).toBeLessThanOrEqual(100);
  });
});
