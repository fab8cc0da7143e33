/**
 * plattFit (one pass per Newton iterate, full steps while they shrink the
 * gradient) against the slow obvious reference: Lin, Lin & Weng (2007)
 * Algorithm 1 as written (objective evaluated at every trial point, Armijo
 * backtracking from step 1), on random sets: weak and strong signals,
 * imbalanced classes, heavy ties, separable data, a bad scale.
 */
import { describe, expect, it } from 'vitest';
import { plattFit, plattTargets } from '../../src/eval/calibration.js';
import { EvalRng } from '../../src/eval/rng.js';

/** Algorithm 1 of Lin, Lin & Weng (2007), the textbook way (the implementation this project used before). */
function reference(s: Float64Array, y: Float64Array): { A: number; B: number; converged: boolean } {
  let nPos = 0;
  for (const v of y) nPos += v;
  const nNeg = y.length - nPos;
  const { t_pos, t_neg } = plattTargets(nPos, nNeg);
  const t = Float64Array.from(y, (v) => (v === 1 ? t_pos : t_neg));
  const obj = (A: number, B: number) => {
    let f = 0;
    for (let i = 0; i < s.length; i++) {
      const z = s[i] * A + B;
      f += z >= 0 ? t[i] * z + Math.log1p(Math.exp(-z)) : (t[i] - 1) * z + Math.log1p(Math.exp(z));
    }
    return f;
  };
  let A = 0;
  let B = Math.log((nNeg + 1) / (nPos + 1));
  let f = obj(A, B);
  for (let it = 0; it < 100; it++) {
    let [h11, h22, h21, g1, g2] = [1e-12, 1e-12, 0, 0, 0];
    for (let i = 0; i < s.length; i++) {
      const p = 1 / (1 + Math.exp(s[i] * A + B));
      h11 += s[i] * s[i] * p * (1 - p);
      h22 += p * (1 - p);
      h21 += s[i] * p * (1 - p);
      g1 += s[i] * (t[i] - p);
      g2 += t[i] - p;
    }
    if (Math.abs(g1) < 1e-5 && Math.abs(g2) < 1e-5) return { A, B, converged: true };
    const det = h11 * h22 - h21 * h21;
    const dA = -(h22 * g1 - h21 * g2) / det;
    const dB = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * dA + g2 * dB;
    let step = 1;
    while (step >= 1e-10) {
      const nf = obj(A + step * dA, B + step * dB);
      if (nf < f + 1e-4 * step * gd) {
        A += step * dA;
        B += step * dB;
        f = nf;
        break;
      }
      step /= 2;
    }
    if (step < 1e-10) return { A, B, converged: false };
  }
  return { A, B, converged: false };
}

/** The gradient of Platt's objective at (A, B), computed naively. */
function gradient(s: Float64Array, y: Float64Array, A: number, B: number): [number, number] {
  let nPos = 0;
  for (const v of y) nPos += v;
  const { t_pos, t_neg } = plattTargets(nPos, y.length - nPos);
  let g1 = 0;
  let g2 = 0;
  for (let i = 0; i < s.length; i++) {
    const p = 1 / (1 + Math.exp(s[i] * A + B));
    const t = y[i] === 1 ? t_pos : t_neg;
    g1 += s[i] * (t - p);
    g2 += t - p;
  }
  return [g1, g2];
}

/** Smallest eigenvalue of the objective's Hessian at (A, B). */
function minEigen(s: Float64Array, A: number, B: number): number {
  let h11 = 0;
  let h22 = 0;
  let h21 = 0;
  for (let i = 0; i < s.length; i++) {
    const p = 1 / (1 + Math.exp(s[i] * A + B));
    h11 += s[i] * s[i] * p * (1 - p);
    h22 += p * (1 - p);
    h21 += s[i] * p * (1 - p);
  }
  const tr = h11 + h22;
  const det = h11 * h22 - h21 * h21;
  return (tr - Math.sqrt(Math.max(0, tr * tr - 4 * det))) / 2;
}

describe('plattFit = Algorithm 1 (reference), in fewer passes', () => {
  it('reaches the same optimum on random sets (weak, strong, imbalanced, tied, separable, badly scaled)', () => {
    const rng = new EvalRng(42);
    const cases: { name: string; gen: () => [number, number] }[] = [
      { name: 'weak signal', gen: () => ((x) => [x, rng.uniform() < 0.5 + 0.05 * x ? 1 : 0])(rng.normal()) },
      {
        name: 'strong signal',
        gen: () => ((x) => [x, rng.uniform() < 1 / (1 + Math.exp(-3 * x)) ? 1 : 0])(rng.normal()),
      },
      { name: 'imbalanced', gen: () => ((x) => [x, rng.uniform() < 0.05 + 0.02 * x ? 1 : 0])(rng.normal()) },
      {
        name: 'ties and zeros',
        gen: () =>
          ((x) => [x, rng.uniform() < 0.5 + 0.1 * x ? 1 : 0])(
            rng.uniform() < 0.4 ? 0 : Math.round(rng.normal() * 2) / 2,
          ),
      },
      { name: 'separable', gen: () => ((x) => [x, x > 0 ? 1 : 0])(rng.normal()) },
      { name: 'scale 1e3', gen: () => ((x) => [1000 * x, rng.uniform() < 0.5 + 0.1 * x ? 1 : 0])(rng.normal()) },
    ];
    for (const c of cases)
      for (const n of [60, 700, 7000]) {
        const s = new Float64Array(n);
        const y = new Float64Array(n);
        for (let i = 0; i < n; i++) [s[i], y[i]] = c.gen();
        const got = plattFit(s, y);
        const ref = reference(s, y);
        expect(got.converged, `${c.name} n=${n}`).toBe(true);
        const [g1, g2] = gradient(s, y, got.A, got.B);
        expect(Math.abs(g1), `${c.name} n=${n} gradient A`).toBeLessThan(1e-4);
        expect(Math.abs(g2), `${c.name} n=${n} gradient B`).toBeLessThan(1e-4);
        // the same optimum: where the reference converged too, both points have |gradient| < 1e-5 per
        // coordinate, so they differ by at most 2·√2·1e-5 / (the Hessian's smallest eigenvalue)
        if (ref.converged) {
          const lam = minEigen(s, ref.A, ref.B);
          const tol = (4e-5 / lam) * 1.01;
          expect(Math.hypot(got.A - ref.A, got.B - ref.B), `${c.name} n=${n}`).toBeLessThan(tol);
          expect(tol, `${c.name} n=${n}: a meaningful bound`).toBeLessThan(0.05 * Math.max(1, Math.abs(ref.A)));
        }
      }
  });

  it('is deterministic and ignores non-finite scores and unlabelled rows', () => {
    const rng = new EvalRng(5);
    const s: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 500; i++) {
      const x = rng.normal();
      s.push(x);
      y.push(rng.uniform() < 0.5 + 0.2 * x ? 1 : 0);
    }
    const a = plattFit(s, y);
    expect(plattFit(s, y)).toEqual(a);
    expect(plattFit([...s, NaN, Infinity, 3], [...y, 1, 0, NaN])).toEqual(a);
  });
});
