import { describe, it, expect } from 'vitest';
import { Cvd } from '../../src/calc/cvd.js';
import { SIDE_UNKNOWN } from '../../src/core/types.js';
import { mulberry32, close } from './helpers.js';

describe('Cvd', () => {
  it('doc example: m=true is a sell aggressor', () => {
    const c = new Cvd({ tick_rule: true });
    expect(c.update(100, 2, 0)).toBe(2);
    expect(c.update(100, 1, 1)).toBe(-1);
    expect(c.update(101, 3, SIDE_UNKNOWN)).toBe(3);
    expect(c.cvd).toBe(4);
    expect(c.tick_rule_used).toBe(1);
  });

  it('tick rule: uptick buy, downtick sell, zero tick = previous direction, none yet = excluded', () => {
    const c = new Cvd({ tick_rule: true });
    expect(c.update(100, 1, SIDE_UNKNOWN)).toBeNaN(); // no previous price: excluded
    expect(c.update(100, 1, SIDE_UNKNOWN)).toBeNaN(); // zero tick, no direction yet: excluded
    expect(c.excluded).toBe(2);
    expect(c.cvd).toBe(0);
    expect(c.update(99, 2, SIDE_UNKNOWN)).toBe(-2); // downtick
    expect(c.update(99, 3, SIDE_UNKNOWN)).toBe(-3); // zero tick => previous (down)
    expect(c.update(99.5, 1, 1)).toBe(-1); // sided trade, but it is an uptick for the tick rule state
    expect(c.update(99.5, 4, SIDE_UNKNOWN)).toBe(4); // zero tick => last change was up
    expect(c.cvd).toBe(-2 - 3 - 1 + 4);
    expect(c.trades).toBe(6);
  });

  it('tick_rule=false excludes every unsided trade', () => {
    const c = new Cvd({ tick_rule: false });
    c.update(100, 1, 0);
    expect(c.update(101, 1, SIDE_UNKNOWN)).toBeNaN();
    expect(c.excluded).toBe(1);
    expect(c.cvd).toBe(1);
  });

  it('zero qty gives +0 (never -0); non-finite input excluded', () => {
    const c = new Cvd({ tick_rule: true });
    expect(Object.is(c.update(100, 0, 1), 0)).toBe(true);
    expect(c.update(NaN, 1, 0)).toBeNaN();
    expect(c.update(100, Infinity, 0)).toBeNaN();
    expect(c.excluded).toBe(2);
  });

  it('oracle: random trades (20% unsided, many equal prices) == batch recomputation', () => {
    const rnd = mulberry32(2024);
    const n = 20_000;
    const px: number[] = [],
      q: number[] = [],
      m: number[] = [];
    let p = 1000;
    for (let i = 0; i < n; i++) {
      const r = rnd();
      if (r < 0.25) p += 0.5;
      else if (r < 0.5) p -= 0.5;
      px.push(p);
      q.push(rnd() < 0.05 ? 0 : Math.floor(rnd() * 10000) / 1000);
      m.push(rnd() < 0.2 ? SIDE_UNKNOWN : rnd() < 0.5 ? 1 : 0);
    }
    // batch reference
    const deltas: number[] = [];
    for (let i = 0; i < n; i++) {
      if (m[i] !== SIDE_UNKNOWN) {
        deltas.push(m[i] === 1 ? -q[i] : q[i]);
        continue;
      }
      let dir = 0;
      for (let j = i; j >= 1 && dir === 0; j--) dir = Math.sign(px[j] - px[j - 1]);
      deltas.push(dir === 0 ? NaN : dir * q[i]);
    }
    const c = new Cvd({ tick_rule: true });
    let sum = 0;
    let excl = 0;
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const d = c.update(px[i], q[i], m[i]);
      if (!(d === deltas[i] || (Number.isNaN(d) && Number.isNaN(deltas[i])))) bad++;
      if (Number.isNaN(deltas[i])) excl++;
      else sum += deltas[i];
      if (!close(c.cvd, sum, 1e-12, 1)) bad++;
    }
    expect(bad).toBe(0);
    expect(c.excluded).toBe(excl);
    const total = deltas.filter((d) => !Number.isNaN(d)).reduce((s, d) => s + d, 0);
    expect(close(c.cvd, total, 1e-12, 1)).toBe(true);
  });
});
