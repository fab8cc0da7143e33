/** Write retries, counted write errors, in-process resume from the journal. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../recorder/clock.js';
import { HOURLY_DIR } from '../../recorder/recorder.js';
import { MANIFEST_FILE, readManifest } from '../../src/dataset/manifest.js';
import { aggTrade, bookTicker, fakeRecorder } from './fake-ws.js';
import { datasetIds, tmpDir } from './helpers.js';

const tick = () => new Promise((r) => setImmediate(r));

const make = (out: string, clock: ManualClock, beforeWrite?: () => void) => fakeRecorder(out, { clock, beforeWrite });

describe('write failures', () => {
  it('retries, then counts a write error and keeps the data in the journal until a later flush succeeds', async () => {
    const clock = new ManualClock();
    const out = tmpDir('werr');
    let failures = 6; // attempts 1..4 of the first checkpoint fail (1 + 3 retries), then 2 of the second
    const { rec, sockets } = make(out, clock, () => {
      if (failures-- > 0) throw new Error('disk on fire');
    });
    await rec.start();
    sockets[0].open();
    for (let i = 0; i < 20; i++) {
      clock.advance(100);
      sockets[0].send(aggTrade('BTCUSDT', clock.now(), 7000 + i));
      sockets[0].send(bookTicker('BTCUSDT'));
    }
    await tick();
    await rec.checkpoint();
    expect(rec.counters.write_retries).toBe(3);
    expect(rec.counters.write_errors).toBe(1);
    expect(rec.checkpointSeq).toBe(-1);
    expect(fs.existsSync(path.join(out, MANIFEST_FILE))).toBe(false);
    for (let i = 20; i < 30; i++) sockets[0].send(aggTrade('BTCUSDT', clock.now(), 7000 + i));
    await tick();
    await rec.checkpoint(); // fails twice, third attempt succeeds
    expect(rec.counters.write_retries).toBe(5);
    expect(rec.counters.write_errors).toBe(1);
    await rec.stop();
    const ids = await datasetIds(out);
    expect(ids.trades.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => 7000 + i));
    expect(ids.quotes.length).toBe(20);
  });
});

describe('resume', () => {
  it('a second recorder on the same folder replays the unflushed journal and continues recv_seq', async () => {
    const clock = new ManualClock();
    const out = tmpDir('resume');
    const a = make(out, clock);
    await a.rec.start();
    a.sockets[0].open();
    for (let i = 0; i < 10; i++) a.sockets[0].send(aggTrade('BTCUSDT', clock.now(), 100 + i));
    await tick();
    await a.rec.checkpoint();
    for (let i = 10; i < 15; i++) a.sockets[0].send(aggTrade('BTCUSDT', clock.now(), 100 + i));
    await tick(); // journaled, not checkpointed: abandon `a` as if killed
    const b = make(out, clock);
    await b.rec.start();
    expect(b.rec.counters.replayed).toBe(5);
    b.sockets[0].open();
    for (let i = 5; i < 20; i++) b.sockets[0].send(aggTrade('BTCUSDT', clock.now(), 100 + i)); // overlap 5..14 is deduped
    await tick();
    expect(b.rec.counters.dedup_hits).toBe(10);
    await b.rec.stop();
    const ids = await datasetIds(out);
    expect(ids.trades.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    const m = readManifest(out);
    const seqs = m.files.flatMap((f) => [f.first_recv_seq, f.last_recv_seq]);
    expect(Math.max(...seqs)).toBe(19);
  });
});

describe('hourly outputs', () => {
  it('writes slices_manifest and dq files per UTC hour', async () => {
    const clock = new ManualClock(Date.UTC(2024, 7, 8, 23, 58, 0));
    const out = tmpDir('hourly');
    const { rec, sockets } = fakeRecorder(out, { symbols: ['BTCUSDT', 'ETHUSDT'], clock, hourly: true });
    await rec.start();
    sockets[0].open();
    for (let s = 0; s < 240; s++) {
      clock.advance(1000);
      sockets[0].send(aggTrade('BTCUSDT', clock.now(), 9000 + s));
      sockets[0].send(bookTicker('BTCUSDT'));
      await tick();
    }
    await rec.idle();
    await rec.stop();
    const dir = path.join(out, HOURLY_DIR);
    const files = fs.readdirSync(dir).sort();
    expect(files).toEqual([
      'dq_20240808_23.json',
      'dq_20240809_00.json',
      'slices_manifest_20240808_23.json',
      'slices_manifest_20240809_00.json',
      'slices_summary.json',
    ]);
    const sm = JSON.parse(fs.readFileSync(path.join(dir, 'slices_manifest_20240808_23.json'), 'utf8'));
    expect(sm.partial).toBe(false);
    expect(Object.keys(sm.symbols)).toEqual(['BTCUSDT', 'ETHUSDT']);
    const cnt = sm.symbols.BTCUSDT;
    expect(cnt.A_H + cnt.A_L + cnt.Q_H + cnt.Q_L + cnt.warmup).toBe(119); // 23:58:01 .. 23:59:59
    expect(sm.scene_coverage_miss).toBe(sm.missing.length);
    expect(sm.missing).toContain('ETHUSDT:A_H');
    const dq = JSON.parse(fs.readFileSync(path.join(dir, 'dq_20240808_23.json'), 'utf8'));
    expect(dq.scope.hour).toBe('2024-08-08T23');
  });
});
