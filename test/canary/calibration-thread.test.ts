/**
 * CalibrationThread: `rescore(run, req, { thread })` fits about half of the
 * symbols on a second thread and returns exactly what `rescore(run, req)`
 * returns (deep strict equality: every number to the bit), on shared and on
 * plain columns; a thread that dies or does not answer in time costs a
 * slower call, never a different one, and is not used again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import { rescore, type RescoreRequest, type RescoreRun } from '../../src/canary/rescore.js';
import { CalibrationThread, isShared, sharedF64 } from '../../src/canary/calibration-thread.js';
import { syntheticRescoreRun } from '../helpers/rescore-run.js';

/** The same run with its columns on SharedArrayBuffers (as loadRescoreRun allocates them). */
function sharedCopy(run: RescoreRun): RescoreRun {
  const tracks = new Map(
    [...run.tracks].map(([s, tr]) => {
      const f = (a: Float64Array) => {
        const b = sharedF64(a.length);
        b.set(a);
        return b;
      };
      return [
        s,
        {
          ...tr,
          t: f(tr.t),
          z_ofi: f(tr.z_ofi),
          z_cvd: f(tr.z_cvd),
          dir: f(tr.dir),
          y: f(tr.y),
          resolved_at: f(tr.resolved_at),
        },
      ];
    }),
  );
  return { ...run, tracks };
}

const plain = syntheticRescoreRun();
const shared = sharedCopy(plain);
const REQS: RescoreRequest[] = [
  {},
  { weights: { ofi: 0.2, cvd: 0.8 }, gate: 0.4, slices: {} },
  { slices: { Active: { ofi: 0.9, cvd: 0.1, gate: 0.5 } }, dims: ['regime'], topk: false },
  { fromMs: plain.tracks.get('BTCUSDT')!.t[3000], toMs: plain.tracks.get('BTCUSDT')!.t[17000] },
];
const threads: CalibrationThread[] = [];
afterAll(() => Promise.all(threads.map((t) => t.close())));
const start = async (timeoutMs?: number) => {
  const t = await CalibrationThread.start(timeoutMs);
  threads.push(t);
  return t;
};

describe('CalibrationThread', () => {
  it('gives the same results to the bit as one thread, call after call, on shared and plain columns', async () => {
    expect(isShared(shared.tracks.get('ETHUSDT')!.y)).toBe(true);
    const thread = await start();
    for (const run of [shared, plain])
      for (const [i, req] of REQS.entries()) {
        const one = rescore(run, req);
        const two = rescore(run, req, { thread });
        expect(isDeepStrictEqual(two, one), `request ${i}`).toBe(true);
        // and the calibrated figures are really there (a Platt fit happened on both sides)
        if (req.calibrate !== false)
          for (const sym of ['BTCUSDT', 'ETHUSDT']) {
            const all = two.rows.find((r) => r.group === sym && r.dim === 'all')!;
            expect(all.ece.value, `${sym} request ${i}`).not.toBeNull();
            expect(all.brier_skill.value, `${sym} request ${i}`).not.toBeNull();
          }
      }
    expect(thread.usable).toBe(true);
  }, 120_000);

  it('a thread that died or timed out: the call fits those symbols itself, same results, thread not used again', async () => {
    const dead = await start(1500);
    await (dead as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const slow = await start(0);
    for (const thread of [dead, slow]) {
      const got = rescore(shared, REQS[0], { thread });
      expect(isDeepStrictEqual(got, rescore(shared, REQS[0]))).toBe(true);
      expect(thread.usable).toBe(false);
      expect(thread.failure).toMatch(/no answer within/);
      // later calls do not use it
      expect(isDeepStrictEqual(rescore(shared, REQS[1], { thread }), rescore(shared, REQS[1]))).toBe(true);
    }
  }, 120_000);
});
