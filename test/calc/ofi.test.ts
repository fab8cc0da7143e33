import { describe, it, expect } from 'vitest';
import { L1Ofi, DepthOfi, ofiTerm } from '../../src/calc/ofi.js';
import { mulberry32 } from './helpers.js';

/** The §4 formula written literally with 0/1 indicators. */
function refE(b: number, bq: number, a: number, aq: number, pb: number, pbq: number, pa: number, paq: number): number {
  const I = (c: boolean) => (c ? 1 : 0);
  return bq * I(b >= pb) - pbq * I(b <= pb) - aq * I(a <= pa) + paq * I(a >= pa);
}

describe('L1Ofi: hand-computed e_n, every branch', () => {
  // previous quote: bid 100 x 5, ask 101 x 7
  const cases: Array<[string, [number, number, number, number], number]> = [
    ['bid up (only q^b_n)', [100.5, 4, 101, 7], 4 - 7 + 7],
    ['bid down (only -q^b_{n-1})', [99.5, 4, 101, 7], -5 - 7 + 7],
    ['bid equal (q^b_n - q^b_{n-1})', [100, 8, 101, 7], 8 - 5 + 0],
    ['ask up (only +q^a_{n-1})', [100, 5, 101.5, 3], 0 + 7],
    ['ask down (only -q^a_n)', [100, 5, 100.5, 3], 0 - 3],
    ['ask equal (-q^a_n + q^a_{n-1})', [100, 5, 101, 2], 0 - 2 + 7],
    ['all equal, same sizes => 0', [100, 5, 101, 7], 0],
    ['zero sizes, equal prices', [100, 0, 101, 0], -5 + 7],
    ['crossed quote (bid above old ask, ask below old bid)', [102, 1, 99, 2], 1 - 2],
    ['locked quote', [100.5, 1, 100.5, 1], 1 - 1],
  ];
  for (const [name, q, want] of cases) {
    it(name, () => {
      const o = new L1Ofi();
      expect(o.update(100, 5, 101, 7)).toBeNaN(); // first: null, not 0
      const e = o.update(q[0], q[1], q[2], q[3]);
      expect(e).toBe(want);
      expect(e).toBe(refE(q[0], q[1], q[2], q[3], 100, 5, 101, 7));
      expect(Object.is(e, -0)).toBe(false);
    });
  }

  it('doc example sequence', () => {
    const o = new L1Ofi();
    expect(o.update(100, 5, 101, 7)).toBeNaN();
    expect(o.update(100, 6, 101, 7)).toBe(1);
    expect(o.update(101, 2, 102, 3)).toBe(9);
    expect(o.nulls).toBe(1);
  });

  it('invalid quote => null and the next valid quote is a first again', () => {
    const o = new L1Ofi();
    o.update(100, 5, 101, 7);
    expect(o.update(NaN, 5, 101, 7)).toBeNaN();
    expect(o.update(100, 5, 101, 7)).toBeNaN();
    expect(o.update(100, 6, 101, 7)).toBe(1);
    o.reset();
    expect(o.update(100, 6, 101, 7)).toBeNaN();
  });

  it('oracle: random quotes on a coarse tick grid (many equal prices) == literal formula', () => {
    const rnd = mulberry32(42);
    const o = new L1Ofi();
    let b = 100,
      a = 100.02;
    let pb = NaN,
      pbq = NaN,
      pa = NaN,
      paq = NaN,
      bad = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = rnd();
      if (r < 0.2) b += 0.01;
      else if (r < 0.4) b -= 0.01;
      const r2 = rnd();
      if (r2 < 0.2) a += 0.01;
      else if (r2 < 0.4) a -= 0.01;
      const bq = rnd() < 0.1 ? 0 : Math.floor(rnd() * 1000) / 100;
      const aq = rnd() < 0.1 ? 0 : Math.floor(rnd() * 1000) / 100;
      const e = o.update(b, bq, a, aq);
      if (i === 0) expect(e).toBeNaN();
      else if (e !== refE(b, bq, a, aq, pb, pbq, pa, paq) + 0) bad++;
      pb = b;
      pbq = bq;
      pa = a;
      paq = aq;
    }
    expect(bad).toBe(0);
  });
});

describe('DepthOfi', () => {
  it('one level with weight 1 equals L1 OFI', () => {
    const d = new DepthOfi({ depth_levels: 1, level_weights: null });
    const l1 = new L1Ofi();
    const rnd = mulberry32(3);
    for (let i = 0; i < 2000; i++) {
      const b = 100 + Math.floor(rnd() * 3),
        a = b + 1 + Math.floor(rnd() * 2);
      const bq = Math.floor(rnd() * 5),
        aq = Math.floor(rnd() * 5);
      const x = d.update([b], [bq], 1, [a], [aq], 1);
      const y = l1.update(b, bq, a, aq);
      expect(x).toEqual(y);
    }
  });

  it('hand example: two levels, weights normalised, missing level = empty level at ∓∞', () => {
    const d = new DepthOfi({ depth_levels: 2, level_weights: [3, 1] });
    expect(Array.from(d.weights)).toEqual([0.75, 0.25]);
    expect(d.update([100, 99], [5, 4], 2, [101, 102], [7, 6], 2)).toBeNaN();
    // level 0: bid equal 6-5 = 1, ask up +7 => 8;  level 1: bid level vanished: -4; ask equal: -6+6 = 0 => -4
    const e = d.update([100], [6], 1, [101.5, 102], [2, 6], 2);
    expect(Array.from(d.last_levels)).toEqual([8, -4]);
    expect(e).toBe(0.75 * 8 + 0.25 * -4);
    // level 1 bid appears again: +3 (bid from -inf)
    d.update([100, 99.5], [6, 3], 2, [101.5, 102], [2, 6], 2);
    expect(Array.from(d.last_levels)).toEqual([0, 3]);
  });

  it('reads a flattened DepthBatch row through the offset', () => {
    const L = 3;
    const bidPx = Float64Array.of(10, 9, 8, 10, 9, NaN);
    const bidQty = Float64Array.of(1, 1, 1, 2, 1, NaN);
    const askPx = Float64Array.of(11, 12, 13, 11, 12, 13);
    const askQty = Float64Array.of(1, 1, 1, 1, 1, 1);
    const d = new DepthOfi({ depth_levels: L, level_weights: null });
    expect(d.update(bidPx, bidQty, 3, askPx, askQty, 3, 0)).toBeNaN();
    const e = d.update(bidPx, bidQty, 2, askPx, askQty, 3, L);
    expect(Array.from(d.last_levels)).toEqual([1, 0, -1]);
    expect(e).toBeCloseTo(0, 15);
  });

  it('oracle: random thin books == per-level literal formula with ∓∞ empty levels', () => {
    const L = 5;
    const w = [5, 4, 3, 2, 1];
    const d = new DepthOfi({ depth_levels: L, level_weights: w });
    const rnd = mulberry32(77);
    let prev: { bp: number[]; bq: number[]; ap: number[]; aq: number[] } | null = null;
    for (let i = 0; i < 3000; i++) {
      const nb = Math.floor(rnd() * (L + 2)),
        na = Math.floor(rnd() * (L + 2));
      const mid = 100 + Math.floor(rnd() * 3);
      const bp = Array.from({ length: nb }, (_, j) => mid - 1 - j),
        ap = Array.from({ length: na }, (_, j) => mid + 1 + j);
      const bq = bp.map(() => Math.floor(rnd() * 4)),
        aq = ap.map(() => Math.floor(rnd() * 4));
      const e = d.update(bp, bq, nb, ap, aq, na);
      const pad = (px: number[], q: number[], inf: number) => ({
        px: Array.from({ length: L }, (_, j) => (j < px.length ? px[j] : inf)),
        q: Array.from({ length: L }, (_, j) => (j < q.length ? q[j] : 0)),
      });
      const cb = pad(bp, bq, -Infinity),
        ca = pad(ap, aq, Infinity);
      if (prev === null) {
        expect(e).toBeNaN();
      } else {
        const pb = pad(prev.bp, prev.bq, -Infinity),
          pa = pad(prev.ap, prev.aq, Infinity);
        let want = 0;
        for (let j = 0; j < L; j++)
          want += (w[j] / 15) * refE(cb.px[j], cb.q[j], ca.px[j], ca.q[j], pb.px[j], pb.q[j], pa.px[j], pa.q[j]);
        expect(Math.abs(e - want)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
      }
      prev = { bp, bq, ap, aq };
    }
  });

  it('rejects bad level weights with the key named', () => {
    expect(() => new DepthOfi({ depth_levels: 2, level_weights: [1] })).toThrow(/ofi.level_weights/);
    expect(() => new DepthOfi({ depth_levels: 2, level_weights: [0, 0] })).toThrow(/sums to 0/);
    expect(() => new DepthOfi({ depth_levels: 2, level_weights: [1, -1] })).toThrow(/ofi.level_weights\[1\]/);
  });

  it('ofiTerm never returns -0', () => {
    expect(Object.is(ofiTerm(1, 0, 2, 0, 1, 0, 2, 0), 0)).toBe(true);
  });
});
