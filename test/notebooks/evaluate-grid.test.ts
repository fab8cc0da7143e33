/**
 * notebooks/lib.ts `evaluator(run).evaluateGrid(points)`: the 2-worker grid
 * returns, in point order, exactly what `evaluate(point)` returns for each point.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SYNTH, synthesize } from '../../src/synth/index.js';
import { runCanary } from '../../src/canary/canary.js';
import { loadConfig } from '../../src/config/load.js';
import { evaluator, type EvaluateOptions } from '../../notebooks/lib.js';
import { REPO } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-evalgrid-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('evaluator().evaluateGrid', () => {
  it('equals evaluate() point by point, in point order, twice', async () => {
    const data = path.join(tmp, 'd');
    await synthesize({ ...DEFAULT_SYNTH, symbols: ['BTCUSDT', 'ETHUSDT'], hours: 4 }, data);
    const file = path.join(REPO, 'config/ofi_cvd/prod.yaml');
    const r = await runCanary({
      data,
      config: loadConfig(file, {}),
      configPath: file,
      out: path.join(tmp, 'runs'),
      runTag: 'grid',
      progress: false,
    });
    const E = await evaluator(r.replay.runDir);
    try {
      const points: EvaluateOptions[] = [];
      for (const gate of [0, 0.5])
        for (const w of [0.2, 0.8])
          points.push({ slices: { Active: { ofi: w, cvd: 1 - w, gate } }, dims: ['regime'], topk: false });
      points.push({}, { calibrate: false, symbols: ['ETHUSDT'] });
      const seq = points.map((p) => E.evaluate(p));
      expect(seq[4].some((m) => m.ece !== null)).toBe(true);
      expect(seq[0]).not.toStrictEqual(seq[1]);
      for (let rep = 0; rep < 2; rep++) expect(await E.evaluateGrid(points)).toStrictEqual(seq);
    } finally {
      await E.close();
    }
  }, 300_000);
});
