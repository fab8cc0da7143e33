/**
 * Crash safety: the recorder (the real `record` command in a child process) is
 * killed with SIGKILL at seeded moments while the mock exchange streams real
 * data with faults, restarted each time, and finally stopped with SIGTERM.
 * Every source trade id and bookTicker id is in the dataset exactly once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCapture } from '../../recorder/mock-source.js';
import { MockExchange } from '../../recorder/mock-exchange.js';
import { parseFaults } from '../../recorder/faults.js';
import { Rng } from '../../src/synth/rng.js';
import { CAPTURE, captureIds, datasetIds, diffIds, recordThroughKills, tmpDir } from './helpers.js';

const N = 20_000;

describe('recorder crash safety (SIGKILL + restart)', () => {
  it('keeps every id exactly once across seeded SIGKILLs', async () => {
    const source = await loadCapture(CAPTURE, N);
    const mock = new MockExchange({
      source,
      speed: 60,
      faults: parseFaults('dup=0.01,reorder=0.01,malformed=0.001,drop=0.005,seed=11'),
      window: 400,
    });
    const { url } = await mock.start(0);
    const out = tmpDir('kill');
    const cfg = path.join(out, '..', `${path.basename(out)}.yaml`);
    fs.writeFileSync(cfg, 'recorder:\n  parquet_rotate_sec: 1\n  silence_watchdog_sec: 5\n');
    const rng = Rng.derive(2024, 'sigkill-moments');
    const kills = [0, 1, 2].map((k) => Math.round((k + 1) * 4500 + rng.uniform() * 2000)); // sent-message counts
    const logs = await recordThroughKills(
      mock,
      url,
      out,
      cfg,
      'trade,bookTicker,depth@100ms',
      kills,
      (_k, at) => mock.stats.sent >= at,
    );
    const killed = logs.filter((l) => l === '--- kill\n').length;
    expect(killed).toBe(3);
    expect(mock.stats.connections).toBeGreaterThanOrEqual(4);
    const want = await captureIds(CAPTURE, N);
    const got = await datasetIds(out);
    const gs = new Set(got.trades);
    if (process.env.DEBUG_KILL)
      console.log(
        out,
        want.trades.filter((t) => !gs.has(t)),
        logs.join(''),
      );
    expect(diffIds(want.trades, got.trades)).toEqual({ missing: 0, dups: 0, extra: 0 });
    expect(diffIds(want.quotes, got.quotes)).toEqual({ missing: 0, dups: 0, extra: 0 });
  });
});
