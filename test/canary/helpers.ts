import type { FusionRow } from '../../src/pipeline/pipeline.js';

/** A fusion row with the given values (the z's equal the score, weights 0.6 / 0.4, session NY, Active = regime 1). */
export function fusionRow(t: number, score: number, mid: number, merge: number, regime: number): FusionRow {
  return {
    ts: t,
    score,
    score_z: score,
    z_ofi: score,
    z_cvd: score,
    w_ofi: 0.6,
    w_cvd: 0.4,
    cvd_dir: 1,
    gate: 0,
    mid,
    ofi_flow: 0,
    cvd_flow: 0,
    merge_time_diff_ms: merge,
    session: 2,
    regime,
    vol_bucket: 0,
    scenario_2x2: regime === 1 ? 2 : 0,
    vol_tertile: 0,
  };
}
