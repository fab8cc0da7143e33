import { describe, it, expect } from 'vitest';
import { walkForwardPlatt, plattFit, plattProb } from '../../src/eval/calibration.js';
import { rollingEval, evaluateAt, decisionGrid, RollingEvaluator } from '../../src/eval/rolling.js';
import { aucDeLong } from '../../src/eval/auc.js';
import { EvalRng } from '../../src/eval/rng.js';

const H = 30_000;

/** 1 s samples from t0, score ~ N(0,1), y from a logistic model, resolved at t + H (+ jitter), a few unmatched/equal. */
function synth(seed: number, n: number, t0 = 0, jitter = 0) {
  const rng = new EvalRng(seed);
  const t = new Float64Array(n);
  const score = new Float64Array(n);
  const y = new Float64Array(n);
  const ra = new Float64Array(n);
  const md = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = t0 + i * 1000;
    score[i] = rng.uniform() < 0.02 ? NaN : rng.normal();
    const u = rng.uniform();
    if (u < 0.03) {
      y[i] = NaN; // unmatched
      ra[i] = NaN;
    } else {
      ra[i] = t[i] + H + rng.int(jitter + 1);
      y[i] = u < 0.06 ? NaN : rng.uniform() < plattProb(-1.2, 0.1, Number.isNaN(score[i]) ? 0 : score[i]) ? 1 : 0; // NaN here = equal mids
    }
    md[i] = rng.uniform() < 0.01 ? NaN : rng.int(2500);
  }
  return { t, score, y, ra, md };
}

describe('walkForwardPlatt', () => {
  it('fold bookkeeping on a crafted timeline', () => {
    // samples every 1 s for t = 0..599 s, all labelled, resolved at t + 30 s; folds of 100 s, train 200 s
    const n = 600;
    const t = Float64Array.from({ length: n }, (_, i) => i * 1000);
    const score = Float64Array.from({ length: n }, (_, i) => ((i * 7919) % 13) - 6);
    const y = Float64Array.from(score, (s, i) => (s + ((i * 31) % 5) - 2 > 0 ? 1 : 0));
    const ra = Float64Array.from(t, (v) => v + H);
    const r = walkForwardPlatt(t, score, y, ra, { train_sec: 200, test_sec: 100, min_test: 5 });
    expect(r.folds.map((f) => f.start_ms)).toEqual([0, 100_000, 200_000, 300_000, 400_000, 500_000]);
    // fold at T: rows t in [T - 200 s, T) with t + 30 s <= T
    //   T=0: none; T=100: t 0..70 → 71; T=200: t 0..170 → 171; T>=300: t T-200..T-30 → 171
    expect(r.folds.map((f) => f.platt_train_samples)).toEqual([0, 71, 171, 171, 171, 171]);
    expect(r.folds.map((f) => f.status)).toEqual(['insufficient', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(r.folds[0].A).toBeNull();
    expect(r.folds[0].reason).toMatch(/insufficient training samples \(n=0/);
    expect(r.folds.map((f) => f.platt_test_samples)).toEqual([0, 100, 100, 100, 100, 100]);
    expect(r.folds.map((f) => f.test_labeled)).toEqual([0, 100, 100, 100, 100, 100]);
    for (let i = 0; i < n; i++) expect(r.fold[i]).toBe(Math.floor(i / 100));
    for (let i = 0; i < 100; i++) expect(r.prob[i]).toBeNaN(); // insufficient fold: no fake 0.5
    for (let i = 100; i < n; i++) expect(r.prob[i]).toBeGreaterThan(0);
    const f1 = r.folds[1];
    expect(f1.train_pos + f1.train_neg).toBe(71);
    expect(f1.train_base_rate).toBeCloseTo(f1.train_pos / 71, 15);
    expect(f1.A as number).toBeLessThan(0); // higher score → up (Platt sign convention)
    expect(f1.ece.value).not.toBeNull();
    expect(f1.brier_skill.value).not.toBeNull();
    // origin given later than the first sample: earlier rows are uncovered (-1)
    const r2 = walkForwardPlatt(t, score, y, ra, { train_sec: 200, test_sec: 100, origin_ms: 150_000 });
    expect(r2.fold[149]).toBe(-1);
    expect(r2.prob[149]).toBeNaN();
    expect(r2.fold[150]).toBe(0);
    expect(r2.folds[0].platt_train_samples).toBe(121); // t 0..120
    // per-class minimum
    const ones = new Float64Array(n).fill(1);
    const r3 = walkForwardPlatt(t, score, ones, ra, { train_sec: 200, test_sec: 100 });
    expect(r3.folds.every((f) => f.status === 'insufficient')).toBe(true);
  });

  it('each fold equals plattFit on its training rows filtered by hand, resolved_at in order or not', () => {
    // jitter 0: resolved_at = t + H, in order (folds fit ranges of one compacted array); jitter 20 s:
    // out of order (each fold's rows are gathered): both must be the slow, obvious filter's fits, to the bit
    for (const jitter of [0, 20_000]) {
      const { t, score, y, ra } = synth(7 + jitter, 5_000, 12_345, jitter);
      const trainMs = 900_000;
      const testMs = 300_000;
      const wf = walkForwardPlatt(t, score, y, ra, { train_sec: trainMs / 1000, test_sec: testMs / 1000 });
      expect(wf.folds.length).toBeGreaterThan(10);
      let fitted = 0;
      for (const f of wf.folds) {
        const T = f.start_ms;
        const s: number[] = [];
        const ys: number[] = [];
        for (let i = 0; i < t.length; i++)
          if (
            t[i] >= T - trainMs &&
            t[i] < T &&
            ra[i] <= T &&
            Number.isFinite(score[i]) &&
            (y[i] === 0 || y[i] === 1)
          ) {
            s.push(score[i]);
            ys.push(y[i]);
          }
        expect(f.platt_train_samples).toBe(s.length);
        expect(f.train_pos).toBe(ys.filter((v) => v === 1).length);
        if (f.status !== 'ok') continue;
        const ref = plattFit(s, ys);
        expect([f.A, f.B, f.converged]).toEqual([ref.A, ref.B, ref.converged]);
        fitted++;
      }
      expect(fitted).toBeGreaterThan(10);
    }
  });

  it('no look-ahead: flipping any label resolved after T changes nothing known at T (fit, status, probs of folds <= T)', () => {
    const d = synth(3, 4 * 3600, 1_700_000_000_000 + 123_456, 3000); // 4 h of 1 s samples, resolution jitter
    const opts = { train_sec: 3600, test_sec: 900 };
    const base = walkForwardPlatt(d.t, d.score, d.y, d.ra, opts);
    expect(base.folds.filter((f) => f.status === 'ok').length).toBeGreaterThan(10);
    const rng = new EvalRng(99);
    for (const f of base.folds) {
      const T = f.start_ms;
      // perturb every label with resolved_at > T (flip 0/1, sometimes drop) and the unresolved rows' labels
      const y2 = Float64Array.from(d.y);
      for (let i = 0; i < y2.length; i++) {
        if (d.ra[i] <= T) continue;
        const u = rng.uniform();
        y2[i] = u < 0.1 ? NaN : y2[i] === 1 ? 0 : y2[i] === 0 ? 1 : u < 0.5 ? 1 : 0;
      }
      const pert = walkForwardPlatt(d.t, d.score, y2, d.ra, opts);
      for (const g of base.folds) {
        if (g.start_ms > T) break;
        const h = pert.folds[g.fold];
        expect([
          h.status,
          h.A,
          h.B,
          h.platt_train_samples,
          h.train_pos,
          h.train_base_rate,
          h.platt_test_samples,
        ]).toEqual([g.status, g.A, g.B, g.platt_train_samples, g.train_pos, g.train_base_rate, g.platt_test_samples]);
      }
      // probabilities of every sample in folds starting at or before T
      for (let i = 0; i < d.t.length; i++) {
        if (base.fold[i] > f.fold) break;
        expect(Object.is(pert.prob[i], base.prob[i])).toBe(true);
      }
    }
  });
});

describe('rolling evaluation', () => {
  const d = synth(8, 2 * 3600, 1_700_000_000_000, 2000);
  const input = { t: d.t, score: d.score, y: d.y, resolved_at: d.ra, merge_time_diff_ms: d.md };

  it('a decision equals the metrics recomputed by hand on (T - window, T] with resolved_at <= T', () => {
    const T = d.t[0] + 1800_000 + 500;
    const r = evaluateAt(T, input);
    const s: number[] = [];
    const y: number[] = [];
    let unresolved = 0;
    const md: number[] = [];
    for (let i = 0; i < d.t.length; i++) {
      if (d.t[i] > T) continue;
      if (d.t[i] > T - 300_000 && Number.isFinite(d.md[i])) md.push(d.md[i]);
      if (d.t[i] <= T - 600_000) continue;
      if (!(d.ra[i] <= T)) {
        unresolved++;
        continue;
      }
      if (d.y[i] === 0 || d.y[i] === 1) {
        s.push(d.score[i]);
        y.push(d.y[i]);
      }
    }
    expect(r.auc).toEqual(aucDeLong(s, y));
    expect(r.n_unresolved).toBe(unresolved);
    expect(unresolved).toBeGreaterThan(25); // the newest ~H of the window
    expect(r.auc.n + r.auc.n_excluded).toBeGreaterThan(500);
    md.sort((a, b) => a - b);
    expect(r.n_merge).toBe(md.length);
    const q7 = (p: number) => {
      const h = (md.length - 1) * p;
      const lo = Math.floor(h);
      return md[lo] + (h - lo) * (md[lo + 1] - md[lo]);
    };
    expect(md.length).toBeGreaterThan(290);
    expect(r.merge_p50).toBeCloseTo(q7(0.5), 9);
    expect(r.merge_p90).toBeCloseTo(q7(0.9), 9);
    expect(r.merge_p99).toBeCloseTo(q7(0.99), 9);
    expect(r.ece).toBeNull(); // no prob given
  });

  it('series over a 60 s grid; early decisions are insufficient, not a number', () => {
    const grid = decisionGrid(d.t[0], d.t[d.t.length - 1], 60_000);
    expect(grid.length).toBe(120);
    const prob = Float64Array.from(d.score, (s) => (Number.isNaN(s) ? NaN : plattProb(-1.2, 0.1, s)));
    const r = rollingEval({ ...input, prob }, grid);
    expect(r.auc[0]).toBeNaN();
    expect(r.auc_reason[0]).toMatch(/^insufficient samples \(n_pos=0, n_neg=0/);
    expect(r.n_unresolved[0]).toBe(1);
    const late = 100;
    expect(r.auc[late]).toBeGreaterThan(0.6);
    expect(r.ci_low[late]).toBeLessThan(r.auc[late]);
    expect(r.auc_reason[late]).toBeNull();
    expect(r.ece[late]).toBeLessThan(0.15);
    expect(r.ece_n[late]).toBe(r.n[late]); // every labelled row with a finite score has a prob
    expect(r.merge_p99[late]).toBeGreaterThan(r.merge_p50[late]);
  });

  it('no look-ahead: flipping labels resolved after T changes no decision at or before T', () => {
    const grid = decisionGrid(d.t[0] + 600_000, d.t[0] + 3600_000, 60_000);
    const base = rollingEval(input, grid);
    const ev = new RollingEvaluator(input);
    for (let j = 0; j < grid.length; j += 7) {
      const T = grid[j];
      const y2 = Float64Array.from(d.y, (v, i) => (d.ra[i] <= T ? v : v === 1 ? 0 : 1));
      const pert = new RollingEvaluator({ ...input, y: y2 });
      for (let k = 0; k <= j; k++) expect(pert.at(grid[k])).toEqual(ev.at(grid[k]));
      expect(base.auc[j]).toBe(ev.at(T).auc.auc ?? NaN);
    }
  });
});
