import { describe, it, expect } from 'vitest';
import { spearman, SlidingSpearman, SpearmanScratch } from '../../src/calc/rank.js';
import { mulberry32, slowSpearman } from './helpers.js';

describe('spearman', () => {
  it('doc example and degenerate cases', () => {
    expect(spearman(Float64Array.of(1, 2, 3), Float64Array.of(0, 0, 1), 3)).toBeCloseTo(Math.sqrt(3) / 2, 14);
    expect(spearman([1], [1], 1)).toBeNaN();
    expect(spearman([1, 2, 3], [5, 5, 5], 3)).toBeNaN();
    expect(spearman([1, 2, 3], [1, 2, 3], 3)).toBeCloseTo(1, 14);
    expect(spearman([1, 2, 3], [3, 2, 1], 3)).toBeCloseTo(-1, 14);
  });

  it('oracle: random data with ties, binary y == O(n²) average-rank reference', () => {
    const rnd = mulberry32(9);
    const sc = new SpearmanScratch();
    for (let trial = 0; trial < 200; trial++) {
      const n = 2 + Math.floor(rnd() * 120);
      const x = Array.from({ length: n }, () => Math.floor(rnd() * 10) - 5);
      const y = Array.from({ length: n }, () => (rnd() < 0.5 ? 1 : 0));
      const a = spearman(x, y, n, sc);
      const b = slowSpearman(x, y);
      if (Number.isNaN(b)) expect(a).toBeNaN();
      else expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12);
    }
  });

  it('SlidingSpearman (incremental ranks over a sliding window) === spearman on the window, bit for bit', () => {
    const rnd = mulberry32(21);
    for (const W of [1, 2, 7, 50]) {
      const sl = new SlidingSpearman(W);
      const x: number[] = [];
      const y: number[] = [];
      for (let t = 0; t < 400; t++) {
        const xv = t % 37 === 0 ? -0 : rnd() < 0.3 ? Math.floor(rnd() * 5) : rnd() * 4 - 2; // ties, -0 vs 0
        const yv = rnd() < 0.5 ? 1 : 0;
        x.push(xv);
        y.push(yv);
        if (x.length > W) {
          x.shift();
          y.shift();
        }
        sl.push(xv, yv);
        expect(sl.size).toBe(x.length);
        expect(Object.is(sl.rho(), spearman(x, y, x.length))).toBe(true);
      }
      sl.clear();
      expect(sl.size).toBe(0);
      expect(sl.rho()).toBeNaN();
    }
    expect(() => new SlidingSpearman(3).push(NaN, 1)).toThrow(RangeError);
  });
});
