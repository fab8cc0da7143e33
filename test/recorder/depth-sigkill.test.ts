/**
 * Depth book checkpoint under SIGKILL: the real `record` command (child
 * process) records the spot diff stream (`depth@100ms`) of real Binance data
 * from the mock exchange, is killed with SIGKILL at seeded moments (with
 * checkpoints every second, so journal lines after the last checkpoint are
 * replayed through the restored book), restarted each time, finally stopped.
 * From its first row on, the depth rows equal what the ws-capture importer
 * derives from the source capture: no diff-derived row missing, none twice.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCapture } from '../../recorder/mock-source.js';
import { MockExchange } from '../../recorder/mock-exchange.js';
import { JOURNAL_DIR } from '../../recorder/recorder.js';
import { Rng } from '../../src/synth/rng.js';
import { WsCaptureImporter } from '../../src/import/wscapture.js';
import { readLines } from '../../src/import/lines.js';
import type { RawSink } from '../../src/core/types.js';
import { CAPTURE, datasetDepthRows, recordThroughKills, tmpDir } from './helpers.js';

const N = 20_000;

/** Depth rows the importer derives from the first `maxLines` lines of a capture (same shape as datasetDepthRows). */
async function importerDepthRows(
  file: string,
  maxLines: number,
  levels: number,
): Promise<{ u: number; ts: number; rest: string }[]> {
  const rows: { u: number; ts: number; rest: string }[] = [];
  const sink: RawSink = {
    trade: () => undefined,
    quote: () => undefined,
    depth: (_s, _r, ts, u, bp, bq, nb, ap, aq, na) => {
      const a = (x: ArrayLike<number>, n: number) => Array.from(x).slice(0, n);
      rows.push({ u, ts, rest: JSON.stringify([a(bp, nb), a(bq, nb), a(ap, na), a(aq, na)]) });
    },
  };
  const imp = new WsCaptureImporter(sink, { depthLevels: levels });
  imp.beginFile(file);
  let n = 0;
  outer: for await (const lines of readLines(file)) {
    for (const line of lines) {
      if (n++ >= maxLines) break outer;
      imp.handleLine(line);
    }
  }
  imp.endFile(file);
  return rows;
}

let snapshotSeen = false;
function snapshotJournaled(out: string): boolean {
  if (snapshotSeen) return true;
  const dir = path.join(out, JOURNAL_DIR);
  if (!fs.existsSync(dir)) return false;
  for (const f of fs.readdirSync(dir))
    if (fs.readFileSync(path.join(dir, f), 'utf8').includes('@depthSnapshot')) return (snapshotSeen = true);
  return false;
}

describe('depth book checkpoint (SIGKILL + restart, real capture)', () => {
  it('rebuilds every diff-derived depth row exactly once across seeded SIGKILLs', async () => {
    const source = await loadCapture(CAPTURE, N);
    const mock = new MockExchange({ source, speed: 30, window: 200 });
    const { url } = await mock.start(0);
    const out = tmpDir('depthkill');
    const cfg = path.join(out, '..', `${path.basename(out)}.yaml`);
    fs.writeFileSync(cfg, 'recorder:\n  parquet_rotate_sec: 1\n  silence_watchdog_sec: 5\n');
    const rng = Rng.derive(2024, 'depth-sigkill-moments');
    const kills = [0, 1, 2].map((k) => Math.round((k + 1) * 480 + rng.uniform() * 200)); // sent-message counts (1981 diffs in all)
    // a child is killed not before it connected (its start-up recovery + checkpoint are done), nor before
    // the first child journaled its one REST snapshot (the book must exist to be checkpointed)
    const logs = await recordThroughKills(
      mock,
      url,
      out,
      cfg,
      'depth@100ms',
      kills,
      (k, at) => mock.stats.connections > k && mock.stats.sent >= at && snapshotJournaled(out),
    );
    const got = await datasetDepthRows(out);
    const want = await importerDepthRows(CAPTURE, N, 20);
    if (process.env.DEBUG_KILL) console.log(out, logs.join(''), got.length, mock.stats);
    // one snapshot in all: every restart continued from the restored book (no resync)
    expect(mock.stats.rest_requests).toBe(1);
    expect(
      logs.filter((l) => l.includes('depth books of BTCUSDT restored')).length,
      logs.join(''),
    ).toBeGreaterThanOrEqual(2);
    // the first row follows the first snapshot, taken wherever the mock's timeline was (load-dependent); the kills come later
    expect(got.length).toBeGreaterThan(500);
    const from = want.findIndex((r) => r.u === got[0].u);
    expect(from, 'first recorded row is one the importer derives').toBeGreaterThanOrEqual(0);
    expect(got.map((r) => r.u)).toEqual(want.slice(from).map((r) => r.u));
    expect(got).toEqual(want.slice(from));
  });
});
