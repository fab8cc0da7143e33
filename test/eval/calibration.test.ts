import { describe, it, expect } from 'vitest';
import { ece, brier, brierSkill, plattFit, plattExp, plattProb, plattTargets } from '../../src/eval/calibration.js';
import { EvalRng } from '../../src/eval/rng.js';

// fixture: bins of width 0.1
//   bin 0 [0.0,0.1): p 0.05 y 0            → |0 - 0.05|      = 0.05,  n 1
//   bin 1 [0.1,0.2): p 0.15,0.12 y 1,0     → |0.5 - 0.135|   = 0.365, n 2
//   bin 5 [0.5,0.6): p 0.55 y 0            → |0 - 0.55|      = 0.55,  n 1
//   bin 9 [0.9,1.0]: p 0.95,1.0 y 1,1      → |1 - 0.975|     = 0.025, n 2   (p = 1 goes to the last bin)
//   ECE = (1·0.05 + 2·0.365 + 1·0.55 + 2·0.025) / 6 = 1.38 / 6 = 0.23
// Brier = (0.05² + 0.85² + 0.12² + 0.05² + 0² + 0.55²) / 6 = (0.0025 + 0.7225 + 0.0144 + 0.0025 + 0 + 0.3025) / 6 = 1.0444 / 6
// Brier skill vs base 0.4: ref = (3·0.4² + 3·0.6²) / 6 = 1.56 / 6 = 0.26 → 1 - (1.0444/6)/0.26
const P = [0.05, 0.15, 0.12, 0.95, 1.0, 0.55, NaN, 0.3];
const Y = [0, 1, 0, 1, 1, 0, 1, NaN];

describe('ece / brier / brierSkill', () => {
  it('hand-computed ECE with the reliability table', () => {
    const r = ece(P, Y, 10, { min_samples: 1 });
    expect(r.value).toBeCloseTo(0.23, 14);
    expect(r.n).toBe(6);
    expect(r.n_excluded).toBe(2);
    expect(r.bins).toHaveLength(10);
    expect(r.bins.map((b) => b.count)).toEqual([1, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
    expect(r.bins[1].mean_p).toBeCloseTo(0.135, 14);
    expect(r.bins[1].mean_y).toBe(0.5);
    expect(r.bins[9].mean_p).toBeCloseTo(0.975, 14);
    expect(r.bins[2].mean_p).toBeNaN();
    expect(r.bins[9]).toMatchObject({ lo: 0.9, hi: 1 });
    // 2 bins: [0, 0.5): p .05 .15 .12 y 0 1 0 → |1/3 - 0.10667| ; [0.5, 1]: p .95 1 .55 y 1 1 0 → |2/3 - 0.83333|
    const r2 = ece(P, Y, 2, { min_samples: 1 });
    expect(r2.value).toBeCloseTo((3 * Math.abs(1 / 3 - 0.32 / 3) + 3 * Math.abs(2 / 3 - 2.5 / 3)) / 6, 14);
  });

  it('hand-computed Brier and Brier skill', () => {
    expect(brier(P, Y, { min_samples: 1 }).value).toBeCloseTo(1.0444 / 6, 14);
    const s = brierSkill(P, Y, 0.4, { min_samples: 1 });
    expect(s.brier_ref).toBeCloseTo(0.26, 14);
    expect(s.value).toBeCloseTo(1 - 1.0444 / 6 / 0.26, 14);
    // base rate forecast itself has skill 0; perfect forecast has skill 1
    expect(brierSkill([0.4, 0.4, 0.4], [1, 0, 0], 0.4, { min_samples: 1 }).value).toBeCloseTo(0, 14);
    expect(brierSkill([1, 0, 0], [1, 0, 0], 0.4, { min_samples: 1 }).value).toBe(1);
    expect(brierSkill([1, 1], [1, 1], 1, { min_samples: 1 }).value).toBeNull();
  });

  it('insufficient samples and invalid probabilities', () => {
    expect(ece(P, Y).value).toBeNull();
    expect(ece(P, Y).reason).toBe('insufficient samples (n=6; need >= 30)');
    expect(brier(P, Y).reason).toBe('insufficient samples (n=6; need >= 30)');
    expect(() => ece([1.2], [1])).toThrow(/outside \[0, 1\]/);
    expect(() => brierSkill([0.5], [1], 1.5)).toThrow(/baseRate/);
  });
});

describe('Platt scaling', () => {
  it('smoothed targets: hand derivation on two score values', () => {
    expect(plattTargets(3, 1)).toEqual({ t_pos: 4 / 5, t_neg: 1 / 3 });
    // 1 positive at s = 1, 1 negative at s = -1: t+ = 2/3, t- = 1/3. Two points, two parameters:
    // the optimum puts P(1) = 2/3, P(-1) = 1/3, i.e. A + B = ln(1/2), -A + B = ln 2 → A = -ln 2, B = 0.
    // (Without smoothing the data are separable and A → -∞.)
    const f = plattFit([1, -1], [1, 0]);
    expect(f.converged).toBe(true);
    expect(f.A).toBeCloseTo(-Math.LN2, 4);
    expect(f.B).toBeCloseTo(0, 4);
    expect([f.t_pos, f.t_neg]).toEqual([2 / 3, 1 / 3]);
    // 3 positives at s = 1, 1 negative at s = -1: t+ = 4/5, t- = 1/3:
    // A + B = ln(1/0.8 - 1) = -2 ln 2, -A + B = ln(3 - 1) = ln 2 → B = -ln2 / 2, A = -1.5 ln 2.
    const g = plattFit([1, 1, 1, -1, NaN], [1, 1, 1, 0, 0]);
    expect(g.n).toBe(4);
    expect(g.A).toBeCloseTo(-1.5 * Math.LN2, 4);
    expect(g.B).toBeCloseTo(-Math.LN2 / 2, 4);
    expect(plattProb(g.A, g.B, 1)).toBeCloseTo(0.8, 4);
  });

  it('recovers A = -1.5, B = 0.3 from 20k samples of the logistic model (seeded)', () => {
    const rng = new EvalRng(5);
    const n = 20_000;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = rng.normal();
      y[i] = rng.uniform() < plattProb(-1.5, 0.3, s[i]) ? 1 : 0;
    }
    const f = plattFit(s, y);
    expect(f.converged).toBe(true);
    expect(f.iterations).toBeLessThan(20);
    expect(Math.abs(f.A + 1.5)).toBeLessThan(0.1);
    expect(Math.abs(f.B - 0.3)).toBeLessThan(0.06);
  });

  it('plattProb follows 1/(1+exp(A·s+B)) without overflow', () => {
    expect(plattProb(-1, 0, 0)).toBe(0.5);
    expect(plattProb(-1, 0, 2)).toBeCloseTo(1 / (1 + Math.exp(-2)), 15);
    expect(plattProb(1, 0, 1000)).toBe(0);
    expect(plattProb(-1, 0, 1000)).toBe(1);
  });
});

describe('brierSkillVsRef (per-sample reference forecast)', () => {
  it('equals the hand computation and skips unusable rows', async () => {
    const { brierSkillVsRef } = await import('../../src/eval/calibration.js');
    // rows: (p, y, ref) = (0.8,1,0.5) (0.3,0,0.5) (0.6,1,0.6) plus an unlabeled row and a row without ref
    const p = [0.8, 0.3, 0.6, 0.9, 0.2];
    const y = [1, 0, 1, NaN, 0];
    const ref = [0.5, 0.5, 0.6, 0.5, NaN];
    // num = 0.2² + 0.3² + 0.4² = 0.29 ; den = 0.5² + 0.5² + 0.4² = 0.66
    const r = brierSkillVsRef(p, y, ref, () => true, { min_samples: 1 });
    expect(r.n).toBe(3);
    expect(r.value!).toBeCloseTo(1 - 0.29 / 0.66, 12);
    expect(brierSkillVsRef(p, y, ref, (i) => i !== 0, { min_samples: 1 }).value!).toBeCloseTo(1 - 0.25 / 0.41, 12);
    expect(brierSkillVsRef(p, y, ref).value).toBeNull(); // 3 rows < 30 by default
  });
});

describe('plattExp', () => {
  it('is within 1e-15 relative of Math.exp over the range the fits use, and follows it beyond', () => {
    let worst = 0;
    for (let i = -708_000; i < 709_000; i += 13) {
      const x = i / 1000 + 0.000123 * (i % 7);
      const e = Math.exp(x);
      worst = Math.max(worst, Math.abs(plattExp(x) - e) / e);
    }
    expect(worst).toBeGreaterThan(0); // a different route, not Math.exp itself
    expect(worst).toBeLessThan(1e-15);
    for (const x of [0, -0, 1, -1, 1e-300, -1e-300, Math.LN2, -Math.LN2 / 512])
      expect(Math.abs(plattExp(x) - Math.exp(x))).toBeLessThanOrEqual(4e-16 * Math.exp(x));
    expect(plattExp(0)).toBe(1);
    expect(plattExp(710)).toBe(Infinity);
    expect(plattExp(-800)).toBe(0);
    expect(plattExp(-740)).toBe(Math.exp(-740));
    expect(Number.isNaN(plattExp(NaN))).toBe(true);
  });
});
