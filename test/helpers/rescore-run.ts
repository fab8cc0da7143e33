/** A synthetic re-scoring run (RescoreRun) for the tests of rescore's thread and pool. */
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { calcParamsFromConfig } from '../../src/pipeline/params.js';
import { SessionClassifier } from '../../src/calc/session.js';
import type { RescoreRun, RescoreTrack } from '../../src/canary/rescore.js';
import { EvalRng } from '../../src/eval/rng.js';
import { REPO } from './cli.js';

/** A 6 h x 2 symbol run of 1 s samples: a score with some signal, 60 s labels, random slice codes. */
export function syntheticRescoreRun(): RescoreRun {
  const config = loadConfig(path.join(REPO, 'config/ofi_cvd/prod.yaml'), {}).config;
  const cp = calcParamsFromConfig(config);
  const sessionNames = new SessionClassifier(cp.slices.sessions, cp.slices.session_fallback).names;
  const rng = new EvalRng(14);
  const n = 6 * 3600;
  const t0 = Date.UTC(2026, 0, 5);
  const tracks = new Map<string, RescoreTrack>();
  for (const symbol of ['BTCUSDT', 'ETHUSDT']) {
    const f = () => new Float64Array(n);
    const b = () => new Int8Array(n);
    const tr = {
      symbol,
      t: f(),
      z_ofi: f(),
      z_cvd: f(),
      dir: f(),
      y: f(),
      resolved_at: f(),
      session: b(),
      regime: b(),
      vol_bucket: b(),
      vol_tertile: b(),
      scenario: b(),
    };
    for (let i = 0; i < n; i++) {
      tr.t[i] = t0 + i * 1000;
      tr.z_ofi[i] = i % 997 === 5 ? NaN : rng.normal();
      tr.z_cvd[i] = rng.normal();
      tr.dir[i] = rng.uniform() < 0.8 ? 1 : -1;
      const latent = 0.4 * tr.z_ofi[i] + 0.2 * tr.z_cvd[i] + rng.normal();
      tr.y[i] = i % 113 === 7 ? NaN : latent > 0 ? 1 : 0;
      tr.resolved_at[i] = tr.t[i] + 60_000;
      tr.session[i] = rng.int(sessionNames.length + 1) - 1;
      tr.regime[i] = rng.int(3) - 1;
      tr.vol_bucket[i] = rng.int(3) - 1;
      tr.vol_tertile[i] = rng.int(4) - 1;
      tr.scenario[i] = rng.int(5) - 1;
    }
    tracks.set(symbol, tr);
  }
  return { runDir: '(synthetic)', config, sessionNames, symbols: ['BTCUSDT', 'ETHUSDT'], tracks };
}
