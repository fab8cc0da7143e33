import { describe, it, expect } from 'vitest';
import { Fusion } from '../../src/calc/fusion.js';
import { SliceTracker } from '../../src/calc/slices.js';
import { DEFAULT_CALC_PARAMS, cloneCalcParams, type FusionParams } from '../../src/calc/params.js';
import { mulberry32, robustOracle, slowSpearman, close, SampleLog } from './helpers.js';

interface Ev {
  t: number;
  kind: 'q' | 't';
  v: number; // e_n or delta (NaN allowed)
  bid: number;
  ask: number;
}

function fparams(over: Partial<FusionParams> = {}): FusionParams {
  const p = cloneCalcParams().fusion;
  p.robust = { ...p.robust, warmup_samples: 10, warmup_sec: 5, gap_sec: 10, rewarm_samples: 3, mad_window: 50 };
  p.window_ms = 5000;
  return { ...p, ...over };
}

function randomStream(seed: number, n: number): Ev[] {
  const rnd = mulberry32(seed);
  const out: Ev[] = [];
  let t = 1_700_000_000_437;
  let mid = 100;
  for (let i = 0; i < n; i++) {
    const u = rnd();
    t += u < 0.2 ? 0 : u < 0.995 ? Math.floor(rnd() * 400) : 11_000 + Math.floor(rnd() * 20_000);
    mid += (rnd() - 0.5) * 0.05;
    if (rnd() < 0.6)
      out.push({
        t,
        kind: 'q',
        v: rnd() < 0.02 ? NaN : (rnd() - 0.45) * 3.7 + rnd() * 1e-3,
        bid: mid - 0.01,
        ask: mid + 0.01,
      });
    else out.push({ t, kind: 't', v: rnd() < 0.02 ? NaN : (rnd() - 0.5) * 2.3 + rnd() * 1e-3, bid: NaN, ask: NaN });
  }
  return out;
}

function feed(f: Fusion, evs: Ev[], each?: (ev: Ev) => void): void {
  for (const ev of evs) {
    each?.(ev);
    if (ev.kind === 'q') f.onQuote(ev.t, ev.v, ev.bid, ev.ask);
    else f.onTrade(ev.t, ev.v);
  }
  f.flush();
}

/** Slow reference of the whole per-sample computation (no slices, no flips). */
function fusionOracle(evs: Ev[], p: FusionParams) {
  const S = p.sample_ms,
    W = p.window_ms,
    gap = p.robust.gap_sec * 1000;
  const samples: number[] = [];
  const last = evs[evs.length - 1].t;
  let j = 0;
  let L = -Infinity;
  for (let s = Math.ceil(evs[0].t / S) * S; s <= last; s += S) {
    while (j < evs.length && evs[j].t <= s) L = evs[j++].t;
    if (s - L > gap) continue;
    samples.push(s);
  }
  const rows = samples.map((s) => {
    const seen = evs.filter((e) => e.t <= s);
    const qs = seen.filter((e) => e.kind === 'q');
    const ts = seen.filter((e) => e.kind === 't');
    const flow = (xs: Ev[]) => {
      if (xs.length === 0 || s - xs[0].t < W) return { f: NaN, ref: 0 };
      const inW = xs.filter((e) => e.t > s - W && Number.isFinite(e.v));
      return { f: inW.reduce((a, e) => a + e.v, 0), ref: inW.reduce((a, e) => a + Math.abs(e.v), 0) };
    };
    const o = flow(qs),
      c = flow(ts);
    const lastQ = qs.length ? qs[qs.length - 1].t : NaN;
    const lastT = ts.length ? ts[ts.length - 1].t : NaN;
    const mq = qs.length ? (qs[qs.length - 1].bid + qs[qs.length - 1].ask) / 2 : NaN;
    return { s, ofi: o.f, ofiRef: o.ref, cvd: c.f, cvdRef: c.ref, mid: mq, merge: s - Math.min(lastQ, lastT) };
  });
  const zOf = (vals: number[]) => {
    const idx = vals.map((v, i) => (Number.isNaN(v) ? -1 : i)).filter((i) => i >= 0);
    const r = robustOracle(
      idx.map((i) => samples[i]),
      idx.map((i) => vals[i]),
      p.robust,
    );
    const z = vals.map(() => NaN);
    idx.forEach((i, k) => (z[i] = r[k].z));
    return z;
  };
  const zo = zOf(rows.map((r) => r.ofi));
  const zc = zOf(rows.map((r) => r.cvd));
  const raw = rows.map((_, i) =>
    Number.isNaN(zo[i]) || Number.isNaN(zc[i]) ? NaN : p.weights.ofi * zo[i] + p.cvd_dir * p.weights.cvd * zc[i],
  );
  const sz = zOf(raw);
  return rows.map((r, i) => {
    const gated = !Number.isNaN(raw[i]) && Math.abs(raw[i]) < p.gate;
    return { ...r, zo: zo[i], zc: zc[i], score: gated ? 0 : raw[i], scoreZ: gated && !Number.isNaN(sz[i]) ? 0 : sz[i] };
  });
}

describe('Fusion', () => {
  for (const seed of [1, 2, 3]) {
    it(`oracle: windowed flows, robust z's, score, gate, mid, merge age, silence skipping (seed ${seed})`, () => {
      const evs = randomStream(seed, 6000);
      const p = fparams({ gate: 0.3, cvd_auto_flip: false, cvd_dir: seed === 2 ? -1 : 1 });
      const cols = new SampleLog();
      const f = new Fusion(p, cols);
      feed(f, evs);
      const ref = fusionOracle(evs, p);
      expect(Array.from(cols.ts.view())).toEqual(ref.map((r) => r.s));
      let bad = 0;
      const first: string[] = [];
      const chk = (what: string, i: number, a: number, b: number, scaleRef: number) => {
        if (!close(a, b, 1e-9, scaleRef)) {
          bad++;
          if (first.length < 5) first.push(`${what}[${i}] ${a} vs ${b}`);
        }
      };
      ref.forEach((r, i) => {
        chk('ofi_flow', i, cols.ofi_flow.get(i), r.ofi, r.ofiRef);
        chk('cvd_flow', i, cols.cvd_flow.get(i), r.cvd, r.cvdRef);
        chk('z_ofi', i, cols.z_ofi.get(i), r.zo, 1);
        chk('z_cvd', i, cols.z_cvd.get(i), r.zc, 1);
        chk('score', i, cols.score.get(i), r.score, 1);
        chk('score_z', i, cols.score_z.get(i), r.scoreZ, 1);
        chk('mid', i, cols.mid.get(i), r.mid, 0);
        chk('merge', i, cols.merge_time_diff_ms.get(i), r.merge, 0);
      });
      expect(first).toEqual([]);
      expect(bad).toBe(0);
      expect(f.samples_skipped).toBeGreaterThan(0);
      const scores = Array.from(cols.score.view());
      expect(scores.filter(Number.isFinite).length).toBeGreaterThan(100);
      expect(scores.filter((x) => x === 0).length).toBeGreaterThan(0); // gate hit
      expect(Array.from(cols.w_ofi.view()).every((w) => w === 0.6)).toBe(true);
      expect(Array.from(cols.cvd_dir.view()).every((d) => d === p.cvd_dir)).toBe(true);
    });
  }

  it('nulls, not zeros, while components warm up; score null if any component null', () => {
    const cols = new SampleLog();
    const f = new Fusion(fparams({ cvd_auto_flip: false }), cols);
    for (let i = 0; i < 40; i++) f.onQuote(1_000_000 + i * 500, 1, 99, 101); // quotes only
    f.flush();
    expect(cols.length).toBeGreaterThan(10);
    for (let i = 0; i < cols.length; i++) {
      expect(cols.cvd_flow.get(i)).toBeNaN();
      expect(cols.z_cvd.get(i)).toBeNaN();
      expect(cols.score.get(i)).toBeNaN();
      expect(cols.score_z.get(i)).toBeNaN();
      expect(cols.merge_time_diff_ms.get(i)).toBeNaN();
      expect(cols.mid.get(i)).toBe(100);
    }
    expect(Number.isFinite(cols.z_ofi.get(cols.length - 1))).toBe(true);
  });

  it('samples are aligned to multiples of sample_ms and see inputs at ts <= s only', () => {
    const cols = new SampleLog();
    const f = new Fusion(fparams({ window_ms: 1000, cvd_auto_flip: false }), cols);
    f.onTrade(10_000, 8); // sample 10000; outside the window of sample 11000
    f.onTrade(10_500, 1);
    f.onTrade(11_000, 2); // belongs to sample 11000
    f.onTrade(11_001, 4); // belongs to sample 12000
    expect(Array.from(cols.ts.view())).toEqual([10_000, 11_000]);
    expect(cols.cvd_flow.get(0)).toBeNaN(); // partial window: null
    expect(cols.cvd_flow.get(1)).toBe(3); // window (10000, 11000]
    f.flush(); // now = 11001: sample 12000 is not due yet
    expect(cols.length).toBe(2);
    f.advance(12_001);
    expect(Array.from(cols.ts.view())).toEqual([10_000, 11_000, 12_000]);
    expect(cols.cvd_flow.get(2)).toBe(4);
  });

  it('window_ms must be a multiple of sample_ms; bad weights are named', () => {
    expect(() => new Fusion(fparams({ window_ms: 2500 }), new SampleLog())).toThrow(/fusion.window_ms/);
    expect(() => new Fusion(fparams({ weights: { ofi: -1, cvd: 0.4 } }), new SampleLog())).toThrow(
      /fusion.weights.ofi/,
    );
    expect(() => new Fusion(fparams({ cvd_dir: 0 }), new SampleLog())).toThrow(/fusion.cvd_dir/);
    expect(() => new Fusion(fparams({ slice_precedence: ['nope' as 'regime'] }), new SampleLog())).toThrow(
      /fusion.slice_precedence/,
    );
  });

  it('slice overrides: precedence scenario_2x2 > regime > vol_bucket > session, first match wins whole', () => {
    const P = cloneCalcParams();
    P.slices.win_secs = 10;
    P.slices.active_tps = 3;
    P.slices.vol_window_sec = 5;
    P.slices.vol_min_returns = 2;
    P.slices.vol_history_sec = 20;
    P.slices.vol_min_history = 3;
    const fp = fparams({
      cvd_auto_flip: false,
      slice_overrides: {
        Active: { ofi: 0.7, cvd: 0.3 },
        A_H: { ofi: 0.9, cvd: 0.1, gate: 0.5 },
        Tokyo: { ofi: 0.5, cvd: 0.5 },
      },
    });
    const st = new SliceTracker(P.slices, 'X');
    const cols = new SampleLog(st);
    const f = new Fusion(fp, cols, st);
    const rnd = mulberry32(5);
    let t = Date.UTC(2024, 0, 2, 3, 0); // Tokyo session
    let mid = 100;
    for (let i = 0; i < 4000; i++) {
      const active = Math.floor(i / 500) % 2 === 1;
      t += active ? 100 : 900;
      mid *= Math.exp((rnd() - 0.5) * (Math.floor(i / 300) % 2 ? 1e-2 : 1e-4));
      f.advance(t);
      if (rnd() < 0.5) {
        st.onTrade(t);
        f.onTrade(t, rnd() - 0.5);
      } else {
        st.onMid(t, mid);
        f.onQuote(t, rnd() - 0.5, mid - 0.01, mid + 0.01);
      }
    }
    f.flush();
    const seen = new Set<string>();
    for (let i = 0; i < cols.length; i++) {
      const scen = cols.scenario_2x2.get(i),
        reg = cols.regime.get(i);
      const want = scen === 3 ? [0.9, 0.1, 0.5] : reg === 1 ? [0.7, 0.3, 0] : [0.5, 0.5, 0]; // session is always Tokyo
      expect([cols.w_ofi.get(i), cols.w_cvd.get(i), cols.gate.get(i)]).toEqual(want);
      seen.add(want.join(','));
    }
    expect(seen.size).toBe(3);
  });
});

describe('cvd_auto_flip', () => {
  interface LogRow {
    type: 'sample' | 'label';
    s: number;
    z?: number;
    dir?: number;
    y?: number;
    ok?: boolean;
  }

  /** Drive a stream; resolve every emitted sample's label once s + H <= t; y from `labelOf`. */
  function drive(
    p: FusionParams,
    evs: Ev[],
    labelOf: (s: number, z: number) => number,
    extra?: (f: Fusion, t: number) => void,
  ) {
    const log: LogRow[] = [];
    const cols = new SampleLog();
    const sink = {
      sample: (x: Parameters<SampleLog['sample']>[0]) => {
        cols.sample(x);
        log.push({ type: 'sample', s: x.ts, z: x.z_cvd, dir: x.cvd_dir });
      },
      flip: (...a: Parameters<SampleLog['flip']>) => cols.flip(...a),
    };
    const f = new Fusion(p, sink);
    let next = 0; // next sample index (in cols) to resolve
    for (const ev of evs) {
      f.advance(ev.t);
      extra?.(f, ev.t);
      while (next < cols.length && cols.ts.get(next) + p.horizon_ms <= ev.t) {
        const s = cols.ts.get(next);
        const y = labelOf(s, cols.z_cvd.get(next));
        const ok = f.resolveLabel(s, y);
        log.push({ type: 'label', s, y, ok });
        next++;
      }
      if (ev.kind === 'q') f.onQuote(ev.t, ev.v, ev.bid, ev.ask);
      else f.onTrade(ev.t, ev.v);
    }
    f.flush();
    return { f, cols, log };
  }

  function resimulate(p: FusionParams, log: LogRow[]): { dirs: number[]; flips: number[] } {
    const zOf = new Map<number, number>();
    const win: Array<[number, number]> = [];
    let dir = p.cvd_dir,
      lastFlip = -Infinity;
    const dirs: number[] = [],
      flips: number[] = [];
    for (const r of log) {
      if (r.type === 'label') {
        const z = zOf.get(r.s)!;
        if (r.ok !== !Number.isNaN(z)) throw new Error(`label ${r.s}: accepted=${r.ok} but z=${z}`);
        if (r.ok) win.push([z, r.y!]);
        if (win.length > p.flip_window) win.shift();
        continue;
      }
      if (win.length >= p.flip_min_samples && r.s - lastFlip >= p.flip_cooldown_ms) {
        const rho = slowSpearman(
          win.map((w) => w[0]),
          win.map((w) => w[1]),
        );
        if (dir * rho < -p.flip_threshold) {
          dir = -dir;
          lastFlip = r.s;
          flips.push(r.s);
        }
      }
      zOf.set(r.s, r.z!);
      dirs.push(dir);
    }
    return { dirs, flips };
  }

  const flipParams = () =>
    fparams({ flip_window: 60, flip_min_samples: 30, flip_threshold: 0.1, flip_cooldown_ms: 60_000, horizon_ms: 5000 });

  it('flips on a negative directed rank correlation, and back when the evidence reverses; matches a slow re-simulation', () => {
    const p = flipParams();
    const evs = randomStream(21, 12_000).map((e) => ({ ...e }));
    const span = evs[evs.length - 1].t - evs[0].t;
    const t0 = evs[0].t;
    const rnd = mulberry32(4);
    // first half: CVD is anti-predictive; second half: predictive
    const labelOf = (s: number, z: number) => {
      const sign = s - t0 < span / 2 ? -1 : 1;
      const noisy = (Number.isNaN(z) ? 0 : z) * sign + (rnd() - 0.5) * 0.5;
      return noisy > 0 ? 1 : 0;
    };
    const { f, cols, log } = drive(p, evs, labelOf);
    const sim = resimulate(p, log);
    expect(Array.from(cols.cvd_dir.view())).toEqual(sim.dirs);
    expect(cols.flip_ts).toEqual(sim.flips);
    expect(f.flips).toBe(sim.flips.length);
    expect(f.flips).toBeGreaterThanOrEqual(2);
    expect(cols.flip_dir[0]).toBe(-1);
    expect(cols.flip_dir[1]).toBe(1);
    expect(cols.flip_rho[0]).toBeLessThan(-0.1);
    // score uses the direction in force
    for (let i = 0; i < cols.length; i++) {
      const zo = cols.z_ofi.get(i),
        zc = cols.z_cvd.get(i),
        sc = cols.score.get(i);
      if (Number.isFinite(sc)) expect(close(sc, 0.6 * zo + cols.cvd_dir.get(i) * 0.4 * zc, 1e-12, 1)).toBe(true);
    }
    // cooldown respected
    for (let i = 1; i < cols.flip_ts.length; i++)
      expect(cols.flip_ts[i] - cols.flip_ts[i - 1]).toBeGreaterThanOrEqual(60_000);
  });

  it('no look-ahead: labels for samples with s + H > now are rejected and change nothing', () => {
    const p = flipParams();
    const evs = randomStream(22, 8000);
    const t0 = evs[0].t;
    const labelOf = (_s: number, z: number) => ((Number.isNaN(z) ? 0 : z) < 0 ? 1 : 0); // anti-predictive => flips
    const a = drive(p, evs, labelOf);
    let tried = 0,
      accepted = 0;
    const b = drive(p, evs, labelOf, (f, t) => {
      // try to inject adversarial labels for every sample time in (t - H, t + 10 s]
      for (let s = Math.ceil((t - p.horizon_ms + 1) / 1000) * 1000; s <= t + 10_000; s += 1000) {
        if (s < t0) continue;
        tried++;
        if (f.resolveLabel(s, 1)) accepted++;
      }
    });
    expect(tried).toBeGreaterThan(1000);
    expect(accepted).toBe(0);
    expect(b.f.labels_rejected_future).toBe(tried);
    expect(Array.from(b.cols.cvd_dir.view())).toEqual(Array.from(a.cols.cvd_dir.view()));
    expect(Array.from(b.cols.score.view())).toEqual(Array.from(a.cols.score.view()));
    expect(b.cols.flip_ts).toEqual(a.cols.flip_ts);
    expect(a.f.flips).toBeGreaterThan(0);
    // a rejected-as-future label does not block the legitimate one later
    expect(b.f.labels_accepted).toBe(a.f.labels_accepted);
  });

  it('resolveLabel edge cases: exactly s + H == now is allowed; duplicates, unknown samples ignored', () => {
    const p = fparams({ horizon_ms: 5000 });
    const cols = new SampleLog();
    const f = new Fusion(p, cols);
    for (let i = 0; i <= 60; i++) f.onTrade(100_000 + i * 1000, i % 2 ? 1 : -1);
    f.advance(170_000);
    const s = 160_000;
    expect(cols.ts.view().includes(s)).toBe(true);
    expect(f.resolveLabel(s + 5001, 1)).toBe(false); // future
    expect(f.resolveLabel(s, 1)).toBe(Number.isFinite(cols.z_cvd.get(cols.ts.view().indexOf(s))));
    expect(f.resolveLabel(s, 1)).toBe(false); // duplicate
    expect(f.labels_duplicate).toBe(1);
    expect(f.resolveLabel(165_000, 1)).toBe(f.labels_accepted === 2); // 165000 + 5000 == now: allowed
    expect(f.resolveLabel(123_456, 1)).toBe(false); // not a sample time
    expect(f.labels_unmatched).toBeGreaterThanOrEqual(1);
  });

  it('determinism: same inputs => identical columns; reset() reproduces them', () => {
    const p = flipParams();
    const evs = randomStream(23, 5000);
    const labelOf = (_s: number, z: number) => ((Number.isNaN(z) ? 0 : z) < 0 ? 1 : 0);
    const a = drive(p, evs, labelOf);
    const b = drive(p, evs, labelOf);
    for (const k of ['ts', 'score', 'score_z', 'z_ofi', 'z_cvd', 'cvd_dir', 'mid'] as const) {
      expect(
        Buffer.from(b.cols[k].view().buffer, 0, b.cols.length * 8).equals(
          Buffer.from(a.cols[k].view().buffer, 0, a.cols.length * 8),
        ),
      ).toBe(true);
    }
    const cols = new SampleLog();
    const f = new Fusion(fparams({ cvd_auto_flip: false }), cols);
    feed(f, evs);
    const n = cols.length;
    const first = Array.from(cols.score_z.view());
    f.reset();
    feed(f, evs);
    expect(cols.length).toBe(2 * n);
    expect(Array.from(cols.score_z.view().subarray(n))).toEqual(first);
  });

  it('DEFAULT_CALC_PARAMS fusion seeds', () => {
    const d = DEFAULT_CALC_PARAMS.fusion;
    expect(d.weights).toEqual({ ofi: 0.6, cvd: 0.4 });
    expect(d.gate).toBe(0);
    expect(d.slice_overrides.Active).toEqual({ ofi: 0.7, cvd: 0.3 });
    expect(d.sample_ms).toBe(1000);
  });
});
