/**
 * Evaluation throughput: AUC + DeLong variance/CI (src/eval/auc.ts) on
 * 10,000,000 seeded synthetic samples (two unit normals 0.5 apart, 50/50
 * classes, 1% NaN labels), best of REPS with a warm scratch; also the
 * walk-forward Platt on 24 h of 1 s samples (86,400 rows, 48 folds).
 * Reports seconds and samples per second. Not a pass/fail test.
 */
import { aucDeLong, AucScratch } from '../src/eval/auc.js';
import { walkForwardPlatt, plattProb } from '../src/eval/calibration.js';
import { EvalRng } from '../src/eval/rng.js';

const N = 10_000_000;
const REPS = 2;

export async function benchEval(): Promise<{ name: string; value: number; unit: string }[]> {
  const rng = new EvalRng(20240611);
  const score = new Float64Array(N);
  const y = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const pos = rng.uniform() < 0.5;
    y[i] = rng.uniform() < 0.01 ? NaN : pos ? 1 : 0;
    score[i] = rng.normal() + (pos ? 0.5 : 0);
  }
  const scratch = new AucScratch();
  let best = Infinity;
  let auc = NaN;
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    const res = aucDeLong(score, y, { scratch });
    best = Math.min(best, performance.now() - t0);
    auc = res.auc ?? NaN;
  }
  const sec = best / 1000;

  const M = 86_400;
  const t = new Float64Array(M);
  const s2 = new Float64Array(M);
  const y2 = new Float64Array(M);
  const ra = new Float64Array(M);
  for (let i = 0; i < M; i++) {
    t[i] = i * 1000;
    s2[i] = rng.normal();
    y2[i] = rng.uniform() < plattProb(-1, 0, s2[i]) ? 1 : 0;
    ra[i] = t[i] + 60_000;
  }
  const w0 = performance.now();
  walkForwardPlatt(t, s2, y2, ra);
  const wf = (performance.now() - w0) / 1000;

  return [
    { name: 'eval: AUC + DeLong, 10M samples (s)', value: sec, unit: 's' },
    { name: 'eval: AUC + DeLong throughput', value: N / sec, unit: 'samples/s' },
    { name: 'eval: AUC on the bench data (sanity, expect ~0.638)', value: auc, unit: '' },
    { name: 'eval: walk-forward Platt, 24 h of 1 s samples (s)', value: wf, unit: 's' },
  ];
}
