import { describe, it, expect } from 'vitest';
import { EventDetector, metaJson, fmtNum } from '../../src/calc/events.js';
import { DEFAULT_CALC_PARAMS, type EventParams } from '../../src/calc/params.js';
import { EventLog, mulberry32 } from './helpers.js';

function params(over: Partial<EventParams> = {}): EventParams {
  return { ...DEFAULT_CALC_PARAMS.events, ...over };
}

function rows(ev: EventLog) {
  return ev.ts.map((ts, i) => ({ ts, type: ev.event_type[i], meta: JSON.parse(ev.meta_json[i]) }));
}

describe('meta_json', () => {
  it('sorted keys, 12 significant digits, null for non-finite, no -0', () => {
    expect(metaJson({ z: 1 / 3, a: 'x', m: NaN, b: -0, c: 61685.99 })).toBe(
      '{"a":"x","b":0,"c":61685.99,"m":null,"z":0.333333333333}',
    );
    expect(fmtNum(1e-7)).toBe('1e-7');
    expect(fmtNum(0.1 + 0.2)).toBe('0.3');
    expect(fmtNum(1723161255342)).toBe('1723161255342'); // integers (epoch ms) exact
    expect(fmtNum(1723161255342.5)).toBe('1723161255340'); // non-integers: 12 significant digits
    expect(fmtNum(-0)).toBe('0');
  });
});

describe('EventDetector', () => {
  it('crossed / locked quotes: one anomaly when the book enters the state', () => {
    const ev = new EventLog();
    const d = new EventDetector(params(), 'BTCUSDT', ev);
    d.onQuote(1000, 100, 100.01);
    d.onQuote(1100, 100.02, 100.01); // crossed
    d.onQuote(1200, 100.03, 100.01); // still crossed: no new row
    d.onQuote(1300, 100.01, 100.01); // locked
    d.onQuote(1400, 100, 100.01); // normal
    d.onQuote(1500, 100.02, 100.01); // crossed again
    const r = rows(ev);
    expect(r.map((x) => [x.ts, x.type, x.meta.reason])).toEqual([
      [1100, 'anomaly', 'crossed'],
      [1300, 'anomaly', 'locked'],
      [1500, 'anomaly', 'crossed'],
    ]);
    expect(ev.meta_json[0]).toBe('{"ask":100.01,"bid":100.02,"reason":"crossed"}');
    expect(ev.symbol[0]).toBe('BTCUSDT');
  });

  it('z anomalies at the winsor limit with a per-source cooldown', () => {
    const ev = new EventLog();
    const d = new EventDetector(params({ anomaly_cooldown_ms: 5000 }), 'X', ev);
    d.onZ(1000, 'cvd_z', 7.99);
    d.onZ(1000, 'cvd_z', NaN);
    d.onZ(2000, 'cvd_z', -8);
    d.onZ(3000, 'cvd_z', 8); // suppressed (cooldown)
    d.onZ(3000, 'ofi_z', 8); // other source
    d.onZ(7000, 'cvd_z', 8);
    expect(rows(ev).map((x) => [x.ts, x.meta.source, x.meta.z])).toEqual([
      [2000, 'cvd_z', -8],
      [3000, 'ofi_z', 8],
      [7000, 'cvd_z', 8],
    ]);
    expect(d.anomalies_suppressed).toBe(1);
  });

  it('gap events: silence longer than gap_sec', () => {
    const ev = new EventLog();
    const d = new EventDetector(params({ gap_sec: 30 }), 'X', ev);
    d.onTrade(1000, 1);
    d.onTrade(31_000, 1); // exactly 30 s: not a gap
    d.onTrade(61_001, 1);
    const g = rows(ev).filter((x) => x.type === 'gap');
    expect(g).toEqual([{ ts: 61_001, type: 'gap', meta: { from_ts: 31_000, gap_ms: 30_001 } }]);
  });

  it('cvd_flip rows', () => {
    const ev = new EventLog();
    const d = new EventDetector(params(), 'X', ev);
    d.onFlip(5000, -1, -0.25, 120);
    expect(ev.meta_json[0]).toBe('{"dir":-1,"n":120,"rho":-0.25}');
    expect(ev.event_type[0]).toBe('cvd_flip');
  });

  it('pivot: a triangle of mids gives one high and one low, confirmed k grid points later', () => {
    const ev = new EventLog();
    const k = 3;
    const d = new EventDetector(params({ pivot_k: k, div_window: 100 }), 'X', ev);
    // grid mids: 0..10 up, then down to 0, then up
    const path = [...Array(11).keys(), ...[9, 8, 7, 6, 5, 4, 3, 2, 1, 0], 1, 2, 3, 4, 5];
    path.forEach((m, i) => {
      d.onTrade(i * 1000, 0);
      d.onQuote(i * 1000, 100 + m - 0.5, 100 + m + 0.5);
    });
    d.flush();
    const p = rows(ev).filter((x) => x.type === 'pivot');
    expect(p).toEqual([
      { ts: (10 + k) * 1000, type: 'pivot', meta: { k, kind: 'high', mid: 110, pivot_ts: 10_000 } },
      { ts: (20 + k) * 1000, type: 'pivot', meta: { k, kind: 'low', mid: 100, pivot_ts: 20_000 } },
    ]);
  });

  it('pivot on a plateau: strict on the left only => exactly one pivot', () => {
    const ev = new EventLog();
    const d = new EventDetector(params({ pivot_k: 2, div_window: 100 }), 'X', ev);
    const path = [0, 1, 5, 5, 5, 1, 0, 0, 0];
    path.forEach((m, i) => {
      d.onTrade(i * 1000, 0);
      d.onQuote(i * 1000, m - 0.5, m + 0.5);
    });
    d.flush();
    const p = rows(ev).filter((x) => x.type === 'pivot' && x.meta.kind === 'high');
    expect(p.length).toBe(1);
    expect(p[0].meta.pivot_ts).toBe(2000);
  });

  it('divergence: price new high while CVD is not (bearish), CVD new high while price is not (bullish)', () => {
    const ev = new EventLog();
    const d = new EventDetector(params({ div_window: 5, div_cooldown_ms: 0, pivot_k: 50 }), 'X', ev);
    const mids = [10, 11, 12, 11, 10, 13, 12, 12, 12, 12, 12];
    const cvds = [5, 6, 7, 6, 5, 6, 6, 6, 6, 6, 9];
    mids.forEach((m, i) => {
      d.onTrade(i * 1000, cvds[i]);
      d.onQuote(i * 1000, m - 0.5, m + 0.5);
    });
    d.flush();
    const dv = rows(ev).filter((x) => x.type === 'divergence');
    expect(dv).toEqual([
      {
        ts: 5000,
        type: 'divergence',
        meta: { cvd: 6, kind: 'bearish', leader: 'price', mid: 13, prior_cvd_max: 7, prior_mid_max: 12, window: 5 },
      },
      {
        ts: 10_000,
        type: 'divergence',
        meta: { cvd: 9, kind: 'bullish', leader: 'cvd', mid: 12, prior_cvd_max: 6, prior_mid_max: 13, window: 5 },
      },
    ]);
  });

  it('divergence cooldown per (kind, leader)', () => {
    const ev = new EventLog();
    const d = new EventDetector(params({ div_window: 2, div_cooldown_ms: 10_000, pivot_k: 50 }), 'X', ev);
    for (let i = 0; i < 20; i++) {
      d.onTrade(i * 1000, 0); // flat CVD
      d.onQuote(i * 1000, i - 0.5, i + 0.5); // price makes a new high every second
    }
    d.flush();
    const dv = rows(ev)
      .filter((x) => x.type === 'divergence')
      .map((x) => x.ts);
    expect(dv).toEqual([2000, 12_000]);
  });

  it('rows are in non-decreasing ts; identical input => identical rows (determinism)', () => {
    const run = () => {
      const ev = new EventLog();
      const d = new EventDetector(params({ div_window: 10, pivot_k: 5, gap_sec: 5 }), 'X', ev);
      const rnd = mulberry32(31);
      let t = 0,
        m = 100,
        c = 0;
      for (let i = 0; i < 20_000; i++) {
        t += rnd() < 0.001 ? 7000 : Math.floor(rnd() * 200);
        m += (rnd() - 0.5) * 0.1;
        if (rnd() < 0.5) {
          c += rnd() - 0.5;
          d.onTrade(t, c);
          d.onZ(t, 'cvd_z', (rnd() - 0.5) * 20);
        } else {
          const crossed = rnd() < 0.01;
          d.onQuote(t, crossed ? m + 0.02 : m - 0.01, m + 0.01);
        }
      }
      d.flush();
      return ev;
    };
    const a = run(),
      b = run();
    expect(a.length).toBeGreaterThan(100);
    expect(b.meta_json).toEqual(a.meta_json);
    expect(b.ts).toEqual(a.ts);
    for (let i = 1; i < a.length; i++) expect(a.ts[i]).toBeGreaterThanOrEqual(a.ts[i - 1]);
    expect(new Set(a.event_type)).toEqual(new Set(['divergence', 'pivot', 'anomaly', 'gap']));
  });
});
