/**
 * RescorePool (worker threads) returns, in request order, exactly what the
 * sequential `rescore(run, req)` returns for every request (deep strict
 * equality: every number to the bit, NaN and null where they are), across
 * repeated maps of one pool, and rejects a bad request with its one-line
 * error and exit code.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import { rescore, type RescoreRequest } from '../../src/canary/rescore.js';
import { RescorePool } from '../../src/canary/rescore-pool.js';
import { FlowlabError } from '../../src/core/errors.js';
import { syntheticRescoreRun } from '../helpers/rescore-run.js';

const run = syntheticRescoreRun();
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
