import { describe, it, expect } from 'vitest';
import { RobustScale } from '../../src/calc/robust.js';
import { DEFAULT_CALC_PARAMS, type RobustParams } from '../../src/calc/params.js';
import { mulberry32, robustOracle, expectClose } from './helpers.js';

function params(over: Partial<RobustParams> = {}): RobustParams {
  return { ...DEFAULT_CALC_PARAMS.robust, ...over };
}

function compare(ts: number[], xs: number[], p: RobustParams): RobustScale {
  const r = new RobustScale(p);
  const ref = robustOracle(ts, xs, p);
  let emitted = 0,
    floorHits = 0,
    winsorHits = 0;
  for (let i = 0; i < xs.length; i++) {
    const z = r.update(ts[i], xs[i]);
    const o = ref[i];
    const ctx = `step ${i} (t=${ts[i]}, x=${xs[i]})`;
    expectClose(z, o.z, `${ctx} z`);
    expectClose(r.z_raw, o.z_raw, `${ctx} z_raw`);
    expectClose(r.scale, o.scale, `${ctx} scale`);
    expectClose(r.sigma_floor, o.sigma_floor, `${ctx} sigma_floor`);
    expectClose(r.ewma_mix, o.mix, `${ctx} ewma_mix`);
    if (i > 0) expect(r.floor_used, ctx).toBe(o.floor_used);
    if (!Number.isNaN(o.z)) {
      emitted++;
      if (o.floor_used) floorHits++;
      if (Math.abs(o.z_raw) >= p.winsor_limit) winsorHits++;
    }
  }
  expect(r.emitted).toBe(emitted);
  expect(r.floor_hits).toBe(floorHits);
  expect(r.winsor_hits).toBe(winsorHits);
  if (emitted > 0) {
    expect(r.sigma_floor_hit_rate).toBe(floorHits / emitted);
    expect(r.winsor_hit_rate).toBe(winsorHits / emitted);
  }
  return r;
}

describe('RobustScale', () => {
  it('doc example', () => {
    const r = new RobustScale(params({ warmup_samples: 2, warmup_sec: 0 }));
    expect(r.update(0, 1)).toBeNaN();
    expect(r.update(1000, -1)).toBeNaN();
    expect(r.update(2000, 3)).toBeCloseTo(3 / (1.4826 * 1.8), 12);
    expect(r.floor_used).toBe(true);
  });

  it('oracle: random heavy-tailed x, bursts of identical timestamps, gaps', () => {
    const rnd = mulberry32(1);
    const ts: number[] = [],
      xs: number[] = [];
    let t = 1_700_000_000_000;
    for (let i = 0; i < 1500; i++) {
      const u = rnd();
      t += u < 0.3 ? 0 : u < 0.98 ? Math.floor(rnd() * 2000) : 31_000 + Math.floor(rnd() * 100_000);
      ts.push(t);
      const g = rnd() < 0.03 ? 50 : 1;
      xs.push((rnd() - 0.5) * g * (rnd() < 0.1 ? 0 : 1));
    }
    const r = compare(ts, xs, params({ mad_window: 64, warmup_samples: 20, warmup_sec: 5, rewarm_samples: 7 }));
    expect(r.gaps).toBeGreaterThan(0);
    expect(r.winsor_hits).toBeGreaterThan(0);
    expect(r.floor_hits).toBeGreaterThan(0);
  });

  it('oracle: default params (mad_window 300)', () => {
    const rnd = mulberry32(2);
    const ts: number[] = [],
      xs: number[] = [];
    let t = 0;
    for (let i = 0; i < 1200; i++) {
      t += Math.floor(rnd() * 300);
      ts.push(t);
      xs.push(Math.tan((rnd() - 0.5) * 3)); // Cauchy-like
    }
    compare(ts, xs, params());
  });

  it('adversarial: constant x, zeros, a spike after zeros, identical timestamps throughout', () => {
    const p = params({ warmup_samples: 3, warmup_sec: 0, mad_window: 10 });
    const ts = Array.from({ length: 40 }, () => 5000);
    const xs = [...Array(15).fill(2), ...Array(15).fill(0), 1e6, ...Array(9).fill(0)];
    const r = compare(ts, xs, p);
    expect(r.winsor_hits).toBeGreaterThan(0);
    // constant 2: mix = 2, MAD = 0 => z = 1
    const r2 = new RobustScale(p);
    let z = NaN;
    for (let i = 0; i < 10; i++) z = r2.update(i * 1000, 2);
    expect(z).toBe(1);
    expect(r2.floor_used).toBe(false);
  });

  it('all zeros: scale is the 1e-9 floor and z = 0 (not null)', () => {
    const r = new RobustScale(params({ warmup_samples: 1, warmup_sec: 0 }));
    r.update(0, 0);
    expect(r.update(1, 0)).toBe(0);
    expect(r.scale).toBe(1e-9);
  });

  it('warm-up: null until warmup_samples earlier observations AND warmup_sec elapsed', () => {
    const r = new RobustScale(params({ warmup_samples: 5, warmup_sec: 10 }));
    const zs: number[] = [];
    for (let i = 0; i < 20; i++) zs.push(r.update(i * 1000, i % 2 ? 1 : -1));
    // i >= 5 and t >= 10 s  => first z at i = 10
    expect(zs.slice(0, 10).every(Number.isNaN)).toBe(true);
    expect(zs.slice(10).every(Number.isFinite)).toBe(true);
  });

  it('after a gap: the next rewarm_samples z are null, never 0', () => {
    const r = new RobustScale(params({ warmup_samples: 2, warmup_sec: 0, gap_sec: 30, rewarm_samples: 3 }));
    for (let i = 0; i < 10; i++) r.update(i * 1000, 1);
    expect(r.update(10_000, 1)).toBe(1);
    expect(r.update(41_001, 1)).toBeNaN(); // gap 31 s
    expect(r.update(42_000, 1)).toBeNaN();
    expect(r.update(43_000, 1)).toBeNaN();
    expect(r.update(44_000, 1)).toBe(1);
    expect(r.gaps).toBe(1);
    expect(r.z_raw).toBe(1);
  });

  it('non-finite x is not observed', () => {
    const r = new RobustScale(params({ warmup_samples: 0, warmup_sec: 0 }));
    r.update(0, 1);
    expect(r.update(1, NaN)).toBeNaN();
    expect(r.invalid).toBe(1);
    expect(r.count).toBe(1);
  });

  it('reset() then the same input gives identical output (determinism)', () => {
    const rnd = mulberry32(8);
    const xs = Array.from({ length: 500 }, () => rnd() - 0.5);
    const r = new RobustScale(params({ warmup_samples: 5, warmup_sec: 0 }));
    const a = xs.map((x, i) => r.update(i * 100, x));
    r.reset();
    const b = xs.map((x, i) => r.update(i * 100, x));
    expect(b).toEqual(a);
  });

  it('rejects bad params with the key named', () => {
    expect(() => new RobustScale(params({ half_life_sec: 0 }))).toThrow(/robust.half_life_sec/);
    expect(() => new RobustScale(params({ scale_fast_weight: 1.5 }))).toThrow(/robust.scale_fast_weight/);
    expect(() => new RobustScale(params({ mad_window: 2.5 }))).toThrow(/robust.mad_window/);
    expect(() => new RobustScale(params({ rewarm_samples: 0 }))).toThrow(/robust.rewarm_samples/);
  });

  it('is fast: 300k updates with mad_window 300', () => {
    const r = new RobustScale(params());
    const rnd = mulberry32(4);
    const t0 = performance.now();
    for (let i = 0; i < 300_000; i++) r.update(i * 10, rnd() - 0.5);
    expect(performance.now() - t0).toBeLessThan(8000); // generous: guards against a sort per tick
  });
});
