/**
 * Parity: `flowlab live` against the mock exchange replaying dataset D, and
 * `flowlab canary` on what it recorded, produce identical derived tables and
 * identical gate decisions; `flowlab verify` accepts the live run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { synthesize, DEFAULT_SYNTH } from '../../src/synth/index.js';
import { loadDataset } from '../../recorder/mock-source.js';
import { MockExchange } from '../../recorder/mock-exchange.js';
import { HOURLY_DIR } from '../../recorder/recorder.js';
import { runLive } from '../../src/live/live.js';
import { runCanary, type CanaryRun } from '../../src/canary/canary.js';
import { verifyRun } from '../../src/canary/verify.js';
import { loadConfig } from '../../src/config/load.js';
import { REPO } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-live-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const PROD = path.join(REPO, 'config/ofi_cvd/prod.yaml');

async function until(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting for the mock exchange to finish');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('live == canary on what live recorded', () => {
  it('identical derived tables and gate decisions; verify passes on the live run', async () => {
    const D = path.join(tmp, 'D');
    await synthesize(
      // repeats and held-back messages on (the recorder drops repeats itself; late and stale ticks reach the pipeline)
      { ...DEFAULT_SYNTH, symbols: ['ADAUSDT', 'SOLUSDT'], hours: 0.75, dupRate: 0.002, gapRate: 0, oooRate: 0.004 },
      D,
    );
    const mock = new MockExchange({ source: await loadDataset(D) });
    const { url } = await mock.start(0);
    const config = loadConfig(PROD, {});
    let live: CanaryRun | undefined;
    try {
      live = await runLive({
        symbols: ['ADAUSDT', 'SOLUSDT'],
        config,
        configPath: PROD,
        endpoint: url,
        out: tmp,
        runTag: 'live',
        stop: until(() => mock.sessionDone(), 120_000).then(() => new Promise((r) => setTimeout(r, 300))),
        recorder: { streams: ['aggTrade', 'bookTicker'] },
      });
    } finally {
      await mock.close();
    }
    if (!live) throw new Error('live run did not finish');
    expect(live.replay.ticks).toBeGreaterThan(10_000);
    const replayed = await runCanary({
      data: path.join(live.replay.runDir, 'raw'),
      config,
      configPath: PROD,
      out: tmp,
      runTag: 'replayed',
      progress: false,
    });
    const outs = (r: CanaryRun) => r.replay.manifest.outputs.map((o) => `${o.path} ${o.rows} ${o.sha256}`);
    expect(outs(replayed)).toEqual(outs(live));
    // the same ticks deduplicated, sequenced, found stale or late alike (faults are on: repeats, held-back messages)
    expect(replayed.replay.manifest.counters).toEqual(live.replay.manifest.counters);
    expect(replayed.replay.manifest.symbols).toEqual(live.replay.manifest.symbols);
    expect(live.replay.manifest.outputs.length).toBeGreaterThanOrEqual(10);
    for (const f of ['metrics_timeseries.csv', 'merge_time_diff_ms.csv', 'incidents.json', 'calibration_summary.csv']) {
      expect(fs.readFileSync(path.join(replayed.reportDir, f), 'utf8'), f).toBe(
        fs.readFileSync(path.join(live.reportDir, f), 'utf8'),
      );
    }
    expect(live.result.timeseries.length).toBeGreaterThan(0);
    // the harvest coverage: the live run, the replay of what it recorded and the recorder's own hourly
    // files (its pipeline fed from the writer) give the same counts and the same verdict
    const sliceFiles = (dir: string) =>
      fs
        .readdirSync(dir)
        .filter((f) => f.startsWith('slices_'))
        .sort();
    const liveSlices = path.join(live.replay.runDir, 'slices');
    const replayedSlices = path.join(replayed.replay.runDir, 'slices');
    const hourly = sliceFiles(liveSlices).filter((f) => f !== 'slices_summary.json');
    expect(hourly.length).toBeGreaterThanOrEqual(1);
    expect(sliceFiles(replayedSlices)).toEqual(sliceFiles(liveSlices));
    for (const f of hourly) {
      expect(fs.readFileSync(path.join(replayedSlices, f), 'utf8'), f).toBe(
        fs.readFileSync(path.join(liveSlices, f), 'utf8'),
      );
    }
    const summary = (file: string) => {
      const j = JSON.parse(fs.readFileSync(file, 'utf8'));
      return {
        symbols: j.symbols,
        miss: j.scene_coverage_miss,
        failing: j.failing,
        tags: j.tags,
        th: j.thresholds_fingerprint,
      };
    };
    const recorderDir = path.join(live.replay.runDir, 'raw', HOURLY_DIR);
    const liveSummary = summary(path.join(liveSlices, 'slices_summary.json'));
    expect(summary(path.join(replayedSlices, 'slices_summary.json'))).toEqual(liveSummary);
    expect(summary(path.join(recorderDir, 'slices_summary.json'))).toEqual(liveSummary);
    for (const f of hourly) {
      const rows = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')).rows;
      expect(rows(path.join(recorderDir, f)), f).toEqual(rows(path.join(liveSlices, f)));
    }
    // 45 min of two symbols cannot meet the 2x2 gate: both runs are tagged
    expect(liveSummary.miss).toBe(1);
    for (const r of [live, replayed])
      expect(fs.readFileSync(path.join(r.replay.runDir, 'run_tag.txt'), 'utf8')).toMatch(
        /^tags=insufficient_coverage$/m,
      );
    const v = await verifyRun(live.replay.runDir);
    expect(v.message).toMatch(/identical/);
    expect(v.code).toBe(0);
  }, 300_000);
});
