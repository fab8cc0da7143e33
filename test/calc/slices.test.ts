import { describe, it, expect } from 'vitest';
import { SessionClassifier, zoneOffsetMs } from '../../src/calc/session.js';
import { SliceTracker, SLICE_NULL } from '../../src/calc/slices.js';
import { DEFAULT_CALC_PARAMS, type SliceParams } from '../../src/calc/params.js';
import { mulberry32, slowQuantile } from './helpers.js';

const S = DEFAULT_CALC_PARAMS.slices;
const U = (y: number, mo: number, d: number, h: number, mi = 0) => Date.UTC(y, mo - 1, d, h, mi);

function params(over: Partial<SliceParams> = {}): SliceParams {
  return { ...structuredClone(S), ...over } as SliceParams;
}

// ---- independent DST oracle (no Intl): US and UK rules since 2007 / 1996
function nthSunday(y: number, mo: number, n: number): number {
  const first = new Date(Date.UTC(y, mo - 1, 1)).getUTCDay();
  return 1 + ((7 - first) % 7) + 7 * (n - 1);
}
function lastSunday(y: number, mo: number): number {
  const last = new Date(Date.UTC(y, mo, 0));
  return last.getUTCDate() - last.getUTCDay();
}
function nyOffsetMin(ms: number): number {
  const y = new Date(ms).getUTCFullYear();
  const start = Date.UTC(y, 2, nthSunday(y, 3, 2), 7); // 02:00 EST
  const end = Date.UTC(y, 10, nthSunday(y, 11, 1), 6); // 02:00 EDT
  return ms >= start && ms < end ? -240 : -300;
}
function ukOffsetMin(ms: number): number {
  const y = new Date(ms).getUTCFullYear();
  const start = Date.UTC(y, 2, lastSunday(y, 3), 1);
  const end = Date.UTC(y, 9, lastSunday(y, 10), 1);
  return ms >= start && ms < end ? 60 : 0;
}
function oracleSession(ms: number): string {
  const min = Math.floor(ms / 60000);
  const lon = (((min + ukOffsetMin(ms)) % 1440) + 1440) % 1440;
  const ny = (((min + nyOffsetMin(ms)) % 1440) + 1440) % 1440;
  if (lon >= 480 && lon < 780) return 'London';
  if (ny >= 480 && ny < 1020) return 'NY';
  return 'Tokyo';
}

describe('sessions (IANA zones, DST)', () => {
  const sc = new SessionClassifier(S.sessions, S.session_fallback);

  it('names: rule names then fallback', () => {
    expect(sc.names).toEqual(['London', 'NY', 'Tokyo']);
  });

  it('zone offsets via Intl, independent of the machine time zone', () => {
    expect(zoneOffsetMs('America/New_York', U(2024, 1, 15, 12))).toBe(-5 * 3600_000);
    expect(zoneOffsetMs('America/New_York', U(2024, 7, 15, 12))).toBe(-4 * 3600_000);
    expect(zoneOffsetMs('Europe/London', U(2024, 1, 15, 12))).toBe(0);
    expect(zoneOffsetMs('Europe/London', U(2024, 7, 15, 12))).toBe(3600_000);
    expect(zoneOffsetMs('Asia/Kolkata', U(2024, 7, 15, 12))).toBe(5.5 * 3600_000);
  });

  it('US DST start 2024-03-10: NY opens at 13:00 UTC the day before, 12:00 UTC that day', () => {
    expect(sc.name(U(2024, 3, 9, 12, 59))).toBe('London'); // London still GMT: 08-13 UTC
    expect(sc.name(U(2024, 3, 9, 13, 0))).toBe('NY');
    expect(sc.name(U(2024, 3, 9, 21, 59))).toBe('NY');
    expect(sc.name(U(2024, 3, 9, 22, 0))).toBe('Tokyo');
    // 2024-03-10 is a Sunday; sessions are wall-clock windows regardless of weekday
    expect(sc.name(U(2024, 3, 10, 6, 59))).toBe('Tokyo'); // 01:59 EST
    expect(sc.name(U(2024, 3, 10, 7, 0))).toBe('Tokyo'); // 03:00 EDT (02:00-02:59 does not exist)
    expect(sc.name(U(2024, 3, 10, 11, 59))).toBe('London'); // London 11:59 GMT wins the overlap
    expect(sc.name(U(2024, 3, 10, 12, 59))).toBe('London');
    expect(sc.name(U(2024, 3, 10, 13, 0))).toBe('NY');
    expect(sc.name(U(2024, 3, 11, 12, 30))).toBe('London'); // overlap week: London first
    expect(sc.name(U(2024, 3, 11, 20, 59))).toBe('NY'); // 16:59 EDT
    expect(sc.name(U(2024, 3, 11, 21, 0))).toBe('Tokyo'); // 17:00 EDT
  });

  it('UK DST start 2024-03-31: London opens at 08:00 UTC the day before, 07:00 UTC that day', () => {
    expect(sc.name(U(2024, 3, 30, 7, 59))).toBe('Tokyo');
    expect(sc.name(U(2024, 3, 30, 8, 0))).toBe('London');
    expect(sc.name(U(2024, 3, 31, 0, 59))).toBe('Tokyo'); // 00:59 GMT
    expect(sc.name(U(2024, 3, 31, 1, 0))).toBe('Tokyo'); // 02:00 BST
    expect(sc.name(U(2024, 3, 31, 6, 59))).toBe('Tokyo');
    expect(sc.name(U(2024, 3, 31, 7, 0))).toBe('London'); // 08:00 BST
    expect(sc.name(U(2024, 3, 31, 11, 59))).toBe('London');
    expect(sc.name(U(2024, 3, 31, 12, 0))).toBe('NY'); // 08:00 EDT
  });

  it('autumn transitions (2024-10-27 UK, 2024-11-03 US)', () => {
    expect(sc.name(U(2024, 10, 26, 7, 0))).toBe('London'); // 08:00 BST
    expect(sc.name(U(2024, 10, 27, 7, 0))).toBe('Tokyo'); // 07:00 GMT
    expect(sc.name(U(2024, 10, 27, 8, 0))).toBe('London');
    expect(sc.name(U(2024, 11, 2, 12, 0))).toBe('London'); // overlap: London GMT until 13:00 UTC
    expect(sc.name(U(2024, 11, 2, 20, 59))).toBe('NY'); // 16:59 EDT
    expect(sc.name(U(2024, 11, 4, 21, 0))).toBe('NY'); // 16:00 EST
    expect(sc.name(U(2024, 11, 4, 22, 0))).toBe('Tokyo');
  });

  it('every minute of 2024 maps to exactly one session, equal to an independent DST oracle', () => {
    const c = new SessionClassifier(S.sessions, S.session_fallback);
    const counts = new Map<string, number>();
    let mismatches = 0;
    let firstBad = '';
    const t0 = U(2024, 1, 1, 0),
      t1 = U(2025, 1, 1, 0);
    for (let t = t0; t < t1; t += 60_000) {
      const name = c.name(t);
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (name !== oracleSession(t)) {
        mismatches++;
        if (!firstBad) firstBad = `${new Date(t).toISOString()} ${name} vs ${oracleSession(t)}`;
      }
    }
    expect(firstBad).toBe('');
    expect(mismatches).toBe(0);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(366 * 1440);
    expect([...counts.keys()].sort()).toEqual(['London', 'NY', 'Tokyo']);
    // London is always 5 h per day
    expect(counts.get('London')).toBe(366 * 300);
  });

  it('wrapping windows and config errors', () => {
    const w = new SessionClassifier([{ name: 'Night', tz: 'UTC', start: '22:00', end: '02:00' }], 'Day');
    expect(w.name(U(2024, 5, 1, 23))).toBe('Night');
    expect(w.name(U(2024, 5, 1, 1, 59))).toBe('Night');
    expect(w.name(U(2024, 5, 1, 2))).toBe('Day');
    expect(() => new SessionClassifier([{ name: 'X', tz: 'Mars/Olympus', start: '08:00', end: '09:00' }], 'Y')).toThrow(
      /slices.sessions\[0\].tz/,
    );
    expect(() => new SessionClassifier([{ name: 'X', tz: 'UTC', start: '8:00', end: '09:00' }], 'Y')).toThrow(
      /slices.sessions\[0\].start/,
    );
  });
});

describe('regime', () => {
  it('flips exactly at the active_tps threshold (>= is Active)', () => {
    const st = new SliceTracker(params(), 'BTCUSDT');
    st.onMid(1_000_000 - 500, 100); // stream start: the rate denominator is the full 300 s below
    // 2.0 trades/s: one every 500 ms for 300 s
    for (let i = 0; i < 600; i++) st.onTrade(1_000_000 + i * 500);
    const t = 1_000_000 + 599 * 500; // window (t-300s, t] holds all 600 (first at t-299.5 s)
    st.label(t);
    expect(st.trade_rate).toBe(2);
    expect(st.regime_name()).toBe('Active');
    st.label(t + 499); // first trade leaves the window at t + 500
    expect(st.regime_name()).toBe('Active');
    st.label(t + 500);
    expect(st.trade_rate).toBeCloseTo(599 / 300, 12);
    expect(st.regime_name()).toBe('Quiet');
  });

  it('per-symbol override', () => {
    const p = params({ active_tps_by_symbol: { ETHUSDT: 0.5 } });
    const a = new SliceTracker(p, 'ETHUSDT');
    const b = new SliceTracker(p, 'BTCUSDT');
    for (let i = 0; i < 300; i++) {
      a.onTrade(i * 1000);
      b.onTrade(i * 1000);
    }
    a.label(299_999);
    b.label(299_999);
    expect(a.regime_name()).toBe('Active');
    expect(b.regime_name()).toBe('Quiet');
  });

  it('oracle: coverage-adjusted rate == brute-force count at every event', () => {
    const rnd = mulberry32(6);
    const st = new SliceTracker(params({ win_secs: 20 }), 'X');
    const trades: number[] = [];
    let t = 5_000_000,
      start = NaN,
      bad = 0;
    for (let i = 0; i < 6000; i++) {
      t += rnd() < 0.01 ? 30_000 : Math.floor(rnd() * 900);
      if (Number.isNaN(start)) start = t;
      if (rnd() < 0.7) {
        st.onTrade(t);
        trades.push(t);
      } else {
        st.onMid(t, 100);
      }
      st.label(t);
      const n = trades.filter((x) => x > t - 20_000 && x <= t).length;
      const d = Math.min(20_000, Math.max(1000, t - start)) / 1000;
      if (Math.abs(st.trade_rate - n / d) > 1e-12 || st.regime !== (n / d >= 2 ? 1 : 0)) bad++;
    }
    expect(bad).toBe(0);
  });
});

describe('vol bucket and tertiles', () => {
  it('oracle: grid mids, RMS returns, trailing quantile buckets == from-scratch recomputation', () => {
    const p = params({
      vol_window_sec: 20,
      vol_min_returns: 5,
      vol_history_sec: 120,
      vol_min_history: 10,
      vol_gap_sec: 5,
      vol_split: 0.5,
    });
    const rnd = mulberry32(12);
    const st = new SliceTracker(p, 'X');
    const mids: Array<[number, number]> = [];
    let t = 10_000_123,
      m = 100,
      bad = 0,
      checked = 0;
    const labelsAt: number[] = [];
    const got: Array<[number, number, number]> = [];
    for (let i = 0; i < 4000; i++) {
      t += rnd() < 0.005 ? 8000 + Math.floor(rnd() * 5000) : rnd() < 0.2 ? 0 : Math.floor(rnd() * 700);
      const regimeHigh = Math.floor(t / 60_000) % 3 === 0;
      m *= Math.exp((rnd() - 0.5) * (regimeHigh ? 4e-3 : 5e-4));
      st.onMid(t, m);
      mids.push([t, m]);
      if (rnd() < 0.3) {
        st.label(t);
        labelsAt.push(t);
        got.push([st.vol_bucket, st.vol_tertile, st.volTracker.vol]);
      }
    }
    // reference
    const G = 1000;
    let mi = 0;
    let prev = NaN;
    let last: [number, number] | null = null;
    const rets: number[] = [];
    const hist: number[] = [];
    let vol = NaN;
    let g = Math.ceil(mids[0][0] / G) * G;
    for (let li = 0; li < labelsAt.length; li++) {
      const lt = labelsAt[li];
      for (; g < lt; g += G) {
        while (mi < mids.length && mids[mi][0] <= g) last = mids[mi++];
        if (last === null) continue;
        if (g - last[0] > 5000) {
          prev = NaN;
          continue;
        }
        if (!Number.isNaN(prev)) {
          rets.push(Math.log(last[1] / prev));
          if (rets.length >= 5) {
            const w = rets.slice(-20);
            vol = Math.sqrt(w.reduce((s, r) => s + r * r, 0) / w.length);
            hist.push(vol);
          }
        }
        prev = last[1];
      }
      const h = hist.slice(-120);
      let bucket = SLICE_NULL,
        tert = SLICE_NULL;
      if (!Number.isNaN(vol) && h.length >= 10) {
        bucket = vol > slowQuantile(h, 0.5) ? 1 : 0;
        tert = vol <= slowQuantile(h, 1 / 3) ? 0 : vol > slowQuantile(h, 2 / 3) ? 2 : 1;
      }
      const [gb, gt, gv] = got[li];
      checked++;
      const volOk = (Number.isNaN(vol) && Number.isNaN(gv)) || Math.abs(gv - vol) <= 1e-12 * vol;
      if (gb !== bucket || gt !== tert || !volOk) bad++;
    }
    expect(checked).toBeGreaterThan(1000);
    expect(bad).toBe(0);
    expect(st.volTracker.grid_skipped).toBeGreaterThan(0);
    // both buckets and all tertiles occur
    expect(new Set(got.map((x) => x[0]))).toEqual(new Set([SLICE_NULL, 0, 1]));
    expect(new Set(got.map((x) => x[1]))).toEqual(new Set([SLICE_NULL, 0, 1, 2]));
  });

  it('vol bucket is null (not a guess) during warm-up; scenario follows', () => {
    const st = new SliceTracker(params(), 'X');
    st.onMid(1000, 100);
    st.onTrade(1000);
    st.label(1000);
    expect(st.vol_bucket).toBe(SLICE_NULL);
    expect(st.vol_bucket_name()).toBeNull();
    expect(st.scenario_name()).toBeNull();
    expect(st.regime_name()).toBe('Quiet');
    expect(st.fee_tier).toBe('TM');
  });

  it('scenario_2x2 combines regime and vol', () => {
    const p = params({
      vol_window_sec: 5,
      vol_min_returns: 2,
      vol_history_sec: 10,
      vol_min_history: 2,
      win_secs: 10,
      active_tps: 1,
    });
    const st = new SliceTracker(p, 'X');
    let m = 100;
    for (let i = 0; i < 40; i++) {
      m *= i >= 36 ? 1.01 : 1.0001;
      st.onTrade(i * 1000);
      st.onMid(i * 1000, m);
    }
    st.label(39_500);
    expect(st.regime_name()).toBe('Active');
    expect(st.vol_bucket_name()).toBe('High');
    expect(st.scenario_name()).toBe('A_H');
    expect(st.vol_tertile_name()).toBe('Q3+');
  });

  it('label() refuses a time earlier than an event already fed (causality guard)', () => {
    const st = new SliceTracker(params(), 'X');
    st.onTrade(5000);
    expect(() => st.label(4999)).toThrow(/causal/);
  });

  it('fee tier from config', () => {
    expect(new SliceTracker(params({ fee_tiers: { BTCUSDT: 'TL' } }), 'BTCUSDT').fee_tier).toBe('TL');
    expect(() => new SliceTracker(params({ fee_tiers: { BTCUSDT: 'XX' as 'TL' } }), 'BTCUSDT')).toThrow(
      /slices.fee_tiers.BTCUSDT/,
    );
  });
});
