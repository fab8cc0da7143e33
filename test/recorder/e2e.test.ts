/**
 * End to end against the mock exchange replaying real Binance data (first 20k
 * lines of spot BTCUSDT 2024-08-08) with faults on: every trade id and every
 * bookTicker update id of the source is in the recorded dataset exactly once.
 */
import { describe, expect, it } from 'vitest';
import { loadCapture } from '../../recorder/mock-source.js';
import { MockExchange } from '../../recorder/mock-exchange.js';
import { parseFaults } from '../../recorder/faults.js';
import { Recorder } from '../../recorder/recorder.js';
import { readManifest } from '../../src/dataset/manifest.js';
import { CAPTURE, captureIds, datasetIds, diffIds, tmpDir, waitFor } from './helpers.js';

const N = 20_000;

describe('recorder vs mock exchange (real capture, faults on)', () => {
  it('records every trade id and bookTicker id exactly once', async () => {
    const source = await loadCapture(CAPTURE, N);
    const faults = parseFaults(
      'disconnect=20s,dup=0.01,reorder=0.01,malformed=0.002,stall=1500ms@60s,ping=300ms,oversize=90s,drop=0.01,seed=7',
    );
    const mock = new MockExchange({ source, faults, window: 1000 });
    const { url } = await mock.start(0);
    const out = tmpDir('e2e');
    const logs: string[] = [];
    const rec = new Recorder({
      symbols: ['BTCUSDT'],
      out,
      endpoint: url,
      streams: ['trade', 'bookTicker', 'depth@100ms'],
      config: { silence_watchdog_sec: 1, parquet_rotate_sec: 1 },
      backoff: { baseMs: 5, maxMs: 100, jitter: 0.5 },
      gapGraceMs: 200,
      hourlyDq: false,
      onLog: (l) => logs.push(l),
    });
    try {
      await rec.start();
      expect(await waitFor(() => mock.sessionDone(), 60_000)).toBe(true);
    } finally {
      await rec.stop();
      await mock.close();
    }
    const want = await captureIds(CAPTURE, N);
    const got = await datasetIds(out);
    expect(diffIds(want.trades, got.trades)).toEqual({ missing: 0, dups: 0, extra: 0 });
    expect(diffIds(want.quotes, got.quotes)).toEqual({ missing: 0, dups: 0, extra: 0 });
    expect(got.depth).toBeGreaterThan(0);
    // every fault actually happened and was handled
    const k = rec.counters;
    const s = mock.stats;
    expect(s.dups).toBeGreaterThan(0);
    expect(s.reordered).toBeGreaterThan(0);
    expect(s.disconnects).toBeGreaterThan(0);
    expect(s.stalls).toBeGreaterThan(0);
    expect(s.dropped).toBeGreaterThan(0);
    expect(k.dedup_hits).toBeGreaterThan(0);
    expect(k.reconnects).toBeGreaterThanOrEqual(s.disconnects);
    expect(k.watchdog_fires).toBeGreaterThan(0);
    expect(k.oversize).toBeGreaterThan(0);
    expect(k.oversize).toBeLessThanOrEqual(s.oversize);
    const malformed = Object.values(k.malformed).reduce((a, b) => a + b, 0);
    expect(malformed).toBeGreaterThan(0); // frames sent just before a fault disconnect may never arrive
    expect(malformed).toBeLessThanOrEqual(s.malformed);
    expect(k.backfilled).toBeGreaterThan(0);
    expect(k.trade_ids_lost).toBe(0);
    expect(k.checkpoints).toBeGreaterThan(1);
    // the manifest carries the checkpointed journal position
    const m = readManifest(out);
    expect((m.stats.recorder as { journal_seq: number }).journal_seq).toBe(rec.checkpointSeq);
  });
});
