import { describe, it, expect } from 'vitest';
import { SymbolCalc } from '../../src/pipeline/symbol-calc.js';
import { cloneCalcParams } from '../../src/calc/params.js';
import { SIDE_UNKNOWN } from '../../src/core/types.js';
import { mulberry32 } from '../calc/helpers.js';

interface Tick {
  t: number;
  q: boolean;
  bid: number;
  ask: number;
  px: number;
  qty: number;
  m: number;
}

function stream(seed: number, n: number): Tick[] {
  const rnd = mulberry32(seed);
  const out: Tick[] = [];
  let t = 1_723_161_255_123,
    mid = 61_000;
  for (let i = 0; i < n; i++) {
    t += rnd() < 0.2 ? 0 : rnd() < 0.995 ? Math.floor(rnd() * 300) : 3000 + Math.floor(rnd() * 4000);
    if (rnd() < 0.3) mid += Math.round((rnd() - 0.5) * 4) * 0.01;
    if (rnd() < 0.6) out.push({ t, q: true, bid: mid - 0.005, ask: mid + 0.005, px: NaN, qty: NaN, m: 0 });
    else
      out.push({
        t,
        q: false,
        bid: NaN,
        ask: NaN,
        px: mid,
        qty: Math.floor(rnd() * 1000) / 1e4,
        m: rnd() < 0.05 ? SIDE_UNKNOWN : rnd() < 0.5 ? 1 : 0,
      });
  }
  return out;
}

function run(ticks: Tick[], tol = 1500) {
  const P = cloneCalcParams();
  P.fusion.horizon_ms = 10_000;
  P.fusion.flip_min_samples = 20;
  P.fusion.flip_window = 50;
  P.fusion.flip_cooldown_ms = 30_000;
  const c = new SymbolCalc(P, 'BTCUSDT', { merge_tol_ms: tol });
  for (const k of ticks) {
    if (k.q) c.onQuote(k.t, k.bid, 1, k.ask, 2);
    else c.onTrade(k.t, k.px, k.qty, k.m);
  }
  c.flush();
  return c;
}

describe('SymbolCalc', () => {
  it('one ofi row per quote, one cvd row per trade, slice codes on every row', () => {
    const ticks = stream(1, 20_000);
    const c = run(ticks);
    expect(c.ofiRows.length).toBe(ticks.filter((k) => k.q).length);
    expect(c.cvdRows.length).toBe(ticks.filter((k) => !k.q).length);
    expect(c.ofiRows.session.length).toBe(c.ofiRows.length);
    expect(c.cvdRows.regime.length).toBe(c.cvdRows.length);
    expect(c.fusionRows.regime.length).toBe(c.fusionRows.length);
    expect(c.ofiRows.ofi_value.get(0)).toBeNaN();
    expect(c.cvdRows.floor_used.get(0)).toBe(-1);
    expect(c.fee_tier).toBe('TM');
    expect(c.sessionNames).toEqual(['London', 'NY', 'Tokyo']);
  });

  it('labels: forward as-of join (first quote at or after s + H, within merge_tol_ms) == brute force', () => {
    const ticks = stream(2, 30_000);
    const tol = 150;
    const c = run(ticks, tol);
    const quotes = ticks.filter((k) => k.q);
    const H = 10_000;
    let up = 0,
      down = 0,
      eq = 0,
      unmatched = 0;
    const lastQ = quotes[quotes.length - 1].t;
    for (let i = 0; i < c.fusionRows.length; i++) {
      const s = c.fusionRows.ts_ms.get(i),
        m0 = c.fusionRows.mid.get(i);
      if (s + H > lastQ) continue; // never resolved
      const q = quotes.find((x) => x.t >= s + H)!;
      const m1 = (q.bid + q.ask) / 2;
      if (q.t - (s + H) > tol || Number.isNaN(m0)) unmatched++;
      else if (m1 === m0) eq++;
      else if (m1 > m0) up++;
      else down++;
    }
    expect([c.labels_up, c.labels_down, c.labels_equal, c.labels_unmatched]).toEqual([up, down, eq, unmatched]);
    expect(up + down).toBeGreaterThan(100);
    expect(unmatched).toBeGreaterThan(0);
    expect(c.fusion.labels_rejected_future).toBe(0);
    expect(c.fusion.labels_accepted).toBeLessThanOrEqual(up + down);
  });

  it('determinism: identical inputs => identical rows', () => {
    const ticks = stream(3, 10_000);
    const a = run(ticks),
      b = run(ticks);
    expect(Array.from(b.cvdRows.z_cvd.view())).toEqual(Array.from(a.cvdRows.z_cvd.view()));
    expect(Array.from(b.ofiRows.ofi_z.view())).toEqual(Array.from(a.ofiRows.ofi_z.view()));
    expect(Array.from(b.fusionRows.score_z.view())).toEqual(Array.from(a.fusionRows.score_z.view()));
    expect(Array.from(b.fusionRows.cvd_dir.view())).toEqual(Array.from(a.fusionRows.cvd_dir.view()));
    expect(b.eventRows.meta_json).toEqual(a.eventRows.meta_json);
  });
});
