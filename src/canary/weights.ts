/**
 * Walk-forward search of fusion weights per slice, out-of-sample only.
 *
 * For each fold start Tf on the calibration grid (every test_sec), candidate
 * weights w_ofi in {0, 0.1, ..., 1} (w_cvd = 1 - w_ofi) are scored by AUC of
 * `w_ofi*z_ofi + dir*w_cvd*z_cvd` on the slice's samples with t in
 * [Tf - train_sec, Tf) and labels resolved by Tf; the best (first in grid
 * order on ties) is applied to the slice's samples in [Tf, Tf + test_sec).
 * The reported AUC is over those out-of-sample predictions only; the
 * recommended weights are the last fold's choice (what one would deploy now).
 */
import { aucDeLong, AucScratch } from '../eval/auc.js';
import { lowerBound } from '../eval/calibration.js';
import type { SymbolTrack } from './engine.js';

export interface WeightChoice {
  readonly slice: string;
  readonly w_ofi: number | null;
  readonly w_cvd: number | null;
  readonly auc_oos: number | null;
  readonly auc_oos_ci: [number, number] | null;
  readonly n_oos: number;
  readonly folds: number;
  readonly effective_hours: number;
  readonly reason?: string;
}

const GRID = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

interface Rows {
  t: number[];
  zo: number[];
  zc: number[];
  y: number[];
  res: number[];
}

function sliceRows(tr: SymbolTrack, regime: number, lo: number, hi: number, out: Rows, labeledBy: number | null): void {
  for (let i = lo; i < hi; i++) {
    if (tr.regime.data[i] !== regime) continue;
    const zo = tr.z_ofi.data[i];
    const zc = tr.z_cvd.data[i] * tr.dir.data[i];
    const y = tr.y.data[i];
    if (!Number.isFinite(zo) || !Number.isFinite(zc) || !(y === 0 || y === 1)) continue;
    if (labeledBy !== null && !(tr.resolved_at.data[i] <= labeledBy)) continue;
    out.t.push(tr.t.data[i]);
    out.zo.push(zo);
    out.zc.push(zc);
    out.y.push(y);
    out.res.push(tr.resolved_at.data[i]);
  }
}

export function searchWeights(
  tracks: readonly SymbolTrack[],
  slice: 'Active' | 'Quiet',
  opts: { trainMs: number; testMs: number; sampleMs: number; vif: number },
): WeightChoice {
  const regime = slice === 'Active' ? 1 : 0;
  let t0 = Infinity;
  let t1 = -Infinity;
  let sliceSamples = 0;
  for (const tr of tracks) {
    const n = tr.t.length;
    if (n === 0) continue;
    t0 = Math.min(t0, tr.t.data[0]);
    t1 = Math.max(t1, tr.t.data[n - 1]);
    for (let i = 0; i < n; i++) if (tr.regime.data[i] === regime) sliceSamples++;
  }
  const effective_hours = (sliceSamples * opts.sampleMs) / 3_600_000;
  const scratch = new AucScratch();
  const oosScore: number[] = [];
  const oosY: number[] = [];
  let last: number | null = null;
  let folds = 0;
  if (Number.isFinite(t0)) {
    for (let Tf = Math.floor(t0 / opts.testMs) * opts.testMs + opts.testMs; Tf <= t1; Tf += opts.testMs) {
      const train: Rows = { t: [], zo: [], zc: [], y: [], res: [] };
      const test: Rows = { t: [], zo: [], zc: [], y: [], res: [] };
      for (const tr of tracks) {
        const t = tr.t.view();
        sliceRows(tr, regime, lowerBound(t, Tf - opts.trainMs), lowerBound(t, Tf), train, Tf);
        sliceRows(tr, regime, lowerBound(t, Tf), lowerBound(t, Tf + opts.testMs), test, null);
      }
      if (test.y.length === 0) continue;
      let best = -1;
      let bestAuc = -Infinity;
      const sc = new Float64Array(train.y.length);
      for (let g = 0; g < GRID.length; g++) {
        const w = GRID[g];
        for (let i = 0; i < sc.length; i++) sc[i] = w * train.zo[i] + (1 - w) * train.zc[i];
        const a = aucDeLong(sc, train.y, { scratch, min_per_class: 30 });
        if (a.auc !== null && a.auc > bestAuc) {
          bestAuc = a.auc;
          best = g;
        }
      }
      if (best < 0) continue;
      folds++;
      last = GRID[best];
      for (let i = 0; i < test.y.length; i++) {
        oosScore.push(last * test.zo[i] + (1 - last) * test.zc[i]);
        oosY.push(test.y[i]);
      }
    }
  }
  const a = aucDeLong(oosScore, oosY, { min_per_class: 30, variance_inflation: opts.vif });
  return {
    slice,
    w_ofi: last,
    w_cvd: last === null ? null : Math.round((1 - last) * 10) / 10,
    auc_oos: a.auc,
    auc_oos_ci: a.auc === null || a.ci_low === null || a.ci_high === null ? null : [a.ci_low, a.ci_high],
    n_oos: a.n,
    folds,
    effective_hours,
    reason: last === null ? 'no fold had enough resolved training labels (30 per class)' : a.reason,
  };
}
