/**
 * RescorePool (worker threads) returns, in request order, exactly what the
 * sequential `rescore(run, req)` returns for every request (deep strict
 * equality: every number to the bit, NaN and null where they are), across
 * repeated maps of one pool, and rejects a bad request with its one-line
 * error and exit code.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { calcParamsFromConfig } from '../../src/pipeline/params.js';
import { SessionClassifier } from '../../src/calc/session.js';
import { rescore, type RescoreRequest, type RescoreRun, type RescoreTrack } from '../../src/canary/rescore.js';
import { RescorePool } from '../../src/canary/rescore-pool.js';
import { FlowlabError } from '../../src/core/errors.js';
import { EvalRng } from '../../src/eval/rng.js';
import { REPO } from '../helpers/cli.js';

/** A 6 h x 2 symbol run of 1 s samples: a score with some signal, 60 s labels, random slice codes. */
function syntheticRun(): RescoreRun {
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

const run = syntheticRun();
const pool = new RescorePool(run, 2);
afterAll(() => pool.close());

/** A 3 x 3 weight x gate grid and a few differently shaped requests. */
const REQS: RescoreRequest[] = [];
for (const gate of [0, 0.5, 1])
  for (const k of [1, 5, 9])
    REQS.push({ slices: { Active: { ofi: k / 10, cvd: 1 - k / 10, gate } }, dims: ['regime'], topk: false });
REQS.push({}, { calibrate: false }, { symbols: ['ETHUSDT'], weights: { ofi: 0.2, cvd: 0.8 }, gate: 0.3 });
REQS.push({ fromMs: run.tracks.get('BTCUSDT')!.t[4000], toMs: run.tracks.get('BTCUSDT')!.t[18000] });

describe('RescorePool', () => {
  it('equals the sequential rescore for every request, in request order, map after map', async () => {
    const seq = REQS.map((r) => rescore(run, r));
    const a = await pool.map(REQS);
    expect(a.length).toBe(REQS.length);
    for (let i = 0; i < REQS.length; i++) expect(isDeepStrictEqual(a[i], seq[i]), `request ${i}`).toBe(true);
    // calibrated requests really fit folds (ECE known), and the results differ between requests
    expect(seq[9].rows.some((r) => r.ece.value !== null && r.brier_skill.value !== null)).toBe(true);
    // (the test would not see a mix-up otherwise)
    expect(isDeepStrictEqual(a[0], a[1])).toBe(false);
    // a second map of the same pool, in another order, and an empty one
    const rev = [...REQS].reverse();
    const b = await pool.map(rev);
    for (let i = 0; i < rev.length; i++) expect(isDeepStrictEqual(b[i], seq[REQS.length - 1 - i])).toBe(true);
    expect(await pool.map([])).toEqual([]);
  }, 120_000);

  it('rejects a bad request with its one-line error and exit code; the pool stays usable', async () => {
    const bad = [REQS[0], { weights: { ofi: -1, cvd: 1 } }, REQS[1]];
    const e = await pool.map(bad).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(FlowlabError);
    expect((e as FlowlabError).message).toBe('weights.ofi: -1 is not valid (expected a number >= 0)');
    expect((e as FlowlabError).exitCode).toBe(2);
    const ok = await pool.map([REQS[2]]);
    expect(isDeepStrictEqual(ok[0], rescore(run, REQS[2]))).toBe(true);
    expect(() => new RescorePool(run, 0)).toThrow(/threads: 0 is not valid/);
  }, 120_000);
});
