/**
 * DQ and what the producer knew (issue 12 item 7, issue 11 defect 8): an id
 * the importer dropped on purpose (futures INSURANCE_FUND) is not a gap; a
 * part file that differs from the manifest is an error (as in replay); a
 * recording's losses (manifest `stats.recorder`) are in the report; the
 * no-snapshot warning counts every diff the counter counts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDq } from '../../src/dq/index.js';
import { importWsCapture } from '../../src/import/wscapture.js';
import { runImport } from '../../src/import/run.js';
import { MANIFEST_FILE, readManifest } from '../../src/dataset/manifest.js';
import { RecordingSink, T0, diffMsg, line, tmpDir, tradeMsg, writeGz } from '../import/helpers.js';

/** USD-M BTCUSDT trades: ids 1..400, #150 an INSURANCE_FUND trade, #300 never received; 200 ms apart. */
function futuresCapture(dir: string): string {
  const lines: string[] = [];
  for (let t = 1; t <= 400; t++) {
    if (t === 300) continue;
    const ms = T0 + t * 200;
    lines.push(
      line(ms + 30, tradeMsg('BTCUSDT', t, '61000.5', '0.01', ms, { X: t === 150 ? 'INSURANCE_FUND' : 'MARKET' })),
    );
  }
  return writeGz(path.join(dir, 'btcusdt_20240808.gz'), lines);
}

describe('dq and the producer', () => {
  it('does not count an id dropped on purpose as a gap (it reported 2 missing ids in 2 gaps)', async () => {
    const dir = tmpDir('dq-drop');
    const res = await runImport({ format: 'ws-capture', inputs: [futuresCapture(dir)], out: path.join(dir, 'ds') });
    expect(res.counters.trades_dropped_non_market).toEqual({ INSURANCE_FUND: 1 });
    expect(res.counters.trades_dropped_ids).toEqual({ BTCUSDT: [150] });
    const r = await runDq(res.out);
    const t = r.summary.symbols.BTCUSDT.trades;
    expect(t.rows).toBe(398);
    expect(t.id_gaps).toEqual({ missing_ids: 1, events: 1 });
    const hourGaps = r.hours.reduce((a, h) => a + (h.symbols.BTCUSDT?.trades.id_gaps.missing_ids ?? 0), 0);
    expect(hourGaps).toBe(1);
    expect(r.summary.warnings).toContain('BTCUSDT: trades: 1 missing aggTrade ids in 1 gaps');
    expect(r.summary.warnings).toContain(
      'BTCUSDT: 1 trade ids dropped on purpose at import/record (futures non-MARKET: insurance fund, ADL); not counted as gaps',
    );
    expect(r.summary.recording).toBeUndefined();
  });

  it('refuses a part file that differs from the manifest (replay did, dq did not)', async () => {
    const dir = tmpDir('dq-hash');
    const res = await runImport({
      format: 'ws-capture',
      inputs: [futuresCapture(dir)],
      out: path.join(dir, 'ds'),
      rotateSec: 30,
    });
    const parts = res.manifest.files.filter((f) => f.kind === 'trades');
    expect(parts.length).toBeGreaterThan(1);
    // a valid parquet file, but not the one the manifest lists
    fs.copyFileSync(path.join(res.out, parts[1].path), path.join(res.out, parts[0].path));
    await expect(runDq(res.out)).rejects.toThrow(
      new RegExp(
        `part file '.*${parts[0].path.split('/').pop()}' changed: sha256 [0-9a-f]{64} != manifest ${parts[0].sha256}$`,
      ),
    );
  });

  it("reports a recording's losses from its manifest, each non-zero one as a warning", async () => {
    const dir = tmpDir('dq-rec');
    const res = await runImport({ format: 'ws-capture', inputs: [futuresCapture(dir)], out: path.join(dir, 'ds') });
    // the manifest a recorder writes: source.type recorder, losses in stats.recorder
    const m = readManifest(res.out) as unknown as Record<string, unknown>;
    m.source = { type: 'recorder', endpoint: 'ws://127.0.0.1:9', streams: ['trade'], symbols: ['BTCUSDT'] };
    m.stats = {
      recorder: {
        journal_seq: 10,
        checkpoints: 2,
        trade_ids_lost: 7,
        backfill_errors: 5,
        depth_resyncs: 0,
        journal_corrupt_lines: 1,
        write_errors: 0,
        trades_dropped_ids: { BTCUSDT: [150] },
      },
    };
    fs.writeFileSync(path.join(res.out, MANIFEST_FILE), JSON.stringify(m));
    const r = await runDq(res.out);
    expect(r.summary.recording).toEqual({
      trade_ids_lost: 7,
      backfill_errors: 5,
      depth_resyncs: 0,
      journal_corrupt_lines: 1,
      write_errors: 0,
    });
    expect(r.summary.warnings).toEqual(
      expect.arrayContaining([
        'recording: 7 trade ids declared lost by the recorder (REST backfill could not recover them)',
        'recording: 1 journal lines unreadable on recovery (their messages are lost)',
        'recording: 5 failed REST trade backfill requests',
      ]),
    );
    expect(r.summary.warnings.some((w) => /depth resyncs|write_errors|part-file writes/.test(w))).toBe(false);
    // the recorder's dropped ids are honoured too
    expect(r.summary.symbols.BTCUSDT.trades.id_gaps).toEqual({ missing_ids: 1, events: 1 });
  });

  it('says how many diffs were never applied, evicted ones included, as the counter does (5000 vs 5,696)', async () => {
    const dir = tmpDir('dq-nosnap');
    const lines: string[] = [];
    for (let i = 0; i < 12; i++)
      lines.push(line(T0 + i * 100, diffMsg('BTCUSDT', 1000 + i, 1000 + i, [['99', '1']], [], T0 + i * 100)));
    const warnings: string[] = [];
    const c = await importWsCapture([writeGz(path.join(dir, 'btcusdt_20240808.gz'), lines)], new RecordingSink(), {
      maxBufferedDiffs: 5,
      onWarning: (w) => warnings.push(w),
    });
    expect(c.depth_buffer_overflow).toBe(7);
    expect(c.depth_diffs_dropped_unsynced).toBe(12);
    expect(warnings).toEqual([
      'BTCUSDT: 12 depth diffs never applied (no depth snapshot in the input: 5 buffered at the end, 7 evicted earlier from the full buffer)',
    ]);
  });
});
