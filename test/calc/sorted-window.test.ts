import { describe, it, expect } from 'vitest';
import { SortedWindow } from '../../src/calc/sorted-window.js';
import { mulberry32, slowMedian, slowMad, slowQuantile } from './helpers.js';

describe('SortedWindow', () => {
  it('doc example', () => {
    const w = new SortedWindow(3);
    [5, 1, 3, 10].forEach((x) => w.push(x));
    expect(w.median()).toBe(3);
    expect(w.mad()).toBe(2);
    expect(Array.from(w.sortedView())).toEqual([1, 3, 10]);
  });

  it('empty window gives NaN; non-finite push throws', () => {
    const w = new SortedWindow(4);
    expect(w.median()).toBeNaN();
    expect(w.mad()).toBeNaN();
    expect(w.quantile(0.5)).toBeNaN();
    expect(() => w.push(NaN)).toThrow(RangeError);
    expect(() => w.push(Infinity)).toThrow(RangeError);
  });

  for (const [cap, distinct] of [
    [1, 1000],
    [2, 5],
    [7, 3],
    [50, 1000],
    [301, 20],
    [300, 1e9],
  ] as const) {
    it(`oracle: capacity ${cap}, ~${distinct} distinct values (median, MAD, quantiles exact)`, () => {
      const rnd = mulberry32(cap * 7919 + 1);
      const w = new SortedWindow(cap);
      const all: number[] = [];
      let bad = 0;
      for (let i = 0; i < 1500; i++) {
        const x = Math.floor(rnd() * distinct) - distinct / 2 + (distinct > 100 ? rnd() : 0);
        w.push(x);
        all.push(x);
        const win = all.slice(Math.max(0, all.length - cap));
        if (w.size !== win.length || w.median() !== slowMedian(win) || w.mad() !== slowMad(win)) bad++;
        for (const p of i % 5 === 0 ? [0, 0.01, 1 / 3, 0.5, 2 / 3, 0.99, 1] : [0.5]) {
          const a = w.quantile(p);
          const b = slowQuantile(win, p);
          if (!(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)))) bad++;
        }
      }
      expect(bad).toBe(0);
    });
  }

  it('all-equal values: MAD 0', () => {
    const w = new SortedWindow(10);
    for (let i = 0; i < 25; i++) w.push(3.5);
    expect(w.median()).toBe(3.5);
    expect(w.mad()).toBe(0);
  });

  it('clear empties it', () => {
    const w = new SortedWindow(3);
    w.push(1);
    w.push(2);
    w.clear();
    expect(w.size).toBe(0);
    w.push(7);
    expect(w.median()).toBe(7);
  });
});
