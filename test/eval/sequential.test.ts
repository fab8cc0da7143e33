import { describe, expect, it } from 'vitest';
import { aucContribution, blockBootstrapCi, Cusum, eceNoiseFloor, percentileRank } from '../../src/eval/sequential.js';
import { ece } from '../../src/eval/calibration.js';
import { aucDeLong } from '../../src/eval/auc.js';
import { EvalRng } from '../../src/eval/rng.js';

describe('percentileRank', () => {
  it('matches the obvious count with ties at one half, skipping non-finite values', () => {
    const rng = new EvalRng(3);
    const ref = Array.from({ length: 500 }, () => Math.round(rng.normal() * 4) / 4);
    ref[10] = NaN;
    ref[20] = Infinity;
    for (const s of [-1, -0.25, 0, 0.5, 3]) {
      const fin = ref.filter(Number.isFinite);
      const slow = (fin.filter((v) => v < s).length + 0.5 * fin.filter((v) => v === s).length) / fin.length;
      expect(percentileRank(s, ref, 0, ref.length)).toBe(slow);
    }
    expect(percentileRank(0, ref, 0, 50)).toBeNaN(); // fewer than 100 reference values
    expect(percentileRank(NaN, ref, 0, ref.length)).toBeNaN();
  });
});

describe('aucContribution', () => {
  it('averages to the AUC when the base rate is one half, and to one half when scores ignore labels', () => {
    const rng = new EvalRng(11);
    const n = 30_000;
    const s: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = rng.normal();
      s.push(v);
      y.push(rng.uniform() < 1 / (1 + Math.exp(-1.2 * v)) ? 1 : 0);
    }
    const ref = s.slice(0, 2000).sort((a, b) => a - b);
    const u = (v: number) => percentileRank(v, ref, 0, ref.length);
    let sx = 0;
    let sNull = 0;
    for (let i = 2000; i < n; i++) {
      sx += aucContribution(y[i], u(s[i]));
      sNull += aucContribution(rng.uniform() < 0.5 ? 1 : 0, u(s[i]));
    }
    const auc = aucDeLong(s.slice(2000), y.slice(2000)).auc!;
    expect(Math.abs(sx / (n - 2000) - auc)).toBeLessThan(0.01);
    expect(Math.abs(sNull / (n - 2000) - 0.5)).toBeLessThan(0.01);
  });
});

describe('Cusum', () => {
  it('is max(0, S + x) step by step', () => {
    const c = new Cusum();
    const xs = [1, -3, 2, 2, -1, 0.5];
    let slow = 0;
    for (const x of xs) {
      slow = Math.max(0, slow + x);
      expect(c.add(x)).toBe(slow);
    }
    c.reset();
    expect(c.value).toBe(0);
  });
});

describe('eceNoiseFloor', () => {
  it('is the mean ECE of a perfectly calibrated model (independent labels, vif 1)', () => {
    const rng = new EvalRng(5);
    const reps = 300;
    let sum = 0;
    let floor = 0;
    for (let r = 0; r < reps; r++) {
      const p: number[] = [];
      const y: number[] = [];
      for (let i = 0; i < 2000; i++) {
        const pi = 0.3 + 0.4 * rng.uniform();
        p.push(pi);
        y.push(rng.uniform() < pi ? 1 : 0);
      }
      const e = ece(p, y, 10);
      sum += e.value!;
      floor += eceNoiseFloor(e.bins, 1);
    }
    // |N(0, s2)| has mean sqrt(2 s2 / pi): within 10% of the simulated mean
    expect(Math.abs(floor / reps - sum / reps) / (sum / reps)).toBeLessThan(0.1);
  });
});

describe('blockBootstrapCi', () => {
  it('is deterministic for a seed and covers the mean of an autocorrelated series wider than an iid bootstrap', () => {
    const rng = new EvalRng(9);
    const n = 5000;
    const x = new Float64Array(n);
    for (let i = 1; i < n; i++) x[i] = 0.95 * x[i - 1] + rng.normal();
    const mean = (idx: Int32Array, k: number) => {
      let s = 0;
      for (let j = 0; j < k; j++) s += x[idx[j]];
      return s / k;
    };
    const a = blockBootstrapCi(n, 200, 200, new EvalRng(1), mean)!;
    const b = blockBootstrapCi(n, 200, 200, new EvalRng(1), mean)!;
    expect(a).toEqual(b);
    const iid = blockBootstrapCi(n, 1, 200, new EvalRng(1), mean)!;
    expect(a[1] - a[0]).toBeGreaterThan(3 * (iid[1] - iid[0]));
    // the AR(1) long-run sd of the mean is sd/(1-phi)/sqrt(n) = 20/sqrt(5000) ~ 0.28: a 95% band ~ +-0.55
    expect(a[1] - a[0]).toBeGreaterThan(0.6);
    expect(a[1] - a[0]).toBeLessThan(2.2);
    expect(blockBootstrapCi(0, 10, 10, new EvalRng(1), mean)).toBeNull();
  });
});
